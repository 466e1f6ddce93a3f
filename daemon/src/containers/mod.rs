//! The bundled runtime's containers (`cnm run`, `ps`, `stop`, `start`,
//! `rm`, `exec`, `logs`, `inspect`): records in the store, a sandbox netns
//! per container wired through the core like any other sandbox, hosts and
//! resolv.conf files, and the runtime library (`cnm-runtime`) for the
//! processes. Containers outlive cnmd; `Containers::open` re-attaches.
//!
//! Locking: each container has an operation lock, held for a whole
//! lifecycle operation (start, stop, remove, settling an exit) on a
//! blocking thread, and its record behind a short lock that readers take.

mod error;
mod events;
mod files;
mod lifecycle;
mod monitor;
mod netns;
mod record;
mod run;
mod setup;

pub use error::ContainerError;
pub use record::{ContainerRecord, NetworkMode};
pub use run::RunRequest;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use cnm_runtime::Runtime;

use crate::core::{Core, SandboxSelector, SandboxView};
use crate::model::Record;
use crate::store::Store;

/// What the container manager is built from.
pub struct ContainersParts {
    pub core: Arc<Core>,
    pub store: Arc<dyn Store>,
    /// `<root>/containers`: one dir per container (on a filesystem overlayfs
    /// accepts as upper layer).
    pub dir: PathBuf,
    /// `<run-root>/netns`: the sandboxes' namespace files.
    pub netns_dir: PathBuf,
    /// The host's resolv.conf, for containers without embedded DNS.
    pub host_resolv: PathBuf,
}

/// One container in memory.
struct Slot {
    op: Mutex<()>,
    record: Mutex<ContainerRecord>,
    /// Bumped on every start, so a monitor of an earlier run stops.
    generation: AtomicU64,
}

pub struct Containers {
    core: Arc<Core>,
    store: Arc<dyn Store>,
    runtime: Result<Runtime, String>,
    dir: PathBuf,
    netns_dir: PathBuf,
    host_resolv: PathBuf,
    slots: Mutex<BTreeMap<String, Arc<Slot>>>,
    handle: tokio::runtime::Handle,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Records are replaced whole; a panic cannot leave one half-written.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Slot {
    fn record(&self) -> ContainerRecord {
        lock(&self.record).clone()
    }
}

impl Containers {
    /// Loads the stored containers and settles those that exited while cnmd
    /// was down. Blocking; call it inside the tokio runtime (monitors are
    /// spawned on it) but before serving.
    pub fn open(parts: ContainersParts) -> Result<Arc<Containers>, ContainerError> {
        let runtime = Runtime::beside_current_exe().map_err(|e| e.to_string());
        if let Err(err) = &runtime {
            tracing::error!(error = %err, "`cnm run` disabled: the runtime's shim is missing");
        }
        let containers = Arc::new(Containers {
            core: parts.core,
            store: parts.store,
            runtime,
            dir: parts.dir,
            netns_dir: parts.netns_dir,
            host_resolv: parts.host_resolv,
            slots: Mutex::new(BTreeMap::new()),
            handle: tokio::runtime::Handle::current(),
        });
        containers.reconcile()?;
        containers.follow_network_events();
        Ok(containers)
    }

    fn runtime(&self) -> Result<&Runtime, ContainerError> {
        self.runtime.as_ref().map_err(|err| {
            ContainerError::FailedPrecondition(format!(
                "{err}; install cnm-shim next to cnmd to run containers"
            ))
        })
    }

    /// A container by full id, name or unique id prefix.
    fn find(&self, key: &str) -> Result<Arc<Slot>, ContainerError> {
        let slots = lock(&self.slots);
        if let Some(slot) = slots.get(key) {
            return Ok(slot.clone());
        }
        if let Some(slot) = slots.values().find(|s| lock(&s.record).name == key) {
            return Ok(slot.clone());
        }
        let mut matches = slots
            .iter()
            .filter(|(id, _)| !key.is_empty() && id.starts_with(key));
        match (matches.next(), matches.next()) {
            (Some((_, slot)), None) => Ok(slot.clone()),
            (Some(_), Some(_)) => Err(ContainerError::InvalidArgument(format!(
                "container id prefix {key} is ambiguous; give more digits or the name"
            ))),
            _ => Err(ContainerError::NotFound(format!(
                "no such container: {key}"
            ))),
        }
    }

    /// Saves `record` (flushed) and makes it the in-memory copy.
    fn save(&self, slot: &Slot, record: &ContainerRecord) -> Result<(), ContainerError> {
        self.store.commit(&[record.put()])?;
        *lock(&slot.record) = record.clone();
        Ok(())
    }

    /// The sandbox of a container, while it has endpoints.
    fn sandbox_view(&self, record: &ContainerRecord) -> Option<SandboxView> {
        let netns = record.netns.as_ref()?;
        self.core
            .inspect_sandbox(&SandboxSelector::NetnsPath(netns.clone()))
            .ok()
    }

    /// Every container (running only unless `all`), newest first, with its
    /// sandbox.
    pub fn list(&self, all: bool) -> Vec<(ContainerRecord, Option<SandboxView>)> {
        let slots: Vec<Arc<Slot>> = lock(&self.slots).values().cloned().collect();
        let mut out: Vec<_> = slots
            .iter()
            .map(|s| s.record())
            .filter(|r| all || r.is_running())
            .map(|r| {
                let view = self.sandbox_view(&r);
                (r, view)
            })
            .collect();
        out.sort_by(|a, b| b.0.created.cmp(&a.0.created));
        out
    }

    /// (running, stopped) containers, for the metrics gauges.
    pub fn counts(&self) -> (usize, usize) {
        let slots: Vec<Arc<Slot>> = lock(&self.slots).values().cloned().collect();
        let running = slots
            .iter()
            .filter(|s| lock(&s.record).is_running())
            .count();
        (running, slots.len() - running)
    }

    pub fn inspect(
        &self,
        key: &str,
    ) -> Result<(ContainerRecord, Option<SandboxView>), ContainerError> {
        let record = self.find(key)?.record();
        let view = self.sandbox_view(&record);
        Ok((record, view))
    }

    /// The runtime's handle of a container that has been started.
    pub fn runtime_container(
        &self,
        key: &str,
    ) -> Result<(ContainerRecord, cnm_runtime::Container), ContainerError> {
        let record = self.find(key)?.record();
        let container = cnm_runtime::Container::open(record.runtime_dir()).map_err(|_| {
            ContainerError::FailedPrecondition(format!(
                "container {} has never been started",
                record.name
            ))
        })?;
        Ok((record, container))
    }

    /// The helper command of `cnm exec` (stdio to be set by the caller).
    pub fn exec_command(
        &self,
        key: &str,
        spec: &cnm_runtime::ExecSpec,
    ) -> Result<std::process::Command, ContainerError> {
        let (record, container) = self.runtime_container(key)?;
        if !record.is_running() {
            return Err(ContainerError::FailedPrecondition(format!(
                "container {} is not running; start it first",
                record.name
            )));
        }
        Ok(self.runtime()?.exec_command(&container, spec)?)
    }

    /// Named by the short id: the runtime's attach socket lives inside,
    /// and a unix socket path must fit in 108 bytes.
    fn container_dir(&self, id: &str) -> PathBuf {
        self.dir.join(crate::model::short_id(id))
    }

    fn netns_path(&self, id: &str) -> PathBuf {
        self.netns_dir.join(id)
    }

    fn host_resolv(&self) -> &Path {
        &self.host_resolv
    }

    fn next_generation(slot: &Slot) -> u64 {
        slot.generation.fetch_add(1, Ordering::SeqCst) + 1
    }
}
