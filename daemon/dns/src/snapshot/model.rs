//! The snapshot's data model, exactly as serialized.
//!
//! Unknown fields are ignored on purpose (no `deny_unknown_fields`): during an
//! upgrade a newer cnmd may write fields an older resolver does not know, and
//! that resolver must keep serving what it understands. Incompatible changes
//! bump [`SNAPSHOT_FORMAT`] instead.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// Format version written by this build; a resolver refuses newer formats.
pub const SNAPSHOT_FORMAT: u32 = 1;

/// Everything the resolver needs: one entry per network with DNS on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// [`SNAPSHOT_FORMAT`] of the writer.
    pub format: u32,
    /// Increases with every snapshot cnmd writes; logged by the resolver.
    pub generation: u64,
    /// Networks served, in cnmd's order (the order breaks ties between networks).
    #[serde(default)]
    pub networks: Vec<NetworkRecords>,
    /// Per-container `--dns` servers by sandbox id; they replace every other upstream.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sandbox_dns: BTreeMap<String, Vec<IpAddr>>,
}

/// One network: where the resolver listens for it and who is on it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkRecords {
    /// Network id (64 hex).
    pub id: String,
    /// Network name; `name.<network>` also resolves, as in Docker.
    pub name: String,
    /// `--internal`: never forward queries arriving from sandboxes that have
    /// no other, non-internal network.
    #[serde(default)]
    pub internal: bool,
    /// Gateway addresses to serve on, UDP and TCP port 53.
    #[serde(default)]
    pub listen: Vec<IpAddr>,
    /// The network's subnets as `ADDR/LEN`: a source in them that is not a
    /// member yet is a container that just joined (its record is on the
    /// way), served as a member of this network alone instead of refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subnets: Vec<String>,
    /// Per-network `--dns`: replaces the host's upstreams for this network.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upstreams_override: Vec<IpAddr>,
    /// Sandboxes attached to this network.
    #[serde(default)]
    pub members: Vec<Member>,
}

/// One sandbox's endpoint on one network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Sandbox id (64 lowercase hex); identifies the same container across networks.
    pub sandbox_id: String,
    /// Lowercase names: container name, aliases, 12-hex short id, hostname.
    /// The first one is the name PTR answers give.
    #[serde(default)]
    pub names: Vec<String>,
    /// Addresses of the endpoint on this network (IPv4 and/or IPv6).
    #[serde(default)]
    pub addrs: Vec<IpAddr>,
}
