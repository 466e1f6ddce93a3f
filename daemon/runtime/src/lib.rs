//! cnm's bundled container runtime. cnmd calls this library to start a
//! container inside a sandbox network namespace it prepared; the
//! per-container `cnm-shim` process does the namespace work, stays as the
//! container's parent (stdio, logs, exit status) and lets the container
//! outlive cnmd, which re-attaches by state dir (`Container::open`).
//!
//! ```no_run
//! # fn demo(spec: cnm_runtime::ContainerSpec) -> Result<(), cnm_runtime::RuntimeError> {
//! let runtime = cnm_runtime::Runtime::beside_current_exe()?;
//! let container = runtime.start(&spec)?;
//! let status = container.stop(std::time::Duration::from_secs(10))?;
//! container.delete(false)?;
//! # let _ = status; Ok(()) }
//! ```

pub mod attach;
pub mod capabilities;
mod cgroups;
mod container;
mod error;
mod init;
pub mod logs;
mod rootfs;
#[doc(hidden)]
pub mod shim;
pub mod spec;
mod state;

pub use capabilities::{CapSet, Capability};
pub use cgroups::cgroup_summary;
pub use container::{Container, ContainerState, ExitStatus, Runtime, SHIM_BINARY};
pub use error::{RuntimeError, SpecError};
pub use spec::{BindMount, ContainerSpec, Cpus, ExecSpec, Limits, MemoryBytes, PidsLimit};

/// Signals for [`Container::kill`].
pub use nix::sys::signal::Signal;
