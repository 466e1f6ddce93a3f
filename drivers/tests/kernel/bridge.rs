//! The bridge driver's network and endpoint verbs, in a throwaway "host"
//! namespace (the driver works in the namespace of the calling thread).

use cnm_drivers::bridge::{bridge_name_for, keys, veth_name_for, BridgeDriver};
use cnm_drivers::sys::{read_sysctl, Netlink, Netns, VethSpec};
use cnm_drivers::{Driver, DriverError, JoinInfo, SandboxInterface, SandboxSpec};
use ipnetwork::IpNetwork;

use crate::common::{endpoint, network, require_root, sandbox};

fn gateways(nl: &mut Netlink, index: u32) -> Vec<IpNetwork> {
    let mut found: Vec<IpNetwork> = nl
        .addresses(Some(index))
        .expect("addresses")
        .into_iter()
        .map(|(_, a)| a)
        .filter(|a| !a.ip().is_ipv6() || !a.ip().to_string().starts_with("fe80"))
        .collect();
    found.sort();
    found
}

#[test]
fn create_network_is_idempotent() {
    require_root!();
    let (host, mut nl) = sandbox();
    let driver = BridgeDriver::new();
    let net = network(1, &[(keys::MTU, "1400")]);
    host.run(|| driver.create_network(&net))
        .expect("run")
        .expect("create");
    host.run(|| driver.create_network(&net))
        .expect("run")
        .expect("create again");

    let name = bridge_name_for(&net.id).expect("name");
    let bridge = nl
        .link_by_name(&name)
        .expect("lookup")
        .expect("bridge exists");
    assert_eq!(bridge.kind.as_deref(), Some("bridge"));
    assert_eq!((bridge.up, bridge.mtu), (true, 1400));
    assert_eq!(bridge.alias, Some(format!("cnm:{}", net.id)));
    assert_eq!(bridge.mac, Some([0x02, 0x01, 0x01, 0x01, 0x01, 0x01]));
    let expected: Vec<IpNetwork> = vec![
        "10.1.0.1/24".parse().expect("v4"),
        "fd00:1::1/64".parse().expect("v6"),
    ];
    assert_eq!(gateways(&mut nl, bridge.index), expected);

    host.run(|| driver.delete_network(&net))
        .expect("run")
        .expect("delete");
    assert!(nl.link_by_name(&name).expect("lookup").is_none());
    host.run(|| driver.delete_network(&net))
        .expect("run")
        .expect("delete missing");
}

#[test]
fn existing_user_bridge_is_adopted_and_left_in_place() {
    require_root!();
    let (host, mut nl) = sandbox();
    let user = nl.create_bridge("br-user", None).expect("user bridge");
    let driver = BridgeDriver::new();
    let net = network(2, &[(keys::BRIDGE_NAME, "br-user")]);
    host.run(|| driver.create_network(&net))
        .expect("run")
        .expect("adopt");
    let link = nl.link_by_name("br-user").expect("lookup").expect("exists");
    assert_eq!((link.index, link.up, link.alias), (user, true, None));
    assert_eq!(gateways(&mut nl, user).len(), 2);

    host.run(|| driver.delete_network(&net))
        .expect("run")
        .expect("delete");
    assert!(
        nl.link_by_name("br-user").expect("lookup").is_some(),
        "user bridge kept"
    );
    assert!(gateways(&mut nl, user).is_empty(), "our gateways removed");
}

#[test]
fn a_non_bridge_holding_the_name_is_a_conflict() {
    require_root!();
    let (host, mut nl) = sandbox();
    let net = network(3, &[]);
    let name = bridge_name_for(&net.id).expect("name");
    nl.create_veth(&VethSpec {
        name: &name,
        master: None,
        up: false,
        mtu: None,
        ipv6_link_local: true,
        peer_name: "other",
        peer_netns: None,
        peer_mac: None,
    })
    .expect("veth squatting the name");
    let driver = BridgeDriver::new();
    let err = host
        .run(|| driver.create_network(&net))
        .expect("run")
        .expect_err("conflict");
    assert!(matches!(err, DriverError::Conflict { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&format!("link `{name}` (veth)")),
        "{err}"
    );
    host.run(|| driver.delete_network(&net))
        .expect("run")
        .expect("delete is a no-op");
    let squatter = nl.link_by_name(&name).expect("lookup").expect("untouched");
    assert_eq!(squatter.kind.as_deref(), Some("veth"));
}

fn join(
    driver: &BridgeDriver,
    host: &Netns,
    net: &cnm_drivers::NetworkSpec,
    n: u8,
    sandbox_ns: &Netns,
    ifname: &str,
) -> Result<JoinInfo, DriverError> {
    let ep = endpoint(n);
    host.run(|| {
        driver.join(
            net,
            &ep,
            SandboxSpec {
                netns: sandbox_ns.fd(),
                ifname,
            },
        )
    })
    .expect("run")
}

#[test]
fn join_and_leave() {
    require_root!();
    let (host, mut nl) = sandbox();
    let (container, mut cnl) = sandbox();
    let driver = BridgeDriver::new();
    let net = network(4, &[(keys::MTU, "1450")]);
    host.run(|| driver.create_network(&net))
        .expect("run")
        .expect("create");

    let info = join(&driver, &host, &net, 1, &container, "eth0").expect("join");
    assert_eq!(info.interface, SandboxInterface::Created);
    assert_eq!(info.gateway_v4, "10.4.0.1".parse().ok());
    assert_eq!(info.gateway_v6, "fd00:4::1".parse().ok());
    assert_eq!((info.mtu, info.static_routes.len()), (Some(1450), 0));

    let ep = endpoint(1);
    let host_name = veth_name_for(&ep.id).expect("name");
    let bridge = nl
        .link_by_name(&bridge_name_for(&net.id).expect("name"))
        .expect("lookup")
        .expect("bridge");
    let veth = nl
        .link_by_name(&host_name)
        .expect("lookup")
        .expect("host side");
    assert_eq!(
        (veth.master, veth.up, veth.mtu),
        (Some(bridge.index), true, 1450)
    );
    let mode = host.run(|| read_sysctl(&format!("net/ipv6/conf/{host_name}/addr_gen_mode")));
    assert_eq!(mode.expect("run").expect("sysctl"), "1");
    let eth0 = cnl.link_by_name("eth0").expect("lookup").expect("eth0");
    assert_eq!((eth0.mac, eth0.up, eth0.mtu), (Some(ep.mac), false, 1450));

    host.run(|| driver.leave(&net, &ep))
        .expect("run")
        .expect("leave");
    assert!(nl.link_by_name(&host_name).expect("lookup").is_none());
    assert!(cnl.link_by_name("eth0").expect("lookup").is_none());
    host.run(|| driver.leave(&net, &ep))
        .expect("run")
        .expect("leave twice");
}

#[test]
fn internal_network_hands_out_no_gateway() {
    require_root!();
    let (host, _nl) = sandbox();
    let (container, _cnl) = sandbox();
    let driver = BridgeDriver::new();
    let mut net = network(5, &[]);
    net.internal = true;
    host.run(|| driver.create_network(&net))
        .expect("run")
        .expect("create");
    let info = join(&driver, &host, &net, 1, &container, "eth0").expect("join");
    assert_eq!(
        (info.gateway_v4, info.gateway_v6, info.mtu),
        (None, None, None)
    );
}

#[test]
fn failed_join_leaves_nothing_behind() {
    require_root!();
    let (host, mut nl) = sandbox();
    let (container, _cnl) = sandbox();
    let driver = BridgeDriver::new();
    let net = network(6, &[]);
    let err = join(&driver, &host, &net, 1, &container, "eth0").expect_err("no bridge yet");
    assert!(matches!(err, DriverError::NotFound { .. }), "{err:?}");

    host.run(|| driver.create_network(&net))
        .expect("run")
        .expect("create");
    // "lo" already exists in the sandbox: the kernel refuses the pair.
    let err = join(&driver, &host, &net, 1, &container, "lo").expect_err("name taken");
    assert!(
        matches!(&err, DriverError::Sys(e) if e.is_exists()),
        "{err:?}"
    );
    let host_name = veth_name_for(&endpoint(1).id).expect("name");
    assert!(nl.link_by_name(&host_name).expect("lookup").is_none());
}
