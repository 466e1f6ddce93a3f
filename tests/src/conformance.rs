//! The driver conformance suite: one list of checks that any network driver
//! passes the same way whether it runs in process (a built-in behind the
//! `Driver` trait) or out of process (the same driver served by
//! `cnm-driver serve` and called through the gRPC client cnmd uses).
//!
//! The verbs run on a thread inside the given host namespace, so in-process
//! drivers make their objects there (a remote driver makes them wherever it
//! runs, which the caller puts in the same namespace). Checks: capabilities;
//! a bad option refused with its name, before anything is made; create and
//! delete network (idempotent, the objects come and go); create endpoint,
//! join (the interface appears in the sandbox, the gateway is reported) and
//! leave (it goes; idempotent); a join on a network that does not exist
//! refused with a message naming it.

use std::collections::{BTreeMap, BTreeSet};

use cnm_drivers::sys::Netns;
use cnm_drivers::{Driver, EndpointSpec, NetworkSpec, SandboxInterface, SandboxSpec, SubnetSpec};

use crate::kernel;
use crate::netns::NetNs;

/// An option no driver knows (drivers reject unknown keys).
const BOGUS_OPTION: &str = "cnm.conformance.bogus";

/// The interface name asked for inside the sandbox.
const IFNAME: &str = "eth7";

/// Runs every check against `driver`; panics on the first failure. `host`
/// is the namespace the driver's objects appear in; `sandbox` is a fresh
/// namespace to join.
pub fn driver_conformance(driver: &dyn Driver, host: &NetNs, sandbox: &NetNs) {
    let host_ns = Netns::open(&host.path()).expect("open host netns");
    host_ns
        .run(|| checks(driver, host, sandbox))
        .expect("run the suite in the host netns");
}

fn checks(driver: &dyn Driver, host: &NetNs, sandbox: &NetNs) {
    let caps = driver.capabilities();
    assert!(
        caps.creates_interfaces,
        "a driver with interfaces: {caps:?}"
    );
    assert_eq!(caps.scope, "local");

    let net = network("conf", "10.210.0.0/24", "10.210.0.1");
    let before = link_names(host);
    bad_option_is_refused(driver, &net);
    assert_eq!(link_names(host), before, "a refused network made links");

    driver.validate_network(&net).expect("validate");
    driver.create_network(&net).expect("create network");
    let made: BTreeSet<String> = link_names(host).difference(&before).cloned().collect();
    assert!(!made.is_empty(), "create_network made nothing in the host");
    driver
        .create_network(&net)
        .expect("create network again (idempotent)");
    assert_eq!(
        link_names(host).difference(&before).count(),
        made.len(),
        "a second create made more"
    );

    join_and_leave(driver, &net, host, sandbox);
    join_without_network_is_refused(driver, sandbox);

    driver.delete_network(&net).expect("delete network");
    let left: Vec<String> = made
        .iter()
        .filter(|n| link_names(host).contains(*n))
        .cloned()
        .collect();
    assert!(left.is_empty(), "delete_network left {left:?}");
    driver
        .delete_network(&net)
        .expect("delete network again (idempotent)");
}

fn bad_option_is_refused(driver: &dyn Driver, net: &NetworkSpec) {
    let mut bad = net.clone();
    bad.options.insert(BOGUS_OPTION.into(), "1".into());
    let err = driver
        .validate_network(&bad)
        .expect_err("an unknown option is refused");
    assert!(
        err.to_string().contains(BOGUS_OPTION),
        "the message names the option: {err}"
    );
    let err = driver
        .create_network(&bad)
        .expect_err("create refuses it too");
    assert!(err.to_string().contains(BOGUS_OPTION), "{err}");
}

fn join_and_leave(driver: &dyn Driver, net: &NetworkSpec, host: &NetNs, sandbox: &NetNs) {
    let ep = endpoint("10.210.0.2/24");
    let sandbox_ns = Netns::open(&sandbox.path()).expect("open sandbox netns");
    let before = link_names(host);
    driver.create_endpoint(net, &ep).expect("create endpoint");
    driver
        .create_endpoint(net, &ep)
        .expect("create endpoint again (idempotent)");
    let join = driver
        .join(
            net,
            &ep,
            SandboxSpec {
                netns: sandbox_ns.fd(),
                ifname: IFNAME,
            },
        )
        .expect("join");
    assert_eq!(join.gateway_v4, Some("10.210.0.1".parse().expect("ip")));
    match &join.interface {
        SandboxInterface::Created => {
            let link = kernel::link(sandbox, IFNAME)
                .unwrap_or_else(|| panic!("no {IFNAME} in the sandbox after join"));
            assert_eq!(link.mac, "02:42:0a:d2:00:02", "the endpoint's MAC");
        }
        SandboxInterface::InHost { name } => {
            assert!(link_names(host).contains(name), "no {name} in the host");
        }
        SandboxInterface::None => panic!("join gave no interface"),
    }
    let host_side: Vec<String> = link_names(host).difference(&before).cloned().collect();

    driver.leave(net, &ep).expect("leave");
    assert!(
        kernel::link(sandbox, IFNAME).is_none(),
        "{IFNAME} is still in the sandbox after leave"
    );
    let left: Vec<&String> = host_side
        .iter()
        .filter(|n| link_names(host).contains(*n))
        .collect();
    assert!(left.is_empty(), "leave left {left:?} in the host");
    driver.leave(net, &ep).expect("leave again (idempotent)");
    driver.delete_endpoint(net, &ep).expect("delete endpoint");
    driver
        .delete_endpoint(net, &ep)
        .expect("delete endpoint again (idempotent)");
}

fn join_without_network_is_refused(driver: &dyn Driver, sandbox: &NetNs) {
    let ghost = network("ghost", "10.211.0.0/24", "10.211.0.1");
    let sandbox_ns = Netns::open(&sandbox.path()).expect("open sandbox netns");
    let err = driver
        .join(
            &ghost,
            &endpoint("10.211.0.2/24"),
            SandboxSpec {
                netns: sandbox_ns.fd(),
                ifname: IFNAME,
            },
        )
        .expect_err("join on a network never created");
    let text = err.to_string();
    assert!(
        text.contains("ghost") && text.contains("not found"),
        "the message says which network is missing: {text}"
    );
    assert!(
        kernel::link(sandbox, IFNAME).is_none(),
        "a refused join left {IFNAME}"
    );
}

fn network(name: &str, subnet: &str, gateway: &str) -> NetworkSpec {
    NetworkSpec {
        id: random_id(),
        name: name.into(),
        options: BTreeMap::new(),
        subnets: vec![SubnetSpec {
            subnet: subnet.parse().expect("cidr"),
            gateway: Some(gateway.parse().expect("ip")),
        }],
        internal: false,
        enable_ipv6: false,
    }
}

fn endpoint(addr: &str) -> EndpointSpec {
    let ip: ipnetwork::IpNetwork = addr.parse().expect("cidr");
    let octets = match ip.ip() {
        std::net::IpAddr::V4(v4) => v4.octets(),
        std::net::IpAddr::V6(_) => [0; 4],
    };
    EndpointSpec {
        id: random_id(),
        mac: [0x02, 0x42, octets[0], octets[1], octets[2], octets[3]],
        addresses: vec![ip],
    }
}

/// 64 hex digits, fresh per call (kernel names derive from them).
fn random_id() -> String {
    let bytes = std::fs::read("/proc/sys/kernel/random/uuid")
        .and_then(|a| std::fs::read("/proc/sys/kernel/random/uuid").map(|b| [a, b].concat()))
        .expect("read random uuids");
    let hex: String = String::from_utf8_lossy(&bytes)
        .chars()
        .filter(char::is_ascii_hexdigit)
        .collect();
    hex[..64].to_owned()
}

fn link_names(ns: &NetNs) -> BTreeSet<String> {
    kernel::links(ns).into_iter().map(|l| l.name).collect()
}
