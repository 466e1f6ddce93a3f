//! The verbs of an IPAM driver (after libnetwork's ipamapi) and the values
//! they exchange with the daemon core. cnmd's built-in IPAM (`default`) and
//! IPAM plugins (`--ipam-driver NAME`) both implement [`IpamDriver`].
//!
//! Pools are known by network id and subnet, not by an id the driver makes
//! up: the core already records both, so nothing extra has to be stored to
//! release a pool or replay it to a restarted plugin.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use ipnetwork::IpNetwork;

/// Address family of a requested address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressFamily {
    V4,
    V6,
}

impl AddressFamily {
    pub fn of(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Self::V4,
            IpAddr::V6(_) => Self::V6,
        }
    }
}

impl fmt::Display for AddressFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::V4 => "IPv4",
            Self::V6 => "IPv6",
        })
    }
}

/// What the user asked for one subnet (`--subnet`, `--ip-range`,
/// `--gateway`, `--aux-address`); every field may be empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubnetWish {
    pub subnet: Option<IpNetwork>,
    pub ip_range: Option<IpNetwork>,
    pub gateway: Option<IpAddr>,
    pub aux_addresses: BTreeMap<String, IpAddr>,
}

/// A subnet the IPAM driver decided on for a network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    pub subnet: IpNetwork,
    /// Where dynamic addresses come from; None: the whole subnet.
    pub ip_range: Option<IpNetwork>,
    pub gateway: Option<IpAddr>,
    pub aux_addresses: BTreeMap<String, IpAddr>,
}

/// The pools a new network asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolsRequest {
    /// 64 hex digits.
    pub network_id: String,
    pub network_name: String,
    /// Empty: pick an IPv4 subnet (and an IPv6 one with `enable_ipv6`).
    pub subnets: Vec<SubnetWish>,
    pub enable_ipv6: bool,
    /// `--ipam-opt key=value`.
    pub options: BTreeMap<String, String>,
    /// Prefixes routed on the host already, which a picked subnet avoids.
    pub avoid: Vec<IpNetwork>,
}

/// What an IPAM driver must hold for one existing network: after cnmd
/// restarts (built-in) or the plugin does (replay).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolsRestore {
    pub network_id: String,
    pub network_name: String,
    pub pools: Vec<Pool>,
    /// Addresses endpoints hold.
    pub addresses: Vec<IpAddr>,
    pub options: BTreeMap<String, String>,
}

/// Why an IPAM verb failed; each class maps to one gRPC status code and the
/// message is what the user reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpamDriverError {
    /// A malformed or contradictory request (INVALID_ARGUMENT).
    #[error("{0}")]
    Invalid(String),
    /// The address or subnet is taken (ALREADY_EXISTS).
    #[error("{0}")]
    InUse(String),
    /// The network or pool is unknown (NOT_FOUND).
    #[error("{0}")]
    NotFound(String),
    /// No free subnet or address is left (RESOURCE_EXHAUSTED).
    #[error("{0}")]
    Exhausted(String),
    /// The plugin is not running or did not answer in time (UNAVAILABLE).
    #[error("{0}")]
    Unavailable(String),
    /// Anything else (INTERNAL).
    #[error("{0}")]
    Failed(String),
}

/// The verbs of an IPAM driver. Synchronous like [`crate::Driver`]: the
/// core calls them off the async workers.
pub trait IpamDriver: Send + Sync {
    /// The name users type after `--ipam-driver`.
    fn name(&self) -> &str;

    /// Picks (or checks) the subnets of a new network and keeps them, with
    /// their gateways and auxiliary addresses reserved. All or nothing.
    fn request_pools(&self, req: &PoolsRequest) -> Result<Vec<Pool>, IpamDriverError>;

    /// Makes the driver hold exactly these pools and addresses for an
    /// existing network, without the checks a new network gets (a store
    /// written by an older version must always load). Idempotent.
    fn restore_pools(&self, net: &PoolsRestore) -> Result<(), IpamDriverError>;

    /// Forgets a network's pools and addresses; an unknown network is fine.
    fn release_pools(&self, network_id: &str) -> Result<(), IpamDriverError>;

    /// Hands out an address of `family` on the network, with the subnet's
    /// prefix length; `preferred` asks for exactly that address.
    fn request_address(
        &self,
        network_id: &str,
        family: AddressFamily,
        preferred: Option<IpAddr>,
    ) -> Result<IpNetwork, IpamDriverError>;

    /// Gives an address back; an unknown one is fine.
    fn release_address(&self, network_id: &str, addr: IpAddr) -> Result<(), IpamDriverError>;
}
