//! The container firewall (table `inet cnm` in the host namespace), checked
//! with real traffic: container addresses are not routable from outside,
//! networks are isolated, `--internal` has no way out, `enable_icc=false`
//! isolates bridge ports, masquerade can be turned off, and the table comes
//! back after `nft flush ruleset`, after its deletion and after kill -9.

use std::time::{Duration, Instant};

use cnm_tests::client::{Client, CLIENT_V4, HOST_V4};
use cnm_tests::exec::eventually;
use cnm_tests::firewall::{cnm_table_handle, cnm_table_json, delete_cnm_table, flush_ruleset};
use cnm_tests::traffic::{expect_not_served, expect_served, request, sock, EchoServer, Proto};
use cnm_tests::{case, Case, Host, FIREWALL, FIREWALL_PING};

use crate::create::create;
use crate::ports::{
    c1_published_on_8080, endpoint_ipv4, expect_tcp_served, host_with_client, serve, tag,
};

/// How soon cnmd must have put its table back after someone removed it.
const RESTORE_WITHIN: Duration = Duration::from_secs(3);

pub fn cases() -> Vec<Case> {
    vec![
        case(
            "foreign_forward_drop_is_reported",
            FIREWALL,
            foreign_forward_drop_is_reported,
        ),
        case(
            "container_not_routable_from_client",
            FIREWALL,
            container_not_routable_from_client,
        ),
        case("networks_isolated", FIREWALL, networks_isolated),
        case("internal_has_no_way_out", FIREWALL, internal_has_no_way_out),
        case(
            "icc_false_isolates_ports",
            FIREWALL_PING,
            icc_false_isolates_ports,
        ),
        case(
            "icc_false_without_br_netfilter",
            FIREWALL_PING,
            icc_false_without_br_netfilter,
        ),
        case(
            "masquerade_off_keeps_source",
            FIREWALL,
            masquerade_off_keeps_source,
        ),
        case(
            "restored_after_flush_ruleset",
            FIREWALL,
            restored_after_flush_ruleset,
        ),
        case(
            "restored_after_table_deleted",
            FIREWALL,
            restored_after_table_deleted,
        ),
        case(
            "kill9_restart_matches_store",
            FIREWALL,
            kill9_restart_matches_store,
        ),
    ]
}

/// Gives the client a route to `subnet` via the host's uplink address, as
/// an attacker on the host's LAN could.
fn route_via_host(client: &Client, subnet: &str) {
    client.ip_ok(&["route", "add", subnet, "via", HOST_V4]);
}

/// The network's IPv4 subnet and gateway from `net inspect`.
fn ipv4_subnet_and_gateway(host: &Host, net: &str) -> (String, String) {
    let net = host.inspect(net);
    let config = net.ipv4_config().expect("an IPv4 IPAM config");
    (config.subnet.clone(), config.gateway.clone())
}

fn container_not_routable_from_client() {
    let (host, client, c1, _server) = c1_published_on_8080(&[], false);
    let (subnet, _) = ipv4_subnet_and_gateway(&host, "web");
    route_via_host(&client, &subnet);

    expect_tcp_served(&host, client.ns(), sock(HOST_V4, 8080), &c1, 80);
    let c1_ip = endpoint_ipv4(&host, "web", "c1");
    expect_not_served(&host, client.ns(), Proto::Tcp, sock(&c1_ip, 80));
}

fn networks_isolated() {
    let host = Host::start();
    create(&host, &["a"]);
    create(&host, &["b"]);
    let (ca, cb, cb2) = (
        host.container("ca"),
        host.container("cb"),
        host.container("cb2"),
    );
    host.connect_named("a", &ca, &[]);
    host.connect_named("b", &cb, &[]);
    host.connect_named("b", &cb2, &[]);
    let _servers = [serve(&ca, Proto::Tcp, 80), serve(&cb, Proto::Tcp, 80)];
    let (ca_ip, cb_ip) = (
        endpoint_ipv4(&host, "a", "ca"),
        endpoint_ipv4(&host, "b", "cb"),
    );

    expect_tcp_served(&host, cb2.ns(), sock(&cb_ip, 80), &cb, 80);
    expect_not_served(&host, ca.ns(), Proto::Tcp, sock(&cb_ip, 80));
    expect_not_served(&host, cb.ns(), Proto::Tcp, sock(&ca_ip, 80));
}

fn internal_has_no_way_out() {
    let (host, client) = host_with_client(&[], false);
    create(&host, &["--internal", "int"]);
    let (i1, i2, c3) = (
        host.container("i1"),
        host.container("i2"),
        host.container("c3"),
    );
    host.connect_named("int", &i1, &[]);
    host.connect_named("int", &i2, &[]);
    host.connect_named("web", &c3, &[]);
    let _servers = [serve(&i2, Proto::Tcp, 80)];
    let _outside = EchoServer::start(client.ns(), Proto::Tcp, 80, "client:80");

    // Control: a container on a normal network gets out (masqueraded).
    let reply = expect_served(&host, c3.ns(), Proto::Tcp, sock(CLIENT_V4, 80), "client:80");
    assert_eq!(reply.peer.to_string(), HOST_V4, "egress not masqueraded");

    let i2_ip = endpoint_ipv4(&host, "int", "i2");
    expect_tcp_served(&host, i1.ns(), sock(&i2_ip, 80), &i2, 80);
    // No default route on an internal network; add one, the firewall must
    // still stop the traffic.
    let (_, gateway) = ipv4_subnet_and_gateway(&host, "int");
    if !gateway.is_empty() {
        let out = i1.ip(&["route", "replace", "default", "via", &gateway]);
        assert!(out.success(), "cannot add a default route in i1: {out}");
    }
    expect_not_served(&host, i1.ns(), Proto::Tcp, sock(CLIENT_V4, 80));
}

fn icc_false_isolates_ports() {
    expect_icc_false_isolation(&Host::start());
}

/// The same with bridged traffic kept away from the inet hooks (no
/// `br_netfilter` in the host namespace, as on many hosts): isolation must
/// then come from the bridge ports themselves.
fn icc_false_without_br_netfilter() {
    let host = Host::start();
    for family in ["iptables", "ip6tables"] {
        let key = format!("net.bridge.bridge-nf-call-{family}");
        // Absent when br_netfilter is not loaded: nothing to turn off.
        if host.ns().exec(&["sysctl", "-n", &key]).success() {
            let out = host.ns().exec(&["sysctl", "-w", &format!("{key}=0")]);
            assert!(out.success(), "{out}");
        }
    }
    expect_icc_false_isolation(&host);
}

/// On an `enable_icc=false` network, two containers cannot reach each
/// other but both reach the gateway.
fn expect_icc_false_isolation(host: &Host) {
    create(
        host,
        &["-o", "com.docker.network.bridge.enable_icc=false", "noicc"],
    );
    let (c1, c2) = (host.container("c1"), host.container("c2"));
    host.connect_named("noicc", &c1, &[]);
    host.connect_named("noicc", &c2, &[]);
    let _servers = [serve(&c1, Proto::Tcp, 80), serve(&c2, Proto::Tcp, 80)];
    let (c1_ip, c2_ip) = (
        endpoint_ipv4(host, "noicc", "c1"),
        endpoint_ipv4(host, "noicc", "c2"),
    );
    expect_not_served(host, c1.ns(), Proto::Tcp, sock(&c2_ip, 80));
    expect_not_served(host, c2.ns(), Proto::Tcp, sock(&c1_ip, 80));
    let (_, gateway) = ipv4_subnet_and_gateway(host, "noicc");
    for c in [&c1, &c2] {
        let out = c.ping(&gateway);
        assert!(
            out.success(),
            "{} cannot reach the gateway: {out}",
            c.label()
        );
    }
}

fn masquerade_off_keeps_source() {
    let (host, client) = host_with_client(
        &["-o", "com.docker.network.bridge.enable_ip_masquerade=false"],
        false,
    );
    let c1 = host.container("c1");
    host.connect_named("web", &c1, &[]);
    let _outside = EchoServer::start(client.ns(), Proto::Tcp, 80, "client:80");
    // Without masquerade the client needs a route back to the container.
    let (subnet, _) = ipv4_subnet_and_gateway(&host, "web");
    route_via_host(&client, &subnet);
    let reply = expect_served(&host, c1.ns(), Proto::Tcp, sock(CLIENT_V4, 80), "client:80");
    assert_eq!(
        reply.peer.to_string(),
        endpoint_ipv4(&host, "web", "c1"),
        "egress was masqueraded although enable_ip_masquerade=false"
    );
}

/// Publishes c1's port 80 as 8080 and checks the client reaches it; then
/// runs `disturb` and checks the client reaches it again within
/// [`RESTORE_WITHIN`], with no command sent to cnmd.
fn expect_restored_after(what: &str, disturb: fn(&Host)) {
    let (host, client, c1, _server) = c1_published_on_8080(&[], false);
    let (to, tag) = (sock(HOST_V4, 8080), tag(&c1, 80));
    expect_served(&host, client.ns(), Proto::Tcp, to, &tag);
    let handle = cnm_table_handle(&host).expect("table inet cnm exists");

    disturb(&host);
    let start = Instant::now();
    eventually(RESTORE_WITHIN, || {
        match request(client.ns(), Proto::Tcp, to) {
            Ok(reply) if reply.tag == tag => Ok(()),
            Ok(reply) => Err(format!("answered by {}", reply.tag)),
            Err(e) => Err(e),
        }
    })
    .unwrap_or_else(|e| {
        panic!(
            "published port not back {RESTORE_WITHIN:?} after {what}: {e}\n{}",
            host.log_tail()
        )
    });
    eprintln!(
        "firewall: port served again {:?} after {what}",
        start.elapsed()
    );
    let new_handle = cnm_table_handle(&host).expect("table inet cnm exists again");
    assert_ne!(
        handle, new_handle,
        "{what} did not replace the table; the test proves nothing"
    );
}

fn restored_after_flush_ruleset() {
    expect_restored_after("nft flush ruleset", flush_ruleset);
}

fn restored_after_table_deleted() {
    expect_restored_after("nft delete table inet cnm", delete_cnm_table);
}

fn kill9_restart_matches_store() {
    let (mut host, client, c1, _server) = c1_published_on_8080(&[], false);
    let (to, tag) = (sock(HOST_V4, 8080), tag(&c1, 80));
    let c1_ip = endpoint_ipv4(&host, "web", "c1");
    expect_served(&host, client.ns(), Proto::Tcp, to, &tag);

    host.kill9();
    // While cnmd is down the host's firewall is reloaded: the restarted
    // cnmd must rebuild its table from the store.
    flush_ruleset(&host);
    host.restart();
    expect_served(&host, client.ns(), Proto::Tcp, to, &tag);

    host.disconnect_ok("web", &c1);
    expect_not_served(&host, client.ns(), Proto::Tcp, to);
    let table = cnm_table_json(&host).expect("table inet cnm exists after restart");
    assert!(
        !table.contains(&format!("\"{c1_ip}\"")),
        "table inet cnm still points at the disconnected {c1_ip}: {table}"
    );
}

/// Another table whose forward chain drops by policy overrides our accepts
/// (in nf_tables any drop wins): `cnm system info` must say so.
fn foreign_forward_drop_is_reported() {
    let host = Host::start();
    let quiet = host.cli().run_ok(&["system", "info"]);
    assert!(
        !quiet.contains("WARNING") && !quiet.contains("forward"),
        "{quiet}"
    );
    let nft = |args: &[&str]| {
        let out = cnm_tests::exec::run(
            std::process::Command::new("nsenter")
                .arg(format!("--net={}", host.ns().path_str()))
                .arg("nft")
                .args(args),
        );
        assert!(out.success(), "{out}");
    };
    nft(&["add", "table", "inet", "hostfw"]);
    nft(&[
        "add",
        "chain",
        "inet",
        "hostfw",
        "forward",
        "{ type filter hook forward priority 0; policy drop; }",
    ]);
    let out = host.cli().run(&["system", "info"]);
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(
        text.contains("hostfw"),
        "the dropping table is not named: {text}"
    );
}
