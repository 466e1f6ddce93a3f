//! Busybox root filesystems made by `cnm rootfs busybox`: for containers
//! that `cnm run` starts and for the OCI bundles runc runs.

use std::path::Path;
use std::process::Command;

use crate::binaries;
use crate::exec::run;

/// Builds a busybox rootfs at `dir`; panics with the output if it fails.
pub fn build_busybox(dir: &Path) {
    let out = run(Command::new(binaries::cnm())
        .args(["rootfs", "busybox"])
        .arg(dir));
    assert!(out.success(), "build rootfs: {out}");
}

/// Builds a busybox rootfs afresh in the temp dir as `cnmt-<pid>-<name>`
/// (named like the harness's temp dirs, so the sweep removes it once this
/// process is gone); returns its path.
pub fn busybox_in_temp_dir(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("cnmt-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    build_busybox(&dir);
    dir.display().to_string()
}
