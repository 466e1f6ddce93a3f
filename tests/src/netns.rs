//! Named network namespaces made with `ip netns add`, removed on drop.
//!
//! Every name starts with [`PREFIX`] followed by the pid of the process that
//! owns it (`cnmt-<pid>-<n>[-label]`), so the start-up sweep can tell the
//! leftovers of a crashed run (owner pid gone) from namespaces in use.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::exec::{run, run_ok, CmdOutput};

/// Prefix of every namespace (and temp dir) this harness makes.
pub const PREFIX: &str = "cnmt-";

/// Where `ip netns add` bind-mounts named namespaces.
pub const NETNS_DIR: &str = "/run/netns";

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// A fresh `cnmt-<pid>-<n>` base name, unique within this process.
pub fn unique_base_name() -> String {
    let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    format!("{PREFIX}{}-{n}", std::process::id())
}

/// The pid encoded in a harness-made name (`cnmt-<pid>-…`), if it is one.
pub fn owner_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(PREFIX)?;
    let (pid, tail) = rest.split_once('-')?;
    if tail.is_empty() {
        return None;
    }
    pid.parse().ok()
}

/// A named network namespace; deleted (`ip netns del`) on drop.
#[derive(Debug)]
pub struct NetNs {
    name: String,
    deleted: bool,
}

impl NetNs {
    /// Creates namespace `name` and brings its loopback up.
    pub fn create(name: &str) -> NetNs {
        let ns = Self::create_bare(name);
        ns.ip_ok(&["link", "set", "lo", "up"]);
        ns
    }

    /// Creates namespace `name` and leaves it as the kernel makes it
    /// (loopback down).
    pub fn create_bare(name: &str) -> NetNs {
        run_ok(Command::new("ip").args(["netns", "add", name]));
        NetNs {
            name: name.to_string(),
            deleted: false,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `/run/netns/NAME`.
    pub fn path(&self) -> PathBuf {
        PathBuf::from(NETNS_DIR).join(&self.name)
    }

    /// `/run/netns/NAME` as a string, for command lines.
    pub fn path_str(&self) -> String {
        self.path().to_string_lossy().into_owned()
    }

    /// Runs `ip -n NAME ARGS…`.
    pub fn ip(&self, args: &[&str]) -> CmdOutput {
        run(Command::new("ip").arg("-n").arg(&self.name).args(args))
    }

    /// Runs `ip -n NAME ARGS…` and returns stdout; panics on failure.
    pub fn ip_ok(&self, args: &[&str]) -> String {
        run_ok(Command::new("ip").arg("-n").arg(&self.name).args(args))
    }

    /// Adds veth `name` here with its peer `peer_name` in `peer`; panics on
    /// failure.
    pub fn add_veth(&self, name: &str, peer: &NetNs, peer_name: &str) {
        self.ip_ok(&[
            "link",
            "add",
            name,
            "type",
            "veth",
            "peer",
            "name",
            peer_name,
            "netns",
            peer.name(),
        ]);
    }

    /// A command that runs `argv` inside this namespace (`nsenter --net=…`).
    pub fn command(&self, argv: &[&str]) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net={}", self.path_str()))
            .arg("--")
            .args(argv);
        cmd
    }

    /// Runs `argv` inside this namespace.
    pub fn exec(&self, argv: &[&str]) -> CmdOutput {
        run(&mut self.command(argv))
    }

    /// Deletes the namespace now (as a container runtime would when a
    /// container dies); drop then does nothing.
    pub fn delete(&mut self) {
        if !self.deleted {
            self.deleted = true;
            delete_named(&self.name);
        }
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        self.delete();
    }
}

/// `ip netns del NAME`, ignoring "does not exist"; reports other failures
/// on stderr since it runs from drop.
pub fn delete_named(name: &str) {
    let out = run(Command::new("ip").args(["netns", "del", name]));
    if !out.success() && !out.stderr.contains("No such file") {
        eprintln!("cnm-tests: cannot delete netns {name}: {out}");
    }
}

/// Names of all namespaces under /run/netns.
pub fn list_named() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(NETNS_DIR) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_pid_parses_harness_names_only() {
        assert_eq!(owner_pid("cnmt-123-4"), Some(123));
        assert_eq!(owner_pid("cnmt-123-4-c1"), Some(123));
        assert_eq!(owner_pid("cnmt-123"), None);
        assert_eq!(owner_pid("cnmt-123-"), None);
        assert_eq!(owner_pid("cnmt-x-1"), None);
        assert_eq!(owner_pid("other-123-4"), None);
    }

    #[test]
    fn unique_names_carry_our_pid() {
        let a = unique_base_name();
        let b = unique_base_name();
        assert_ne!(a, b);
        assert_eq!(owner_pid(&a), Some(std::process::id()));
    }
}
