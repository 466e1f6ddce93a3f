//! A sandbox record: one network namespace that endpoints join.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::network::check_name;

/// A sandbox (container) name, same rules as network names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SandboxName(String);

impl SandboxName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        check_name("sandbox", raw).map(|()| SandboxName(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SandboxName {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        SandboxName::parse(&raw)
    }
}

impl From<SandboxName> for String {
    fn from(name: SandboxName) -> String {
        name.0
    }
}

impl fmt::Display for SandboxName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxRecord {
    pub id: String,
    pub name: SandboxName,
    /// The path it was first connected by ("/run/netns/web").
    pub netns_path: String,
    /// Device and inode of the namespace: another path to the same
    /// namespace names the same sandbox.
    pub netns_dev: u64,
    pub netns_ino: u64,
    pub created: String,
}
