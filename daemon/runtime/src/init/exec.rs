//! The last step of an init or exec: a clean signal state and execve with
//! a PATH search done against the container's own environment (glibc's
//! execvpe would search the shim's PATH instead).

use std::convert::Infallible;
use std::ffi::CString;

use nix::errno::Errno;
use nix::sys::signal::{sigprocmask, SigSet, SigmaskHow};
use nix::unistd::execve;

use super::InitError;
use crate::spec::DEFAULT_PATH;

/// Unblocks every signal and restores default dispositions: the shim
/// blocks SIGCHLD for its signalfd and Rust ignores SIGPIPE, and both would
/// survive exec and confuse the container's programs (`yes | head`).
pub(crate) fn reset_signals() {
    for signum in 1..=libc::SIGRTMAX() {
        if signum == libc::SIGKILL || signum == libc::SIGSTOP {
            continue;
        }
        // SAFETY: SIG_DFL is always a valid disposition; errors for the
        // signals libc reserves are irrelevant.
        unsafe { libc::signal(signum, libc::SIG_DFL) };
    }
    let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
}

/// Execs `args` with `env`, searching PATH from `env` when `args[0]` has
/// no `/`. Returns only on failure.
pub(crate) fn exec_command(args: &[String], env: &[String]) -> Result<Infallible, InitError> {
    let command = args.first().cloned().unwrap_or_default();
    let cstr = |s: &str| CString::new(s).map_err(|_| InitError::CommandNotFound(command.clone()));
    let argv = args
        .iter()
        .map(|a| cstr(a))
        .collect::<Result<Vec<_>, _>>()?;
    let envp = env.iter().map(|e| cstr(e)).collect::<Result<Vec<_>, _>>()?;
    if command.contains('/') {
        let Err(err) = execve(&cstr(&command)?, &argv, &envp);
        return Err(exec_error(&command, err));
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH);
    let mut denied = None;
    for dir in path.split(':').filter(|d| !d.is_empty()) {
        let candidate = cstr(&format!("{}/{}", dir.trim_end_matches('/'), command))?;
        let Err(err) = execve(&candidate, &argv, &envp);
        match err {
            Errno::ENOENT | Errno::ENOTDIR => {}
            Errno::EACCES => denied = Some(err),
            other => return Err(exec_error(&command, other)),
        }
    }
    Err(match denied {
        Some(err) => exec_error(&command, err),
        None => InitError::CommandNotFound(command),
    })
}

fn exec_error(command: &str, err: Errno) -> InitError {
    match err {
        Errno::ENOENT => InitError::CommandNotFound(command.to_string()),
        source => InitError::Exec {
            command: command.to_string(),
            source,
        },
    }
}
