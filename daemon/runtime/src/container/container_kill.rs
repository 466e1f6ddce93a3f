//! `Container::kill` and `Container::stop`: signals go straight to PID 1
//! through a pidfd checked against the recorded start time, so they work
//! without the shim and never reach a process that reused the pid.
//!
//! PID 1 of a pid namespace only receives signals it installed a handler
//! for (SIGKILL excepted), so a command that ignores or does not handle
//! SIGTERM is killed by `stop` after the timeout, as in Docker.

use std::time::Duration;

use nix::sys::signal::Signal;

use super::{Container, ExitStatus};
use crate::error::RuntimeError;
use crate::state::PidFd;

/// How long `stop` waits after SIGKILL.
const KILL_PATIENCE: Duration = Duration::from_secs(10);

impl Container {
    /// Sends `signal` to the container's PID 1.
    pub fn kill(&self, signal: Signal) -> Result<(), RuntimeError> {
        let pidfd = self.pidfd()?.ok_or_else(|| RuntimeError::NotRunning {
            id: self.id().to_string(),
        })?;
        pidfd
            .send_signal(signal)
            .map_err(|source| RuntimeError::Signal {
                id: self.id().to_string(),
                signal: format!("{signal:?}"),
                source,
            })
    }

    /// SIGTERM, then SIGKILL once `timeout` passed; returns how it ended.
    /// Stopping an exited container returns its recorded status.
    pub fn stop(&self, timeout: Duration) -> Result<ExitStatus, RuntimeError> {
        if let Some(pidfd) = self.pidfd()? {
            let signal_err = |signal: Signal| {
                let id = self.id().to_string();
                move |source| RuntimeError::Signal {
                    id,
                    signal: format!("{signal:?}"),
                    source,
                }
            };
            pidfd
                .send_signal(Signal::SIGTERM)
                .map_err(signal_err(Signal::SIGTERM))?;
            if !pidfd.wait_exit(timeout) {
                pidfd
                    .send_signal(Signal::SIGKILL)
                    .map_err(signal_err(Signal::SIGKILL))?;
                if !pidfd.wait_exit(KILL_PATIENCE) {
                    return Err(RuntimeError::KillTimeout {
                        id: self.id().to_string(),
                        seconds: KILL_PATIENCE.as_secs(),
                    });
                }
            }
        }
        match self.await_record(Duration::from_secs(5))? {
            Some(record) => Ok(record.into()),
            None => Err(RuntimeError::NotRunning {
                id: self.id().to_string(),
            }),
        }
    }

    pub(crate) fn pidfd(&self) -> Result<Option<PidFd>, RuntimeError> {
        PidFd::open(&self.start.pid).map_err(|source| RuntimeError::ReadState {
            path: format!("/proc/{}", self.pid()).into(),
            source,
        })
    }
}
