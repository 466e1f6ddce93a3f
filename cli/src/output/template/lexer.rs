//! Splits a Go template into text and action tokens, as Go's
//! `text/template/parse` lexer does: `{{`/`}}` delimiters, `{{- ` and ` -}}`
//! trim markers, `{{/* comments */}}`, and the words, literals and
//! punctuation of actions. A lexing error becomes the last token, so the
//! parser reports whatever it meets first, as Go's concurrent lexer lets it.

const LEFT: &str = "{{";
const RIGHT: &str = "}}";

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Literal text outside actions, already trimmed by trim markers.
    Text(String),
    /// `{{` (or `{{- `).
    Open,
    /// `}}` (or ` -}}`).
    Close,
    Pipe,
    LeftParen,
    RightParen,
    /// `:=`
    Declare,
    /// `=`
    Assign,
    Comma,
    /// `.`
    Dot,
    /// `.Name`, without the dot.
    Field(String),
    /// `$` or `$name`, with the dollar.
    Variable(String),
    /// A function name.
    Ident(String),
    Keyword(Keyword),
    Bool(bool),
    Nil,
    /// A quoted or raw string, unescaped.
    Str(String),
    /// A number literal as written.
    Number(String),
    /// A character constant (`'a'`), which Go treats as a number.
    Char(char),
    /// Any other printable character in an action (reported by the parser).
    Other(char),
    Eof,
    /// A lexing error; always the last token.
    Error(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    If,
    Else,
    End,
    Range,
    With,
    Break,
    Continue,
    Define,
    Template,
    Block,
}

/// One token and where it starts in the source.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub kind: Kind,
    /// Byte offset of the token in the template source.
    pub pos: usize,
    /// Byte offset just past the token.
    pub end: usize,
    /// Whitespace separates it from the token before (inside an action).
    pub spaced: bool,
}

/// The tokens of `src`, ending with `Eof` or `Error`.
pub fn lex(src: &str) -> Vec<Token> {
    let mut lexer = Lexer {
        src,
        pos: 0,
        tokens: Vec::new(),
        trim_next_text: false,
    };
    lexer.run();
    lexer.tokens
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    tokens: Vec<Token>,
    /// The last action ended with ` -}}`.
    trim_next_text: bool,
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// `{{- ` at the start of `rest` (after the `{{`): a dash then a space.
fn left_trim_marker(rest: &str) -> bool {
    let mut chars = rest.chars();
    chars.next() == Some('-') && chars.next().is_some_and(is_space)
}

/// ` -}}` at the start of `rest`.
fn right_trim_delim(rest: &str) -> bool {
    let mut chars = rest.chars();
    chars.next().is_some_and(is_space) && rest[1..].starts_with("-}}")
}

impl Lexer<'_> {
    fn rest(&self) -> &str {
        &self.src[self.pos..]
    }

    fn push(&mut self, kind: Kind, pos: usize, spaced: bool) {
        self.tokens.push(Token {
            kind,
            pos,
            end: self.pos,
            spaced,
        });
    }

    fn error(&mut self, message: String, pos: usize) {
        self.push(Kind::Error(message), pos, false);
    }

    fn run(&mut self) {
        loop {
            let start = self.pos;
            let open = self.rest().find(LEFT).map(|i| start + i);
            let mut text_start = start;
            let mut text_end = open.unwrap_or(self.src.len());
            if std::mem::take(&mut self.trim_next_text) {
                let text = &self.src[text_start..text_end];
                text_start += text.len() - text.trim_start_matches(is_space).len();
            }
            let trim_left = open.is_some_and(|o| left_trim_marker(&self.src[o + LEFT.len()..]));
            if trim_left {
                text_end = text_start
                    + self.src[text_start..text_end]
                        .trim_end_matches(is_space)
                        .len();
            }
            if text_start < text_end {
                self.tokens.push(Token {
                    kind: Kind::Text(self.src[text_start..text_end].to_string()),
                    pos: text_start,
                    end: text_end,
                    spaced: false,
                });
            }
            let Some(open) = open else {
                self.pos = self.src.len();
                self.push(Kind::Eof, self.pos, false);
                return;
            };
            self.pos = open + LEFT.len();
            if trim_left {
                // The dash; the space after it is ordinary whitespace.
                self.pos += 1;
            }
            let after_marker = if trim_left { self.pos + 1 } else { self.pos };
            if self.src[after_marker..].starts_with("/*") {
                if !self.comment(open, after_marker) {
                    return;
                }
                continue;
            }
            self.push(Kind::Open, open, false);
            if !self.action() {
                return;
            }
        }
    }

    /// Skips `/* … */` and the closing delimiter; false after an error.
    fn comment(&mut self, open: usize, start: usize) -> bool {
        let Some(len) = self.src[start..].find("*/") else {
            self.error("unclosed comment".into(), open);
            return false;
        };
        self.pos = start + len + 2;
        if right_trim_delim(self.rest()) {
            self.pos += 1 + RIGHT.len() + 1;
            self.trim_next_text = true;
        } else if self.rest().starts_with(RIGHT) {
            self.pos += RIGHT.len();
        } else {
            self.error("comment ends before closing delimiter".into(), open);
            return false;
        }
        true
    }

    /// Lexes the inside of one action through its `}}`; false after an error.
    fn action(&mut self) -> bool {
        let mut spaced = false;
        loop {
            if right_trim_delim(self.rest()) {
                let at = self.pos;
                self.pos += 1 + "-}}".len();
                self.push(Kind::Close, at, true);
                self.trim_next_text = true;
                return true;
            }
            if self.rest().starts_with(RIGHT) {
                let at = self.pos;
                self.pos += RIGHT.len();
                self.push(Kind::Close, at, spaced);
                return true;
            }
            let Some(c) = self.rest().chars().next() else {
                self.error("unclosed action".into(), self.pos);
                return false;
            };
            if is_space(c) {
                self.pos += c.len_utf8();
                spaced = true;
                continue;
            }
            if !self.item(c, spaced) {
                return false;
            }
            spaced = false;
        }
    }

    /// Lexes one token starting with `c`; false after an error.
    fn item(&mut self, c: char, spaced: bool) -> bool {
        let at = self.pos;
        let simple = match c {
            '|' => Some(Kind::Pipe),
            '(' => Some(Kind::LeftParen),
            ')' => Some(Kind::RightParen),
            ',' => Some(Kind::Comma),
            '=' => Some(Kind::Assign),
            _ => None,
        };
        if let Some(kind) = simple {
            self.pos += 1;
            self.push(kind, at, spaced);
            return true;
        }
        match c {
            ':' => {
                if !self.rest().starts_with(":=") {
                    self.error("expected :=".into(), at);
                    return false;
                }
                self.pos += 2;
                self.push(Kind::Declare, at, spaced);
                true
            }
            '"' => self.quoted(spaced),
            '`' => self.raw_string(spaced),
            '\'' => self.char_constant(spaced),
            '$' => {
                self.pos += 1;
                self.word();
                let name = self.src[at..self.pos].to_string();
                self.push(Kind::Variable(name), at, spaced);
                self.terminated(at)
            }
            '.' => {
                let next = self.src[at + 1..].chars().next();
                if next.is_some_and(|n| n.is_ascii_digit()) {
                    return self.number(spaced);
                }
                self.pos += 1;
                if next.is_some_and(is_alnum) {
                    self.word();
                    let name = self.src[at + 1..self.pos].to_string();
                    self.push(Kind::Field(name), at, spaced);
                    return self.terminated(at);
                }
                self.push(Kind::Dot, at, spaced);
                true
            }
            '+' | '-' | '0'..='9' => self.number(spaced),
            c if is_alnum(c) => {
                self.word();
                let kind = word_kind(&self.src[at..self.pos]);
                self.push(kind, at, spaced);
                self.terminated(at)
            }
            c if !c.is_control() => {
                self.pos += c.len_utf8();
                self.push(Kind::Other(c), at, spaced);
                true
            }
            c => {
                self.error(
                    format!("unrecognized character in action: {}", unicode_name(c)),
                    at,
                );
                false
            }
        }
    }

    fn word(&mut self) {
        let len = self
            .rest()
            .find(|c: char| !is_alnum(c))
            .unwrap_or(self.rest().len());
        self.pos += len;
    }

    /// A word must be followed by space, punctuation that ends it, or `}}`.
    fn terminated(&mut self, at: usize) -> bool {
        let rest = self.rest();
        let Some(c) = rest.chars().next() else {
            return true;
        };
        if is_space(c) || matches!(c, '.' | ',' | '|' | ':' | ')' | '(') || rest.starts_with(RIGHT)
        {
            return true;
        }
        self.tokens.pop();
        self.error(format!("bad character {}", unicode_name(c)), at);
        false
    }

    fn number(&mut self, spaced: bool) -> bool {
        let at = self.pos;
        let bytes = self.src.as_bytes();
        let mut end = at;
        if matches!(bytes.get(end), Some(b'+' | b'-')) {
            end += 1;
        }
        while let Some(&b) = bytes.get(end) {
            let exponent_sign = matches!(b, b'+' | b'-')
                && matches!(bytes.get(end - 1), Some(b'e' | b'E' | b'p' | b'P'))
                && !is_hex_literal(&self.src[at..end]);
            if b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || exponent_sign {
                end += 1;
            } else {
                break;
            }
        }
        self.pos = end;
        let text = &self.src[at..end];
        if super::value::parse_number(text).is_none() {
            self.error(format!("bad number syntax: {text:?}"), at);
            return false;
        }
        self.push(Kind::Number(text.to_string()), at, spaced);
        true
    }

    fn quoted(&mut self, spaced: bool) -> bool {
        let at = self.pos;
        let mut chars = self.src[at + 1..].char_indices();
        let mut value = String::new();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos = at + 1 + i + 1;
                    self.push(Kind::Str(value), at, spaced);
                    return true;
                }
                '\n' => break,
                '\\' => match unescape(&mut chars, '"') {
                    Some(c) => value.push(c),
                    None => {
                        self.error("invalid syntax in quoted string".into(), at);
                        return false;
                    }
                },
                c => value.push(c),
            }
        }
        self.error("unterminated quoted string".into(), at);
        false
    }

    fn raw_string(&mut self, spaced: bool) -> bool {
        let at = self.pos;
        match self.src[at + 1..].find('`') {
            Some(len) => {
                let value = self.src[at + 1..at + 1 + len].replace('\r', "");
                self.pos = at + len + 2;
                self.push(Kind::Str(value), at, spaced);
                true
            }
            None => {
                self.error("unterminated raw quoted string".into(), at);
                false
            }
        }
    }

    fn char_constant(&mut self, spaced: bool) -> bool {
        let at = self.pos;
        let mut chars = self.src[at + 1..].char_indices();
        let value = match chars.next() {
            Some((_, '\\')) => unescape(&mut chars, '\''),
            Some((_, c)) if c != '\'' && c != '\n' => Some(c),
            _ => None,
        };
        match (value, chars.next()) {
            (Some(c), Some((i, '\''))) => {
                self.pos = at + 1 + i + 1;
                self.push(Kind::Char(c), at, spaced);
                true
            }
            _ => {
                self.error("unterminated character constant".into(), at);
                false
            }
        }
    }
}

fn is_hex_literal(text: &str) -> bool {
    let digits = text.trim_start_matches(['+', '-']);
    digits.starts_with("0x") || digits.starts_with("0X")
}

fn word_kind(word: &str) -> Kind {
    let keyword = match word {
        "if" => Keyword::If,
        "else" => Keyword::Else,
        "end" => Keyword::End,
        "range" => Keyword::Range,
        "with" => Keyword::With,
        "break" => Keyword::Break,
        "continue" => Keyword::Continue,
        "define" => Keyword::Define,
        "template" => Keyword::Template,
        "block" => Keyword::Block,
        "true" => return Kind::Bool(true),
        "false" => return Kind::Bool(false),
        "nil" => return Kind::Nil,
        _ => return Kind::Ident(word.to_string()),
    };
    Kind::Keyword(keyword)
}

/// Go's `%#U`: `U+007D '}'`.
pub fn unicode_name(c: char) -> String {
    if c.is_control() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("U+{:04X} '{c}'", c as u32)
    }
}

/// One escape after a backslash in a quoted string or character constant.
fn unescape(chars: &mut std::str::CharIndices<'_>, quote: char) -> Option<char> {
    let (_, c) = chars.next()?;
    let hex = |chars: &mut std::str::CharIndices<'_>, n: usize| -> Option<char> {
        let digits: String = chars.by_ref().take(n).map(|(_, c)| c).collect();
        if digits.len() != n {
            return None;
        }
        char::from_u32(u32::from_str_radix(&digits, 16).ok()?)
    };
    match c {
        'a' => Some('\x07'),
        'b' => Some('\x08'),
        'f' => Some('\x0c'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\x0b'),
        '\\' => Some('\\'),
        'x' => hex(chars, 2),
        'u' => hex(chars, 4),
        'U' => hex(chars, 8),
        '0'..='7' => {
            let rest: String = chars.by_ref().take(2).map(|(_, c)| c).collect();
            char::from_u32(u32::from_str_radix(&format!("{c}{rest}"), 8).ok()?)
        }
        c if c == quote => Some(c),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
