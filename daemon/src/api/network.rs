//! cnm.v1.NetworkService: networks and connecting sandboxes to them.

use std::sync::Arc;

use ::pb::v1 as pb;
use pb::network_service_server::NetworkService;
use tonic::{Request, Response, Status};

use super::{convert, run_blocking};
use crate::core::{ConnectRequest, Core, CreateNetworkRequest, DisconnectRequest, NetworkFilter};

pub struct NetworkApi {
    core: Arc<Core>,
}

impl NetworkApi {
    pub fn new(core: Arc<Core>) -> Self {
        NetworkApi { core }
    }
}

#[tonic::async_trait]
impl NetworkService for NetworkApi {
    async fn create_network(
        &self,
        request: Request<pb::CreateNetworkRequest>,
    ) -> Result<Response<pb::CreateNetworkResponse>, Status> {
        let req = request.into_inner();
        let create = CreateNetworkRequest {
            name: req.name,
            driver: req.driver,
            enable_ipv6: req.enable_ipv6,
            internal: req.internal,
            ipam_driver: req
                .ipam
                .as_ref()
                .map(|i| i.driver.clone())
                .unwrap_or_default(),
            ipam_options: req
                .ipam
                .as_ref()
                .map(|i| i.options.clone().into_iter().collect())
                .unwrap_or_default(),
            subnets: convert::subnet_requests(req.ipam.as_ref())?,
            options: req.options.into_iter().collect(),
            labels: req.labels.into_iter().collect(),
            dns_servers: convert::ips("--dns", &req.dns_servers)?,
        };
        let core = self.core.clone();
        let record = run_blocking(move || core.create_network(create)).await?;
        Ok(Response::new(pb::CreateNetworkResponse {
            id: record.id,
            warning: String::new(),
        }))
    }

    async fn list_networks(
        &self,
        request: Request<pb::ListNetworksRequest>,
    ) -> Result<Response<pb::ListNetworksResponse>, Status> {
        let filter = NetworkFilter::for_list(&convert::filters(&request.into_inner().filters))?;
        let networks = self
            .core
            .list_networks(&filter)
            .iter()
            .map(convert::network)
            .collect();
        Ok(Response::new(pb::ListNetworksResponse { networks }))
    }

    async fn inspect_network(
        &self,
        request: Request<pb::InspectNetworkRequest>,
    ) -> Result<Response<pb::Network>, Status> {
        let view = self.core.inspect_network(&request.into_inner().network)?;
        Ok(Response::new(convert::network(&view)))
    }

    async fn remove_network(
        &self,
        request: Request<pb::RemoveNetworkRequest>,
    ) -> Result<Response<pb::RemoveNetworkResponse>, Status> {
        let key = request.into_inner().network;
        let core = self.core.clone();
        run_blocking(move || core.remove_network(&key)).await?;
        Ok(Response::new(pb::RemoveNetworkResponse {}))
    }

    async fn prune_networks(
        &self,
        request: Request<pb::PruneNetworksRequest>,
    ) -> Result<Response<pb::PruneNetworksResponse>, Status> {
        let filter = NetworkFilter::for_prune(&convert::filters(&request.into_inner().filters))?;
        let core = self.core.clone();
        let networks_deleted = run_blocking(move || core.prune_networks(&filter)).await?;
        Ok(Response::new(pb::PruneNetworksResponse {
            networks_deleted,
        }))
    }

    async fn connect_sandbox(
        &self,
        request: Request<pb::ConnectRequest>,
    ) -> Result<Response<pb::ConnectResponse>, Status> {
        let req = request.into_inner();
        let settings = req.settings.unwrap_or_default();
        let connect = ConnectRequest {
            network: req.network,
            sandbox: convert::sandbox_selector(req.sandbox.as_ref())?,
            name: Some(req.name).filter(|n| !n.is_empty()),
            ipv4: optional_ip("--ip", &settings.ipv4_address)?,
            ipv6: optional_ip("--ip6", &settings.ipv6_address)?,
            aliases: settings.aliases,
            mac: convert::mac(&settings.mac_address)?,
            publish: convert::publish(&req.publish)?,
            dns_servers: convert::ips("--dns", &settings.dns_servers)?,
            ifname: Some(req.interface_name).filter(|n| !n.is_empty()),
            attachment: convert::attachment(req.container_id, req.owner),
        };
        let core = self.core.clone();
        let (endpoint, network) = run_blocking(move || core.connect(connect)).await?;
        Ok(Response::new(pb::ConnectResponse {
            endpoint: Some(convert::endpoint(&endpoint, &network)),
        }))
    }

    async fn disconnect_sandbox(
        &self,
        request: Request<pb::DisconnectRequest>,
    ) -> Result<Response<pb::DisconnectResponse>, Status> {
        let req = request.into_inner();
        let disconnect = DisconnectRequest {
            network: req.network,
            sandbox: convert::sandbox_selector(req.sandbox.as_ref())?,
            force: req.force,
        };
        let core = self.core.clone();
        run_blocking(move || core.disconnect(disconnect)).await?;
        Ok(Response::new(pb::DisconnectResponse {}))
    }
}

fn optional_ip(flag: &str, raw: &str) -> Result<Option<std::net::IpAddr>, Status> {
    if raw.is_empty() {
        return Ok(None);
    }
    convert::parse_ip(flag, raw).map(Some)
}
