//! The one error type of the firewall crate: each variant names the operation
//! and the object it failed on; the cause is in `source`.

use std::io;

/// Why a firewall operation failed.
#[derive(Debug, thiserror::Error)]
pub enum FirewallError {
    /// The long-lived NETLINK_NETFILTER socket could not be opened.
    #[error("open NETLINK_NETFILTER socket")]
    OpenSocket(#[source] io::Error),

    /// `nft` rejected or could not run the transaction that rebuilds the table.
    #[error("rebuild table inet cnm ({networks} networks, {mappings} port mappings)")]
    Rebuild {
        networks: usize,
        mappings: usize,
        #[source]
        source: io::Error,
    },

    /// A network's input was rejected before anything was applied.
    #[error("invalid network `{id}`: {reason}")]
    InvalidNetwork { id: String, reason: &'static str },

    /// The network id is already in the table with different settings.
    #[error("network `{id}` is already in table inet cnm with other settings; remove it first")]
    NetworkExists { id: String },

    /// The kernel refused the element changes for a network.
    #[error("add network `{id}` (bridge {bridge}) to table inet cnm")]
    AddNetwork {
        id: String,
        bridge: String,
        #[source]
        source: io::Error,
    },

    /// The kernel refused to remove a network's elements.
    #[error("remove network `{id}` (bridge {bridge}) from table inet cnm")]
    RemoveNetwork {
        id: String,
        bridge: String,
        #[source]
        source: io::Error,
    },

    /// Localhost publishing needs `route_localnet` on the bridge.
    #[error("set net.ipv4.conf.{bridge}.route_localnet=1")]
    RouteLocalnet {
        bridge: String,
        #[source]
        source: io::Error,
    },

    /// A port mapping was rejected before anything was applied.
    #[error("invalid port mapping {mapping}: {reason}")]
    InvalidMapping {
        mapping: String,
        reason: &'static str,
    },

    /// The host address/port/protocol is already published.
    #[error("host port {mapping} is already published")]
    AlreadyPublished { mapping: String },

    /// The kernel refused the element batch that publishes ports.
    #[error("publish {count} port mapping(s) starting with {first}")]
    Publish {
        count: usize,
        first: String,
        #[source]
        source: io::Error,
    },

    /// The kernel refused the element batch that unpublishes ports.
    #[error("unpublish {count} port mapping(s) starting with {first}")]
    Unpublish {
        count: usize,
        first: String,
        #[source]
        source: io::Error,
    },

    /// Reading back table inet cnm over netlink failed.
    #[error("read back table inet cnm")]
    ReadBack(#[source] io::Error),

    /// Listing the host's whole ruleset (for the forward-drop check) failed.
    #[error("list the host ruleset with nft")]
    ListRuleset(#[source] io::Error),

    /// `nft -j list ruleset` printed something that is not JSON.
    #[error("parse the host ruleset JSON")]
    ParseRuleset(#[source] serde_json::Error),

    /// The watcher could not subscribe to nf_tables notifications.
    #[error("subscribe to nf_tables notifications")]
    Watch(#[source] io::Error),
}
