//! Runs a parse tree over a JSON value with Go's semantics: fields are map
//! keys, `range` walks arrays in order and maps by sorted key, variables
//! are scoped to their block, `and`/`or` stop at the deciding argument,
//! and a piped value becomes the last argument of the next command.

use serde_json::Value;

use super::ast::{Branch, Command, Node, Operand, OperandKind, Pipe, Span};
use super::funcs::{self, FuncError};
use super::value::{go_string, is_true, sorted_entries, type_name};
use super::MissingKey;

/// An execution error and the node it happened at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecError {
    pub span: Span,
    pub message: String,
}

type Result<T> = std::result::Result<T, ExecError>;

/// How control leaves a list of nodes.
enum Flow {
    Normal,
    Break,
    Continue,
}

/// One execution: the variables in scope and the output so far.
pub struct Exec<'t> {
    src: &'t str,
    missing_key: MissingKey,
    /// Rendering a table header: Docker's header functions apply.
    header: bool,
    vars: Vec<(&'t str, Value)>,
    out: String,
}

impl<'t> Exec<'t> {
    /// An executor for trees parsed from `src`.
    pub fn new(src: &'t str, missing_key: MissingKey, header: bool) -> Self {
        Exec {
            src,
            missing_key,
            header,
            vars: Vec::new(),
            out: String::new(),
        }
    }

    /// Runs `nodes` with `data` as dot and `$`; returns the output.
    pub fn run(mut self, nodes: &'t [Node], data: &Value) -> Result<String> {
        self.vars.push(("$", data.clone()));
        self.walk(data, nodes)?;
        Ok(self.out)
    }

    fn walk(&mut self, dot: &Value, nodes: &'t [Node]) -> Result<Flow> {
        for node in nodes {
            let flow = match node {
                Node::Text(text) => {
                    self.out.push_str(text);
                    Flow::Normal
                }
                Node::Action(pipe) => {
                    let value = self.pipeline(dot, pipe)?;
                    if pipe.decl.is_empty() {
                        self.print(&value);
                    }
                    Flow::Normal
                }
                Node::If(branch) => self.if_or_with(dot, branch, false)?,
                Node::With(branch) => self.if_or_with(dot, branch, true)?,
                Node::Range(branch) => self.range(dot, branch)?,
                Node::Break => Flow::Break,
                Node::Continue => Flow::Continue,
            };
            if !matches!(flow, Flow::Normal) {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    /// Go prints a missing or nil result as `<no value>`.
    fn print(&mut self, value: &Value) {
        match value {
            Value::Null => self.out.push_str("<no value>"),
            Value::String(s) => self.out.push_str(s),
            other => self.out.push_str(&go_string(other)),
        }
    }

    /// A nested list in its own variable scope.
    fn scoped(&mut self, dot: &Value, nodes: &'t [Node], mark: usize) -> Result<Flow> {
        let flow = self.walk(dot, nodes);
        self.vars.truncate(mark);
        flow
    }

    fn if_or_with(&mut self, dot: &Value, branch: &'t Branch, with: bool) -> Result<Flow> {
        let mark = self.vars.len();
        let value = self.pipeline(dot, &branch.pipe)?;
        let flow = if is_true(&value) {
            let inner = if with { &value } else { dot };
            self.walk(inner, &branch.body)
        } else if let Some(otherwise) = &branch.otherwise {
            self.walk(dot, otherwise)
        } else {
            Ok(Flow::Normal)
        };
        self.vars.truncate(mark);
        flow
    }

    fn range(&mut self, dot: &Value, branch: &'t Branch) -> Result<Flow> {
        let mark = self.vars.len();
        let value = self.commands(dot, &branch.pipe)?;
        let items: Vec<(Value, Value)> = match &value {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| (Value::from(i), item.clone()))
                .collect(),
            Value::Object(map) => sorted_entries(map)
                .into_iter()
                .map(|(k, v)| (Value::String(k.clone()), v.clone()))
                .collect(),
            Value::Null => Vec::new(),
            other => {
                let span = branch.pipe.cmds[0].span;
                return Err(self.error(
                    span,
                    format!("range can't iterate over {}", go_string(other)),
                ));
            }
        };
        if items.is_empty() {
            return match &branch.otherwise {
                Some(otherwise) => self.scoped(dot, otherwise, mark),
                None => Ok(Flow::Normal),
            };
        }
        for (key, item) in items {
            let assign = branch.pipe.assign;
            match branch.pipe.decl.as_slice() {
                [] => {}
                [v] => self.bind(v, item.clone(), assign),
                [k, v, ..] => {
                    self.bind(k, key, assign);
                    self.bind(v, item.clone(), assign);
                }
            }
            let flow = self.scoped(&item, &branch.body, mark)?;
            if matches!(flow, Flow::Break) {
                break;
            }
        }
        Ok(Flow::Normal)
    }

    /// Declares `name`, or with `assign` sets the innermost existing one.
    fn bind(&mut self, name: &'t str, value: Value, assign: bool) {
        if !assign {
            self.vars.push((name, value));
        } else if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| *n == name) {
            slot.1 = value;
        }
    }

    fn variable(&self, name: &str) -> Option<&Value> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }

    fn error(&self, span: Span, message: String) -> ExecError {
        ExecError { span, message }
    }

    /// The pipeline's value, after declaring or assigning its variables.
    fn pipeline(&mut self, dot: &Value, pipe: &'t Pipe) -> Result<Value> {
        let value = self.commands(dot, pipe)?;
        for name in &pipe.decl {
            self.bind(name, value.clone(), pipe.assign);
        }
        Ok(value)
    }

    /// The value of the pipeline's commands, each fed into the next.
    fn commands(&mut self, dot: &Value, pipe: &'t Pipe) -> Result<Value> {
        let mut value = None;
        for cmd in &pipe.cmds {
            value = Some(self.command(dot, cmd, value)?);
        }
        Ok(value.unwrap_or(Value::Null))
    }

    fn command(&mut self, dot: &Value, cmd: &'t Command, piped: Option<Value>) -> Result<Value> {
        let first = &cmd.args[0];
        if let OperandKind::Function(name) = &first.kind {
            return self.call(dot, name, cmd, piped);
        }
        if cmd.args.len() > 1 || piped.is_some() {
            let (what, message) = match &first.kind {
                OperandKind::Field(chain)
                | OperandKind::Variable(_, chain)
                | OperandKind::Chain(_, chain)
                    if !chain.is_empty() =>
                {
                    let last = &chain[chain.len() - 1];
                    (
                        first.span,
                        format!("{last} is not a method but has arguments"),
                    )
                }
                _ => (
                    first.span,
                    format!(
                        "can't give argument to non-function {}",
                        self.text(first.span)
                    ),
                ),
            };
            return Err(self.error(what, message));
        }
        if matches!(first.kind, OperandKind::Nil) {
            return Err(self.error(first.span, "nil is not a command".into()));
        }
        self.operand(dot, first)
    }

    fn text(&self, span: Span) -> &'t str {
        &self.src[span.start..span.end]
    }

    fn call(
        &mut self,
        dot: &Value,
        name: &str,
        cmd: &'t Command,
        piped: Option<Value>,
    ) -> Result<Value> {
        let count = cmd.args.len() - 1 + usize::from(piped.is_some());
        if let Err(FuncError::Args(message) | FuncError::Call(message)) =
            funcs::check_arity(name, count)
        {
            return Err(self.error(cmd.span, message));
        }
        if name == "and" || name == "or" {
            return self.and_or(dot, name == "or", &cmd.args[1..], piped);
        }
        let mut args = Vec::with_capacity(count);
        for arg in &cmd.args[1..] {
            args.push(self.operand(dot, arg)?);
        }
        args.extend(piped);
        funcs::call(name, &args, self.header).map_err(|e| match e {
            FuncError::Call(message) => {
                self.error(cmd.span, format!("error calling {name}: {message}"))
            }
            FuncError::Args(message) => self.error(cmd.span, message),
        })
    }

    /// `and` returns the first false argument, `or` the first true one,
    /// without evaluating the rest; otherwise the last.
    fn and_or(
        &mut self,
        dot: &Value,
        or: bool,
        args: &'t [Operand],
        piped: Option<Value>,
    ) -> Result<Value> {
        let mut last = Value::Null;
        for arg in args {
            last = self.operand(dot, arg)?;
            if is_true(&last) == or {
                return Ok(last);
            }
        }
        Ok(piped.unwrap_or(last))
    }

    fn operand(&mut self, dot: &Value, operand: &'t Operand) -> Result<Value> {
        let span = operand.span;
        match &operand.kind {
            OperandKind::Dot => Ok(dot.clone()),
            OperandKind::Nil => Ok(Value::Null),
            OperandKind::Bool(b) => Ok(Value::Bool(*b)),
            OperandKind::Str(s) => Ok(Value::String(s.clone())),
            OperandKind::Number(n) => Ok(Value::Number(n.clone())),
            // A function as an argument is called without arguments.
            OperandKind::Function(name) => {
                funcs::call(name, &[], self.header).map_err(|e| match e {
                    FuncError::Call(message) => {
                        self.error(span, format!("error calling {name}: {message}"))
                    }
                    FuncError::Args(message) => self.error(span, message),
                })
            }
            OperandKind::Field(chain) => self.fields(dot, chain, span),
            OperandKind::Variable(name, chain) => {
                let value = self
                    .variable(name)
                    .cloned()
                    .ok_or_else(|| self.error(span, format!("undefined variable: {name}")))?;
                self.fields(&value, chain, span)
            }
            OperandKind::Pipe(pipe) => self.pipeline(dot, pipe),
            OperandKind::Chain(inner, chain) => {
                let value = self.operand(dot, inner)?;
                self.fields(&value, chain, span)
            }
        }
    }

    /// Follows `.A.B…` from `receiver`.
    fn fields(&self, receiver: &Value, chain: &[String], span: Span) -> Result<Value> {
        let mut current = Some(receiver);
        for name in chain {
            current = match current {
                None | Some(Value::Null) => {
                    if self.missing_key == MissingKey::Error {
                        return Err(
                            self.error(span, format!("nil data; no entry for key {name:?}"))
                        );
                    }
                    None
                }
                Some(Value::Object(map)) => match map.get(name) {
                    Some(value) => Some(value),
                    None if self.missing_key == MissingKey::Error => {
                        return Err(self.error(span, format!("map has no entry for key {name:?}")));
                    }
                    None => None,
                },
                Some(other) => {
                    return Err(self.error(
                        span,
                        format!("can't evaluate field {name} in type {}", type_name(other)),
                    ));
                }
            };
        }
        Ok(current.cloned().unwrap_or(Value::Null))
    }
}
