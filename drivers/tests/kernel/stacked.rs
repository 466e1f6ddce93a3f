//! The macvlan and ipvlan drivers and their `sys` requests, in throwaway
//! "host" namespaces whose parent is one end of a veth pair.

use std::sync::Arc;

use cnm_drivers::macvlan::shim_name_for;
use cnm_drivers::sys::{Netlink, Netns, VethSpec};
use cnm_drivers::{
    Driver, DriverError, EndpointSpec, IpvlanDriver, MacvlanDriver, NetworkSpec, ParentRegistry,
    ReconcileScope, SandboxInterface, SandboxSpec,
};
use ipnetwork::IpNetwork;

use crate::common::{endpoint, network, require_root, sandbox};

/// A veth pair `lan0`/`lan1` in the host namespace, both up: `lan0` is the
/// parent, as a NIC would be.
fn with_parent(nl: &mut Netlink) {
    nl.create_veth(&VethSpec {
        name: "lan0",
        master: None,
        up: true,
        mtu: None,
        ipv6_link_local: false,
        peer_name: "lan1",
        peer_netns: None,
        peer_mac: None,
    })
    .expect("veth");
    let peer = nl.link_by_name("lan1").expect("lookup").expect("lan1");
    nl.set_up(peer.index).expect("up");
}

fn macvlan() -> MacvlanDriver {
    MacvlanDriver::new(Arc::new(ParentRegistry::new()))
}

fn link_names(nl: &mut Netlink) -> Vec<String> {
    let mut names: Vec<String> = nl
        .links()
        .expect("links")
        .into_iter()
        .map(|l| l.name)
        .collect();
    names.sort();
    names
}

fn with_address(n: u8, net: &NetworkSpec, host: u8) -> EndpointSpec {
    let mut ep = endpoint(n);
    let subnet = net.subnets[0].subnet;
    let ip = match subnet.ip() {
        std::net::IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            std::net::Ipv4Addr::new(a, b, c, host)
        }
        std::net::IpAddr::V6(_) => unreachable!("IPv4 first"),
    };
    ep.addresses = vec![IpNetwork::new(ip.into(), subnet.prefix()).expect("address")];
    ep
}

fn host_routes_via(nl: &mut Netlink, dev: &str) -> Vec<String> {
    let Some(link) = nl.link_by_name(dev).expect("lookup") else {
        return Vec::new();
    };
    let mut routes: Vec<String> = nl
        .routes()
        .expect("routes")
        .into_iter()
        .filter(|r| r.oif == Some(link.index))
        .map(|r| r.dst.to_string())
        .filter(|dst| dst.ends_with("/32"))
        .collect();
    routes.sort();
    routes
}

#[test]
fn link_kind_probe_creates_nothing() {
    require_root!();
    let (_ns, mut nl) = sandbox();
    let before = link_names(&mut nl);
    assert_eq!(nl.supports_link_kind("macvlan").ok(), Some(true));
    assert_eq!(nl.supports_link_kind("no-such-kind").ok(), Some(false));
    let _ = nl.supports_link_kind("ipvlan").expect("probe ipvlan");
    let _ = nl.supports_link_kind("vlan").expect("probe vlan");
    assert_eq!(link_names(&mut nl), before);
}

#[test]
fn macvlan_is_born_in_the_sandbox_with_its_mac() {
    require_root!();
    let (host, mut nl) = sandbox();
    with_parent(&mut nl);
    let container = Netns::new_anonymous().expect("netns");
    let driver = macvlan();
    let net = network(1, &[("parent", "lan0"), ("macvlan_mode", "private")]);
    let ep = endpoint(1);
    let join = host
        .run(|| -> Result<_, DriverError> {
            driver.validate_network(&net)?;
            driver.create_network(&net)?;
            let sandbox = SandboxSpec {
                netns: container.fd(),
                ifname: "eth0",
            };
            driver.join(&net, &ep, sandbox)
        })
        .expect("run")
        .expect("join");
    assert_eq!(join.interface, SandboxInterface::Created);
    assert_eq!(join.gateway_v4, "10.1.0.1".parse().ok());
    assert_eq!(join.gateway_v6, "fd00:1::1".parse().ok());

    let mut inside = Netlink::open_in(&container).expect("netlink");
    let eth0 = inside.link_by_name("eth0").expect("lookup").expect("eth0");
    assert_eq!(eth0.kind.as_deref(), Some("macvlan"));
    assert_eq!(eth0.mac, Some(ep.mac));
    assert!(!eth0.up, "the core brings it up after addressing it");
    assert!(nl.link_by_name("eth0").expect("lookup").is_none());

    host.run(|| driver.delete_network(&net))
        .expect("run")
        .expect("delete");
    assert!(
        nl.link_by_name("lan0").expect("lookup").is_some(),
        "the user's parent stays"
    );
}

#[test]
fn internal_parent_is_made_and_removed_with_the_network() {
    require_root!();
    let (host, mut nl) = sandbox();
    let driver = macvlan();
    let net = network(2, &[]);
    let container = Netns::new_anonymous().expect("netns");
    let join = host
        .run(|| -> Result<_, DriverError> {
            driver.validate_network(&net)?;
            driver.create_network(&net)?;
            let sandbox = SandboxSpec {
                netns: container.fd(),
                ifname: "eth0",
            };
            driver.join(&net, &endpoint(2), sandbox)
        })
        .expect("run")
        .expect("join");
    assert_eq!(
        (join.gateway_v4, join.gateway_v6),
        (None, None),
        "no way out"
    );
    let parent = nl
        .link_by_name("dm-020202020202")
        .expect("lookup")
        .expect("internal parent");
    assert!(
        matches!(parent.kind.as_deref(), Some("dummy" | "ifb")),
        "{parent:?}"
    );
    assert_eq!(
        parent.alias.as_deref(),
        Some(format!("cnm-macvlan:{}", net.id).as_str())
    );
    assert!(parent.up);

    host.run(|| driver.delete_network(&net))
        .expect("run")
        .expect("delete");
    assert!(nl
        .link_by_name("dm-020202020202")
        .expect("lookup")
        .is_none());

    // A foreign link under the name is not taken over.
    nl.create_bridge("dm-020202020202", None).expect("foreign");
    let err = host
        .run(|| driver.validate_network(&net))
        .expect("run")
        .expect_err("conflict");
    assert!(matches!(err, DriverError::Conflict { .. }), "{err}");
}

#[test]
fn missing_parent_and_unsupported_kinds_change_nothing() {
    require_root!();
    let (host, mut nl) = sandbox();
    with_parent(&mut nl);
    let before = link_names(&mut nl);
    let driver = macvlan();
    let missing = network(3, &[("parent", "nope0")]);
    let err = host
        .run(|| driver.validate_network(&missing))
        .expect("run")
        .expect_err("missing parent");
    assert!(
        err.to_string().contains("parent interface `nope0`"),
        "{err}"
    );

    let vlan = network(3, &[("parent", "lan0.10")]);
    let vlan_result = host.run(|| driver.validate_network(&vlan)).expect("run");
    if !nl.supports_link_kind("vlan").expect("probe") {
        let err = vlan_result.expect_err("no 802.1Q here");
        assert!(err.to_string().contains("CONFIG_VLAN_8021Q"), "{err}");
    }

    let ipvlan = IpvlanDriver::new(Arc::new(ParentRegistry::new()));
    let net = network(3, &[("parent", "lan0")]);
    let ipvlan_result = host.run(|| ipvlan.validate_network(&net)).expect("run");
    if !nl.supports_link_kind("ipvlan").expect("probe") {
        let err = ipvlan_result.expect_err("no ipvlan here");
        assert!(err.to_string().contains("CONFIG_IPVLAN"), "{err}");
    }
    assert_eq!(link_names(&mut nl), before);
}

#[test]
fn parent_carries_one_network() {
    require_root!();
    let (host, mut nl) = sandbox();
    with_parent(&mut nl);
    let registry = Arc::new(ParentRegistry::new());
    let driver = MacvlanDriver::new(registry.clone());
    let first = network(4, &[("parent", "lan0")]);
    let second = network(5, &[("parent", "lan0")]);
    host.run(|| driver.create_network(&first))
        .expect("run")
        .expect("create");
    let err = host
        .run(|| driver.validate_network(&second))
        .expect("run")
        .expect_err("parent in use");
    assert!(
        err.to_string()
            .contains("`lan0` is already used by macvlan network `net4`"),
        "{err}"
    );
    host.run(|| driver.delete_network(&first))
        .expect("run")
        .expect("delete");
    host.run(|| driver.validate_network(&second))
        .expect("run")
        .expect("free again");
}

#[test]
fn shim_routes_follow_join_leave_and_reconcile() {
    require_root!();
    let (host, mut nl) = sandbox();
    with_parent(&mut nl);
    let driver = macvlan();
    let net = network(6, &[("parent", "lan0"), ("cnm.macvlan.host_shim", "true")]);
    let shim = shim_name_for(&net.id).expect("name");
    let (c1, c2) = (
        Netns::new_anonymous().expect("netns"),
        Netns::new_anonymous().expect("netns"),
    );
    let (ep1, ep2) = (with_address(1, &net, 5), with_address(2, &net, 6));
    host.run(|| -> Result<(), DriverError> {
        driver.create_network(&net)?;
        for (ep, ns) in [(&ep1, &c1), (&ep2, &c2)] {
            let sandbox = SandboxSpec {
                netns: ns.fd(),
                ifname: "eth0",
            };
            driver.join(&net, ep, sandbox)?;
        }
        Ok(())
    })
    .expect("run")
    .expect("join");
    let link = nl.link_by_name(&shim).expect("lookup").expect("shim");
    assert_eq!(link.kind.as_deref(), Some("macvlan"));
    assert!(link.up);
    assert_eq!(
        host_routes_via(&mut nl, &shim),
        ["10.6.0.5/32", "10.6.0.6/32"]
    );

    host.run(|| driver.leave(&net, &ep1))
        .expect("run")
        .expect("leave");
    assert_eq!(host_routes_via(&mut nl, &shim), ["10.6.0.6/32"]);

    // After a "reboot" the shim is gone; reconcile makes it again with the
    // routes of the listed endpoints only.
    nl.delete_link_by_name(&shim).expect("delete shim");
    let listed = [(net.id.clone(), ep1.clone())];
    let report = host
        .run(|| driver.reconcile(ReconcileScope::alone(std::slice::from_ref(&net), &listed)))
        .expect("run")
        .expect("reconcile");
    assert!(
        report.recreated.iter().any(|r| r.starts_with("host shim")),
        "{report:?}"
    );
    assert_eq!(host_routes_via(&mut nl, &shim), ["10.6.0.5/32"]);

    host.run(|| driver.delete_network(&net))
        .expect("run")
        .expect("delete");
    assert!(nl.link_by_name(&shim).expect("lookup").is_none());
}

#[test]
fn reconcile_remakes_our_parents_and_drops_orphans() {
    require_root!();
    let (host, mut nl) = sandbox();
    let driver = macvlan();
    let (kept, gone) = (network(7, &[]), network(8, &[]));
    host.run(|| -> Result<(), DriverError> {
        driver.create_network(&kept)?;
        driver.create_network(&gone)
    })
    .expect("run")
    .expect("create");
    assert!(nl.delete_link_by_name("dm-070707070707").expect("delete"));
    let report = host
        .run(|| driver.reconcile(ReconcileScope::alone(std::slice::from_ref(&kept), &[])))
        .expect("run")
        .expect("reconcile");
    assert!(
        report
            .recreated
            .contains(&"parent dm-070707070707 (network net7)".to_string()),
        "{report:?}"
    );
    assert!(
        report
            .removed
            .contains(&"macvlan parent dm-080808080808".to_string()),
        "{report:?}"
    );
    assert!(nl
        .link_by_name("dm-070707070707")
        .expect("lookup")
        .is_some());
    assert!(nl
        .link_by_name("dm-080808080808")
        .expect("lookup")
        .is_none());
}
