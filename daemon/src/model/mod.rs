//! The records cnmd keeps about networks, endpoints and sandboxes: what the
//! store holds and what the core works on.

mod endpoint;
mod id;
mod labels;
mod name;
mod network;
mod sandbox;

pub use endpoint::{mac_for, parse_mac, Attachment, EndpointRecord};
pub use id::{new_id, now_rfc3339, parse_timestamp, rfc3339, short_id, unix_nanos_of};
pub use labels::{check_labels, check_options};
pub use name::{NetworkName, SandboxName};
pub use network::NetworkRecord;
pub use sandbox::SandboxRecord;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::store::{Key, Kind, Write};

/// A record type that lives in the store under one `Kind`.
pub trait Record: Serialize + DeserializeOwned {
    const KIND: Kind;
    fn id(&self) -> &str;

    fn key(&self) -> Key {
        Key::new(Self::KIND, self.id())
    }

    fn put(&self) -> Write {
        // Serializing our own plain structs cannot fail.
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        Write::Put(self.key(), bytes)
    }

    fn delete(&self) -> Write {
        Write::Delete(self.key())
    }
}

impl Record for NetworkRecord {
    const KIND: Kind = Kind::Network;
    fn id(&self) -> &str {
        &self.id
    }
}

impl Record for EndpointRecord {
    const KIND: Kind = Kind::Endpoint;
    fn id(&self) -> &str {
        &self.id
    }
}

impl Record for SandboxRecord {
    const KIND: Kind = Kind::Sandbox;
    fn id(&self) -> &str {
        &self.id
    }
}
