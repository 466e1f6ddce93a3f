//! Writing results: data on stdout, warnings and prompts on stderr. A closed
//! pipe is an error the caller sees, never a panic.

pub mod format;
pub mod json;
pub mod sort;
pub mod table;
pub mod tabwriter;
pub mod template;

use std::io::{self, Write};

use anyhow::{Context, Result};

/// Writes `text` to stdout as one block.
pub fn print(text: &str) -> Result<()> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .context("cannot write to stdout")
}

/// Prints `WARNING: MESSAGE` on stderr (once, if cnmd already wrote the prefix).
pub fn warn(message: &str) {
    let message = message.strip_prefix("WARNING: ").unwrap_or(message);
    let _ = writeln!(io::stderr().lock(), "WARNING: {message}");
}
