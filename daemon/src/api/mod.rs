//! The gRPC API on cnmd's unix socket.

mod bridge;
mod container;
mod container_io;
mod convert;
mod network;
mod sandbox;
mod status;
mod system;

pub use system::VERSION;

use std::future::Future;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use ::pb::v1 as pb;
use anyhow::{bail, Context};
use tokio::net::UnixListener;
use tokio_stream::wrappers::UnixListenerStream;
use tonic::Status;

use crate::containers::Containers;
use crate::core::{Core, CoreError};

/// Runs a blocking core operation on tokio's blocking pool.
async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, CoreError> + Send + 'static,
) -> Result<T, Status> {
    let result = tokio::task::spawn_blocking(work)
        .await
        .map_err(CoreError::from)
        .and_then(|r| r);
    result.map_err(Status::from)
}

/// Binds the unix socket with mode 0660 before anyone can connect.
pub fn bind_unix(path: &Path) -> anyhow::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    if path.exists() {
        // A socket that still answers belongs to a running cnmd.
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            bail!(
                "another cnmd is already listening on {}; stop it first",
                path.display()
            );
        }
        std::fs::remove_file(path)
            .with_context(|| format!("remove stale socket {}", path.display()))?;
    }
    // The umask makes the socket 0660 from the moment it exists; the chmod
    // after bind is belt and braces against an unusual inherited umask.
    let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o117));
    let bound = UnixListener::bind(path);
    nix::sys::stat::umask(old);
    let listener = bound.with_context(|| format!("listen on {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .with_context(|| format!("chmod 0660 {}", path.display()))?;
    Ok(listener)
}

/// Serves the API until `shutdown` completes.
pub async fn serve(
    core: Arc<Core>,
    containers: Arc<Containers>,
    listener: UnixListener,
    root_dir: String,
    run_root: String,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    tonic::transport::Server::builder()
        .add_service(pb::network_service_server::NetworkServiceServer::new(
            network::NetworkApi::new(core.clone()),
        ))
        .add_service(pb::sandbox_service_server::SandboxServiceServer::new(
            sandbox::SandboxApi::new(core.clone()),
        ))
        .add_service(pb::container_service_server::ContainerServiceServer::new(
            container::ContainerApi::new(containers),
        ))
        .add_service(pb::bridge_service_server::BridgeServiceServer::new(
            bridge::BridgeApi::new(core.clone()),
        ))
        .add_service(pb::system_service_server::SystemServiceServer::new(
            system::SystemApi::new(core, root_dir, run_root),
        ))
        .serve_with_incoming_shutdown(UnixListenerStream::new(listener), shutdown)
        .await
        .context("serve the API")
}
