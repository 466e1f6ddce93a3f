//! `Container::delete`: after the container exited (or killed with
//! `force`), stop a lingering shim, unmount anything left under the state
//! dir, remove the cgroups and the state dir. Best effort and idempotent:
//! every step runs and all failures are reported together.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::mount::{umount2, MntFlags};
use nix::sys::signal::Signal;

use super::{Container, ContainerState};
use crate::cgroups::CgroupSet;
use crate::error::RuntimeError;
use crate::state::PidFd;

impl Container {
    /// Removes everything the container left. A running container is
    /// refused unless `force`, which SIGKILLs it first.
    pub fn delete(&self, force: bool) -> Result<(), RuntimeError> {
        if let ContainerState::Running { .. } = self.state()? {
            if !force {
                return Err(RuntimeError::StillRunning {
                    id: self.id().to_string(),
                });
            }
            self.kill(Signal::SIGKILL)?;
            let _ = self.wait(Some(Duration::from_secs(10)))?;
        }
        let mut errors = Vec::new();
        self.stop_shim(&mut errors);
        for mount in mounts_under(self.state_dir()) {
            // The container's mounts live in its own mount namespace; this
            // only catches leftovers, e.g. from a host with shared `/`.
            if let Err(e) = umount2(&mount, MntFlags::MNT_DETACH) {
                errors.push(format!("unmounting {}: {e}", mount.display()));
            }
        }
        match CgroupSet::for_container(self.id()) {
            Ok(cgroups) => {
                errors.extend(cgroups.remove().iter().map(|e| crate::error::describe(e)))
            }
            Err(e) => errors.push(crate::error::describe(&e)),
        }
        if let Err(e) = fs::remove_dir_all(self.state_dir()) {
            if e.kind() != std::io::ErrorKind::NotFound {
                errors.push(format!("removing {}: {e}", self.state_dir().display()));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(RuntimeError::Delete {
                id: self.id().to_string(),
                errors,
            })
        }
    }

    /// The shim lingers a moment after the exit for attach clients; tell it
    /// to go and wait, so it does not write into a removed directory.
    fn stop_shim(&self, errors: &mut Vec<String>) {
        let Ok(Some(shim)) = PidFd::open(&self.start.shim) else {
            return;
        };
        let _ = shim.send_signal(Signal::SIGTERM);
        if !shim.wait_exit(Duration::from_secs(3)) {
            let _ = shim.send_signal(Signal::SIGKILL);
            if !shim.wait_exit(Duration::from_secs(3)) {
                errors.push(format!("shim pid {} did not exit", self.shim_pid()));
            }
        }
    }
}

/// Mount points at or below `dir` in this mount namespace, deepest first.
fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut found: Vec<PathBuf> = text
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| PathBuf::from(p.replace("\\040", " ")))
        .filter(|p| p.starts_with(dir))
        .collect();
    found.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    found
}
