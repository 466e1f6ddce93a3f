//! The parse tree of a template, as Go's `text/template/parse` shapes it.

use serde_json::Number;

/// A byte range of the template source, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Text(String),
    /// `{{pipeline}}`: prints the value unless the pipeline declares variables.
    Action(Pipe),
    If(Branch),
    With(Branch),
    Range(Branch),
    Break,
    Continue,
}

/// `{{if|with|range PIPE}}BODY{{else}}OTHERWISE{{end}}`; an `{{else if …}}`
/// is an `If` alone in `otherwise`.
#[derive(Debug, Clone, PartialEq)]
pub struct Branch {
    pub pipe: Pipe,
    pub body: Vec<Node>,
    pub otherwise: Option<Vec<Node>>,
}

/// `$x := cmd | cmd …`
#[derive(Debug, Clone, PartialEq)]
pub struct Pipe {
    /// Declared or assigned variables, with the `$`.
    pub decl: Vec<String>,
    /// `=` rather than `:=`.
    pub assign: bool,
    pub cmds: Vec<Command>,
}

/// One stage of a pipeline: a function or value and its arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub args: Vec<Operand>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Operand {
    pub kind: OperandKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum OperandKind {
    Dot,
    /// `.A.B` on dot.
    Field(Vec<String>),
    /// `$x.A.B` (the name with its `$`).
    Variable(String, Vec<String>),
    /// `(pipeline).A.B`.
    Chain(Box<Operand>, Vec<String>),
    /// `(pipeline)`.
    Pipe(Box<Pipe>),
    Function(String),
    Str(String),
    Number(Number),
    Bool(bool),
    Nil,
}

impl OperandKind {
    /// A constant or dot: it cannot take the piped value.
    pub fn is_literal(&self) -> bool {
        matches!(
            self,
            Self::Dot | Self::Str(_) | Self::Number(_) | Self::Bool(_) | Self::Nil
        )
    }
}
