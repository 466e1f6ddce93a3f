//! Docker's remote network driver and IPAM plugin: libnetwork's plugin
//! protocol (HTTP/1.1 + JSON on a unix socket) served from cnmd's core, so
//! `docker network create -d NAME` makes a cnm bridge network and Docker's
//! containers become cnm endpoints (addresses, published ports, records).
//!
//! Docker's network id is kept in a label of the cnm network; its endpoint
//! id is the cnm endpoint's. Everything is in cnmd's store, so the plugin
//! keeps no state that a restart of dockerd or cnmd could lose (dockerd
//! does not send CreateNetwork again after it restarts).

mod ipam;
mod network;
mod server;
mod wire;

pub use server::{bind, serve};

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::core::{Core, CoreError};

/// A reply: HTTP status and JSON body.
#[derive(Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    fn json<T: Serialize>(value: &T) -> Reply {
        Reply {
            status: 200,
            // Serializing our own plain structs cannot fail.
            body: serde_json::to_vec(value).unwrap_or_default(),
        }
    }

    fn empty() -> Reply {
        Reply::json(&serde_json::json!({}))
    }

    fn not_found(method: &str) -> Reply {
        Reply {
            status: 404,
            body: serde_json::to_vec(&wire::DriverError {
                err: format!("unknown method {method}"),
            })
            .unwrap_or_default(),
        }
    }
}

/// Which protocol a method belongs to: the two report errors differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Driver,
    Ipam,
}

/// A failed call: malformed (HTTP 400) or refused (200 with the error in
/// the body, as libnetwork expects).
#[derive(Debug)]
enum Failure {
    BadRequest(String),
    Refused(String),
}

impl From<CoreError> for Failure {
    fn from(err: CoreError) -> Self {
        Failure::Refused(err.full_message())
    }
}

impl Failure {
    fn reply(self, protocol: Protocol) -> Reply {
        let (status, message) = match self {
            Failure::BadRequest(m) => (400, m),
            Failure::Refused(m) => (200, m),
        };
        let body = match protocol {
            Protocol::Driver => serde_json::to_vec(&wire::DriverError { err: message }),
            Protocol::Ipam => serde_json::to_vec(&wire::IpamError { error: message }),
        };
        Reply {
            status,
            body: body.unwrap_or_default(),
        }
    }
}

fn decode<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, Failure> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| Failure::BadRequest(format!("invalid JSON: {e}")))
}

/// The plugin: its handlers run blocking core operations; call `handle`
/// off the async workers.
pub struct DockerPlugin {
    core: Arc<Core>,
    /// Addresses RequestAddress reserved for endpoints not created yet
    /// (network id, address): CreateEndpoint takes them as they are.
    pending: Mutex<HashSet<(String, IpAddr)>>,
}

impl DockerPlugin {
    pub fn new(core: Arc<Core>) -> Self {
        DockerPlugin {
            core,
            pending: Mutex::new(HashSet::new()),
        }
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashSet<(String, IpAddr)>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Answers one call: `path` is the URL path ("/NetworkDriver.Join").
    pub fn handle(&self, path: &str, body: &[u8]) -> Reply {
        let method = path.trim_start_matches('/');
        if let Some(reply) = static_reply(method) {
            return reply;
        }
        let (protocol, result) = if let Some(verb) = method.strip_prefix("NetworkDriver.") {
            (Protocol::Driver, self.driver_call(verb, body))
        } else if let Some(verb) = method.strip_prefix("IpamDriver.") {
            (Protocol::Ipam, self.ipam_call(verb, body))
        } else {
            return Reply::not_found(method);
        };
        match result {
            Some(Ok(reply)) => reply,
            Some(Err(failure)) => {
                tracing::warn!(method, error = ?failure, "docker plugin call failed");
                failure.reply(protocol)
            }
            None => Reply::not_found(method),
        }
    }
}

/// Calls that need no state.
fn static_reply(method: &str) -> Option<Reply> {
    Some(match method {
        "Plugin.Activate" => Reply::json(&wire::ActivateResponse {
            implements: vec!["NetworkDriver", "IpamDriver"],
        }),
        "NetworkDriver.GetCapabilities" => Reply::json(&wire::CapabilitiesResponse {
            scope: "local",
            connectivity_scope: "local",
        }),
        "NetworkDriver.DiscoverNew"
        | "NetworkDriver.DiscoverDelete"
        | "NetworkDriver.FreeNetwork" => Reply::empty(),
        // Swarm-only: a local driver has nothing to allocate.
        "NetworkDriver.AllocateNetwork" => Reply::json(&serde_json::json!({ "Options": {} })),
        "IpamDriver.GetCapabilities" => Reply::json(&wire::IpamCapabilitiesResponse {
            requires_mac_address: false,
            requires_request_replay: false,
        }),
        "IpamDriver.GetDefaultAddressSpaces" => Reply::json(&wire::AddressSpacesResponse {
            local_default_address_space: ipam::LOCAL_SPACE,
            global_default_address_space: ipam::GLOBAL_SPACE,
        }),
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
