//! Lexer tests: tokens, trim markers, comments and lexing errors.

use super::*;

fn kinds(src: &str) -> Vec<Kind> {
    lex(src).into_iter().map(|t| t.kind).collect()
}

#[test]
fn text_and_actions() {
    assert_eq!(
        kinds("a {{.Name}} b"),
        [
            Kind::Text("a ".into()),
            Kind::Open,
            Kind::Field("Name".into()),
            Kind::Close,
            Kind::Text(" b".into()),
            Kind::Eof,
        ]
    );
}

#[test]
fn trim_markers_eat_surrounding_whitespace() {
    assert_eq!(
        kinds("a \n {{- 3 -}} \n b"),
        [
            Kind::Text("a".into()),
            Kind::Open,
            Kind::Number("3".into()),
            Kind::Close,
            Kind::Text("b".into()),
            Kind::Eof,
        ]
    );
    // Without the space the dash belongs to a number.
    assert_eq!(kinds("{{-3}}")[1], Kind::Number("-3".into()));
}

#[test]
fn comments_vanish() {
    assert_eq!(
        kinds("a {{- /* x */ -}} b"),
        [Kind::Text("a".into()), Kind::Text("b".into()), Kind::Eof]
    );
    assert_eq!(
        kinds("{{/* x */ .}}").last(),
        Some(&Kind::Error("comment ends before closing delimiter".into()))
    );
}

#[test]
fn words_literals_and_punctuation() {
    assert_eq!(
        kinds(r#"{{range $k, $v := index . "a\tb" `r` 'x' 1.5 true nil}}"#)[1..14],
        [
            Kind::Keyword(Keyword::Range),
            Kind::Variable("$k".into()),
            Kind::Comma,
            Kind::Variable("$v".into()),
            Kind::Declare,
            Kind::Ident("index".into()),
            Kind::Dot,
            Kind::Str("a\tb".into()),
            Kind::Str("r".into()),
            Kind::Char('x'),
            Kind::Number("1.5".into()),
            Kind::Bool(true),
            Kind::Nil,
        ]
    );
}

#[test]
fn spacing_is_recorded() {
    let tokens = lex("{{.A.B .C}}");
    let spaced: Vec<bool> = tokens[1..4].iter().map(|t| t.spaced).collect();
    assert_eq!(spaced, [false, false, true]);
}

#[test]
fn errors_end_the_stream() {
    assert_eq!(
        kinds("{{.ID}").last(),
        Some(&Kind::Error("bad character U+007D '}'".into()))
    );
    assert_eq!(
        kinds("{{.ID").last(),
        Some(&Kind::Error("unclosed action".into()))
    );
    assert_eq!(
        kinds(r#"{{"abc}}"#).last(),
        Some(&Kind::Error("unterminated quoted string".into()))
    );
    assert_eq!(
        kinds("{{1x}}").last(),
        Some(&Kind::Error(r#"bad number syntax: "1x""#.into()))
    );
    // The parser sees the stray brace before the missing `}}`.
    assert_eq!(kinds(r#"{{"k"}"#)[2], Kind::Other('}'));
}
