//! The connection to cnmd: parses `-H unix://PATH` and opens one gRPC channel
//! over the unix socket, turning connection failures into advice.

use std::io;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Result};
use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};

/// Where cnmd listens unless `-H`/`CNM_HOST` say otherwise.
pub const DEFAULT_HOST: &str = "unix:///run/cnm/cnmd.sock";

/// A validated `-H` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// As the user wrote it, for messages.
    uri: String,
    /// The socket path.
    path: PathBuf,
}

impl Host {
    /// Accepts `unix://PATH` only; TCP with mutual TLS comes later.
    pub fn parse(raw: &str) -> Result<Self> {
        let Some(path) = raw.strip_prefix("unix://") else {
            bail!("invalid host {raw:?}: only unix:// hosts are supported by this build");
        };
        if path.is_empty() {
            bail!("invalid host {raw:?}: the socket path is missing (as in {DEFAULT_HOST})");
        }
        Ok(Self {
            uri: raw.to_string(),
            path: PathBuf::from(path),
        })
    }
}

/// Connects to cnmd at `raw_host`.
///
/// The socket is connected before tonic sees it, so a failure is a plain
/// `io::Error` we can explain. The connector hands out that one stream: a CLI
/// invocation makes a handful of calls and never needs to reconnect.
pub async fn connect(raw_host: &str) -> Result<Channel> {
    let host = Host::parse(raw_host)?;
    let stream = UnixStream::connect(&host.path)
        .await
        .map_err(|err| unreachable(&host, &err))?;
    let mut stream = Some(stream);
    let connector = tower::service_fn(move |_: Uri| {
        let stream = stream.take();
        async move {
            stream.map(TokioIo::new).ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotConnected, "cnmd closed the connection")
            })
        }
    });
    // The URI only fills the HTTP/2 `:authority` header; the connector ignores it.
    Endpoint::from_static("http://localhost")
        .connect_with_connector(connector)
        .await
        .map_err(|err| {
            anyhow::Error::new(err).context(format!("cannot connect to cnmd at {}", host.uri))
        })
}

/// The error for a socket that cannot be connected to.
fn unreachable(host: &Host, err: &io::Error) -> anyhow::Error {
    let advice = match err.kind() {
        io::ErrorKind::PermissionDenied => {
            "permission denied; run as root or as a member of the socket's group".to_string()
        }
        _ => format!("{}; is cnmd running?", describe_io(err)),
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
