//! The container's stdio as pipes (shim end, container end) or a pty whose
//! master arrives from the container's init.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::unistd::pipe2;

use crate::init::ChildStdio;
use crate::logs::Stream;

/// The shim's ends.
pub(crate) struct ShimStdio {
    /// Readable ends the shim drains into the log and attach clients.
    pub(crate) outputs: Vec<(OwnedFd, Stream)>,
    /// Where attach clients' stdin goes (`-i`).
    pub(crate) input: Option<OwnedFd>,
    /// The pty master, for window-size changes (`-t`).
    pub(crate) pty: Option<OwnedFd>,
}

/// Pipes for a container without a tty; with one, the init makes the pty
/// and `ShimStdio::from_pty` fills in the shim's side later.
pub(crate) fn prepare(tty: bool, stdin: bool) -> io::Result<(ChildStdio, Option<ShimStdio>)> {
    if tty {
        return Ok((ChildStdio::Tty, None));
    }
    let (out_r, out_w) = pipe2(OFlag::O_CLOEXEC)?;
    let (err_r, err_w) = pipe2(OFlag::O_CLOEXEC)?;
    let (child_in, input) = if stdin {
        let (in_r, in_w) = pipe2(OFlag::O_CLOEXEC)?;
        (in_r, Some(in_w))
    } else {
        (OwnedFd::from(File::open("/dev/null")?), None)
    };
    let shim = ShimStdio {
        outputs: vec![(out_r, Stream::Stdout), (err_r, Stream::Stderr)],
        input,
        pty: None,
    };
    for fd in shim
        .outputs
        .iter()
        .map(|(fd, _)| fd)
        .chain(shim.input.as_ref())
    {
        set_nonblocking(fd)?;
    }
    let child = ChildStdio::Pipes {
        stdin: child_in,
        stdout: out_w,
        stderr: err_w,
    };
    Ok((child, Some(shim)))
}

impl ShimStdio {
    /// The shim's side of a container console: all output is stdout.
    pub(crate) fn from_pty(master: OwnedFd, stdin: bool) -> io::Result<Self> {
        set_nonblocking(&master)?;
        let input = if stdin {
            Some(master.try_clone()?)
        } else {
            None
        };
        Ok(Self {
            outputs: vec![(master.try_clone()?, Stream::Stdout)],
            input,
            pty: Some(master),
        })
    }
}

pub(crate) fn set_nonblocking(fd: &impl AsFd) -> io::Result<()> {
    let flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL)?);
    fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(())
}
