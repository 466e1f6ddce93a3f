//! What cnmd calls to run the resolver: start it detached and wait until it
//! serves, find the one already running, replace it without dropping a query.
//!
//! These functions block (process spawn, pipe reads, short sleeps): call them
//! from `spawn_blocking` in async code.

mod running;
mod spawn;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use running::{find_running, is_outdated, terminate};

/// Name the resolver binary must have; `find_running` checks it.
pub const RESOLVER_BINARY_NAME: &str = "cnm-dns";

/// Errors starting, finding or stopping the resolver.
#[derive(Debug, thiserror::Error)]
pub enum SuperviseError {
    /// The binary could not be started.
    #[error("cannot start resolver {binary}")]
    Spawn {
        binary: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The resolver log file could not be opened.
    #[error("cannot open resolver log {path}")]
    Log {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The resolver exited before it announced readiness.
    #[error("resolver {binary} exited before it was ready; its log is {log}")]
    ExitedEarly { binary: PathBuf, log: String },
    /// The resolver did not announce readiness in time (it was killed).
    #[error("resolver {binary} was not ready within {timeout:?}; its log is {log}")]
    NotReady {
        binary: PathBuf,
        timeout: Duration,
        log: String,
    },
    /// Signalling a resolver failed.
    #[error("cannot signal resolver pid {pid}")]
    Signal {
        pid: u32,
        #[source]
        source: nix::Error,
    },
}

/// How to run the resolver; [`ResolverCommand::new`] has the defaults.
#[derive(Debug, Clone)]
pub struct ResolverCommand {
    /// The `cnm-dns` binary.
    pub binary: PathBuf,
    /// Snapshot path (`<run-root>/dns/snapshot.json`).
    pub snapshot: PathBuf,
    /// Pid file the resolver writes when ready.
    pub pid_file: PathBuf,
    /// Host resolv.conf with the default upstreams.
    pub resolv_conf: PathBuf,
    /// Where the resolver's stderr goes (appended); `None` discards it.
    pub log_file: Option<PathBuf>,
    /// `--log-level` (a tracing filter).
    pub log_level: String,
    /// How long to wait for the readiness line.
    pub ready_timeout: Duration,
    /// How long an old resolver may drain before it is killed.
    pub stop_timeout: Duration,
    /// More arguments (tuning knobs, tests).
    pub extra_args: Vec<OsString>,
}

impl ResolverCommand {
    /// Defaults: log to `cnm-dns.log` next to the pid file, level `info`,
    /// 5 s to become ready, 5 s to drain on replacement.
    pub fn new(binary: &Path, snapshot: &Path, pid_file: &Path, resolv_conf: &Path) -> Self {
        ResolverCommand {
            binary: binary.to_path_buf(),
            snapshot: snapshot.to_path_buf(),
            pid_file: pid_file.to_path_buf(),
            resolv_conf: resolv_conf.to_path_buf(),
            log_file: Some(pid_file.with_file_name("cnm-dns.log")),
            log_level: "info".to_string(),
            ready_timeout: Duration::from_secs(5),
            stop_timeout: Duration::from_secs(5),
            extra_args: Vec::new(),
        }
    }

    /// Starts a new resolver detached from the caller (own session, parent
    /// init) and waits until it serves; returns its pid. A resolver already
    /// running keeps running: use [`ResolverCommand::replace`] to take over.
    pub fn spawn(&self) -> Result<u32, SuperviseError> {
        spawn::spawn(self)
    }

    /// Starts a new resolver next to the running one, then stops the old
    /// one once the new one serves; no query is dropped. Returns the new pid.
    pub fn replace(&self) -> Result<u32, SuperviseError> {
        let old = find_running(&self.pid_file);
        let new = self.spawn()?;
        if let Some(old) = old.filter(|&old| old != new) {
            terminate(old, self.stop_timeout)?;
        }
        Ok(new)
    }

    /// Keeps a running resolver if it runs the current binary, replaces it
    /// if the binary was upgraded, starts one if none runs. Returns the pid.
    pub fn ensure_running(&self) -> Result<u32, SuperviseError> {
        match find_running(&self.pid_file) {
            Some(pid) if !is_outdated(pid, &self.binary) => Ok(pid),
            Some(_) => self.replace(),
            None => self.spawn(),
        }
    }
}

/// Starts `binary` detached with default settings and waits until it serves.
pub fn spawn_resolver(
    binary: &Path,
    snapshot: &Path,
    pid_file: &Path,
    resolv_conf: &Path,
) -> Result<u32, SuperviseError> {
    ResolverCommand::new(binary, snapshot, pid_file, resolv_conf).spawn()
}

/// Replaces the running resolver (if any) with a new one; see [`ResolverCommand::replace`].
pub fn replace(
    binary: &Path,
    snapshot: &Path,
    pid_file: &Path,
    resolv_conf: &Path,
) -> Result<u32, SuperviseError> {
    ResolverCommand::new(binary, snapshot, pid_file, resolv_conf).replace()
}
