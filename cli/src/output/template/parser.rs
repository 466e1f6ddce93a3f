//! Builds the parse tree from tokens with Go's rules: blocks must close,
//! `{{else}}`/`{{end}}` must belong to a block, functions and variables must
//! exist, `{{break}}`/`{{continue}}` only inside `{{range}}`.

use super::ast::{Branch, Command, Node, Operand, OperandKind, Pipe, Span};
use super::lexer::{lex, Keyword, Kind, Token};
use super::{funcs, value};

/// A parse error at a byte offset of the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub pos: usize,
    pub message: String,
}

type Result<T> = std::result::Result<T, ParseError>;

/// The parse tree of `src`.
pub fn parse(src: &str) -> Result<Vec<Node>> {
    let mut parser = Parser {
        src,
        tokens: lex(src),
        next: 0,
        vars: vec!["$".to_string()],
        range_depth: 0,
    };
    let (nodes, end) = parser.list()?;
    match end {
        Stop::Eof => Ok(nodes),
        Stop::End(pos) => Err(error(pos, "unexpected {{end}}")),
        Stop::Else(pos) => Err(error(pos, "unexpected {{else}}")),
    }
}

fn error(pos: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        pos,
        message: message.into(),
    }
}

/// What ended a list of nodes.
enum Stop {
    Eof,
    /// `{{end}}`, consumed with its `}}`.
    End(usize),
    /// `{{else`, with the rest of the action left to read.
    Else(usize),
}

#[derive(Clone, Copy, PartialEq)]
enum Block {
    If,
    With,
    Range,
}

impl Block {
    fn name(self) -> &'static str {
        match self {
            Block::If => "if",
            Block::With => "with",
            Block::Range => "range",
        }
    }
}

struct Parser<'a> {
    src: &'a str,
    tokens: Vec<Token>,
    next: usize,
    /// Variables in scope, innermost last.
    vars: Vec<String>,
    range_depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        let last = self.tokens.len() - 1;
        &self.tokens[self.next.min(last)]
    }

    fn peek_at(&self, ahead: usize) -> &Token {
        let last = self.tokens.len() - 1;
        &self.tokens[(self.next + ahead).min(last)]
    }

    fn advance(&mut self) -> Token {
        let token = self.peek().clone();
        self.next += 1;
        token
    }

    /// An error for an unexpected `token` (a lexing error reports itself).
    fn unexpected(&self, token: &Token, context: &str) -> ParseError {
        match &token.kind {
            Kind::Error(message) => error(token.pos, message.clone()),
            Kind::Eof => error(token.pos, "unexpected EOF"),
            _ => error(
                token.pos,
                format!("unexpected {} in {context}", self.describe(token)),
            ),
        }
    }

    /// A token as Go's parser names it: `"}"`, `<if>`, `"}}"`.
    fn describe(&self, token: &Token) -> String {
        let text = &self.src[token.pos..token.end];
        match token.kind {
            Kind::Keyword(_) => format!("<{text}>"),
            Kind::Close => "\"}}\"".to_string(),
            _ if text.chars().count() > 10 => {
                let head: String = text.chars().take(10).collect();
                format!("{head:?}...")
            }
            _ => format!("{text:?}"),
        }
    }

    fn expect_close(&mut self, context: &str) -> Result<()> {
        let token = self.advance();
        if token.kind == Kind::Close {
            Ok(())
        } else {
            Err(self.unexpected(&token, context))
        }
    }

    /// Nodes up to the end of input, `{{end}}` or `{{else`.
    fn list(&mut self) -> Result<(Vec<Node>, Stop)> {
        let mut nodes = Vec::new();
        loop {
            let token = self.advance();
            match token.kind {
                Kind::Text(text) => nodes.push(Node::Text(text)),
                Kind::Eof => return Ok((nodes, Stop::Eof)),
                Kind::Open => {
                    if let Some(end) = self.action(&mut nodes)? {
                        return Ok((nodes, end));
                    }
                }
                _ => return Err(self.unexpected(&token, "input")),
            }
        }
    }

    /// One `{{…}}` after its `{{`; `Some` when it ends the current list.
    fn action(&mut self, nodes: &mut Vec<Node>) -> Result<Option<Stop>> {
        let token = self.peek().clone();
        let Kind::Keyword(keyword) = token.kind else {
            let pipe = self.pipeline("command", &Kind::Close)?;
            nodes.push(Node::Action(pipe));
            return Ok(None);
        };
        self.advance();
        let node = match keyword {
            Keyword::End => {
                self.expect_close("end")?;
                return Ok(Some(Stop::End(token.pos)));
            }
            Keyword::Else => return Ok(Some(Stop::Else(token.pos))),
            Keyword::If => self.block(Block::If)?,
            Keyword::With => self.block(Block::With)?,
            Keyword::Range => self.block(Block::Range)?,
            Keyword::Break | Keyword::Continue => {
                let word = if keyword == Keyword::Break {
                    "break"
                } else {
                    "continue"
                };
                if self.range_depth == 0 {
                    return Err(error(
                        token.pos,
                        format!("{{{{{word}}}}} outside {{{{range}}}}"),
                    ));
                }
                self.expect_close(word)?;
                if keyword == Keyword::Break {
                    Node::Break
                } else {
                    Node::Continue
                }
            }
            Keyword::Define | Keyword::Template | Keyword::Block => {
                let word = &self.src[token.pos..token.end];
                return Err(error(token.pos, format!("{{{{{word}}}}} is not supported")));
            }
        };
        nodes.push(node);
        Ok(None)
    }

    /// `{{if|with|range PIPE}}…{{end}}` after the keyword.
    fn block(&mut self, block: Block) -> Result<Node> {
        let scope = self.vars.len();
        let pipe = self.pipeline(block.name(), &Kind::Close)?;
        if block == Block::Range {
            self.range_depth += 1;
        }
        let body = self.list();
        if block == Block::Range {
            self.range_depth -= 1;
        }
        let (body, end) = body?;
        let otherwise = match end {
            Stop::Eof => return Err(error(self.src.len(), "unexpected EOF")),
            Stop::End(_) => None,
            Stop::Else(_) => Some(self.otherwise(block)?),
        };
        self.vars.truncate(scope);
        let branch = Branch {
            pipe,
            body,
            otherwise,
        };
        Ok(match block {
            Block::If => Node::If(branch),
            Block::With => Node::With(branch),
            Block::Range => Node::Range(branch),
        })
    }

    /// The nodes after `{{else`: `{{else if …}}` and `{{else with …}}` nest
    /// a block that shares the outer `{{end}}`.
    fn otherwise(&mut self, block: Block) -> Result<Vec<Node>> {
        let chained = match (&self.peek().kind, block) {
            (Kind::Keyword(Keyword::If), Block::If) => Some(Block::If),
            (Kind::Keyword(Keyword::With), Block::With) => Some(Block::With),
            _ => None,
        };
        if let Some(inner) = chained {
            self.advance();
            return Ok(vec![self.block(inner)?]);
        }
        self.expect_close("else")?;
        let (nodes, end) = self.list()?;
        match end {
            Stop::End(_) => Ok(nodes),
            Stop::Else(pos) => Err(error(pos, "expected end; found {{else}}")),
            Stop::Eof => Err(error(self.src.len(), "unexpected EOF")),
        }
    }

    /// `[$x :=] cmd | cmd …` up to `end` (`}}` or `)`), which is consumed.
    fn pipeline(&mut self, context: &str, end: &Kind) -> Result<Pipe> {
        let start = self.peek().pos;
        let (decl, assign) = self.declarations(context)?;
        let mut cmds: Vec<Command> = Vec::new();
        let mut piped = false;
        loop {
            let token = self.peek().clone();
            if &token.kind == end {
                self.advance();
                break;
            }
            if !starts_operand(&token.kind) {
                return Err(self.unexpected(&token, context));
            }
            let (cmd, more) = self.command(end)?;
            cmds.push(cmd);
            piped = more;
        }
        if cmds.is_empty() {
            return Err(error(start, format!("missing value for {context}")));
        }
        if piped {
            return Err(error(
                start,
                format!("missing command after | in {context}"),
            ));
        }
        for (stage, cmd) in cmds.iter().enumerate().skip(1) {
            if cmd.args[0].kind.is_literal() {
                return Err(error(
                    cmd.span.start,
                    format!("non executable command in pipeline stage {}", stage + 1),
                ));
            }
        }
        Ok(Pipe { decl, assign, cmds })
    }

    /// `$x :=`, `$x =`, and in a range `$i, $v :=`.
    fn declarations(&mut self, context: &str) -> Result<(Vec<String>, bool)> {
        let mut decl = Vec::new();
        while let Kind::Variable(name) = self.peek().kind.clone() {
            let pos = self.peek().pos;
            match self.peek_at(1).kind {
                Kind::Declare | Kind::Assign => {
                    let assign = self.peek_at(1).kind == Kind::Assign;
                    self.next += 2;
                    decl.push(name);
                    if assign {
                        if let Some(undefined) = decl.iter().find(|v| !self.vars.contains(v)) {
                            return Err(error(pos, format!("undefined variable {undefined:?}")));
                        }
                    } else {
                        self.vars.extend(decl.iter().cloned());
                    }
                    return Ok((decl, assign));
                }
                Kind::Comma if context == "range" && decl.is_empty() => {
                    self.next += 2;
                    decl.push(name);
                }
                Kind::Comma => {
                    return Err(error(pos, format!("too many declarations in {context}")));
                }
                _ if decl.is_empty() => break,
                _ => return Err(error(pos, "missing := after range variables")),
            }
        }
        if !decl.is_empty() {
            return Err(error(self.peek().pos, "missing := after range variables"));
        }
        Ok((decl, false))
    }

    /// One command; true when it ended with `|` (another must follow).
    fn command(&mut self, end: &Kind) -> Result<(Command, bool)> {
        let start = self.peek().pos;
        let mut args = Vec::new();
        let mut last_end = start;
        loop {
            if starts_operand(&self.peek().kind) {
                let operand = self.operand()?;
                last_end = operand.span.end;
                args.push(operand);
            }
            let token = self.peek().clone();
            let span = Span {
                start,
                end: last_end,
            };
            match &token.kind {
                kind if kind == end || matches!(kind, Kind::Close | Kind::RightParen) => {
                    return Ok((Command { args, span }, false));
                }
                Kind::Pipe => {
                    self.advance();
                    return Ok((Command { args, span }, true));
                }
                kind if token.spaced && starts_operand(kind) => continue,
                _ => return Err(self.unexpected(&token, "operand")),
            }
        }
    }

    /// A term and any `.Field`s chained onto it without space.
    fn operand(&mut self) -> Result<Operand> {
        let term = self.term()?;
        let mut fields = Vec::new();
        let mut end = term.span.end;
        while let Kind::Field(name) = &self.peek().kind {
            if self.peek().spaced {
                break;
            }
            fields.push(name.clone());
            end = self.peek().end;
            self.advance();
        }
        if fields.is_empty() {
            return Ok(term);
        }
        let span = Span {
            start: term.span.start,
            end,
        };
        let kind = match term.kind {
            OperandKind::Field(mut chain) => {
                chain.extend(fields);
                OperandKind::Field(chain)
            }
            OperandKind::Variable(name, mut chain) => {
                chain.extend(fields);
                OperandKind::Variable(name, chain)
            }
            kind if kind.is_literal() => {
                let text = &self.src[term.span.start..term.span.end];
                return Err(error(
                    term.span.start,
                    format!("unexpected . after term {text:?}"),
                ));
            }
            _ => OperandKind::Chain(Box::new(term), fields),
        };
        Ok(Operand { kind, span })
    }

    fn term(&mut self) -> Result<Operand> {
        let token = self.advance();
        let kind = match token.kind {
            Kind::Ident(name) => {
                if !funcs::exists(&name) {
                    return Err(error(token.pos, format!("function {name:?} not defined")));
                }
                OperandKind::Function(name)
            }
            Kind::Dot => OperandKind::Dot,
            Kind::Nil => OperandKind::Nil,
            Kind::Bool(b) => OperandKind::Bool(b),
            Kind::Str(s) => OperandKind::Str(s),
            Kind::Char(c) => OperandKind::Number(u32::from(c).into()),
            Kind::Number(text) => match value::parse_number(&text) {
                Some(n) => OperandKind::Number(n),
                None => return Err(error(token.pos, format!("bad number syntax: {text:?}"))),
            },
            Kind::Field(name) => OperandKind::Field(vec![name]),
            Kind::Variable(name) => {
                if !self.vars.contains(&name) {
                    return Err(error(token.pos, format!("undefined variable {name:?}")));
                }
                OperandKind::Variable(name, Vec::new())
            }
            Kind::LeftParen => {
                let pipe = self.pipeline("parenthesized pipeline", &Kind::RightParen)?;
                OperandKind::Pipe(Box::new(pipe))
            }
            _ => return Err(self.unexpected(&token, "operand")),
        };
        let end = self.tokens[self.next - 1].end;
        Ok(Operand {
            kind,
            span: Span {
                start: token.pos,
                end,
            },
        })
    }
}

fn starts_operand(kind: &Kind) -> bool {
    matches!(
        kind,
        Kind::Ident(_)
            | Kind::Dot
            | Kind::Nil
            | Kind::Bool(_)
            | Kind::Str(_)
            | Kind::Char(_)
            | Kind::Number(_)
            | Kind::Field(_)
            | Kind::Variable(_)
            | Kind::LeftParen
    )
}

#[cfg(test)]
mod tests;
