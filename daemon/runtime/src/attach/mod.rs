//! Attaching to a container's stdio: the frame format of the shim's
//! `attach.sock`, and the client side that stitches the log (for output
//! produced before the client connected) and the live stream together.

mod frame;

use std::collections::VecDeque;
use std::io;
use std::os::unix::net::UnixStream;

pub use frame::{Frame, Hello, MAX_PAYLOAD};

use crate::container::ExitStatus;
use crate::error::RuntimeError;
use crate::logs::{LogReader, Stream};

/// Output frames of one container: replayed log records first (when asked
/// for), then live frames from the shim, ending with `Frame::Exit`.
pub struct AttachStream {
    id: String,
    tty: bool,
    replay: Option<LogReader>,
    queued: VecDeque<Frame>,
    socket: Option<UnixStream>,
    done: bool,
}

impl AttachStream {
    /// Connected to the shim; `replay` reads the log up to the hello's
    /// offset, after which the pending partial lines continue it.
    pub(crate) fn live(
        id: &str,
        socket: UnixStream,
        hello: Hello,
        replay: Option<LogReader>,
    ) -> Self {
        let mut queued = VecDeque::new();
        if replay.is_some() {
            if !hello.pending_stdout.is_empty() {
                queued.push_back(Frame::Stdout(hello.pending_stdout));
            }
            if !hello.pending_stderr.is_empty() {
                queued.push_back(Frame::Stderr(hello.pending_stderr));
            }
        }
        Self {
            id: id.to_string(),
            tty: hello.tty,
            replay,
            queued,
            socket: Some(socket),
            done: false,
        }
    }

    /// The shim is gone: the whole log, then the recorded exit (if any).
    pub(crate) fn finished(
        id: &str,
        tty: bool,
        replay: LogReader,
        exit: Option<ExitStatus>,
    ) -> Self {
        let queued = exit
            .map(|e| Frame::Exit {
                code: e.code,
                oom_killed: e.oom_killed,
            })
            .into_iter()
            .collect();
        Self {
            id: id.to_string(),
            tty,
            replay: Some(replay),
            queued,
            socket: None,
            done: false,
        }
    }

    /// Whether output is a terminal's (all of it arrives as stdout).
    pub fn tty(&self) -> bool {
        self.tty
    }

    /// The next output frame (`Stdout`, `Stderr`, finally `Exit`); `None`
    /// once the stream ended.
    pub fn read_frame(&mut self) -> Result<Option<Frame>, RuntimeError> {
        if let Some(replay) = &mut self.replay {
            match replay.next() {
                Some(Ok(entry)) => {
                    let bytes = entry.log.into_bytes();
                    return Ok(Some(match entry.stream {
                        Stream::Stdout => Frame::Stdout(bytes),
                        Stream::Stderr => Frame::Stderr(bytes),
                    }));
                }
                Some(Err(e)) => return Err(self.protocol(format!("replaying the log: {e}"))),
                None => self.replay = None,
            }
        }
        if let Some(frame) = self.queued.pop_front() {
            return Ok(Some(frame));
        }
        let Some(socket) = self.socket.as_mut().filter(|_| !self.done) else {
            return Ok(None);
        };
        match Frame::read_from(socket) {
            Ok(Some(frame)) => {
                self.done = matches!(frame, Frame::Exit { .. });
                Ok(Some(frame))
            }
            Ok(None) => {
                self.done = true;
                Ok(None)
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                self.done = true;
                Ok(None)
            }
            Err(e) => Err(self.protocol(e.to_string())),
        }
    }

    /// A handle to send stdin and resizes while another thread reads.
    pub fn writer(&self) -> Result<AttachWriter, RuntimeError> {
        let socket = self
            .socket
            .as_ref()
            .ok_or_else(|| RuntimeError::NotRunning {
                id: self.id.clone(),
            })?;
        let socket = socket
            .try_clone()
            .map_err(|e| self.protocol(e.to_string()))?;
        Ok(AttachWriter {
            id: self.id.clone(),
            socket,
        })
    }

    fn protocol(&self, reason: String) -> RuntimeError {
        RuntimeError::AttachProtocol {
            id: self.id.clone(),
            reason,
        }
    }
}

/// Sends client frames to the shim.
pub struct AttachWriter {
    id: String,
    socket: UnixStream,
}

impl AttachWriter {
    pub fn send_stdin(&mut self, bytes: &[u8]) -> Result<(), RuntimeError> {
        for chunk in bytes.chunks(MAX_PAYLOAD) {
            self.send(&Frame::Stdin(chunk.to_vec()))?;
        }
        Ok(())
    }

    /// The container sees end-of-file on stdin; with a tty, the terminal's
    /// EOF character (^D) is typed instead.
    pub fn close_stdin(&mut self) -> Result<(), RuntimeError> {
        self.send(&Frame::CloseStdin)
    }

    /// Ends the attachment without touching the container: the shim drops
    /// this client, and a `read_frame` blocked on another thread returns
    /// `None` (the end of the stream without an exit).
    pub fn detach(&self) {
        let _ = self.socket.shutdown(std::net::Shutdown::Both);
    }

    pub fn resize(&mut self, rows: u16, cols: u16) -> Result<(), RuntimeError> {
        self.send(&Frame::Resize { rows, cols })
    }

    fn send(&mut self, frame: &Frame) -> Result<(), RuntimeError> {
        frame
            .write_to(&mut self.socket)
            .map_err(|e| RuntimeError::AttachProtocol {
                id: self.id.clone(),
                reason: e.to_string(),
            })
    }
}
