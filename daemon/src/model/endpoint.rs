//! An endpoint record: one interface of one sandbox on one network.

use std::net::IpAddr;

use ipnetwork::IpNetwork;
use serde::{Deserialize, Serialize};

use crate::ports::PublishedPort;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointRecord {
    pub id: String,
    pub network_id: String,
    pub sandbox_id: String,
    /// Interface name inside the sandbox ("eth0").
    pub ifname: String,
    pub mac: [u8; 6],
    /// Addresses with the subnet's prefix length.
    pub ipv4: Option<IpNetwork>,
    pub ipv6: Option<IpNetwork>,
    /// The user asked for these exact addresses (`--ip`, `--ip6`).
    pub static_ipv4: bool,
    pub static_ipv6: bool,
    pub aliases: Vec<String>,
    pub gateway_v4: Option<IpAddr>,
    pub gateway_v6: Option<IpAddr>,
    /// This endpoint carries the sandbox's default route.
    pub default_route: bool,
    pub created: String,
    /// Host ports published to this endpoint.
    #[serde(default)]
    pub ports: Vec<PublishedPort>,
    /// Set when another runtime (a CNI runtime, an OCI hook) connected it.
    #[serde(default)]
    pub attachment: Option<Attachment>,
    /// The host side of the interface, when the driver makes one.
    #[serde(default)]
    pub host_ifname: Option<String>,
}

/// Who connected an endpoint on behalf of another runtime, by that
/// runtime's names: CNI keys attachments by (container id, interface).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// CNI_CONTAINERID, or the id in an OCI hook's container state.
    pub container_id: String,
    /// "cni", "oci-hook": CNI GC removes only its own.
    pub owner: String,
}

impl EndpointRecord {
    /// Whether this endpoint was attached as `container_id` (and, when
    /// given, as interface `ifname`).
    pub fn is_attachment(&self, container_id: &str, ifname: Option<&str>) -> bool {
        self.attachment
            .as_ref()
            .is_some_and(|a| a.container_id == container_id)
            && ifname.is_none_or(|name| name == self.ifname)
    }
}

impl EndpointRecord {
    pub fn addresses(&self) -> impl Iterator<Item = IpNetwork> + '_ {
        self.ipv4.iter().chain(self.ipv6.iter()).copied()
    }

    pub fn mac_string(&self) -> String {
        format_mac(&self.mac)
    }
}

pub fn format_mac(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Parses "02:42:ac:11:00:02"; the error names the value.
pub fn parse_mac(raw: &str) -> Result<[u8; 6], String> {
    let bad =
        || format!("invalid MAC address {raw:?}: expected six hex bytes like 02:42:ac:11:00:02");
    let mut mac = [0u8; 6];
    let mut parts = raw.split(':');
    for byte in &mut mac {
        let part = parts.next().ok_or_else(bad)?;
        if part.len() != 2 {
            return Err(bad());
        }
        *byte = u8::from_str_radix(part, 16).map_err(|_| bad())?;
    }
    if parts.next().is_some() {
        return Err(bad());
    }
    if mac[0] & 1 == 1 {
        return Err(format!(
            "invalid MAC address {raw:?}: it is a multicast address"
        ));
    }
    Ok(mac)
}

/// A MAC for a new endpoint: Docker's scheme (02:42 + the IPv4 address) when
/// there is one, so the MAC of an address stays the same across reuse and
/// ARP caches stay right; random locally administered otherwise.
pub fn mac_for(ipv4: Option<IpNetwork>) -> [u8; 6] {
    match ipv4.map(|n| n.ip()) {
        Some(IpAddr::V4(v4)) => {
            let o = v4.octets();
            [0x02, 0x42, o[0], o[1], o[2], o[3]]
        }
        _ => {
            let mut mac: [u8; 6] = rand::random();
            mac[0] = (mac[0] & 0xfe) | 0x02;
            mac
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_round_trip_and_errors() {
        let mac = parse_mac("02:42:ac:11:00:02").expect("parse");
        assert_eq!(format_mac(&mac), "02:42:ac:11:00:02");
        assert!(parse_mac("02:42:ac:11:00").is_err());
        assert!(parse_mac("02:42:ac:11:00:02:03").is_err());
        assert!(parse_mac("zz:42:ac:11:00:02").is_err());
        assert!(parse_mac("01:00:5e:00:00:01")
            .unwrap_err()
            .contains("multicast"));
    }

    #[test]
    fn attachments_match_by_container_and_interface() {
        let mut ep = EndpointRecord {
            id: "e".into(),
            network_id: "n".into(),
            sandbox_id: "s".into(),
            ifname: "net1".into(),
            mac: [2, 0, 0, 0, 0, 1],
            ipv4: None,
            ipv6: None,
            static_ipv4: false,
            static_ipv6: false,
            aliases: Vec::new(),
            gateway_v4: None,
            gateway_v6: None,
            default_route: false,
            created: String::new(),
            ports: Vec::new(),
            attachment: None,
            host_ifname: None,
        };
        assert!(!ep.is_attachment("c1", None), "no attachment recorded");
        ep.attachment = Some(Attachment {
            container_id: "c1".into(),
            owner: "cni".into(),
        });
        assert!(ep.is_attachment("c1", None));
        assert!(ep.is_attachment("c1", Some("net1")));
        assert!(!ep.is_attachment("c1", Some("eth0")));
        assert!(!ep.is_attachment("c2", None));
    }

    #[test]
    fn records_without_the_new_fields_still_load() {
        let old = r#"{"id":"e","network_id":"n","sandbox_id":"s","ifname":"eth0","mac":[2,66,172,17,0,2],
            "ipv4":"172.17.0.2/16","ipv6":null,"static_ipv4":false,"static_ipv6":false,"aliases":[],
            "gateway_v4":"172.17.0.1","gateway_v6":null,"default_route":true,"created":""}"#;
        let ep: EndpointRecord = serde_json::from_str(old).expect("old record");
        assert_eq!((ep.attachment, ep.host_ifname), (None, None));
    }

    #[test]
    fn mac_follows_ipv4_or_is_local_unicast() {
        let ip: IpNetwork = "172.17.0.2/16".parse().expect("cidr");
        assert_eq!(mac_for(Some(ip)), [0x02, 0x42, 172, 17, 0, 2]);
        let random = mac_for(None);
        assert_eq!(random[0] & 0x03, 0x02);
    }
}
