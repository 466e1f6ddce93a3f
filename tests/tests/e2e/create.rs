//! `cnm net create`: the default address pool, explicit IPAM settings,
//! driver options, `--internal`, labels and dual stack, checked both in
//! `net inspect` and in the kernel.

use cnm_tests::addr::cidr_contains;
use cnm_tests::inspect::{addr_of, is_full_id};
use cnm_tests::{case, kernel, Case, Host, KERNEL, KERNEL_IPV6};

pub fn cases() -> Vec<Case> {
    vec![
        case("default_pool_and_bridge", KERNEL, default_pool_and_bridge),
        case("explicit_ipam_settings", KERNEL, explicit_ipam_settings),
        case("custom_bridge_name", KERNEL, custom_bridge_name),
        case("custom_mtu", KERNEL, custom_mtu),
        case(
            "internal_has_no_default_route",
            KERNEL,
            internal_has_no_default_route,
        ),
        case("labels", KERNEL, labels),
        case("dual_stack", KERNEL_IPV6, dual_stack),
    ]
}

/// `cnm net create ARGS…`; returns the printed id after checking its shape.
pub fn create(host: &Host, args: &[&str]) -> String {
    let mut full = vec!["net", "create"];
    full.extend_from_slice(args);
    let id = host.cnm_ok(&full).trim().to_string();
    assert!(
        is_full_id(&id),
        "`net create` printed {id:?}, not a 64-hex id"
    );
    id
}

fn default_pool_and_bridge() {
    let host = Host::start();
    let id = create(&host, &["n1"]);
    let net = host.inspect("n1");
    assert_eq!(net.id, id);
    assert_eq!(
        (net.driver.as_str(), net.scope.as_str()),
        ("bridge", "local")
    );
    assert!(!net.internal && !net.enable_ipv6);
    let config = net.ipv4_config().expect("an IPv4 IPAM config");
    assert_eq!(
        config.subnet, "172.18.0.0/16",
        "next free pool after bridge's 172.17"
    );
    assert_eq!(config.gateway, "172.18.0.1");
    assert!(host
        .ls()
        .iter()
        .any(|r| r.name == "n1" && id.starts_with(&r.id)));

    let bridge = format!("cnm{}", &id[..12]);
    let link = kernel::link(host.ns(), &bridge)
        .unwrap_or_else(|| panic!("no bridge {bridge}: {:?}", kernel::links(host.ns())));
    assert_eq!(link.kind, "bridge");
    assert!(link.up, "{bridge} is not up");
    assert_eq!(
        kernel::ipv4_addrs(host.ns(), &bridge),
        vec!["172.18.0.1/16"]
    );
}

fn explicit_ipam_settings() {
    let host = Host::start();
    create(
        &host,
        &[
            "--subnet",
            "10.77.0.0/24",
            "--gateway",
            "10.77.0.254",
            "--ip-range",
            "10.77.0.128/25",
            "--aux-address",
            "r=10.77.0.5",
            "n1",
        ],
    );
    let net = host.inspect("n1");
    let config = net.ipv4_config().expect("an IPv4 IPAM config");
    assert_eq!(config.subnet, "10.77.0.0/24");
    assert_eq!(config.gateway, "10.77.0.254");
    assert_eq!(config.ip_range, "10.77.0.128/25");
    assert_eq!(
        config.auxiliary_addresses.get("r").map(String::as_str),
        Some("10.77.0.5")
    );
    let bridge = format!("cnm{}", &net.id[..12]);
    assert_eq!(
        kernel::ipv4_addrs(host.ns(), &bridge),
        vec!["10.77.0.254/24"]
    );

    // Containers get addresses from the range, never the gateway or aux one.
    let containers: Vec<_> = (1..=3).map(|i| host.container(&format!("c{i}"))).collect();
    for c in &containers {
        host.connect_named("n1", c, &[]);
    }
    let net = host.inspect("n1");
    for c in &containers {
        let ep = net.expect_endpoint(c.label());
        let addr = addr_of(&ep.ipv4_address);
        assert!(
            cidr_contains("10.77.0.128/25", addr),
            "{addr} outside --ip-range"
        );
        assert!(
            addr != "10.77.0.254" && addr != "10.77.0.5",
            "{addr} is reserved"
        );
        assert!(
            ep.ipv4_address.ends_with("/24"),
            "{} lacks the subnet's prefix",
            ep.ipv4_address
        );
        assert_eq!(c.ipv4_addrs("eth0"), vec![ep.ipv4_address.clone()]);
    }
}

fn custom_bridge_name() {
    let host = Host::start();
    let id = create(&host, &["-o", "com.docker.network.bridge.name=br-x", "n1"]);
    let net = host.inspect("n1");
    assert_eq!(
        net.options
            .get("com.docker.network.bridge.name")
            .map(String::as_str),
        Some("br-x")
    );
    let link = kernel::link(host.ns(), "br-x").expect("bridge br-x in the host netns");
    assert_eq!(link.kind, "bridge");
    let gateway = &net.ipv4_config().expect("IPv4 config").gateway;
    assert_eq!(
        kernel::ipv4_addrs(host.ns(), "br-x"),
        vec![format!("{gateway}/16")]
    );
    let default_name = format!("cnm{}", &id[..12]);
    assert!(
        kernel::link(host.ns(), &default_name).is_none(),
        "{default_name} made as well"
    );
}

fn custom_mtu() {
    let host = Host::start();
    create(&host, &["-o", "com.docker.network.driver.mtu=1400", "n1"]);
    let net = host.inspect("n1");
    assert_eq!(
        net.options
            .get("com.docker.network.driver.mtu")
            .map(String::as_str),
        Some("1400")
    );
    let c1 = host.container("c1");
    host.connect_named("n1", &c1, &[]);
    let eth0 = c1.link("eth0").expect("eth0 in c1");
    assert_eq!(eth0.mtu, 1400, "container side MTU");
    let veths: Vec<_> = kernel::links(host.ns())
        .into_iter()
        .filter(|l| l.kind == "veth")
        .collect();
    assert_eq!(veths.len(), 1, "host veths: {veths:?}");
    assert_eq!(veths[0].mtu, 1400, "host side MTU");
}

fn internal_has_no_default_route() {
    let host = Host::start();
    create(&host, &["--internal", "n1"]);
    let net = host.inspect("n1");
    assert!(net.internal, "Internal is false");
    let c1 = host.container("c1");
    host.connect_named("n1", &c1, &[]);
    let ep = host.inspect("n1").expect_endpoint("c1").clone();
    assert_eq!(c1.ipv4_addrs("eth0"), vec![ep.ipv4_address]);
    let route = kernel::default_route(c1.ns(), "-4");
    assert!(
        route.is_none(),
        "internal network set a default route: {route:?}"
    );
}

fn labels() {
    let host = Host::start();
    create(&host, &["--label", "k=v", "--label", "team=net", "n1"]);
    let labels = host.inspect("n1").labels;
    assert_eq!(labels.get("k").map(String::as_str), Some("v"));
    assert_eq!(labels.get("team").map(String::as_str), Some("net"));
    assert_eq!(labels.len(), 2, "{labels:?}");
}

fn dual_stack() {
    let host = Host::start();
    create(
        &host,
        &[
            "--ipv6",
            "--subnet",
            "10.78.0.0/24",
            "--subnet",
            "fd00:1::/64",
            "n1",
        ],
    );
    let net = host.inspect("n1");
    assert!(net.enable_ipv6, "EnableIPv6 is false");
    let v4 = net.ipv4_config().expect("IPv4 config");
    let v6 = net.ipv6_config().expect("IPv6 config");
    assert_eq!(
        (v4.subnet.as_str(), v4.gateway.as_str()),
        ("10.78.0.0/24", "10.78.0.1")
    );
    assert_eq!(
        (v6.subnet.as_str(), v6.gateway.as_str()),
        ("fd00:1::/64", "fd00:1::1")
    );
    let bridge = format!("cnm{}", &net.id[..12]);
    assert!(
        kernel::ipv6_addrs(host.ns(), &bridge).contains(&"fd00:1::1/64".to_string()),
        "bridge lacks fd00:1::1/64: {:?}",
        kernel::ipv6_addrs(host.ns(), &bridge)
    );

    let c1 = host.container("c1");
    host.connect_named("n1", &c1, &[]);
    let ep = host.inspect("n1").expect_endpoint("c1").clone();
    assert!(cidr_contains("10.78.0.0/24", &ep.ipv4_address), "{ep:?}");
    assert!(cidr_contains("fd00:1::/64", &ep.ipv6_address), "{ep:?}");
    assert_eq!(c1.ipv4_addrs("eth0"), vec![ep.ipv4_address.clone()]);
    assert_eq!(
        kernel::ipv6_addrs(c1.ns(), "eth0"),
        vec![ep.ipv6_address.clone()]
    );
    let route = kernel::default_route(c1.ns(), "-6").expect("IPv6 default route");
    assert_eq!(route.gateway.as_deref(), Some("fd00:1::1"));
}
