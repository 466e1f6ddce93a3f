//! The CNI_* environment: which verb, which container, which namespace and
//! interface, and the `CNI_ARGS` pairs Podman and Kubernetes send.

use std::net::IpAddr;
use std::path::PathBuf;

use super::error::{code, CniError};

/// The verbs of CNI 1.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Add,
    Del,
    Check,
    Gc,
    Status,
    Version,
}

impl Command {
    fn parse(raw: &str) -> Option<Command> {
        Some(match raw {
            "ADD" => Command::Add,
            "DEL" => Command::Del,
            "CHECK" => Command::Check,
            "GC" => Command::Gc,
            "STATUS" => Command::Status,
            "VERSION" => Command::Version,
            _ => return None,
        })
    }
}

/// The environment of one invocation, checked for its verb.
#[derive(Debug, Clone)]
pub struct CniEnv {
    pub command: Command,
    /// CNI_CONTAINERID (ADD, DEL, CHECK).
    pub container_id: String,
    /// CNI_NETNS (ADD, CHECK; DEL may go without).
    pub netns: Option<PathBuf>,
    /// CNI_IFNAME (ADD, DEL, CHECK).
    pub ifname: String,
    pub args: CniArgs,
}

impl CniEnv {
    /// Reads and checks the variables `command` needs; error 4 names the
    /// first one that is missing or invalid.
    pub fn load(var: impl Fn(&str) -> Option<String>) -> Result<CniEnv, CniError> {
        let var = |name: &str| var(name).filter(|v| !v.is_empty());
        let raw = var("CNI_COMMAND").ok_or_else(|| invalid("CNI_COMMAND", "is not set"))?;
        let command = Command::parse(&raw).ok_or_else(|| {
            invalid(
                "CNI_COMMAND",
                &format!("{raw:?} is not one of ADD, DEL, CHECK, GC, STATUS, VERSION"),
            )
        })?;
        let attachment = matches!(command, Command::Add | Command::Del | Command::Check);
        let mut env = CniEnv {
            command,
            container_id: String::new(),
            netns: None,
            ifname: String::new(),
            args: CniArgs::default(),
        };
        if !attachment {
            return Ok(env);
        }
        env.container_id =
            var("CNI_CONTAINERID").ok_or_else(|| invalid("CNI_CONTAINERID", "is not set"))?;
        if !is_valid_container_id(&env.container_id) {
            return Err(invalid(
                "CNI_CONTAINERID",
                "must start with a letter or digit followed by letters, digits, '_', '.' or '-'",
            ));
        }
        env.ifname = var("CNI_IFNAME").ok_or_else(|| invalid("CNI_IFNAME", "is not set"))?;
        if !is_valid_ifname(&env.ifname) {
            return Err(invalid(
                "CNI_IFNAME",
                &format!(
                    "{:?} is not an interface name (1-15 characters, no '/', ':' or whitespace)",
                    env.ifname
                ),
            ));
        }
        env.netns = var("CNI_NETNS").map(PathBuf::from);
        match &env.netns {
            None if command != Command::Del => {
                return Err(invalid("CNI_NETNS", "is not set"));
            }
            Some(path) if !path.is_absolute() => {
                return Err(invalid("CNI_NETNS", "must be an absolute path"));
            }
            _ => {}
        }
        env.args = CniArgs::parse(&var("CNI_ARGS").unwrap_or_default())?;
        Ok(env)
    }

    /// CNI_NETNS, which ADD and CHECK have by now.
    pub fn netns_path(&self) -> Result<&std::path::Path, CniError> {
        self.netns
            .as_deref()
            .ok_or_else(|| invalid("CNI_NETNS", "is not set"))
    }
}

fn invalid(name: &str, why: &str) -> CniError {
    CniError::new(code::INVALID_ENV, format!("{name} {why}"))
}

/// The `CNI_ARGS` keys cnm-cni reads; others (K8S_POD_*, IgnoreUnknown)
/// are accepted and ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CniArgs {
    /// `IP=` (Podman's static address; several comma-separated).
    pub ips: Vec<IpAddr>,
    /// `MAC=`.
    pub mac: Option<String>,
}

impl CniArgs {
    /// Parses `KEY=VALUE;KEY=VALUE`.
    pub fn parse(raw: &str) -> Result<CniArgs, CniError> {
        let mut args = CniArgs::default();
        for pair in raw.split(';').filter(|p| !p.is_empty()) {
            let Some((key, value)) = pair.split_once('=') else {
                return Err(invalid(
                    "CNI_ARGS",
                    &format!("has {pair:?}, expected KEY=VALUE pairs separated by ';'"),
                ));
            };
            match key {
                "IP" => {
                    for ip in value.split(',').filter(|v| !v.is_empty()) {
                        // Podman may send the address with its prefix length.
                        let bare = ip.split_once('/').map_or(ip, |(a, _)| a);
                        let parsed = bare.parse().map_err(|_| {
                            invalid("CNI_ARGS", &format!("has IP={ip:?}, not an IP address"))
                        })?;
                        args.ips.push(parsed);
                    }
                }
                "MAC" if !value.is_empty() => args.mac = Some(value.to_owned()),
                _ => {}
            }
        }
        Ok(args)
    }
}

/// The spec's rule for container ids.
fn is_valid_container_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Linux's rule for interface names, as the spec states it.
fn is_valid_ifname(name: &str) -> bool {
    (1..16).contains(&name.len())
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn load(pairs: &[(&str, &str)]) -> Result<CniEnv, CniError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        CniEnv::load(|name| map.get(name).cloned())
    }

    const ADD: [(&str, &str); 4] = [
        ("CNI_COMMAND", "ADD"),
        ("CNI_CONTAINERID", "abc123"),
        ("CNI_NETNS", "/run/netns/x"),
        ("CNI_IFNAME", "eth0"),
    ];

    #[test]
    fn add_needs_its_variables() {
        let env = load(&ADD).expect("valid");
        assert_eq!(env.command, Command::Add);
        assert_eq!(env.ifname, "eth0");
        for missing in ["CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"] {
            let pairs: Vec<_> = ADD.iter().copied().filter(|(k, _)| *k != missing).collect();
            let err = load(&pairs).expect_err(missing);
            assert_eq!(err.code, code::INVALID_ENV);
            assert!(err.msg.contains(missing), "{err}");
        }
    }

    #[test]
    fn del_may_come_without_netns_and_version_without_anything() {
        let env = load(&[
            ("CNI_COMMAND", "DEL"),
            ("CNI_CONTAINERID", "abc"),
            ("CNI_IFNAME", "eth0"),
        ])
        .expect("DEL without CNI_NETNS");
        assert_eq!(env.netns, None);
        assert!(load(&[("CNI_COMMAND", "VERSION")]).is_ok());
        assert!(load(&[("CNI_COMMAND", "GC")]).is_ok());
    }

    #[test]
    fn bad_values_are_named() {
        let mut pairs = ADD.to_vec();
        pairs[3] = ("CNI_IFNAME", "a/b");
        assert!(load(&pairs).expect_err("ifname").msg.contains("CNI_IFNAME"));
        pairs[3] = ("CNI_IFNAME", "averyverylongname0");
        assert!(load(&pairs).is_err());
        let mut pairs = ADD.to_vec();
        pairs[1] = ("CNI_CONTAINERID", "-x");
        assert!(load(&pairs)
            .expect_err("id")
            .msg
            .contains("CNI_CONTAINERID"));
        let mut pairs = ADD.to_vec();
        pairs[2] = ("CNI_NETNS", "relative");
        assert!(load(&pairs).is_err());
        let err = load(&[("CNI_COMMAND", "PUT")]).expect_err("verb");
        assert!(err.msg.contains("PUT"), "{err}");
    }

    #[test]
    fn cni_args_as_podman_sends_them() {
        let args = CniArgs::parse(
            "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=web;IP=10.88.0.5;MAC=02:00:00:00:00:01",
        )
        .expect("parse");
        assert_eq!(args.ips, vec!["10.88.0.5".parse::<IpAddr>().expect("ip")]);
        assert_eq!(args.mac.as_deref(), Some("02:00:00:00:00:01"));
        let args = CniArgs::parse("IP=10.0.0.2/24,fd00::2").expect("two");
        assert_eq!(args.ips.len(), 2);
        assert_eq!(CniArgs::parse("").expect("empty"), CniArgs::default());
        assert_eq!(
            CniArgs::parse("IP=nope").expect_err("bad ip").code,
            code::INVALID_ENV
        );
        assert!(CniArgs::parse("novalue").is_err());
    }
}
