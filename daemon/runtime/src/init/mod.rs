//! The container's init: code that runs in the shim's forked child, which
//! is already PID 1 of the new pid namespace, and ends by exec'ing the
//! container command. Every step that needs privilege comes before the
//! capability drop; the order below is the order the kernel needs.

mod console;
mod dev;
mod exec;
mod masks;
mod mounts;

use std::convert::Infallible;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::sched::{setns, unshare, CloneFlags};

pub(crate) use exec::{exec_command, reset_signals};

use crate::capabilities;
pub(crate) use crate::error::describe;
use crate::shim::sync::{self, SyncMessage};
use crate::spec::ValidSpec;
use crate::state::Layout;

/// A failed init step; its text (with causes) goes to the shim.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InitError {
    #[error("{step}")]
    Sys {
        step: String,
        #[source]
        source: Errno,
    },
    #[error("{step}")]
    Io {
        step: String,
        #[source]
        source: io::Error,
    },
    #[error("command not found in rootfs: {0}")]
    CommandNotFound(String),
    #[error("exec `{command}`")]
    Exec {
        command: String,
        #[source]
        source: Errno,
    },
}

/// Names a failed syscall step.
pub(crate) fn sys(step: impl Into<String>) -> impl FnOnce(Errno) -> InitError {
    let step = step.into();
    move |source| InitError::Sys { step, source }
}

/// Names a failed file step.
pub(crate) fn io_step(step: impl Into<String>) -> impl FnOnce(io::Error) -> InitError {
    let step = step.into();
    move |source| InitError::Io { step, source }
}

/// The container's stdio as the shim prepared it.
pub(crate) enum ChildStdio {
    /// Pipe ends (or /dev/null for stdin) to install as fds 0, 1, 2.
    Pipes {
        stdin: OwnedFd,
        stdout: OwnedFd,
        stderr: OwnedFd,
    },
    /// Allocate a pty in the container's own devpts and send the master.
    Tty,
}

/// Runs the init; never returns: it execs the command or exits 1 after
/// telling the shim why.
pub(crate) fn run(spec: &ValidSpec, layout: &Layout, channel: OwnedFd, stdio: ChildStdio) -> ! {
    let err = match setup_and_exec(spec, layout, &channel, stdio) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let _ = sync::send(&channel, &SyncMessage::Error(describe(&err)));
    // SAFETY: _exit skips atexit handlers and buffered-IO flushing that
    // belong to the shim's copy of the process state.
    unsafe { libc::_exit(1) }
}

fn setup_and_exec(
    spec: &ValidSpec,
    layout: &Layout,
    channel: &OwnedFd,
    stdio: ChildStdio,
) -> Result<Infallible, InitError> {
    // The shim moves us into the cgroups first: the cgroup namespace made
    // below is rooted at the cgroup we are in when creating it.
    match sync::recv(channel).map_err(sys("waiting for the shim"))? {
        Some(SyncMessage::Go) => {}
        other => {
            return Err(InitError::Sys {
                step: format!("expected go from the shim, got {other:?}"),
                source: Errno::EPROTO,
            })
        }
    }
    reset_signals();
    unshare(
        CloneFlags::CLONE_NEWNS
            | CloneFlags::CLONE_NEWUTS
            | CloneFlags::CLONE_NEWIPC
            | CloneFlags::CLONE_NEWCGROUP,
    )
    .map_err(sys("creating mount, uts, ipc and cgroup namespaces"))?;
    if let Some(netns) = &spec.netns {
        // Before mounting sysfs: sysfs shows the devices of the netns of
        // the process that mounts it.
        let file =
            File::open(netns).map_err(io_step(format!("opening netns {}", netns.display())))?;
        setns(&file, CloneFlags::CLONE_NEWNET)
            .map_err(sys(format!("joining netns {}", netns.display())))?;
    }
    let merged = mounts::prepare_rootfs(spec, layout)?;
    match stdio {
        ChildStdio::Pipes {
            stdin,
            stdout,
            stderr,
        } => install_stdio(&stdin, &stdout, &stderr)?,
        ChildStdio::Tty => console::setup(&merged, channel)?,
    }
    mounts::pivot_root(&merged)?;
    masks::apply()?;
    nix::unistd::sethostname(&spec.hostname)
        .map_err(sys(format!("setting hostname {}", spec.hostname)))?;
    enter_cwd(&spec.cwd)?;
    nix::sys::prctl::set_no_new_privs().map_err(sys("setting no_new_privs"))?;
    capabilities::apply(spec.caps).map_err(sys("dropping capabilities"))?;
    sync::send(channel, &SyncMessage::ExecNow).map_err(sys("telling the shim"))?;
    exec_command(&spec.args, &spec.env)
}

fn install_stdio(stdin: &OwnedFd, stdout: &OwnedFd, stderr: &OwnedFd) -> Result<(), InitError> {
    for (fd, target) in [(stdin, 0), (stdout, 1), (stderr, 2)] {
        // SAFETY: dup2 onto 0..2 of fds this process owns; the originals
        // are close-on-exec and vanish at exec.
        Errno::result(unsafe { libc::dup2(fd.as_raw_fd(), target) })
            .map_err(sys("installing stdio"))?;
    }
    Ok(())
}

/// Docker creates a missing working directory.
fn enter_cwd(cwd: &str) -> Result<(), InitError> {
    std::fs::create_dir_all(cwd).map_err(io_step(format!("creating working directory {cwd}")))?;
    nix::unistd::chdir(cwd).map_err(sys(format!("entering working directory {cwd}")))
}
