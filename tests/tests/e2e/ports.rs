//! Port publishing (`cnm net connect -p`), checked with real traffic from
//! an outside client on the host's uplink, from the host itself and from
//! containers (hairpin): TCP, UDP, ranges, ephemeral ports, IPv6, host-IP
//! bindings, the loopback guard, conflicts, disconnect and bad specs.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use cnm_tests::cli::assert_stderr_mentions;
use cnm_tests::client::{add_uplink_addr, Client, CLIENT_V4, CLIENT_V6, HOST_V4, HOST_V6, UPLINK};
use cnm_tests::firewall::cnm_table_json;
use cnm_tests::inspect::addr_of;
use cnm_tests::netns::NetNs;
use cnm_tests::sctp::{send_init, SctpWatcher, SeenInit};
use cnm_tests::snapshot::{assert_unchanged, snapshot, Snapshot};
use cnm_tests::traffic::{expect_not_served, expect_served, sock, EchoServer, Proto, Reply};
use cnm_tests::{case, Case, Container, Host, FIREWALL, FIREWALL_IPV6};

use crate::create::create;

pub fn cases() -> Vec<Case> {
    vec![
        case(
            "tcp_from_client_and_host",
            FIREWALL,
            tcp_from_client_and_host,
        ),
        case("udp", FIREWALL, udp),
        case("sctp", FIREWALL, sctp),
        case("range", FIREWALL, range),
        case("ephemeral_host_port", FIREWALL, ephemeral_host_port),
        case("ipv6", FIREWALL_IPV6, ipv6),
        case("hairpin", FIREWALL, hairpin),
        case("client_source_ip", FIREWALL, client_source_ip),
        case(
            "loopback_publish_not_reachable_from_client",
            FIREWALL,
            loopback_publish_not_reachable_from_client,
        ),
        case("ipv6_loopback", FIREWALL_IPV6, ipv6_loopback),
        case("bound_to_one_host_ip", FIREWALL, bound_to_one_host_ip),
        case("default_host_ip_flag", FIREWALL, default_host_ip_flag),
        case("conflict_names_holder", FIREWALL, conflict_names_holder),
        case("disconnect_frees_port", FIREWALL, disconnect_frees_port),
        case(
            "bad_specs_change_nothing",
            FIREWALL,
            bad_specs_change_nothing,
        ),
    ]
}

/// The flags of a dual-stack `web` for [`host_with_client`].
const IPV6_WEB: &[&str] = &["--ipv6", "--subnet", "fd00:cafe::/64"];

/// A host with an outside client on its uplink and network `web`.
pub fn host_with_client(net_args: &[&str], ipv6: bool) -> (Host, Client) {
    let host = Host::start();
    let client = Client::attach(&host, "client", ipv6);
    let mut args = net_args.to_vec();
    args.push("web");
    create(&host, &args);
    (host, client)
}

/// [`host_with_client`], with `c1` on `web` publishing `8080:80` to its
/// TCP [`serve`]r on port 80.
pub fn c1_published_on_8080(
    net_args: &[&str],
    ipv6: bool,
) -> (Host, Client, Container, EchoServer) {
    let (host, client) = host_with_client(net_args, ipv6);
    let (c1, server) = publish_c1(&host, "8080:80", Proto::Tcp, 80);
    (host, client, c1, server)
}

/// `c1` on `web` publishing `-p SPEC`, with its [`serve`]r for `proto` on
/// `port`.
pub fn publish_c1(host: &Host, spec: &str, proto: Proto, port: u16) -> (Container, EchoServer) {
    let c1 = host.container("c1");
    connect_publishing(host, "web", &c1, &[spec]);
    let server = serve(&c1, proto, port);
    (c1, server)
}

/// Connects `c` to `net` as `--name LABEL -p SPEC…`; asserts success.
pub fn connect_publishing(host: &Host, net: &str, c: &Container, specs: &[&str]) {
    let args: Vec<&str> = specs.iter().flat_map(|s| ["-p", *s]).collect();
    host.connect_named(net, c, &args);
}

/// An echo server in `c` on `port`, tagged `LABEL:PORT`.
pub fn serve(c: &Container, proto: Proto, port: u16) -> EchoServer {
    EchoServer::start(c.ns(), proto, port, &tag(c, port))
}

/// The tag of [`serve`]'s server in `c` on `port`.
pub fn tag(c: &Container, port: u16) -> String {
    format!("{}:{port}", c.label())
}

/// Asserts that a TCP request from `from` to `to` is answered by the
/// [`serve`]r of `c` on `port`.
pub fn expect_tcp_served(
    host: &Host,
    from: &NetNs,
    to: SocketAddr,
    c: &Container,
    port: u16,
) -> Reply {
    expect_served(host, from, Proto::Tcp, to, &tag(c, port))
}

/// The IPv4 address (no prefix) of `label`'s endpoint on `net`.
pub fn endpoint_ipv4(host: &Host, net: &str, label: &str) -> String {
    let net = host.inspect(net);
    addr_of(&net.expect_endpoint(label).ipv4_address).to_string()
}

/// `cnm port NAME ARGS…`, one binding per line, sorted.
fn port_lines(host: &Host, name: &str, args: &[&str]) -> Vec<String> {
    let mut full = vec!["port", name];
    full.extend_from_slice(args);
    let mut lines: Vec<String> = host
        .cnm_ok(&full)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    lines.sort();
    lines
}

fn tcp_from_client_and_host() {
    let (host, client, c1, _server) = c1_published_on_8080(&[], false);
    let tag = tag(&c1, 80);
    assert_eq!(port_lines(&host, "c1", &[]), ["80/tcp -> 0.0.0.0:8080"]);

    expect_served(&host, client.ns(), Proto::Tcp, sock(HOST_V4, 8080), &tag);
    for local in ["127.0.0.1", HOST_V4] {
        expect_served(&host, host.ns(), Proto::Tcp, sock(local, 8080), &tag);
    }
    // Published for TCP only.
    expect_not_served(&host, client.ns(), Proto::Udp, sock(HOST_V4, 8080));
}

fn udp() {
    let (host, client) = host_with_client(&[], false);
    let (c1, _server) = publish_c1(&host, "5353:53/udp", Proto::Udp, 53);
    assert_eq!(port_lines(&host, "c1", &[]), ["53/udp -> 0.0.0.0:5353"]);
    let tag = tag(&c1, 53);
    let reply = expect_served(&host, client.ns(), Proto::Udp, sock(HOST_V4, 5353), &tag);
    assert_eq!(reply.peer.to_string(), CLIENT_V4, "UDP source not kept");
    expect_served(&host, host.ns(), Proto::Udp, sock("127.0.0.1", 5353), &tag);
}

/// SCTP is DNATed like TCP and UDP; the INIT arrives at the container port
/// with the client's address (sent raw: this kernel has no SCTP sockets).
fn sctp() {
    let (host, client) = host_with_client(&[], false);
    let c1 = host.container("c1");
    connect_publishing(&host, "web", &c1, &["9000:90/sctp"]);
    assert_eq!(port_lines(&host, "c1", &[]), ["90/sctp -> 0.0.0.0:9000"]);
    let watcher = SctpWatcher::open(c1.ns());
    let host_v4: Ipv4Addr = HOST_V4.parse().expect("HOST_V4");

    send_init(client.ns(), 5000, SocketAddrV4::new(host_v4, 9001));
    send_init(client.ns(), 5001, SocketAddrV4::new(host_v4, 9000));
    let seen = watcher
        .next_init(Duration::from_secs(2))
        .expect("no SCTP INIT reached c1 through the published port 9000/sctp");
    assert_eq!(
        seen,
        SeenInit {
            source: CLIENT_V4.parse().expect("CLIENT_V4"),
            source_port: 5001,
            dest_port: 90,
        },
        "the INIT to the unpublished 9001 arrived, or 9000 was not rewritten"
    );
    // Published for SCTP only.
    expect_not_served(&host, client.ns(), Proto::Tcp, sock(HOST_V4, 9000));
}

fn range() {
    let (host, client) = host_with_client(&[], false);
    let c1 = host.container("c1");
    connect_publishing(&host, "web", &c1, &["8000-8001:80-81"]);
    let _servers = [serve(&c1, Proto::Tcp, 80), serve(&c1, Proto::Tcp, 81)];
    assert_eq!(
        port_lines(&host, "c1", &[]),
        ["80/tcp -> 0.0.0.0:8000", "81/tcp -> 0.0.0.0:8001"]
    );
    assert_eq!(
        port_lines(&host, "c1", &["--port", "81/tcp"]),
        ["81/tcp -> 0.0.0.0:8001"]
    );
    for (host_port, port) in [(8000, 80), (8001, 81)] {
        expect_tcp_served(&host, client.ns(), sock(HOST_V4, host_port), &c1, port);
    }
}

fn ephemeral_host_port() {
    let (host, client) = host_with_client(&[], false);
    let (c1, _server) = publish_c1(&host, "80", Proto::Tcp, 80);
    let lines = port_lines(&host, "c1", &["--port", "80/tcp"]);
    assert_eq!(lines.len(), 1, "one binding expected: {lines:?}");
    let port: u16 = lines[0]
        .strip_prefix("80/tcp -> 0.0.0.0:")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected `cnm port` line {:?}", lines[0]));
    assert_ne!(port, 0, "host port 0 reported");
    expect_tcp_served(&host, client.ns(), sock(HOST_V4, port), &c1, 80);
}

fn ipv6() {
    let (host, client, c1, _server) = c1_published_on_8080(IPV6_WEB, true);
    assert_eq!(
        port_lines(&host, "c1", &[]),
        ["80/tcp -> 0.0.0.0:8080", "80/tcp -> [::]:8080"]
    );
    let tag = tag(&c1, 80);
    let reply = expect_served(&host, client.ns(), Proto::Tcp, sock(HOST_V6, 8080), &tag);
    assert_eq!(reply.peer.to_string(), CLIENT_V6, "IPv6 source not kept");
    expect_served(&host, client.ns(), Proto::Tcp, sock(HOST_V4, 8080), &tag);
}

fn hairpin() {
    let (host, _client, c1, _server) = c1_published_on_8080(&[], false);
    let c2 = host.container("c2");
    host.connect_named("web", &c2, &[]);
    for from in [&c2, &c1] {
        expect_tcp_served(&host, from.ns(), sock(HOST_V4, 8080), &c1, 80);
    }
}

fn client_source_ip() {
    let (host, client, c1, _server) = c1_published_on_8080(&[], false);
    let reply = expect_tcp_served(&host, client.ns(), sock(HOST_V4, 8080), &c1, 80);
    assert_eq!(
        reply.peer.to_string(),
        CLIENT_V4,
        "the container saw the connection come from {} (masqueraded?)",
        reply.peer
    );
}

fn loopback_publish_not_reachable_from_client() {
    let (host, client) = host_with_client(&[], false);
    let (c1, _server) = publish_c1(&host, "127.0.0.1:8080:80", Proto::Tcp, 80);
    assert_eq!(port_lines(&host, "c1", &[]), ["80/tcp -> 127.0.0.1:8080"]);
    expect_tcp_served(&host, host.ns(), sock("127.0.0.1", 8080), &c1, 80);
    expect_not_served(&host, client.ns(), Proto::Tcp, sock(HOST_V4, 8080));

    // The attack: the client sends to 127.0.0.1 with the host as next hop,
    // hoping DNAT rewrites it before the kernel drops the martian.
    route_loopback_via_host(&client);
    let rx_before = uplink_rx_packets(&host);
    let err = expect_not_served(&host, client.ns(), Proto::Tcp, sock("127.0.0.1", 8080));
    assert!(
        err.contains("TimedOut") || err.contains("ConnectionRefused"),
        "the crafted connection failed locally, not at the host: {err}"
    );
    assert!(
        uplink_rx_packets(&host) > rx_before,
        "the crafted SYNs never reached the host's uplink; the attack setup is broken"
    );
}

/// Linux cannot DNAT IPv6 loopback into a bridge (the reply to ::1 is a
/// martian): `-p [::1]:…` is refused with the reason, and on a dual-stack
/// network the host's `[::1]:PORT` refuses at once instead of hanging, so
/// `localhost` clients fall back to 127.0.0.1.
fn ipv6_loopback() {
    let (host, _client, c1, _server) = c1_published_on_8080(IPV6_WEB, true);
    let c2 = host.container("c2");
    let started = Instant::now();
    let err = expect_not_served(&host, host.ns(), Proto::Tcp, sock("::1", 8080));
    assert!(
        err.contains("ConnectionRefused"),
        "[::1]:8080 should refuse, not {err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "[::1]:8080 took {:?} to fail",
        started.elapsed()
    );
    expect_tcp_served(&host, host.ns(), sock("127.0.0.1", 8080), &c1, 80);

    let before = Untouched::take(&host);
    let out = host.connect("web", &c2, &["--name", "c2", "-p", "[::1]:9090:90"]);
    assert!(!out.success(), "-p [::1]:9090:90 was accepted: {out}");
    assert_stderr_mentions(&out, &["[::1]:9090", "IPv6 loopback", "127.0.0.1"]);
    before.check(&host, "-p [::1]:9090:90");
}

/// What a refused publish must leave as it was: the host's [`snapshot`]
/// and its table `inet cnm`.
struct Untouched {
    snapshot: Snapshot,
    table: Option<String>,
}

impl Untouched {
    fn take(host: &Host) -> Untouched {
        Untouched {
            snapshot: snapshot(host),
            table: cnm_table_json(host),
        }
    }

    /// Asserts that neither changed since [`Untouched::take`]; `what` names
    /// the refused request.
    fn check(&self, host: &Host, what: &str) {
        assert_unchanged(what, &self.snapshot, &snapshot(host));
        assert_eq!(
            self.table,
            cnm_table_json(host),
            "{what}: nftables table changed"
        );
    }
}

/// Makes the client send 127.0.0.0/8 out of eth0 towards the host: no
/// loopback addresses of its own, a route via the host, and
/// `route_localnet` so its kernel lets such packets leave.
fn route_loopback_via_host(client: &Client) {
    client.ip_ok(&["addr", "flush", "dev", "lo"]);
    client.ip_ok(&["route", "add", "127.0.0.0/8", "via", HOST_V4, "dev", "eth0"]);
    for conf in ["all", "eth0"] {
        let key = format!("net.ipv4.conf.{conf}.route_localnet=1");
        let out = client.ns().exec(&["sysctl", "-w", &key]);
        assert!(out.success(), "{out}");
    }
}

/// Packets received on the host's uplink so far (`ip -s link`: /sys shows
/// the test's own namespace, not the host's).
fn uplink_rx_packets(host: &Host) -> u64 {
    let out = host
        .ns()
        .ip_ok(&["-j", "-s", "link", "show", "dev", UPLINK]);
    let links: serde_json::Value = serde_json::from_str(&out).expect("`ip -j` JSON");
    links[0]["stats64"]["rx"]["packets"]
        .as_u64()
        .unwrap_or_else(|| panic!("no rx packet count in {out}"))
}

/// Asserts that c1's TCP port 80 is published on 198.51.100.10:8080 and
/// served there, and not on the uplink's first address.
fn expect_only_on_second_host_ip(host: &Host, client: &Client, c1: &Container) {
    assert_eq!(
        port_lines(host, "c1", &[]),
        ["80/tcp -> 198.51.100.10:8080"]
    );
    expect_tcp_served(host, client.ns(), sock("198.51.100.10", 8080), c1, 80);
    expect_not_served(host, client.ns(), Proto::Tcp, sock(HOST_V4, 8080));
}

fn bound_to_one_host_ip() {
    let (host, client) = host_with_client(&[], false);
    add_uplink_addr(&host, "198.51.100.10/24");
    let (c1, _server) = publish_c1(&host, "198.51.100.10:8080:80", Proto::Tcp, 80);
    expect_only_on_second_host_ip(&host, &client, &c1);
}

/// `cnmd --default-host-ip 198.51.100.10`: a `-p` without an address is
/// published on that address only.
fn default_host_ip_flag() {
    let host = Host::start_with(&["--default-host-ip", "198.51.100.10"]);
    let client = Client::attach(&host, "client", false);
    create(&host, &["web"]);
    add_uplink_addr(&host, "198.51.100.10/24");
    let (c1, _server) = publish_c1(&host, "8080:80", Proto::Tcp, 80);
    expect_only_on_second_host_ip(&host, &client, &c1);
}

fn conflict_names_holder() {
    let (host, client, c1, _server) = c1_published_on_8080(&[], false);
    let c2 = host.container("c2");
    let before = Untouched::take(&host);

    let out = host.connect("web", &c2, &["--name", "c2", "-p", "8080:80"]);
    assert!(!out.success(), "second publish of 8080 succeeded: {out}");
    assert_stderr_mentions(
        &out,
        &["host port 8080/tcp on 0.0.0.0 is already published by sandbox c1"],
    );
    before.check(&host, "conflicting publish");
    assert!(
        c2.link("eth0").is_none(),
        "the refused connect left eth0 in c2"
    );
    expect_tcp_served(&host, client.ns(), sock(HOST_V4, 8080), &c1, 80);
}

fn disconnect_frees_port() {
    let (host, client) = host_with_client(&[], false);
    let (c1, c2) = (host.container("c1"), host.container("c2"));
    connect_publishing(&host, "web", &c1, &["8080:80"]);
    let c1_ip = endpoint_ipv4(&host, "web", "c1");
    let _servers = [serve(&c1, Proto::Tcp, 80), serve(&c2, Proto::Tcp, 80)];
    expect_tcp_served(&host, client.ns(), sock(HOST_V4, 8080), &c1, 80);

    host.disconnect_ok("web", &c1);
    expect_not_served(&host, client.ns(), Proto::Tcp, sock(HOST_V4, 8080));
    let table = cnm_table_json(&host).expect("table inet cnm exists");
    assert!(
        !table.contains(&format!("\"{c1_ip}\"")),
        "table inet cnm still mentions c1's old address {c1_ip}: {table}"
    );

    connect_publishing(&host, "web", &c2, &["8080:80"]);
    expect_tcp_served(&host, client.ns(), sock(HOST_V4, 8080), &c2, 80);
}

fn bad_specs_change_nothing() {
    let (host, _client) = host_with_client(&[], false);
    let (c1, c2) = (host.container("c1"), host.container("c2"));
    connect_publishing(&host, "web", &c1, &["8080:80"]);
    let before = Untouched::take(&host);
    for spec in ["0", "80/icmp", "8000-8001:80-82"] {
        // A good spec first: a half-applied request must be rolled back.
        let out = host.connect("web", &c2, &["--name", "c2", "-p", "9090:90", "-p", spec]);
        assert!(!out.success(), "-p {spec} was accepted: {out}");
        assert_stderr_mentions(&out, &[spec]);
        let what = format!("-p {spec}");
        before.check(&host, &what);
        assert!(c2.link("eth0").is_none(), "{what}: eth0 left in c2");
    }
}
