//! Durable state: cnmd's records behind a small trait, so the engine (sled
//! today) can be swapped without touching the core.
//!
//! The store is a write-ahead copy of the core's in-memory state, not a
//! query engine: it is read once at start-up and written on every change.
//! `commit` is atomic and durable (flushed) before it returns, because the
//! API acknowledges a change only after its commit.

#[cfg(test)]
mod memory;
mod sled_store;

pub use sled_store::SledStore;

use std::fmt;

/// The kinds of records cnmd keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Network,
    Endpoint,
    Sandbox,
    /// A container of the bundled runtime (`cnm run`).
    Container,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::Network,
        Kind::Endpoint,
        Kind::Sandbox,
        Kind::Container,
    ];

    fn prefix(self) -> &'static str {
        match self {
            Kind::Network => "net/",
            Kind::Endpoint => "ep/",
            Kind::Sandbox => "sb/",
            Kind::Container => "ctr/",
        }
    }
}

/// A record's address in the store.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub kind: Kind,
    pub id: String,
}

impl Key {
    pub fn new(kind: Kind, id: impl Into<String>) -> Self {
        Key {
            kind,
            id: id.into(),
        }
    }

    fn encode(&self) -> String {
        format!("{}{}", self.kind.prefix(), self.id)
    }

    fn decode(raw: &[u8]) -> Option<Key> {
        let raw = std::str::from_utf8(raw).ok()?;
        Kind::ALL
            .into_iter()
            .find_map(|kind| raw.strip_prefix(kind.prefix()).map(|id| Key::new(kind, id)))
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

/// One change of a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    Put(Key, Vec<u8>),
    Delete(Key),
}

/// Why the store failed. The daemon cannot keep its promises without the
/// store, so these surface as internal errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("open state store at {path}")]
    Open {
        path: String,
        #[source]
        source: sled::Error,
    },
    #[error("read state store")]
    Read(#[source] sled::Error),
    #[error("write state store")]
    Write(#[source] sled::Error),
    #[error("state store holds an unreadable key {0:?}")]
    BadKey(String),
}

/// cnmd's durable state. Implementations are blocking: call them from a
/// blocking thread.
pub trait Store: Send + Sync + 'static {
    /// Every record, for the start-up load.
    fn load(&self) -> Result<Vec<(Key, Vec<u8>)>, StoreError>;
    /// Applies all writes atomically and makes them durable before
    /// returning.
    fn commit(&self, writes: &[Write]) -> Result<(), StoreError>;
    /// A short description for `cnm system info` ("sled at /var/lib/cnm/state").
    fn describe(&self) -> String;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        for kind in Kind::ALL {
            let key = Key::new(kind, "abc123");
            assert_eq!(Key::decode(key.encode().as_bytes()), Some(key));
        }
        assert_eq!(Key::decode(b"other/abc"), None);
    }
}
