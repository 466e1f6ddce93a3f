//! The container's filesystem, built inside its new mount namespace: an
//! overlay over the untouched rootfs, /proc, /dev, a read-only /sys, the
//! files cnmd wrote (/etc/hosts, /etc/resolv.conf) plus /etc/hostname,
//! volumes, then pivot_root. Everything lives only in this namespace, so
//! the kernel unmounts it all when the container's last process exits.

use std::fs;
use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::unistd::{chdir, pivot_root as sys_pivot_root};

use super::{dev, io_step, sys, InitError};
use crate::rootfs::{resolve_in_root, Create};
use crate::spec::ValidSpec;
use crate::state::Layout;

const NONE: Option<&str> = None;

/// Mounts everything under the overlay's mount point; returns that path.
pub(super) fn prepare_rootfs(spec: &ValidSpec, layout: &Layout) -> Result<PathBuf, InitError> {
    // Slave, not shared: nothing mounted here may propagate back to the
    // host, while host unmounts still reach us (no pinned mounts). Also a
    // pivot_root precondition: the new root's parent must not be shared.
    mount(NONE, "/", NONE, MsFlags::MS_REC | MsFlags::MS_SLAVE, NONE)
        .map_err(sys("making / a slave mount"))?;
    let merged = layout.merged();
    mount_overlay(spec, layout, &merged)?;
    let proc_dir = target(&merged, "/proc", Create::Dir)?;
    let hardening = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    // A fresh proc: this process is already PID 1 of the new pid namespace.
    mount(Some("proc"), &proc_dir, Some("proc"), hardening, NONE).map_err(sys("mounting /proc"))?;
    dev::mount_dev(&target(&merged, "/dev", Create::Dir)?)?;
    let sys_dir = target(&merged, "/sys", Create::Dir)?;
    mount(
        Some("sysfs"),
        &sys_dir,
        Some("sysfs"),
        hardening | MsFlags::MS_RDONLY,
        NONE,
    )
    .map_err(sys("mounting /sys read-only"))?;
    let etc_files = [
        (&spec.hosts_file, "/etc/hosts"),
        (&spec.resolv_conf, "/etc/resolv.conf"),
        (&layout.hostname(), "/etc/hostname"),
    ];
    for (source, dest) in etc_files {
        let dest_host = etc_target(&merged, dest)?;
        bind(source, &dest_host, true)?;
    }
    for volume in &spec.mounts {
        let kind = if volume.source.is_dir() {
            Create::Dir
        } else {
            Create::File
        };
        let dest = resolve_in_root(&merged, &volume.destination, kind).map_err(io_step(
            format!("creating mount point {}", volume.destination.display()),
        ))?;
        bind(&volume.source, &dest, volume.read_only)?;
    }
    Ok(merged)
}

fn mount_overlay(spec: &ValidSpec, layout: &Layout, merged: &Path) -> Result<(), InitError> {
    for dir in [layout.upper(), layout.work(), merged.to_path_buf()] {
        fs::create_dir_all(&dir).map_err(io_step(format!("creating {}", dir.display())))?;
    }
    // Paths were checked for `,` and `:` during validation.
    let options = format!(
        "lowerdir={},upperdir={},workdir={}",
        spec.rootfs.display(),
        layout.upper().display(),
        layout.work().display()
    );
    mount(
        Some("overlay"),
        merged,
        Some("overlay"),
        MsFlags::empty(),
        Some(options.as_str()),
    )
    .map_err(sys(format!(
        "mounting overlay on {} ({options})",
        merged.display()
    )))
}

/// A mount point inside the container, created (in the overlay's upper
/// layer) when missing.
fn target(merged: &Path, path: &str, kind: Create) -> Result<PathBuf, InitError> {
    resolve_in_root(merged, Path::new(path), kind)
        .map_err(io_step(format!("creating mount point {path}")))
}

/// The host path for a file in /etc that cnm bind-mounts. An image whose
/// /etc/resolv.conf is a symlink (systemd's stub) would send the bind to
/// the link's target; like Docker, replace such a link by a plain file.
fn etc_target(merged: &Path, path: &str) -> Result<PathBuf, InitError> {
    let etc = target(merged, "/etc", Create::Dir)?;
    let name = Path::new(path).file_name().unwrap_or_default();
    let file = etc.join(name);
    let step = || io_step(format!("preparing {path}"));
    match fs::symlink_metadata(&file) {
        Ok(meta) if meta.file_type().is_symlink() || !meta.is_file() => {
            if meta.is_dir() {
                fs::remove_dir_all(&file).map_err(step())?;
            } else {
                fs::remove_file(&file).map_err(step())?;
            }
            fs::File::create(&file).map_err(step())?;
        }
        Ok(_) => {}
        Err(_) => {
            fs::File::create(&file).map_err(step())?;
        }
    }
    Ok(file)
}

/// A recursive bind mount, then (for read-only) a remount of the bind: the
/// kernel ignores MS_RDONLY on the initial MS_BIND call.
pub(super) fn bind(source: &Path, dest: &Path, read_only: bool) -> Result<(), InitError> {
    let what = format!("bind-mounting {} on {}", source.display(), dest.display());
    mount(
        Some(source),
        dest,
        NONE,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        NONE,
    )
    .map_err(sys(what.clone()))?;
    if read_only {
        let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
        mount(NONE, dest, NONE, flags, NONE).map_err(sys(format!("{what} (read-only remount)")))?;
    }
    Ok(())
}

/// Makes `merged` the root. pivot_root(".", ".") stacks the old root on
/// top of the new one, and the lazy unmount then drops it, so no directory
/// for the old root is needed in the image (runc's approach).
pub(super) fn pivot_root(merged: &Path) -> Result<(), InitError> {
    chdir(merged).map_err(sys(format!("entering {}", merged.display())))?;
    sys_pivot_root(".", ".").map_err(sys("pivot_root"))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(sys("detaching the old root"))?;
    chdir("/").map_err(sys("entering the new root"))
}
