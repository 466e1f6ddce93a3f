//! `cnm net connect`: what appears inside the container (eth0, address,
//! MAC, lo, default route), reachability, several networks, sandbox
//! identity across paths, and static-address errors.

use cnm_tests::addr::cidr_contains;
use cnm_tests::cli::assert_stderr_mentions;
use cnm_tests::inspect::addr_of;
use cnm_tests::snapshot::{assert_unchanged, snapshot};
use cnm_tests::{case, kernel, Case, Host, KERNEL, KERNEL_PING};

use crate::create::create;

pub fn cases() -> Vec<Case> {
    vec![
        case("configures_eth0", KERNEL, configures_eth0),
        case(
            "containers_ping_each_other",
            KERNEL_PING,
            containers_ping_each_other,
        ),
        case("second_network_is_eth1", KERNEL, second_network_is_eth1),
        case(
            "name_defaults_to_netns_file",
            KERNEL,
            name_defaults_to_netns_file,
        ),
        case("connect_twice_fails", KERNEL, connect_twice_fails),
        case(
            "other_path_is_same_sandbox",
            KERNEL,
            other_path_is_same_sandbox,
        ),
        case("static_ip_and_alias", KERNEL, static_ip_and_alias),
        case("static_ip_errors", KERNEL, static_ip_errors),
    ]
}

fn configures_eth0() {
    let host = Host::start();
    let id = create(&host, &["n1"]);
    // Loopback left down on purpose: bringing it up is cnmd's job.
    let c1 = host.bare_container("c1");
    host.connect_named("n1", &c1, &[]);

    let net = host.inspect("n1");
    let ep = net.expect_endpoint("c1");
    assert!(!ep.endpoint_id.is_empty(), "empty EndpointID");
    assert!(cidr_contains("172.18.0.0/16", &ep.ipv4_address), "{ep:?}");
    assert!(
        ep.ipv4_address.ends_with("/16"),
        "IPv4Address lacks /16: {ep:?}"
    );
    assert_ne!(
        addr_of(&ep.ipv4_address),
        "172.18.0.1",
        "got the gateway address"
    );

    let eth0 = c1.link("eth0").expect("eth0 inside the container");
    assert!(eth0.up, "eth0 is down");
    assert_eq!(
        eth0.mac,
        ep.mac_address.to_lowercase(),
        "MAC differs from inspect"
    );
    assert_eq!(c1.ipv4_addrs("eth0"), vec![ep.ipv4_address.clone()]);
    assert!(
        c1.link("lo").is_some_and(|l| l.up),
        "lo is not up in the container"
    );
    let route = kernel::default_route(c1.ns(), "-4").expect("a default route");
    assert_eq!(route.gateway.as_deref(), Some("172.18.0.1"));
    assert_eq!(route.dev, "eth0");

    // The host end is a veth port of the network's bridge.
    let bridge = format!("cnm{}", &id[..12]);
    let veths: Vec<_> = kernel::links(host.ns())
        .into_iter()
        .filter(|l| l.kind == "veth")
        .collect();
    assert_eq!(veths.len(), 1, "host veths: {veths:?}");
    assert_eq!(veths[0].master.as_deref(), Some(bridge.as_str()));
    assert!(veths[0].up, "host veth is down");
}

fn containers_ping_each_other() {
    let host = Host::start();
    create(&host, &["n1"]);
    let (c1, c2) = (host.container("c1"), host.container("c2"));
    host.connect_named("n1", &c1, &[]);
    host.connect_named("n1", &c2, &[]);
    let net = host.inspect("n1");
    let a1 = addr_of(&net.expect_endpoint("c1").ipv4_address).to_string();
    let a2 = addr_of(&net.expect_endpoint("c2").ipv4_address).to_string();
    for (from, to) in [(&c1, &a2), (&c2, &a1), (&c1, &"172.18.0.1".to_string())] {
        let out = from.ping(to);
        assert!(out.success(), "{} cannot reach {to}: {out}", from.label());
    }
}

fn second_network_is_eth1() {
    let host = Host::start();
    create(&host, &["n1"]);
    create(&host, &["n2"]);
    let c1 = host.container("c1");
    host.connect_named("n1", &c1, &[]);
    host.connect_named("n2", &c1, &[]);
    let ep1 = host.inspect("n1").expect_endpoint("c1").clone();
    let ep2 = host.inspect("n2").expect_endpoint("c1").clone();
    assert!(cidr_contains("172.19.0.0/16", &ep2.ipv4_address), "{ep2:?}");
    assert_eq!(c1.ipv4_addrs("eth0"), vec![ep1.ipv4_address]);
    assert_eq!(c1.ipv4_addrs("eth1"), vec![ep2.ipv4_address]);
}

fn name_defaults_to_netns_file() {
    let host = Host::start();
    create(&host, &["n1"]);
    let c1 = host.container("c1");
    let out = host.connect("n1", &c1, &[]);
    assert!(out.success(), "connect: {out}");
    let net = host.inspect("n1");
    assert!(
        net.endpoint_named(c1.name()).is_some(),
        "no endpoint named after the netns file {}: {:#?}",
        c1.name(),
        net.containers
    );
}

fn connect_twice_fails() {
    let host = Host::start();
    create(&host, &["n1"]);
    let c1 = host.container("c1");
    host.connect_named("n1", &c1, &[]);
    let before = snapshot(&host);
    let out = host.connect("n1", &c1, &["--name", "c1"]);
    assert!(!out.success(), "second connect succeeded: {out}");
    assert_stderr_mentions(&out, &["already"]);
    assert_unchanged("second connect", &before, &snapshot(&host));
    assert!(c1.link("eth1").is_none(), "a second interface appeared");
}

fn other_path_is_same_sandbox() {
    let host = Host::start();
    create(&host, &["n1"]);
    create(&host, &["n2"]);
    let c1 = host.container("c1");
    host.connect_named("n1", &c1, &[]);
    let before = snapshot(&host);

    let sleeper = c1.spawn_sleeper();
    let proc_path = sleeper.ns_path().to_string_lossy().into_owned();
    let alias = c1.bind_alias(&host.dir().join("c1-alias"));
    let alias_path = alias.path().to_string_lossy().into_owned();
    for path in [&proc_path, &alias_path] {
        let out = host.cnm(&["net", "connect", "n1", "--netns", path]);
        assert!(!out.success(), "connect via {path} succeeded: {out}");
        assert_stderr_mentions(&out, &["already"]);
        assert_unchanged(&format!("connect via {path}"), &before, &snapshot(&host));
    }

    // Through the other path, the same sandbox joins a second network.
    host.cnm_ok(&["net", "connect", "n2", "--netns", &proc_path]);
    let key = |net: &str| {
        let n = host.inspect(net);
        assert_eq!(n.containers.len(), 1, "{net}: {:#?}", n.containers);
        n.containers.keys().next().cloned().unwrap_or_default()
    };
    assert_eq!(key("n1"), key("n2"), "the sandbox id differs between paths");
    assert!(
        c1.link("eth1").is_some(),
        "no eth1 after connecting via /proc path"
    );
}

fn static_ip_and_alias() {
    let host = Host::start();
    create(&host, &["n1"]);
    let c1 = host.container("c1");
    host.connect_named("n1", &c1, &["--ip", "172.18.0.50", "--alias", "web-a"]);
    let ep = host.inspect("n1").expect_endpoint("c1").clone();
    assert_eq!(ep.ipv4_address, "172.18.0.50/16");
    assert_eq!(c1.ipv4_addrs("eth0"), vec!["172.18.0.50/16"]);
}

fn static_ip_errors() {
    let host = Host::start();
    create(&host, &["n1"]);
    let (c1, c2) = (host.container("c1"), host.container("c2"));
    host.connect_named("n1", &c1, &["--ip", "172.18.0.50"]);
    let before = snapshot(&host);
    let cases: [(&str, &[&str]); 3] = [
        ("10.9.9.9", &["10.9.9.9", "subnet", "range", "outside"]),
        ("172.18.0.50", &["in use", "already", "allocated"]),
        (
            "172.18.0.1",
            &["in use", "already", "allocated", "gateway", "reserved"],
        ),
    ];
    for (ip, needles) in cases {
        let out = host.connect("n1", &c2, &["--name", "c2", "--ip", ip]);
        assert!(!out.success(), "connect --ip {ip} succeeded: {out}");
        assert_stderr_mentions(&out, needles);
        assert_unchanged(&format!("connect --ip {ip}"), &before, &snapshot(&host));
        assert!(c2.link("eth0").is_none(), "failed connect left eth0 in c2");
    }
}
