//! A test VM running cnm itself: the workspace's cnmd, cnm, cnm-shim and
//! cnm-dns, the host's `nft`, the overlay and netfilter modules, and a
//! prelude that starts cnmd on its defaults (/var/lib/cnm, /run/cnm; the VM
//! is throwaway) and builds a busybox rootfs at /rootfs.

use super::Vm;
use crate::binaries;
use crate::needs::which;

/// Runs before the test's script. On a failing exit it prints cnmd's log.
const PRELUDE: &str = r#"# --- prelude (tests/src/vm/cnm.rs) ---
mkdir -p /var/log
CNMD_LOG=debug,sled=warn cnmd >/var/log/cnmd.log 2>&1 &
cnmd_pid=$!
trap 'status=$?; if [ $status != 0 ]; then echo "--- cnmd.log (last 40 lines) ---"; tail -n 40 /var/log/cnmd.log; fi' EXIT
waited=0
until [ -S /run/cnm/cnmd.sock ]; do
	if ! kill -0 $cnmd_pid 2>/dev/null; then
		echo "prelude: cnmd exited before opening /run/cnm/cnmd.sock"
		exit 97
	fi
	waited=$((waited + 1))
	if [ $waited -gt 300 ]; then
		echo "prelude: cnmd did not open /run/cnm/cnmd.sock within 30 s"
		exit 97
	fi
	sleep 0.1
done
cnm rootfs busybox /rootfs >/dev/null || exit 98
# --- test script ---
"#;

/// Modules cnmd and the runtime use: overlayfs for container roots, bridge
/// and veth for the default `bridge` network cnmd creates at start, and
/// every netfilter module (the kernel loads what cnmd's ruleset asks for
/// through /sbin/modprobe, so a new rule needs no change here).
const MODULES: &[&str] = &["overlay", "bridge", "veth"];
const MODULE_DIRS: &[&str] = &[
    "kernel/net/netfilter",
    "kernel/net/ipv4/netfilter",
    "kernel/net/ipv6/netfilter",
];

/// A VM with cnm installed and cnmd running when `script` starts. Add more
/// with the [`Vm`] builder (e.g. `.modules(&["ipvlan"])`).
pub fn cnm_vm(script: &str) -> Vm {
    let mut vm = Vm::new(&format!("{PRELUDE}{script}"));
    for name in ["cnmd", "cnm", "cnm-shim", "cnm-dns"] {
        vm = vm.binary(binaries::binary(name));
    }
    // cnmd runs `nft` for whole-table work.
    let nft = which("nft").expect("`nft` is not on PATH (add Need::Tool(\"nft\") to the test)");
    vm = vm.binary(nft).modules(MODULES);
    for dir in MODULE_DIRS {
        vm = vm.module_dir(dir);
    }
    // cnmd forwards DNS to the host's resolvers; the VM has none.
    vm.write("/etc/resolv.conf", "nameserver 127.0.0.1\n")
}
