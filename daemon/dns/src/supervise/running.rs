//! Finding and stopping a running resolver by its pid file, checking via
//! /proc that the pid really is a live cnm-dns (pids are reused).

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::{SuperviseError, RESOLVER_BINARY_NAME};

/// The pid in `pid_file` if that process is a live cnm-dns.
pub fn find_running(pid_file: &Path) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(pid_file)
        .ok()?
        .trim()
        .parse()
        .ok()?;
    is_resolver(pid).then_some(pid)
}

/// True if the process runs a binary other than the one at `binary` now
/// (cnm was upgraded): different inode, or the old file was deleted.
pub fn is_outdated(pid: u32, binary: &Path) -> bool {
    let (Ok(running), Ok(on_disk)) = (
        std::fs::metadata(format!("/proc/{pid}/exe")),
        std::fs::metadata(binary),
    ) else {
        return false;
    };
    (running.dev(), running.ino()) != (on_disk.dev(), on_disk.ino())
}

/// Sends SIGTERM and waits up to `timeout` for the resolver to drain and
/// exit, then SIGKILLs it. A pid that is not a resolver is left alone.
pub fn terminate(pid: u32, timeout: Duration) -> Result<(), SuperviseError> {
    if !is_resolver(pid) {
        return Ok(());
    }
    signal(pid, Signal::SIGTERM)?;
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if !is_alive(pid) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    tracing::warn!(pid, "resolver did not exit after SIGTERM, killing it");
    signal(pid, Signal::SIGKILL)
}

fn signal(pid: u32, sig: Signal) -> Result<(), SuperviseError> {
    let raw = i32::try_from(pid).map_err(|_| SuperviseError::Signal {
        pid,
        source: Errno::EINVAL,
    })?;
    match kill(Pid::from_raw(raw), sig) {
        Ok(()) | Err(Errno::ESRCH) => Ok(()),
        Err(source) => Err(SuperviseError::Signal { pid, source }),
    }
}

/// Alive and not a zombie.
fn is_alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // the state follows the parenthesized command name, which may hold spaces
    let state = stat
        .rsplit_once(") ")
        .and_then(|(_, rest)| rest.chars().next());
    !matches!(state, None | Some('Z' | 'X'))
}

fn is_resolver(pid: u32) -> bool {
    if !is_alive(pid) {
        return false;
    }
    if let Ok(exe) = std::fs::read_link(format!("/proc/{pid}/exe")) {
        let name = exe
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        // an upgraded binary shows as "cnm-dns (deleted)"
        return name.trim_end_matches(" (deleted)") == RESOLVER_BINARY_NAME;
    }
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let argv0 = cmdline.split(|&b| b == 0).next().unwrap_or_default();
    Path::new(std::str::from_utf8(argv0).unwrap_or_default()).file_name()
        == Some(RESOLVER_BINARY_NAME.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pid_file_of_another_program_is_not_a_resolver() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        std::fs::write(&pid_file, std::process::id().to_string()).unwrap();
        assert_eq!(
            find_running(&pid_file),
            None,
            "the test binary is not cnm-dns"
        );
        std::fs::write(&pid_file, "garbage").unwrap();
        assert_eq!(find_running(&pid_file), None);
        assert_eq!(find_running(&dir.path().join("missing")), None);
        assert!(is_alive(std::process::id()));
    }
}
