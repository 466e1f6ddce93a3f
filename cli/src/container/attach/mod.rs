//! An attached session of `cnm run` (without `-d`) and `cnm exec`: the
//! container's output to our stdout/stderr; with `-i` our stdin to the
//! container; with `-t` the terminal in raw mode, its size (at the start
//! and on SIGWINCH) to the container's pty, and Ctrl-P Ctrl-Q to detach.
//!
//! Both calls are bidirectional gRPC streams to cnmd: the first request
//! names the target (made by the caller), then [`ClientInput`]s follow.

mod detach_keys;
mod terminal;

use std::io::{Read, Write};

use anyhow::{Context, Result};
use pb::v1::client_input::Kind as InputKind;
use pb::v1::output_chunk::Kind;
use pb::v1::{ClientInput, CloseStdin, OutputChunk, TtySize};
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;

pub use terminal::window_size;

use crate::error;
use detach_keys::DetachKeys;
use terminal::RawMode;

/// What the session forwards.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// The target runs on a pty (`-t`).
    pub tty: bool,
    /// Forward our stdin (`-i`).
    pub stdin: bool,
}

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The container or process exited with this code.
    Exited(i32),
    /// The user typed the detach keys; it keeps running.
    Detached,
    /// The output ended without an exit (cnmd went away).
    Closed,
    /// We got this signal (in raw mode, where the terminal is ours to
    /// restore first).
    Signalled(i32),
}

/// The requests of a session: the first one, then the client's input.
pub struct Requests<T> {
    tx: mpsc::Sender<T>,
    wrap: fn(ClientInput) -> T,
}

/// The request stream to hand to the call, and its sending side; the
/// terminal size goes right after `first` with a tty.
pub fn requests<T: Send + 'static>(
    first: T,
    wrap: fn(ClientInput) -> T,
    options: Options,
) -> (ReceiverStream<T>, Requests<T>) {
    let (tx, rx) = mpsc::channel(64);
    let requests = Requests { tx, wrap };
    // The channel is empty and has room: these cannot fail.
    let _ = requests.tx.try_send(first);
    if let Some((rows, cols)) = window_size().filter(|_| options.tty) {
        let _ = requests.tx.try_send(wrap(resize(rows, cols)));
    }
    (ReceiverStream::new(rx), requests)
}

impl<T> Requests<T> {
    /// False once cnmd stopped reading (the output says why).
    async fn send(&self, kind: InputKind) -> bool {
        let input = ClientInput { kind: Some(kind) };
        self.tx.send((self.wrap)(input)).await.is_ok()
    }
}

fn resize(rows: u16, cols: u16) -> ClientInput {
    ClientInput {
        kind: Some(InputKind::Resize(TtySize {
            rows: rows.into(),
            cols: cols.into(),
        })),
    }
}

/// Runs the session until the output ends, the user detaches or a signal
/// ends us. The terminal is restored on every way out.
pub async fn run<T>(
    mut output: Streaming<OutputChunk>,
    requests: Requests<T>,
    options: Options,
) -> Result<Ending> {
    let raw = if options.tty && options.stdin {
        RawMode::enable()?
    } else {
        None
    };
    let mut input = options.stdin.then(read_stdin);
    let mut detach_keys = (options.tty && options.stdin).then(DetachKeys::default);
    let mut winch = optional_signal(options.tty, SignalKind::window_change())?;
    // In raw mode the terminal makes no SIGINT; these come from elsewhere
    // and must not leave the terminal raw.
    let mut term = optional_signal(raw.is_some(), SignalKind::terminate())?;
    let mut hangup = optional_signal(raw.is_some(), SignalKind::hangup())?;
    let mut interrupt = optional_signal(raw.is_some(), SignalKind::interrupt())?;
    let mut exit = None;
    loop {
        tokio::select! {
            chunk = output.message() => match chunk.map_err(error::from_status)? {
                Some(chunk) => {
                    if let Some(code) = write_chunk(chunk)? {
                        exit = Some(code);
                    }
                }
                None => break,
            },
            read = recv_some(&mut input) => match read {
                Some(bytes) => {
                    let scan = match &mut detach_keys {
                        Some(keys) => keys.scan(&bytes),
                        None => detach_keys::Scan { forward: bytes, detach: false },
                    };
                    if !scan.forward.is_empty() {
                        requests.send(InputKind::Stdin(scan.forward)).await;
                    }
                    if scan.detach {
                        return Ok(Ending::Detached);
                    }
                }
                None => {
                    input = None;
                    requests.send(InputKind::CloseStdin(CloseStdin {})).await;
                }
            },
            Some(()) = recv_signal(&mut winch) => {
                if let Some((rows, cols)) = window_size() {
                    let kind = resize(rows, cols).kind;
                    if let Some(kind) = kind {
                        requests.send(kind).await;
                    }
                }
            },
            Some(()) = recv_signal(&mut term) => return Ok(Ending::Signalled(libc::SIGTERM)),
            Some(()) = recv_signal(&mut hangup) => return Ok(Ending::Signalled(libc::SIGHUP)),
            Some(()) = recv_signal(&mut interrupt) => return Ok(Ending::Signalled(libc::SIGINT)),
        }
    }
    drop(raw);
    Ok(exit.map_or(Ending::Closed, Ending::Exited))
}

/// Writes one output chunk; returns the exit code if it was the exit.
pub fn write_chunk(chunk: OutputChunk) -> Result<Option<i32>> {
    match chunk.kind {
        Some(Kind::Stdout(bytes)) => {
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes)
                .and_then(|()| out.flush())
                .context("cannot write to stdout")?;
        }
        Some(Kind::Stderr(bytes)) => {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(&bytes).and_then(|()| err.flush());
        }
        Some(Kind::Exit(info)) => return Ok(Some(info.code)),
        None => {}
    }
    Ok(None)
}

/// Our stdin, read on a plain thread (a blocking read cannot be
/// cancelled; this thread never keeps the process from exiting). An empty
/// read ends the channel: end of file.
fn read_stdin() -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel(16);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin();
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    if tx.blocking_send(buf[..n].to_vec()).is_err() {
                        return;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    });
    rx
}

/// The next read of stdin, `None` at its end; pending forever once it
/// ended (the select then waits on the rest).
async fn recv_some(input: &mut Option<mpsc::Receiver<Vec<u8>>>) -> Option<Vec<u8>> {
    match input {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

fn optional_signal(wanted: bool, kind: SignalKind) -> Result<Option<Signal>> {
    if !wanted {
        return Ok(None);
    }
    signal(kind)
        .map(Some)
        .context("cannot install a signal handler")
}

async fn recv_signal(signal: &mut Option<Signal>) -> Option<()> {
    match signal {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}
