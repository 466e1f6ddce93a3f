//! Function tests: Docker's string functions, Go's builtins, errors.

use serde_json::json;

use super::*;

fn run(name: &str, args: Value) -> FuncResult {
    call(name, args.as_array().map_or(&[], |a| a.as_slice()), false)
}

fn ok(name: &str, args: Value) -> Value {
    run(name, args).unwrap_or_else(|e| panic!("{name}: {e:?}"))
}

fn call_error(name: &str, args: Value) -> String {
    match run(name, args) {
        Err(FuncError::Call(m) | FuncError::Args(m)) => m,
        Ok(v) => panic!("{name} gave {v}"),
    }
}

#[test]
fn docker_string_functions() {
    assert_eq!(ok("upper", json!(["web"])), "WEB");
    assert_eq!(ok("lower", json!(["WeB"])), "web");
    assert_eq!(ok("title", json!(["my net-work_x é"])), "My Net-Work_x É");
    assert_eq!(
        ok("split", json!(["a,b,,c", ","])),
        json!(["a", "b", "", "c"])
    );
    assert_eq!(ok("split", json!(["ab", ""])), json!(["a", "b"]));
    assert_eq!(ok("join", json!([["a", "b"], ", "])), "a, b");
    assert_eq!(ok("pad", json!(["x", 2, 1])), "  x ");
    assert_eq!(ok("pad", json!(["", 2, 1])), "");
    assert_eq!(ok("truncate", json!(["abcdef", 3])), "abc");
    assert_eq!(ok("truncate", json!(["ab", 3])), "ab");
    assert_eq!(ok("truncate", json!(["éé", 3])), "é");
    assert_eq!(
        ok("json", json!([{"b": [1, null], "a": "<&>"}])),
        r#"{"a":"<&>","b":[1,null]}"#
    );
}

#[test]
fn header_mode_keeps_headers() {
    let args = [json!("NAME"), json!(",")];
    assert_eq!(call("split", &args, true), Ok(json!("NAME")));
    assert_eq!(call("upper", &args[..1], true), Ok(json!("NAME")));
    assert_eq!(
        call("pad", &[json!("N"), json!(1), json!(0)], true),
        Ok(json!(" N"))
    );
}

#[test]
fn index_and_len() {
    let data = json!({"l": ["a", "b"], "m": {"k": "v"}});
    assert_eq!(ok("index", json!([data, "m", "k"])), "v");
    assert_eq!(ok("index", json!([data, "m", "nope"])), json!(null));
    assert_eq!(ok("index", json!([["a", "b"], 1])), "b");
    assert_eq!(ok("index", json!(["abc", 0])), 97);
    assert_eq!(
        call_error("index", json!([["a"], 5])),
        "index out of range: 5"
    );
    assert_eq!(
        call_error("index", json!([["a"], "x"])),
        "cannot index slice/array with type string"
    );
    assert_eq!(
        call_error("index", json!([null, 0])),
        "index of untyped nil"
    );
    assert_eq!(
        call_error("index", json!([true, 0])),
        "can't index item of type bool"
    );
    assert_eq!(ok("len", json!(["héllo"])), 6);
    assert_eq!(ok("len", json!([{"a": 1}])), 1);
    assert_eq!(call_error("len", json!([3])), "len of type int");
}

#[test]
fn slices() {
    assert_eq!(ok("slice", json!([[1, 2, 3], 1])), json!([2, 3]));
    assert_eq!(ok("slice", json!(["abcd", 1, 3])), "bc");
    assert_eq!(
        call_error("slice", json!([[1], 2])),
        "index out of range: 2"
    );
    assert_eq!(
        call_error("slice", json!([[1, 2], 2, 1])),
        "invalid slice index: 2 > 1"
    );
}

#[test]
fn comparisons() {
    assert_eq!(ok("eq", json!(["a", "b", "a"])), true);
    assert_eq!(ok("eq", json!([16, 16.0])), true);
    assert_eq!(ok("eq", json!([null, null])), true);
    assert_eq!(ok("eq", json!([null, "x"])), false);
    assert_eq!(ok("ne", json!([1, 2])), true);
    assert_eq!(ok("lt", json!([1, 2])), true);
    assert_eq!(ok("ge", json!(["b", "a"])), true);
    assert_eq!(
        call_error("eq", json!(["1", 1])),
        "incompatible types for comparison"
    );
    assert_eq!(
        call_error("lt", json!([true, false])),
        "invalid type for comparison"
    );
    assert_eq!(
        call_error("eq", json!([[1], [1]])),
        "non-comparable type [1]: []interface {}"
    );
}

#[test]
fn arity_and_types() {
    assert_eq!(
        call_error("upper", json!(["a", "b"])),
        "wrong number of args for upper: want 1 got 2"
    );
    assert_eq!(
        call_error("index", json!([])),
        "wrong number of args for index: want at least 1 got 0"
    );
    assert_eq!(
        call_error("upper", json!([true])),
        "wrong type for value; expected string; got bool"
    );
    assert_eq!(
        call_error("pad", json!(["a", "1", 0])),
        "wrong type for value; expected int; got string"
    );
    assert!(exists("and") && exists("printf") && !exists("html"));
}
