//! JSON values seen the way Go's templates see decoded JSON: type names,
//! truth, number literals, and `%v` printing (`map[k:v]`, `[a b]`,
//! `<nil>`, `1e+06`).

use serde_json::{Number, Value};

/// Go's name for the type a JSON value decodes to.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// Go's `if`: false, 0, "", empty collections and nil are false.
pub fn is_true(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// A Go number literal: decimal, `0x`/`0o`/`0b`/leading-zero octal
/// integers (with `_` separators), or a float.
pub fn parse_number(text: &str) -> Option<Number> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let clean = digits.replace('_', "");
    let (radix, body) = match clean.get(..2) {
        Some("0x" | "0X") => (16, &clean[2..]),
        Some("0o" | "0O") => (8, &clean[2..]),
        Some("0b" | "0B") => (2, &clean[2..]),
        _ if clean.len() > 1
            && clean.starts_with('0')
            && clean.bytes().all(|b| b.is_ascii_digit()) =>
        {
            (8, &clean[1..])
        }
        _ => (10, clean.as_str()),
    };
    if !body.is_empty() && body.bytes().all(|b| b.is_ascii_hexdigit()) {
        if let Ok(n) = u64::from_str_radix(body, radix) {
            return if negative {
                0i64.checked_sub_unsigned(n).map(Number::from)
            } else {
                Some(Number::from(n))
            };
        }
    }
    let starts_decimal = digits.bytes().next()?.is_ascii_digit() || digits.starts_with('.');
    if radix != 10 || !starts_decimal {
        return None;
    }
    let float: f64 = clean.parse().ok()?;
    Number::from_f64(if negative { -float } else { float })
}

/// `value` as Go's `fmt.Sprint` prints it.
pub fn go_string(value: &Value) -> String {
    let mut out = String::new();
    write_go(&mut out, value);
    out
}

fn write_go(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number_string(n)),
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_go(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push_str("map[");
            for (i, (key, item)) in sorted_entries(map).into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(key);
                out.push(':');
                write_go(out, item);
            }
            out.push(']');
        }
    }
}

/// Entries by key, as Go sorts map keys for printing and ranging.
pub fn sorted_entries(map: &serde_json::Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

/// Integers as written; floats as Go's `%v` (shortest `%g`: an exponent
/// from 1e+06 up and below 1e-04).
pub fn number_string(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    format_g(n.as_f64().unwrap_or_default(), None)
}

/// The decimal digits of `f` (no leading or trailing zeros) and the
/// exponent `e` of `0.d1d2… × 10^e`, rounded to `significant` digits, or
/// the shortest that round-trips.
pub fn decimal_digits(f: f64, significant: Option<usize>) -> (String, i32) {
    let text = match significant {
        Some(p) => format!("{:.*e}", p.max(1) - 1, f.abs()),
        None => format!("{:e}", f.abs()),
    };
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    if digits.is_empty() {
        return ("0".to_string(), 1);
    }
    (digits.to_string(), exponent + 1)
}

/// Go's `%g` (and `%v` with `precision` None) of a float.
pub fn format_g(f: f64, precision: Option<usize>) -> String {
    if let Some(special) = special_float(f) {
        return special.to_string();
    }
    let (digits, point) = decimal_digits(f, precision.map(|p| p.max(1)));
    let exponent = point - 1;
    let limit = match precision {
        None => 6,
        Some(p) => p.max(1) as i32,
    };
    let sign = if f.is_sign_negative() { "-" } else { "" };
    if exponent < -4 || exponent >= limit {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        return format!("{sign}{first}{fraction}{}", exponent_suffix(exponent));
    }
    format!("{sign}{}", place_point(&digits, point))
}

/// `e+06`, `e-05`: Go's exponent, at least two digits.
pub fn exponent_suffix(exponent: i32) -> String {
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("e{sign}{:02}", exponent.abs())
}

/// Digits `d1d2…` with the decimal point after `point` of them.
fn place_point(digits: &str, point: i32) -> String {
    if point <= 0 {
        return format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize));
    }
    let point = point as usize;
    if digits.len() <= point {
        return format!("{digits}{}", "0".repeat(point - digits.len()));
    }
    format!("{}.{}", &digits[..point], &digits[point..])
}

/// Go's spelling of infinities and NaN.
pub fn special_float(f: f64) -> Option<&'static str> {
    if f.is_nan() {
        Some("NaN")
    } else if f.is_infinite() {
        Some(if f > 0.0 { "+Inf" } else { "-Inf" })
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn prints_like_go_fmt() {
        let value = json!({
            "b": [1, "x", null, true],
            "a": {"z": 1.5, "y": {}},
            "c": []
        });
        assert_eq!(
            go_string(&value),
            "map[a:map[y:map[] z:1.5] b:[1 x <nil> true] c:[]]"
        );
        assert_eq!(go_string(&json!(null)), "<nil>");
        assert_eq!(go_string(&json!(false)), "false");
        assert_eq!(go_string(&json!(-7)), "-7");
        assert_eq!(go_string(&json!(u64::MAX)), "18446744073709551615");
    }

    #[test]
    fn floats_print_like_go() {
        for (f, text) in [
            (1.5, "1.5"),
            (100000.0, "100000"),
            (1e6, "1e+06"),
            (123456789.0, "1.23456789e+08"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5e-7, "-2.5e-07"),
            (0.0, "0"),
        ] {
            assert_eq!(format_g(f, None), text, "{f}");
        }
        assert_eq!(format_g(1.23456, Some(3)), "1.23");
        assert_eq!(format_g(1234.5, Some(2)), "1.2e+03");
    }

    #[test]
    fn number_literals() {
        assert_eq!(parse_number("42"), Some(42.into()));
        assert_eq!(parse_number("-0x1F"), Some((-31).into()));
        assert_eq!(parse_number("0o17"), Some(15.into()));
        assert_eq!(parse_number("017"), Some(15.into()));
        assert_eq!(parse_number("1_000"), Some(1000.into()));
        assert_eq!(parse_number("1.5e3"), Number::from_f64(1500.0));
        assert_eq!(parse_number(".5"), Number::from_f64(0.5));
        assert_eq!(parse_number("1x"), None);
        assert_eq!(parse_number("-"), None);
        assert_eq!(parse_number("0x"), None);
    }

    #[test]
    fn truth_follows_go() {
        for falsy in [
            json!(null),
            json!(false),
            json!(0),
            json!(""),
            json!([]),
            json!({}),
        ] {
            assert!(!is_true(&falsy), "{falsy}");
        }
        for truthy in [
            json!(true),
            json!(-1),
            json!(0.5),
            json!("0"),
            json!([0]),
            json!({"a": null}),
        ] {
            assert!(is_true(&truthy), "{truthy}");
        }
    }
}
