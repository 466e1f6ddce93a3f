//! Between wire messages (cnm.v1) and the core's types. Parsing user input
//! here gives one clear InvalidArgument naming the bad value.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use ::pb::v1 as pb;
use ipnetwork::IpNetwork;
use tonic::Status;

use crate::core::{Core, NetworkView, SandboxSelector, SandboxView};
use crate::ipam::SubnetRequest;
use crate::model::{parse_mac, Attachment, EndpointRecord, NetworkRecord};
use crate::ports::{parse_publish, PortRequest};

pub fn parse_cidr(what: &str, raw: &str) -> Result<IpNetwork, Status> {
    raw.parse::<IpNetwork>().map_err(|err| {
        Status::invalid_argument(format!(
            "invalid {what} {raw:?}: {err}; expected CIDR like 172.20.0.0/16"
        ))
    })
}

pub fn ips(what: &str, raw: &[String]) -> Result<Vec<IpAddr>, Status> {
    raw.iter().map(|r| parse_ip(what, r)).collect()
}

pub fn parse_ip(what: &str, raw: &str) -> Result<IpAddr, Status> {
    raw.parse::<IpAddr>().map_err(|_| {
        Status::invalid_argument(format!("invalid {what} {raw:?}: expected an IP address"))
    })
}

fn optional<T>(
    raw: &str,
    parse: impl FnOnce(&str) -> Result<T, Status>,
) -> Result<Option<T>, Status> {
    if raw.is_empty() {
        Ok(None)
    } else {
        parse(raw).map(Some)
    }
}

pub fn subnet_requests(ipam: Option<&pb::Ipam>) -> Result<Vec<SubnetRequest>, Status> {
    let Some(ipam) = ipam else {
        return Ok(Vec::new());
    };
    ipam.config
        .iter()
        .map(|c| {
            let aux_addresses = c
                .auxiliary_addresses
                .iter()
                .map(|(name, ip)| Ok((name.clone(), parse_ip("aux-address", ip)?)))
                .collect::<Result<BTreeMap<_, _>, Status>>()?;
            Ok(SubnetRequest {
                subnet: optional(&c.subnet, |s| parse_cidr("subnet", s))?,
                ip_range: optional(&c.ip_range, |s| parse_cidr("ip-range", s))?,
                gateway: optional(&c.gateway, |s| parse_ip("gateway", s))?,
                aux_addresses,
            })
        })
        .collect()
}

pub fn sandbox_selector(sandbox: Option<&pb::SandboxRef>) -> Result<SandboxSelector, Status> {
    match sandbox.and_then(|s| s.kind.as_ref()) {
        Some(pb::sandbox_ref::Kind::NetnsPath(path)) if !path.is_empty() => {
            let path = PathBuf::from(path);
            if !path.is_absolute() {
                return Err(Status::invalid_argument(format!(
                    "network namespace path {} must be absolute",
                    path.display()
                )));
            }
            Ok(SandboxSelector::NetnsPath(path))
        }
        Some(pb::sandbox_ref::Kind::Sandbox(key)) if !key.is_empty() => {
            Ok(SandboxSelector::Known(key.clone()))
        }
        Some(pb::sandbox_ref::Kind::Attachment(att)) if !att.container_id.is_empty() => {
            Ok(SandboxSelector::Attachment {
                container_id: att.container_id.clone(),
                ifname: Some(att.interface_name.clone()).filter(|n| !n.is_empty()),
            })
        }
        _ => Err(Status::invalid_argument(
            "no sandbox given: pass --netns PATH or a container",
        )),
    }
}

/// The attachment a connect records; none without a container id.
pub fn attachment(container_id: String, owner: String) -> Option<Attachment> {
    (!container_id.is_empty()).then_some(Attachment {
        container_id,
        owner,
    })
}

pub fn mac(raw: &str) -> Result<Option<[u8; 6]>, Status> {
    optional(raw, |s| parse_mac(s).map_err(Status::invalid_argument))
}

fn opt_string<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

pub fn network(view: &NetworkView) -> pb::Network {
    let net = &view.network;
    pb::Network {
        name: net.name.to_string(),
        id: net.id.clone(),
        created: net.created.clone(),
        scope: net.scope.clone(),
        driver: net.driver.clone(),
        enable_ipv6: net.enable_ipv6,
        internal: net.internal,
        ipam: Some(ipam(net)),
        options: net.options.clone().into_iter().collect(),
        labels: net.labels.clone().into_iter().collect(),
        containers: view
            .endpoints
            .iter()
            .map(|(ep, sb)| {
                let resource = pb::EndpointResource {
                    name: sb.name.to_string(),
                    endpoint_id: ep.id.clone(),
                    mac_address: ep.mac_string(),
                    ipv4_address: opt_string(ep.ipv4),
                    ipv6_address: opt_string(ep.ipv6),
                };
                (sb.id.clone(), resource)
            })
            .collect(),
        builtin: net.builtin,
        dns_servers: net.dns_servers.iter().map(ToString::to_string).collect(),
    }
}

fn ipam(net: &NetworkRecord) -> pb::Ipam {
    pb::Ipam {
        driver: net.ipam_driver.clone(),
        config: net
            .subnets
            .iter()
            .map(|s| pb::IpamConfig {
                subnet: s.subnet.to_string(),
                ip_range: opt_string(s.ip_range),
                gateway: opt_string(s.gateway),
                auxiliary_addresses: s
                    .aux_addresses
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_string()))
                    .collect(),
            })
            .collect(),
        options: net.ipam_options.clone().into_iter().collect(),
    }
}

pub fn endpoint(ep: &EndpointRecord, net: &NetworkRecord) -> pb::Endpoint {
    pb::Endpoint {
        id: ep.id.clone(),
        network_id: net.id.clone(),
        network_name: net.name.to_string(),
        sandbox_id: ep.sandbox_id.clone(),
        interface: ep.ifname.clone(),
        mac_address: ep.mac_string(),
        ipv4_address: opt_string(ep.ipv4),
        ipv6_address: opt_string(ep.ipv6),
        gateway: opt_string(ep.gateway_v4),
        ipv6_gateway: opt_string(ep.gateway_v6),
        aliases: ep.aliases.clone(),
        ports: ep
            .ports
            .iter()
            .map(|p| pb::PortBinding {
                protocol: p.protocol.to_string(),
                host_ip: p.host.to_string(),
                host_port: p.host_port.into(),
                container_port: p.container_port.into(),
            })
            .collect(),
        container_id: opt_string(ep.attachment.as_ref().map(|a| &a.container_id)),
        owner: opt_string(ep.attachment.as_ref().map(|a| &a.owner)),
        host_interface: opt_string(ep.host_ifname.as_ref()),
        dns_nameservers: embedded_dns(net),
        default_route: ep.default_route,
    }
}

/// Where the embedded DNS answers on `net` (its gateways), if it does.
fn embedded_dns(net: &NetworkRecord) -> Vec<String> {
    if !Core::dns_enabled(net) {
        return Vec::new();
    }
    net.subnets
        .iter()
        .filter_map(|s| s.gateway)
        .map(|gw| gw.to_string())
        .collect()
}

/// Parses every `-p` spec; the error names the bad one.
pub fn publish(specs: &[String]) -> Result<Vec<PortRequest>, Status> {
    let mut out = Vec::new();
    for spec in specs {
        out.extend(parse_publish(spec).map_err(Status::invalid_argument)?);
    }
    Ok(out)
}

pub fn sandbox(view: &SandboxView) -> pb::Sandbox {
    pb::Sandbox {
        id: view.sandbox.id.clone(),
        name: view.sandbox.name.to_string(),
        netns_path: view.sandbox.netns_path.clone(),
        endpoints: view
            .endpoints
            .iter()
            .map(|(ep, net)| endpoint(ep, net))
            .collect(),
        created: view.sandbox.created.clone(),
    }
}

pub fn filters(filters: &[pb::Filter]) -> Vec<(String, String)> {
    filters
        .iter()
        .map(|f| (f.key.clone(), f.value.clone()))
        .collect()
}
