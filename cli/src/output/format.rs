//! The `--format` flag, read as Docker's CLI reads it. For lists: `table`
//! (or nothing) keeps the command's own table, `table TEMPLATE` prints
//! upper-case column titles and aligns the rows, `json` prints each row as
//! a JSON line, anything else is a template run once per row; `\t` and
//! `\n` typed literally become a tab and a newline. For inspect: a template
//! run once per object over its Docker-shaped JSON.

use anyhow::{Error, Result};
use serde_json::Value;

use super::tabwriter;
use super::template::{MissingKey, Template, TemplateError};

/// How a list command prints its rows.
#[derive(Debug)]
pub enum ListFormat {
    /// The command's own output (no flag, empty, or `table`).
    Default,
    /// A header row of column titles, then the rows, aligned.
    Table(Template),
    /// One rendering per row.
    Lines(Template),
}

/// Docker's wording around template errors.
fn template_error(error: TemplateError) -> Error {
    Error::msg(format!("template parsing error: {error}"))
}

impl ListFormat {
    /// Reads the flag's value; a template that does not parse is an error.
    pub fn parse(raw: Option<&str>) -> Result<ListFormat> {
        let raw = raw.unwrap_or_default();
        if raw.is_empty() || raw == "table" {
            return Ok(ListFormat::Default);
        }
        if raw.trim() == "json" {
            return Ok(ListFormat::Lines(
                Template::parse("{{json .}}").map_err(template_error)?,
            ));
        }
        let (table, body) = match raw.strip_prefix("table") {
            Some(body) => (true, body),
            None => (false, raw),
        };
        let body = body
            .trim_matches(' ')
            .replace("\\t", "\t")
            .replace("\\n", "\n");
        let template = Template::parse(&body).map_err(template_error)?;
        Ok(if table {
            ListFormat::Table(template)
        } else {
            ListFormat::Lines(template)
        })
    }

    /// The rows through the template (not for `Default`); `headers` maps
    /// each field name to its column title.
    pub fn render(&self, rows: &[Value], headers: &[(&str, &str)]) -> Result<String> {
        let (template, table) = match self {
            ListFormat::Default => return Ok(String::new()),
            ListFormat::Table(t) => (t, true),
            ListFormat::Lines(t) => (t, false),
        };
        let mut out = String::new();
        if table {
            let titles: serde_json::Map<String, Value> = headers
                .iter()
                .map(|(field, title)| (field.to_string(), Value::from(*title)))
                .collect();
            // Docker ignores a header that fails to render.
            out.push_str(
                &template
                    .execute_header(&Value::Object(titles))
                    .unwrap_or_default(),
            );
            out.push('\n');
        }
        for row in rows {
            out.push_str(
                &template
                    .execute(row, MissingKey::Error)
                    .map_err(template_error)?,
            );
            out.push('\n');
        }
        Ok(if table { tabwriter::align(&out) } else { out })
    }
}

/// The template of an inspect `--format`; `None` for the default JSON.
pub fn inspect_template(raw: Option<&str>) -> Result<Option<Template>> {
    match raw {
        None | Some("" | "json") => Ok(None),
        Some(raw) => Template::parse(raw).map(Some).map_err(template_error),
    }
}

/// Each object through `template`, one result per line. As Docker does for
/// raw JSON, a field missing from an object is an error.
pub fn render_each<T: serde::Serialize>(template: &Template, objects: &[T]) -> Result<String> {
    let mut out = String::new();
    for object in objects {
        let value = serde_json::to_value(object)?;
        out.push_str(
            &template
                .execute(&value, MissingKey::Error)
                .map_err(template_error)?,
        );
        out.push('\n');
    }
    Ok(out)
}

/// An RFC 3339 instant as Go's `time.Time.String` prints it:
/// `2026-11-29 06:40:01.5 +0000 UTC`; without `fraction`, whole seconds.
/// Text that is not RFC 3339 is returned as it is.
pub fn go_time(rfc3339: &str, fraction: bool) -> String {
    let Some((date, rest)) = rfc3339.split_once('T') else {
        return rfc3339.to_string();
    };
    let (clock, zone) = match rest.strip_suffix('Z') {
        Some(clock) => (clock, "+0000 UTC".to_string()),
        None => match rest.rfind(['+', '-']) {
            Some(at) => {
                let offset = rest[at..].replace(':', "");
                (&rest[..at], format!("{offset} {offset}"))
            }
            None => return rfc3339.to_string(),
        },
    };
    let (seconds, digits) = clock.split_once('.').unwrap_or((clock, ""));
    let digits = digits.trim_end_matches('0');
    if !fraction || digits.is_empty() {
        return format!("{date} {seconds} {zone}");
    }
    format!("{date} {seconds}.{digits} {zone}")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const HEADERS: &[(&str, &str)] =
        &[("ID", "NETWORK ID"), ("Name", "NAME"), ("Labels", "LABELS")];

    fn rows() -> Vec<Value> {
        vec![
            json!({"ID": "7fca4eb8c647", "Name": "bridge", "Labels": ""}),
            json!({"ID": "cf03ee007fb4", "Name": "my-long-network", "Labels": "a=b"}),
        ]
    }

    fn render(raw: &str) -> Result<String> {
        ListFormat::parse(Some(raw))?.render(&rows(), HEADERS)
    }

    #[test]
    fn table_prints_titles_and_aligns() {
        assert_eq!(
            render(r"table {{.ID}}\t{{.Name}}\t{{.Labels}}").expect("renders"),
            "NETWORK ID     NAME              LABELS\n\
             7fca4eb8c647   bridge            \n\
             cf03ee007fb4   my-long-network   a=b\n"
        );
        // Functions keep the titles intact; `pad` does not.
        assert_eq!(
            render("table {{.Name | upper}}\t{{json .Labels}}").expect("renders"),
            "NAME              LABELS\nBRIDGE            \"\"\nMY-LONG-NETWORK   \"a=b\"\n"
        );
        assert_eq!(
            ListFormat::parse(Some("table {{.ID}}"))
                .expect("parses")
                .render(&[], HEADERS)
                .expect("renders"),
            "NETWORK ID\n"
        );
    }

    #[test]
    fn plain_templates_and_json() {
        assert_eq!(
            render(r"{{.Name}}\t{{.ID}}").expect("renders"),
            "bridge\t7fca4eb8c647\nmy-long-network\tcf03ee007fb4\n"
        );
        assert_eq!(
            render(" json ").expect("renders"),
            "{\"ID\":\"7fca4eb8c647\",\"Labels\":\"\",\"Name\":\"bridge\"}\n\
             {\"ID\":\"cf03ee007fb4\",\"Labels\":\"a=b\",\"Name\":\"my-long-network\"}\n"
        );
        assert!(matches!(
            ListFormat::parse(Some("table")),
            Ok(ListFormat::Default)
        ));
        assert!(matches!(ListFormat::parse(None), Ok(ListFormat::Default)));
    }

    #[test]
    fn errors_are_dockers_single_line() {
        let parse = ListFormat::parse(Some("{{.ID}")).expect_err("bad template");
        assert_eq!(
            parse.to_string(),
            "template parsing error: template: :1:2: bad character U+007D '}'"
        );
        let exec = render("{{.Nope}}").expect_err("unknown field");
        assert_eq!(
            exec.to_string(),
            "template parsing error: template: :1:2: executing \"\" at <.Nope>: \
             map has no entry for key \"Nope\""
        );
    }

    #[test]
    fn times_print_like_go() {
        let created = "2026-11-29T06:40:01.120000000Z";
        assert_eq!(go_time(created, true), "2026-11-29 06:40:01.12 +0000 UTC");
        assert_eq!(go_time(created, false), "2026-11-29 06:40:01 +0000 UTC");
        assert_eq!(
            go_time("2026-11-29T06:40:01.000000000Z", true),
            "2026-11-29 06:40:01 +0000 UTC"
        );
        assert_eq!(
            go_time("2026-11-29T07:40:01+01:00", true),
            "2026-11-29 07:40:01 +0100 +0100"
        );
        assert_eq!(go_time("", true), "");
    }

    #[test]
    fn inspect_runs_once_per_object() {
        assert!(inspect_template(Some("json")).expect("parses").is_none());
        let template = inspect_template(Some("{{.Name}}"))
            .expect("parses")
            .expect("template");
        let objects = [json!({"Name": "a"}), json!({"Name": "b"})];
        assert_eq!(render_each(&template, &objects).expect("renders"), "a\nb\n");
    }
}
