//! The record snapshot cnmd hands to the resolver: an immutable JSON document
//! written atomically to `<run-root>/dns/snapshot.json` and swapped in whole.

mod builder;
mod file;
mod model;

use std::path::PathBuf;

pub(crate) use builder::normalize_name;
pub use builder::{is_valid_name, MemberBuilder, NetworkBuilder, SnapshotBuilder};
pub use model::{Member, NetworkRecords, Snapshot, SNAPSHOT_FORMAT};

/// Errors building, writing or reading a snapshot.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// A sandbox id is not 64 lowercase hex digits.
    #[error("sandbox id `{id}` on network `{network}` is not 64 hex digits")]
    InvalidSandboxId { network: String, id: String },
    /// A name is not a valid DNS name (labels of 1..=63 of `a-z 0-9 _ -`, 253 bytes at most).
    #[error("name `{name}` of sandbox `{sandbox}` on network `{network}` is not a valid DNS name")]
    InvalidName {
        network: String,
        sandbox: String,
        name: String,
    },
    /// Two networks claim the same listen address: queries could not be told apart.
    #[error("listen address {addr} is claimed by networks `{first}` and `{second}`")]
    DuplicateListen {
        addr: std::net::IpAddr,
        first: String,
        second: String,
    },
    /// Two sandboxes hold the same address on one network: requesters could not be told apart.
    #[error("address {addr} on network `{network}` is held by two sandboxes")]
    DuplicateAddress {
        network: String,
        addr: std::net::IpAddr,
    },
    /// The file was written by a newer cnmd than this resolver understands.
    #[error("snapshot {path} has format {found}, this build reads up to {SNAPSHOT_FORMAT}")]
    UnsupportedFormat { path: PathBuf, found: u32 },
    /// Reading the snapshot file failed.
    #[error("cannot read snapshot {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The snapshot file is not valid snapshot JSON.
    #[error("cannot parse snapshot {path}")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// Writing, syncing or renaming the snapshot file failed.
    #[error("cannot write snapshot {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
