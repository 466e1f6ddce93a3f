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

mod builtin;
mod connect;
mod disconnect;
mod drivers;
mod error;
mod events;
mod filters;
mod network_create;
mod network_remove;
mod phases;
mod queries;
mod reconcile;
mod sandbox_setup;
mod state;

pub use connect::{ConnectRequest, SandboxSelector};
pub use disconnect::DisconnectRequest;
pub use drivers::Drivers;
pub use error::CoreError;
pub use events::Event;
pub use filters::NetworkFilter;
pub use network_create::CreateNetworkRequest;
pub use state::{NetworkView, SandboxView};

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::broadcast;

use crate::ipam::{DefaultPools, Ipam};
use crate::store::Store;
use state::State;

pub struct Core {
    state: Mutex<State>,
    store: Arc<dyn Store>,
    drivers: Drivers,
    events: broadcast::Sender<Event>,
}

impl Core {
    /// Loads the store, repairs kernel and store after whatever happened
    /// while cnmd was down, and makes the built-in networks on first start.
    /// Blocking: call it before serving, off the async workers.
    pub fn start(
        store: Arc<dyn Store>,
        drivers: Drivers,
        pools: DefaultPools,
    ) -> Result<Core, CoreError> {
        let (events, _) = broadcast::channel(1024);
        let core = Core {
            state: Mutex::new(State::new(Ipam::new(pools))),
            store,
            drivers,
            events,
        };
        core.load_and_reconcile()?;
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
