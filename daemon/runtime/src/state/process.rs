//! Process identities that survive pid reuse: a pid plus its start time in
//! clock ticks since boot (/proc/PID/stat field 22), and pidfds opened only
//! after checking that start time, so a signal never hits a stranger that
//! got a dead container's pid.

use std::fs;
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;
use serde::{Deserialize, Serialize};

/// A pid and the start time that makes it unique.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ProcessId {
    pub(crate) pid: i32,
    pub(crate) start_ticks: u64,
}

/// A process's state letter and start time from /proc/PID/stat.
fn stat(pid: i32) -> io::Result<(char, u64)> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // comm (field 2) may contain spaces and parentheses: parse after the
    // last ')'. The fields that follow start at field 3 (state).
    let after = text
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| io::Error::other("malformed stat"))?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let state = fields.first().and_then(|s| s.chars().next()).unwrap_or('?');
    let start = fields
        .get(19)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other("malformed stat"))?;
    Ok((state, start))
}

impl ProcessId {
    /// The identity of a live process.
    pub(crate) fn of(pid: i32) -> io::Result<Self> {
        Ok(Self {
            pid,
            start_ticks: stat(pid)?.1,
        })
    }

    /// Still the same process, and not a zombie waiting to be reaped.
    pub(crate) fn is_alive(&self) -> bool {
        matches!(stat(self.pid), Ok((state, start)) if start == self.start_ticks && state != 'Z' && state != 'X')
    }
}

/// A pidfd of a process whose identity was checked after opening.
pub(crate) struct PidFd(OwnedFd);

impl PidFd {
    /// `Ok(None)` when the process is gone (or its pid now names another).
    pub(crate) fn open(id: &ProcessId) -> io::Result<Option<Self>> {
        // SAFETY: pidfd_open takes a pid and flags, no pointers.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, id.pid, 0) };
        if fd < 0 {
            let err = io::Error::last_os_error();
            return match err.raw_os_error() {
                Some(libc::ESRCH) => Ok(None),
                _ => Err(err),
            };
        }
        // SAFETY: the syscall returned a new fd that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        // Checked after opening: from here on the fd pins this process.
        match stat(id.pid) {
            Ok((_, start)) if start == id.start_ticks => Ok(Some(Self(fd))),
            _ => Ok(None),
        }
    }

    pub(crate) fn send_signal(&self, signal: Signal) -> Result<(), Errno> {
        // SAFETY: a valid pidfd, a signal number, no siginfo, no flags.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.0.as_raw_fd(),
                signal as libc::c_int,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        match Errno::result(rc) {
            // Already exited but not yet reaped: nothing left to signal.
            Err(Errno::ESRCH) | Ok(_) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Waits until the process exited; `false` on timeout.
    pub(crate) fn wait_exit(&self, timeout: Duration) -> bool {
        let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        let mut fds = [PollFd::new(self.0.as_fd(), PollFlags::POLLIN)];
        loop {
            match poll(
                &mut fds,
                PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
            ) {
                Ok(0) => return false,
                Ok(_) => return true,
                Err(Errno::EINTR) => continue,
                Err(_) => return false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_identity_is_alive_and_a_wrong_start_is_not() {
        let me = ProcessId::of(std::process::id() as i32).expect("self");
        assert!(me.is_alive());
        let stranger = ProcessId {
            start_ticks: me.start_ticks + 1,
            ..me
        };
        assert!(!stranger.is_alive());
        assert!(PidFd::open(&stranger).expect("open").is_none());
        assert!(PidFd::open(&me).expect("open").is_some());
    }
}
