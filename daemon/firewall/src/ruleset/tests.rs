//! Golden test of the JSON handed to `nft -j -f -` for a fixed input.
//! Regenerate with `CNM_UPDATE_GOLDEN=1 cargo test -p cnm-firewall`.

#[path = "../../tests/golden/check.rs"]
mod golden;

use golden::assert_golden;

use super::rebuild;
use crate::model::{validate_all, NetworkRules, PortMapping, Protocol};

pub(crate) fn sample() -> (Vec<NetworkRules>, Vec<PortMapping>) {
    let networks = vec![NetworkRules {
        id: "4f1c".repeat(16),
        bridge: "cnm0".into(),
        subnets: vec![
            "10.88.0.0/24".parse().expect("cidr"),
            "fd88::/64".parse().expect("cidr"),
        ],
        internal: false,
        masquerade: true,
        icc: false,
    }];
    let mappings = vec![
        PortMapping {
            protocol: Protocol::Tcp,
            host_ip: None,
            host_port: 8080,
            container_ip: "10.88.0.2".parse().expect("ip"),
            container_port: 80,
        },
        PortMapping {
            protocol: Protocol::Udp,
            host_ip: Some("fd00::1".parse().expect("ip")),
            host_port: 5353,
            container_ip: "fd88::2".parse().expect("ip"),
            container_port: 53,
        },
    ];
    (networks, mappings)
}

#[test]
fn rebuild_json_is_golden() {
    let (networks, mappings) = sample();
    let valid = validate_all(&mappings).expect("valid");
    let json = serde_json::to_string_pretty(&rebuild(&networks, &valid)).expect("json");
    assert_golden("rebuild.json", &(json + "\n"));
}

#[test]
fn rule_count_does_not_depend_on_mappings() {
    let (networks, _) = sample();
    let many: Vec<PortMapping> = (1..=1000)
        .map(|port| PortMapping {
            protocol: Protocol::Tcp,
            host_ip: None,
            host_port: port,
            container_ip: "10.88.0.2".parse().expect("ip"),
            container_port: 80,
        })
        .collect();
    let valid = validate_all(&many).expect("valid");
    let count_rules = |r: &nftables::schema::Nftables<'_>| {
        serde_json::to_value(r).expect("json")["nftables"]
            .as_array()
            .expect("array")
            .iter()
            .filter(|c| c["add"].get("rule").is_some())
            .count()
    };
    assert_eq!(
        count_rules(&rebuild(&networks, &valid)),
        count_rules(&rebuild(&networks, &[]))
    );
}
