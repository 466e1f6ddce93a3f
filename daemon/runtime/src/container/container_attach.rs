//! `Container::attach`: connect to the shim's attach socket. With
//! `from_start` (for `cnm run` without -d) the output produced before the
//! connection is replayed from the log, so a fast command loses nothing;
//! if the shim already exited, the log and the recorded exit stand in.
//! Replays cover the current run only, though the log holds every run.

use std::os::unix::net::UnixStream;
use std::time::Duration;

use super::{Container, ContainerState};
use crate::attach::{AttachStream, Frame};
use crate::error::RuntimeError;
use crate::logs::LogReader;

impl Container {
    /// Attaches to the container's stdio (see [`crate::attach::Frame`]).
    pub fn attach(&self, from_start: bool) -> Result<AttachStream, RuntimeError> {
        let path = self.layout.attach_socket();
        let attach_err = |source| RuntimeError::Attach {
            id: self.id().to_string(),
            path: path.clone(),
            source,
        };
        let connected = UnixStream::connect(&path).and_then(|mut socket| {
            // A shim that is exiting may accept nothing; do not hang on it.
            socket.set_read_timeout(Some(Duration::from_secs(5)))?;
            let first = Frame::read_from(&mut socket)?;
            socket.set_read_timeout(None)?;
            Ok((socket, first))
        });
        // Only this run's output: earlier runs share the log file.
        let open_log =
            || LogReader::open_at(&self.log_path(), self.start.log_start).map_err(attach_err);
        match connected {
            Ok((socket, Some(Frame::Hello(hello)))) => {
                let replay = if from_start {
                    Some(open_log()?.with_limit(hello.log_offset))
                } else {
                    None
                };
                return Ok(AttachStream::live(self.id(), socket, hello, replay));
            }
            Ok((_, Some(other))) => {
                return Err(RuntimeError::AttachProtocol {
                    id: self.id().to_string(),
                    reason: format!("expected hello, got {other:?}"),
                })
            }
            Ok((_, None)) | Err(_) => {}
        }
        // No shim to talk to (it exited after recording the exit).
        if !from_start {
            return match self.state()? {
                ContainerState::Running { .. } => {
                    Err(attach_err(std::io::ErrorKind::NotConnected.into()))
                }
                _ => Err(RuntimeError::NotRunning {
                    id: self.id().to_string(),
                }),
            };
        }
        let exit = self.await_record(Duration::from_secs(5))?.map(Into::into);
        Ok(AttachStream::finished(
            self.id(),
            self.tty(),
            open_log()?,
            exit,
        ))
    }
}
