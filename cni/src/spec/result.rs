//! The CNI result: built from cnmd's endpoint, written in the shape of the
//! caller's spec version, and read back as `prevResult` by CHECK.

use std::net::IpAddr;

use ipnetwork::IpNetwork;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::error::{code, CniError};
use super::version::SpecVersion;

/// An interface the plugin made (or knows): the sandbox side carries the
/// namespace path, the host side none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    pub mac: String,
    pub mtu: Option<u32>,
    /// Empty for host-side interfaces.
    pub sandbox: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpConfig {
    pub address: IpNetwork,
    pub gateway: Option<IpAddr>,
    /// Index into `interfaces`.
    pub interface: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub dst: IpNetwork,
    pub gw: Option<IpAddr>,
}

/// The spec's DNS structure in a result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResultDns {
    pub nameservers: Vec<String>,
    pub domain: Option<String>,
    pub search: Vec<String>,
    pub options: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CniResult {
    pub interfaces: Vec<Interface>,
    pub ips: Vec<IpConfig>,
    pub routes: Vec<Route>,
    pub dns: ResultDns,
}

impl CniResult {
    /// The result as JSON of spec `version` (`cni_version` echoed as given).
    pub fn to_json(&self, cni_version: &str, version: SpecVersion) -> Value {
        let interfaces: Vec<Value> = self
            .interfaces
            .iter()
            .map(|i| {
                let mut obj = Map::new();
                obj.insert("name".into(), json!(i.name));
                if !i.mac.is_empty() {
                    obj.insert("mac".into(), json!(i.mac));
                }
                if let (Some(mtu), true) = (i.mtu, version >= SpecVersion::V1_1_0) {
                    obj.insert("mtu".into(), json!(mtu));
                }
                if !i.sandbox.is_empty() {
                    obj.insert("sandbox".into(), json!(i.sandbox));
                }
                Value::Object(obj)
            })
            .collect();
        let ips: Vec<Value> = self
            .ips
            .iter()
            .map(|ip| {
                let mut obj = Map::new();
                if version.has_ip_version_field() {
                    let family = if ip.address.is_ipv4() { "4" } else { "6" };
                    obj.insert("version".into(), json!(family));
                }
                obj.insert("address".into(), json!(ip.address.to_string()));
                if let Some(gw) = ip.gateway {
                    obj.insert("gateway".into(), json!(gw.to_string()));
                }
                if let Some(index) = ip.interface {
                    obj.insert("interface".into(), json!(index));
                }
                Value::Object(obj)
            })
            .collect();
        let routes: Vec<Value> = self
            .routes
            .iter()
            .map(|r| match r.gw {
                Some(gw) => json!({"dst": r.dst.to_string(), "gw": gw.to_string()}),
                None => json!({"dst": r.dst.to_string()}),
            })
            .collect();
        let mut result = Map::new();
        result.insert("cniVersion".into(), json!(cni_version));
        result.insert("interfaces".into(), Value::Array(interfaces));
        result.insert("ips".into(), Value::Array(ips));
        if !routes.is_empty() {
            result.insert("routes".into(), Value::Array(routes));
        }
        result.insert("dns".into(), self.dns.to_json());
        Value::Object(result)
    }

    /// Appends this result to a `prevResult` (cnm-cni placed after another
    /// plugin): interfaces, addresses (re-indexed) and routes are added, and
    /// the DNS is ours where the earlier one had none.
    pub fn append_to(
        &self,
        prev: &Value,
        cni_version: &str,
        version: SpecVersion,
    ) -> Result<Value, CniError> {
        let Value::Object(mut merged) = prev.clone() else {
            return Err(CniError::new(
                code::INVALID_CONFIG,
                "prevResult is not a JSON object",
            ));
        };
        let offset = merged
            .get("interfaces")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        let shifted = CniResult {
            ips: self
                .ips
                .iter()
                .map(|ip| IpConfig {
                    interface: ip.interface.map(|i| i + offset),
                    ..ip.clone()
                })
                .collect(),
            ..self.clone()
        };
        let Value::Object(ours) = shifted.to_json(cni_version, version) else {
            return Err(CniError::new(
                code::INVALID_CONFIG,
                "result is not an object",
            ));
        };
        for key in ["interfaces", "ips", "routes"] {
            let Some(Value::Array(add)) = ours.get(key) else {
                continue;
            };
            let list = merged
                .entry(key)
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(list) = list {
                list.extend(add.iter().cloned());
            }
        }
        let prev_dns_empty = merged
            .get("dns")
            .and_then(Value::as_object)
            .is_none_or(Map::is_empty);
        if prev_dns_empty {
            if let Some(dns) = ours.get("dns") {
                merged.insert("dns".into(), dns.clone());
            }
        }
        merged.insert("cniVersion".into(), json!(cni_version));
        Ok(Value::Object(merged))
    }
}

impl ResultDns {
    fn to_json(&self) -> Value {
        let mut obj = Map::new();
        if !self.nameservers.is_empty() {
            obj.insert("nameservers".into(), json!(self.nameservers));
        }
        if let Some(domain) = &self.domain {
            obj.insert("domain".into(), json!(domain));
        }
        if !self.search.is_empty() {
            obj.insert("search".into(), json!(self.search));
        }
        if !self.options.is_empty() {
            obj.insert("options".into(), json!(self.options));
        }
        Value::Object(obj)
    }
}

/// The parts of a `prevResult` CHECK compares (any spec version).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PrevResult {
    #[serde(default)]
    pub interfaces: Vec<PrevInterface>,
    #[serde(default)]
    pub ips: Vec<PrevIp>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PrevInterface {
    pub name: String,
    #[serde(default)]
    pub mac: String,
    #[serde(default)]
    pub sandbox: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PrevIp {
    pub address: IpNetwork,
    #[serde(default)]
    pub interface: Option<usize>,
}

impl PrevResult {
    pub fn parse(value: &Value) -> Result<PrevResult, CniError> {
        PrevResult::deserialize(value).map_err(|err| {
            CniError::new(
                code::DECODE_FAILURE,
                format!("cannot read prevResult: {err}"),
            )
        })
    }

    /// The sandbox interface named `ifname` and its addresses.
    pub fn sandbox_interface(&self, ifname: &str) -> Option<(&PrevInterface, Vec<IpNetwork>)> {
        let (index, iface) = self
            .interfaces
            .iter()
            .enumerate()
            .find(|(_, i)| i.name == ifname && !i.sandbox.is_empty())?;
        let addrs = self
            .ips
            .iter()
            .filter(|ip| ip.interface == Some(index))
            .map(|ip| ip.address)
            .collect();
        Some((iface, addrs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CniResult {
        let net = |s: &str| s.parse::<IpNetwork>().expect("cidr");
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        CniResult {
            interfaces: vec![
                Interface {
                    name: "cnmv0123456789a".into(),
                    mac: String::new(),
                    mtu: None,
                    sandbox: String::new(),
                },
                Interface {
                    name: "eth0".into(),
                    mac: "02:42:0a:09:00:02".into(),
                    mtu: Some(1500),
                    sandbox: "/run/netns/c1".into(),
                },
            ],
            ips: vec![IpConfig {
                address: net("10.9.0.2/24"),
                gateway: Some(ip("10.9.0.1")),
                interface: Some(1),
            }],
            routes: vec![Route {
                dst: net("0.0.0.0/0"),
                gw: Some(ip("10.9.0.1")),
            }],
            dns: ResultDns {
                nameservers: vec!["10.9.0.1".into()],
                ..ResultDns::default()
            },
        }
    }

    /// Key order is not part of JSON; compare values.
    fn golden(text: &str) -> Value {
        serde_json::from_str(text).expect("golden JSON")
    }

    #[test]
    fn golden_1_1_0() {
        let v = SpecVersion::supported("1.1.0").expect("v");
        let json = sample().to_json("1.1.0", v);
        assert_eq!(
            json,
            golden(
                r#"{"cniVersion":"1.1.0","interfaces":[{"name":"cnmv0123456789a"},{"name":"eth0","mac":"02:42:0a:09:00:02","mtu":1500,"sandbox":"/run/netns/c1"}],"ips":[{"address":"10.9.0.2/24","gateway":"10.9.0.1","interface":1}],"routes":[{"dst":"0.0.0.0/0","gw":"10.9.0.1"}],"dns":{"nameservers":["10.9.0.1"]}}"#
            )
        );
    }

    #[test]
    fn golden_0_3_1_has_ip_versions_and_no_mtu() {
        let v = SpecVersion::supported("0.3.1").expect("v");
        let json = sample().to_json("0.3.1", v);
        assert_eq!(
            json,
            golden(
                r#"{"cniVersion":"0.3.1","interfaces":[{"name":"cnmv0123456789a"},{"name":"eth0","mac":"02:42:0a:09:00:02","sandbox":"/run/netns/c1"}],"ips":[{"version":"4","address":"10.9.0.2/24","gateway":"10.9.0.1","interface":1}],"routes":[{"dst":"0.0.0.0/0","gw":"10.9.0.1"}],"dns":{"nameservers":["10.9.0.1"]}}"#
            )
        );
    }

    #[test]
    fn round_trips_through_prev_result() {
        for raw in ["0.4.0", "1.0.0", "1.1.0"] {
            let v = SpecVersion::supported(raw).expect("v");
            let prev = PrevResult::parse(&sample().to_json(raw, v)).expect("parse");
            let (iface, addrs) = prev.sandbox_interface("eth0").expect("eth0");
            assert_eq!(iface.mac, "02:42:0a:09:00:02");
            assert_eq!(
                addrs,
                vec!["10.9.0.2/24".parse::<IpNetwork>().expect("cidr")]
            );
            assert!(prev.sandbox_interface("cnmv0123456789a").is_none());
        }
    }

    #[test]
    fn appends_after_an_earlier_plugin() {
        let v = SpecVersion::supported("1.0.0").expect("v");
        let prev = json!({"cniVersion":"1.0.0","interfaces":[{"name":"x","sandbox":"/n"}],
                          "ips":[{"address":"192.168.0.2/24","interface":0}],"dns":{}});
        let merged = sample().append_to(&prev, "1.0.0", v).expect("merge");
        assert_eq!(merged["interfaces"].as_array().map(Vec::len), Some(3));
        assert_eq!(merged["ips"][1]["interface"], json!(2));
        assert_eq!(merged["ips"][0]["address"], json!("192.168.0.2/24"));
        assert_eq!(merged["dns"]["nameservers"][0], json!("10.9.0.1"));
    }
}
