//! The engine end to end: source in, text or error line out.

use serde_json::{json, Value};

use super::*;

fn network() -> Value {
    json!({
        "Name": "web",
        "Id": "5e7c7e4bfa3b",
        "EnableIPv6": false,
        "Internal": true,
        "IPAM": {
            "Driver": "default",
            "Options": null,
            "Config": [{"Subnet": "10.1.0.0/24", "Gateway": "10.1.0.1"}]
        },
        "Containers": {
            "bbb": {"Name": "db", "IPv4Address": "10.1.0.3/24"},
            "aaa": {"Name": "app", "IPv4Address": "10.1.0.2/24"}
        },
        "Options": {"com.docker.network.bridge.name": "br-web", "mtu": "1400"},
        "Labels": {},
        "Args": ["-c", "true"],
        "Pid": 4242,
        "Ratio": 0.25
    })
}

fn render(src: &str) -> String {
    let template = Template::parse(src).unwrap_or_else(|e| panic!("{src}: {e}"));
    template
        .execute(&network(), MissingKey::Error)
        .unwrap_or_else(|e| panic!("{src}: {e}"))
}

fn failure(src: &str) -> String {
    match Template::parse(src) {
        Err(e) => e.to_string(),
        Ok(t) => t
            .execute(&network(), MissingKey::Error)
            .expect_err(src)
            .to_string(),
    }
}

#[test]
fn fields_and_text() {
    assert_eq!(render("net {{.Name}} ({{.Id}})"), "net web (5e7c7e4bfa3b)");
    assert_eq!(render("{{.IPAM.Driver}}"), "default");
    assert_eq!(render("{{$.Name}}{{ . | len }}"), "web11");
    assert_eq!(render("plain text"), "plain text");
}

#[test]
fn go_printing_of_values() {
    assert_eq!(render("{{.Args}}"), "[-c true]");
    assert_eq!(render("{{.Labels}}"), "map[]");
    assert_eq!(
        render("{{.Options}}"),
        "map[com.docker.network.bridge.name:br-web mtu:1400]"
    );
    assert_eq!(
        render("{{.IPAM.Config}}"),
        "[map[Gateway:10.1.0.1 Subnet:10.1.0.0/24]]"
    );
    assert_eq!(
        render("{{.IPAM}}"),
        "map[Config:[map[Gateway:10.1.0.1 Subnet:10.1.0.0/24]] Driver:default Options:<nil>]"
    );
    assert_eq!(
        render("{{.Pid}} {{.Ratio}} {{.Internal}} {{.EnableIPv6}}"),
        "4242 0.25 true false"
    );
    // A nil at the top prints as Go prints an invalid value.
    assert_eq!(render("{{.IPAM.Options}}"), "<no value>");
    assert_eq!(render("{{print .IPAM.Options}}"), "<nil>");
}

#[test]
fn json_function() {
    assert_eq!(
        render("{{json .Containers}}"),
        r#"{"aaa":{"IPv4Address":"10.1.0.2/24","Name":"app"},"bbb":{"IPv4Address":"10.1.0.3/24","Name":"db"}}"#
    );
    assert_eq!(render("{{json .IPAM.Options}}"), "null");
    assert_eq!(render("{{.Args | json}}"), r#"["-c","true"]"#);
}

#[test]
fn range_over_maps_and_slices() {
    assert_eq!(render("{{range .Containers}}{{.Name}} {{end}}"), "app db ");
    assert_eq!(
        render("{{range $k, $v := .Containers}}{{$k}}={{$v.Name}};{{end}}"),
        "aaa=app;bbb=db;"
    );
    assert_eq!(
        render("{{range $i, $a := .Args}}{{$i}}:{{$a}} {{end}}"),
        "0:-c 1:true "
    );
    assert_eq!(render("{{range $a := .Args}}[{{$a}}]{{end}}"), "[-c][true]");
    assert_eq!(render("{{range .Labels}}x{{else}}none{{end}}"), "none");
    assert_eq!(render("{{range .IPAM.Options}}x{{else}}nil{{end}}"), "nil");
    assert_eq!(
        render("{{range .Args}}{{if eq . \"true\"}}{{break}}{{end}}{{.}}{{end}}"),
        "-c"
    );
    assert_eq!(
        render("{{range .Args}}{{if eq . \"-c\"}}{{continue}}{{end}}{{.}}{{end}}"),
        "true"
    );
    // Inside range, $ is still the whole object.
    assert_eq!(render("{{range .Args}}{{$.Name}}{{end}}"), "webweb");
}

#[test]
fn index_and_parenthesized_chains() {
    assert_eq!(
        render(r#"{{index .Options "com.docker.network.bridge.name"}}"#),
        "br-web"
    );
    assert_eq!(render("{{(index .IPAM.Config 0).Subnet}}"), "10.1.0.0/24");
    assert_eq!(render("{{index .Args 1}}"), "true");
    assert_eq!(render(r#"{{index .Options "nope"}}"#), "<no value>");
}

#[test]
fn conditionals() {
    assert_eq!(render("{{if .Internal}}int{{else}}ext{{end}}"), "int");
    assert_eq!(
        render("{{if .EnableIPv6}}6{{else if .Internal}}i{{else}}e{{end}}"),
        "i"
    );
    assert_eq!(
        render("{{with .IPAM.Options}}{{.}}{{else}}no options{{end}}"),
        "no options"
    );
    assert_eq!(render("{{with .IPAM}}{{.Driver}}{{end}}"), "default");
    assert_eq!(
        render("{{if and .Internal (not .EnableIPv6)}}y{{end}}"),
        "y"
    );
    assert_eq!(render("{{or .EnableIPv6 .Name}}"), "web");
    assert_eq!(render("{{and .Name .Labels}}"), "map[]");
    // `and` stops before the argument that would fail.
    assert_eq!(render("{{if and .Labels (index .Labels.x 0)}}y{{end}}"), "");
    assert_eq!(render("{{if gt .Pid 4000}}big{{end}}"), "big");
    assert_eq!(render("{{if ne .Name \"db\"}}not db{{end}}"), "not db");
}

#[test]
fn variables() {
    assert_eq!(render("{{$n := .Name}}{{$n}}-{{$n | upper}}"), "web-WEB");
    assert_eq!(
        render("{{$x := 1}}{{range .Args}}{{$x = 2}}{{end}}{{$x}}"),
        "2"
    );
    assert_eq!(render("{{if $d := .IPAM.Driver}}{{$d}}{{end}}"), "default");
}

#[test]
fn string_functions_and_pipelines() {
    assert_eq!(render("{{.Name | upper}}"), "WEB");
    assert_eq!(render("{{upper .Name | lower}}"), "web");
    assert_eq!(render("{{title \"hello world\"}}"), "Hello World");
    assert_eq!(render(r#"{{join .Args ","}}"#), "-c,true");
    assert_eq!(render(r#"{{split "a:b" ":"}}"#), "[a b]");
    assert_eq!(render(r#"{{len (split "a:b:c" ":")}}"#), "3");
    assert_eq!(render("{{len .Containers}} {{len .Name}}"), "2 3");
    assert_eq!(
        render(r#"{{printf "%s has %d" .Name .Pid}}"#),
        "web has 4242"
    );
    assert_eq!(render(r#"{{.Name | printf "%-6s|"}}"#), "web   |");
    assert_eq!(render("{{println .Name}}x"), "web\nx");
    assert_eq!(render("{{println}}"), "\n");
    assert_eq!(render("{{print .Name .Pid}}"), "web4242");
    assert_eq!(render("{{pad .Name 1 2}}|"), " web  |");
    assert_eq!(render("{{truncate .Id 4}}"), "5e7c");
    assert_eq!(render("{{slice .Name 1}}"), "eb");
}

#[test]
fn whitespace_trimming_and_comments() {
    assert_eq!(render("a  {{- .Name -}}  b"), "awebb");
    assert_eq!(render("{{range .Args -}}\n  {{.}}\n{{- end}}"), "-ctrue");
    assert_eq!(render("x{{/* ignored */}}y"), "xy");
    assert_eq!(render("x {{- /* ignored */ -}} y"), "xy");
    assert_eq!(render("{{`raw\\n`}}"), "raw\\n");
    assert_eq!(render("{{\"esc\\tape\"}}"), "esc\tape");
}

#[test]
fn parse_errors_are_one_line_with_position() {
    for (src, message) in [
        (
            r#"{{index .Options "k"}"#,
            r#"template: :1:20: unexpected "}" in operand"#,
        ),
        ("{{.ID}", "template: :1:2: bad character U+007D '}'"),
        ("{{.ID", "template: :1:5: unclosed action"),
        ("x\n{{if .A}}", "template: :2:9: unexpected EOF"),
        ("{{end}}", "template: :1:2: unexpected {{end}}"),
        ("{{nope}}", "template: :1:2: function \"nope\" not defined"),
        ("{{$x}}", "template: :1:2: undefined variable \"$x\""),
    ] {
        let error = failure(src);
        assert_eq!(error, message, "{src}");
        assert!(!error.contains('\n'), "{error}");
    }
}

#[test]
fn exec_errors_name_the_node() {
    assert_eq!(
        failure("{{.Nope}}"),
        r#"template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope""#
    );
    assert_eq!(
        failure("x\n {{.IPAM.Bad.X}}"),
        r#"template: :2:3: executing "" at <.IPAM.Bad.X>: map has no entry for key "Bad""#
    );
    assert_eq!(
        failure("{{.Name.First}}"),
        r#"template: :1:2: executing "" at <.Name.First>: can't evaluate field First in type string"#
    );
    assert_eq!(
        failure("{{index .Args 5}}"),
        r#"template: :1:2: executing "" at <index .Args 5>: error calling index: index out of range: 5"#
    );
    assert_eq!(
        failure("{{upper .Name .Name}}"),
        r#"template: :1:2: executing "" at <upper .Name .Name>: wrong number of args for upper: want 1 got 2"#
    );
    assert_eq!(
        failure("{{range .Name}}{{end}}"),
        r#"template: :1:8: executing "" at <.Name>: range can't iterate over web"#
    );
    assert_eq!(
        failure("{{.Name 1}}"),
        r#"template: :1:2: executing "" at <.Name>: Name is not a method but has arguments"#
    );
    assert_eq!(
        failure("{{.IPAM.Options.x}}"),
        r#"template: :1:2: executing "" at <.IPAM.Options.x>: nil data; no entry for key "x""#
    );
}

#[test]
fn missing_keys_print_no_value_by_default() {
    let template = Template::parse("{{.Nope}}|{{.Nope.Deeper}}").expect("parses");
    assert_eq!(
        template.execute(&network(), MissingKey::Default),
        Ok("<no value>|<no value>".to_string())
    );
}

#[test]
fn header_mode_keeps_titles() {
    let template =
        Template::parse("{{.Name | lower}}\t{{json .Labels}}\t{{pad .Name 1 0}}").expect("parses");
    let header = json!({"Name": "NAME", "Labels": "LABELS"});
    assert_eq!(
        template.execute_header(&header),
        Ok("NAME\tLABELS\t NAME".to_string())
    );
}
