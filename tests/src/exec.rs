//! Running external commands with a deadline and captured output, so a hung
//! daemon or tool fails the test instead of hanging the whole suite.

use std::fmt;
use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long any single tool or CLI invocation may take by default.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// What a finished command printed and how it exited.
#[derive(Debug, Clone)]
pub struct CmdOutput {
    /// The command line, for messages.
    pub command: String,
    /// Exit status; `None` when it was killed after the deadline.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
}

impl CmdOutput {
    /// True when the command ran to completion and exited 0.
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// True when the command was killed because it missed its deadline.
    pub fn timed_out(&self) -> bool {
        self.status.is_none()
    }
}

impl fmt::Display for CmdOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = match self.status {
            Some(s) => s.to_string(),
            None => "killed after deadline".to_string(),
        };
        write!(
            f,
            "`{}`: {status}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command,
            self.stdout.trim_end(),
            self.stderr.trim_end()
        )
    }
}

/// Renders a command line for messages (`prog arg arg`).
pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        s.push(' ');
        let arg = arg.to_string_lossy();
        if arg.is_empty() || arg.contains(char::is_whitespace) {
            s.push_str(&format!("{arg:?}"));
        } else {
            s.push_str(&arg);
        }
    }
    s
}

/// Runs `cmd` to completion with captured stdout/stderr, killing it after
/// `timeout`. Panics only when the program cannot be started at all.
pub fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> CmdOutput {
    run_piped(cmd, None, timeout)
}

/// Runs `cmd` with `input` on a pipe to its stdin (closed after it), as
/// `printf … | cmd` does.
pub fn run_with_input(cmd: &mut Command, input: &[u8]) -> CmdOutput {
    run_piped(cmd, Some(input.to_vec()), COMMAND_TIMEOUT)
}

fn run_piped(cmd: &mut Command, input: Option<Vec<u8>>, timeout: Duration) -> CmdOutput {
    let command = describe(cmd);
    let stdin = if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    };
    let mut child = cmd
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{command}`: {e}"));
    if let (Some(mut pipe), Some(input)) = (child.stdin.take(), input) {
        // On a thread: a command that does not read must not block us.
        thread::spawn(move || {
            let _ = std::io::Write::write_all(&mut pipe, &input);
        });
    }
    // Drain both pipes on threads so a chatty child cannot block on a full pipe.
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = wait_deadline(&mut child, timeout);
    CmdOutput {
        command,
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// Runs `cmd` with the default timeout.
pub fn run(cmd: &mut Command) -> CmdOutput {
    run_with_timeout(cmd, COMMAND_TIMEOUT)
}

/// Runs `cmd` and panics with its output unless it exits 0; returns stdout.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(out.success(), "command failed: {out}");
    out.stdout
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut buf);
        }
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Waits for `child` until `timeout`; kills and reaps it after that.
pub fn wait_deadline(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// Polls `check` every 20 ms until it returns `Ok` or `timeout` passes;
/// returns the last error on timeout.
pub fn eventually<T>(
    timeout: Duration,
    mut check: impl FnMut() -> Result<T, String>,
) -> Result<T, String> {
    let deadline = Instant::now() + timeout;
    loop {
        match check() {
            Ok(v) => return Ok(v),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Starts a long-running child (cnmd, a plugin) with its stdout and stderr
/// appended to `log` after a `=== cnm-tests: LABEL #START: COMMAND` header,
/// and killed by the kernel if the spawning thread dies, so a crashed test
/// cannot leave it running.
pub fn spawn_logged(
    mut cmd: std::process::Command,
    log: &std::path::Path,
    label: &str,
    start: usize,
) -> std::process::Child {
    use std::io::Write;
    use std::os::unix::process::CommandExt;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap_or_else(|e| panic!("open {}: {e}", log.display()));
    let _ = writeln!(file, "=== cnm-tests: {label} #{start}: {}", describe(&cmd));
    let err_file = file.try_clone().expect("clone log fd");
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::from(file))
        .stderr(std::process::Stdio::from(err_file));
    // SAFETY: prctl is async-signal-safe; it only asks the kernel to kill
    // the child when the spawning thread dies. nsenter execs the real
    // program and the setting survives exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", describe(&cmd)))
}
