//! Where cnmd listens: unix sockets (0660, root and an optional group) and
//! TCP ports that speak only mutual TLS. Every listener feeds one stream of
//! connections to the gRPC server, within the connection limits of
//! [`super::limits`]; a connection that fails its handshake or never speaks
//! is closed without reaching the server.

mod addr;
mod conn;
mod tls;
mod unix;

pub use addr::ListenAddr;
pub use conn::{call_span, Conn};
pub use tls::TlsFiles;

use std::convert::Infallible;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context};
use nix::unistd::{Gid, Group};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};

use super::limits::{MAX_TCP_CONNECTIONS, MAX_UNIX_CONNECTIONS, TLS_HANDSHAKE_TIMEOUT};

/// Everything `-H`, `--tlsverify` and `--group` asked for, checked and
/// loaded before cnmd touches any state.
pub struct ListenPlan {
    addrs: Vec<ListenAddr>,
    tls: Option<Arc<rustls::ServerConfig>>,
    group: Option<Gid>,
}

impl ListenPlan {
    /// Refuses a TCP listener without mutual TLS, loads the TLS files and
    /// looks the socket group up.
    pub fn new(
        addrs: Vec<ListenAddr>,
        tls: Option<TlsFiles>,
        group: Option<&str>,
    ) -> anyhow::Result<ListenPlan> {
        let tcp = addrs.iter().find(|a| matches!(a, ListenAddr::Tcp { .. }));
        let tls = match (tcp, tls) {
            (Some(addr), None) => bail!(
                "refusing to listen on {addr} without mutual TLS: whoever reaches that port \
                 would control cnmd, and through it this host. Add --tlsverify --tlscacert CA \
                 --tlscert CERT --tlskey KEY (docs/tls.md shows how to make them)"
            ),
            (Some(_), Some(files)) => Some(files.server_config()?),
            (None, Some(_)) => {
                tracing::warn!("--tlsverify has no effect: no -H tcp:// listener");
                None
            }
            (None, None) => None,
        };
        let group = group.map(lookup_group).transpose()?;
        if group.is_some() && !addrs.iter().any(|a| matches!(a, ListenAddr::Unix(_))) {
            tracing::warn!("--group has no effect: no unix socket to listen on");
        }
        Ok(ListenPlan { addrs, tls, group })
    }

    /// Binds every listener; unix sockets get their mode and group before
    /// anyone can connect. TCP first: a unix socket that accepts then means
    /// every listener is up. Needs a tokio runtime.
    pub fn bind(&self) -> anyhow::Result<Listeners> {
        let mut listeners = Listeners::default();
        let (tcp, unix): (Vec<_>, Vec<_>) = self
            .addrs
            .iter()
            .partition(|a| matches!(a, ListenAddr::Tcp { .. }));
        for addr in tcp.into_iter().chain(unix) {
            match addr {
                ListenAddr::Unix(path) => {
                    listeners.unix.push(unix::bind(path, self.group)?);
                    listeners.sockets.push(path.clone());
                }
                ListenAddr::Tcp { host, port } => {
                    let listener = std::net::TcpListener::bind((host.as_str(), *port))
                        .with_context(|| format!("listen on {addr}"))?;
                    listener
                        .set_nonblocking(true)
                        .with_context(|| format!("listen on {addr}"))?;
                    let listener = TcpListener::from_std(listener)
                        .with_context(|| format!("listen on {addr}"))?;
                    listeners.tcp.push(listener);
                }
            }
            listeners.names.push(addr.to_string());
        }
        listeners.tls = self.tls.clone().map(TlsAcceptor::from);
        Ok(listeners)
    }
}

/// Bound listeners, not yet accepting.
#[derive(Default)]
pub struct Listeners {
    unix: Vec<UnixListener>,
    tcp: Vec<TcpListener>,
    tls: Option<TlsAcceptor>,
    sockets: Vec<PathBuf>,
    names: Vec<String>,
}

impl fmt::Display for Listeners {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names.join(" "))
    }
}

impl Listeners {
    /// The unix socket files, to remove on shutdown.
    pub fn socket_paths(&self) -> Vec<PathBuf> {
        self.sockets.clone()
    }

    /// Starts accepting on every listener; the stream yields connections
    /// that are ready for HTTP/2. Accepting stops when the stream is dropped.
    pub fn incoming(self) -> impl Stream<Item = Result<Conn, Infallible>> {
        let (tx, rx) = mpsc::channel(64);
        let unix_budget = Budget::new("unix", MAX_UNIX_CONNECTIONS);
        for listener in self.unix {
            tokio::spawn(accept_unix(listener, tx.clone(), unix_budget.clone()));
        }
        if let Some(acceptor) = self.tls {
            let tcp_budget = Budget::new("tcp", MAX_TCP_CONNECTIONS);
            for listener in self.tcp {
                let accept = accept_tls(listener, acceptor.clone(), tx.clone(), tcp_budget.clone());
                tokio::spawn(accept);
            }
        }
        ReceiverStream::new(rx).map(Ok)
    }
}

fn lookup_group(name: &str) -> anyhow::Result<Gid> {
    match Group::from_name(name) {
        Ok(Some(group)) => Ok(group.gid),
        Ok(None) => bail!("--group {name}: no such group (create it with `groupadd {name}`)"),
        Err(err) => Err(err).with_context(|| format!("--group {name}: look the group up")),
    }
}

/// A connection limit shared by the listeners of one kind.
#[derive(Clone)]
struct Budget {
    kind: &'static str,
    max: usize,
    slots: Arc<Semaphore>,
    /// Set while connections are being refused, so the log says so once
    /// per episode rather than once per connection.
    full: Arc<AtomicBool>,
}

impl Budget {
    fn new(kind: &'static str, max: usize) -> Budget {
        Budget {
            kind,
            max,
            slots: Arc::new(Semaphore::new(max)),
            full: Arc::new(AtomicBool::new(false)),
        }
    }

    /// A slot for one more connection, or None (and a log line) when all
    /// are taken.
    fn admit(&self) -> Option<OwnedSemaphorePermit> {
        match self.slots.clone().try_acquire_owned() {
            Ok(permit) => {
                if self.full.swap(false, Ordering::Relaxed) {
                    tracing::info!(kind = self.kind, "accepting connections again");
                }
                Some(permit)
            }
            Err(_) => {
                if !self.full.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        kind = self.kind,
                        max = self.max,
                        "connection limit reached; closing new connections until some end"
                    );
                }
                None
            }
        }
    }
}

async fn accept_unix(listener: UnixListener, tx: mpsc::Sender<Conn>, budget: Budget) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = tx.closed() => return,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(err) => {
                accept_failed("unix", &err).await;
                continue;
            }
        };
        let Some(permit) = budget.admit() else {
            continue;
        };
        if tx.send(Conn::unix(stream, permit)).await.is_err() {
            return;
        }
    }
}

async fn accept_tls(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    tx: mpsc::Sender<Conn>,
    budget: Budget,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = tx.closed() => return,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                accept_failed("tcp", &err).await;
                continue;
            }
        };
        let Some(permit) = budget.admit() else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        // Each handshake on its own task: a slow or silent client must not
        // hold up the others.
        let (acceptor, tx) = (acceptor.clone(), tx.clone());
        tokio::spawn(async move {
            match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let _ = tx.send(Conn::tls(tls, peer, permit)).await;
                }
                Ok(Err(err)) => {
                    tracing::info!(%peer, error = %err, "TLS handshake failed; connection closed");
                }
                Err(_) => tracing::info!(
                    %peer,
                    "TLS handshake not finished within {TLS_HANDSHAKE_TIMEOUT:?}; connection closed"
                ),
            }
        });
    }
}

/// Out of file descriptors and the like: say so, and pause instead of
/// spinning on a listener that keeps failing.
async fn accept_failed(kind: &str, err: &std::io::Error) {
    tracing::warn!(kind, error = %err, "accept failed");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
}
