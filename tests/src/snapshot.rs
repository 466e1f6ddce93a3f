//! A before/after picture of a host: what cnmd reports (`net ls`, `net
//! inspect` of every network) and what the kernel has in the host namespace.
//! Tests of rejected input assert that the picture did not change.

use crate::cli::assert_stderr_mentions;
use crate::host::Host;
use crate::inspect::{parse_networks, LsRow, NetworkJson};
use crate::kernel::{fingerprint, Link};

/// See the module docs.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub ls: Vec<LsRow>,
    pub networks: Vec<NetworkJson>,
    pub host_links: Vec<(Link, Vec<String>)>,
}

/// Takes a [`Snapshot`] of `host`.
pub fn snapshot(host: &Host) -> Snapshot {
    let ls = host.ls();
    let mut args = vec!["net", "inspect"];
    args.extend(ls.iter().map(|r| r.name.as_str()));
    let mut networks = parse_networks(&host.cnm_ok(&args));
    networks.sort_by(|a, b| a.name.cmp(&b.name));
    Snapshot {
        ls,
        networks,
        host_links: fingerprint(host.ns()),
    }
}

/// Runs `cnm ARGS…` on `host` and asserts that it fails, its error
/// mentioning one of `needles`, and that it changed nothing; `what` names
/// the request in the failure.
pub fn assert_refused_unchanged(host: &Host, what: &str, args: &[&str], needles: &[&str]) {
    let before = snapshot(host);
    let out = host.cnm_err(args);
    assert_stderr_mentions(&out, needles);
    assert_unchanged(what, &before, &snapshot(host));
}

/// Panics, naming `what`, if `after` differs from `before`.
pub fn assert_unchanged(what: &str, before: &Snapshot, after: &Snapshot) {
    assert_eq!(before.ls, after.ls, "{what}: `net ls` changed");
    assert_eq!(
        before.networks, after.networks,
        "{what}: `net inspect` changed"
    );
    assert_eq!(
        before.host_links, after.host_links,
        "{what}: links/addresses in the host namespace changed"
    );
}
