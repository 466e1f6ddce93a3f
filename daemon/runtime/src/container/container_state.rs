//! `Container::state` and `Container::wait`: running or exited, from the
//! shim's records plus a liveness check of the recorded processes, so it
//! works from any process and after the caller restarted.

use std::thread;
use std::time::{Duration, Instant, SystemTime};

use super::Container;
use crate::error::RuntimeError;
use crate::state::{read_json, time_from_ns, ExitRecord, PidFd};

/// How long a reader waits for the shim to record an exit it is draining.
const RECORD_PATIENCE: Duration = Duration::from_secs(5);

/// How a container ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitStatus {
    /// The exit code, or 128 + the signal number (137 for SIGKILL).
    pub code: i32,
    /// The kernel OOM-killed a process of the container.
    pub oom_killed: bool,
    pub finished_at: SystemTime,
}

/// What a container is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerState {
    Running {
        pid: i32,
        started_at: SystemTime,
    },
    Exited(ExitStatus),
    /// PID 1 is gone and so is the shim, which never recorded how it ended
    /// (the shim was killed first); the exit code is unknown.
    Lost,
}

impl From<ExitRecord> for ExitStatus {
    fn from(r: ExitRecord) -> Self {
        ExitStatus {
            code: r.code,
            oom_killed: r.oom_killed,
            finished_at: time_from_ns(r.finished_at_ns),
        }
    }
}

impl Container {
    /// The container's current state.
    pub fn state(&self) -> Result<ContainerState, RuntimeError> {
        if let Some(record) = self.exit_record()? {
            return Ok(ContainerState::Exited(record.into()));
        }
        if self.start.pid.is_alive() {
            return Ok(ContainerState::Running {
                pid: self.pid(),
                started_at: self.started_at(),
            });
        }
        // PID 1 is gone; the shim records the exit once the output drained.
        Ok(match self.await_record(RECORD_PATIENCE)? {
            Some(record) => ContainerState::Exited(record.into()),
            None => ContainerState::Lost,
        })
    }

    /// Waits for the container to exit (`None`: forever); `Ok(None)` on
    /// timeout, `Err(NotRunning)` if it was lost without a status.
    pub fn wait(&self, timeout: Option<Duration>) -> Result<Option<ExitStatus>, RuntimeError> {
        if let Some(pidfd) =
            PidFd::open(&self.start.pid).map_err(|source| RuntimeError::ReadState {
                path: format!("/proc/{}", self.pid()).into(),
                source,
            })?
        {
            match timeout {
                Some(limit) if !pidfd.wait_exit(limit) => return Ok(None),
                Some(_) => {}
                None => while !pidfd.wait_exit(Duration::from_secs(3600)) {},
            }
        }
        match self.await_record(RECORD_PATIENCE)? {
            Some(record) => Ok(Some(record.into())),
            None => Err(RuntimeError::NotRunning {
                id: self.id().to_string(),
            }),
        }
    }

    pub(crate) fn exit_record(&self) -> Result<Option<ExitRecord>, RuntimeError> {
        read_json(&self.layout.exit_record())
    }

    /// The exit record, waiting while the shim is alive to write it.
    pub(crate) fn await_record(
        &self,
        patience: Duration,
    ) -> Result<Option<ExitRecord>, RuntimeError> {
        let deadline = Instant::now() + patience;
        // The shim writes the record a millisecond or two after PID 1 is
        // gone (once the output is drained): look again soon, then less
        // often. A flat 10 ms added 10 ms to half of all `cnm run`s.
        let mut pause = Duration::from_millis(1);
        loop {
            if let Some(record) = self.exit_record()? {
                return Ok(Some(record));
            }
            if !self.start.shim.is_alive() {
                // The shim may have written it just before exiting.
                return self.exit_record();
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(10));
        }
    }
}
