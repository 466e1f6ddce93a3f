//! `cnm rootfs busybox DIR`: a demo and test rootfs from a static busybox
//! (Debian's `busybox-static`): bin/ with busybox and one symlink per
//! applet, etc/passwd and etc/group, and the usual empty directories.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use clap::Subcommand;

/// The `rootfs` subcommands.
#[derive(Debug, Subcommand)]
pub enum RootfsCommand {
    /// Build a busybox rootfs in DIR
    Busybox {
        /// The static busybox to copy
        #[arg(long, default_value = "/bin/busybox")]
        busybox: PathBuf,
        /// Target directory (created; must be empty if it exists)
        dir: PathBuf,
    },
}

pub fn run(command: RootfsCommand) -> Result<()> {
    let RootfsCommand::Busybox { busybox, dir } = command;
    build_busybox(&busybox, &dir)?;
    println!("{}", dir.display());
    Ok(())
}

fn build_busybox(busybox: &Path, dir: &Path) -> Result<()> {
    if !busybox.is_file() {
        bail!(
            "{} not found; install busybox-static (apt-get install busybox-static) or pass --busybox",
            busybox.display()
        );
    }
    if dir.exists()
        && fs::read_dir(dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!(
            "{} exists and is not empty; choose a new directory",
            dir.display()
        );
    }
    for sub in ["bin", "etc", "proc", "dev", "sys", "tmp", "root"] {
        let path = dir.join(sub);
        fs::create_dir_all(&path).with_context(|| format!("cannot create {}", path.display()))?;
    }
    let target = dir.join("bin/busybox");
    fs::copy(busybox, &target)
        .with_context(|| format!("cannot copy {} to {}", busybox.display(), target.display()))?;
    let list = Command::new(&target)
        .arg("--list")
        .output()
        .with_context(|| format!("cannot run {} --list", target.display()))?;
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet != "busybox" && !applet.contains('/') {
            let link = dir.join("bin").join(applet);
            symlink("busybox", &link).with_context(|| format!("cannot link {}", link.display()))?;
        }
    }
    fs::write(dir.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n")
        .context("cannot write etc/passwd")?;
    fs::write(dir.join("etc/group"), "root:x:0:\n").context("cannot write etc/group")?;
    Ok(())
}
