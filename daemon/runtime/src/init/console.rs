//! The container's console for `-t`: a pty from the container's own devpts
//! instance (so `tty` inside prints /dev/pts/0 and the name resolves
//! there), made the controlling terminal of PID 1; the master goes to the
//! shim over the start channel, as runc's console socket does.

use std::fs::{File, OpenOptions};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use nix::errno::Errno;

use super::{io_step, mounts, sys, InitError};
use crate::shim::sync::{self, SyncMessage};

/// Opens a pty pair in `merged`/dev/pts, installs the slave as stdio and
/// controlling terminal, bind-mounts it at /dev/console and sends the
/// master to the shim.
pub(super) fn setup(merged: &Path, channel: &OwnedFd) -> Result<(), InitError> {
    let master = open_master(&merged.join("dev/pts/ptmx"))?;
    let slave = open_peer(&master)?;
    nix::unistd::setsid().map_err(sys("starting a session for the console"))?;
    // SAFETY: TIOCSCTTY on a tty fd we own, with no pointer argument.
    Errno::result(unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) })
        .map_err(sys("making the pty the controlling terminal"))?;
    for target in 0..=2 {
        // SAFETY: dup2 of an fd we own onto stdio.
        Errno::result(unsafe { libc::dup2(slave.as_raw_fd(), target) })
            .map_err(sys("installing the pty as stdio"))?;
    }
    let console = merged.join("dev/console");
    File::create(&console).map_err(io_step("creating /dev/console"))?;
    let by_fd = format!("/proc/self/fd/{}", slave.as_raw_fd());
    mounts::bind(Path::new(&by_fd), &console, false)?;
    sync::send(channel, &SyncMessage::PtyMaster(master))
        .map_err(sys("sending the pty master to the shim"))
}

fn open_master(ptmx: &Path) -> Result<OwnedFd, InitError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(ptmx)
        .map_err(io_step(format!("opening {}", ptmx.display())))?;
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads one int from the pointer, which outlives the call.
    Errno::result(unsafe { libc::ioctl(file.as_raw_fd(), libc::TIOCSPTLCK, &unlock) })
        .map_err(sys("unlocking the pty"))?;
    Ok(OwnedFd::from(file))
}

/// The slave of `master` without a path lookup (TIOCGPTPEER, Linux 4.13):
/// the /dev/pts path of the container is not where our paths point yet.
fn open_peer(master: &OwnedFd) -> Result<OwnedFd, InitError> {
    let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC;
    // SAFETY: TIOCGPTPEER takes open flags and returns a new fd.
    let fd = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTPEER, flags) };
    let fd = Errno::result(fd).map_err(sys("opening the pty slave"))?;
    // SAFETY: the ioctl returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
