//! Embedded DNS on overlay networks: each host answers on the overlay's
//! gateway (the same address on every host) for its own endpoints and for
//! the other hosts' endpoints it learns from etcd. Names resolve across
//! hosts, follow disconnects and a dead host's lease, and stay within the
//! networks the asking container shares. Real `dig` queries, real etcd.

use std::time::Duration;

use cnm_tests::cluster::Cluster;
use cnm_tests::exec::eventually;
use cnm_tests::{case, kernel_and, Case, Container, Host, Need};

use crate::dns::{dig, dig_status};
use crate::overlay::{connect, connect_with, create_overlay, wait_until};

/// [`cnm_tests::cluster::CLUSTER`] plus `dig` (dnsutils) for the queries and
/// `nft` for the bridge network next to the overlay.
const CLUSTER_DNS: &[Need] = kernel_and![
    Need::Tool("busybox"),
    Need::Tool("etcd"),
    Need::Tool("dig"),
    Need::Tool("nft"),
];

pub fn cases() -> Vec<Case> {
    vec![
        case(
            "names_resolve_across_hosts",
            CLUSTER_DNS,
            names_resolve_across_hosts,
        ),
        case(
            "names_stay_in_their_network",
            CLUSTER_DNS,
            names_stay_in_their_network,
        ),
        case(
            "dead_host_names_expire",
            CLUSTER_DNS,
            dead_host_names_expire,
        ),
    ]
}

/// Connects `c` with `aliases` and returns its IPv4 address.
fn connect_with_aliases(host: &Host, net: &str, c: &Container, aliases: &[&str]) -> String {
    let extra: Vec<&str> = aliases.iter().flat_map(|a| ["--alias", *a]).collect();
    connect_with(host, net, c, &extra)
}

/// Waits (≤ 5 s) until `name`, asked from `c` at `server`, answers exactly
/// `want`; the records travel through etcd's watch first.
fn wait_for_answer(c: &Container, server: &str, name: &str, want: &str, host: &Host) {
    let got = eventually(Duration::from_secs(5), || match dig(c, server, name) {
        v if v == [want] => Ok(v),
        v => Err(format!("{name} from {}: {v:?}, want {want}", c.label())),
    });
    if let Err(err) = got {
        panic!("{err}\n{}", host.log_tail());
    }
}

/// Waits (≤ `limit`) until `name` is NXDOMAIN from `c` at `server`.
fn wait_for_nxdomain(c: &Container, server: &str, name: &str, limit: Duration) {
    let gone = eventually(limit, || match dig_status(c, server, name).as_str() {
        "NXDOMAIN" => Ok(()),
        other => Err(format!("{name} from {}: {other}", c.label())),
    });
    if let Err(err) = gone {
        panic!("still resolves: {err}");
    }
}

fn sandbox_id(host: &Host, net: &str, name: &str) -> String {
    host.inspect(net)
        .containers
        .iter()
        .find(|(_, ep)| ep.name == name)
        .map(|(id, _)| id.clone())
        .unwrap_or_else(|| panic!("{name} not in Containers of {net}"))
}

fn names_resolve_across_hosts() {
    let cluster = Cluster::start(3, 15);
    let [a, b, c] = &cluster.hosts[..] else {
        unreachable!()
    };
    create_overlay(&cluster.hosts, "ov", "10.95.0.0/24", &[]);
    let gw = "10.95.0.1";
    let (ca, cb, cc) = (a.container("ca"), b.container("cb"), c.container("cc"));
    let ia = connect_with_aliases(a, "ov", &ca, &["api"]);
    let ib = connect_with_aliases(b, "ov", &cb, &["db", "store.internal"]);
    let ic = connect(c, "ov", &cc);
    // Names, aliases (any case, dotted) and the short id of other hosts'
    // containers, from each host's own resolver.
    for name in ["cb", "DB", "store.internal"] {
        wait_for_answer(&ca, gw, name, &ib, a);
        wait_for_answer(&cc, gw, name, &ib, c);
    }
    let short = sandbox_id(b, "ov", "cb")[..12].to_owned();
    wait_for_answer(&ca, gw, &short, &ib, a);
    for name in ["ca", "api"] {
        wait_for_answer(&cb, gw, name, &ia, b);
        wait_for_answer(&cc, gw, name, &ia, c);
    }
    wait_for_answer(&ca, gw, "cc", &ic, a);
    wait_for_answer(&cb, gw, "cc", &ic, b);
    // The local container still resolves as before.
    wait_for_answer(&cb, gw, "cb", &ib, b);
    let ptr = ca.exec(&["dig", "+short", "+time=1", &format!("@{gw}"), "-x", &ib]);
    assert_eq!(ptr.stdout.trim(), "cb.", "PTR of a remote address: {ptr}");
    // A container run by cnm on the overlay is pointed at the gateway and
    // reaches a remote name through its own resolv.conf.
    let run = a.cnm(&[
        "run",
        "--rm",
        "--name",
        "runner",
        "--network",
        "ov",
        crate::containers::rootfs(),
        "sh",
        "-c",
        "cat /etc/resolv.conf; nslookup cb",
    ]);
    assert!(run.success(), "{run}\n{}", a.log_tail());
    assert!(
        run.stdout.contains(&format!("nameserver {gw}")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(&ib), "nslookup cb: {}", run.stdout);
    // Disconnected on its host, gone on every other host with its aliases.
    b.disconnect_ok("ov", &cb);
    for (from, host) in [(&ca, a), (&cc, c)] {
        for name in ["cb", "db"] {
            wait_for_nxdomain(from, gw, name, Duration::from_secs(5));
        }
        // An unknown dotted name goes upstream (none answers in the test).
        let dotted = dig(from, gw, "store.internal");
        assert!(dotted.is_empty(), "store.internal: {dotted:?}");
        assert_eq!(dig(from, gw, "ca"), vec![ia.clone()], "{}", host.log_tail());
    }
}

fn names_stay_in_their_network() {
    let cluster = Cluster::start(3, 15);
    let [a, b, c] = &cluster.hosts[..] else {
        unreachable!()
    };
    create_overlay(&cluster.hosts, "ov", "10.96.0.0/24", &[]);
    create_overlay(&cluster.hosts, "ov2", "10.96.1.0/24", &[]);
    a.cnm_ok(&["net", "create", "--subnet", "10.96.2.0/24", "br"]);
    let (ca, cb) = (a.container("ca"), b.container("cb"));
    let ib = connect(b, "ov", &cb);
    connect(a, "ov", &ca);
    // `other` lives on ov2 (host b), `local` on a bridge network of host a.
    let (other, peer) = (b.container("other"), c.container("peer"));
    let i_other = connect(b, "ov2", &other);
    let i_peer = connect(c, "ov2", &peer);
    let local = a.container("local");
    connect(a, "br", &local);
    // Both names exist where their networks are shared ...
    wait_for_answer(&ca, "10.96.0.1", "cb", &ib, a);
    wait_for_answer(&peer, "10.96.1.1", "other", &i_other, c);
    // ... and nowhere else: ca (on ov, on the host of `local`) sees neither,
    // nor does cc on host c, where ov2 has a member too.
    let cc = c.container("cc");
    connect(c, "ov", &cc);
    wait_for_answer(&cc, "10.96.0.1", "cb", &ib, c);
    for (from, name) in [(&ca, "other"), (&ca, "local"), (&cc, "other")] {
        assert_eq!(
            dig_status(from, "10.96.0.1", name),
            "NXDOMAIN",
            "{name} seen from {}",
            from.label()
        );
    }
    // `-o dns=false` turns it off on every host.
    create_overlay(
        &cluster.hosts,
        "quiet",
        "10.96.3.0/24",
        &["-o", "dns=false"],
    );
    let (q1, q2) = (b.container("q1"), c.container("q2"));
    let i_q1 = connect(b, "quiet", &q1);
    connect(c, "quiet", &q2);
    wait_until(Duration::from_secs(5), "ping across hosts", || {
        q2.ping(&i_q1).success()
    });
    let status = dig_status(&q2, "10.96.3.1", "q1");
    assert!(
        status.starts_with("no answer"),
        "dns=false answered: {status}"
    );
    // cb, now on both overlays, gets ov2's names; peer, only on ov2, still
    // does not get ov's.
    b.connect_named("ov2", &cb, &[]);
    wait_for_answer(&cb, "10.96.1.1", "peer", &i_peer, b);
    assert_eq!(dig_status(&peer, "10.96.1.1", "ca"), "NXDOMAIN");
}

fn dead_host_names_expire() {
    let ttl = 5;
    let mut cluster = Cluster::start(3, ttl);
    create_overlay(&cluster.hosts, "ov", "10.97.0.0/24", &[]);
    let gw = "10.97.0.1";
    let ca = cluster.hosts[0].container("ca");
    connect(&cluster.hosts[0], "ov", &ca);
    let cc = cluster.hosts[2].container("cc");
    let ic = connect_with_aliases(&cluster.hosts[2], "ov", &cc, &["doomed"]);
    wait_for_answer(&ca, gw, "cc", &ic, &cluster.hosts[0]);
    wait_for_answer(&ca, gw, "doomed", &ic, &cluster.hosts[0]);
    // kill -9 and the namespace gone: only the lease takes the names away.
    let mut dead = cluster.hosts.remove(2);
    dead.kill9();
    drop(cc);
    drop(dead);
    let limit = Duration::from_secs(2 * ttl + 2);
    wait_for_nxdomain(&ca, gw, "cc", limit);
    wait_for_nxdomain(&ca, gw, "doomed", Duration::from_secs(1));
}
