//! `cnm.driver.v1.Driver` answered by any [`Driver`].

use std::path::Path;
use std::sync::Arc;

use ::pb::driver::v1 as pb;
use cnm_drivers::sys::Netns;
use cnm_drivers::{Driver, DriverError, SandboxSpec};
use pb::driver_server;
use tonic::{Request, Response, Status};

use super::run_blocking;
use crate::wire::driver::{
    capabilities_to_wire, endpoint_from_wire, join_to_wire, network_from_wire, ports_from_wire,
    status_of,
};

pub(super) struct DriverService {
    driver: Arc<dyn Driver>,
}

impl DriverService {
    pub(super) fn new(driver: Arc<dyn Driver>) -> Self {
        DriverService { driver }
    }

    /// Runs a verb on the blocking pool.
    async fn run<T: Send + 'static>(
        &self,
        verb: impl FnOnce(&dyn Driver) -> Result<T, DriverError> + Send + 'static,
    ) -> Result<T, Status> {
        let driver = self.driver.clone();
        run_blocking("driver", move || verb(driver.as_ref()), status_of).await
    }

    async fn network_verb(
        &self,
        name: &'static str,
        req: pb::NetworkRequest,
        verb: fn(&dyn Driver, &cnm_drivers::NetworkSpec) -> Result<(), DriverError>,
    ) -> Result<Response<pb::Ack>, Status> {
        let net = network_from_wire(req.network)?;
        tracing::info!(verb = name, network = %net.id, name = %net.name, replay = req.replay, "request");
        self.run(move |d| verb(d, &net)).await?;
        Ok(Response::new(pb::Ack {}))
    }

    async fn endpoint_verb(
        &self,
        name: &'static str,
        req: pb::EndpointRequest,
        verb: fn(
            &dyn Driver,
            &cnm_drivers::NetworkSpec,
            &cnm_drivers::EndpointSpec,
        ) -> Result<(), DriverError>,
    ) -> Result<Response<pb::Ack>, Status> {
        let net = network_from_wire(req.network)?;
        let ep = endpoint_from_wire(req.endpoint)?;
        tracing::info!(verb = name, network = %net.id, endpoint = %ep.id, replay = req.replay, "request");
        self.run(move |d| verb(d, &net, &ep)).await?;
        Ok(Response::new(pb::Ack {}))
    }
}

#[tonic::async_trait]
impl driver_server::Driver for DriverService {
    async fn get_capabilities(
        &self,
        _request: Request<pb::GetCapabilitiesRequest>,
    ) -> Result<Response<pb::Capabilities>, Status> {
        let caps = self.run(|d| Ok(d.capabilities())).await?;
        Ok(Response::new(capabilities_to_wire(&caps)))
    }

    async fn validate_network(
        &self,
        request: Request<pb::NetworkRequest>,
    ) -> Result<Response<pb::Ack>, Status> {
        self.network_verb("validate_network", request.into_inner(), |d, n| {
            d.validate_network(n)
        })
        .await
    }

    async fn create_network(
        &self,
        request: Request<pb::NetworkRequest>,
    ) -> Result<Response<pb::Ack>, Status> {
        self.network_verb("create_network", request.into_inner(), |d, n| {
            d.create_network(n)
        })
        .await
    }

    async fn delete_network(
        &self,
        request: Request<pb::NetworkRequest>,
    ) -> Result<Response<pb::Ack>, Status> {
        self.network_verb("delete_network", request.into_inner(), |d, n| {
            d.delete_network(n)
        })
        .await
    }

    async fn create_endpoint(
        &self,
        request: Request<pb::EndpointRequest>,
    ) -> Result<Response<pb::Ack>, Status> {
        self.endpoint_verb("create_endpoint", request.into_inner(), |d, n, e| {
            d.create_endpoint(n, e)
        })
        .await
    }

    async fn delete_endpoint(
        &self,
        request: Request<pb::EndpointRequest>,
    ) -> Result<Response<pb::Ack>, Status> {
        self.endpoint_verb("delete_endpoint", request.into_inner(), |d, n, e| {
            d.delete_endpoint(n, e)
        })
        .await
    }

    async fn join(
        &self,
        request: Request<pb::JoinRequest>,
    ) -> Result<Response<pb::JoinResponse>, Status> {
        let req = request.into_inner();
        let net = network_from_wire(req.network)?;
        let ep = endpoint_from_wire(req.endpoint)?;
        if req.sandbox_key.is_empty() || req.ifname.is_empty() {
            return Err(Status::invalid_argument(
                "Join needs a sandbox_key and an ifname",
            ));
        }
        tracing::info!(verb = "join", network = %net.id, endpoint = %ep.id,
            sandbox = %req.sandbox_key, iface = %req.ifname, "request");
        // Opened before the verb runs: the key is valid only while cnmd
        // waits for this answer.
        let netns = Netns::open(Path::new(&req.sandbox_key)).map_err(|err| {
            Status::invalid_argument(format!("cannot open sandbox {}: {err}", req.sandbox_key))
        })?;
        let ifname = req.ifname;
        let join = self
            .run(move |d| {
                let sandbox = SandboxSpec {
                    netns: netns.fd(),
                    ifname: &ifname,
                };
                d.join(&net, &ep, sandbox)
            })
            .await?;
        Ok(Response::new(join_to_wire(&join)))
    }

    async fn leave(
        &self,
        request: Request<pb::EndpointRequest>,
    ) -> Result<Response<pb::Ack>, Status> {
        self.endpoint_verb("leave", request.into_inner(), |d, n, e| d.leave(n, e))
            .await
    }

    async fn program_external_connectivity(
        &self,
        request: Request<pb::ExternalConnectivityRequest>,
    ) -> Result<Response<pb::Ack>, Status> {
        let req = request.into_inner();
        let net = network_from_wire(req.network)?;
        let ep = endpoint_from_wire(req.endpoint)?;
        let ports = ports_from_wire(&req.ports)?;
        tracing::info!(verb = "program_external_connectivity", network = %net.id,
            endpoint = %ep.id, ports = ports.len(), "request");
        self.run(move |d| d.program_external_connectivity(&net, &ep, &ports))
            .await?;
        Ok(Response::new(pb::Ack {}))
    }

    async fn revoke_external_connectivity(
        &self,
        request: Request<pb::EndpointRequest>,
    ) -> Result<Response<pb::Ack>, Status> {
        self.endpoint_verb(
            "revoke_external_connectivity",
            request.into_inner(),
            |d, n, e| d.revoke_external_connectivity(n, e),
        )
        .await
    }
}
