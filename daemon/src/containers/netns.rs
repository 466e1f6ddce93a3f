//! The container's sandbox: a fresh network namespace pinned by a bind
//! mount at `<run-root>/netns/<id>`, as `ip netns add` does.

use std::fs;
use std::path::Path;

use cnm_drivers::sys::{Netlink, Netns};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{unshare, CloneFlags};

use super::ContainerError;

/// Creates the namespace file at `path`. The namespace is made on a
/// dedicated thread (never a tokio worker): unshare changes the calling
/// thread's namespace, and the thread ends right after pinning it.
pub fn create(path: &Path, loopback_up: bool) -> Result<(), ContainerError> {
    let failed = |what: &str| format!("{what} for network namespace {}", path.display());
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(ContainerError::io(failed("create the directory")))?;
    }
    fs::File::create(path).map_err(ContainerError::io(failed("create the mount point")))?;
    let target = path.to_path_buf();
    let made = std::thread::spawn(move || -> nix::Result<()> {
        unshare(CloneFlags::CLONE_NEWNET)?;
        mount(
            Some("/proc/thread-self/ns/net"),
            &target,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
    })
    .join()
    .map_err(|_| ContainerError::Internal(failed("thread panicked")))?;
    if let Err(errno) = made {
        let _ = fs::remove_file(path);
        return Err(ContainerError::Io {
            context: failed("unshare and bind-mount"),
            source: errno.into(),
        });
    }
    if loopback_up {
        // `--network none`: nobody else brings lo up.
        let up = Netns::open(path)
            .and_then(|ns| Netlink::open_in(&ns))
            .and_then(|mut nl| nl.set_up(1));
        if let Err(err) = up {
            remove(path);
            return Err(ContainerError::Internal(format!(
                "bring lo up in {}: {err}",
                path.display()
            )));
        }
    }
    Ok(())
}

/// Unmounts and removes the namespace file; best effort, idempotent.
pub fn remove(path: &Path) {
    if let Err(errno) = umount2(path, MntFlags::MNT_DETACH) {
        if path.exists() && errno != nix::errno::Errno::EINVAL {
            tracing::warn!(netns = %path.display(), error = %errno, "unmount container netns");
        }
    }
    if let Err(err) = fs::remove_file(path) {
        if err.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(netns = %path.display(), error = %err, "remove container netns file");
        }
    }
}
