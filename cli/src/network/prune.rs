//! `cnm network prune`: after confirmation, asks cnmd to remove every custom
//! network no container uses, and lists what went.

use std::io::{self, BufRead, Write};

use anyhow::{Context, Result};
use clap::Args;
use pb::v1::PruneNetworksRequest;

use crate::{error, filter, output};

const WARNING: &str =
    "WARNING! This will remove all custom networks not used by at least one container.\n\
                       Are you sure you want to continue? [y/N] ";

/// Flags of `network prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long, value_name = "KEY=VALUE")]
    filter: Vec<String>,
}

/// Prunes networks unless the user declines.
pub async fn run(args: PruneArgs, host: &str) -> Result<()> {
    let filters = filter::parse(&args.filter, filter::NETWORK_PRUNE_KEYS)?;
    if !args.force && !confirm()? {
        return Ok(());
    }
    let deleted = super::client(host)
        .await?
        .prune_networks(PruneNetworksRequest { filters })
        .await
        .map_err(error::from_status)?
        .into_inner()
        .networks_deleted;
    output::print(&render(&deleted))
}

/// Prompts on stderr and reads one answer from stdin; only `y` agrees.
fn confirm() -> Result<bool> {
    let mut stderr = io::stderr().lock();
    stderr
        .write_all(WARNING.as_bytes())
        .and_then(|()| stderr.flush())
        .context("cannot write to stderr")?;
    let mut answer = String::new();
    let read = io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("cannot read the answer from stdin")?;
    if read == 0 {
        // End of input: end the prompt line so the shell prompt starts afresh.
        let _ = writeln!(stderr);
    }
    Ok(answer.trim().eq_ignore_ascii_case("y"))
}

/// `Deleted Networks:` and one name per line; nothing when nothing went.
fn render(deleted: &[String]) -> String {
    if deleted.is_empty() {
        return String::new();
    }
    let mut out = String::from("Deleted Networks:\n");
    for name in deleted {
        out.push_str(name);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_deleted_networks() {
        let deleted = vec!["web".to_string(), "db".to_string()];
        assert_eq!(render(&deleted), "Deleted Networks:\nweb\ndb\n");
        assert_eq!(render(&[]), "");
    }
}
