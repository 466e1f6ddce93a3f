//! Errors of the IPAM module. Every message is shown to the user as is, so each one names the
//! subnet, address or network at fault and, where there is one, the way out.

use std::net::IpAddr;

use ipnetwork::IpNetwork;

use super::Family;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpamError {
    #[error("invalid subnet request for network `{network}`: {reason}")]
    InvalidRequest { network: String, reason: String },

    /// `what` is "subnet" or "ip range".
    #[error("{what} {given} is not a network address; did you mean {suggestion}?")]
    NotNetworkAddress {
        what: &'static str,
        given: IpNetwork,
        suggestion: IpNetwork,
    },

    #[error(
        "subnet {subnet} is too small: an {family} subnet needs a prefix of /{max_prefix} or shorter"
    )]
    SubnetTooSmall {
        subnet: IpNetwork,
        family: Family,
        max_prefix: u8,
    },

    #[error("subnet {subnet} is IPv6 but network `{network}` does not enable IPv6; add --ipv6")]
    Ipv6NotEnabled { subnet: IpNetwork, network: String },

    #[error("subnet {subnet} overlaps with network `{other_network}` ({other_subnet})")]
    SubnetOverlap {
        subnet: IpNetwork,
        other_network: String,
        other_subnet: IpNetwork,
    },

    #[error("subnets {subnet} and {other_subnet} requested for network `{network}` overlap")]
    RequestedSubnetsOverlap {
        subnet: IpNetwork,
        other_subnet: IpNetwork,
        network: String,
    },

    /// `what` names the gateway, ip range or auxiliary address; `value` is what was given.
    #[error("{what} {value} is outside subnet {subnet}")]
    OutsideSubnet {
        what: String,
        value: String,
        subnet: IpNetwork,
    },

    /// A gateway or auxiliary address that falls on an address the subnet already reserves.
    #[error("{what} {addr} is already the {other} of subnet {subnet}")]
    ReservedAddressClash {
        what: String,
        addr: IpAddr,
        other: String,
        subnet: IpNetwork,
    },

    #[error(
        "all default {family} address pools are in use (by networks or host routes); pass --subnet"
    )]
    PoolsExhausted { family: Family },

    #[error("invalid default address pool `{spec}`: {reason}; expected base=CIDR,size=N")]
    InvalidPoolSpec { spec: String, reason: String },

    #[error("default address pools {pool} and {other_pool} overlap")]
    PoolsOverlap {
        pool: IpNetwork,
        other_pool: IpNetwork,
    },

    #[error("network {id} is already registered with IPAM (as network `{network}`)")]
    NetworkExists { id: String, network: String },

    #[error("network {id} is not known to IPAM")]
    UnknownNetwork { id: String },

    #[error("network `{network}` has no {family} subnet")]
    NoSubnet { network: String, family: Family },

    #[error("address {addr} is not an {family} address")]
    AddressFamilyMismatch { addr: IpAddr, family: Family },

    /// `subnets` lists the network's subnets, comma-separated.
    #[error("address {addr} is outside every subnet of network `{network}` ({subnets})")]
    AddressOutsideNetwork {
        addr: IpAddr,
        network: String,
        subnets: String,
    },

    #[error("address {addr} is already in use on network `{network}`")]
    AddressInUse { addr: IpAddr, network: String },

    /// `role` is e.g. "gateway", "broadcast address" or "auxiliary address `db`".
    #[error("address {addr} is reserved as the {role} of network `{network}`")]
    AddressReserved {
        addr: IpAddr,
        role: String,
        network: String,
    },

    /// `pools` lists the ranges searched (ip ranges, or whole subnets), comma-separated.
    #[error("no free {family} address left in {pools} of network `{network}`")]
    NetworkFull {
        family: Family,
        pools: String,
        network: String,
    },
}
