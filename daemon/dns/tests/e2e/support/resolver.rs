//! The real `cnm-dns` binary, run in the lab's host namespace in the
//! foreground (killed on drop), or through the library's supervisor.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::lab::Lab;

pub const BIN: &str = env!("CARGO_BIN_EXE_cnm-dns");

/// A foreground resolver; SIGKILLed on drop.
pub struct Resolver {
    child: Child,
    /// The readiness line.
    pub ready: String,
}

impl Resolver {
    /// Starts the resolver in the lab's host namespace and waits for READY.
    pub fn start(lab: &Lab, extra: &[&str]) -> Resolver {
        let mut child = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", lab.host.name))
            .arg(BIN)
            .arg("--snapshot")
            .arg(&lab.snapshot)
            .arg("--resolv-conf")
            .arg(&lab.resolv_conf)
            .arg("--pid-file")
            .arg(&lab.pid_file)
            .args(["--log-level", "cnm_dns=debug"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start cnm-dns");
        let ready = read_ready(child.stdout.take().expect("stdout"));
        Resolver { child, ready }
    }
}

impl Drop for Resolver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads lines until `READY ...`; panics after 10 s or at EOF.
pub fn read_ready(stdout: impl std::io::Read + Send + 'static) -> String {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("READY ") {
                let _ = tx.send(line);
                return;
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("resolver never became ready")
}

/// The `pid=N` field of an announcement line.
pub fn pid_of(line: &str) -> u32 {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix("pid="))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no pid in {line:?}"))
}

/// True while /proc shows the process and it is not a zombie.
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z'))
        })
        .unwrap_or(false)
}
