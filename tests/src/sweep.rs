//! Start-up sweep: removes what crashed earlier runs of this harness left
//! behind — namespaces, processes inside them, bind mounts and temp dirs
//! named `cnmt-<pid>-…` whose owner pid is gone. Nothing else is touched.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::exec::run;
use crate::netns::{self, owner_pid, NETNS_DIR, PREFIX};

/// Name of the marker file that keeps a temp dir out of the sweep
/// (written when `CNM_TEST_KEEP=1` asked to keep it).
pub const KEEP_MARKER: &str = "KEEP";

/// What one sweep removed, for messages and the self-test.
#[derive(Debug, Default)]
pub struct SweepReport {
    pub namespaces: Vec<String>,
    pub processes: Vec<i32>,
    pub dirs: Vec<PathBuf>,
}

/// True while a process with this pid exists and is not a zombie (a killed
/// run whose parent has not reaped it yet is dead for our purposes).
pub fn pid_alive(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    if matches!(kill(Pid::from_raw(raw), None), Err(Errno::ESRCH)) {
        return false;
    }
    // /proc/PID/stat: "pid (comm) STATE …"; comm may contain spaces or ')'.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, Some('Z' | 'X'))
}

/// Removes the leftovers of every dead owner. Safe to run concurrently from
/// several test processes: live owners are never touched.
pub fn sweep_dead_owners() -> SweepReport {
    let mut report = SweepReport::default();
    for name in netns::list_named() {
        if owner_pid(&name).is_none_or(pid_alive) {
            continue;
        }
        let path = Path::new(NETNS_DIR).join(&name);
        if being_made(&path) {
            continue;
        }
        report.processes.extend(kill_processes_in(&path));
        netns::delete_named(&name);
        report.namespaces.push(name);
    }
    for dir in dead_temp_dirs() {
        unmount_under(&dir);
        if std::fs::remove_dir_all(&dir).is_ok() {
            report.dirs.push(dir);
        }
    }
    if !report.namespaces.is_empty() || !report.dirs.is_empty() {
        eprintln!("cnm-tests: swept leftovers of crashed runs: {report:?}");
    }
    report
}

/// A file under /run/netns only becomes a namespace when something is
/// bind-mounted over it; until then it is an empty file. A fresh one is
/// someone's namespace half made (`ip netns add`, or the self-test faking
/// a dead owner's leftovers), so the sweep leaves it for a later run:
/// reading it now would find no processes to kill, and deleting it would
/// race the mount that is about to land on it. An old one is a crash's
/// leftover and goes.
fn being_made(path: &Path) -> bool {
    const GRACE: std::time::Duration = std::time::Duration::from_secs(60);
    let (Ok(file), Ok(own)) = (
        std::fs::metadata(path),
        std::fs::metadata("/proc/self/ns/net"),
    ) else {
        return false;
    };
    let is_namespace = file.dev() == own.dev();
    let age = file.modified().ok().and_then(|m| m.elapsed().ok());
    !is_namespace && age.is_some_and(|age| age < GRACE)
}

/// SIGKILLs every process whose network namespace is the one bind-mounted
/// at `ns_path`; returns their pids.
pub fn kill_processes_in(ns_path: &Path) -> Vec<i32> {
    let Ok(target) = std::fs::metadata(ns_path) else {
        return Vec::new();
    };
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut killed = Vec::new();
    for entry in procs.filter_map(|e| e.ok()) {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(ns) = std::fs::metadata(entry.path().join("ns/net")) else {
            continue;
        };
        if ns.dev() == target.dev() && ns.ino() == target.ino() {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            killed.push(pid);
        }
    }
    killed
}

/// Temp dirs `cnmt-<pid>-…` of dead owners, except those marked to keep.
fn dead_temp_dirs() -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with(PREFIX) && owner_pid(&name).is_some_and(|pid| !pid_alive(pid))
        })
        .map(|e| e.path())
        .filter(|p| p.is_dir() && !p.join(KEEP_MARKER).exists())
        .collect()
}

/// Lazily unmounts every mount point at or below `dir` (bind mounts of
/// namespaces made by tests), deepest first.
pub fn unmount_under(dir: &Path) {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return;
    };
    let mut points: Vec<&str> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|p| Path::new(p).starts_with(dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for point in points {
        let _ = run(Command::new("umount").args(["-l", point]));
    }
}
