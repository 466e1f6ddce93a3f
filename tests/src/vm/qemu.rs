//! Runs qemu-system-x86_64 with TCG (no KVM needed): no default devices,
//! serial console into a file, the kernel and initramfs given directly,
//! and a hard deadline after which qemu is killed.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::exec::{describe, wait_deadline};

/// The emulator binary.
pub const QEMU: &str = "qemu-system-x86_64";

/// One boot.
pub(super) struct Boot<'a> {
    pub kernel: &'a Path,
    pub initramfs: &'a Path,
    pub console: PathBuf,
    /// qemu's own messages.
    pub stderr: PathBuf,
    pub memory_mb: u32,
    pub timeout: Duration,
}

/// How a boot ended.
pub(super) struct Ended {
    /// Everything the guest wrote to its serial console.
    pub console: String,
    /// False when qemu was killed at the deadline.
    pub exited: bool,
    pub elapsed: Duration,
}

impl Boot<'_> {
    pub(super) fn run(&self) -> Result<Ended> {
        let mut cmd = self.command();
        // SAFETY: prctl is async-signal-safe; qemu dies with the test
        // thread that started it, so a crashed test leaves no VM running.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let stderr = File::create(&self.stderr)
            .with_context(|| format!("create {}", self.stderr.display()))?;
        let started = Instant::now();
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("start {}", describe(&cmd)))?;
        let status = wait_deadline(&mut child, self.timeout);
        let elapsed = started.elapsed();
        let stderr = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let console = std::fs::read(&self.console).unwrap_or_default();
        // The serial line ends lines with CR LF.
        let mut console = String::from_utf8_lossy(&console).replace('\r', "");
        if !stderr.trim().is_empty() {
            console.push_str(&format!("\n--- {QEMU} stderr ---\n{stderr}"));
        }
        Ok(Ended {
            console,
            exited: status.is_some(),
            elapsed,
        })
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(QEMU);
        cmd.args(["-accel", "tcg", "-nodefaults", "-no-user-config"])
            .args(["-display", "none", "-no-reboot", "-smp", "1"])
            .args(["-m", &format!("{}M", self.memory_mb)])
            .arg("-serial")
            .arg(format!("file:{}", self.console.display()))
            .arg("-kernel")
            .arg(self.kernel)
            .arg("-initrd")
            .arg(self.initramfs)
            // panic=-1: a kernel panic reboots, and -no-reboot turns that
            // into qemu exiting instead of hanging until the deadline.
            .args(["-append", "console=ttyS0 panic=-1 quiet"]);
        cmd
    }
}
