//! ADD: make sure cnmd has the network (creating it from the config on
//! first use), connect the namespace as (container id, interface), and
//! report what cnmd did in the caller's result version.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnetwork::IpNetwork;
use pb::v1 as api;
use serde_json::Value;
use tonic::Code;

use super::OWNER;
use crate::daemon::{refused, retry_transient, Daemon};
use crate::spec::{
    code, CniEnv, CniError, CniResult, Interface, IpConfig, NetConf, PortMapping, ResultDns, Route,
};

/// Label on networks the plugin creates, so `cnm net inspect` says why a
/// network appeared.
const CREATED_BY_LABEL: &str = "cnm.created-by";

pub async fn add(env: &CniEnv, conf: &NetConf) -> Result<Value, CniError> {
    let request = connect_request(env, conf)?;
    let daemon = Daemon::connect(&conf.socket).await?;
    ensure_network(&daemon, conf).await?;
    let response = connect_sandbox(&daemon, &request).await?;
    let endpoint = response.endpoint.ok_or_else(|| {
        CniError::new(
            code::DAEMON_REFUSED,
            "cnmd answered connect without an endpoint",
        )
    })?;
    let result = result_of(&endpoint, env, conf)?;
    match &conf.prev_result {
        Some(prev) => result.append_to(prev, &conf.cni_version, conf.version),
        None => Ok(result.to_json(&conf.cni_version, conf.version)),
    }
}

/// Connects the sandbox `request` names, retrying while cnmd is busy with
/// the network; the OCI hook connects through here too.
pub async fn connect_sandbox(
    daemon: &Daemon,
    request: &api::ConnectRequest,
) -> Result<api::ConnectResponse, CniError> {
    retry_transient(|| {
        let mut client = daemon.networks();
        let request = request.clone();
        async move { client.connect_sandbox(request).await }
    })
    .await
    .map(tonic::Response::into_inner)
    .map_err(|status| {
        refused(
            &format!(
                "connect container {} to network {}",
                request.container_id, request.network
            ),
            &status,
        )
    })
}

/// Everything the connect asks for, checked before cnmd is called.
fn connect_request(env: &CniEnv, conf: &NetConf) -> Result<api::ConnectRequest, CniError> {
    let runtime = &conf.runtime;
    let mut statics: Vec<IpAddr> = Vec::new();
    for raw in &runtime.ips {
        let bare = raw.split_once('/').map_or(raw.as_str(), |(ip, _)| ip);
        let ip = bare
            .parse()
            .map_err(|_| invalid(format!("runtimeConfig.ips: {raw:?} is not an IP address")))?;
        statics.push(ip);
    }
    statics.extend(env.args.ips.iter().copied());
    statics.dedup();
    let ipv4 = one_of_family(&statics, true)?;
    let ipv6 = one_of_family(&statics, false)?;
    let dns_servers = match &runtime.dns {
        Some(dns) => dns.servers.clone(),
        None => Vec::new(),
    };
    let netns = env.netns_path()?;
    Ok(api::ConnectRequest {
        network: conf.name.clone(),
        sandbox: Some(api::SandboxRef {
            kind: Some(api::sandbox_ref::Kind::NetnsPath(
                netns.display().to_string(),
            )),
        }),
        name: sandbox_name(&env.container_id),
        settings: Some(api::EndpointSettings {
            ipv4_address: ipv4.map(|ip| ip.to_string()).unwrap_or_default(),
            ipv6_address: ipv6.map(|ip| ip.to_string()).unwrap_or_default(),
            aliases: runtime.aliases.get(&conf.name).cloned().unwrap_or_default(),
            mac_address: runtime
                .mac
                .clone()
                .or_else(|| env.args.mac.clone())
                .unwrap_or_default(),
            dns_servers,
        }),
        publish: runtime
            .port_mappings
            .iter()
            .map(publish_spec)
            .collect::<Result<_, _>>()?,
        interface_name: env.ifname.clone(),
        container_id: env.container_id.clone(),
        owner: OWNER.to_owned(),
    })
}

fn invalid(msg: String) -> CniError {
    CniError::new(code::INVALID_CONFIG, msg)
}

fn one_of_family(ips: &[IpAddr], v4: bool) -> Result<Option<IpAddr>, CniError> {
    let mut family = ips.iter().filter(|ip| ip.is_ipv4() == v4);
    match (family.next(), family.next()) {
        (first, None) => Ok(first.copied()),
        (Some(a), Some(b)) => Err(invalid(format!(
            "two static addresses of one family ({a}, {b}); an attachment has one IPv4 and one IPv6 address"
        ))),
        (None, Some(_)) => Ok(None),
    }
}

/// The sandbox's name in cnmd: the container id (cnmd allows 64
/// characters, which a 64-digit id fills exactly).
pub fn sandbox_name(container_id: &str) -> String {
    container_id.chars().take(64).collect()
}

/// A `portMappings` entry in `docker run -p` syntax.
fn publish_spec(port: &PortMapping) -> Result<String, CniError> {
    let protocol = port
        .protocol
        .as_deref()
        .unwrap_or("tcp")
        .to_ascii_lowercase();
    let host = match port.host_ip.as_deref().filter(|h| !h.is_empty()) {
        None => String::new(),
        Some(raw) => match raw.parse::<IpAddr>() {
            Ok(IpAddr::V6(v6)) => format!("[{v6}]:"),
            Ok(IpAddr::V4(v4)) => format!("{v4}:"),
            Err(_) => {
                return Err(invalid(format!(
                    "portMappings: hostIP {raw:?} is not an IP address"
                )))
            }
        },
    };
    Ok(match port.host_port {
        0 => format!("{host}{}/{protocol}", port.container_port),
        hp => format!("{host}{hp}:{}/{protocol}", port.container_port),
    })
}

/// Finds the network by name, or creates it from the config. A parallel ADD
/// may create it first; that is fine when the result is the same network.
async fn ensure_network(daemon: &Daemon, conf: &NetConf) -> Result<(), CniError> {
    if let Some(network) = find_network(daemon, &conf.name).await? {
        return matches_config(&network, conf);
    }
    let created = daemon.networks().create_network(create_request(conf)).await;
    match created {
        Ok(_) => Ok(()),
        Err(status) if status.code() == Code::AlreadyExists => {
            match find_network(daemon, &conf.name).await? {
                Some(network) => matches_config(&network, conf),
                None => Err(refused(&format!("create network {}", conf.name), &status)),
            }
        }
        Err(status) => Err(refused(&format!("create network {}", conf.name), &status)),
    }
}

async fn find_network(daemon: &Daemon, name: &str) -> Result<Option<api::Network>, CniError> {
    let request = api::InspectNetworkRequest {
        network: name.to_owned(),
    };
    match daemon.networks().inspect_network(request).await {
        // Inspect also matches id prefixes; only the name counts here.
        Ok(response) => Ok(Some(response.into_inner()).filter(|n| n.name == name)),
        Err(status) if status.code() == Code::NotFound => Ok(None),
        Err(status) => Err(refused(&format!("inspect network {name}"), &status)),
    }
}

/// An existing network must be the one the config describes, or every
/// container would silently land somewhere unexpected.
fn matches_config(network: &api::Network, conf: &NetConf) -> Result<(), CniError> {
    let wanted = &conf.network;
    if !wanted.driver.is_empty() && wanted.driver != network.driver {
        return Err(invalid(format!(
            "network {} exists in cnmd with driver {}, but the CNI config asks for {}; fix the config or remove the network (cnm net rm {})",
            network.name, network.driver, wanted.driver, network.name
        )));
    }
    let subnets: Vec<&str> = network
        .ipam
        .iter()
        .flat_map(|i| &i.config)
        .map(|c| c.subnet.as_str())
        .collect();
    if let Some(subnet) = wanted.subnet {
        if !subnets.contains(&subnet.to_string().as_str()) {
            return Err(invalid(format!(
                "network {} exists in cnmd with subnet {}, but the CNI config asks for {subnet}; fix the config or remove the network (cnm net rm {})",
                network.name,
                subnets.join(", "),
                network.name
            )));
        }
    }
    Ok(())
}

fn create_request(conf: &NetConf) -> api::CreateNetworkRequest {
    let wanted = &conf.network;
    let config = wanted
        .subnet
        .map(|subnet| api::IpamConfig {
            subnet: subnet.to_string(),
            ip_range: wanted.ip_range.map(|r| r.to_string()).unwrap_or_default(),
            gateway: wanted.gateway.map(|g| g.to_string()).unwrap_or_default(),
            auxiliary_addresses: Default::default(),
        })
        .into_iter()
        .collect();
    api::CreateNetworkRequest {
        name: conf.name.clone(),
        driver: wanted.driver.clone(),
        enable_ipv6: wanted.subnet.is_some_and(|s| s.is_ipv6()),
        internal: wanted.internal,
        ipam: Some(api::Ipam {
            driver: String::new(),
            config,
            options: Default::default(),
        }),
        options: wanted.options.clone().into_iter().collect(),
        labels: BTreeMap::from([(CREATED_BY_LABEL.to_owned(), "cnm-cni".to_owned())])
            .into_iter()
            .collect(),
        dns_servers: wanted.dns_servers.iter().map(ToString::to_string).collect(),
    }
}

/// The CNI result of a connect: the host side (for `bandwidth`), the
/// sandbox side, its addresses, default routes and resolver.
pub fn result_of(
    endpoint: &api::Endpoint,
    env: &CniEnv,
    conf: &NetConf,
) -> Result<CniResult, CniError> {
    let mut interfaces = Vec::new();
    if !endpoint.host_interface.is_empty() {
        interfaces.push(Interface {
            name: endpoint.host_interface.clone(),
            mac: String::new(),
            mtu: None,
            sandbox: String::new(),
        });
    }
    let index = interfaces.len();
    interfaces.push(Interface {
        name: endpoint.interface.clone(),
        mac: endpoint.mac_address.clone(),
        mtu: None,
        sandbox: env.netns_path()?.display().to_string(),
    });
    let mut ips = Vec::new();
    let mut routes = Vec::new();
    for (address, gateway, default) in [
        (&endpoint.ipv4_address, &endpoint.gateway, "0.0.0.0/0"),
        (&endpoint.ipv6_address, &endpoint.ipv6_gateway, "::/0"),
    ] {
        if address.is_empty() {
            continue;
        }
        let address: IpNetwork = parse(address)?;
        let gateway: Option<IpAddr> = match gateway.as_str() {
            "" => None,
            raw => Some(parse(raw)?),
        };
        ips.push(IpConfig {
            address,
            gateway,
            interface: Some(index),
        });
        if let (true, Some(gw)) = (endpoint.default_route, gateway) {
            routes.push(Route {
                dst: parse(default)?,
                gw: Some(gw),
            });
        }
    }
    Ok(CniResult {
        interfaces,
        ips,
        routes,
        dns: result_dns(endpoint, conf),
    })
}

fn parse<T: std::str::FromStr>(raw: &str) -> Result<T, CniError> {
    raw.parse().map_err(|_| {
        CniError::new(
            code::DAEMON_REFUSED,
            format!("cnmd answered with an unreadable address {raw:?}"),
        )
    })
}

/// The embedded DNS when the network has one, else the configured servers.
fn result_dns(endpoint: &api::Endpoint, conf: &NetConf) -> ResultDns {
    let runtime = conf.runtime.dns.clone().unwrap_or_default();
    let nameservers = [
        endpoint.dns_nameservers.clone(),
        runtime.servers,
        conf.dns.nameservers.clone(),
    ]
    .into_iter()
    .find(|list| !list.is_empty())
    .unwrap_or_default();
    let pick = |a: Vec<String>, b: &Vec<String>| if a.is_empty() { b.clone() } else { a };
    ResultDns {
        nameservers,
        domain: conf.dns.domain.clone(),
        search: pick(runtime.searches, &conf.dns.search),
        options: pick(runtime.options, &conf.dns.options),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(host_ip: Option<&str>, host_port: u16, protocol: Option<&str>) -> PortMapping {
        PortMapping {
            host_port,
            container_port: 80,
            protocol: protocol.map(str::to_owned),
            host_ip: host_ip.map(str::to_owned),
        }
    }

    #[test]
    fn port_mappings_become_publish_specs() {
        let spec = |m| publish_spec(&m).expect("valid");
        assert_eq!(spec(mapping(None, 8080, None)), "8080:80/tcp");
        assert_eq!(
            spec(mapping(Some("127.0.0.1"), 8080, Some("UDP"))),
            "127.0.0.1:8080:80/udp"
        );
        assert_eq!(
            spec(mapping(Some("::1"), 8080, Some("tcp"))),
            "[::1]:8080:80/tcp"
        );
        assert_eq!(spec(mapping(Some(""), 0, Some("sctp"))), "80/sctp");
        assert!(publish_spec(&mapping(Some("host"), 1, None)).is_err());
    }

    #[test]
    fn one_static_address_per_family() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        assert_eq!(
            one_of_family(&[ip("10.0.0.2"), ip("fd00::2")], true).expect("ok"),
            Some(ip("10.0.0.2"))
        );
        assert!(one_of_family(&[ip("10.0.0.2"), ip("10.0.0.3")], true).is_err());
        assert_eq!(one_of_family(&[], false).expect("ok"), None);
    }

    #[test]
    fn long_container_ids_fit_a_sandbox_name() {
        assert_eq!(sandbox_name(&"a".repeat(80)).len(), 64);
        assert_eq!(sandbox_name("abc"), "abc");
    }
}
