//! Go's `fmt.Sprint`, `Sprintln` and `Sprintf` over JSON values, for the
//! `print`, `println` and `printf` template functions: flags `-+# 0`,
//! width and precision (or `*`), verbs `v s q d b o x X c U t e E f F g G`,
//! and Go's inline complaints (`%!d(string=web)`, `%!s(MISSING)`).

use serde_json::{Number, Value};

use super::value::{
    decimal_digits, exponent_suffix, format_g, go_string, sorted_entries, special_float, type_name,
};

/// `fmt.Sprint`: a space between operands when neither is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 && !arg.is_string() && !args[i - 1].is_string() {
            out.push(' ');
        }
        out.push_str(&go_string(arg));
    }
    out
}

/// `fmt.Sprintln`: spaces between all operands and a final newline.
pub fn sprintln(args: &[Value]) -> String {
    let words: Vec<String> = args.iter().map(go_string).collect();
    words.join(" ") + "\n"
}

#[derive(Debug, Default, Clone, Copy)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

/// `fmt.Sprintf`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut next = 0;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&flag) = chars.peek() {
            match flag {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '#' => spec.sharp = true,
                ' ' => spec.space = true,
                '0' => spec.zero = true,
                _ => break,
            }
            chars.next();
        }
        spec.width = number_or_star(&mut chars, args, &mut next, &mut out, "BADWIDTH");
        if chars.peek() == Some(&'.') {
            chars.next();
            spec.precision =
                number_or_star(&mut chars, args, &mut next, &mut out, "BADPREC").or(Some(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        match args.get(next) {
            Some(arg) => {
                next += 1;
                out.push_str(&format_arg(arg, verb, &spec));
            }
            None => out.push_str(&format!("%!{verb}(MISSING)")),
        }
    }
    if next < args.len() {
        let extra: Vec<String> = args[next..].iter().map(describe).collect();
        out.push_str(&format!("%!(EXTRA {})", extra.join(", ")));
    }
    out
}

/// A width or precision: digits, or `*` taking an int argument.
fn number_or_star(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    args: &[Value],
    next: &mut usize,
    out: &mut String,
    complaint: &str,
) -> Option<usize> {
    if chars.peek() == Some(&'*') {
        chars.next();
        let arg = args.get(*next);
        *next += 1;
        let n = arg.and_then(Value::as_u64).map(|n| n as usize);
        if n.is_none() {
            out.push_str(&format!("%!({complaint})"));
        }
        return n;
    }
    let mut digits = String::new();
    while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
        digits.push(d);
        chars.next();
    }
    digits.parse().ok()
}

/// `type=value`, as Go names a misused operand.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "<nil>".to_string(),
        v => format!("{}={}", type_name(v), go_string(v)),
    }
}

fn bad_verb(verb: char, value: &Value) -> String {
    format!("%!{verb}({})", describe(value))
}

fn format_arg(arg: &Value, verb: char, spec: &Spec) -> String {
    match arg {
        Value::Null if verb == 'v' => pad("<nil>", spec),
        Value::Bool(b) if matches!(verb, 'v' | 't') => pad(&b.to_string(), spec),
        Value::Number(n) => format_number(n, verb, spec).unwrap_or_else(|| bad_verb(verb, arg)),
        Value::String(s) => format_string(s, verb, spec).unwrap_or_else(|| bad_verb(verb, arg)),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(|i| format_arg(i, verb, spec)).collect();
            format!("[{}]", items.join(" "))
        }
        Value::Object(map) => {
            let entries: Vec<String> = sorted_entries(map)
                .into_iter()
                .map(|(k, v)| {
                    let key = format_arg(&Value::String(k.clone()), verb, spec);
                    format!("{key}:{}", format_arg(v, verb, spec))
                })
                .collect();
            format!("map[{}]", entries.join(" "))
        }
        _ => bad_verb(verb, arg),
    }
}

fn format_string(s: &str, verb: char, spec: &Spec) -> Option<String> {
    let text = match verb {
        'v' | 's' => match spec.precision {
            Some(p) => s.chars().take(p).collect(),
            None => s.to_string(),
        },
        'q' => go_quote(s),
        'x' | 'X' => {
            let hex: String = s.bytes().map(|b| format!("{b:02x}")).collect();
            if verb == 'X' {
                hex.to_uppercase()
            } else {
                hex
            }
        }
        _ => return None,
    };
    Some(pad(&text, spec))
}

fn format_number(n: &Number, verb: char, spec: &Spec) -> Option<String> {
    if let Some(i) = n.as_i64() {
        return format_int(i < 0, i.unsigned_abs(), verb, spec);
    }
    if let Some(u) = n.as_u64() {
        return format_int(false, u, verb, spec);
    }
    format_float(n.as_f64().unwrap_or_default(), verb, spec)
}

fn format_int(negative: bool, abs: u64, verb: char, spec: &Spec) -> Option<String> {
    let (digits, prefix) = match verb {
        'v' | 'd' => (abs.to_string(), ""),
        'b' => (format!("{abs:b}"), "0b"),
        'o' => (format!("{abs:o}"), "0"),
        'O' => (format!("{abs:o}"), "0o"),
        'x' => (format!("{abs:x}"), "0x"),
        'X' => (format!("{abs:X}"), "0X"),
        'c' | 'q' | 'U' => {
            let c = u32::try_from(abs)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{FFFD}');
            let text = match verb {
                'c' => c.to_string(),
                'q' => format!("'{}'", escape_char(c, '\'')),
                _ => format!("U+{:04X}", abs),
            };
            return Some(pad(&text, spec));
        }
        _ => return None,
    };
    let mut digits = digits;
    if let Some(p) = spec.precision {
        if digits.len() < p {
            digits = "0".repeat(p - digits.len()) + &digits;
        }
        if p == 0 && abs == 0 {
            digits.clear();
        }
    }
    let prefix = if spec.sharp || verb == 'O' {
        prefix
    } else {
        ""
    };
    let sign = sign(negative, spec);
    Some(pad_number(&format!("{sign}{prefix}"), &digits, spec))
}

fn format_float(f: f64, verb: char, spec: &Spec) -> Option<String> {
    let sign = sign(f.is_sign_negative() && !f.is_nan(), spec);
    if let Some(special) = special_float(f) {
        let text = special.trim_start_matches(['+', '-']);
        let sign = if f == f64::INFINITY && sign.is_empty() {
            "+"
        } else {
            sign
        };
        return Some(pad(&format!("{sign}{text}"), spec));
    }
    let body = match verb {
        'v' | 'g' => format_g(f.abs(), spec.precision),
        'G' => format_g(f.abs(), spec.precision).to_uppercase(),
        'e' | 'E' => {
            let text = format_e(f.abs(), spec.precision.unwrap_or(6));
            if verb == 'E' {
                text.to_uppercase()
            } else {
                text
            }
        }
        'f' | 'F' => format!("{:.*}", spec.precision.unwrap_or(6), f.abs()),
        _ => return None,
    };
    Some(pad_number(sign, &body, spec))
}

/// `%e` with `precision` digits after the point.
fn format_e(f: f64, precision: usize) -> String {
    let (digits, point) = decimal_digits(f, Some(precision + 1));
    let exponent = if f == 0.0 { 0 } else { point - 1 };
    let mut digits = digits;
    while digits.len() < precision + 1 {
        digits.push('0');
    }
    let (first, rest) = digits.split_at(1);
    let fraction = if precision == 0 {
        String::new()
    } else {
        format!(".{rest}")
    };
    format!("{first}{fraction}{}", exponent_suffix(exponent))
}

fn sign(negative: bool, spec: &Spec) -> &'static str {
    match () {
        _ if negative => "-",
        _ if spec.plus => "+",
        _ if spec.space => " ",
        _ => "",
    }
}

/// Pads to the width: spaces left (or right with `-`); zeros go between
/// the sign and the digits.
fn pad_number(sign: &str, digits: &str, spec: &Spec) -> String {
    let width = spec.width.unwrap_or(0);
    let len = sign.chars().count() + digits.chars().count();
    if spec.zero && !spec.minus && spec.precision.is_none() && len < width {
        return format!("{sign}{}{digits}", "0".repeat(width - len));
    }
    pad(&format!("{sign}{digits}"), spec)
}

fn pad(text: &str, spec: &Spec) -> String {
    let width = spec.width.unwrap_or(0);
    let len = text.chars().count();
    if len >= width {
        return text.to_string();
    }
    let fill = " ".repeat(width - len);
    if spec.minus {
        format!("{text}{fill}")
    } else {
        format!("{fill}{text}")
    }
}

/// Go's `strconv.Quote`.
pub fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        out.push_str(&escape_char(c, '"'));
    }
    out.push('"');
    out
}

fn escape_char(c: char, quote: char) -> String {
    match c {
        '\x07' => "\\a".into(),
        '\x08' => "\\b".into(),
        '\x0c' => "\\f".into(),
        '\n' => "\\n".into(),
        '\r' => "\\r".into(),
        '\t' => "\\t".into(),
        '\x0b' => "\\v".into(),
        '\\' => "\\\\".into(),
        c if c == quote => format!("\\{c}"),
        c if (c as u32) < 0x80 && c.is_control() => format!("\\x{:02x}", c as u32),
        c if c.is_control() && (c as u32) < 0x10000 => format!("\\u{:04x}", c as u32),
        c if c.is_control() => format!("\\U{:08x}", c as u32),
        c => c.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn f(format: &str, args: Value) -> String {
        let args = args.as_array().cloned().unwrap_or_default();
        sprintf(format, &args)
    }

    #[test]
    fn common_verbs() {
        assert_eq!(f("%s-%d", json!(["web", 16])), "web-16");
        assert_eq!(
            f("%v %v %v", json!([true, null, [1, "a"]])),
            "true <nil> [1 a]"
        );
        assert_eq!(f("%q", json!(["a\"b\n"])), r#""a\"b\n""#);
        assert_eq!(f("%q", json!([["a", "b"]])), r#"["a" "b"]"#);
        assert_eq!(
            f("%x %X %o %b %c", json!([255, 255, 8, 5, 65])),
            "ff FF 10 101 A"
        );
        assert_eq!(f("%#x %U", json!([255, 0x1F600])), "0xff U+1F600");
        assert_eq!(f("%t", json!([false])), "false");
        assert_eq!(f("100%%", json!([])), "100%");
        assert_eq!(f("%v", json!([{"b": 1, "a": [true]}])), "map[a:[true] b:1]");
    }

    #[test]
    fn width_precision_and_flags() {
        assert_eq!(
            f("[%5s|%-5s|%.2s]", json!(["ab", "ab", "abc"])),
            "[   ab|ab   |ab]"
        );
        assert_eq!(
            f("[%05d|%+d|% d|%.3d]", json!([-42, 7, 7, 7])),
            "[-0042|+7| 7|007]"
        );
        assert_eq!(f("[%*d]", json!([4, 7])), "[   7]");
        assert_eq!(
            f("%.2f %8.3f %e", json!([1.23456, 2.5, 1234.5678])),
            "1.23    2.500 1.234568e+03"
        );
        assert_eq!(
            f("%g %g %.3g", json!([1e6, 0.5, 1.23456])),
            "1e+06 0.5 1.23"
        );
        assert_eq!(f("%.1e %E", json!([0.0, 1.5])), "0.0e+00 1.500000E+00");
    }

    #[test]
    fn complaints_inline_like_go() {
        assert_eq!(f("%d", json!(["web"])), "%!d(string=web)");
        assert_eq!(f("%s", json!([null])), "%!s(<nil>)");
        assert_eq!(f("%d %d", json!([1])), "1 %!d(MISSING)");
        assert_eq!(f("%d", json!([1, "x", 2])), "1%!(EXTRA string=x, int=2)");
        assert_eq!(f("%", json!([])), "%!(NOVERB)");
        assert_eq!(f("%f", json!([1])), "%!f(int=1)");
        assert_eq!(f("%z", json!([true])), "%!z(bool=true)");
    }

    #[test]
    fn print_and_println_spacing() {
        assert_eq!(
            sprint(&[json!("a"), json!("b"), json!(1), json!(2), json!("c")]),
            "ab1 2c"
        );
        assert_eq!(sprintln(&[json!("a"), json!(1)]), "a 1\n");
        assert_eq!(sprintln(&[]), "\n");
    }
}
