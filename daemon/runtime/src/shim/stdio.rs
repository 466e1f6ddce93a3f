//! The container's stdio as pipes (shim end, container end) or a pty whose
//! master arrives from the container's init.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::termios::{tcgetattr, SpecialCharacterIndices};
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

/// Sets the terminal size of a pty (the kernel signals SIGWINCH to its
/// foreground process group).
pub(crate) fn set_window_size(pty: &impl AsRawFd, rows: u16, cols: u16) {
    let size = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize that outlives the call.
    unsafe { libc::ioctl(pty.as_raw_fd(), libc::TIOCSWINSZ, &size) };
}

/// The byte that ends the input of a program reading the pty (^D unless
/// the program changed it). A pty has no end of file of its own, so a
/// client whose input ended types this instead, as a user would.
pub(crate) fn eof_char(pty: &impl AsFd) -> u8 {
    // On the master, the terminal attributes are the slave's.
    tcgetattr(pty)
        .map(|t| t.control_chars[SpecialCharacterIndices::VEOF as usize])
        .unwrap_or(CTRL_D)
}

const CTRL_D: u8 = 0x04;
