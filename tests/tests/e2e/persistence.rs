//! State survives a daemon restart, clean (SIGTERM) or not (SIGKILL):
//! networks, endpoints and address allocations, and the kernel objects
//! behind them.

use cnm_tests::inspect::addr_of;
use cnm_tests::snapshot::{assert_unchanged, snapshot};
use cnm_tests::{case, Case, Host, KERNEL_PING};

use crate::create::create;

pub fn cases() -> Vec<Case> {
    vec![
        case(
            "survives_sigterm_restart",
            KERNEL_PING,
            survives_sigterm_restart,
        ),
        case(
            "survives_kill9_restart",
            KERNEL_PING,
            survives_kill9_restart,
        ),
    ]
}

fn survives_sigterm_restart() {
    survives_restart(|host| {
        let status = host.stop();
        assert!(status.success(), "cnmd exited with {status} on SIGTERM");
    });
}

fn survives_kill9_restart() {
    survives_restart(Host::kill9);
}

fn survives_restart(bring_down: fn(&mut Host)) {
    let mut host = Host::start();
    create(&host, &["n1"]);
    create(&host, &["--subnet", "10.90.0.0/24", "--label", "k=v", "n2"]);
    let (c1, c2, c3) = (
        host.container("c1"),
        host.container("c2"),
        host.container("c3"),
    );
    host.connect_named("n1", &c1, &[]);
    host.connect_named("n1", &c2, &[]);
    host.connect_named("n2", &c2, &[]);
    let before = snapshot(&host);

    bring_down(&mut host);
    host.restart();
    assert_unchanged("restart", &before, &snapshot(&host));

    // Allocations survived: a new container gets an address nobody holds.
    host.connect_named("n1", &c3, &[]);
    let net = host.inspect("n1");
    let taken: Vec<&str> = ["c1", "c2"]
        .iter()
        .map(|n| addr_of(&net.expect_endpoint(n).ipv4_address))
        .collect();
    let new = addr_of(&net.expect_endpoint("c3").ipv4_address);
    assert!(
        !taken.contains(&new),
        "c3 got {new}, already held by one of {taken:?}"
    );

    // The data path and the records still work.
    let out = c1.ping(taken[1]);
    assert!(out.success(), "c1 cannot reach c2 after restart: {out}");
    host.disconnect_ok("n1", &c1);
    assert!(
        c1.link("eth0").is_none(),
        "disconnect after restart left eth0"
    );
}
