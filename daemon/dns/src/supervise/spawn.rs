//! Starting the resolver: `cnm-dns --detach` forks, the intermediate parent
//! prints `STARTED pid=N` and exits at once (so the caller reaps it and the
//! resolver is re-parented to init, never a zombie of cnmd), and the
//! resolver prints `READY pid=N ...` on the same pipe once it serves.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::{ResolverCommand, SuperviseError};

pub(super) fn spawn(cmd: &ResolverCommand) -> Result<u32, SuperviseError> {
    let stderr = match &cmd.log_file {
        Some(path) => {
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|source| SuperviseError::Log {
                    path: path.clone(),
                    source,
                })?;
            Stdio::from(file)
        }
        None => Stdio::null(),
    };
    let spawn_err = |source| SuperviseError::Spawn {
        binary: cmd.binary.clone(),
        source,
    };
    let mut child = Command::new(&cmd.binary)
        .arg("--detach")
        .arg("--snapshot")
        .arg(&cmd.snapshot)
        .arg("--pid-file")
        .arg(&cmd.pid_file)
        .arg("--resolv-conf")
        .arg(&cmd.resolv_conf)
        .arg("--log-level")
        .arg(&cmd.log_level)
        .args(&cmd.extra_args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .map_err(spawn_err)?;
    let stdout = child.stdout.take();
    // the intermediate process exits right after forking; reap it now
    let _ = child.wait();
    let (lines_tx, lines_rx) = mpsc::channel();
    if let Some(stdout) = stdout {
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    wait_ready(cmd, &lines_rx)
}

/// Reads announcement lines until `READY`, EOF or the timeout.
fn wait_ready(
    cmd: &ResolverCommand,
    lines: &mpsc::Receiver<String>,
) -> Result<u32, SuperviseError> {
    let log = cmd
        .log_file
        .as_ref()
        .map_or_else(|| "discarded".to_string(), |p| p.display().to_string());
    let deadline = Instant::now() + cmd.ready_timeout;
    let mut started = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                let pid = pid_field(&line);
                if line.starts_with("READY ") {
                    if let Some(pid) = pid {
                        return Ok(pid);
                    }
                } else if line.starts_with("STARTED ") {
                    started = pid;
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(SuperviseError::ExitedEarly {
                    binary: cmd.binary.clone(),
                    log,
                })
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Some(pid) = started.and_then(|p| i32::try_from(p).ok()) {
                    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                }
                return Err(SuperviseError::NotReady {
                    binary: cmd.binary.clone(),
                    timeout: cmd.ready_timeout,
                    log,
                });
            }
        }
    }
}

/// The value of `pid=N` in an announcement line.
fn pid_field(line: &str) -> Option<u32> {
    line.split_whitespace()
        .find_map(|word| word.strip_prefix("pid="))
        .and_then(|pid| pid.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::pid_field;

    #[test]
    fn announcement_lines() {
        assert_eq!(
            pid_field("READY pid=42 generation=3 listening=2 failed=0"),
            Some(42)
        );
        assert_eq!(pid_field("STARTED pid=7"), Some(7));
        assert_eq!(pid_field("READY"), None);
    }
}
