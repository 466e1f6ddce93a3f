//! Overlay (multi-host) networks: three test hosts on an underlay bridge,
//! one cnmd each, a real etcd as the cluster store (`cnm_tests::cluster`).
//! Containers on different hosts talk over VXLAN; definitions, addresses
//! and the peer table come from etcd; a dead host's endpoints expire, and a
//! host cut off etcd keeps forwarding but refuses new work quickly.

use std::time::{Duration, Instant};

use cnm_tests::cluster::{self, Cluster, CLUSTER};
use cnm_tests::traffic::{sock, tcp_request, EchoServer, Proto};
use cnm_tests::{case, Case, Container, Host};

pub fn cases() -> Vec<Case> {
    vec![
        case(
            "network_is_global_on_every_host",
            CLUSTER,
            network_is_global_on_every_host,
        ),
        case(
            "containers_on_different_hosts_talk",
            CLUSTER,
            containers_on_different_hosts_talk,
        ),
        case(
            "concurrent_connects_never_duplicate",
            CLUSTER,
            concurrent_connects_never_duplicate,
        ),
        case(
            "dead_host_expires_elsewhere",
            CLUSTER,
            dead_host_expires_elsewhere,
        ),
        case(
            "host_cut_off_etcd_keeps_forwarding",
            CLUSTER,
            host_cut_off_etcd_keeps_forwarding,
        ),
        case(
            "restarted_host_keeps_its_endpoints",
            CLUSTER,
            restarted_host_keeps_its_endpoints,
        ),
        case(
            "disconnect_without_etcd_is_finished_later",
            CLUSTER,
            disconnect_without_etcd_is_finished_later,
        ),
        case(
            "containers_reach_out_and_publish_ports",
            CLUSTER,
            containers_reach_out_and_publish_ports,
        ),
        case(
            "network_names_are_unique_in_the_cluster",
            CLUSTER,
            network_names_are_unique_in_the_cluster,
        ),
    ]
}

/// Polls `check` every 100 ms until it holds or `limit` passes; returns how
/// long it took.
pub(crate) fn wait_until(limit: Duration, what: &str, mut check: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    start.elapsed()
}

/// Creates overlay `name` (with `extra` flags) on `hosts[0]` and waits
/// until every host lists it.
pub(crate) fn create_overlay(hosts: &[Host], name: &str, subnet: &str, extra: &[&str]) {
    let mut args = vec!["net", "create", "-d", "overlay", "--subnet", subnet];
    args.extend_from_slice(extra);
    args.push(name);
    hosts[0].cnm_ok(&args);
    for host in &hosts[1..] {
        wait_until(Duration::from_secs(5), "network listed", || {
            listed_as_global(host, name)
        });
    }
}

pub(crate) fn listed_as_global(host: &Host, name: &str) -> bool {
    host.ls()
        .iter()
        .any(|r| r.name == name && r.scope == "global")
}

/// Connects `c` on `host` and returns its IPv4 address (no prefix).
pub(crate) fn connect(host: &Host, net: &str, c: &Container) -> String {
    connect_with(host, net, c, &[])
}

/// [`connect`] with `extra` flags for `cnm net connect`.
pub(crate) fn connect_with(host: &Host, net: &str, c: &Container, extra: &[&str]) -> String {
    host.connect_named(net, c, extra);
    let addrs = c.ipv4_addrs("eth0");
    let first = addrs.first().expect("an IPv4 address on eth0");
    first.split('/').next().unwrap_or_default().to_owned()
}

fn network_is_global_on_every_host() {
    let cluster = Cluster::start(3, 15);
    let [a, b, c] = &cluster.hosts[..] else {
        unreachable!()
    };
    a.cnm_ok(&[
        "net",
        "create",
        "-d",
        "overlay",
        "--subnet",
        "10.90.0.0/24",
        "--attachable",
        "ov",
    ]);
    assert!(listed_as_global(a, "ov"), "{:?}", a.ls());
    for host in [b, c] {
        wait_until(Duration::from_secs(5), "network listed elsewhere", || {
            listed_as_global(host, "ov")
        });
    }
    let subnet = b.cnm_ok(&[
        "net",
        "inspect",
        "-f",
        "{{range .IPAM.Config}}{{.Subnet}}{{end}}",
        "ov",
    ]);
    assert_eq!(subnet.trim(), "10.90.0.0/24");
    // One address space: an overlapping subnet is refused on another host.
    let out = c.cnm_err(&[
        "net",
        "create",
        "-d",
        "overlay",
        "--subnet",
        "10.90.0.128/25",
        "ov2",
    ]);
    assert!(out.stderr.contains("overlaps"), "{out}");
    // Removed on one host, gone everywhere.
    b.cnm_ok(&["net", "rm", "ov"]);
    for host in [a, c] {
        wait_until(Duration::from_secs(5), "network removed elsewhere", || {
            !host.ls().iter().any(|r| r.name == "ov")
        });
    }
}

fn containers_on_different_hosts_talk() {
    let cluster = Cluster::start(3, 15);
    let [a, b, c] = &cluster.hosts[..] else {
        unreachable!()
    };
    create_overlay(&cluster.hosts, "ov", "10.91.0.0/24", &[]);
    let (ca, cb, cc) = (a.container("ca"), b.container("cb"), c.container("cc"));
    let (ia, ib, ic) = (
        connect(a, "ov", &ca),
        connect(b, "ov", &cb),
        connect(c, "ov", &cc),
    );
    let link = ca.link("eth0").expect("eth0");
    assert_eq!(link.mtu, 1450, "underlay 1500 minus the VXLAN overhead");
    for (from, to) in [(&ca, &ib), (&cb, &ic), (&cc, &ia)] {
        let mut last = None;
        wait_until(Duration::from_secs(5), "ping across hosts", || {
            let out = from.ping(to);
            let ok = out.success();
            last = Some(out);
            ok
        });
    }
    let _server = EchoServer::start(cb.ns(), Proto::Tcp, 8080, "cb");
    let reply = tcp_request(ca.ns(), sock(&ib, 8080)).expect("TCP across hosts");
    assert_eq!(reply.tag, "cb");
    assert_eq!(reply.peer.to_string(), ia, "the source address is kept");
}

fn concurrent_connects_never_duplicate() {
    let cluster = Cluster::start(3, 15);
    create_overlay(&cluster.hosts, "ov", "10.92.0.0/24", &[]);
    let per_host = 4;
    let containers: Vec<Vec<Container>> = cluster
        .hosts
        .iter()
        .map(|h| {
            (0..per_host)
                .map(|i| h.container(&format!("c{i}")))
                .collect()
        })
        .collect();
    let addresses: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = cluster
            .hosts
            .iter()
            .zip(&containers)
            .flat_map(|(h, cs)| cs.iter().map(move |c| s.spawn(move || connect(h, "ov", c))))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("connect thread"))
            .collect()
    });
    let mut unique = addresses.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        3 * per_host,
        "duplicate addresses: {addresses:?}"
    );
    assert!(
        !addresses.iter().any(|a| a == "10.92.0.1"),
        "the gateway was handed out"
    );
}

fn dead_host_expires_elsewhere() {
    let ttl = 5;
    let mut cluster = Cluster::start(3, ttl);
    create_overlay(&cluster.hosts, "ov", "10.93.0.0/24", &[]);
    let cc = cluster.hosts[2].container("cc");
    let ic = connect(&cluster.hosts[2], "ov", &cc);
    let has_peer = |host: &Host| {
        host.ip(&["neigh", "show", "nud", "permanent"])
            .stdout
            .contains(&ic)
    };
    wait_until(Duration::from_secs(5), "peer programmed on host a", || {
        has_peer(&cluster.hosts[0])
    });
    assert!(has_peer(&cluster.hosts[1]), "peer programmed on host b");
    // kill -9 and the namespace gone: nothing withdraws the peer but the lease.
    let mut dead = cluster.hosts.remove(2);
    dead.kill9();
    drop(cc);
    drop(dead);
    let took = wait_until(
        Duration::from_secs(2 * ttl + 2),
        "peer withdrawn on host a",
        || !has_peer(&cluster.hosts[0]),
    );
    assert!(took <= Duration::from_secs(2 * ttl), "took {took:?}");
    wait_until(Duration::from_secs(2), "peer withdrawn on host b", || {
        !has_peer(&cluster.hosts[1])
    });
    // Its address went with its lease: another host may take it now.
    let again = cluster.hosts[1].container("again");
    let out = cluster.hosts[1].connect("ov", &again, &["--ip", &ic]);
    assert!(out.success(), "{out}\n{}", cluster.hosts[1].log_tail());
}

fn host_cut_off_etcd_keeps_forwarding() {
    let cluster = Cluster::start(3, 15);
    let (a, c) = (&cluster.hosts[0], &cluster.hosts[2]);
    create_overlay(&cluster.hosts, "ov", "10.94.0.0/24", &[]);
    let (ca, cc) = (a.container("ca"), c.container("cc"));
    let (ia, _ic) = (connect(a, "ov", &ca), connect(c, "ov", &cc));
    wait_until(Duration::from_secs(5), "ping before the cut", || {
        cc.ping(&ia).success()
    });
    cluster.cut_off_etcd(2);
    let late = c.container("late");
    let start = Instant::now();
    let out = c.connect("ov", &late, &[]);
    let took = start.elapsed();
    assert!(!out.success(), "connect without etcd succeeded: {out}");
    assert!(took < Duration::from_secs(10), "refusal took {took:?}");
    assert!(out.stderr.contains("cluster store"), "unclear error: {out}");
    assert!(cc.ping(&ia).success(), "running containers stopped talking");
    // Local networks are not affected.
    c.cnm_ok(&["net", "create", "local"]);
    let l = c.container("l");
    c.connect_named("local", &l, &[]);
}

/// A cnmd restarted (kill -9) takes a new lease; the endpoints it kept were
/// announced under the old one. Past that lease's TTL, the other hosts
/// still reach them, and their addresses are still held.
fn restarted_host_keeps_its_endpoints() {
    let ttl = 5;
    let mut cluster = Cluster::start(2, ttl);
    create_overlay(&cluster.hosts, "ov", "10.95.0.0/24", &[]);
    // Several endpoints, so the re-announce writes a batch of keys.
    let cas: Vec<Container> = (0..3)
        .map(|i| cluster.hosts[0].container(&format!("ca{i}")))
        .collect();
    let ias: Vec<String> = cas
        .iter()
        .map(|c| connect(&cluster.hosts[0], "ov", c))
        .collect();
    let ia = ias[0].clone();
    let cb = cluster.hosts[1].container("cb");
    connect(&cluster.hosts[1], "ov", &cb);
    wait_until(Duration::from_secs(5), "ping before the restart", || {
        cb.ping(&ia).success()
    });
    cluster.hosts[0].kill9();
    cluster.hosts[0].restart();
    // Well past the old lease: had it taken the endpoints along, host b
    // would have withdrawn the peers by now.
    std::thread::sleep(Duration::from_secs(2 * ttl + 1));
    let b = &cluster.hosts[1];
    let peer = b.ip(&["neigh", "show", "nud", "permanent"]).stdout;
    for ip in &ias {
        assert!(
            peer.contains(ip.as_str()),
            "host b withdrew host a's endpoint {ip} after a's restart: {peer}\n{}",
            cluster.hosts[0].log_tail()
        );
    }
    assert!(
        cluster.hosts[0]
            .log()
            .contains("overlay endpoints announced again keys=6"),
        "{}",
        cluster.hosts[0].log_tail()
    );
    let out = cb.ping(&ia);
    assert!(out.success(), "cb cannot reach ca after a's restart: {out}");
    let thief = b.container("thief");
    let out = b.connect("ov", &thief, &["--ip", &ia]);
    assert!(!out.success(), "host b took ca's address {ia}: {out}");
    assert!(out.stderr.contains("already in use"), "{out}");
}

/// A disconnect while etcd is out of reach succeeds here; the endpoint and
/// address keys it could not delete are deleted once etcd is back, long
/// before the host's lease (60 s) would take them.
fn disconnect_without_etcd_is_finished_later() {
    let cluster = Cluster::start(2, 60);
    let (a, b) = (&cluster.hosts[0], &cluster.hosts[1]);
    create_overlay(&cluster.hosts, "ov", "10.96.0.0/24", &[]);
    let (ca, cb) = (a.container("ca"), b.container("cb"));
    let ia = connect(a, "ov", &ca);
    connect(b, "ov", &cb);
    let has_peer = || {
        b.ip(&["neigh", "show", "nud", "permanent"])
            .stdout
            .contains(&ia)
    };
    wait_until(Duration::from_secs(5), "peer programmed on b", has_peer);
    cluster.cut_off_etcd(0);
    a.disconnect_ok("ov", &ca);
    assert!(ca.link("eth0").is_none(), "eth0 left in ca");
    assert!(
        has_peer(),
        "the peer went while etcd was cut off: the test proves nothing"
    );
    cluster.reconnect_etcd(0);
    let took = wait_until(Duration::from_secs(15), "peer withdrawn on b", || {
        !has_peer()
    });
    assert!(took < Duration::from_secs(15), "took {took:?}");
    let again = b.container("again");
    let out = b.connect("ov", &again, &["--ip", &ia]);
    assert!(
        out.success(),
        "ca's address {ia} is still held: {out}\n{}",
        a.log_tail()
    );
}

/// As on a bridge network, a container on an overlay network reaches the
/// outside through its own host (masqueraded: the LAN knows no container
/// subnet) and publishes ports there; `--internal` overlays have no way out.
fn containers_reach_out_and_publish_ports() {
    let cluster = Cluster::start(2, 15);
    let (a, b) = (&cluster.hosts[0], &cluster.hosts[1]);
    create_overlay(&cluster.hosts, "ov", "10.97.0.0/24", &[]);
    create_overlay(&cluster.hosts, "closed", "10.98.0.0/24", &["--internal"]);
    let lan = cluster::ETCD_IP;
    let cb = b.container("cb");
    connect(b, "ov", &cb);
    let out = cb.ping(lan);
    assert!(out.success(), "cb cannot reach {lan} on the LAN: {out}");

    let web = a.container("web");
    let _echo = EchoServer::start(web.ns(), Proto::Tcp, 80, "web");
    a.connect_named("ov", &web, &["-p", "8080:80"]);
    let host_a = Cluster::host_ip(0);
    let reply = tcp_request(cluster.underlay(), sock(&host_a, 8080))
        .unwrap_or_else(|e| panic!("{host_a}:8080 from the LAN: {e}\n{}", a.log_tail()));
    assert_eq!(reply.tag, "web");
    assert_eq!(
        reply.peer.to_string(),
        lan,
        "the container should see the client's address"
    );

    let shut = b.container("shut");
    connect(b, "closed", &shut);
    let out = shut.ping(lan);
    assert!(!out.success(), "an internal overlay reached {lan}: {out}");
}

/// One name, one global network: a second `ov` is refused on any host, even
/// when two hosts create it at the same moment; the refused network leaves
/// nothing behind, and the name is free again once `ov` is removed.
fn network_names_are_unique_in_the_cluster() {
    let cluster = Cluster::start(2, 15);
    let (a, b) = (&cluster.hosts[0], &cluster.hosts[1]);
    create_overlay(&cluster.hosts, "ov", "10.88.1.0/24", &[]);
    let create = |host: &Host, subnet: &str, name: &str| {
        host.cnm(&["net", "create", "-d", "overlay", "--subnet", subnet, name])
    };
    let out = create(b, "10.88.2.0/24", "ov");
    assert!(!out.success(), "a second global ov was made: {out}");
    assert!(
        out.stderr.contains("network with name ov already exists"),
        "{out}"
    );
    assert_eq!(b.ls().iter().filter(|r| r.name == "ov").count(), 1);
    // Its subnet was given back.
    create_overlay(&cluster.hosts[1..], "other", "10.88.2.0/24", &[]);

    // A name the cluster holds that this host has not seen (yet): only the
    // cluster store can say no.
    cluster.etcd_put("/cnm/v1/names/ghost", &"f".repeat(64));
    let out = create(a, "10.88.6.0/24", "ghost");
    assert!(!out.success(), "ghost was made: {out}");
    assert!(
        out.stderr
            .contains("network with name ghost already exists in the cluster (id ffffffffffff)"),
        "{out}"
    );
    // At the same moment neither host knows the other's network yet.
    for (i, name) in ["race1", "race2", "race3"].into_iter().enumerate() {
        let (sa, sb) = (
            format!("10.88.{}.0/24", 10 + 2 * i),
            format!("10.88.{}.0/24", 11 + 2 * i),
        );
        let (ra, rb) = std::thread::scope(|s| {
            let ta = s.spawn(|| create(a, &sa, name));
            let tb = s.spawn(|| create(b, &sb, name));
            (ta.join().expect("a"), tb.join().expect("b"))
        });
        assert!(
            ra.success() != rb.success(),
            "exactly one host may make {name}: {ra}\n{rb}"
        );
    }

    a.cnm_ok(&["net", "rm", "ov"]);
    wait_until(Duration::from_secs(5), "ov removed on b", || {
        !b.ls().iter().any(|r| r.name == "ov")
    });
    create_overlay(&cluster.hosts[1..], "ov", "10.88.5.0/24", &[]);
}
