//! Kernel tests of cgroup limits: memory (OOM kill, exit 137), pids (a
//! fork bomb hits pids.max and the container survives), cpu quota, and
//! removal of the cgroups on delete.

#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::time::Duration;

use cnm_runtime::Limits;
use common::{cannot_run, has_controller, skip, Fixture};

#[test]
fn memory_hog_is_oom_killed() {
    if cannot_run() || (!has_controller("memory") && skip("no memory cgroup controller")) {
        return;
    }
    let f = Fixture::new();
    let mut spec = f.spec(&["sh", "-c", "x=a; while true; do x=$x$x; done"]);
    spec.limits = Limits {
        memory: Some("32m".parse().unwrap()),
        ..Limits::default()
    };
    let out = f.run(&spec);
    assert_eq!(out.status.code, 137, "{}", out.stderr);
    assert!(out.status.oom_killed);
}

#[test]
fn tmpfs_hog_is_oom_killed() {
    if cannot_run() || (!has_controller("memory") && skip("no memory cgroup controller")) {
        return;
    }
    let f = Fixture::new();
    let mut spec = f.spec(&["dd", "if=/dev/zero", "of=/dev/shm/x", "bs=1M", "count=60"]);
    spec.limits.memory = Some("32m".parse().unwrap());
    let out = f.run(&spec);
    assert_eq!(out.status.code, 137, "{}", out.stderr);
    assert!(out.status.oom_killed);
}

#[test]
fn fork_bomb_hits_pids_limit() {
    if cannot_run() || (!has_controller("pids") && skip("no pids cgroup controller")) {
        return;
    }
    let f = Fixture::new();
    // The bomb runs in a subshell: busybox sh gives up when fork fails,
    // and PID 1 (the outer shell) must outlive it.
    let script = "(for i in $(seq 1 30); do sleep 5 & done); echo survived; exit 0";
    let mut spec = f.spec(&["sh", "-c", script]);
    spec.limits.pids = Some("10".parse().unwrap());
    let out = f.run(&spec);
    assert!(out.stderr.contains("can't fork"), "{}", out.stderr);
    assert_eq!(out.stdout, "survived\n", "{}", out.stderr);
    assert_eq!(out.status.code, 0);
}

#[test]
fn limits_are_written_and_cgroups_removed() {
    if cannot_run() {
        return;
    }
    let f = Fixture::new();
    let mut spec = f.spec(&["sh", "-c", "while :; do :; done"]);
    spec.limits = Limits {
        memory: Some("64m".parse().unwrap()),
        cpus: Some("0.5".parse().unwrap()),
        pids: Some("50".parse().unwrap()),
    };
    let container = common::runtime().start(&spec).unwrap();
    let v1 = |c: &str, file: &str| {
        fs::read_to_string(format!("/sys/fs/cgroup/{c}/cnm/{}/{file}", f.id))
            .map(|s| s.trim().to_string())
    };
    if has_controller("memory") && v1("memory", "memory.limit_in_bytes").is_ok() {
        assert_eq!(v1("memory", "memory.limit_in_bytes").unwrap(), "67108864");
        assert_eq!(
            v1("memory", "memory.memsw.limit_in_bytes").unwrap(),
            "67108864"
        );
        assert_eq!(v1("cpu", "cpu.cfs_quota_us").unwrap(), "50000");
        assert_eq!(v1("cpu", "cpu.cfs_period_us").unwrap(), "100000");
        assert_eq!(v1("pids", "pids.max").unwrap(), "50");
        let procs = v1("pids", "cgroup.procs").unwrap();
        assert_eq!(procs, container.pid().to_string());
        // A busy loop at 0.5 CPU is throttled within a second.
        std::thread::sleep(Duration::from_millis(1200));
        let stat = v1("cpu", "cpu.stat").unwrap();
        let throttled: u64 = stat
            .lines()
            .find_map(|l| l.strip_prefix("nr_throttled "))
            .unwrap()
            .parse()
            .unwrap();
        assert!(throttled > 0, "{stat}");
    } else {
        skip("v1 cgroup file checks (this host manages memory/cpu/pids on cgroup v2)");
    }
    container.stop(Duration::from_secs(1)).unwrap();
    container.delete(false).unwrap();
    for dir in f.cgroup_dirs() {
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
}
