//! cnm's embedded DNS: the record [`Snapshot`] cnmd writes, the resolver that
//! serves it (the `cnm-dns` binary runs [`server::serve`]), and the
//! [`supervise`] helpers cnmd uses to start, find and replace that process.
//!
//! The resolver is its own process so names keep resolving while cnmd is
//! stopped, killed or upgraded; it only reads the snapshot file.

pub mod answer;
pub mod records;
pub mod server;
pub mod snapshot;
pub mod supervise;
pub mod upstream;
pub mod wire;

pub use server::{nudge, nudge_path, stats_path, DnsStats};
pub use snapshot::{
    is_valid_name, Member, MemberBuilder, NetworkBuilder, NetworkRecords, Snapshot, SnapshotError,
};
pub use supervise::{find_running, replace, spawn_resolver, ResolverCommand, SuperviseError};
