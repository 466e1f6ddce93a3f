//! A network record.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::NetworkName;
use crate::ipam::SubnetConfig;

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
    /// `--ipam-opt key=value`, for the IPAM driver.
    #[serde(default)]
    pub ipam_options: BTreeMap<String, String>,
    pub subnets: Vec<SubnetConfig>,
    pub options: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    /// bridge, host and none: made by cnmd, never removed.
    pub builtin: bool,
    /// Upstream resolvers of the embedded DNS for this network (`--dns`);
    /// empty: the host's.
    #[serde(default)]
    pub dns_servers: Vec<std::net::IpAddr>,
}
