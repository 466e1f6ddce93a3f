//! The connection to cnmd over its unix socket, and what cnmd's answers
//! mean in CNI error codes.

use std::future::Future;
use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use pb::v1::network_service_client::NetworkServiceClient;
use pb::v1::sandbox_service_client::SandboxServiceClient;
use tokio::net::UnixStream;
use tonic::transport::Channel;
use tonic::{Code, Status};

use crate::spec::{code, CniError};

/// How long a transient refusal (a network being created by a parallel
/// ADD, a sandbox being wired) is retried before error 11.
const RETRY_FOR: Duration = Duration::from_secs(5);

/// An open connection to cnmd.
pub struct Daemon {
    channel: Channel,
}

impl Daemon {
    /// Connects; error 11 (try again later) when nobody answers, since a
    /// runtime retries and cnmd may be restarting.
    pub async fn connect(socket: &Path) -> Result<Daemon, CniError> {
        let channel = open(socket).await.map_err(|err| {
            CniError::new(
                code::TRY_AGAIN_LATER,
                format!("cannot reach cnmd at {}: {err}", socket.display()),
            )
            .with_details("is cnmd running? the socket is the config's \"socket\" key")
        })?;
        Ok(Daemon { channel })
    }

    pub fn networks(&self) -> NetworkServiceClient<Channel> {
        NetworkServiceClient::new(self.channel.clone())
    }

    pub fn sandboxes(&self) -> SandboxServiceClient<Channel> {
        SandboxServiceClient::new(self.channel.clone())
    }
}

/// One gRPC channel over one unix stream. The stream is connected before
/// tonic sees it, so a missing socket is a plain io::Error.
pub async fn open(socket: &Path) -> io::Result<Channel> {
    let stream = UnixStream::connect(socket).await?;
    pb::channel_over(stream).await.map_err(io::Error::other)
}

/// The CNI error for a refusal of cnmd while doing `what`.
pub fn refused(what: &str, status: &Status) -> CniError {
    let code = match status.code() {
        Code::Unavailable | Code::Cancelled | Code::DeadlineExceeded | Code::FailedPrecondition => {
            code::TRY_AGAIN_LATER
        }
        Code::InvalidArgument => code::INVALID_CONFIG,
        _ => code::DAEMON_REFUSED,
    };
    CniError::new(code, format!("{what}: {}", status.message()))
}

/// Runs `call` again while cnmd answers FailedPrecondition (an object
/// another operation is creating or removing), for up to [`RETRY_FOR`].
pub async fn retry_transient<T, F, Fut>(mut call: F) -> Result<T, Status>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Status>>,
{
    let deadline = Instant::now() + RETRY_FOR;
    let mut pause = Duration::from_millis(5);
    loop {
        match call().await {
            Err(status)
                if status.code() == Code::FailedPrecondition && Instant::now() < deadline =>
            {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            other => return other,
        }
    }
}
