//! A sandbox record: one network namespace that endpoints join.

use serde::{Deserialize, Serialize};

use super::SandboxName;

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
    /// Upstream resolvers for this sandbox (`--dns` on connect), ahead of
    /// the network's and the host's.
    #[serde(default)]
    pub dns_servers: Vec<std::net::IpAddr>,
}
