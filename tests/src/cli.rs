//! The `cnm` CLI pointed at one test daemon's socket. Runs from the test's
//! own namespace: a unix socket works across network namespaces.

use std::path::PathBuf;
use std::process::Command;

use crate::binaries;
use crate::daemon::log_tail;
use crate::exec::{run, CmdOutput};

/// `cnm -H unix://SOCKET …`; cheap to clone and send to other threads.
#[derive(Debug, Clone)]
pub struct Cli {
    bin: PathBuf,
    socket: PathBuf,
    daemon_log: PathBuf,
}

impl Cli {
    /// A CLI for the daemon listening on `socket` and logging to `daemon_log`.
    pub fn new(socket: PathBuf, daemon_log: PathBuf) -> Cli {
        Cli {
            bin: binaries::cnm(),
            socket,
            daemon_log,
        }
    }

    /// `cnm -H unix://SOCKET ARGS…`, to run in other ways (on a pty).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("-H")
            .arg(format!("unix://{}", self.socket.display()))
            .args(args);
        cmd
    }

    /// Runs `cnm -H unix://SOCKET ARGS…`.
    pub fn run(&self, args: &[&str]) -> CmdOutput {
        run(&mut self.command(args))
    }

    /// Runs the CLI with `input` piped to its stdin.
    pub fn run_with_input(&self, args: &[&str], input: &[u8]) -> CmdOutput {
        crate::exec::run_with_input(&mut self.command(args), input)
    }

    /// Runs the CLI and panics unless it exits 0; returns stdout. The panic
    /// message carries stderr and the daemon's log tail.
    pub fn run_ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.success(),
            "cnm failed: {out}\n{}",
            log_tail(&self.daemon_log, 30)
        );
        out.stdout
    }

    /// Runs the CLI and panics unless it exits non-zero (and did not hang);
    /// returns the output for checking the message.
    pub fn run_err(&self, args: &[&str]) -> CmdOutput {
        let out = self.run(args);
        assert!(
            !out.success() && !out.timed_out(),
            "cnm was expected to fail: {out}\n{}",
            log_tail(&self.daemon_log, 30)
        );
        out
    }
}

/// Panics unless `out.stderr` mentions one of `needles` (case-insensitive).
/// A `*` in a needle stands for any text: `overlap*alpha` matches
/// "subnet overlaps with network `alpha`".
pub fn assert_stderr_mentions(out: &CmdOutput, needles: &[&str]) {
    let err = out.stderr.to_lowercase();
    assert!(
        needles
            .iter()
            .any(|n| matches_in_order(&err, &n.to_lowercase())),
        "expected the error to mention one of {needles:?}: {out}"
    );
}

/// True when the `*`-separated parts of `pattern` occur in `text` in order.
fn matches_in_order(text: &str, pattern: &str) -> bool {
    let mut rest = text;
    for part in pattern.split('*') {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::matches_in_order;

    #[test]
    fn star_matches_any_text_in_order() {
        assert!(matches_in_order(
            "subnet overlaps with network `alpha`",
            "overlap*alpha"
        ));
        assert!(!matches_in_order("alpha overlaps", "overlap*alpha"));
        assert!(matches_in_order("not found", "not found"));
    }
}
