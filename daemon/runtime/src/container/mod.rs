//! The library's face: `Runtime` (knows where cnm-shim is; starts
//! containers and execs into them) and `Container` (a handle loaded from a
//! state dir; every other operation). A handle can be opened by any
//! process at any time, so a restarted cnmd re-attaches by state dir.

mod container_attach;
mod container_delete;
mod container_exec;
mod container_kill;
mod container_logs;
mod container_start;
mod container_state;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

pub use container_state::{ContainerState, ExitStatus};

use crate::error::RuntimeError;
use crate::spec::ValidSpec;
use crate::state::{read_json, time_from_ns, Layout, StartRecord};

/// The name of the shim binary, expected beside cnmd.
pub const SHIM_BINARY: &str = "cnm-shim";

/// Starts containers through the `cnm-shim` binary.
#[derive(Debug, Clone)]
pub struct Runtime {
    shim: PathBuf,
}

impl Runtime {
    /// Uses the cnm-shim that sits next to the current executable.
    pub fn beside_current_exe() -> Result<Self, RuntimeError> {
        let exe = std::env::current_exe().map_err(RuntimeError::CurrentExe)?;
        let dir = exe.parent().unwrap_or(Path::new("/"));
        Self::with_shim(dir.join(SHIM_BINARY))
    }

    /// Uses the cnm-shim at `path`.
    pub fn with_shim(path: impl Into<PathBuf>) -> Result<Self, RuntimeError> {
        let shim = path.into();
        if !shim.is_file() {
            return Err(RuntimeError::ShimNotFound { path: shim });
        }
        Ok(Self { shim })
    }

    pub fn shim_path(&self) -> &Path {
        &self.shim
    }
}

/// A started container, identified by its state dir.
#[derive(Debug, Clone)]
pub struct Container {
    layout: Layout,
    spec: ValidSpec,
    start: StartRecord,
}

impl Container {
    /// Loads the container whose state dir is `state_dir` (for example after
    /// cnmd restarted).
    pub fn open(state_dir: impl AsRef<Path>) -> Result<Self, RuntimeError> {
        let layout = Layout::new(state_dir.as_ref());
        let missing = |path: PathBuf| RuntimeError::ReadState {
            path,
            source: std::io::ErrorKind::NotFound.into(),
        };
        let spec = read_json(&layout.config())?.ok_or_else(|| missing(layout.config()))?;
        let start =
            read_json(&layout.start_record())?.ok_or_else(|| missing(layout.start_record()))?;
        Ok(Self {
            layout,
            spec,
            start,
        })
    }

    pub fn id(&self) -> &str {
        &self.spec.id
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    pub fn state_dir(&self) -> &Path {
        self.layout.dir()
    }

    /// Host pid of the container's PID 1.
    pub fn pid(&self) -> i32 {
        self.start.pid.pid
    }

    /// Host pid of the container's shim.
    pub fn shim_pid(&self) -> i32 {
        self.start.shim.pid
    }

    pub fn started_at(&self) -> SystemTime {
        time_from_ns(self.start.started_at_ns)
    }

    /// Whether the container has a pty (attach output is then all stdout).
    pub fn tty(&self) -> bool {
        self.spec.tty
    }

    /// The json-file log (Docker's format), for `cnm logs`: every run's
    /// output when the spec placed it outside the state dir.
    pub fn log_path(&self) -> PathBuf {
        self.spec.log_path()
    }
}
