//! What the caller asks for: `ContainerSpec` for a new container and
//! `ExecSpec` for a process inside a running one. `validate` turns a
//! `ContainerSpec` into the `ValidSpec` that the shim consumes.

mod limits;
mod validate;

use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use limits::{Cpus, Limits, MemoryBytes, PidsLimit, CPU_PERIOD_US, MIN_MEMORY_BYTES};
pub(crate) use validate::ValidSpec;

use crate::capabilities::CapSet;
use crate::error::SpecError;

/// The PATH a container gets when its environment has none (Docker's).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Everything needed to create and start one container.
#[derive(Debug, Clone)]
pub struct ContainerSpec {
    /// 64 lowercase hex characters.
    pub id: String,
    pub name: String,
    /// A directory; never modified: it becomes the overlay's lower layer.
    pub rootfs: PathBuf,
    /// The command and its arguments; `args[0]` is searched in the
    /// container's PATH when it has no `/`.
    pub args: Vec<String>,
    /// `KEY=VALUE` entries; PATH, HOSTNAME and HOME get Docker's defaults.
    pub env: Vec<String>,
    /// Working directory inside the container (created if missing).
    pub cwd: Option<String>,
    pub hostname: String,
    /// An existing network namespace file to join (a bind-mounted nsfs file
    /// such as cnmd's sandbox); `None` shares the caller's network.
    pub netns: Option<PathBuf>,
    /// Written by cnmd; bind-mounted read-only at /etc/hosts.
    pub hosts_file: PathBuf,
    /// Written by cnmd; bind-mounted read-only at /etc/resolv.conf.
    pub resolv_conf: PathBuf,
    pub mounts: Vec<BindMount>,
    pub limits: Limits,
    pub cap_add: CapSet,
    pub cap_drop: CapSet,
    /// Give the container a pseudo-terminal (`-t`).
    pub tty: bool,
    /// Keep the container's stdin open for attach clients (`-i`).
    pub stdin: bool,
    /// Per-container directory owned by the runtime; must not exist yet.
    pub state_dir: PathBuf,
    /// Where the json-file log is appended; `None` keeps it inside the
    /// state dir, where it goes with the container. A caller that starts
    /// the same container again (`cnm start`) points this outside the state
    /// dir, so the log of every run stays in one file, as Docker's does.
    pub log: Option<PathBuf>,
}

/// A `-v HOSTDIR:CDIR[:ro]` bind mount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindMount {
    pub source: PathBuf,
    pub destination: PathBuf,
    pub read_only: bool,
}

impl FromStr for BindMount {
    type Err = SpecError;

    fn from_str(text: &str) -> Result<Self, SpecError> {
        let bad = |reason: &str| SpecError::BadMount {
            spec: text.to_string(),
            reason: reason.to_string(),
        };
        let parts: Vec<&str> = text.split(':').collect();
        let (source, destination, read_only) = match parts.as_slice() {
            [s, d] => (*s, *d, false),
            [s, d, "ro"] => (*s, *d, true),
            [s, d, "rw"] => (*s, *d, false),
            [_, _, _] => return Err(bad("the mode must be `ro` or `rw`")),
            _ => return Err(bad("expected HOSTPATH:CONTAINERPATH[:ro|rw]")),
        };
        if !source.starts_with('/') {
            return Err(bad(
                "the host path must be absolute (named volumes are not supported)",
            ));
        }
        if !destination.starts_with('/') || destination == "/" {
            return Err(bad("the container path must be absolute and not `/`"));
        }
        Ok(BindMount {
            source: source.into(),
            destination: destination.into(),
            read_only,
        })
    }
}

/// A process to run inside a running container (`cnm exec`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecSpec {
    pub args: Vec<String>,
    /// Added to (and overriding) the container's environment.
    pub env: Vec<String>,
    /// Defaults to the container's working directory.
    pub cwd: Option<String>,
    /// Run on a new pseudo-terminal of the container. The exec helper
    /// relays the pty to its stdout, and its stdin carries attach frames
    /// ([`crate::attach::Frame`]: `Stdin`, `Resize`, `CloseStdin`), so the
    /// caller can resize the terminal while the process runs.
    pub tty: bool,
    /// Initial terminal size (rows, columns) for `tty`.
    pub tty_size: Option<(u16, u16)>,
    /// Return as soon as the process exec'd (`exec -d`); it is then adopted
    /// by the container's PID 1 and its output is discarded.
    pub detach: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_mount_forms() {
        let m: BindMount = "/srv/data:/data".parse().expect("rw");
        assert_eq!(m.destination, PathBuf::from("/data"));
        assert!(!m.read_only);
        let m: BindMount = "/srv/data:/data:ro".parse().expect("ro");
        assert!(m.read_only);
        for bad in ["data:/data", "/a:b", "/a:/", "/a:/b:rx", "/a"] {
            let err = bad.parse::<BindMount>().expect_err(bad).to_string();
            assert!(err.contains(&format!("volume `{bad}`")), "{err}");
        }
    }
}
