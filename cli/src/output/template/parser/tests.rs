//! Parser tests: tree shapes, scopes, and Go-worded parse errors.

use super::*;

fn message(src: &str) -> String {
    parse(src).expect_err(src).message
}

#[test]
fn builds_blocks_with_else_chains() {
    let nodes = parse("{{if .A}}a{{else if .B}}b{{else}}c{{end}}").expect("parses");
    let [Node::If(outer)] = nodes.as_slice() else {
        panic!("{nodes:?}")
    };
    assert_eq!(outer.body, [Node::Text("a".into())]);
    let Some([Node::If(inner)]) = outer.otherwise.as_deref() else {
        panic!("{outer:?}")
    };
    assert_eq!(inner.otherwise, Some(vec![Node::Text("c".into())]));
}

#[test]
fn chains_fields_onto_terms() {
    let nodes = parse("{{(index .C 0).Subnet}}{{$.A.B}}").expect("parses");
    let Node::Action(pipe) = &nodes[0] else {
        panic!()
    };
    assert!(matches!(
        &pipe.cmds[0].args[0].kind,
        OperandKind::Chain(_, fields) if fields == &["Subnet"]
    ));
    let Node::Action(pipe) = &nodes[1] else {
        panic!()
    };
    assert_eq!(
        pipe.cmds[0].args[0].kind,
        OperandKind::Variable("$".into(), vec!["A".into(), "B".into()])
    );
}

#[test]
fn range_declarations() {
    let nodes = parse("{{range $k, $v := .M}}{{$k}}{{$v}}{{end}}").expect("parses");
    let [Node::Range(range)] = nodes.as_slice() else {
        panic!()
    };
    assert_eq!(range.pipe.decl, ["$k", "$v"]);
    assert_eq!(
        message("{{if $a, $b := .M}}{{end}}"),
        "too many declarations in if"
    );
    // Range variables go out of scope at {{end}}.
    assert_eq!(
        message("{{range $v := .}}{{end}}{{$v}}"),
        "undefined variable \"$v\""
    );
}

#[test]
fn errors_read_like_gos() {
    for (src, expected) in [
        (r#"{{index .Options "k"}"#, "unexpected \"}\" in operand"),
        ("{{.ID}", "bad character U+007D '}'"),
        ("{{.ID", "unclosed action"),
        ("{{if .A}}x", "unexpected EOF"),
        ("x{{end}}", "unexpected {{end}}"),
        ("{{else}}", "unexpected {{else}}"),
        (
            "{{if .A}}{{else}}{{else}}{{end}}",
            "expected end; found {{else}}",
        ),
        ("{{if}}{{end}}", "missing value for if"),
        ("{{}}", "missing value for command"),
        ("{{nope .}}", "function \"nope\" not defined"),
        ("{{$x}}", "undefined variable \"$x\""),
        ("{{$x = 1}}", "undefined variable \"$x\""),
        ("{{break}}", "{{break}} outside {{range}}"),
        ("{{.A | }}", "missing command after | in command"),
        ("{{.A | 3}}", "non executable command in pipeline stage 2"),
        ("{{\"a\".B}}", "unexpected . after term \"\\\"a\\\"\""),
        ("{{template \"x\"}}", "{{template}} is not supported"),
        ("{{end x}}", "unexpected \"x\" in end"),
        ("{{(.A}}", "unexpected \"}}\" in parenthesized pipeline"),
    ] {
        assert_eq!(message(src), expected, "{src}");
    }
}

#[test]
fn error_positions_point_at_the_culprit() {
    assert_eq!(parse("ab{{.ID}").expect_err("bad").pos, 4);
    assert_eq!(parse("{{ .A } }}").expect_err("bad").pos, 6);
}
