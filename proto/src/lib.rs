//! Generated gRPC types for cnm's APIs. `pb::v1` is the daemon API that the
//! CLI and other clients speak to cnmd; `pb::driver::v1` and `pb::ipam::v1`
//! are the plugin protocols cnmd speaks to network driver and IPAM plugins.

/// The daemon API, package `cnm.v1`.
#[allow(clippy::all, missing_docs)]
pub mod v1 {
    tonic::include_proto!("cnm.v1");
}

/// Network driver plugins, package `cnm.driver.v1`.
pub mod driver {
    #[allow(clippy::all, missing_docs)]
    pub mod v1 {
        tonic::include_proto!("cnm.driver.v1");
    }
}

/// IPAM plugins, package `cnm.ipam.v1`.
pub mod ipam {
    #[allow(clippy::all, missing_docs)]
    pub mod v1 {
        tonic::include_proto!("cnm.ipam.v1");
    }
}

/// A gRPC channel over one stream the caller has connected already (a unix
/// socket, a TLS session): the caller's own errors (no socket, handshake
/// refused) stay plain and nameable, and tonic never connects again by
/// itself. For cnmd's clients: the CLI and the CNI plugin.
pub async fn channel_over<S>(
    stream: S,
) -> Result<tonic::transport::Channel, tonic::transport::Error>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let mut stream = Some(stream);
    let connector = tower::service_fn(move |_: tonic::transport::Uri| {
        let stream = stream.take();
        async move {
            stream.map(hyper_util::rt::TokioIo::new).ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::NotConnected,
                    "cnmd closed the connection",
                )
            })
        }
    });
    // The URI only fills the HTTP/2 `:authority` header; the connector ignores it.
    tonic::transport::Endpoint::from_static("http://localhost")
        .connect_with_connector(connector)
        .await
}
