//! A `cnm-driver serve` process: one of cnm's built-in drivers served as a
//! plugin from inside a test host's namespace, with its own log. Killed on
//! drop (and by the kernel if the thread that started it dies).

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use crate::binaries;
use crate::daemon::{log_tail, read_log};
use crate::exec::spawn_logged;
use crate::netns::NetNs;

/// How long the plugin may take to listen.
pub const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// `target/debug/cnm-driver`.
pub fn cnm_driver() -> PathBuf {
    binaries::binary("cnm-driver")
}

/// A running (or killed) `cnm-driver serve`.
#[derive(Debug)]
pub struct DriverPlugin {
    child: Option<Child>,
    netns: PathBuf,
    driver: String,
    socket: PathBuf,
    log: PathBuf,
    starts: usize,
}

impl DriverPlugin {
    /// Starts `cnm-driver serve --driver DRIVER --socket SOCKET` in `ns`,
    /// logging to `log`, and waits until the socket accepts connections.
    pub fn start(ns: &NetNs, driver: &str, socket: &Path, log: &Path) -> DriverPlugin {
        let mut plugin = DriverPlugin {
            child: None,
            netns: ns.path(),
            driver: driver.to_owned(),
            socket: socket.to_owned(),
            log: log.to_owned(),
            starts: 0,
        };
        plugin.spawn_and_wait();
        plugin
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// SIGKILLs the plugin (its socket file stays, as after a crash).
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same socket after `kill9`.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "restart: the plugin is still running");
        self.spawn_and_wait();
    }

    /// Everything the plugin logged, all starts.
    pub fn log(&self) -> String {
        read_log(&self.log)
    }

    /// What the current (last) start logged.
    pub fn log_of_last_start(&self) -> String {
        let log = self.log();
        let marker = format!("=== cnm-tests: plugin start #{}", self.starts);
        match log.find(&marker) {
            Some(at) => log[at..].to_owned(),
            None => log,
        }
    }

    fn spawn_and_wait(&mut self) {
        self.starts += 1;
        let mut cmd = std::process::Command::new("nsenter");
        cmd.arg(format!("--net={}", self.netns.display()))
            .arg("--")
            .arg(cnm_driver())
            .args(["serve", "--driver", &self.driver, "--socket"])
            .arg(&self.socket);
        let child = spawn_logged(cmd, &self.log, "plugin start", self.starts);
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if UnixStream::connect(&self.socket).is_ok() {
                return;
            }
            let child = self.child.as_mut().expect("child just spawned");
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                panic!(
                    "cnm-driver exited before listening ({status})\n{}",
                    log_tail(&self.log, 30)
                );
            }
            assert!(
                Instant::now() < deadline,
                "cnm-driver did not listen on {} within {READY_TIMEOUT:?}\n{}",
                self.socket.display(),
                log_tail(&self.log, 30)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for DriverPlugin {
    fn drop(&mut self) {
        self.kill9();
    }
}
