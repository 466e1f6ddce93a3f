//! cnm's firewall: everything cnmd does with nf_tables, in one table
//! (`inet cnm`) that it owns. Port publishing (DNAT from outside, from the
//! host and 127.0.0.1, hairpin), egress masquerade, isolation between
//! networks, `--internal`, `icc=false`, and self-healing when someone
//! flushes the ruleset.
//!
//! Published ports and networks live in sets and maps, so the rule count is
//! fixed and a change is one element batch over a long-lived netlink socket
//! (no process spawn); only `init`/`restore` run `nft -j` with the whole
//! table built from the nftables crate's typed schema.

mod blockers;
mod error;
mod model;
mod names;
mod netlink;
mod nft;
mod nft_firewall;
mod ruleset;
mod stats;
mod watch;

pub use blockers::{BlockReason, ForwardBlocker};
pub use error::FirewallError;
pub use model::{NetworkRules, PortMapping, Protocol};
pub use names::TABLE;
pub use nft_firewall::NftFirewall;
pub use stats::{transaction_stats, TransactionStats};
pub use watch::{watch, Watcher};

/// The kernel side of port publishing and network isolation. Port parsing,
/// host-port allocation and conflict detection are the caller's.
pub trait Firewall: Send + Sync {
    /// Creates (or replaces) table `inet cnm` with its chains, sets and maps
    /// and no networks or ports. Idempotent; never touches other tables.
    fn init(&self) -> Result<(), FirewallError>;

    /// Adds a network's bridge to the sets (isolation, masquerade, internal,
    /// icc) and turns on `route_localnet` for it. The bridge must exist.
    /// Adding the same network again is a no-op.
    fn add_network(&self, net: &NetworkRules) -> Result<(), FirewallError>;

    /// Removes a network's bridge from the sets; unknown ids are a no-op.
    /// Unpublish its ports first.
    fn remove_network(&self, id: &str) -> Result<(), FirewallError>;

    /// Adds all mappings in one transaction; if one fails (e.g. the host
    /// address/port/protocol is already published) none is added.
    fn publish(&self, mappings: &[PortMapping]) -> Result<(), FirewallError>;

    /// Removes the mappings (by host address/port/protocol); ones that are
    /// not published are skipped.
    fn unpublish(&self, mappings: &[PortMapping]) -> Result<(), FirewallError>;

    /// Replaces the whole table with exactly this state in one transaction
    /// (start-up after a crash, self-healing).
    fn restore(
        &self,
        networks: &[NetworkRules],
        mappings: &[PortMapping],
    ) -> Result<(), FirewallError>;

    /// True if the table exists and its chains, rules and sets are the ones
    /// last written (compared by kernel handle; about 0.1 ms).
    fn is_intact(&self) -> Result<bool, FirewallError>;

    /// Chains of other tables that can drop what cnm forwards (in nf_tables
    /// a drop in any table wins over our accept), for a warning in the logs
    /// and `cnm system info`.
    fn forward_blockers(&self) -> Result<Vec<ForwardBlocker>, FirewallError>;
}

/// A firewall that does nothing, for unit tests of the daemon core.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoFirewall;

impl Firewall for NoFirewall {
    fn init(&self) -> Result<(), FirewallError> {
        Ok(())
    }

    fn add_network(&self, _net: &NetworkRules) -> Result<(), FirewallError> {
        Ok(())
    }

    fn remove_network(&self, _id: &str) -> Result<(), FirewallError> {
        Ok(())
    }

    fn publish(&self, _mappings: &[PortMapping]) -> Result<(), FirewallError> {
        Ok(())
    }

    fn unpublish(&self, _mappings: &[PortMapping]) -> Result<(), FirewallError> {
        Ok(())
    }

    fn restore(
        &self,
        _networks: &[NetworkRules],
        _mappings: &[PortMapping],
    ) -> Result<(), FirewallError> {
        Ok(())
    }

    fn is_intact(&self) -> Result<bool, FirewallError> {
        Ok(true)
    }

    fn forward_blockers(&self) -> Result<Vec<ForwardBlocker>, FirewallError> {
        Ok(Vec::new())
    }
}
