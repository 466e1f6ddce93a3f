//! Docker's masked and read-only paths under /proc and /sys: kernel
//! interfaces that are not namespaced (keyrings, sysrq, kcore, timers) and
//! would let a container read host secrets or poke the host kernel.

use std::fs;
use std::path::Path;

use nix::mount::{mount, MsFlags};

use super::{mounts, sys, InitError};

const NONE: Option<&str> = None;

const MASKED: [&str; 11] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

const READ_ONLY: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Runs after pivot_root, so the paths are the container's.
pub(super) fn apply() -> Result<(), InitError> {
    for path in MASKED {
        let Ok(meta) = fs::metadata(path) else {
            continue; // absent on this kernel
        };
        if meta.is_dir() {
            mount(
                Some("tmpfs"),
                path,
                Some("tmpfs"),
                MsFlags::MS_RDONLY,
                Some("size=0"),
            )
            .map_err(sys(format!("masking {path}")))?;
        } else {
            mounts::bind(Path::new("/dev/null"), Path::new(path), false)?;
        }
    }
    for path in READ_ONLY {
        if !Path::new(path).exists() {
            continue;
        }
        mount(
            Some(path),
            path,
            NONE,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            NONE,
        )
        .map_err(sys(format!("binding {path}")))?;
        // Keep proc's nosuid/nodev/noexec: a bind remount replaces the
        // per-mount flags with exactly the ones given.
        let flags = MsFlags::MS_BIND
            | MsFlags::MS_REMOUNT
            | MsFlags::MS_RDONLY
            | MsFlags::MS_NOSUID
            | MsFlags::MS_NODEV
            | MsFlags::MS_NOEXEC;
        mount(NONE, path, NONE, flags, NONE).map_err(sys(format!("making {path} read-only")))?;
    }
    Ok(())
}
