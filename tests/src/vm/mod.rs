//! A small virtual machine for tests that need a kernel this host is not:
//! pure cgroup v2, or modules the host lacks (ipvlan). It boots Debian's
//! cloud kernel (fetched by `dev/vm-kernel`) under qemu with TCG, from a
//! busybox initramfs that carries the programs under test with their
//! shared libraries, the kernel modules asked for and one shell script;
//! the script's output and exit status come back in a [`VmOutcome`].
//!
//! ```no_run
//! let out = cnm_tests::vm::Vm::new("uname -r; cat /sys/fs/cgroup/cgroup.controllers")
//!     .binary(cnm_tests::binaries::cnm())
//!     .modules(&["ipvlan"])
//!     .run();
//! assert!(out.success(), "{out}");
//! ```

mod cnm;
mod cpio;
mod initramfs;
mod kernel;
mod payload;
mod qemu;

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};

pub use self::cnm::cnm_vm;
use self::initramfs::{Initramfs, Source};
pub use self::kernel::VmKernel;
pub use self::qemu::QEMU;
use crate::needs::{on_path, which};
use crate::netns::unique_base_name;
use crate::sweep::KEEP_MARKER;

/// The guest's /init (stage 1 and 2).
const INIT: &str = include_str!("init.sh");
const BEGIN_MARKER: &str = "CNM-VM-BEGIN";
const EXIT_MARKER: &str = "CNM-VM-EXIT ";

/// qemu is killed after this long unless [`Vm::timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
/// Guest memory unless [`Vm::memory_mb`] says otherwise.
pub const DEFAULT_MEMORY_MB: u32 = 512;

/// Why VM tests cannot run here, or `None` when they can: qemu with TCG,
/// busybox, and the kernel from `dev/vm-kernel`.
pub fn unmet() -> Option<String> {
    if !on_path(QEMU) {
        return Some(format!(
            "`{QEMU}` is not installed (Debian package qemu-system-x86; dev/deps installs it)"
        ));
    }
    if !on_path("busybox") {
        return Some("`busybox` is not installed (the VM's userland)".into());
    }
    if let Err(reason) = VmKernel::find() {
        return Some(reason);
    }
    (!has_tcg()).then(|| format!("`{QEMU}` has no TCG accelerator (`-accel help`)"))
}

/// Whether qemu can emulate without KVM; asked once per test process (every
/// process of the suite checks every test's needs).
fn has_tcg() -> bool {
    static HAS_TCG: OnceLock<bool> = OnceLock::new();
    *HAS_TCG.get_or_init(|| {
        let accels = Command::new(QEMU).args(["-accel", "help"]).output();
        accels.is_ok_and(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l == "tcg")
        })
    })
}

/// What to boot. Built up, then [`Vm::run`].
#[derive(Debug, Clone)]
pub struct Vm {
    script: String,
    /// Host program -> guest path.
    binaries: Vec<(PathBuf, String)>,
    /// Guest path -> contents (mode 0644).
    files: Vec<(String, Source)>,
    modules: Vec<String>,
    /// Module directories included for the kernel to load on demand.
    module_dirs: Vec<String>,
    timeout: Duration,
    memory_mb: u32,
}

impl Vm {
    /// A VM that runs `script` with busybox `sh` as root, after /init has
    /// mounted proc, sys, dev, tmpfs on /run /tmp /var and cgroup2 on
    /// /sys/fs/cgroup (memory, cpu and pids enabled for child cgroups).
    pub fn new(script: &str) -> Vm {
        Vm {
            script: script.to_string(),
            binaries: Vec::new(),
            files: Vec::new(),
            modules: Vec::new(),
            module_dirs: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            memory_mb: DEFAULT_MEMORY_MB,
        }
    }

    /// Adds a host program as `/bin/NAME`, with its shared libraries.
    pub fn binary(self, host: impl AsRef<Path>) -> Vm {
        let host = host.as_ref();
        let name = host
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.binary_at(host, &format!("/bin/{name}"))
    }

    /// Adds a host program at `guest`, with its shared libraries.
    pub fn binary_at(mut self, host: impl AsRef<Path>, guest: &str) -> Vm {
        self.binaries
            .push((host.as_ref().to_path_buf(), guest.to_string()));
        self
    }

    /// Copies a host file to `guest` (mode 0644).
    pub fn file(mut self, host: impl AsRef<Path>, guest: &str) -> Vm {
        let source = Source::Host(host.as_ref().to_path_buf());
        self.files.push((guest.to_string(), source));
        self
    }

    /// Writes `contents` to `guest` (mode 0644).
    pub fn write(mut self, guest: &str, contents: &str) -> Vm {
        let source = Source::Bytes(contents.as_bytes().to_vec());
        self.files.push((guest.to_string(), source));
        self
    }

    /// Kernel modules to load (with their dependencies) before the script.
    pub fn modules(mut self, names: &[&str]) -> Vm {
        self.modules.extend(names.iter().map(|n| n.to_string()));
        self
    }

    /// Includes every module under `dir` of the kernel's module tree (e.g.
    /// `kernel/net/netfilter`), with dependencies, without loading them:
    /// the kernel loads them on demand through /sbin/modprobe.
    pub fn module_dir(mut self, dir: &str) -> Vm {
        self.module_dirs.push(dir.to_string());
        self
    }

    /// Kills qemu after `timeout` (boot included).
    pub fn timeout(mut self, timeout: Duration) -> Vm {
        self.timeout = timeout;
        self
    }

    pub fn memory_mb(mut self, memory_mb: u32) -> Vm {
        self.memory_mb = memory_mb;
        self
    }

    /// Builds the initramfs, boots and returns what the script did; panics
    /// when the VM cannot be built or started (not when the script fails).
    pub fn run(&self) -> VmOutcome {
        self.try_run()
            .unwrap_or_else(|err| panic!("cannot run the test VM: {err:#}"))
    }

    /// [`Vm::run`], returning harness failures instead of panicking.
    pub fn try_run(&self) -> Result<VmOutcome> {
        let kernel = VmKernel::find().map_err(|reason| anyhow!(reason))?;
        let scratch = tempfile::Builder::new()
            .prefix(&format!("{}-vm-", unique_base_name()))
            .tempdir()
            .context("create the VM's scratch dir")?;
        let image = self.image(&kernel, scratch.path())?;
        let initramfs = scratch.path().join("initramfs.cpio");
        let image_bytes = image.write(&initramfs)?;
        let ended = qemu::Boot {
            kernel: &kernel.vmlinuz(),
            initramfs: &initramfs,
            console: scratch.path().join("console.log"),
            stderr: scratch.path().join("qemu.stderr"),
            memory_mb: self.memory_mb,
            timeout: self.timeout,
        }
        .run()?;
        if std::env::var("CNM_TEST_KEEP").is_ok_and(|v| v == "1") {
            let kept = scratch.keep();
            let _ = std::fs::write(kept.join(KEEP_MARKER), "kept by CNM_TEST_KEEP=1\n");
            eprintln!("cnm-tests: kept {} (CNM_TEST_KEEP=1)", kept.display());
        }
        let (output, status) = script_result(&ended.console);
        Ok(VmOutcome {
            output,
            status,
            console: ended.console,
            timed_out: !ended.exited,
            elapsed: ended.elapsed,
            image_bytes,
        })
    }

    fn image(&self, kernel: &VmKernel, scratch: &Path) -> Result<Initramfs> {
        let mut fs = Initramfs::default();
        // busybox --install puts its links only into directories that exist.
        for dir in [
            "/bin",
            "/sbin",
            "/usr/bin",
            "/usr/sbin",
            "/dev",
            "/proc",
            "/sys",
            "/run",
            "/tmp",
            "/var",
            "/root",
            "/newroot",
        ] {
            fs.dir(dir)?;
        }
        // The kernel opens /dev/console for /init before anything is mounted.
        fs.char_device("/dev/console", 5, 1)?;
        fs.file("/init", Source::Bytes(INIT.as_bytes().to_vec()), 0o755)?;
        let passwd = "root:x:0:0:root:/root:/bin/sh\n";
        fs.file("/etc/passwd", Source::Bytes(passwd.into()), 0o644)?;
        fs.file("/etc/group", Source::Bytes(b"root:x:0:\n".to_vec()), 0o644)?;
        let busybox = which("busybox").context("busybox is not on PATH")?;
        add_binary(&mut fs, &busybox, "/bin/busybox", scratch)?;
        for (host, guest) in &self.binaries {
            add_binary(&mut fs, host, guest, scratch)?;
        }
        for (guest, source) in &self.files {
            fs.file(guest, source.clone(), 0o644)?;
        }
        self.add_modules(&mut fs, kernel)?;
        fs.file(
            "/vm/test.sh",
            Source::Bytes(self.script.clone().into()),
            0o755,
        )?;
        Ok(fs)
    }

    fn add_modules(&self, fs: &mut Initramfs, kernel: &VmKernel) -> Result<()> {
        let host_dir = kernel.modules_dir();
        let guest_dir = format!("/lib/modules/{}", kernel.release());
        let mut names = self.modules.clone();
        for dir in &self.module_dirs {
            names.extend(kernel.modules_under(dir)?);
        }
        for file in kernel.module_files(&names)? {
            let guest = format!("{guest_dir}/{}", file.display());
            fs.file(&guest, Source::Host(host_dir.join(&file)), 0o644)?;
        }
        for index in [
            "modules.dep",
            "modules.alias",
            "modules.symbols",
            "modules.builtin",
        ] {
            if host_dir.join(index).is_file() {
                fs.file(
                    &format!("{guest_dir}/{index}"),
                    Source::Host(host_dir.join(index)),
                    0o644,
                )?;
            }
        }
        let list = self.modules.join("\n");
        fs.file("/vm/modules", Source::Bytes(list.into()), 0o644)
    }
}

/// Adds `host` at `guest`, stripped, and the shared libraries it loads.
fn add_binary(fs: &mut Initramfs, host: &Path, guest: &str, scratch: &Path) -> Result<()> {
    if !host.is_file() {
        anyhow::bail!("{} not found (for {guest} in the VM)", host.display());
    }
    let dir = scratch.join("stripped").join(guest.trim_start_matches('/'));
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    fs.file(guest, Source::Host(payload::stripped(host, &dir)), 0o755)?;
    for library in payload::shared_libraries(host)? {
        let guest_path = library.to_string_lossy().into_owned();
        if !fs.contains(&guest_path) {
            // Read through symlinks: the guest gets the file under the
            // name the loader asks for.
            fs.file(&guest_path, Source::Host(library), 0o755)?;
        }
    }
    Ok(())
}

/// What a VM run did.
#[derive(Debug, Clone)]
pub struct VmOutcome {
    /// What the script wrote to stdout and stderr, interleaved.
    pub output: String,
    /// The script's exit status; `None` when the VM never reported one
    /// (timeout, kernel panic, /init failure: see [`VmOutcome::console`]).
    pub status: Option<i32>,
    /// The whole serial console: kernel, /init and script.
    pub console: String,
    /// qemu was killed at the deadline.
    pub timed_out: bool,
    /// From starting qemu to its exit: boot, script and power-off.
    pub elapsed: Duration,
    /// Size of the initramfs.
    pub image_bytes: u64,
}

impl VmOutcome {
    /// True when the script exited 0.
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }

    /// The value of the script's last output line `KEY=VALUE`, a simple
    /// way for a script to report what it saw for the test to assert on.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.output
            .lines()
            .rev()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
    }
}

impl fmt::Display for VmOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = match (self.status, self.timed_out) {
            (Some(code), _) => format!("script exited {code}"),
            (None, true) => "killed at the deadline, no exit status".to_string(),
            (None, false) => "VM stopped without an exit status".to_string(),
        };
        write!(
            f,
            "test VM: {status} after {:.1?} (initramfs {} MB)\n--- console ---\n{}",
            self.elapsed,
            self.image_bytes / 1_000_000,
            self.console.trim_end()
        )
    }
}

/// The script's output (between the markers /init prints) and its status.
fn script_result(console: &str) -> (String, Option<i32>) {
    let mut output = String::new();
    let mut inside = false;
    for line in console.lines() {
        if !inside {
            inside = line == BEGIN_MARKER;
            continue;
        }
        if let Some(code) = line.strip_prefix(EXIT_MARKER) {
            return (output, code.trim().parse().ok());
        }
        output.push_str(line);
        output.push('\n');
    }
    (output, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_result_is_between_markers() {
        let console = "[    1.2] kernel noise\nCNM-VM-BEGIN\nmemory.max=67108864\nok\nCNM-VM-EXIT 3\n--- dmesg ---\n";
        let (output, status) = script_result(console);
        assert_eq!(output, "memory.max=67108864\nok\n");
        assert_eq!(status, Some(3));
    }

    #[test]
    fn no_exit_marker_means_no_status() {
        let (output, status) = script_result("CNM-VM-BEGIN\nhalf way\n");
        assert_eq!(output, "half way\n");
        assert_eq!(status, None);
        assert_eq!(script_result("Kernel panic").1, None);
    }

    #[test]
    fn value_reads_the_last_key_line() {
        let outcome = VmOutcome {
            output: "a=1\nab=2\na=3\nnoise\n".into(),
            status: Some(0),
            console: String::new(),
            timed_out: false,
            elapsed: Duration::ZERO,
            image_bytes: 0,
        };
        assert_eq!(outcome.value("a"), Some("3"));
        assert_eq!(outcome.value("ab"), Some("2"));
        assert_eq!(outcome.value("b"), None);
    }
}
