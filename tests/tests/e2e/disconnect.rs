//! `cnm net disconnect` and address reuse: interfaces go away, records go
//! away even when the namespace is already gone, networks with endpoints
//! cannot be removed, and freed addresses are handed out again.

use std::time::Duration;

use cnm_tests::addr::cidr_contains;
use cnm_tests::exec::eventually;
use cnm_tests::inspect::addr_of;
use cnm_tests::snapshot::assert_refused_unchanged;
use cnm_tests::{case, kernel, Case, Host, KERNEL};

use crate::create::create;

pub fn cases() -> Vec<Case> {
    vec![
        case("removes_interfaces", KERNEL, removes_interfaces),
        case("after_netns_deleted", KERNEL, after_netns_deleted),
        case(
            "reused_netns_number_is_a_new_sandbox",
            KERNEL,
            reused_netns_number_is_a_new_sandbox,
        ),
        case("rm_with_endpoints_fails", KERNEL, rm_with_endpoints_fails),
        case("freed_addresses_reused", KERNEL, freed_addresses_reused),
    ]
}

/// Waits up to 1 s for the host namespace to hold exactly `n` veths.
pub fn expect_host_veths(host: &Host, n: usize) {
    eventually(Duration::from_secs(1), || {
        let veths = kernel::veth_names(host.ns());
        (veths.len() == n)
            .then_some(())
            .ok_or_else(|| format!("host veths after 1 s: {veths:?}, expected {n}"))
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", host.log_tail()));
}

fn removes_interfaces() {
    let host = Host::start();
    create(&host, &["n1"]);
    let c1 = host.container("c1");
    host.connect_named("n1", &c1, &[]);
    expect_host_veths(&host, 1);
    host.disconnect_ok("n1", &c1);
    assert!(
        c1.link("eth0").is_none(),
        "eth0 still in c1 when disconnect returned"
    );
    expect_host_veths(&host, 0);
    assert!(host.inspect("n1").containers.is_empty());
    host.connect_named("n1", &c1, &[]);
    assert!(c1.link("eth0").is_some(), "reconnect after disconnect");
}

fn after_netns_deleted() {
    let host = Host::start();
    create(&host, &["n1"]);
    let mut c1 = host.container("c1");
    host.connect_named("n1", &c1, &["--ip", "172.18.0.77"]);
    c1.delete();
    // The path is gone: name the sandbox as Docker does, by its name.
    host.cnm_ok(&["net", "disconnect", "n1", "c1"]);
    assert!(host.inspect("n1").containers.is_empty(), "record survived");
    expect_host_veths(&host, 0);
    let c2 = host.container("c2");
    host.connect_named("n1", &c2, &["--ip", "172.18.0.77"]);
}

/// The kernel hands a deleted namespace's inode number to the next one.
/// A sandbox deleted without a disconnect must not be mistaken for the new
/// namespace: the connect succeeds and the stale record is forgotten.
///
/// Which number the kernel hands out next cannot be forced while other
/// tests make namespaces (a first version waited for the reuse and timed
/// out in CI), so cnmd is shown exactly what a reuse looks like to it: a
/// namespace with the recorded (dev, inode) reached by another path, while
/// the recorded path is gone and none of the sandbox's interfaces is there.
fn reused_netns_number_is_a_new_sandbox() {
    use std::os::unix::fs::MetadataExt;
    let host = Host::start();
    create(&host, &["n1"]);
    let mut old = host.container("old");
    host.connect_named("n1", &old, &["--ip", "172.18.0.50"]);
    let reused = old.bind_alias(&host.dir().join("reused"));
    let reused_path = reused.path().to_string_lossy().into_owned();
    let out = old.ip(&["link", "del", "eth0"]);
    assert!(out.success(), "delete eth0 in old: {out}");
    old.delete();
    assert!(
        std::fs::metadata(&reused_path).is_ok_and(|m| m.ino() > 0),
        "the namespace did not outlive its first path"
    );

    host.cnm_ok(&[
        "net",
        "connect",
        "n1",
        "--netns",
        &reused_path,
        "--name",
        "new",
        "--ip",
        "172.18.0.50",
    ]);
    let net = host.inspect("n1");
    assert!(
        net.endpoint_named("old").is_none(),
        "stale sandbox kept: {:?}",
        net.containers
    );
    assert!(
        net.endpoint_named("new").is_some(),
        "new sandbox missing: {:?}",
        net.containers
    );
    let links = cnm_tests::exec::run_ok(std::process::Command::new("nsenter").args([
        &format!("--net={reused_path}"),
        "--",
        "ip",
        "-o",
        "link",
    ]));
    assert!(
        links.contains("eth0"),
        "no eth0 in the new namespace: {links}"
    );
}

fn rm_with_endpoints_fails() {
    let host = Host::start();
    let id = create(&host, &["n1"]);
    let c1 = host.container("c1");
    host.connect_named("n1", &c1, &[]);
    assert_refused_unchanged(
        &host,
        "net rm with endpoints",
        &["net", "rm", "n1"],
        &["has active endpoints"],
    );

    host.disconnect_ok("n1", &c1);
    host.cnm_ok(&["net", "rm", "n1"]);
    assert!(!host.ls().iter().any(|r| r.name == "n1"), "n1 still listed");
    let bridge = format!("cnm{}", &id[..12]);
    assert!(
        kernel::link(host.ns(), &bridge).is_none(),
        "{bridge} left behind"
    );
}

fn freed_addresses_reused() {
    let host = Host::start();
    // /29: gateway .1 and five addresses .2-.6 for containers.
    create(&host, &["--subnet", "10.79.0.0/29", "n1"]);
    let cs: Vec<_> = (1..=6).map(|i| host.container(&format!("c{i}"))).collect();

    // Cycling one container through more connects than there are addresses.
    for round in 0..8 {
        host.connect_named("n1", &cs[0], &[]);
        let ep = host.inspect("n1").expect_endpoint("c1").clone();
        assert!(
            cidr_contains("10.79.0.0/29", &ep.ipv4_address),
            "round {round}: {ep:?}"
        );
        host.disconnect_ok("n1", &cs[0]);
    }

    for c in &cs[..5] {
        host.connect_named("n1", c, &[]);
    }
    let out = host.connect("n1", &cs[5], &["--name", "c6"]);
    assert!(
        !out.success(),
        "a sixth address was handed out of a /29: {out}"
    );
    host.disconnect_ok("n1", &cs[2]);
    host.connect_named("n1", &cs[5], &[]);
    let net = host.inspect("n1");
    let mut addrs: Vec<&str> = net
        .containers
        .values()
        .map(|e| addr_of(&e.ipv4_address))
        .collect();
    addrs.sort_unstable();
    assert_eq!(
        addrs,
        [
            "10.79.0.2",
            "10.79.0.3",
            "10.79.0.4",
            "10.79.0.5",
            "10.79.0.6"
        ],
        "the freed address was not handed out again"
    );
}
