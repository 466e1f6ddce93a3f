//! `/NetworkDriver.*`: Docker networks as cnm bridge networks, Docker
//! endpoints as cnm handoff endpoints (the container end of the veth waits
//! in cnmd's namespace until Docker moves it into the container).

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnetwork::IpNetwork;
use serde_json::Value;

use super::wire::{self, PortBinding};
use super::{decode, DockerPlugin, Failure, Reply};
use crate::core::{CreateNetworkRequest, HandoffRequest};
use crate::ipam::SubnetRequest;
use crate::model::{parse_mac, short_id, EndpointRecord, NetworkRecord};
use crate::ports::{HostAddr, PortRequest, Protocol, PublishedPort};

/// Label of a cnm network that holds Docker's id for it.
pub const DOCKER_ID_LABEL: &str = "com.docker.network.id";

/// The cnm name of a Docker network.
pub fn network_name(docker_id: &str) -> String {
    format!("docker-{}", short_id(docker_id))
}

impl DockerPlugin {
    pub(super) fn driver_call(&self, verb: &str, body: &[u8]) -> Option<Result<Reply, Failure>> {
        Some(match verb {
            "CreateNetwork" => decode(body).and_then(|r| self.create_network(r)),
            "DeleteNetwork" => decode(body).and_then(|r| self.delete_network(r)),
            "CreateEndpoint" => decode(body).and_then(|r| self.create_endpoint(r)),
            "DeleteEndpoint" => decode(body).and_then(|r: wire::EndpointRequest| {
                self.core.delete_handoff_endpoint(&r.endpoint_id)?;
                Ok(Reply::empty())
            }),
            "EndpointOperInfo" => decode(body).and_then(|r| self.oper_info(r)),
            "Join" => decode(body).and_then(|r| self.join(r)),
            // The interface is Docker's to move back; the pair goes with
            // DeleteEndpoint.
            "Leave" => decode(body).map(|_: wire::EndpointRequest| Reply::empty()),
            "ProgramExternalConnectivity" => decode(body).and_then(|r| self.publish(r)),
            "RevokeExternalConnectivity" => decode(body).and_then(|r: wire::EndpointRequest| {
                self.core.unpublish_handoff(&r.endpoint_id)?;
                Ok(Reply::empty())
            }),
            _ => return None,
        })
    }

    /// The cnm network of Docker network `docker_id`.
    pub(super) fn network_of(&self, docker_id: &str) -> Result<NetworkRecord, Failure> {
        let view = self
            .core
            .inspect_network(&network_name(docker_id))
            .map_err(|_| Failure::Refused(format!("network {docker_id} not found")))?;
        if view.network.labels.get(DOCKER_ID_LABEL).map(String::as_str) != Some(docker_id) {
            return Err(Failure::Refused(format!("network {docker_id} not found")));
        }
        Ok(view.network)
    }

    fn create_network(&self, req: wire::CreateNetworkRequest) -> Result<Reply, Failure> {
        let create = network_request(&req)?;
        for subnet in create.subnets.iter().filter_map(|s| s.subnet) {
            // Our IPAM held it since RequestPool; the network takes it now.
            self.core.release_pool(subnet);
        }
        self.core.create_network(create)?;
        Ok(Reply::empty())
    }

    fn delete_network(&self, req: wire::NetworkRequest) -> Result<Reply, Failure> {
        match self.network_of(&req.network_id) {
            Ok(network) => {
                self.core.remove_network(&network.id)?;
            }
            // Gone already: deleting is idempotent.
            Err(_) => tracing::info!(network = %req.network_id, "DeleteNetwork: not found"),
        }
        Ok(Reply::empty())
    }

    fn create_endpoint(&self, req: wire::CreateEndpointRequest) -> Result<Reply, Failure> {
        let network = self.network_of(&req.network_id)?;
        let given = req.interface.unwrap_or_default();
        let ipv4 = parse_cidr("Address", &given.address)?;
        let ipv6 = parse_cidr("AddressIPv6", &given.address_ipv6)?;
        let mac = match given.mac_address.as_str() {
            "" => None,
            raw => Some(parse_mac(raw).map_err(Failure::BadRequest)?),
        };
        let reserved = {
            let mut pending = self.pending();
            let mut all = true;
            for addr in ipv4.iter().chain(ipv6.iter()) {
                all &= pending.remove(&(network.id.clone(), addr.ip()));
            }
            all && (ipv4.is_some() || ipv6.is_some())
        };
        let endpoint = self.core.create_handoff_endpoint(HandoffRequest {
            id: req.endpoint_id,
            network: network.id,
            ipv4,
            ipv6,
            mac,
            reserved,
        })?;
        Ok(Reply::json(&endpoint_reply(&given, &endpoint)))
    }

    fn oper_info(&self, req: wire::EndpointRequest) -> Result<Reply, Failure> {
        let (endpoint, _) = self.core.handoff_endpoint(&req.endpoint_id)?;
        let mut value = BTreeMap::new();
        value.insert(
            "com.docker.network.endpoint.macaddress".to_owned(),
            Value::String(endpoint.mac_string()),
        );
        if let Some(host) = &endpoint.host_ifname {
            value.insert("hostNic".to_owned(), Value::String(host.clone()));
        }
        let ports: Vec<PortBinding> = endpoint.ports.iter().map(port_binding).collect();
        value.insert(
            wire::PORT_MAP.to_owned(),
            serde_json::to_value(ports).unwrap_or_default(),
        );
        Ok(Reply::json(&wire::OperInfoResponse { value }))
    }

    fn join(&self, req: wire::EndpointRequest) -> Result<Reply, Failure> {
        let (endpoint, _) = self.core.handoff_endpoint(&req.endpoint_id)?;
        tracing::info!(endpoint = %endpoint.id, sandbox = %req.sandbox_key, "docker join");
        Ok(Reply::json(&join_reply(&endpoint)))
    }

    fn publish(&self, req: wire::EndpointRequest) -> Result<Reply, Failure> {
        let (endpoint, _) = self.core.handoff_endpoint(&req.endpoint_id)?;
        let bindings: Vec<PortBinding> = match req.options.get(wire::PORT_MAP) {
            None | Some(Value::Null) => Vec::new(),
            Some(raw) => serde_json::from_value(raw.clone())
                .map_err(|e| Failure::BadRequest(format!("invalid {}: {e}", wire::PORT_MAP)))?,
        };
        let requests = port_requests(&bindings, endpoint.ipv6.is_some())?;
        self.core.publish_handoff(&endpoint.id, &requests)?;
        Ok(Reply::empty())
    }
}

/// cnm's `net create` for a Docker CreateNetwork.
pub(super) fn network_request(
    req: &wire::CreateNetworkRequest,
) -> Result<CreateNetworkRequest, Failure> {
    if req.network_id.len() < 12 || !req.network_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Failure::BadRequest(format!(
            "invalid NetworkID {:?}",
            req.network_id
        )));
    }
    let flag = |key: &str| match req.options.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    };
    let mut options = BTreeMap::new();
    if let Some(generic) = req.options.get(wire::GENERIC_OPTIONS) {
        let Value::Object(map) = generic else {
            return Err(Failure::BadRequest(format!(
                "{} is not an object",
                wire::GENERIC_OPTIONS
            )));
        };
        for (key, value) in map {
            let value = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            options.insert(key.clone(), value);
        }
    }
    let mut subnets = Vec::new();
    for data in req.ipv4_data.iter().chain(req.ipv6_data.iter()) {
        subnets.push(subnet_request(data)?);
    }
    Ok(CreateNetworkRequest {
        name: network_name(&req.network_id),
        driver: "bridge".into(),
        enable_ipv6: flag(wire::ENABLE_IPV6) || !req.ipv6_data.is_empty(),
        internal: flag(wire::INTERNAL),
        subnets,
        options,
        labels: BTreeMap::from([(DOCKER_ID_LABEL.to_owned(), req.network_id.clone())]),
        ..CreateNetworkRequest::default()
    })
}

fn subnet_request(data: &wire::IpamData) -> Result<SubnetRequest, Failure> {
    let subnet: IpNetwork = data
        .pool
        .parse()
        .map_err(|e| Failure::BadRequest(format!("invalid Pool {:?}: {e}", data.pool)))?;
    let gateway = parse_cidr("Gateway", &data.gateway)?.map(|g| g.ip());
    let mut aux_addresses = BTreeMap::new();
    for (name, raw) in &data.aux_addresses {
        if let Some(addr) = parse_cidr("AuxAddresses", raw)? {
            aux_addresses.insert(name.clone(), addr.ip());
        }
    }
    Ok(SubnetRequest {
        subnet: Some(subnet),
        gateway,
        aux_addresses,
        ..SubnetRequest::default()
    })
}

/// "10.1.0.2/24" (a bare address is taken as a host address); "" is none.
pub(super) fn parse_cidr(field: &str, raw: &str) -> Result<Option<IpNetwork>, Failure> {
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse::<IpNetwork>()
        .or_else(|_| raw.parse::<IpAddr>().map(IpNetwork::from))
        .map(Some)
        .map_err(|e| Failure::BadRequest(format!("invalid {field} {raw:?}: {e}")))
}

/// What CreateEndpoint tells Docker: only what it left to the driver.
pub(super) fn endpoint_reply(
    given: &wire::EndpointInterface,
    ep: &EndpointRecord,
) -> wire::CreateEndpointResponse {
    let mut chosen = wire::EndpointInterface::default();
    if given.mac_address.is_empty() {
        chosen.mac_address = ep.mac_string();
    }
    if given.address.is_empty() {
        chosen.address = ep.ipv4.map(|a| a.to_string()).unwrap_or_default();
    }
    if given.address_ipv6.is_empty() {
        chosen.address_ipv6 = ep.ipv6.map(|a| a.to_string()).unwrap_or_default();
    }
    wire::CreateEndpointResponse {
        interface: (chosen != wire::EndpointInterface::default()).then_some(chosen),
    }
}

pub(super) fn join_reply(ep: &EndpointRecord) -> wire::JoinResponse {
    let gateway = |gw: Option<IpAddr>| {
        gw.filter(|_| ep.default_route)
            .map(|g| g.to_string())
            .unwrap_or_default()
    };
    wire::JoinResponse {
        interface_name: wire::InterfaceName {
            src_name: ep.ifname.clone(),
            dst_prefix: "eth".into(),
        },
        gateway: gateway(ep.gateway_v4),
        gateway_ipv6: gateway(ep.gateway_v6),
        static_routes: Vec::new(),
        // The cnm network gives egress itself: no docker_gwbridge.
        disable_gateway_service: true,
    }
}

/// Docker's `-p` bindings as cnm port requests. Docker sends `::` copies
/// of every binding; they are dropped for containers without IPv6.
pub(super) fn port_requests(
    bindings: &[PortBinding],
    has_ipv6: bool,
) -> Result<Vec<PortRequest>, Failure> {
    let mut out = Vec::new();
    for b in bindings {
        let protocol = match b.proto {
            6 => Protocol::Tcp,
            17 => Protocol::Udp,
            132 => Protocol::Sctp,
            other => {
                return Err(Failure::Refused(format!(
                    "unsupported protocol number {other} for port {}",
                    b.port
                )))
            }
        };
        let host_ip = match b.host_ip.as_str() {
            "" | "<nil>" => None,
            raw => Some(
                raw.parse::<IpAddr>()
                    .map_err(|e| Failure::BadRequest(format!("invalid HostIP {raw:?}: {e}")))?,
            ),
        };
        if host_ip.is_some_and(|ip| ip.is_ipv6()) && !has_ipv6 {
            continue;
        }
        let host_ports = match (b.host_port, b.host_port_end) {
            (0, _) => None,
            (start, end) => Some(start..=end.max(start)),
        };
        let request = PortRequest {
            protocol,
            host_ip,
            host_ports,
            container_port: b.port,
        };
        if !out.contains(&request) {
            out.push(request);
        }
    }
    Ok(out)
}

pub(super) fn port_binding(port: &PublishedPort) -> PortBinding {
    let host_ip = match port.host {
        HostAddr::AnyV4 => "0.0.0.0".to_owned(),
        HostAddr::AnyV6 => "::".to_owned(),
        HostAddr::Ip(ip) => ip.to_string(),
    };
    PortBinding {
        proto: port.protocol.number(),
        ip: port.container_ip.to_string(),
        port: port.container_port,
        host_ip,
        host_port: port.host_port,
        host_port_end: port.host_port,
    }
}
