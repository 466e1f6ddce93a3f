//! Runs the `nft` binary: rare, whole-table work only (init, restore, the
//! forward-drop check). The child inherits the calling thread's network
//! namespace. nft's stderr becomes the error, so users see why it refused.

use std::io::{self, Write};
use std::process::{Command, Stdio};

use nftables::schema::Nftables;

use crate::error::FirewallError;

const NFT: &str = "nft";
/// nft reads `-f -` through /dev/stdin, which minimal systems (initramfs,
/// some containers) lack; the /proc path to the same pipe always exists.
const STDIN: &str = "/proc/self/fd/0";

/// Applies a JSON ruleset as one transaction (`nft -j -f` from a pipe).
pub(crate) fn apply(ruleset: &Nftables<'_>) -> Result<(), io::Error> {
    let json = serde_json::to_string(ruleset).map_err(io::Error::other)?;
    let applied = run(&["-j", "-f", STDIN], Some(&json)).map(drop);
    crate::stats::record(&applied);
    applied
}

/// Runs `nft ARGS` and returns its stdout.
pub(crate) fn run(args: &[&str], stdin: Option<&str>) -> Result<String, io::Error> {
    let mut child = Command::new(NFT)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input.as_bytes())?;
    }
    let output = child.wait_with_output()?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(io::Error::other(format!(
            "nft {}: {}",
            args.join(" "),
            stderr.trim()
        )));
    }
    String::from_utf8(output.stdout).map_err(io::Error::other)
}

/// `nft -j list ruleset` as untyped JSON: the nftables crate's schema does not
/// model every statement other tools write, and one unknown rule must not
/// break the check.
pub(crate) fn list_ruleset_json() -> Result<serde_json::Value, FirewallError> {
    let out = run(&["-j", "list", "ruleset"], None).map_err(FirewallError::ListRuleset)?;
    serde_json::from_str(&out).map_err(FirewallError::ParseRuleset)
}
