//! Go `text/template`, the language of Docker's `--format`, over JSON
//! values: actions, pipelines, `if`/`with`/`range` with `else`, variables,
//! trim markers, comments, Go's builtins and Docker's extra functions.
//! Values print as Go prints decoded JSON (`map[k:v]`, `[a b]`, `<nil>`).
//! `define`, `template` and `block` are not supported.
//!
//! Written here because the Rust ports checked (gtmpl, gotmpl) either are
//! unmaintained or accept malformed templates silently.

mod ast;
mod exec;
mod funcs;
mod lexer;
mod parser;
mod printf;
mod value;

use std::fmt;

use serde_json::Value;

use ast::Node;

/// What a field missing from a map evaluates to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingKey {
    /// Nothing: printed as `<no value>`.
    Default,
    /// An error naming the key.
    Error,
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    src: String,
    nodes: Vec<Node>,
}

/// A parse or execution error, worded and placed as Go words them:
/// `template: :1:5: unexpected "}" in operand`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError(String);

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TemplateError {}

/// `LINE:COLUMN` of a byte offset, as Go's `ErrorContext` counts them:
/// lines from 1, columns as bytes from the line start.
fn position(src: &str, offset: usize) -> String {
    let offset = offset.min(src.len());
    let before = &src[..offset];
    let line = 1 + before.matches('\n').count();
    let column = before.rfind('\n').map_or(offset, |nl| offset - nl - 1);
    format!("{line}:{column}")
}

impl Template {
    /// Parses `src`.
    pub fn parse(src: &str) -> Result<Template, TemplateError> {
        match parser::parse(src) {
            Ok(nodes) => Ok(Template {
                src: src.to_string(),
                nodes,
            }),
            Err(e) => Err(TemplateError(format!(
                "template: :{}: {}",
                position(src, e.pos),
                e.message
            ))),
        }
    }

    /// Runs the template with `data` as dot.
    pub fn execute(&self, data: &Value, missing_key: MissingKey) -> Result<String, TemplateError> {
        self.run(data, missing_key, false)
    }

    /// Renders a table header: `data` maps field names to column titles,
    /// and Docker's header functions (`json`, `upper`, … return their
    /// argument) apply.
    pub fn execute_header(&self, data: &Value) -> Result<String, TemplateError> {
        self.run(data, MissingKey::Default, true)
    }

    fn run(
        &self,
        data: &Value,
        missing_key: MissingKey,
        header: bool,
    ) -> Result<String, TemplateError> {
        exec::Exec::new(&self.src, missing_key, header)
            .run(&self.nodes, data)
            .map_err(|e| {
                TemplateError(format!(
                    "template: :{}: executing \"\" at <{}>: {}",
                    position(&self.src, e.span.start),
                    &self.src[e.span.start..e.span.end],
                    e.message
                ))
            })
    }
}

#[cfg(test)]
mod tests;
