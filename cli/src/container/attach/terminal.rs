//! The user's terminal during a `-it` session: raw mode on stdin (every
//! key goes to the container, which has its own terminal to interpret
//! them), restored when the guard drops, and the window size.

use std::io::{self, IsTerminal};
use std::os::fd::AsRawFd;

use anyhow::{Context, Result};
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg, Termios};

/// Stdin in raw mode until dropped.
pub struct RawMode {
    saved: Termios,
}

impl RawMode {
    /// Raw mode on stdin when it is a terminal; `None` otherwise (piped
    /// input is forwarded as it comes, as `docker run -t` does).
    pub fn enable() -> Result<Option<RawMode>> {
        let stdin = io::stdin();
        if !stdin.is_terminal() {
            return Ok(None);
        }
        let saved = tcgetattr(&stdin).context("cannot read the terminal's settings")?;
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(&stdin, SetArg::TCSANOW, &raw).context("cannot put the terminal in raw mode")?;
        Ok(Some(RawMode { saved }))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // Output already written must not be reinterpreted: wait for it.
        let _ = tcsetattr(io::stdin(), SetArg::TCSADRAIN, &self.saved);
    }
}

/// Rows and columns of the terminal on stdout, else on stdin; `None` when
/// neither is a terminal.
pub fn window_size() -> Option<(u16, u16)> {
    let out = io::stdout();
    let input = io::stdin();
    let fd = if out.is_terminal() {
        out.as_raw_fd()
    } else if input.is_terminal() {
        input.as_raw_fd()
    } else {
        return None;
    };
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one winsize into memory we own.
    let done = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut size) };
    (done == 0 && size.ws_row > 0 && size.ws_col > 0).then_some((size.ws_row, size.ws_col))
}
