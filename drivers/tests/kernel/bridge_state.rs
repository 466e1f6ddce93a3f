//! `Netlink::bridges` and `Netlink::bridge_fdb`: what `cnm bridge show`,
//! `showstp` and `showmacs` are built from, read from a real bridge.

use cnm_drivers::sys::{BridgeSpec, PortState, VethSpec};

use crate::common::{require_root, sandbox};

#[test]
fn bridges_ports_and_fdb_are_read_from_the_kernel() {
    require_root!();
    let (_ns, mut nl) = sandbox();
    let mac = [0x02, 0x42, 0, 0, 0, 0x10];
    let bridge = nl
        .create_bridge_with(&BridgeSpec {
            name: "br-b",
            mtu: None,
            mac: Some(mac),
            alias: Some("cnm:test"),
        })
        .expect("create bridge");
    nl.create_bridge("br-a", None).expect("create empty bridge");
    nl.set_up(bridge).expect("bridge up");
    for (name, peer) in [("vb", "pb"), ("va", "pa")] {
        let index = nl
            .create_veth(&VethSpec {
                name,
                master: Some(bridge),
                up: true,
                mtu: None,
                ipv6_link_local: false,
                peer_name: peer,
                peer_netns: None,
                peer_mac: None,
            })
            .expect("create veth");
        nl.set_bridge_port(index, name == "va", false)
            .expect("port flags");
    }

    let bridges = nl.bridges().expect("bridges");
    let names: Vec<_> = bridges.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["br-a", "br-b"]);
    let br = &bridges[1];
    assert_eq!(br.bridge_id.to_string(), "8000.024200000010");
    assert_eq!(br.designated_root, br.bridge_id);
    assert_eq!(br.alias.as_deref(), Some("cnm:test"));
    assert_eq!((br.stp_state, br.max_age, br.hello_time), (0, 2000, 200));
    assert_eq!((br.forward_delay, br.ageing_time), (1500, 30000));
    let ports: Vec<_> = br.ports.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(ports, ["va", "vb"]);
    let (va, vb) = (&br.ports[0], &br.ports[1]);
    // Port numbers follow the order of enslaving.
    assert_eq!((vb.port_no, va.port_no), (1, 2));
    assert_eq!((va.port_id, va.path_cost), (0x8002, 2));
    assert!(va.hairpin && !vb.hairpin);
    // STP off: a port goes from disabled straight to forwarding (when the
    // kernel's link watch gets to it), never through listening or learning.
    assert!(
        matches!(va.state, PortState::Disabled | PortState::Forwarding),
        "{:?}",
        va.state
    );
    assert_eq!(va.designated_bridge, br.bridge_id);

    let fdb = nl.bridge_fdb(br.index).expect("fdb");
    let local: Vec<_> = fdb.iter().filter(|e| e.is_local).collect();
    assert_eq!(local.len(), 2, "one local entry per port: {fdb:?}");
    for port in [va, vb] {
        let link = nl.link_by_name(&port.name).expect("lookup").expect("port");
        assert!(
            local
                .iter()
                .any(|e| e.port_index == port.index && Some(e.mac) == link.mac && e.ageing == 0),
            "no local entry for {}: {fdb:?}",
            port.name
        );
    }
    assert!(
        fdb.iter().all(|e| e.mac != mac),
        "the bridge's own address has no port: {fdb:?}"
    );
    let empty = bridges[0].index;
    assert_eq!(nl.bridge_fdb(empty).expect("empty fdb"), []);
}
