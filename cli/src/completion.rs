//! `cnm completion SHELL`: a completion script generated from the command
//! line definition itself, so it never falls behind a new flag.

use std::io::{self, Write};

use anyhow::{Context, Result};
use clap::{Args, Command};
use clap_complete::Shell;

/// Arguments of `completion`.
#[derive(Debug, Args)]
#[command(after_help = "Load it in the current shell, e.g.:\n  \
    bash: source <(cnm completion bash)\n  \
    zsh:  source <(cnm completion zsh)\n  \
    fish: cnm completion fish | source")]
pub struct CompletionArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    shell: Shell,
}

/// Writes the script for `args.shell` completing `command` to stdout.
pub fn run(args: CompletionArgs, mut command: Command) -> Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "cnm", &mut script);
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(&script)
        .and_then(|()| stdout.flush())
        .context("cannot write to stdout")
}
