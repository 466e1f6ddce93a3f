//! The tty relay of `cnm-shim exec -t`: the pty's output goes to our
//! stdout, and our stdin carries attach frames (stdin bytes, resizes,
//! close), so the caller can resize the terminal while the process runs.
//! Input for the pty is buffered and written as the pty takes it, so a
//! process that stops reading can never stall the relay of its output.

use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::unistd::{read, write};

use super::stdio::{eof_char, set_nonblocking, set_window_size};
use crate::attach::Frame;

/// Input waiting for the pty beyond this is not read from the caller
/// until the process takes some: the caller's writes then block.
const MAX_PENDING: usize = 1 << 20;

/// Relays until the pty's last slave closes (EIO on read).
pub(super) fn relay(master: &OwnedFd) {
    if let Err(e) = set_nonblocking(master) {
        eprintln!("cnm-shim exec: pty: {e}");
        return;
    }
    let stdin = std::io::stdin();
    let mut input = Input::default();
    let mut stdin_open = true;
    let mut stdout_open = true;
    let mut buf = [0u8; 16 * 1024];
    loop {
        let mut master_flags = PollFlags::POLLIN;
        if !input.for_pty.is_empty() {
            master_flags |= PollFlags::POLLOUT;
        }
        let mut fds = vec![PollFd::new(master.as_fd(), master_flags)];
        if stdin_open && input.for_pty.len() < MAX_PENDING {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(Errno::EINTR) => continue,
            Err(_) => return,
        }
        let master_events = fds[0].revents().unwrap_or(PollFlags::empty());
        let stdin_ready = fds.get(1).and_then(PollFd::any).unwrap_or(false);
        if master_events.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR) {
            match read(master, &mut buf) {
                Ok(0) => return,
                Ok(n) if stdout_open => {
                    let mut out = std::io::stdout().lock();
                    // The caller went away: keep draining the pty so the
                    // process is not blocked on a full terminal.
                    stdout_open = out.write_all(&buf[..n]).and_then(|()| out.flush()).is_ok();
                }
                Ok(_) | Err(Errno::EAGAIN | Errno::EINTR) => {}
                Err(_) => return,
            }
        }
        if master_events.contains(PollFlags::POLLOUT) {
            match write(master, &input.for_pty) {
                Ok(n) => {
                    input.for_pty.drain(..n);
                }
                Err(Errno::EAGAIN | Errno::EINTR) => {}
                Err(_) => input.for_pty.clear(),
            }
        }
        if stdin_ready {
            match read(stdin.as_fd(), &mut buf) {
                Ok(0) | Err(_) => stdin_open = false,
                Ok(n) => stdin_open = input.receive(&buf[..n], master),
            }
        }
    }
}

/// The caller's frames, decoded.
#[derive(Default)]
struct Input {
    frames: Vec<u8>,
    /// Bytes for the process, waiting for room in the pty.
    for_pty: Vec<u8>,
}

impl Input {
    /// Applies the complete frames in `bytes`; false on a protocol error.
    fn receive(&mut self, bytes: &[u8], master: &OwnedFd) -> bool {
        self.frames.extend_from_slice(bytes);
        loop {
            match Frame::decode(&self.frames) {
                Ok(Some((frame, used))) => {
                    self.frames.drain(..used);
                    match frame {
                        Frame::Stdin(data) => self.for_pty.extend_from_slice(&data),
                        Frame::Resize { rows, cols } => set_window_size(master, rows, cols),
                        Frame::CloseStdin => self.for_pty.push(eof_char(master)),
                        _ => {}
                    }
                }
                Ok(None) => return true,
                Err(e) => {
                    eprintln!("cnm-shim exec: ignoring further input: {e}");
                    return false;
                }
            }
        }
    }
}
