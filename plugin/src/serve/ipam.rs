//! `cnm.ipam.v1.Ipam` answered by any [`IpamDriver`].

use std::sync::Arc;

use ::pb::ipam::v1 as pb;
use cnm_drivers::ipam::{IpamDriver, IpamDriverError};
use pb::ipam_server;
use tonic::{Request, Response, Status};

use super::run_blocking;
use crate::wire::ipam::{
    family_from_wire, pool_to_wire, pools_request_from_wire, restore_from_wire, status_of,
};
use crate::wire::{ip, opt_ip};

pub(super) struct IpamService {
    ipam: Arc<dyn IpamDriver>,
}

impl IpamService {
    pub(super) fn new(ipam: Arc<dyn IpamDriver>) -> Self {
        IpamService { ipam }
    }

    /// Runs a verb on the blocking pool.
    async fn run<T: Send + 'static>(
        &self,
        verb: impl FnOnce(&dyn IpamDriver) -> Result<T, IpamDriverError> + Send + 'static,
    ) -> Result<T, Status> {
        let ipam = self.ipam.clone();
        run_blocking("IPAM", move || verb(ipam.as_ref()), status_of).await
    }
}

#[tonic::async_trait]
impl ipam_server::Ipam for IpamService {
    async fn request_pools(
        &self,
        request: Request<pb::RequestPoolsRequest>,
    ) -> Result<Response<pb::RequestPoolsResponse>, Status> {
        let req = pools_request_from_wire(request.into_inner())?;
        tracing::info!(verb = "request_pools", network = %req.network_id, "request");
        let pools = self.run(move |i| i.request_pools(&req)).await?;
        Ok(Response::new(pb::RequestPoolsResponse {
            pools: pools.iter().map(pool_to_wire).collect(),
        }))
    }

    async fn restore_pools(
        &self,
        request: Request<pb::RestorePoolsRequest>,
    ) -> Result<Response<pb::Ack>, Status> {
        let net = restore_from_wire(request.into_inner())?;
        tracing::info!(verb = "restore_pools", network = %net.network_id,
            addresses = net.addresses.len(), "request");
        self.run(move |i| i.restore_pools(&net)).await?;
        Ok(Response::new(pb::Ack {}))
    }

    async fn release_pools(
        &self,
        request: Request<pb::ReleasePoolsRequest>,
    ) -> Result<Response<pb::Ack>, Status> {
        let id = request.into_inner().network_id;
        tracing::info!(verb = "release_pools", network = %id, "request");
        self.run(move |i| i.release_pools(&id)).await?;
        Ok(Response::new(pb::Ack {}))
    }

    async fn request_address(
        &self,
        request: Request<pb::RequestAddressRequest>,
    ) -> Result<Response<pb::RequestAddressResponse>, Status> {
        let req = request.into_inner();
        let family = family_from_wire(req.family)?;
        let preferred = opt_ip("preferred", &req.preferred)?;
        tracing::info!(verb = "request_address", network = %req.network_id, %family, "request");
        let id = req.network_id;
        let addr = self
            .run(move |i| i.request_address(&id, family, preferred))
            .await?;
        Ok(Response::new(pb::RequestAddressResponse {
            address: addr.to_string(),
        }))
    }

    async fn release_address(
        &self,
        request: Request<pb::ReleaseAddressRequest>,
    ) -> Result<Response<pb::Ack>, Status> {
        let req = request.into_inner();
        let addr = ip("address", &req.address)?;
        tracing::info!(verb = "release_address", network = %req.network_id, %addr, "request");
        let id = req.network_id;
        self.run(move |i| i.release_address(&id, addr)).await?;
        Ok(Response::new(pb::Ack {}))
    }
}
