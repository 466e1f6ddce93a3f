//! Tests of host parsing, connection errors, and the channel itself against a
//! stub cnmd serving on a real unix socket.

use pb::v1::network_service_client::NetworkServiceClient;
use pb::v1::network_service_server::{NetworkService, NetworkServiceServer};
use pb::v1::{
    ConnectRequest, ConnectResponse, CreateNetworkRequest, CreateNetworkResponse,
    DisconnectRequest, DisconnectResponse, Endpoint as PbEndpoint, InspectNetworkRequest,
    ListNetworksRequest, ListNetworksResponse, Network, PruneNetworksRequest,
    PruneNetworksResponse, RemoveNetworkRequest, RemoveNetworkResponse,
};
use tokio::net::UnixListener;
use tokio_stream::wrappers::UnixListenerStream;
use tonic::{Request, Response, Status};

use super::*;
use crate::error;

#[test]
fn parses_unix_hosts() {
    let host = Host::parse("unix:///run/cnm/cnmd.sock").expect("valid host");
    assert_eq!(
        host.target,
        Target::Unix(PathBuf::from("/run/cnm/cnmd.sock"))
    );
}

#[test]
fn parses_tcp_hosts_with_the_tls_port_by_default() {
    let tcp = |raw| Host::parse(raw).expect(raw).target;
    let target = |host: &str, port| Target::Tcp {
        host: host.into(),
        port,
    };
    assert_eq!(tcp("tcp://10.0.0.1:2377"), target("10.0.0.1", 2377));
    assert_eq!(tcp("tcp://cnm.example"), target("cnm.example", 2376));
    assert_eq!(tcp("tcp://[::1]:2376/"), target("::1", 2376));
}

#[test]
fn rejects_other_schemes_and_empty_paths() {
    let err = Host::parse("http://10.0.0.1:2376").expect_err("http is refused");
    assert_eq!(
        err.to_string(),
        "invalid host \"http://10.0.0.1:2376\": expected unix:///path/to/socket or tcp://HOST:2376"
    );
    for raw in [
        "unix://",
        "/run/cnm/cnmd.sock",
        "tcp://",
        "tcp://:2376",
        "tcp://10.0.0.1:0",
        "tcp://10.0.0.1:x",
        "tcp://::1:2376",
        "tcp://10.0.0.1:2376/x",
    ] {
        assert!(Host::parse(raw).is_err(), "{raw} was accepted");
    }
}

#[tokio::test]
async fn tcp_without_tlsverify_is_refused_before_connecting() {
    let err = connect("tcp://127.0.0.1:9").await.expect_err("no TLS");
    assert!(
        err.to_string()
            .contains("cnmd accepts TCP only with mutual TLS; add --tlsverify"),
        "{err}"
    );
}

#[test]
fn explains_connection_failures() {
    let host = Host::parse("unix:///nowhere/cnmd.sock").expect("valid host");
    let missing = io::Error::from_raw_os_error(libc_errno::ENOENT);
    assert_eq!(
        unreachable(&host, &missing).to_string(),
        "cannot connect to cnmd at unix:///nowhere/cnmd.sock: \
         no such file or directory; is cnmd running?"
    );
    let denied = io::Error::from_raw_os_error(libc_errno::EACCES);
    assert_eq!(
        unreachable(&host, &denied).to_string(),
        "cannot connect to cnmd at unix:///nowhere/cnmd.sock: \
         permission denied; run as root or as a member of the socket's group"
    );
}

/// Linux errno values, to avoid a libc dependency for two constants.
mod libc_errno {
    pub const ENOENT: i32 = 2;
    pub const EACCES: i32 = 13;
}

#[tokio::test]
async fn a_missing_socket_fails_before_any_rpc() {
    let dir = tempfile::tempdir().expect("temp dir");
    let host = format!("unix://{}/cnmd.sock", dir.path().display());
    let err = connect(&host).await.expect_err("nothing listens there");
    assert_eq!(
        err.to_string(),
        format!("cannot connect to cnmd at {host}: no such file or directory; is cnmd running?")
    );
}

#[tokio::test]
async fn a_stale_socket_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("cnmd.sock");
    // Bound and closed: the file stays, nobody accepts.
    drop(std::os::unix::net::UnixListener::bind(&path).expect("bind"));
    let host = format!("unix://{}", path.display());
    let err = connect(&host).await.expect_err("nobody accepts");
    assert_eq!(
        err.to_string(),
        format!("cannot connect to cnmd at {host}: connection refused; is cnmd running?")
    );
}

#[tokio::test]
async fn calls_cnmd_over_the_socket_and_keeps_its_messages() {
    let dir = tempfile::tempdir().expect("temp dir");
    let host = serve_stub(dir.path()).await;
    let mut client = NetworkServiceClient::new(connect(&host).await.expect("connects"));

    let request = ConnectRequest {
        network: "web".into(),
        ..ConnectRequest::default()
    };
    let endpoint = client
        .connect_sandbox(request)
        .await
        .expect("stub connects")
        .into_inner()
        .endpoint
        .expect("endpoint");
    assert_eq!(endpoint.network_name, "web");

    // A second call reuses the one connection.
    let request = InspectNetworkRequest {
        network: "db".into(),
    };
    let status = client
        .inspect_network(request)
        .await
        .expect_err("stub: not found");
    assert_eq!(status.code(), tonic::Code::NotFound);
    assert_eq!(
        error::from_status(status).to_string(),
        "network `db` not found"
    );
}

async fn serve_stub(dir: &std::path::Path) -> String {
    let path = dir.join("cnmd.sock");
    let listener = UnixListener::bind(&path).expect("bind");
    let server = tonic::transport::Server::builder()
        .add_service(NetworkServiceServer::new(Stub))
        .serve_with_incoming(UnixListenerStream::new(listener));
    tokio::spawn(server);
    format!("unix://{}", path.display())
}

/// Answers `connect` and `inspect`; everything else is unimplemented.
struct Stub;

#[tonic::async_trait]
impl NetworkService for Stub {
    async fn create_network(
        &self,
        _: Request<CreateNetworkRequest>,
    ) -> Result<Response<CreateNetworkResponse>, Status> {
        Err(Status::unimplemented(""))
    }

    async fn list_networks(
        &self,
        _: Request<ListNetworksRequest>,
    ) -> Result<Response<ListNetworksResponse>, Status> {
        Err(Status::unimplemented(""))
    }

    async fn inspect_network(
        &self,
        request: Request<InspectNetworkRequest>,
    ) -> Result<Response<Network>, Status> {
        let name = request.into_inner().network;
        Err(Status::not_found(format!("network `{name}` not found")))
    }

    async fn remove_network(
        &self,
        _: Request<RemoveNetworkRequest>,
    ) -> Result<Response<RemoveNetworkResponse>, Status> {
        Err(Status::unimplemented(""))
    }

    async fn prune_networks(
        &self,
        _: Request<PruneNetworksRequest>,
    ) -> Result<Response<PruneNetworksResponse>, Status> {
        Err(Status::unimplemented(""))
    }

    async fn connect_sandbox(
        &self,
        request: Request<ConnectRequest>,
    ) -> Result<Response<ConnectResponse>, Status> {
        let endpoint = PbEndpoint {
            network_name: request.into_inner().network,
            ..PbEndpoint::default()
        };
        Ok(Response::new(ConnectResponse {
            endpoint: Some(endpoint),
        }))
    }

    async fn disconnect_sandbox(
        &self,
        _: Request<DisconnectRequest>,
    ) -> Result<Response<DisconnectResponse>, Status> {
        Err(Status::unimplemented(""))
    }
}
