//! The plugin end: serve any [`Driver`] or [`IpamDriver`] on a unix socket,
//! so a third party implements the trait and calls [`serve`] (or
//! [`serve_ipam`]) and cnmd finds it by the socket's name.
//!
//! Verbs are blocking kernel work, so each request runs its verb on tokio's
//! blocking pool.

mod driver;
mod ipam;

use std::future::Future;
use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cnm_drivers::ipam::IpamDriver;
use cnm_drivers::Driver;
use tokio::net::UnixListener;
use tokio_stream::wrappers::UnixListenerStream;
use tonic::transport::server::Router;
use tonic::transport::Server;
use tonic::Status;

use ::pb::driver::v1::driver_server::DriverServer;
use ::pb::ipam::v1::ipam_server::IpamServer;

/// Why a plugin could not serve.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("another plugin is serving on {}; stop it or choose another socket", .0.display())]
    InUse(PathBuf),
    #[error("cannot listen on {}", .path.display())]
    Bind {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("serving on {}", .path.display())]
    Serve {
        path: PathBuf,
        #[source]
        source: tonic::transport::Error,
    },
}

/// Serves `driver` on `socket` until SIGTERM or SIGINT, then removes the
/// socket. Needs a tokio runtime.
pub async fn serve(driver: Arc<dyn Driver>, socket: impl AsRef<Path>) -> Result<(), ServeError> {
    serve_until(driver, socket, stop_signal()).await
}

/// [`serve`] until `shutdown` completes.
pub async fn serve_until(
    driver: Arc<dyn Driver>,
    socket: impl AsRef<Path>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let router =
        Server::builder().add_service(DriverServer::new(driver::DriverService::new(driver)));
    serve_router(router, socket.as_ref(), shutdown).await
}

/// Serves `ipam` on `socket` until SIGTERM or SIGINT.
pub async fn serve_ipam(
    ipam: Arc<dyn IpamDriver>,
    socket: impl AsRef<Path>,
) -> Result<(), ServeError> {
    serve_ipam_until(ipam, socket, stop_signal()).await
}

/// [`serve_ipam`] until `shutdown` completes.
pub async fn serve_ipam_until(
    ipam: Arc<dyn IpamDriver>,
    socket: impl AsRef<Path>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let router = Server::builder().add_service(IpamServer::new(ipam::IpamService::new(ipam)));
    serve_router(router, socket.as_ref(), shutdown).await
}

/// Serves `router` on `socket` until `shutdown` completes, then removes the
/// socket.
async fn serve_router(
    router: Router,
    socket: &Path,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let listener = bind(socket).await?;
    let served = router
        .serve_with_incoming_shutdown(UnixListenerStream::new(listener), shutdown)
        .await;
    let _ = std::fs::remove_file(socket);
    served.map_err(|source| ServeError::Serve {
        path: socket.to_owned(),
        source,
    })
}

/// Runs a verb on the blocking pool. A panic answers Internal; a failure is
/// logged and answered as `status_of` says. `kind` ("driver", "IPAM") goes
/// in the panic's message.
async fn run_blocking<T, E>(
    kind: &str,
    verb: impl FnOnce() -> Result<T, E> + Send + 'static,
    status_of: fn(&E) -> Status,
) -> Result<T, Status>
where
    T: Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    tokio::task::spawn_blocking(verb)
        .await
        .map_err(|err| Status::internal(format!("{kind} verb panicked: {err}")))?
        .map_err(|err| {
            tracing::warn!(error = %err, "verb failed");
            status_of(&err)
        })
}

/// Binds `socket` (mode 0600: cnmd runs as root), replacing a stale socket
/// file but never a live plugin's or a file that is not a socket.
async fn bind(socket: &Path) -> Result<UnixListener, ServeError> {
    let bind_err = |source| ServeError::Bind {
        path: socket.to_owned(),
        source,
    };
    if let Ok(meta) = std::fs::symlink_metadata(socket) {
        if !meta.file_type().is_socket() {
            return Err(bind_err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "a file that is not a socket is in the way",
            )));
        }
        if tokio::net::UnixStream::connect(socket).await.is_ok() {
            return Err(ServeError::InUse(socket.to_owned()));
        }
        std::fs::remove_file(socket).map_err(bind_err)?;
    }
    if let Some(dir) = socket.parent() {
        std::fs::create_dir_all(dir).map_err(bind_err)?;
    }
    let listener = UnixListener::bind(socket).map_err(bind_err)?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600)).map_err(bind_err)?;
    tracing::info!(socket = %socket.display(), "plugin serving");
    Ok(listener)
}

/// Completes on SIGTERM or SIGINT (never, if they cannot be watched).
async fn stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot watch SIGTERM/SIGINT; stop the plugin with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: stopping"),
        _ = int.recv() => tracing::info!("SIGINT: stopping"),
    }
}
