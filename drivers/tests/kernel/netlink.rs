//! `Netlink`: links, veths across namespaces, addresses, routes.

use std::net::IpAddr;

use cnm_drivers::sys::{read_sysctl, Netlink, VethSpec};
use ipnetwork::IpNetwork;

use crate::common::{require_root, sandbox};

fn net(s: &str) -> IpNetwork {
    s.parse().expect("cidr")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

/// A veth pair inside one namespace, both ends up.
fn local_pair(nl: &mut Netlink, name: &str, peer: &str) -> u32 {
    let index = nl
        .create_veth(&VethSpec {
            name,
            master: None,
            up: true,
            mtu: None,
            ipv6_link_local: true,
            peer_name: peer,
            peer_netns: None,
            peer_mac: None,
        })
        .expect("create veth");
    let peer = nl.link_by_name(peer).expect("lookup").expect("peer exists");
    nl.set_up(peer.index).expect("peer up");
    index
}

#[test]
fn bridge_create_lookup_delete() {
    require_root!();
    let (_ns, mut nl) = sandbox();
    let index = nl
        .create_bridge("br-test", Some(1400))
        .expect("create bridge");
    let link = nl.link_by_name("br-test").expect("lookup").expect("exists");
    assert_eq!(link.index, index);
    assert_eq!(link.kind.as_deref(), Some("bridge"));
    assert_eq!((link.mtu, link.up), (1400, false));
    assert!(nl
        .links()
        .expect("dump")
        .iter()
        .any(|l| l.name == "br-test"));

    let again = nl.create_bridge("br-test", None).expect_err("exists");
    assert!(again.is_exists());
    assert_eq!(again.to_string(), "create bridge br-test");

    nl.set_up(index).expect("up");
    assert!(nl
        .link_by_name("br-test")
        .expect("lookup")
        .is_some_and(|l| l.up));
    nl.set_down(index).expect("down");
    nl.set_mtu(index, 1300).expect("mtu");
    let link = nl.link_by_name("br-test").expect("lookup").expect("exists");
    assert_eq!((link.mtu, link.up), (1300, false));

    assert!(nl.delete_link_by_name("br-test").expect("delete"));
    assert!(!nl.delete_link_by_name("br-test").expect("delete missing"));
    assert!(!nl
        .delete_link_by_name("a-name-way-too-long")
        .expect("long name"));
    assert!(nl.link_by_name("br-test").expect("lookup").is_none());
    assert!(nl.delete_link(index).expect_err("gone").is_not_found());
}

#[test]
fn veth_peer_is_created_inside_the_other_namespace() {
    require_root!();
    let (host, mut nl) = sandbox();
    let (container, mut cnl) = sandbox();
    let bridge = nl.create_bridge("br0", None).expect("bridge");
    let mac = [0x02, 0x42, 0xac, 0x11, 0x00, 0x02];
    let index = nl
        .create_veth(&VethSpec {
            name: "cnmv0123456789a",
            master: Some(bridge),
            up: true,
            mtu: Some(1450),
            ipv6_link_local: false,
            peer_name: "eth0",
            peer_netns: Some(container.fd()),
            peer_mac: Some(mac),
        })
        .expect("create veth");

    let host_side = nl
        .link_by_name("cnmv0123456789a")
        .expect("lookup")
        .expect("host side");
    assert_eq!(host_side.index, index);
    assert_eq!(host_side.kind.as_deref(), Some("veth"));
    assert_eq!(
        (host_side.master, host_side.up, host_side.mtu),
        (Some(bridge), true, 1450)
    );
    assert!(
        nl.link_by_name("eth0").expect("lookup").is_none(),
        "peer leaked into host"
    );
    let mode = host.run(|| read_sysctl("net/ipv6/conf/cnmv0123456789a/addr_gen_mode"));
    assert_eq!(
        mode.expect("run").expect("sysctl"),
        "1",
        "addr_gen_mode none"
    );

    let eth0 = cnl
        .link_by_name("eth0")
        .expect("lookup")
        .expect("peer in container");
    assert_eq!((eth0.mac, eth0.up, eth0.mtu), (Some(mac), false, 1450));
    assert_eq!(eth0.kind.as_deref(), Some("veth"));

    // Deleting one end takes the other along.
    nl.delete_link(index).expect("delete");
    assert!(cnl.link_by_name("eth0").expect("lookup").is_none());
}

#[test]
fn create_veth_failure_names_both_ends() {
    require_root!();
    let (_ns, mut nl) = sandbox();
    local_pair(&mut nl, "a0", "a1");
    let err = nl
        .create_veth(&VethSpec {
            name: "b0",
            master: None,
            up: true,
            mtu: None,
            ipv6_link_local: false,
            peer_name: "a1",
            peer_netns: None,
            peer_mac: None,
        })
        .expect_err("peer name taken");
    assert!(err.is_exists());
    assert_eq!(err.to_string(), "create veth b0 (peer a1)");
    assert!(
        nl.link_by_name("b0").expect("lookup").is_none(),
        "nothing left behind"
    );
}

#[test]
fn addresses_and_routes_v4_v6() {
    require_root!();
    let (_ns, mut nl) = sandbox();
    let index = local_pair(&mut nl, "a0", "a1");
    nl.add_address(index, net("10.1.0.2/24")).expect("v4");
    nl.add_address(index, net("fd00:1::2/64")).expect("v6");
    let err = nl
        .add_address(index, net("10.1.0.2/24"))
        .expect_err("twice");
    assert!(err.is_exists());

    let mine = nl.addresses(Some(index)).expect("dump");
    assert!(mine.contains(&(index, net("10.1.0.2/24"))), "{mine:?}");
    assert!(mine.contains(&(index, net("fd00:1::2/64"))), "{mine:?}");
    assert!(mine.iter().all(|(i, _)| *i == index));
    assert!(nl.addresses(None).expect("dump").len() >= mine.len());

    nl.add_route(net("0.0.0.0/0"), Some(ip("10.1.0.1")), None)
        .expect("v4 default");
    nl.add_route(net("::/0"), Some(ip("fd00:1::1")), Some(index))
        .expect("v6 default");
    nl.add_route(net("10.9.0.0/16"), None, Some(index))
        .expect("on-link");
    let routes = nl.routes().expect("routes");
    let has = |dst: &str, gw: Option<&str>| {
        routes.iter().any(|r| {
            r.dst == net(dst) && r.gateway == gw.map(ip) && r.oif == Some(index) && r.table == 254
        })
    };
    assert!(has("0.0.0.0/0", Some("10.1.0.1")), "{routes:?}");
    assert!(has("::/0", Some("fd00:1::1")), "{routes:?}");
    assert!(has("10.9.0.0/16", None), "{routes:?}");
    assert!(has("10.1.0.0/24", None), "connected route: {routes:?}");
    assert!(
        !routes.iter().any(|r| r.dst == net("10.1.0.2/32")),
        "local routes are not unicast"
    );

    nl.delete_address(index, net("10.1.0.2/24"))
        .expect("delete v4");
    let err = nl
        .delete_address(index, net("10.1.0.2/24"))
        .expect_err("gone");
    assert!(err.is_not_found(), "{err:?}");
}

#[test]
fn move_to_netns_renames_and_master_can_change() {
    require_root!();
    let (_a, mut nl) = sandbox();
    let (b, mut bnl) = sandbox();
    local_pair(&mut nl, "a0", "a1");
    let a1 = nl.link_by_name("a1").expect("lookup").expect("a1");
    nl.move_to_netns(a1.index, b.fd(), Some("eth1"))
        .expect("move");
    assert!(nl.link_by_name("a1").expect("lookup").is_none());
    assert!(bnl.link_by_name("eth1").expect("lookup").is_some());

    let bridge = nl.create_bridge("br0", None).expect("bridge");
    let a0 = nl.link_by_name("a0").expect("lookup").expect("a0");
    nl.set_master(a0.index, Some(bridge)).expect("enslave");
    assert_eq!(
        nl.link_by_name("a0")
            .expect("lookup")
            .and_then(|l| l.master),
        Some(bridge)
    );
    nl.set_master(a0.index, None).expect("release");
    assert_eq!(
        nl.link_by_name("a0")
            .expect("lookup")
            .and_then(|l| l.master),
        None
    );
}
