//! The gRPC API on cnmd's unix sockets and mutual-TLS TCP ports.

mod bridge;
mod container;
mod container_io;
mod convert;
mod limits;
pub mod listen;
mod network;
mod sandbox;
mod status;
mod system;

pub use system::VERSION;

use std::future::Future;
use std::sync::Arc;

use ::pb::v1 as pb;
use anyhow::Context;
use tonic::Status;

use crate::containers::Containers;
use crate::core::{Core, CoreError};
use limits::MAX_REQUEST_BYTES;

/// Runs a blocking core operation on tokio's blocking pool, inside the
/// call's span (a remote call's logs name the client).
async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, CoreError> + Send + 'static,
) -> Result<T, Status> {
    let span = tracing::Span::current();
    let result = tokio::task::spawn_blocking(move || span.in_scope(work))
        .await
        .map_err(CoreError::from)
        .and_then(|r| r);
    result.map_err(Status::from)
}

/// Serves the API on `listeners` until `shutdown` completes, then removes
/// the unix socket files.
pub async fn serve(
    core: Arc<Core>,
    containers: Arc<Containers>,
    listeners: listen::Listeners,
    root_dir: String,
    run_root: String,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let sockets = listeners.socket_paths();
    let served = limits::server()
        .layer(crate::metrics::api_layer())
        .trace_fn(listen::call_span)
        .add_service(
            pb::network_service_server::NetworkServiceServer::new(network::NetworkApi::new(
                core.clone(),
            ))
            .max_decoding_message_size(MAX_REQUEST_BYTES),
        )
        .add_service(
            pb::sandbox_service_server::SandboxServiceServer::new(sandbox::SandboxApi::new(
                core.clone(),
            ))
            .max_decoding_message_size(MAX_REQUEST_BYTES),
        )
        .add_service(
            pb::container_service_server::ContainerServiceServer::new(
                container::ContainerApi::new(containers.clone()),
            )
            .max_decoding_message_size(MAX_REQUEST_BYTES),
        )
        .add_service(
            pb::bridge_service_server::BridgeServiceServer::new(bridge::BridgeApi::new(
                core.clone(),
            ))
            .max_decoding_message_size(MAX_REQUEST_BYTES),
        )
        .add_service(
            pb::system_service_server::SystemServiceServer::new(system::SystemApi::new(
                core, containers, root_dir, run_root,
            ))
            .max_decoding_message_size(MAX_REQUEST_BYTES),
        )
        .serve_with_incoming_shutdown(listeners.incoming(), shutdown)
        .await
        .context("serve the API");
    for socket in sockets {
        let _ = std::fs::remove_file(socket);
    }
    served
}
