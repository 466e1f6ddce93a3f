//! `stop`, `start`, `rm`, and settling an exit: a stopped container keeps
//! its record, log and files but holds no sandbox, veth or address.

use std::fs;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cnm_runtime::{ContainerState, ExitStatus, Signal};

use super::record::{NetworkMode, RunState};
use super::setup::timestamp;
use super::{lock, ContainerError, Containers, Slot};
use crate::model::Record;

/// Exit code recorded when the shim died before recording one.
const UNKNOWN_EXIT: i32 = 255;

impl Containers {
    /// SIGTERM, then SIGKILL after `timeout`; returns once the sandbox is
    /// gone. Stopping a stopped container does nothing.
    pub fn stop(
        &self,
        key: &str,
        timeout: Duration,
    ) -> Result<super::ContainerRecord, ContainerError> {
        let slot = self.find(key)?;
        let _op = lock(&slot.op);
        let record = slot.record();
        if record.is_running() {
            let status = match cnm_runtime::Container::open(record.runtime_dir()) {
                Ok(container) => match container.stop(timeout) {
                    Ok(status) => Some(status),
                    Err(cnm_runtime::RuntimeError::NotRunning { .. }) => None,
                    Err(err) => return Err(err.into()),
                },
                Err(_) => None,
            };
            self.settle(&slot, status, true)?;
            // Docker's order: die (in settle), then stop.
            self.emit("stop", &record, &[]);
        }
        Ok(slot.record())
    }

    /// Starts a stopped container again (a no-op when it runs).
    pub fn start(self: &Arc<Self>, key: &str) -> Result<super::ContainerRecord, ContainerError> {
        let slot = self.find(key)?;
        let _op = lock(&slot.op);
        let record = slot.record();
        if !record.is_running() {
            self.launch(&slot, record)?;
        }
        Ok(slot.record())
    }

    /// `--rm` for a container the user detached from: removes it once it has
    /// exited, or now if it has already. Returns whether it is gone now.
    pub fn remove_when_exited(&self, key: &str) -> Result<bool, ContainerError> {
        let slot = self.find(key)?;
        let _op = lock(&slot.op);
        let mut record = slot.record();
        if !record.is_running() {
            self.delete(&slot)?;
            return Ok(true);
        }
        if !record.config.auto_remove {
            // The monitor settles the exit under the same lock and removes
            // the container then (`settle` with auto_remove).
            record.config.auto_remove = true;
            self.save(&slot, &record)?;
        }
        Ok(false)
    }

    /// Removes a container; a running one only with `force` (SIGKILL).
    pub fn remove(&self, key: &str, force: bool) -> Result<String, ContainerError> {
        let slot = self.find(key)?;
        let _op = lock(&slot.op);
        let record = slot.record();
        if record.is_running() {
            let container = cnm_runtime::Container::open(record.runtime_dir()).ok();
            let state = container.as_ref().map(|c| c.state()).transpose()?;
            if let (Some(container), Some(ContainerState::Running { .. })) = (&container, state) {
                if !force {
                    return Err(ContainerError::FailedPrecondition(format!(
                        "container {} is running; stop it first or remove it with rm -f",
                        record.name
                    )));
                }
                container.kill(Signal::SIGKILL)?;
            }
            let status = container
                .and_then(|c| c.wait(Some(Duration::from_secs(10))).ok())
                .flatten();
            self.settle(&slot, status, false)?;
        }
        self.delete(&slot)?;
        Ok(record.id)
    }

    /// Records how the container ended and frees its sandbox; removes it
    /// too when it was run with `--rm` and `auto_remove` is allowed. The
    /// caller holds the operation lock.
    pub(super) fn settle(
        &self,
        slot: &Slot,
        status: Option<ExitStatus>,
        auto_remove: bool,
    ) -> Result<(), ContainerError> {
        let mut record = slot.record();
        if record.state == RunState::Exited {
            return Ok(());
        }
        if let Some(current) = self.unwire(&record) {
            if let NetworkMode::Networks(_) = record.config.network {
                record.config.network = NetworkMode::Networks(current);
            }
        }
        record.netns = None;
        record.state = RunState::Exited;
        record.pid = 0;
        record.exit_code = status.map_or(UNKNOWN_EXIT, |s| s.code);
        record.oom_killed = status.is_some_and(|s| s.oom_killed);
        record.finished_at = Some(timestamp(
            status.map_or_else(SystemTime::now, |s| s.finished_at),
        ));
        self.save(slot, &record)?;
        tracing::info!(container = %record.name, exit_code = record.exit_code, "container exited");
        let exit_code = record.exit_code.to_string();
        self.emit("die", &record, &[("exitCode", &exit_code)]);
        if auto_remove && record.config.auto_remove {
            self.delete(slot)?;
        }
        Ok(())
    }

    /// Removes what a stopped container left: the runtime's state, its
    /// dir, the record. Caller holds the operation lock.
    fn delete(&self, slot: &Slot) -> Result<(), ContainerError> {
        let record = slot.record();
        let mut errors = Vec::new();
        if let Ok(container) = cnm_runtime::Container::open(record.runtime_dir()) {
            if let Err(err) = container.delete(true) {
                errors.push(err.to_string());
            }
        }
        if let Some(netns) = &record.netns {
            super::netns::remove(netns);
        }
        if let Err(err) = fs::remove_dir_all(&record.dir) {
            if err.kind() != std::io::ErrorKind::NotFound {
                errors.push(format!("remove {}: {err}", record.dir.display()));
            }
        }
        self.store.commit(&[record.delete()])?;
        lock(&self.slots).remove(&record.id);
        self.emit("destroy", &record, &[]);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ContainerError::Internal(format!(
                "container {} removed, but: {}",
                record.name,
                errors.join("; ")
            )))
        }
    }
}
