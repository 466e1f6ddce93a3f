//! Docker-shaped JSON printed by `cnm net inspect`, parsed strictly: a
//! missing key fails the parse (Docker always prints these keys), while
//! `null` is read as empty as Docker does for some of them.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

fn null_as_empty<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}

/// One network, as in `docker network inspect`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkJson {
    pub name: String,
    pub id: String,
    pub created: String,
    pub scope: String,
    pub driver: String,
    #[serde(rename = "EnableIPv6")]
    pub enable_ipv6: bool,
    #[serde(rename = "IPAM")]
    pub ipam: IpamJson,
    pub internal: bool,
    #[serde(deserialize_with = "null_as_empty")]
    pub containers: BTreeMap<String, EndpointJson>,
    #[serde(deserialize_with = "null_as_empty")]
    pub options: BTreeMap<String, String>,
    #[serde(deserialize_with = "null_as_empty")]
    pub labels: BTreeMap<String, String>,
}

/// `IPAM`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IpamJson {
    pub driver: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub config: Vec<IpamConfigJson>,
}

/// One `IPAM.Config` entry; Docker omits empty fields.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IpamConfigJson {
    pub subnet: String,
    #[serde(default)]
    pub gateway: String,
    #[serde(default, rename = "IPRange")]
    pub ip_range: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub auxiliary_addresses: BTreeMap<String, String>,
}

/// One entry of `Containers`, keyed by sandbox id.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EndpointJson {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
    #[serde(rename = "MacAddress")]
    pub mac_address: String,
    #[serde(rename = "IPv4Address")]
    pub ipv4_address: String,
    #[serde(rename = "IPv6Address")]
    pub ipv6_address: String,
}

impl NetworkJson {
    /// The endpoint of the sandbox named `name`, if connected.
    pub fn endpoint_named(&self, name: &str) -> Option<&EndpointJson> {
        self.containers.values().find(|e| e.name == name)
    }

    /// The endpoint of the sandbox named `name`; panics if absent.
    pub fn expect_endpoint(&self, name: &str) -> &EndpointJson {
        self.endpoint_named(name).unwrap_or_else(|| {
            panic!(
                "network {} has no endpoint for sandbox {name}: {:#?}",
                self.name, self.containers
            )
        })
    }

    /// The IPAM config entry whose subnet is IPv4 (no `:`).
    pub fn ipv4_config(&self) -> Option<&IpamConfigJson> {
        self.ipam.config.iter().find(|c| !c.subnet.contains(':'))
    }

    /// The IPAM config entry whose subnet is IPv6.
    pub fn ipv6_config(&self) -> Option<&IpamConfigJson> {
        self.ipam.config.iter().find(|c| c.subnet.contains(':'))
    }
}

/// Parses the output of `cnm net inspect …` (a JSON array).
pub fn parse_networks(json: &str) -> Vec<NetworkJson> {
    serde_json::from_str(json).unwrap_or_else(|e| {
        panic!("`cnm net inspect` did not print Docker-shaped JSON ({e}):\n{json}")
    })
}

/// One row of `cnm net ls`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LsRow {
    pub id: String,
    pub name: String,
    pub driver: String,
    pub scope: String,
}

/// Parses `cnm net ls` (Docker's `NETWORK ID  NAME  DRIVER  SCOPE` table).
pub fn parse_ls(table: &str) -> Vec<LsRow> {
    let mut lines = table.lines().filter(|l| !l.trim().is_empty());
    let header = lines.next().unwrap_or_default();
    assert!(
        header.contains("NETWORK ID") && header.contains("NAME"),
        "`cnm net ls` header is not Docker's (NETWORK ID NAME DRIVER SCOPE):\n{table}"
    );
    let mut rows: Vec<LsRow> = lines
        .map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(cols.len(), 4, "unexpected `cnm net ls` row: {l:?}");
            LsRow {
                id: cols[0].into(),
                name: cols[1].into(),
                driver: cols[2].into(),
                scope: cols[3].into(),
            }
        })
        .collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    rows
}

/// The address part of a CIDR (`172.18.0.2/16` -> `172.18.0.2`).
pub fn addr_of(cidr: &str) -> &str {
    cidr.split('/').next().unwrap_or(cidr)
}

/// True for 64 lowercase hex digits (a Docker-style full id).
pub fn is_full_id(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_inspect_output() {
        let json = r#"[{"Name":"n","Id":"x","Created":"t","Scope":"local","Driver":"bridge",
            "EnableIPv6":false,"IPAM":{"Driver":"default","Options":null,
            "Config":[{"Subnet":"172.18.0.0/16","Gateway":"172.18.0.1"}]},
            "Internal":false,"Attachable":false,"Containers":{},"Options":{},"Labels":null}]"#;
        let nets = parse_networks(json);
        assert_eq!(
            nets[0].ipv4_config().map(|c| c.gateway.as_str()),
            Some("172.18.0.1")
        );
        assert!(nets[0].labels.is_empty());
    }

    #[test]
    fn parses_ls_table() {
        let rows =
            parse_ls("NETWORK ID     NAME      DRIVER    SCOPE\nabc   bridge  bridge  local\n");
        assert_eq!(rows[0].name, "bridge");
    }

    #[test]
    fn full_id_is_64_hex() {
        assert!(is_full_id(&"a1".repeat(32)));
        assert!(!is_full_id("abc"));
    }
}
