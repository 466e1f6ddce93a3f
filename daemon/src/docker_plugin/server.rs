//! The HTTP/1.1 server on the plugin's unix socket. Docker's plugin client
//! POSTs one JSON body per call; each call runs on the blocking pool (the
//! core's operations are kernel and store work).

use std::convert::Infallible;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::UnixListener;

use super::DockerPlugin;
use crate::core::Core;

/// Docker's plugin protocol content type.
const CONTENT_TYPE: &str = "application/vnd.docker.plugins.v1.2+json";
/// No call of the protocol comes near this.
const MAX_BODY: usize = 1 << 20;

/// Serves `listener` (from `bind`, at `path`) until `shutdown` completes;
/// the socket file is removed on the way out.
pub async fn serve(
    core: Arc<Core>,
    listener: UnixListener,
    path: PathBuf,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tracing::info!(socket = %path.display(), "docker plugin ready");
    let plugin = Arc::new(DockerPlugin::new(core));
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    tracing::warn!(error = %err, "docker plugin: accept");
                    continue;
                }
            },
        };
        let plugin = plugin.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| call(plugin.clone(), req));
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            if let Err(err) = conn.await {
                tracing::debug!(error = %err, "docker plugin connection");
            }
        });
    }
    let _ = std::fs::remove_file(&path);
}

/// Binds the plugin socket at `path`, replacing a stale one.
pub fn bind(path: &Path) -> anyhow::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err).with_context(|| format!("remove stale {}", path.display())),
    }
    let listener = UnixListener::bind(path).with_context(|| format!("bind {}", path.display()))?;
    // Docker runs as root; nobody else may drive the network.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("chmod {}", path.display()))?;
    Ok(listener)
}

async fn call(
    plugin: Arc<DockerPlugin>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(body) => body.to_bytes(),
        Err(err) => {
            return Ok(respond(
                400,
                format!("{{\"Err\":\"read body: {err}\"}}").into(),
            ))
        }
    };
    tracing::debug!(method = %path, "docker plugin call");
    let reply = tokio::task::spawn_blocking(move || plugin.handle(&path, &body)).await;
    Ok(match reply {
        Ok(reply) => respond(reply.status, reply.body.into()),
        Err(err) => respond(500, format!("{{\"Err\":\"handler failed: {err}\"}}").into()),
    })
}

fn respond(status: u16, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(value) = hyper::header::HeaderValue::from_str(CONTENT_TYPE) {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}
