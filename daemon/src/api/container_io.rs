//! The byte streams of attach and exec. Output is read on a blocking
//! thread and fed to the client through a channel; the client's input
//! (stdin, terminal resizes, the end of its stdin) is forwarded on another
//! blocking thread to an [`InputSink`]: the shim's attach socket or the
//! exec helper's stdin. A client that goes away detaches: the sink is told,
//! the container or process keeps running.

use std::io::{self, Read, Write};
use std::process::ChildStdin;

use ::pb::v1 as pb;
use cnm_runtime::attach::{AttachWriter, Frame, MAX_PAYLOAD};
use pb::client_input::Kind as InputKind;
use pb::output_chunk::Kind as ChunkKind;
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, Streaming};

pub(super) type Chunks = ReceiverStream<Result<pb::OutputChunk, Status>>;
pub(super) type Sender = mpsc::Sender<Result<pb::OutputChunk, Status>>;

/// Where a client's input goes.
pub(super) trait InputSink: Send + 'static {
    fn stdin(&mut self, bytes: &[u8]) -> io::Result<()>;
    fn resize(&mut self, rows: u16, cols: u16) -> io::Result<()>;
    fn close_stdin(&mut self) -> io::Result<()>;
    /// The client went away (detached or died).
    fn detach(&mut self);
}

/// Runs `produce` on the blocking pool, streaming what it sends, and
/// forwards the client's `input` to `sink` until `produce` returns or the
/// client goes away. `to_input` picks the [`pb::ClientInput`] out of a
/// request (the first request, already taken, named the target).
pub(super) fn spawn_session<T: Send + 'static>(
    input: Streaming<T>,
    to_input: fn(T) -> Option<pb::ClientInput>,
    sink: impl InputSink,
    produce: impl FnOnce(Sender) + Send + 'static,
) -> Chunks {
    let (done_tx, done_rx) = oneshot::channel::<()>();
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || forward_input(&handle, input, to_input, sink, done_rx));
    spawn_stream(move |tx| {
        produce(tx);
        // Ends the forwarding (dropping the sender wakes it).
        drop(done_tx);
    })
}

fn forward_input<T>(
    handle: &tokio::runtime::Handle,
    mut input: Streaming<T>,
    to_input: fn(T) -> Option<pb::ClientInput>,
    mut sink: impl InputSink,
    mut done: oneshot::Receiver<()>,
) {
    loop {
        let next = handle.block_on(async {
            tokio::select! {
                message = input.message() => Some(message),
                _ = &mut done => None,
            }
        });
        let message = match next {
            // The output ended: the container or process exited.
            None => return,
            Some(Ok(Some(message))) => message,
            // The client sends nothing more but still reads: keep the sink
            // (an exec's stdin pipe) until the output ends.
            Some(Ok(None)) => {
                let _ = handle.block_on(done);
                return;
            }
            Some(Err(_)) => {
                sink.detach();
                return;
            }
        };
        let applied = match to_input(message).and_then(|i| i.kind) {
            Some(InputKind::Stdin(bytes)) => sink.stdin(&bytes),
            Some(InputKind::Resize(size)) => {
                sink.resize(dimension(size.rows), dimension(size.cols))
            }
            Some(InputKind::CloseStdin(_)) => sink.close_stdin(),
            None => Ok(()),
        };
        if let Err(err) = applied {
            // The container or process stopped taking input.
            tracing::debug!(error = %err, "forwarding client input");
            return;
        }
    }
}

/// A terminal dimension as the kernel takes it.
pub(super) fn dimension(n: u32) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

/// Runs `produce` on the blocking pool, streaming what it sends.
pub(super) fn spawn_stream(produce: impl FnOnce(Sender) + Send + 'static) -> Chunks {
    let (tx, rx) = mpsc::channel(64);
    tokio::task::spawn_blocking(move || produce(tx));
    ReceiverStream::new(rx)
}

/// False once the client went away.
pub(super) fn send(tx: &Sender, kind: ChunkKind) -> bool {
    tx.blocking_send(Ok(pb::OutputChunk { kind: Some(kind) }))
        .is_ok()
}

/// Streams a pipe of the exec helper until it ends or the client left.
pub(super) fn pump(pipe: Option<impl Read>, tx: &Sender, wrap: fn(Vec<u8>) -> ChunkKind) {
    let Some(mut pipe) = pipe else { return };
    let mut buf = vec![0u8; 32 * 1024];
    while let Ok(n) = pipe.read(&mut buf) {
        if n == 0 || !send(tx, wrap(buf[..n].to_vec())) {
            return;
        }
    }
}

/// Input of an attach: frames to the shim, when the container was
/// reachable (a shim that already exited takes nothing).
pub(super) struct ShimSink {
    pub(super) writer: Option<AttachWriter>,
    /// The client asked to forward stdin (`-i`).
    pub(super) stdin: bool,
}

impl InputSink for ShimSink {
    fn stdin(&mut self, bytes: &[u8]) -> io::Result<()> {
        if !self.stdin {
            return Ok(());
        }
        self.with(|w| w.send_stdin(bytes))
    }

    fn resize(&mut self, rows: u16, cols: u16) -> io::Result<()> {
        self.with(|w| w.resize(rows, cols))
    }

    fn close_stdin(&mut self) -> io::Result<()> {
        if !self.stdin {
            return Ok(());
        }
        self.with(AttachWriter::close_stdin)
    }

    fn detach(&mut self) {
        // Unblocks the output thread, which is reading from the shim.
        if let Some(writer) = &self.writer {
            writer.detach();
        }
    }
}

impl ShimSink {
    fn with(
        &mut self,
        send: impl FnOnce(&mut AttachWriter) -> Result<(), cnm_runtime::RuntimeError>,
    ) -> io::Result<()> {
        match &mut self.writer {
            Some(writer) => send(writer).map_err(io::Error::other),
            None => Ok(()),
        }
    }
}

/// Input of an exec: the helper's stdin, raw bytes without a tty, attach
/// frames with one (see `cnm_runtime::ExecSpec::tty`), or nothing.
pub(super) enum ExecSink {
    Raw(Option<ChildStdin>),
    /// `stdin`: the client forwards it (`-i`); else only resizes pass.
    Framed {
        pipe: ChildStdin,
        stdin: bool,
    },
    Closed,
}

impl InputSink for ExecSink {
    fn stdin(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            ExecSink::Raw(Some(pipe)) => pipe.write_all(bytes),
            ExecSink::Framed { pipe, stdin: true } => bytes
                .chunks(MAX_PAYLOAD)
                .try_for_each(|chunk| Frame::Stdin(chunk.to_vec()).write_to(pipe)),
            _ => Ok(()),
        }
    }

    fn resize(&mut self, rows: u16, cols: u16) -> io::Result<()> {
        match self {
            ExecSink::Framed { pipe, .. } => Frame::Resize { rows, cols }.write_to(pipe),
            _ => Ok(()),
        }
    }

    fn close_stdin(&mut self) -> io::Result<()> {
        match self {
            ExecSink::Raw(pipe) => {
                pipe.take();
                Ok(())
            }
            ExecSink::Framed { pipe, stdin: true } => Frame::CloseStdin.write_to(pipe),
            _ => Ok(()),
        }
    }

    fn detach(&mut self) {
        // Dropping the pipe: a process without a tty reads end-of-file; a
        // tty's process keeps running with the helper draining its output.
        *self = ExecSink::Closed;
    }
}
