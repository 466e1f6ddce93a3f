//! The network configuration on stdin: the keys cnm-cni reads (the network
//! cnmd makes on the first ADD, the socket), what the runtime injects
//! (`runtimeConfig`, `prevResult`, GC's valid attachments), checked once
//! into typed values.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::PathBuf;

use ipnetwork::IpNetwork;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::{code, CniError};
use super::version::{SpecVersion, CURRENT};

/// Where cnmd listens unless the config's `socket` says otherwise.
pub const DEFAULT_SOCKET: &str = "/run/cnm/cnmd.sock";

/// Top-level keys cnm-cni accepts; anything else is error 2.
const KNOWN_KEYS: [&str; 19] = [
    "cniVersion",
    "cniVersions",
    "name",
    "type",
    "socket",
    "driver",
    "subnet",
    "gateway",
    "ipRange",
    "options",
    "internal",
    "dns",
    "capabilities",
    "runtimeConfig",
    "prevResult",
    "args",
    "cni.dev/valid-attachments",
    "cni.dev/attachments",
    // Left by runtimes that pass a whole conflist entry through.
    "disableCheck",
];

/// The network cnmd makes when the first ADD finds none by this name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkTemplate {
    /// Empty: cnmd's default (bridge).
    pub driver: String,
    pub subnet: Option<IpNetwork>,
    pub gateway: Option<IpAddr>,
    pub ip_range: Option<IpNetwork>,
    /// Driver options, as `cnm net create -o KEY=VALUE`.
    pub options: BTreeMap<String, String>,
    pub internal: bool,
    /// Upstream resolvers of the network's embedded DNS (`dns.nameservers`).
    pub dns_servers: Vec<IpAddr>,
}

/// The spec's DNS structure (config `dns`, result `dns`, runtime `dns`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dns {
    #[serde(default)]
    pub nameservers: Vec<String>,
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub search: Vec<String>,
    #[serde(default)]
    pub options: Vec<String>,
}

/// `runtimeConfig`: the capabilities cnm-cni declares, filled by the
/// runtime. Keys of capabilities this plugin does not have are ignored (a
/// conflist may declare them for the plugins after it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeConfig {
    #[serde(default)]
    pub port_mappings: Vec<PortMapping>,
    /// Static addresses, with or without prefix length.
    #[serde(default)]
    pub ips: Vec<String>,
    #[serde(default)]
    pub mac: Option<String>,
    /// Network name to DNS aliases (Podman's `aliases` capability).
    #[serde(default)]
    pub aliases: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub dns: Option<RuntimeDns>,
}

/// The `portMappings` capability.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortMapping {
    #[serde(default)]
    pub host_port: u16,
    pub container_port: u16,
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default, rename = "hostIP")]
    pub host_ip: Option<String>,
}

/// The `dns` capability: resolvers for this container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct RuntimeDns {
    #[serde(default)]
    pub servers: Vec<String>,
    #[serde(default)]
    pub searches: Vec<String>,
    #[serde(default)]
    pub options: Vec<String>,
}

/// One entry of GC's `cni.dev/valid-attachments`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub struct GcAttachment {
    #[serde(rename = "containerID")]
    pub container_id: String,
    pub ifname: String,
}

/// A checked network configuration.
#[derive(Debug, Clone)]
pub struct NetConf {
    /// As given, echoed in results and errors.
    pub cni_version: String,
    pub version: SpecVersion,
    /// The network: cnmd's network of this name.
    pub name: String,
    pub socket: PathBuf,
    pub network: NetworkTemplate,
    /// `dns` of the config; search and options are reported in results.
    pub dns: Dns,
    pub runtime: RuntimeConfig,
    pub prev_result: Option<Value>,
    /// GC's valid attachments (both spellings libcni sends, merged); None
    /// when neither key is present. libcni sends `null` for "none valid".
    pub valid_attachments: Option<BTreeSet<GcAttachment>>,
}

impl NetConf {
    /// Decodes (error 6), checks the version (1), the keys (2) and the
    /// values (7), in that order.
    pub fn parse(bytes: &[u8]) -> Result<NetConf, CniError> {
        let map: Map<String, Value> = serde_json::from_slice(bytes).map_err(|err| {
            CniError::new(
                code::DECODE_FAILURE,
                format!("the network configuration on stdin is not a JSON object: {err}"),
            )
        })?;
        let cni_version = match map.get("cniVersion") {
            Some(Value::String(v)) => v.clone(),
            Some(other) => return Err(invalid(format!("cniVersion {other} is not a string"))),
            None => String::new(),
        };
        let version = SpecVersion::supported(&cni_version)?;
        if let Some((key, value)) = map.iter().find(|(k, _)| !KNOWN_KEYS.contains(&k.as_str())) {
            return Err(unsupported(key, value));
        }
        let name = match map.get("name") {
            Some(Value::String(n)) if is_valid_name(n) => n.clone(),
            Some(other) => {
                return Err(invalid(format!(
                    "network name {other} is invalid: use a letter or digit followed by letters, digits, '_', '.' or '-'"
                )))
            }
            None => return Err(invalid("the network configuration has no \"name\"")),
        };
        let dns: Dns = field(&map, "dns")?.unwrap_or_default();
        let network = NetworkTemplate {
            driver: field::<String>(&map, "driver")?.unwrap_or_default(),
            subnet: parsed(&map, "subnet")?,
            gateway: parsed(&map, "gateway")?,
            ip_range: parsed(&map, "ipRange")?,
            options: options(&map)?,
            internal: field(&map, "internal")?.unwrap_or(false),
            dns_servers: ips("dns.nameservers", &dns.nameservers)?,
        };
        if let (Some(gw), Some(subnet)) = (network.gateway, network.subnet) {
            if !subnet.contains(gw) {
                return Err(invalid(format!("gateway {gw} is not in subnet {subnet}")));
            }
        }
        let socket = field::<PathBuf>(&map, "socket")?.unwrap_or_else(|| DEFAULT_SOCKET.into());
        if !socket.is_absolute() {
            return Err(invalid(format!(
                "socket {} must be an absolute path",
                socket.display()
            )));
        }
        let mut valid_attachments = None::<BTreeSet<GcAttachment>>;
        for key in ["cni.dev/valid-attachments", "cni.dev/attachments"] {
            if map.contains_key(key) {
                let listed = field::<Vec<GcAttachment>>(&map, key)?.unwrap_or_default();
                valid_attachments.get_or_insert_default().extend(listed);
            }
        }
        Ok(NetConf {
            cni_version,
            version,
            name,
            socket,
            network,
            dns,
            runtime: field(&map, "runtimeConfig")?.unwrap_or_default(),
            prev_result: map.get("prevResult").filter(|v| !v.is_null()).cloned(),
            valid_attachments,
        })
    }
}

/// The `cniVersion` of a config that may not parse, for the error JSON.
pub fn version_hint(bytes: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Hint {
        #[serde(rename = "cniVersion")]
        cni_version: String,
    }
    serde_json::from_slice::<Hint>(bytes)
        .ok()
        .map(|h| h.cni_version)
        .filter(|v| SpecVersion::supported(v).is_ok())
        .unwrap_or_else(|| CURRENT.to_owned())
}

fn invalid(msg: impl Into<String>) -> CniError {
    CniError::new(code::INVALID_CONFIG, msg)
}

fn unsupported(key: &str, value: &Value) -> CniError {
    let hint = if key == "ipam" {
        ": cnm-cni allocates addresses through cnmd; use \"subnet\", \"gateway\" and \"ipRange\""
    } else {
        ""
    };
    CniError::new(
        code::UNSUPPORTED_FIELD,
        format!("unsupported field {key:?} = {value}{hint}"),
    )
}

/// The network name rule of the spec (and of cnmd).
fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// A typed optional field; error 7 names the key.
fn field<T: DeserializeOwned>(map: &Map<String, Value>, key: &str) -> Result<Option<T>, CniError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => T::deserialize(value)
            .map(Some)
            .map_err(|err| invalid(format!("invalid {key:?}: {err}"))),
    }
}

/// A string field parsed with `FromStr` (addresses, CIDRs).
fn parsed<T: std::str::FromStr>(
    map: &Map<String, Value>,
    key: &str,
) -> Result<Option<T>, CniError> {
    let Some(raw) = field::<String>(map, key)? else {
        return Ok(None);
    };
    raw.parse()
        .map(Some)
        .map_err(|_| invalid(format!("invalid {key:?}: {raw:?} is not a valid address")))
}

fn ips(what: &str, raw: &[String]) -> Result<Vec<IpAddr>, CniError> {
    raw.iter()
        .map(|r| {
            r.parse()
                .map_err(|_| invalid(format!("invalid {what}: {r:?} is not an IP address")))
        })
        .collect()
}

/// `options`: strings, numbers and booleans, as `-o KEY=VALUE` takes them.
fn options(map: &Map<String, Value>) -> Result<BTreeMap<String, String>, CniError> {
    let raw: BTreeMap<String, Value> = field(map, "options")?.unwrap_or_default();
    raw.into_iter()
        .map(|(key, value)| {
            let text = match value {
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                other => {
                    return Err(invalid(format!(
                        "option {key:?} = {other} must be a string, number or boolean"
                    )))
                }
            };
            Ok((key, text))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<NetConf, CniError> {
        NetConf::parse(json.as_bytes())
    }

    #[test]
    fn full_config_parses() {
        let conf = parse(
            r#"{"cniVersion":"1.1.0","name":"web","type":"cnm-cni","socket":"/tmp/s.sock",
                "driver":"bridge","subnet":"10.9.0.0/24","gateway":"10.9.0.1","ipRange":"10.9.0.128/25",
                "options":{"mtu":1400,"com.docker.network.bridge.name":"br-web","icc":false},
                "internal":true,"dns":{"nameservers":["9.9.9.9"],"search":["example"]},
                "capabilities":{"portMappings":true},
                "runtimeConfig":{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}],
                                 "ips":["10.9.0.200/24"],"mac":"02:00:00:00:00:09",
                                 "aliases":{"web":["db"]},"dns":{"servers":["1.1.1.1"]}},
                "cni.dev/valid-attachments":[{"containerID":"a","ifname":"eth0"}],
                "cni.dev/attachments":[{"containerID":"a","ifname":"eth0"},{"containerID":"b","ifname":"eth1"}]}"#,
        )
        .expect("valid");
        assert_eq!(conf.name, "web");
        assert_eq!(conf.socket, PathBuf::from("/tmp/s.sock"));
        assert_eq!(conf.network.options["mtu"], "1400");
        assert_eq!(conf.network.options["icc"], "false");
        assert!(conf.network.internal);
        assert_eq!(
            conf.network.dns_servers,
            vec!["9.9.9.9".parse::<IpAddr>().expect("ip")]
        );
        assert_eq!(conf.runtime.port_mappings[0].host_port, 8080);
        assert_eq!(conf.runtime.aliases["web"], vec!["db".to_string()]);
        assert_eq!(conf.valid_attachments.map(|v| v.len()), Some(2));
        let none_valid =
            parse(r#"{"cniVersion":"1.1.0","name":"n","cni.dev/valid-attachments":null}"#)
                .expect("null list");
        assert_eq!(none_valid.valid_attachments, Some(BTreeSet::new()));
    }

    #[test]
    fn defaults() {
        let conf = parse(r#"{"cniVersion":"0.3.1","name":"n","type":"cnm-cni"}"#).expect("ok");
        assert_eq!(conf.socket, PathBuf::from(DEFAULT_SOCKET));
        assert_eq!(conf.network, NetworkTemplate::default());
        assert!(conf.prev_result.is_none());
        assert!(conf.valid_attachments.is_none());
    }

    #[test]
    fn errors_carry_the_spec_codes() {
        let cases = [
            ("not json", code::DECODE_FAILURE),
            ("[1]", code::DECODE_FAILURE),
            (
                r#"{"cniVersion":"0.2.0","name":"n"}"#,
                code::INCOMPATIBLE_VERSION,
            ),
            (r#"{"name":"n"}"#, code::INCOMPATIBLE_VERSION),
            (
                r#"{"cniVersion":"1.0.0","name":"n","subent":"x"}"#,
                code::UNSUPPORTED_FIELD,
            ),
            (
                r#"{"cniVersion":"1.0.0","name":"n","ipam":{"type":"host-local"}}"#,
                code::UNSUPPORTED_FIELD,
            ),
            (r#"{"cniVersion":"1.0.0"}"#, code::INVALID_CONFIG),
            (
                r#"{"cniVersion":"1.0.0","name":"a b"}"#,
                code::INVALID_CONFIG,
            ),
            (
                r#"{"cniVersion":"1.0.0","name":"n","subnet":"10.0.0.0/33"}"#,
                code::INVALID_CONFIG,
            ),
            (
                r#"{"cniVersion":"1.0.0","name":"n","subnet":"10.0.0.0/24","gateway":"10.1.0.1"}"#,
                code::INVALID_CONFIG,
            ),
            (
                r#"{"cniVersion":"1.0.0","name":"n","socket":"rel.sock"}"#,
                code::INVALID_CONFIG,
            ),
            (
                r#"{"cniVersion":"1.0.0","name":"n","internal":"yes"}"#,
                code::INVALID_CONFIG,
            ),
            (
                r#"{"cniVersion":"1.0.0","name":"n","options":{"a":[1]}}"#,
                code::INVALID_CONFIG,
            ),
        ];
        for (json, expected) in cases {
            let err = parse(json).expect_err(json);
            assert_eq!(err.code, expected, "{json}: {err}");
        }
        let err = parse(r#"{"cniVersion":"1.0.0","name":"n","subent":"x"}"#).expect_err("key");
        assert!(
            err.msg.contains("subent") && err.msg.contains("\"x\""),
            "{err}"
        );
    }

    #[test]
    fn version_hint_falls_back_to_current() {
        assert_eq!(version_hint(br#"{"cniVersion":"0.4.0","name":1}"#), "0.4.0");
        assert_eq!(version_hint(b"garbage"), CURRENT);
        assert_eq!(version_hint(br#"{"cniVersion":"9.9.9"}"#), CURRENT);
    }
}
