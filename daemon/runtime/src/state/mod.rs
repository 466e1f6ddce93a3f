//! The per-container state directory: where each file lives, the records
//! the library and the shim exchange through it, and process identities
//! that survive pid reuse.

mod process;
mod records;

use std::path::{Path, PathBuf};

pub(crate) use process::{PidFd, ProcessId};
pub(crate) use records::{
    now_ns, read_json, time_from_ns, write_json_atomic, ExitRecord, StartRecord,
};

/// File names inside a state directory.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    dir: PathBuf,
}

impl Layout {
    pub(crate) fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The validated spec, written by `start` before the shim runs.
    pub(crate) fn config(&self) -> PathBuf {
        self.dir.join("config.json")
    }

    /// Written by the shim once the container's command exec'd.
    pub(crate) fn start_record(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    /// Written (atomically) by the shim when the container exited.
    pub(crate) fn exit_record(&self) -> PathBuf {
        self.dir.join("exit.json")
    }

    /// The container's output in Docker's json-file format.
    pub(crate) fn log(&self) -> PathBuf {
        self.dir.join("container.log")
    }

    pub(crate) fn attach_socket(&self) -> PathBuf {
        self.dir.join("attach.sock")
    }

    /// The shim's own stderr.
    pub(crate) fn shim_log(&self) -> PathBuf {
        self.dir.join("shim.log")
    }

    /// Content of the container's /etc/hostname.
    pub(crate) fn hostname(&self) -> PathBuf {
        self.dir.join("hostname")
    }

    pub(crate) fn upper(&self) -> PathBuf {
        self.dir.join("upper")
    }

    pub(crate) fn work(&self) -> PathBuf {
        self.dir.join("work")
    }

    /// Mount point of the overlay (only inside the container's mount
    /// namespace; empty on the host).
    pub(crate) fn merged(&self) -> PathBuf {
        self.dir.join("rootfs")
    }
}
