//! What a test needs from the machine, checked before it runs. An unmet
//! need marks the test ignored (reported as skipped, with the reason on
//! stderr); it never lets the test pass without running.

use std::path::{Path, PathBuf};

/// A precondition of a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Root with CAP_SYS_ADMIN and CAP_NET_ADMIN (netns, links, mounts).
    Root,
    /// A program on PATH.
    Tool(&'static str),
    /// A kernel with IPv6 enabled.
    Ipv6,
    /// The test VM: qemu with TCG, busybox and the kernel from
    /// `dev/vm-kernel` (see [`crate::vm`]). Root is not needed.
    Vm,
    /// An executable outside PATH (a CNI plugin in /usr/lib/cni).
    File(&'static str),
}

/// A need list: the four of [`KERNEL`] (root, `ip`, `nsenter`, `mount`)
/// followed by `extra`, checked in that order.
#[macro_export]
macro_rules! kernel_and {
    ($($extra:expr),* $(,)?) => {
        &[
            $crate::Need::Root,
            $crate::Need::Tool("ip"),
            $crate::Need::Tool("nsenter"),
            $crate::Need::Tool("mount"),
            $($extra),*
        ]
    };
}

/// Needs of every test that makes namespaces and runs cnmd.
pub const KERNEL: &[Need] = kernel_and![];

/// [`KERNEL`] plus IPv6.
pub const KERNEL_IPV6: &[Need] = kernel_and![Need::Ipv6];

/// [`KERNEL`] plus busybox (for `busybox ping`).
pub const KERNEL_PING: &[Need] = kernel_and![Need::Tool("busybox")];

/// [`KERNEL`] plus `nft`, which cnmd runs to install table `inet cnm` and
/// tests run to inspect and disturb it.
pub const FIREWALL: &[Need] = kernel_and![Need::Tool("nft")];

/// [`FIREWALL`] plus IPv6.
pub const FIREWALL_IPV6: &[Need] = kernel_and![Need::Tool("nft"), Need::Ipv6];

/// [`FIREWALL`] plus busybox (for `busybox ping`).
pub const FIREWALL_PING: &[Need] = kernel_and![Need::Tool("nft"), Need::Tool("busybox")];

impl Need {
    /// `None` when met, else why not.
    pub fn unmet(self) -> Option<String> {
        match self {
            Need::Root => root_unmet(),
            Need::Ipv6 => (!Path::new("/proc/sys/net/ipv6").exists())
                .then(|| "kernel without IPv6 (no /proc/sys/net/ipv6)".to_string()),
            Need::Tool(tool) => {
                (!on_path(tool)).then(|| format!("`{tool}` is not installed (not on PATH)"))
            }
            Need::Vm => crate::vm::unmet(),
            Need::File(path) => (!Path::new(path).is_file())
                .then(|| format!("{path} is not installed (see dev/deps)")),
        }
    }
}

/// The first unmet need of `needs`, as a reason to print.
pub fn first_unmet(needs: &[Need]) -> Option<String> {
    needs.iter().find_map(|n| n.unmet())
}

/// True when `tool` is an executable file in some PATH directory.
pub fn on_path(tool: &str) -> bool {
    which(tool).is_some()
}

/// The first executable file named `tool` in the PATH directories.
pub fn which(tool: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|file| {
            std::fs::metadata(file)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

const CAP_NET_ADMIN: u32 = 12;
const CAP_SYS_ADMIN: u32 = 21;

fn root_unmet() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("not running as root".into());
    }
    let caps = effective_caps()?;
    for (bit, name) in [
        (CAP_NET_ADMIN, "CAP_NET_ADMIN"),
        (CAP_SYS_ADMIN, "CAP_SYS_ADMIN"),
    ] {
        if caps & (1 << bit) == 0 {
            return Some(format!("root but without {name}"));
        }
    }
    if !Path::new("/proc/self/ns/net").exists() {
        return Some("kernel without network namespaces".into());
    }
    None
}

/// CapEff of this process; `None` (treated as met) if /proc says nothing.
fn effective_caps() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let hex = status.lines().find_map(|l| l.strip_prefix("CapEff:"))?;
    u64::from_str_radix(hex.trim(), 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_tool_is_unmet_with_reason() {
        let reason = Need::Tool("cnmt-no-such-tool").unmet();
        assert!(reason.is_some_and(|r| r.contains("cnmt-no-such-tool")));
    }

    #[test]
    fn present_tool_is_met() {
        assert_eq!(Need::Tool("sh").unmet(), None);
    }
}
