//! Watching containers: a poll per running container notices its exit and
//! frees its sandbox; at start-up every stored container is re-attached or
//! settled; network connects and disconnects (also live ones from `cnm net
//! connect NET CONTAINER`) rewrite the hosts files.

use std::sync::{Arc, TryLockError};
use std::time::Duration;

use cnm_runtime::ContainerState;
use tokio::sync::broadcast::error::RecvError;

use super::record::{ContainerRecord, RunState};
use super::{lock, ContainerError, Containers, Slot};
use crate::model::Record;
use crate::store::Kind;

/// How often a running container is checked for an exit.
const POLL: Duration = Duration::from_millis(500);

impl Containers {
    /// Polls the container until it exits, then settles it.
    pub(super) fn watch(self: &Arc<Self>, slot: Arc<Slot>) {
        let generation = Containers::next_generation(&slot);
        let me = self.clone();
        self.handle.spawn(async move {
            let mut tick = tokio::time::interval(POLL);
            loop {
                tick.tick().await;
                let (me, slot) = (me.clone(), slot.clone());
                let done =
                    tokio::task::spawn_blocking(move || me.check_exit(&slot, generation)).await;
                if !matches!(done, Ok(false)) {
                    break;
                }
            }
        });
    }

    /// True when there is nothing more to watch.
    fn check_exit(&self, slot: &Slot, generation: u64) -> bool {
        let _op = match slot.op.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            // stop/rm is at work and settles it itself.
            Err(TryLockError::WouldBlock) => return false,
        };
        let record = slot.record();
        let current = slot.generation.load(std::sync::atomic::Ordering::SeqCst) == generation;
        if !current || !record.is_running() || !lock(&self.slots).contains_key(&record.id) {
            return true;
        }
        let status = match cnm_runtime::Container::open(record.runtime_dir()).map(|c| c.state()) {
            Ok(Ok(ContainerState::Running { .. })) => return false,
            Ok(Ok(ContainerState::Exited(status))) => Some(status),
            Ok(Ok(ContainerState::Lost)) | Err(_) => None,
            Ok(Err(err)) => {
                tracing::warn!(container = %record.name, error = %err, "container state");
                return false;
            }
        };
        if let Err(err) = self.settle(slot, status, true) {
            tracing::error!(container = %record.name, error = %err.full_message(), "settle exited container");
        }
        true
    }

    /// Loads the stored containers: running ones are watched again, those
    /// that exited meanwhile are settled, half-made ones are removed.
    pub(super) fn reconcile(self: &Arc<Self>) -> Result<(), ContainerError> {
        for (key, bytes) in self.store.load()? {
            if key.kind != Kind::Container {
                continue;
            }
            match serde_json::from_slice::<ContainerRecord>(&bytes) {
                Ok(record) => {
                    let slot = Arc::new(Slot {
                        op: Default::default(),
                        record: std::sync::Mutex::new(record.clone()),
                        generation: Default::default(),
                    });
                    lock(&self.slots).insert(record.id.clone(), slot);
                }
                Err(err) => {
                    tracing::warn!(key = %key, error = %err, "dropping unreadable container record");
                    self.store.commit(&[crate::store::Write::Delete(key)])?;
                }
            }
        }
        let slots: Vec<Arc<Slot>> = lock(&self.slots).values().cloned().collect();
        for slot in slots {
            self.reconcile_one(&slot);
        }
        Ok(())
    }

    fn reconcile_one(self: &Arc<Self>, slot: &Arc<Slot>) {
        let record = slot.record();
        let runtime = cnm_runtime::Container::open(record.runtime_dir());
        let result = match record.state {
            RunState::Created => {
                tracing::info!(container = %record.name, "removing a container whose setup was interrupted");
                self.unwire(&record);
                if let Ok(container) = &runtime {
                    let _ = container.delete(true);
                }
                let _ = std::fs::remove_dir_all(&record.dir);
                lock(&self.slots).remove(&record.id);
                self.store.commit(&[record.delete()]).map_err(Into::into)
            }
            RunState::Running => match runtime.as_ref().map(|c| c.state()) {
                Ok(Ok(ContainerState::Running { .. })) => {
                    tracing::info!(container = %record.name, "re-attached to running container");
                    self.watch(slot.clone());
                    Ok(())
                }
                Ok(Ok(ContainerState::Exited(status))) => self.settle(slot, Some(status), true),
                _ => self.settle(slot, None, true),
            },
            RunState::Exited => {
                self.unwire(&record);
                Ok(())
            }
        };
        if let Err(err) = result {
            tracing::error!(container = %record.name, error = %err.full_message(), "reconcile container");
        }
    }

    /// Rewrites the hosts files of running containers whenever a sandbox
    /// joins or leaves a network.
    pub(super) fn follow_network_events(self: &Arc<Self>) {
        let mut events = self.core.subscribe();
        let me = self.clone();
        self.handle.spawn(async move {
            loop {
                match events.recv().await {
                    Ok(event)
                        if event.kind == "network"
                            && matches!(event.action, "connect" | "disconnect") =>
                    {
                        let me = me.clone();
                        let _ = tokio::task::spawn_blocking(move || me.refresh_files()).await;
                    }
                    Err(RecvError::Closed) => break,
                    _ => {}
                }
            }
        });
    }

    fn refresh_files(&self) {
        let slots: Vec<Arc<Slot>> = lock(&self.slots).values().cloned().collect();
        for record in slots.iter().map(|s| s.record()).filter(|r| r.is_running()) {
            if let Err(err) = self.write_files(&record) {
                tracing::warn!(container = %record.name, error = %err.full_message(), "rewrite hosts file");
            }
        }
    }
}
