//! The connection to cnmd: parses `-H unix://PATH` or `-H tcp://HOST:PORT`
//! and opens one gRPC channel over the unix socket, or over TCP with mutual
//! TLS, turning connection failures into advice.

mod tls;

pub use tls::{TlsFlags, TlsOptions};

use std::io;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};
use tonic::transport::Channel;

/// Where cnmd listens unless `-H`/`CNM_HOST` say otherwise.
pub const DEFAULT_HOST: &str = "unix:///run/cnm/cnmd.sock";

/// The port of `tcp://HOST` without one (Docker's TLS port).
pub const DEFAULT_TLS_PORT: u16 = 2376;

/// How long a TCP connect may take.
const TCP_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The TLS settings of this invocation, set once by `main` from the flags
/// and environment. A process-wide value rather than an argument: every
/// command hands only its `-H` string to [`connect`].
static TLS: OnceLock<TlsOptions> = OnceLock::new();

/// Sets the TLS settings that [`connect`] uses for `tcp://` hosts.
pub fn set_tls(options: TlsOptions) {
    let _ = TLS.set(options);
}

/// A validated `-H` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// As the user wrote it, for messages.
    uri: String,
    target: Target,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Unix(PathBuf),
    /// A name or address (without brackets) and a port.
    Tcp {
        host: String,
        port: u16,
    },
}

impl Host {
    /// Accepts `unix://PATH`, `tcp://HOST[:PORT]` and `tcp://[V6][:PORT]`.
    pub fn parse(raw: &str) -> Result<Self> {
        let target = if let Some(path) = raw.strip_prefix("unix://") {
            if path.is_empty() {
                bail!("invalid host {raw:?}: the socket path is missing (as in {DEFAULT_HOST})");
            }
            Target::Unix(PathBuf::from(path))
        } else if let Some(rest) = raw.strip_prefix("tcp://") {
            let (host, port) =
                split_host_port(rest.strip_suffix('/').unwrap_or(rest)).ok_or_else(|| {
                    anyhow!("invalid host {raw:?}: expected tcp://HOST:{DEFAULT_TLS_PORT}")
                })?;
            Target::Tcp {
                host: host.to_string(),
                port,
            }
        } else {
            bail!("invalid host {raw:?}: expected unix:///path/to/socket or tcp://HOST:{DEFAULT_TLS_PORT}");
        };
        Ok(Self {
            uri: raw.to_string(),
            target,
        })
    }
}

/// `HOST:PORT`, `HOST`, `[V6]:PORT`, `[V6]`; None when malformed.
fn split_host_port(text: &str) -> Option<(&str, u16)> {
    let (host, port) = match text.strip_prefix('[') {
        Some(bracketed) => {
            let (host, after) = bracketed.split_once(']')?;
            match after {
                "" => (host, None),
                _ => (host, Some(after.strip_prefix(':')?)),
            }
        }
        None => match text.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        },
    };
    let port = match port {
        None => DEFAULT_TLS_PORT,
        Some(p) => p.parse().ok().filter(|p| *p != 0)?,
    };
    (!host.is_empty() && !host.contains(['/', '[', ']'])).then_some((host, port))
}

/// Connects to cnmd at `raw_host`.
///
/// The socket is connected (and TLS negotiated) before tonic sees it, so a
/// failure is an error we can explain. The connector hands out that one
/// stream: a CLI invocation makes a handful of calls and never needs to
/// reconnect.
pub async fn connect(raw_host: &str) -> Result<Channel> {
    let host = Host::parse(raw_host)?;
    match &host.target {
        Target::Unix(path) => {
            let stream = UnixStream::connect(path)
                .await
                .map_err(|err| unreachable(&host, &err))?;
            channel(&host, stream).await
        }
        Target::Tcp { host: name, port } => {
            let tls = TLS.get().filter(|t| t.verify).ok_or_else(|| {
                anyhow!(
                    "cannot connect to cnmd at {}: cnmd accepts TCP only with mutual TLS; add \
                     --tlsverify (or set CNM_TLS_VERIFY=1) with --tlscacert, --tlscert and \
                     --tlskey, or CNM_CERT_PATH (see docs/tls.md)",
                    host.uri
                )
            })?;
            let connect = TcpStream::connect((name.as_str(), *port));
            let stream = match tokio::time::timeout(TCP_CONNECT_TIMEOUT, connect).await {
                Ok(connected) => connected.map_err(|err| unreachable(&host, &err))?,
                Err(_) => bail!(
                    "cannot connect to cnmd at {}: no answer within {TCP_CONNECT_TIMEOUT:?}; \
                     check the address and any firewall on the way",
                    host.uri
                ),
            };
            let _ = stream.set_nodelay(true);
            let stream = tls
                .handshake(name, stream)
                .await
                .map_err(|err| anyhow!("cannot connect to cnmd at {}: {err}", host.uri))?;
            channel(&host, stream).await
        }
    }
}

/// A gRPC channel over the one connected `stream`.
async fn channel<S>(host: &Host, stream: S) -> Result<Channel>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    pb::channel_over(stream).await.map_err(|err| {
        anyhow::Error::new(err).context(format!("cannot connect to cnmd at {}", host.uri))
    })
}

/// The error for a socket that cannot be connected to.
fn unreachable(host: &Host, err: &io::Error) -> anyhow::Error {
    let advice = match err.kind() {
        io::ErrorKind::PermissionDenied => {
            "permission denied; run as root or as a member of the socket's group".to_string()
        }
        _ => match host.target {
            Target::Unix(_) => format!("{}; is cnmd running?", describe_io(err)),
            Target::Tcp { .. } => format!(
                "{}; is cnmd running with -H {} and reachable from here?",
                describe_io(err),
                host.uri
            ),
        },
    };
    anyhow!("cannot connect to cnmd at {}: {advice}", host.uri)
}

/// "No such file or directory (os error 2)" → "no such file or directory".
fn describe_io(err: &io::Error) -> String {
    let text = err.to_string();
    let text = match text.find(" (os error ") {
        Some(end) => &text[..end],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests;
