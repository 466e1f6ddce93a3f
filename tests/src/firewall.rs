//! What cnmd keeps in nftables in a host namespace (table `inet cnm`), read
//! with the `nft` binary, and the ways a careless admin could disturb it.

use crate::exec::CmdOutput;
use crate::host::Host;

/// `nft -j list table inet cnm` in the host namespace; `None` when the
/// table does not exist.
pub fn cnm_table_json(host: &Host) -> Option<String> {
    let out = nft(host, &["-j", "list", "table", "inet", "cnm"]);
    out.success().then_some(out.stdout)
}

/// The kernel handle of table `inet cnm`, if it exists: a table that was
/// deleted and created again has a new one.
pub fn cnm_table_handle(host: &Host) -> Option<u64> {
    let json: serde_json::Value = serde_json::from_str(&cnm_table_json(host)?).ok()?;
    json["nftables"]
        .as_array()?
        .iter()
        .find_map(|item| item["table"]["handle"].as_u64())
}

/// `nft flush ruleset` in the host namespace: every table goes.
pub fn flush_ruleset(host: &Host) {
    expect_ok(nft(host, &["flush", "ruleset"]));
}

/// `nft delete table inet cnm` in the host namespace.
pub fn delete_cnm_table(host: &Host) {
    expect_ok(nft(host, &["delete", "table", "inet", "cnm"]));
}

fn nft(host: &Host, args: &[&str]) -> CmdOutput {
    let mut argv = vec!["nft"];
    argv.extend_from_slice(args);
    host.ns().exec(&argv)
}

fn expect_ok(out: CmdOutput) {
    assert!(out.success(), "nft failed: {out}");
}
