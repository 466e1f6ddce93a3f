//! Kernel tests of the container lifecycle: stop timing, exec, surviving
//! the caller, exits nobody watched, bad input, delete, attach and tty,
//! and the shim's footprint.

#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cnm_runtime::{
    CapSet, Container, ContainerState, ExecSpec, MemoryBytes, RuntimeError, SpecError,
};
use common::{cannot_run, collect_output, runtime, Fixture};

#[test]
fn stop_kills_after_the_timeout_when_term_is_ignored() {
    if cannot_run() {
        return;
    }
    let f = Fixture::new();
    let container = runtime()
        .start(&f.spec(&["sh", "-c", "trap '' TERM; sleep 100"]))
        .unwrap();
    let began = Instant::now();
    let status = container.stop(Duration::from_secs(2)).unwrap();
    let took = began.elapsed();
    assert_eq!(status.code, 137);
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(5),
        "{took:?}"
    );
    container.delete(false).unwrap();
}

#[test]
fn stop_is_quick_when_term_is_handled() {
    if cannot_run() {
        return;
    }
    let f = Fixture::new();
    let script = "trap 'exit 0' TERM; while true; do sleep 0.1; done";
    let container = runtime().start(&f.spec(&["sh", "-c", script])).unwrap();
    let began = Instant::now();
    let status = container.stop(Duration::from_secs(10)).unwrap();
    assert_eq!(status.code, 0);
    assert!(
        began.elapsed() < Duration::from_secs(3),
        "{:?}",
        began.elapsed()
    );
    container.delete(false).unwrap();
}

#[test]
fn exec_joins_the_container() {
    if cannot_run() {
        return;
    }
    let f = Fixture::new();
    let rt = runtime();
    let container = rt.start(&f.spec(&["sleep", "100"])).unwrap();
    let exec = |args: &[&str]| {
        let spec = ExecSpec {
            args: args.iter().map(|s| s.to_string()).collect(),
            env: vec!["EXTRA=1".into()],
            ..ExecSpec::default()
        };
        rt.exec_command(&container, &spec)
            .unwrap()
            .output()
            .unwrap()
    };
    let script = "hostname; tr '\\0' ' ' < /proc/1/cmdline; echo; echo $$ $EXTRA $HOSTNAME; grep CapEff /proc/self/status; ls /sys/class/net";
    let out = exec(&["sh", "-c", script]);
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "web",
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        lines[1].trim(),
        "sleep 100",
        "same pid namespace: PID 1 is the container's"
    );
    let fields: Vec<&str> = lines[2].split(' ').collect();
    assert_ne!(fields[0], "1");
    assert_eq!(&fields[1..], ["1", "web"]);
    assert_eq!(lines[3], "CapEff:\t00000000800405fb");
    assert_eq!(lines[4], "lo");
    assert_eq!(exec(&["sh", "-c", "exit 5"]).status.code(), Some(5));
    let missing = exec(&["nosuchcmd"]);
    assert_eq!(missing.status.code(), Some(127));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("command not found in rootfs: nosuchcmd")
    );
    let tty = ExecSpec {
        args: vec!["sh".into(), "-c".into(), "tty; stty size".into()],
        tty: true,
        tty_size: Some((40, 120)),
        ..ExecSpec::default()
    };
    let out = rt
        .exec_command(&container, &tty)
        .unwrap()
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("/dev/pts/") && text.contains("40 120"),
        "{text:?}"
    );
    assert_eq!(out.status.code(), Some(0));
    // A detached exec lives in the container's cgroup next to PID 1.
    let spec = ExecSpec {
        args: vec!["sleep".into(), "30".into()],
        detach: true,
        ..ExecSpec::default()
    };
    assert!(rt
        .exec_command(&container, &spec)
        .unwrap()
        .status()
        .unwrap()
        .success());
    let procs = fs::read_to_string(format!("/sys/fs/cgroup/pids/cnm/{}/cgroup.procs", f.id))
        .or_else(|_| fs::read_to_string(format!("/sys/fs/cgroup/cnm/{}/cgroup.procs", f.id)))
        .unwrap();
    assert_eq!(procs.lines().count(), 2, "{procs}");
    container.stop(Duration::from_secs(1)).unwrap();
    container.delete(false).unwrap();
    assert!(rt
        .exec_command(
            &container,
            &ExecSpec {
                args: vec!["true".into()],
                ..ExecSpec::default()
            }
        )
        .is_err());
}

/// Runs in a child process of the test binary: starts a container from
/// the fixture named in the environment, then the process exits.
#[test]
#[ignore = "helper for the tests below, run in its own process"]
fn helper_start_and_exit() {
    let Ok(dir) = std::env::var("CNM_RT_HELPER_DIR") else {
        return;
    };
    let rootfs = std::env::var("CNM_RT_HELPER_ROOTFS").unwrap();
    let id = std::env::var("CNM_RT_HELPER_ID").unwrap();
    let args = std::env::var("CNM_RT_HELPER_ARGS").unwrap();
    let args: Vec<&str> = args.split('\u{1f}').collect();
    let spec = common::spec_at(Path::new(&dir), Path::new(&rootfs), &id, &args);
    let container = runtime().start(&spec).unwrap();
    println!("shim={}", container.shim_pid());
}

/// Starts `args` from a separate process that exits right after.
fn start_from_helper(f: &Fixture, args: &[&str]) -> u32 {
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "helper_start_and_exit",
            "--nocapture",
        ])
        .env("CNM_RT_HELPER_DIR", f.dir.path())
        .env("CNM_RT_HELPER_ROOTFS", &f.rootfs)
        .env("CNM_RT_HELPER_ID", &f.id)
        .env("CNM_RT_HELPER_ARGS", args.join("\u{1f}"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let helper_pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    helper_pid
}

#[test]
fn container_outlives_the_process_that_started_it() {
    if cannot_run() {
        return;
    }
    let f = Fixture::new();
    let helper = start_from_helper(&f, &["sleep", "100"]);
    // The helper is gone; another process re-attaches by state dir.
    let container = Container::open(f.state_dir()).unwrap();
    assert!(matches!(
        container.state().unwrap(),
        ContainerState::Running { .. }
    ));
    let status = fs::read_to_string(format!("/proc/{}/status", container.shim_pid())).unwrap();
    let ppid = status
        .lines()
        .find_map(|l| l.strip_prefix("PPid:\t"))
        .unwrap();
    assert_ne!(
        ppid,
        helper.to_string(),
        "the shim was adopted, not left with the helper"
    );
    let status = container.stop(Duration::from_secs(1)).unwrap();
    assert_eq!(status.code, 137);
    container.delete(false).unwrap();
}

#[test]
fn an_exit_nobody_watched_keeps_its_code() {
    if cannot_run() {
        return;
    }
    let f = Fixture::new();
    start_from_helper(&f, &["sh", "-c", "sleep 1; exit 7"]);
    std::thread::sleep(Duration::from_millis(2500));
    let container = Container::open(f.state_dir()).unwrap();
    match container.state().unwrap() {
        ContainerState::Exited(status) => assert_eq!(status.code, 7),
        other => panic!("{other:?}"),
    }
    container.delete(false).unwrap();
}

/// No state dir, no cgroup, no shim process mentioning the state dir.
fn assert_nothing_left(f: &Fixture) {
    assert!(!f.state_dir().exists(), "state dir left behind");
    for dir in f.cgroup_dirs() {
        assert!(!dir.exists(), "cgroup {} left behind", dir.display());
    }
    let needle = f.state_dir().display().to_string();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let cmdline = fs::read(entry.path().join("cmdline")).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&cmdline).contains(&needle),
            "process {:?} left behind",
            entry.file_name()
        );
    }
}

#[test]
fn bad_input_is_refused_and_leaves_nothing() {
    if cannot_run() {
        return;
    }
    let f = Fixture::new();
    let rt = runtime();
    let err = |spec: &cnm_runtime::ContainerSpec| rt.start(spec).unwrap_err().to_string();

    let mut spec = f.spec(&["true"]);
    spec.rootfs = f.dir.path().join("nope");
    assert!(err(&spec).contains("is not a directory"), "{}", err(&spec));
    assert_eq!(err(&f.spec(&["foo"])), "command not found in rootfs: foo");
    let mut spec = f.spec(&["true"]);
    spec.netns = Some(f.dir.path().join("no-netns"));
    assert!(err(&spec).contains("network namespace"), "{}", err(&spec));
    let mut spec = f.spec(&["true"]);
    spec.mounts = vec![format!("{}/absent:/x", f.dir.path().display())
        .parse()
        .unwrap()];
    assert!(err(&spec).contains("volume source"), "{}", err(&spec));
    let mut spec = f.spec(&["true"]);
    spec.id = "short".into();
    assert!(err(&spec).contains("64 lowercase hex"));
    assert_nothing_left(&f);

    // Values that do not parse never become a spec; the errors name them.
    assert_eq!(
        "12x".parse::<MemoryBytes>().unwrap_err().to_string(),
        "memory limit `12x`: unknown unit (use b, k, m or g)"
    );
    assert!(matches!(
        "abc".parse::<cnm_runtime::Cpus>(),
        Err(SpecError::BadCpus { .. })
    ));
    let cap = CapSet::parse_names(["NET_FOO"]).unwrap_err().to_string();
    assert!(cap.contains("unknown capability `NET_FOO`"), "{cap}");

    // Failing late, inside the shim (exec of a file that is no program):
    // cgroups, socket and init process must all be undone.
    let f2 = Fixture::new();
    let rootfs = f2.rootfs.clone();
    fs::write(rootfs.join("bin/broken"), b"\x01\x02 not a program").unwrap();
    fs::set_permissions(
        rootfs.join("bin/broken"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let mut spec = f2.spec(&["broken"]);
    spec.limits.pids = Some("10".parse().unwrap());
    match rt.start(&spec) {
        Err(RuntimeError::Start { message, .. }) => {
            assert!(message.contains("Exec format error"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert_nothing_left(&f2);
}

#[test]
fn delete_refuses_running_and_force_kills() {
    if cannot_run() {
        return;
    }
    let f = Fixture::new();
    let container = runtime().start(&f.spec(&["sleep", "100"])).unwrap();
    assert!(matches!(
        container.delete(false),
        Err(RuntimeError::StillRunning { .. })
    ));
    container.delete(true).unwrap();
    assert_nothing_left(&f);
    // Idempotent on what is left (nothing).
    assert!(Container::open(f.state_dir()).is_err());
}

#[test]
fn attach_carries_stdin_and_output() {
    if cannot_run() {
        return;
    }
    let f = Fixture::new();
    let mut spec = f.spec(&["sh", "-c", "echo before; cat; echo after >&2"]);
    spec.stdin = true;
    let container = runtime().start(&spec).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let mut stream = container.attach(true).unwrap();
    let mut writer = stream.writer().unwrap();
    writer.send_stdin(b"hello\n").unwrap();
    writer.close_stdin().unwrap();
    let (out, code) = collect_output(&mut stream);
    assert_eq!(out, "before\nhello\nafter\n");
    assert_eq!(code, Some(0));
    container.delete(false).unwrap();
}

#[test]
fn attach_after_a_fast_exit_replays_the_log() {
    if cannot_run() {
        return;
    }
    let f = Fixture::new();
    let container = runtime()
        .start(&f.spec(&["sh", "-c", "echo fast; exit 4"]))
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let (out, code) = collect_output(&mut container.attach(true).unwrap());
    assert_eq!(out, "fast\n");
    assert_eq!(code, Some(4));
    assert!(
        container.attach(false).is_err(),
        "live-only attach to an exited container"
    );
    container.delete(false).unwrap();
}

#[test]
fn tty_gets_a_pty_and_resizes() {
    if cannot_run() {
        return;
    }
    let f = Fixture::new();
    let mut spec = f.spec(&[
        "sh",
        "-c",
        "read line; tty; stty size; ls -l /dev/console | wc -l",
    ]);
    spec.tty = true;
    spec.stdin = true;
    let container = runtime().start(&spec).unwrap();
    let mut stream = container.attach(true).unwrap();
    assert!(stream.tty());
    let mut writer = stream.writer().unwrap();
    writer.resize(30, 100).unwrap();
    writer.send_stdin(b"go\n").unwrap();
    let (out, code) = collect_output(&mut stream);
    assert!(out.contains("/dev/pts/0"), "{out:?}");
    assert!(out.contains("30 100"), "{out:?}");
    assert_eq!(code, Some(0));
    container.delete(false).unwrap();
}

#[test]
fn logs_follow_until_exit() {
    if cannot_run() {
        return;
    }
    let f = Fixture::new();
    let container = runtime()
        .start(&f.spec(&["sh", "-c", "echo a; sleep 1; echo b"]))
        .unwrap();
    let lines: Vec<String> = container
        .logs(true)
        .unwrap()
        .map(|e| e.unwrap().log)
        .collect();
    assert_eq!(lines, ["a\n", "b\n"]);
    container.delete(false).unwrap();
}

#[test]
fn shim_stays_small() {
    if cannot_run() {
        return;
    }
    let f = Fixture::new();
    let container = runtime().start(&f.spec(&["sleep", "100"])).unwrap();
    let status = fs::read_to_string(format!("/proc/{}/status", container.shim_pid())).unwrap();
    let rss_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
        .unwrap();
    println!("cnm-shim VmRSS: {rss_kib} KiB");
    let rollup = fs::read_to_string(format!("/proc/{}/smaps_rollup", container.shim_pid()))
        .unwrap_or_default();
    for key in ["Rss:", "Anonymous:", "Private_Clean:", "Shared_Clean:"] {
        if let Some(line) = rollup.lines().find(|l| l.starts_with(key)) {
            println!("cnm-shim {line}");
        }
    }
    let threads = status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:\t"))
        .unwrap();
    assert_eq!(threads, "1", "the shim is single-threaded");
    // Debug builds carry unoptimized code; release stays well under 2 MiB.
    assert!(rss_kib < 4096, "cnm-shim uses {rss_kib} KiB");
    container.delete(true).unwrap();
}
