//! A minimal /dev: a tmpfs with the standard character devices, a private
//! devpts instance (so the container sees only its own ptys), /dev/shm and
//! the usual symlinks.

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

use nix::mount::{mount, MsFlags};
use nix::sys::stat::{makedev, mknod, Mode, SFlag};

use super::{io_step, sys, InitError};

/// (name, major, minor), all mode 0666 as in runc's defaults.
const DEVICES: [(&str, u64, u64); 6] = [
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

const LINKS: [(&str, &str); 5] = [
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
    ("ptmx", "pts/ptmx"),
];

/// Builds /dev at `dev` (the host path of the container's /dev).
pub(super) fn mount_dev(dev: &Path) -> Result<(), InitError> {
    mount(
        Some("tmpfs"),
        dev,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME,
        Some("mode=755,size=65536k"),
    )
    .map_err(sys("mounting tmpfs on /dev"))?;
    for (name, major, minor) in DEVICES {
        let path = dev.join(name);
        mknod(
            &path,
            SFlag::S_IFCHR,
            Mode::from_bits_truncate(0o666),
            makedev(major, minor),
        )
        .map_err(sys(format!("creating /dev/{name}")))?;
        // mknod applied the umask; the devices must be world-usable.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666))
            .map_err(io_step(format!("chmod /dev/{name}")))?;
    }
    let pts = dev.join("pts");
    std::fs::create_dir(&pts).map_err(io_step("creating /dev/pts"))?;
    // newinstance: a devpts of our own, not the host's ptys; ptmxmode lets
    // the (unprivileged) container open pts/ptmx through /dev/ptmx.
    mount(
        Some("devpts"),
        &pts,
        Some("devpts"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620,gid=5"),
    )
    .map_err(sys("mounting devpts on /dev/pts"))?;
    let shm = dev.join("shm");
    std::fs::create_dir(&shm).map_err(io_step("creating /dev/shm"))?;
    mount(
        Some("shm"),
        &shm,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("mode=1777,size=65536k"),
    )
    .map_err(sys("mounting tmpfs on /dev/shm"))?;
    for (name, to) in LINKS {
        symlink(to, dev.join(name)).map_err(io_step(format!("linking /dev/{name}")))?;
    }
    Ok(())
}
