//! Template functions: Go's builtins (`and`, `or`, `not`, `len`, `index`,
//! `slice`, `print`, `printf`, `println`, `eq`, `ne`, `lt`, `le`, `gt`,
//! `ge`) and the ones Docker's CLI adds (`json`, `split`, `join`, `title`,
//! `lower`, `upper`, `pad`, `truncate`). `and` and `or` are evaluated
//! lazily by the executor; they are listed here so the parser knows them.

use std::cmp::Ordering;

use serde_json::Value;

use super::printf::{sprint, sprintf, sprintln};
use super::value::{go_string, is_true, number_string, type_name};

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FuncError {
    /// The function ran and failed: shown as `error calling NAME: …`.
    Call(String),
    /// The arguments did not fit the function (count or type).
    Args(String),
}

type FuncResult = Result<Value, FuncError>;

struct Func {
    name: &'static str,
    min: usize,
    /// `None`: variadic.
    max: Option<usize>,
    call: fn(&[Value]) -> FuncResult,
}

const fn func(
    name: &'static str,
    min: usize,
    max: Option<usize>,
    call: fn(&[Value]) -> FuncResult,
) -> Func {
    Func {
        name,
        min,
        max,
        call,
    }
}

const FUNCS: &[Func] = &[
    func("and", 1, None, |args| Ok(args[args.len() - 1].clone())),
    func("or", 1, None, |args| Ok(args[args.len() - 1].clone())),
    func("not", 1, Some(1), |args| {
        Ok(Value::Bool(!is_true(&args[0])))
    }),
    func("len", 1, Some(1), length),
    func("index", 1, None, index),
    func("slice", 1, None, slice),
    func("print", 0, None, |args| Ok(Value::String(sprint(args)))),
    func("println", 0, None, |args| Ok(Value::String(sprintln(args)))),
    func("printf", 1, None, |args| {
        Ok(Value::String(sprintf(&string_arg(&args[0])?, &args[1..])))
    }),
    func("eq", 1, None, eq),
    func("ne", 2, Some(2), |args| {
        Ok(Value::Bool(!equal(&args[0], &args[1])?))
    }),
    func("lt", 2, Some(2), |args| ordered(args, Ordering::is_lt)),
    func("le", 2, Some(2), |args| ordered(args, Ordering::is_le)),
    func("gt", 2, Some(2), |args| ordered(args, Ordering::is_gt)),
    func("ge", 2, Some(2), |args| ordered(args, Ordering::is_ge)),
    func("json", 1, Some(1), |args| {
        serde_json::to_string(&args[0])
            .map(Value::String)
            .map_err(|e| FuncError::Call(e.to_string()))
    }),
    func("split", 2, Some(2), split),
    func("join", 2, Some(2), join),
    func("title", 1, Some(1), |args| {
        Ok(Value::String(title(&string_arg(&args[0])?)))
    }),
    func("lower", 1, Some(1), |args| {
        Ok(Value::String(string_arg(&args[0])?.to_lowercase()))
    }),
    func("upper", 1, Some(1), |args| {
        Ok(Value::String(string_arg(&args[0])?.to_uppercase()))
    }),
    func("pad", 3, Some(3), pad),
    func("truncate", 2, Some(2), truncate),
];

/// Docker keeps table headers intact: these return their first argument
/// when rendering the header row.
const HEADER_IDENTITY: &[&str] = &[
    "json", "split", "join", "title", "lower", "upper", "truncate",
];

/// Whether `name` is a template function.
pub fn exists(name: &str) -> bool {
    FUNCS.iter().any(|f| f.name == name)
}

/// Checks the argument count of `name` for `count` arguments.
pub fn check_arity(name: &str, count: usize) -> Result<(), FuncError> {
    let Some(f) = FUNCS.iter().find(|f| f.name == name) else {
        return Err(FuncError::Args(format!("function {name:?} not defined")));
    };
    let fits = count >= f.min && f.max.is_none_or(|max| count <= max);
    if fits {
        return Ok(());
    }
    let want = match f.max {
        Some(max) if max == f.min => max.to_string(),
        _ => format!("at least {}", f.min),
    };
    Err(FuncError::Args(format!(
        "wrong number of args for {name}: want {want} got {count}"
    )))
}

/// Calls `name` with `args` (already evaluated, the piped value last).
pub fn call(name: &str, args: &[Value], header: bool) -> FuncResult {
    check_arity(name, args.len())?;
    if header && HEADER_IDENTITY.contains(&name) {
        return Ok(args[0].clone());
    }
    let f = FUNCS
        .iter()
        .find(|f| f.name == name)
        .ok_or_else(|| FuncError::Args(format!("function {name:?} not defined")))?;
    (f.call)(args)
}

fn wrong_type(expected: &str, got: &Value) -> FuncError {
    FuncError::Args(format!(
        "wrong type for value; expected {expected}; got {}",
        type_name(got)
    ))
}

/// A string parameter; numbers are taken as their text.
fn string_arg(value: &Value) -> Result<String, FuncError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(number_string(n)),
        other => Err(wrong_type("string", other)),
    }
}

fn int_arg(value: &Value) -> Result<i64, FuncError> {
    value.as_i64().ok_or_else(|| wrong_type("int", value))
}

fn length(args: &[Value]) -> FuncResult {
    let len = match &args[0] {
        Value::String(s) => s.len(),
        Value::Array(a) => a.len(),
        Value::Object(o) => o.len(),
        Value::Null => return Err(FuncError::Call("len of nil pointer".into())),
        other => return Err(FuncError::Call(format!("len of type {}", type_name(other)))),
    };
    Ok(Value::from(len))
}

/// An index into a sequence of `len` items.
fn position(index: &Value, len: usize) -> Result<usize, FuncError> {
    let x = match index {
        Value::Number(n) if n.as_i64().is_some() => n.as_i64().unwrap_or_default(),
        Value::Null => return Err(FuncError::Call("cannot index slice/array with nil".into())),
        other => {
            return Err(FuncError::Call(format!(
                "cannot index slice/array with type {}",
                type_name(other)
            )))
        }
    };
    usize::try_from(x)
        .ok()
        .filter(|&i| i <= len)
        .ok_or_else(|| FuncError::Call(format!("index out of range: {x}")))
}

fn index(args: &[Value]) -> FuncResult {
    let mut item = args[0].clone();
    if item.is_null() {
        return Err(FuncError::Call("index of untyped nil".into()));
    }
    for (i, key) in args[1..].iter().enumerate() {
        item = match &item {
            Value::Null if i > 0 => return Err(FuncError::Call("index of nil pointer".into())),
            Value::Array(items) => {
                let at = position(key, items.len())?;
                items.get(at).cloned().ok_or_else(|| out_of_range(at))?
            }
            Value::String(s) => {
                let at = position(key, s.len())?;
                s.as_bytes()
                    .get(at)
                    .map(|&b| Value::from(b))
                    .ok_or_else(|| out_of_range(at))?
            }
            Value::Object(map) => match key {
                Value::String(k) => map.get(k).cloned().unwrap_or(Value::Null),
                other => {
                    return Err(FuncError::Call(format!(
                        "value has type {}; should be string",
                        type_name(other)
                    )))
                }
            },
            other => {
                return Err(FuncError::Call(format!(
                    "can't index item of type {}",
                    type_name(other)
                )))
            }
        };
    }
    Ok(item)
}

fn out_of_range(at: usize) -> FuncError {
    FuncError::Call(format!("index out of range: {at}"))
}

fn slice(args: &[Value]) -> FuncResult {
    let item = &args[0];
    let indexes = &args[1..];
    if indexes.len() > 3 {
        return Err(FuncError::Call(format!(
            "too many slice indexes: {}",
            indexes.len()
        )));
    }
    let len = match item {
        Value::Null => return Err(FuncError::Call("slice of untyped nil".into())),
        Value::String(_) if indexes.len() == 3 => {
            return Err(FuncError::Call("cannot 3-index slice a string".into()))
        }
        Value::String(s) => s.len(),
        Value::Array(a) => a.len(),
        other => {
            return Err(FuncError::Call(format!(
                "can't slice item of type {}",
                type_name(other)
            )))
        }
    };
    let mut bounds = [0, len, len];
    for (i, index) in indexes.iter().enumerate() {
        bounds[i] = position(index, len)?;
    }
    for pair in bounds[..indexes.len().max(2)].windows(2) {
        if pair[0] > pair[1] {
            return Err(FuncError::Call(format!(
                "invalid slice index: {} > {}",
                pair[0], pair[1]
            )));
        }
    }
    let (from, to) = (bounds[0], bounds[1]);
    Ok(match item {
        Value::String(s) => Value::String(String::from_utf8_lossy(&s.as_bytes()[from..to]).into()),
        Value::Array(a) => Value::Array(a[from..to].to_vec()),
        _ => Value::Null,
    })
}

/// Go's basic kinds, for comparisons.
enum Basic<'a> {
    Nil,
    Bool(bool),
    Number(&'a serde_json::Number),
    Str(&'a str),
    Other,
}

fn basic(value: &Value) -> Basic<'_> {
    match value {
        Value::Null => Basic::Nil,
        Value::Bool(b) => Basic::Bool(*b),
        Value::Number(n) => Basic::Number(n),
        Value::String(s) => Basic::Str(s),
        _ => Basic::Other,
    }
}

/// Numbers compare by value, whatever their JSON representation.
fn compare_numbers(a: &serde_json::Number, b: &serde_json::Number) -> Ordering {
    let exact = |n: &serde_json::Number| {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    };
    match (exact(a), exact(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => {
            let (x, y) = (
                a.as_f64().unwrap_or(f64::NAN),
                b.as_f64().unwrap_or(f64::NAN),
            );
            x.partial_cmp(&y).unwrap_or(Ordering::Less)
        }
    }
}

fn equal(a: &Value, b: &Value) -> Result<bool, FuncError> {
    let incompatible = || FuncError::Call("incompatible types for comparison".into());
    match (basic(a), basic(b)) {
        (Basic::Nil, Basic::Nil) => Ok(true),
        (Basic::Nil, Basic::Other) | (Basic::Other, Basic::Nil) | (Basic::Other, Basic::Other) => {
            let culprit = if matches!(basic(a), Basic::Other) {
                a
            } else {
                b
            };
            Err(FuncError::Call(format!(
                "non-comparable type {}: {}",
                go_string(culprit),
                type_name(culprit)
            )))
        }
        (Basic::Nil, _) | (_, Basic::Nil) => Ok(false),
        (Basic::Bool(x), Basic::Bool(y)) => Ok(x == y),
        (Basic::Number(x), Basic::Number(y)) => Ok(compare_numbers(x, y) == Ordering::Equal),
        (Basic::Str(x), Basic::Str(y)) => Ok(x == y),
        _ => Err(incompatible()),
    }
}

fn eq(args: &[Value]) -> FuncResult {
    if args.len() < 2 {
        return Err(FuncError::Call("missing argument for comparison".into()));
    }
    for other in &args[1..] {
        if equal(&args[0], other)? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

fn ordered(args: &[Value], test: fn(Ordering) -> bool) -> FuncResult {
    let order = match (basic(&args[0]), basic(&args[1])) {
        (Basic::Number(x), Basic::Number(y)) => compare_numbers(x, y),
        (Basic::Str(x), Basic::Str(y)) => x.cmp(y),
        (Basic::Number(_), Basic::Str(_)) | (Basic::Str(_), Basic::Number(_)) => {
            return Err(FuncError::Call("incompatible types for comparison".into()))
        }
        _ => return Err(FuncError::Call("invalid type for comparison".into())),
    };
    Ok(Value::Bool(test(order)))
}

fn split(args: &[Value]) -> FuncResult {
    let (s, sep) = (string_arg(&args[0])?, string_arg(&args[1])?);
    let parts: Vec<Value> = if sep.is_empty() {
        s.chars().map(|c| Value::String(c.to_string())).collect()
    } else {
        s.split(sep.as_str()).map(Value::from).collect()
    };
    Ok(Value::Array(parts))
}

fn join(args: &[Value]) -> FuncResult {
    let Value::Array(items) = &args[0] else {
        return Err(wrong_type("[]string", &args[0]));
    };
    let words = items
        .iter()
        .map(string_arg)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Value::String(words.join(&string_arg(&args[1])?)))
}

/// Go's `strings.Title`: upper-cases the first letter of each word.
fn title(s: &str) -> String {
    let separator = |c: char| {
        if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else {
            !c.is_alphanumeric() && c.is_whitespace()
        }
    };
    let mut prev = ' ';
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if separator(prev) {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev = c;
    }
    out
}

/// Docker's `pad`: spaces before and after a non-empty string.
fn pad(args: &[Value]) -> FuncResult {
    let s = string_arg(&args[0])?;
    let (before, after) = (int_arg(&args[1])?, int_arg(&args[2])?);
    if s.is_empty() {
        return Ok(Value::String(s));
    }
    let spaces = |n: i64| " ".repeat(usize::try_from(n).unwrap_or(0));
    Ok(Value::String(format!(
        "{}{s}{}",
        spaces(before),
        spaces(after)
    )))
}

/// Docker's `truncate`: at most `n` bytes (here: whole characters).
fn truncate(args: &[Value]) -> FuncResult {
    let s = string_arg(&args[0])?;
    let n = usize::try_from(int_arg(&args[1])?).unwrap_or(0);
    if s.len() <= n {
        return Ok(Value::String(s));
    }
    let end = (0..=n).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0);
    Ok(Value::String(s[..end].to_string()))
}

#[cfg(test)]
mod tests;
