//! Shared fixtures for the runtime's kernel tests: a busybox rootfs, an
//! anonymous network namespace per test, cnmd-style hosts/resolv.conf
//! files, a private state dir, reading an attach stream, and the skip helper.

#![allow(dead_code, clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use cnm_runtime::attach::{AttachStream, Frame};
use cnm_runtime::{Container, ContainerSpec, ExitStatus, Runtime};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{unshare, CloneFlags};

pub const HOSTS: &str = "127.0.0.1\tlocalhost\n10.89.0.5\tweb web.cnm\n";
pub const RESOLV: &str = "nameserver 10.89.0.1\noptions ndots:0\n";

/// An unmet need fails the test: the standard test harness has no runtime skip, so an unmet need fails loudly instead of passing.
pub fn skip(reason: &str) -> bool {
    panic!("cannot run here: {reason}");
}

/// `true` (after printing SKIPPED) when the kernel tests cannot run here.
pub fn cannot_run() -> bool {
    if !nix::unistd::geteuid().is_root() {
        return skip("needs root (namespaces, mounts, cgroups)");
    }
    if !Path::new("/bin/busybox").is_file() {
        return skip("needs a static busybox at /bin/busybox for the test rootfs");
    }
    false
}

/// Whether a cgroup controller is usable (v1 mount, or v2 root offering it).
pub fn has_controller(name: &str) -> bool {
    let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let v1 = mounts.lines().any(|l| {
        l.split_once(" - ").is_some_and(|(_, r)| {
            r.starts_with("cgroup ")
                && r.split(' ')
                    .nth(2)
                    .unwrap_or("")
                    .split(',')
                    .any(|o| o == name)
        })
    });
    let v2 = mounts
        .lines()
        .filter_map(|l| {
            l.split_once(" - ")
                .filter(|(_, r)| r.starts_with("cgroup2 "))
        })
        .filter_map(|(l, _)| l.split(' ').nth(4))
        .any(|m| {
            fs::read_to_string(Path::new(m).join("cgroup.controllers"))
                .unwrap_or_default()
                .split_whitespace()
                .any(|c| c == name)
        });
    v1 || v2
}

/// Builds a busybox rootfs in `dir`: bin/busybox, one symlink per applet,
/// and the usual empty directories.
pub fn build_rootfs(dir: &Path) {
    for d in ["bin", "etc", "proc", "dev", "sys", "tmp", "root"] {
        fs::create_dir_all(dir.join(d)).unwrap();
    }
    // A hard link is enough: the overlay never writes to the lower layer.
    if fs::hard_link("/bin/busybox", dir.join("bin/busybox")).is_err() {
        fs::copy("/bin/busybox", dir.join("bin/busybox")).unwrap();
    }
    let list = Command::new("/bin/busybox").arg("--list").output().unwrap();
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet != "busybox" {
            let _ = symlink("busybox", dir.join("bin").join(applet));
        }
    }
    fs::write(dir.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    fs::write(dir.join("etc/group"), "root:x:0:\n").unwrap();
}

pub fn runtime() -> Runtime {
    Runtime::with_shim(env!("CARGO_BIN_EXE_cnm-shim")).unwrap()
}

pub fn random_id() -> String {
    let bytes = fs::read("/proc/sys/kernel/random/uuid").unwrap();
    let a = String::from_utf8_lossy(&bytes).trim().replace('-', "");
    let bytes = fs::read("/proc/sys/kernel/random/uuid").unwrap();
    let b = String::from_utf8_lossy(&bytes).trim().replace('-', "");
    format!("{a}{b}")
}

/// A test's private world: temp dir, netns file, cnmd's files, state dir.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub netns: PathBuf,
    pub rootfs: PathBuf,
    pub id: String,
}

impl Fixture {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("cnm-rt-test-")
            .tempdir()
            .unwrap();
        let netns = dir.path().join("netns");
        fs::write(&netns, "").unwrap();
        let target = netns.clone();
        // unshare(CLONE_NEWNET) on a throwaway thread, then pin that
        // thread's namespace with a bind mount (what `ip netns add` does).
        std::thread::spawn(move || {
            unshare(CloneFlags::CLONE_NEWNET).unwrap();
            mount(
                Some("/proc/thread-self/ns/net"),
                &target,
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .unwrap();
        })
        .join()
        .unwrap();
        fs::write(dir.path().join("hosts"), HOSTS).unwrap();
        fs::write(dir.path().join("resolv.conf"), RESOLV).unwrap();
        let rootfs = dir.path().join("rootfs");
        build_rootfs(&rootfs);
        Fixture {
            dir,
            netns,
            rootfs,
            id: random_id(),
        }
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn spec(&self, args: &[&str]) -> ContainerSpec {
        spec_at(self.dir.path(), &self.rootfs, &self.id, args)
    }

    /// Starts `spec`, waits (at most 60 s) and returns status and output.
    pub fn run(&self, spec: &ContainerSpec) -> Outcome {
        let container = runtime()
            .start(spec)
            .unwrap_or_else(|e| panic!("start: {e}"));
        let status = container
            .wait(Some(Duration::from_secs(60)))
            .unwrap()
            .expect("exited within 60 s");
        let outcome = Outcome::read(&container, status);
        container.delete(false).unwrap();
        outcome
    }

    /// The cgroup directories the runtime would use for this container.
    pub fn cgroup_dirs(&self) -> Vec<PathBuf> {
        ["memory", "cpu", "pids"]
            .iter()
            .map(|c| PathBuf::from(format!("/sys/fs/cgroup/{c}/cnm/{}", self.id)))
            .chain([
                PathBuf::from(format!("/sys/fs/cgroup/unified/cnm/{}", self.id)),
                PathBuf::from(format!("/sys/fs/cgroup/cnm/{}", self.id)),
            ])
            .collect()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Ok(c) = Container::open(self.state_dir()) {
            let _ = c.delete(true);
        }
        let _ = umount2(&self.netns, MntFlags::MNT_DETACH);
    }
}

/// The spec of a fixture in `dir` (also used by helper processes).
pub fn spec_at(dir: &Path, rootfs: &Path, id: &str, args: &[&str]) -> ContainerSpec {
    ContainerSpec {
        id: id.to_string(),
        name: "test".into(),
        rootfs: rootfs.to_path_buf(),
        args: args.iter().map(|s| s.to_string()).collect(),
        env: Vec::new(),
        cwd: None,
        hostname: "web".into(),
        netns: Some(dir.join("netns")),
        hosts_file: dir.join("hosts"),
        resolv_conf: dir.join("resolv.conf"),
        mounts: Vec::new(),
        limits: Default::default(),
        cap_add: Default::default(),
        cap_drop: Default::default(),
        tty: false,
        stdin: false,
        state_dir: dir.join("state"),
        log: None,
    }
}

/// Reads an attach stream to its end: stdout and stderr as one text, and
/// the exit code if the stream reported one.
pub fn collect_output(stream: &mut AttachStream) -> (String, Option<i32>) {
    let mut out = String::new();
    let mut code = None;
    while let Some(frame) = stream.read_frame().unwrap() {
        match frame {
            Frame::Stdout(b) | Frame::Stderr(b) => out.push_str(&String::from_utf8_lossy(&b)),
            Frame::Exit { code: c, .. } => code = Some(c),
            _ => {}
        }
    }
    (out, code)
}

/// What a finished container left.
pub struct Outcome {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    pub fn read(container: &Container, status: ExitStatus) -> Self {
        let mut stdout = String::new();
        let mut stderr = String::new();
        for entry in container.logs(false).unwrap() {
            let entry = entry.unwrap();
            match entry.stream {
                cnm_runtime::logs::Stream::Stdout => stdout.push_str(&entry.log),
                cnm_runtime::logs::Stream::Stderr => stderr.push_str(&entry.log),
            }
        }
        Outcome {
            status,
            stdout,
            stderr,
        }
    }
}
