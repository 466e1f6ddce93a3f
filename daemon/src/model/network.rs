//! A network record and its validated name.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ipam::SubnetConfig;

/// Longest name we accept for networks and sandboxes. Docker has no hard
/// limit; ours keeps names printable in tables and DNS labels sane.
pub const MAX_NAME_LEN: usize = 64;

/// A network name: 1–64 characters of `[a-zA-Z0-9_.-]`, starting with a
/// letter or digit (Docker's rule for object names). Holding one proves it
/// was checked.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NetworkName(String);

impl NetworkName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        check_name("network", raw).map(|()| NetworkName(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for NetworkName {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        NetworkName::parse(&raw)
    }
}

impl From<NetworkName> for String {
    fn from(name: NetworkName) -> String {
        name.0
    }
}

impl fmt::Display for NetworkName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a user-given object name; the error says what is wrong.
pub(super) fn check_name(what: &str, raw: &str) -> Result<(), String> {
    if raw.is_empty() {
        return Err(format!("{what} name must not be empty"));
    }
    if raw.len() > MAX_NAME_LEN {
        return Err(format!(
            "{what} name is {} characters long; at most {MAX_NAME_LEN} are allowed",
            raw.len()
        ));
    }
    let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    let first_ok = raw
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    if !first_ok || !raw.chars().all(valid_char) {
        return Err(format!(
            "invalid {what} name {raw:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        ));
    }
    Ok(())
}

/// A network as cnmd stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkRecord {
    pub id: String,
    pub name: NetworkName,
    pub created: String,
    pub driver: String,
    pub scope: String,
    pub enable_ipv6: bool,
    pub internal: bool,
    pub ipam_driver: String,
    pub subnets: Vec<SubnetConfig>,
    pub options: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    /// bridge, host and none: made by cnmd, never removed.
    pub builtin: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_docker_rules() {
        assert!(NetworkName::parse("web").is_ok());
        assert!(NetworkName::parse("my_net-1.2").is_ok());
        assert!(NetworkName::parse("").unwrap_err().contains("empty"));
        assert!(NetworkName::parse("a/b").unwrap_err().contains("invalid"));
        assert!(NetworkName::parse("-x").is_err());
        assert!(NetworkName::parse(&"x".repeat(65))
            .unwrap_err()
            .contains("65 characters"));
        assert!(NetworkName::parse(&"x".repeat(64)).is_ok());
    }

    #[test]
    fn deserializing_checks_the_name() {
        assert!(serde_json::from_str::<NetworkName>("\"ok\"").is_ok());
        assert!(serde_json::from_str::<NetworkName>("\"bad/name\"").is_err());
    }
}
