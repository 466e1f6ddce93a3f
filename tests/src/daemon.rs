//! A `cnmd` process running inside a host namespace, started from the built
//! binary with its own state dir, run dir and socket.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::binaries;
use crate::exec::{spawn_logged, wait_deadline};

/// How long cnmd may take to accept connections on its socket.
pub const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long `stop` waits after SIGTERM before giving up.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Where one daemon keeps its files.
#[derive(Debug, Clone)]
pub struct DaemonPaths {
    pub root: PathBuf,
    pub run_root: PathBuf,
    pub socket: PathBuf,
    pub log: PathBuf,
}

impl DaemonPaths {
    /// `DIR/root`, `DIR/run`, `DIR/run/cnmd.sock`, `DIR/cnmd.log`.
    pub fn under(dir: &Path) -> DaemonPaths {
        DaemonPaths {
            root: dir.join("root"),
            run_root: dir.join("run"),
            socket: dir.join("run/cnmd.sock"),
            log: dir.join("cnmd.log"),
        }
    }
}

/// A running (or stopped) cnmd.
#[derive(Debug)]
pub struct Daemon {
    child: Option<Child>,
    paths: DaemonPaths,
    netns_path: PathBuf,
    starts: usize,
    /// Extra cnmd flags (kept across restarts).
    extra_args: Vec<String>,
}

impl Daemon {
    /// Starts cnmd in the namespace at `netns_path` and waits until its
    /// socket accepts connections; panics with the log tail otherwise.
    pub fn start(netns_path: &Path, paths: DaemonPaths) -> Daemon {
        Daemon::start_with(netns_path, paths, &[])
    }

    /// [`Daemon::start`] with extra cnmd flags.
    pub fn start_with(netns_path: &Path, paths: DaemonPaths, extra_args: &[&str]) -> Daemon {
        std::fs::create_dir_all(&paths.root).expect("create state dir");
        std::fs::create_dir_all(&paths.run_root).expect("create run dir");
        let mut daemon = Daemon {
            child: None,
            paths,
            netns_path: netns_path.to_path_buf(),
            starts: 0,
            extra_args: extra_args.iter().map(|a| (*a).to_owned()).collect(),
        };
        daemon.spawn_and_wait();
        daemon
    }

    pub fn paths(&self) -> &DaemonPaths {
        &self.paths
    }

    /// The pid of the cnmd process, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Starts cnmd again with the same dirs after `kill9` or `stop`.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "restart: cnmd is still running");
        self.spawn_and_wait();
    }

    /// SIGKILLs cnmd and reaps it.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERMs cnmd and waits for it to exit; panics (after SIGKILL) if it
    /// has not exited within [`STOP_TIMEOUT`].
    pub fn stop(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("stop: cnmd is not running");
        let pid = Pid::from_raw(i32::try_from(child.id()).expect("pid fits i32"));
        let _ = kill(pid, Signal::SIGTERM);
        match wait_deadline(&mut child, STOP_TIMEOUT) {
            Some(status) => status,
            None => panic!(
                "cnmd did not exit within {STOP_TIMEOUT:?} of SIGTERM\n{}",
                self.log_tail(40)
            ),
        }
    }

    /// Everything cnmd printed so far (all starts).
    pub fn log(&self) -> String {
        read_log(&self.paths.log)
    }

    /// The last `lines` lines of the log, headed for messages.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.paths.log, lines)
    }

    fn spawn_and_wait(&mut self) {
        self.starts += 1;
        let child = spawn_logged(self.command(), &self.paths.log, "start", self.starts);
        self.child = Some(child);
        self.wait_ready();
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net={}", self.netns_path.display()))
            .arg("--")
            .arg(binaries::cnmd())
            .arg("--root")
            .arg(&self.paths.root)
            .arg("--run-root")
            .arg(&self.paths.run_root)
            .arg("--socket")
            .arg(&self.paths.socket)
            .args(["--log-level", "debug"])
            .args(&self.extra_args);
        cmd
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if UnixStream::connect(&self.paths.socket).is_ok() {
                return;
            }
            let child = self.child.as_mut().expect("child just spawned");
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                panic!(
                    "cnmd exited before accepting connections ({status})\n{}",
                    self.log_tail(40)
                );
            }
            if Instant::now() >= deadline {
                self.kill9();
                panic!(
                    "cnmd did not accept connections on {} within {READY_TIMEOUT:?}\n{}",
                    self.paths.socket.display(),
                    self.log_tail(40)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The whole log file, or a note that there is none.
pub fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| format!("(no log at {}: {e})", path.display()))
}

/// The last `lines` lines of the log at `path`, headed for messages.
pub fn log_tail(path: &Path, lines: usize) -> String {
    let log = read_log(path);
    let all: Vec<&str> = log.lines().collect();
    let tail = all[all.len().saturating_sub(lines)..].join("\n");
    format!("--- cnmd log tail ({}) ---\n{tail}", path.display())
}
