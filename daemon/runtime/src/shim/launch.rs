//! `cnm-shim start`: forks the long-lived shim into its own session and
//! relays its one-line start report to the caller. The caller waits only
//! for this short-lived launcher, so it never has to reap the real shim,
//! which init (or the nearest subreaper) adopts.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::process::ExitCode;

use nix::fcntl::OFlag;
use nix::unistd::{fork, pipe2, setsid, ForkResult};
use serde::{Deserialize, Serialize};

use super::create;
use crate::state::Layout;

/// The launcher's stdout: one JSON line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub(crate) enum LaunchReport {
    /// The command exec'd as PID 1 (this is its host pid).
    Started { pid: i32 },
    /// Nothing was left behind but the state dir, which the caller removes.
    Failed { message: String },
}

/// Sends the report from the shim to the launcher, once.
pub(crate) struct Reporter(Option<File>);

impl Reporter {
    pub(crate) fn report(&mut self, report: &LaunchReport) {
        if let Some(mut pipe) = self.0.take() {
            let mut line = serde_json::to_vec(report).unwrap_or_default();
            line.push(b'\n');
            let _ = pipe.write_all(&line);
        }
    }
}

pub(crate) fn start(state_dir: &Path) -> ExitCode {
    let fail = |message: String| print_report(&LaunchReport::Failed { message });
    let (read_end, write_end) = match pipe2(OFlag::O_CLOEXEC) {
        Ok(pair) => pair,
        Err(e) => return fail(format!("creating the report pipe: {e}")),
    };
    // SAFETY: cnm-shim is a fresh exec and has started no threads, so the
    // child may do anything after fork.
    match unsafe { fork() } {
        Err(e) => fail(format!("forking the shim: {e}")),
        Ok(ForkResult::Child) => {
            drop(read_end);
            let code = daemon(state_dir, write_end);
            std::process::exit(code)
        }
        Ok(ForkResult::Parent { .. }) => {
            drop(write_end);
            let mut text = String::new();
            let _ = File::from(read_end).read_to_string(&mut text);
            match serde_json::from_str::<LaunchReport>(text.trim()) {
                Ok(report) => print_report(&report),
                Err(_) => fail(format!(
                    "the shim exited without reporting; see {}",
                    Layout::new(state_dir).shim_log().display()
                )),
            }
        }
    }
}

fn print_report(report: &LaunchReport) -> ExitCode {
    println!("{}", serde_json::to_string(report).unwrap_or_default());
    match report {
        LaunchReport::Started { .. } => ExitCode::SUCCESS,
        LaunchReport::Failed { .. } => ExitCode::FAILURE,
    }
}

/// The long-lived shim: its own session (a terminal hangup or the
/// caller's process group being signalled must not reach it), stdio away
/// from the caller's pipes, and a cwd that pins no mount.
fn daemon(state_dir: &Path, report: OwnedFd) -> i32 {
    let layout = Layout::new(state_dir);
    let _ = setsid();
    let _ = std::env::set_current_dir("/");
    if let Err(e) = redirect_stdio(&layout) {
        let mut reporter = Reporter(Some(File::from(report)));
        reporter.report(&LaunchReport::Failed {
            message: format!("opening {}: {e}", layout.shim_log().display()),
        });
        return 1;
    }
    create::run(&layout, Reporter(Some(File::from(report))))
}

fn redirect_stdio(layout: &Layout) -> std::io::Result<()> {
    let null = File::open("/dev/null")?;
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(layout.shim_log())?;
    for (fd, target) in [
        (null.as_raw_fd(), 0),
        (log.as_raw_fd(), 1),
        (log.as_raw_fd(), 2),
    ] {
        // SAFETY: dup2 onto the standard fds of this process.
        if unsafe { libc::dup2(fd, target) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_golden() {
        let started = LaunchReport::Started { pid: 42 };
        assert_eq!(
            serde_json::to_string(&started).expect("json"),
            r#"{"result":"started","pid":42}"#
        );
        let failed: LaunchReport =
            serde_json::from_str(r#"{"result":"failed","message":"no"}"#).expect("parse");
        assert_eq!(
            failed,
            LaunchReport::Failed {
                message: "no".into()
            }
        );
    }
}
