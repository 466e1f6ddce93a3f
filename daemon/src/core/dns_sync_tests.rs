//! Which networks get embedded DNS, and how other hosts' endpoints join a
//! snapshot next to the local ones.

use std::net::IpAddr;

use serde_json::json;

use super::*;
use crate::ports::{ephemeral_range, PortTable};

const NET: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const LOCAL: &str = "2222222222222222222222222222222222222222222222222222222222222222";
const REMOTE: &str = "3333333333333333333333333333333333333333333333333333333333333333";
const EP: &str = "4444444444444444444444444444444444444444444444444444444444444444";

fn network(driver: &str, builtin: bool, options: serde_json::Value) -> NetworkRecord {
    serde_json::from_value(json!({
        "id": NET, "name": "ov", "created": "", "driver": driver, "scope": "global",
        "enable_ipv6": false, "internal": false, "ipam_driver": "cluster",
        "subnets": [{"subnet": "10.90.0.0/24", "gateway": "10.90.0.1"}],
        "options": options, "labels": {}, "builtin": builtin,
    }))
    .expect("network record")
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("ip")
}

fn identity(sandbox_id: &str, name: &str, aliases: &[&str]) -> DnsIdentity {
    DnsIdentity {
        sandbox_id: sandbox_id.to_owned(),
        name: name.to_owned(),
        aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
    }
}

/// One ready overlay network with local sandbox `web` at 10.90.0.2.
fn state_with_local_web() -> State {
    let mut st = State::new(PortTable::new(ephemeral_range()));
    let net = network("overlay", false, json!({}));
    st.networks.insert(
        NET.into(),
        super::super::state::Entry::new(net, Phase::Ready),
    );
    let sandbox: SandboxRecord = serde_json::from_value(json!({
        "id": LOCAL, "name": "web", "netns_path": "/run/netns/web",
        "netns_dev": 1, "netns_ino": 2, "created": "",
    }))
    .expect("sandbox record");
    let endpoint: EndpointRecord = serde_json::from_value(json!({
        "id": EP, "network_id": NET, "sandbox_id": LOCAL, "ifname": "eth0",
        "mac": [2, 0, 10, 90, 0, 2], "ipv4": "10.90.0.2/24", "ipv6": null,
        "static_ipv4": false, "static_ipv6": false, "aliases": ["www"],
        "gateway_v4": "10.90.0.1", "gateway_v6": null, "default_route": true,
        "created": "",
    }))
    .expect("endpoint record");
    st.sandboxes.insert(LOCAL.into(), sandbox);
    st.endpoints.insert(
        EP.into(),
        super::super::state::Entry::new(endpoint, Phase::Ready),
    );
    st
}

#[test]
fn overlay_networks_get_dns_like_user_defined_bridges() {
    assert!(dns_enabled(&network("overlay", false, json!({}))));
    assert!(dns_enabled(&network("bridge", false, json!({}))));
    assert!(!dns_enabled(&network(
        "overlay",
        false,
        json!({"dns": "false"})
    )));
    assert!(
        !dns_enabled(&network("bridge", true, json!({}))),
        "default bridge"
    );
    assert!(!dns_enabled(&network("macvlan", false, json!({}))));
}

#[test]
fn remote_members_are_served_beside_local_ones() {
    let st = state_with_local_web();
    let remote: RemoteMembers = [(
        NET.to_owned(),
        vec![RemoteMember::new(
            identity(REMOTE, "db", &["database", "bad name"]),
            ip("10.90.0.3"),
        )
        .expect("valid")],
    )]
    .into_iter()
    .collect();
    let snapshot = build_snapshot(&st, &remote, 1).expect("snapshot");
    let [net] = &snapshot.networks[..] else {
        panic!("one network: {snapshot:?}")
    };
    assert_eq!(net.listen, vec![ip("10.90.0.1")]);
    let names: Vec<(&str, Vec<&str>, &[IpAddr])> = net
        .members
        .iter()
        .map(|m| {
            let names = m.names.iter().map(String::as_str).collect();
            (&m.sandbox_id[..4], names, &m.addrs[..])
        })
        .collect();
    assert_eq!(
        names,
        vec![
            (
                "2222",
                vec!["web", "www", "222222222222"],
                &[ip("10.90.0.2")][..]
            ),
            (
                "3333",
                vec!["db", "database", "333333333333"],
                &[ip("10.90.0.3")][..]
            ),
        ],
        "the same names for both; invalid ones left out"
    );
}

#[test]
fn remote_records_never_break_the_snapshot() {
    let st = state_with_local_web();
    assert_eq!(
        RemoteMember::new(identity("zz", "db", &[]), ip("10.90.0.3")),
        None,
        "a sandbox id the resolver would refuse"
    );
    let member = |id: &str, name: &str, addr: &str| {
        RemoteMember::new(identity(id, name, &[]), ip(addr)).expect("valid")
    };
    let other = "5555555555555555555555555555555555555555555555555555555555555555";
    let remote: RemoteMembers = [
        (
            NET.to_owned(),
            vec![
                // A stale record for an address held here, then two
                // records for one address: the first one wins.
                member(REMOTE, "stale", "10.90.0.2"),
                member(REMOTE, "db", "10.90.0.3"),
                member(other, "late", "10.90.0.3"),
            ],
        ),
        // A network without DNS here (not known) is not served.
        (
            "f".repeat(64),
            vec![member(other, "elsewhere", "10.91.0.2")],
        ),
    ]
    .into_iter()
    .collect();
    let snapshot = build_snapshot(&st, &remote, 1).expect("snapshot");
    let [net] = &snapshot.networks[..] else {
        panic!("one network: {snapshot:?}")
    };
    let first_names: Vec<&str> = net.members.iter().map(|m| m.names[0].as_str()).collect();
    assert_eq!(first_names, ["web", "db"]);
}
