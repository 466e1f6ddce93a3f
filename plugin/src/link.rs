//! The connection to one plugin: connect with a timeout, run the plugin's
//! set-up (handshake and state replay) on every new connection before any
//! other call, give every call a deadline, and turn transport failures into
//! messages that say what to do.
//!
//! Restarts are found without polling. tonic's `Channel` would reconnect on
//! its own after the plugin went away, and the first call would then reach
//! a plugin that has not been replayed to. So each channel gets a connector
//! that hands out its one connected socket and refuses any second
//! connection, marking the channel lost. A call that fails because the
//! connection broke (lost channel, broken pipe, reset) is sent once more on
//! a fresh, replayed connection: usually it never reached the old plugin,
//! and the protocol asks verbs to tolerate a repeat in case it did. A call
//! that hit its deadline is not repeated (the plugin is hung; a second try
//! would only double the wait).

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};
use tonic::{Code, Status};

/// How long connecting to a plugin's socket may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// The deadline of every call. With [`CONNECT_TIMEOUT`], a plugin that is
/// down or hung costs a caller less than 5 s.
pub const CALL_TIMEOUT: Duration = Duration::from_millis(3500);

pub(crate) struct Link {
    socket: PathBuf,
    current: tokio::sync::Mutex<Option<Conn>>,
}

/// One connection, with its set-up done.
#[derive(Clone)]
pub(crate) struct Conn {
    channel: Channel,
    /// Set when tonic wanted a second connection for this channel: the one
    /// it was made for is gone.
    lost: Arc<AtomicBool>,
}

impl Conn {
    fn lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    fn same(&self, other: &Conn) -> bool {
        Arc::ptr_eq(&self.lost, &other.lost)
    }
}

impl Link {
    pub(crate) fn new(socket: PathBuf) -> Link {
        Link {
            socket,
            current: tokio::sync::Mutex::new(None),
        }
    }

    pub(crate) fn socket(&self) -> &Path {
        &self.socket
    }

    /// The current connection, or a new one on which `setup` has run.
    /// Callers arriving meanwhile wait, so set-up runs once per connection.
    pub(crate) async fn ready<S, SFut>(&self, setup: &S) -> Result<Channel, Status>
    where
        S: Fn(Channel) -> SFut,
        SFut: Future<Output = Result<(), Status>>,
    {
        self.ready_conn(setup).await.map(|c| c.channel)
    }

    async fn ready_conn<S, SFut>(&self, setup: &S) -> Result<Conn, Status>
    where
        S: Fn(Channel) -> SFut,
        SFut: Future<Output = Result<(), Status>>,
    {
        let mut current = self.current.lock().await;
        if let Some(conn) = current.as_ref().filter(|c| !c.lost()) {
            return Ok(conn.clone());
        }
        *current = None;
        let conn = self.connect().await?;
        setup(conn.channel.clone())
            .await
            .map_err(|status| self.explain(status))?;
        *current = Some(conn.clone());
        Ok(conn)
    }

    /// Runs `call` on a ready connection; once more on a new connection if
    /// the connection broke under it (the plugin went away or restarted).
    pub(crate) async fn call<T, S, SFut, C, CFut>(&self, setup: &S, call: C) -> Result<T, Status>
    where
        S: Fn(Channel) -> SFut,
        SFut: Future<Output = Result<(), Status>>,
        C: Fn(Channel) -> CFut,
        CFut: Future<Output = Result<T, Status>>,
    {
        let conn = self.ready_conn(setup).await?;
        let status = match call(conn.channel.clone()).await {
            Ok(value) => return Ok(value),
            Err(status) => status,
        };
        if conn.lost() || is_broken(&status) {
            tracing::debug!(socket = %self.socket.display(), error = %status.message(),
                "plugin connection broke; reconnecting");
            self.forget(&conn).await;
            let conn = self.ready_conn(setup).await?;
            return call(conn.channel.clone())
                .await
                .map_err(|s| self.explain(s));
        }
        if is_transport(&status) {
            // Dead or hung mid-call: start afresh (and replay) next time.
            self.forget(&conn).await;
        }
        Err(self.explain(status))
    }

    async fn forget(&self, conn: &Conn) {
        let mut current = self.current.lock().await;
        if current.as_ref().is_some_and(|c| c.same(conn)) {
            *current = None;
        }
    }

    async fn connect(&self) -> Result<Conn, Status> {
        let stream =
            match tokio::time::timeout(CONNECT_TIMEOUT, UnixStream::connect(&self.socket)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(err)) => return Err(self.unreachable(&err)),
                Err(_) => {
                    return Err(Status::unavailable(format!(
                        "the plugin at {} did not accept a connection within {CONNECT_TIMEOUT:?}; \
                     is it hung?",
                        self.socket.display()
                    )))
                }
            };
        let lost = Arc::new(AtomicBool::new(false));
        let flag = lost.clone();
        let mut stream = Some(stream);
        let connector = tower::service_fn(move |_: Uri| {
            let stream = stream.take();
            let flag = flag.clone();
            async move {
                stream.map(TokioIo::new).ok_or_else(|| {
                    flag.store(true, Ordering::SeqCst);
                    io::Error::new(io::ErrorKind::NotConnected, "plugin connection lost")
                })
            }
        });
        // The URI only fills the HTTP/2 `:authority` header.
        let endpoint = Endpoint::from_static("http://plugin")
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(CALL_TIMEOUT);
        let channel =
            match tokio::time::timeout(CONNECT_TIMEOUT, endpoint.connect_with_connector(connector))
                .await
            {
                Ok(Ok(channel)) => channel,
                Ok(Err(err)) => {
                    return Err(Status::unavailable(format!(
                        "cannot talk to the plugin at {}: {}",
                        self.socket.display(),
                        crate::wire::full_message(&err)
                    )))
                }
                Err(_) => {
                    return Err(Status::unavailable(format!(
                        "the plugin at {} did not answer within {CONNECT_TIMEOUT:?}; is it hung?",
                        self.socket.display()
                    )))
                }
            };
        tracing::debug!(socket = %self.socket.display(), "connected to plugin");
        Ok(Conn { channel, lost })
    }

    fn unreachable(&self, err: &io::Error) -> Status {
        let advice = match err.kind() {
            io::ErrorKind::NotFound => "the socket is gone; start the plugin",
            io::ErrorKind::ConnectionRefused => "nothing listens there; start the plugin",
            io::ErrorKind::PermissionDenied => "permission denied; check the socket's mode",
            _ => "is the plugin running?",
        };
        Status::unavailable(format!(
            "cannot reach the plugin at {}: {err}; {advice}",
            self.socket.display()
        ))
    }

    /// Rewrites failures of the transport (tonic's statuses carry their
    /// cause; a plugin's own never do) so they name the plugin's socket.
    fn explain(&self, status: Status) -> Status {
        if std::error::Error::source(&status).is_none() {
            return status;
        }
        let socket = self.socket.display();
        match status.code() {
            Code::DeadlineExceeded | Code::Cancelled => Status::unavailable(format!(
                "the plugin at {socket} did not answer within {CALL_TIMEOUT:?}; is it hung?"
            )),
            _ => Status::unavailable(format!(
                "lost the connection to the plugin at {socket} ({}); is it running?",
                crate::wire::full_message(&status)
            )),
        }
    }
}

/// Whether a status says the connection failed rather than the plugin.
pub(crate) fn is_transport(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled
    )
}

/// Whether tonic failed the call because the connection broke (not a
/// deadline, not the plugin's own answer, which never carries a source).
fn is_broken(status: &Status) -> bool {
    std::error::Error::source(status).is_some()
        && !matches!(status.code(), Code::DeadlineExceeded | Code::Cancelled)
}
