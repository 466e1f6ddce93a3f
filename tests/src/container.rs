//! A "container": a further network namespace that tests connect to cnmd
//! networks, plus helpers to look inside it and to reach it by other paths.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::exec::{run, run_ok, CmdOutput};
use crate::kernel;
use crate::netns::NetNs;

/// A container namespace (`cnmt-<pid>-<n>-<label>`); deleted on drop.
#[derive(Debug)]
pub struct Container {
    ns: NetNs,
    label: String,
}

impl Container {
    pub(crate) fn new(ns: NetNs, label: &str) -> Container {
        Container {
            ns,
            label: label.to_string(),
        }
    }

    /// The label given at creation (`c1`).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The netns name (`cnmt-<pid>-<n>-c1`), the default sandbox name.
    pub fn name(&self) -> &str {
        self.ns.name()
    }

    /// `/run/netns/NAME`.
    pub fn path(&self) -> PathBuf {
        self.ns.path()
    }

    /// `/run/netns/NAME` as a string.
    pub fn path_str(&self) -> String {
        self.ns.path_str()
    }

    pub fn ns(&self) -> &NetNs {
        &self.ns
    }

    /// Runs `argv` inside the container.
    pub fn exec(&self, argv: &[&str]) -> CmdOutput {
        self.ns.exec(argv)
    }

    /// Runs `ip -n NAME ARGS…`.
    pub fn ip(&self, args: &[&str]) -> CmdOutput {
        self.ns.ip(args)
    }

    /// `busybox ping -c1 -W2 ADDR` from inside the container.
    pub fn ping(&self, addr: &str) -> CmdOutput {
        self.exec(&["busybox", "ping", "-c1", "-W2", addr])
    }

    /// IPv4 addresses (with prefix) on `dev` inside the container.
    pub fn ipv4_addrs(&self, dev: &str) -> Vec<String> {
        kernel::ipv4_addrs(&self.ns, dev)
    }

    /// The link `dev` inside the container, if present.
    pub fn link(&self, dev: &str) -> Option<kernel::Link> {
        kernel::link(&self.ns, dev)
    }

    /// Deletes the namespace now, as a runtime does when a container dies.
    pub fn delete(&mut self) {
        self.ns.delete();
    }

    /// Starts `sleep` inside the container, so `/proc/PID/ns/net` is a
    /// second path to the same namespace.
    pub fn spawn_sleeper(&self) -> Sleeper {
        let child = self
            .ns
            .command(&["sleep", "600"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sleeper in container netns");
        let sleeper = Sleeper { child };
        // nsenter has to exec sleep before /proc/PID/ns/net is the container's.
        let target = std::fs::metadata(self.path()).expect("stat netns");
        crate::exec::eventually(std::time::Duration::from_secs(5), || {
            same_file(&sleeper.ns_path(), &target)
                .then_some(())
                .ok_or_else(|| "sleeper not in the container netns yet".to_string())
        })
        .unwrap_or_else(|e| panic!("{e}"));
        sleeper
    }

    /// Bind-mounts the namespace file at `at` (another path to the same
    /// namespace); unmounted when the guard drops.
    pub fn bind_alias(&self, at: &Path) -> BindMount {
        std::fs::File::create(at).unwrap_or_else(|e| panic!("create {}: {e}", at.display()));
        run_ok(Command::new("mount").arg("--bind").arg(self.path()).arg(at));
        BindMount {
            path: at.to_path_buf(),
        }
    }
}

fn same_file(path: &Path, target: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).is_ok_and(|m| m.dev() == target.dev() && m.ino() == target.ino())
}

/// A process sleeping inside a container namespace; killed on drop.
#[derive(Debug)]
pub struct Sleeper {
    child: Child,
}

impl Sleeper {
    /// `/proc/PID/ns/net` of the sleeping process.
    pub fn ns_path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/ns/net", self.child.id()))
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A bind mount of a namespace file; unmounted and removed on drop.
#[derive(Debug)]
pub struct BindMount {
    path: PathBuf,
}

impl BindMount {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for BindMount {
    fn drop(&mut self) {
        let _ = run(Command::new("umount").arg("-l").arg(&self.path));
        let _ = std::fs::remove_file(&self.path);
    }
}
