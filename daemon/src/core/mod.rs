//! The daemon core: networks, endpoints and sandboxes, kept in memory and
//! mirrored to the store. It does what every driver would otherwise repeat:
//! IPAM, naming interfaces, addresses and routes inside the sandbox.
//!
//! Every operation is blocking (kernel and store work); the API runs them on
//! tokio's blocking pool. One mutex guards the in-memory state and is held
//! only for in-memory work, never across kernel or store calls: an operation
//! reserves what it needs under the lock (marking objects `Creating` or
//! `Removing`), does its kernel and store work, then settles the state under
//! the lock again.
//!
//! Crash safety: see `connect.rs` and `reconcile.rs` for the order of kernel
//! and store writes that lets a restart repair any interrupted operation.

mod bridges;
mod builtin;
mod cluster_sync;
mod connect;
mod disconnect;
mod dns_sync;
mod drivers;
mod error;
mod events;
mod filters;
mod firewall_sync;
mod handoff;
mod network_create;
mod network_remove;
mod phases;
mod plugins;
mod publish;
mod queries;
mod reconcile;
mod sandbox_setup;
mod stale;
mod state;

pub use bridges::{BridgeMac, BridgeView};
pub use connect::{ConnectRequest, SandboxSelector};
pub use disconnect::DisconnectRequest;
pub use dns_sync::{DnsIdentity, DnsPaths, RemoteMember, RemoteMembers};
pub use drivers::Drivers;
pub use error::{full_message, CoreError};
pub use events::{Event, EventFilter};
pub use filters::NetworkFilter;
pub use handoff::HandoffRequest;
pub use network_create::CreateNetworkRequest;
pub use state::{NetworkView, SandboxView};

use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use cnm_firewall::{Firewall, Watcher};
use tokio::sync::broadcast;

use crate::ports::{ephemeral_range, PortTable};
use crate::store::Store;
use state::State;

/// What the core is built from.
pub struct CoreParts {
    pub store: Arc<dyn Store>,
    /// Network and IPAM drivers (the built-in IPAM holds the default
    /// address pools).
    pub drivers: Drivers,
    pub firewall: Arc<dyn Firewall>,
    /// `--default-host-ip`: where ports are published when `-p` names no
    /// address (None: every address, 0.0.0.0 and ::).
    pub default_host_ip: Option<IpAddr>,
    /// Embedded DNS; None runs without it (unit tests, no cnm-dns binary).
    pub dns: Option<DnsPaths>,
}

pub struct Core {
    state: Mutex<State>,
    store: Arc<dyn Store>,
    drivers: Drivers,
    firewall: Arc<dyn Firewall>,
    firewall_watcher: Mutex<Option<Watcher>>,
    default_host_ip: Option<IpAddr>,
    dns: Option<dns_sync::DnsFeed>,
    events: broadcast::Sender<Event>,
    /// The cluster store of global networks (`--cluster-store`), if any.
    cluster: std::sync::OnceLock<Arc<crate::cluster::Cluster>>,
}

impl Core {
    /// Loads the store, repairs kernel and store after whatever happened
    /// while cnmd was down, rewrites the firewall table from the store, and
    /// makes the built-in networks on first start. Blocking: call it before
    /// serving, off the async workers.
    pub fn start(parts: CoreParts) -> Result<Core, CoreError> {
        let (events, _) = broadcast::channel(1024);
        let ports = PortTable::new(ephemeral_range());
        let core = Core {
            state: Mutex::new(State::new(ports)),
            store: parts.store,
            drivers: parts.drivers,
            firewall: parts.firewall,
            firewall_watcher: Mutex::new(None),
            default_host_ip: parts.default_host_ip,
            dns: parts.dns.map(dns_sync::DnsFeed::new),
            events,
            cluster: std::sync::OnceLock::new(),
        };
        core.load_and_reconcile()?;
        core.restore_firewall()?;
        core.ensure_builtin_networks()?;
        Ok(core)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves in-memory state that may be
        // half-updated, but every change is small and checked on the next
        // operation; carrying on beats taking the daemon down.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn store_description(&self) -> String {
        self.store.describe()
    }

    pub fn driver_names(&self) -> Vec<String> {
        self.drivers.names()
    }

    /// Counts of (networks, endpoints, sandboxes).
    pub fn counts(&self) -> (usize, usize, usize) {
        let st = self.state();
        (st.networks.len(), st.endpoints.len(), st.sandboxes.len())
    }
}

/// For the bundled runtime (`containers`): container names share the
/// sandbox namespace of names, and resolv.conf follows the embedded DNS.
impl Core {
    /// The sandbox that uses `name`, if any.
    pub fn sandbox_named(&self, name: &str) -> Option<crate::model::SandboxRecord> {
        self.state().sandbox_name_taken(name).cloned()
    }

    /// Whether the embedded DNS answers on `network`'s gateway.
    pub fn dns_enabled(network: &crate::model::NetworkRecord) -> bool {
        dns_sync::dns_enabled(network)
    }
}
