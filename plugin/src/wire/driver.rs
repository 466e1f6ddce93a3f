//! `cnm.driver.v1` messages to and from the `Driver` trait's values.

use std::net::IpAddr;

use ::pb::driver::v1 as pb;
use cnm_drivers::{
    Capabilities, DriverError, EndpointSpec, JoinInfo, NetworkSpec, PluginFailure, PortBinding,
    SandboxInterface, SubnetSpec,
};
use ipnetwork::IpNetwork;
use tonic::{Code, Status};

use super::{cidr, full_message, ip, opt_ip, required, text};

pub(crate) fn network_to_wire(net: &NetworkSpec) -> pb::Network {
    pb::Network {
        id: net.id.clone(),
        name: net.name.clone(),
        options: net.options.clone().into_iter().collect(),
        subnets: net
            .subnets
            .iter()
            .map(|s| pb::Subnet {
                subnet: s.subnet.to_string(),
                gateway: text(s.gateway),
            })
            .collect(),
        internal: net.internal,
        enable_ipv6: net.enable_ipv6,
    }
}

pub(crate) fn network_from_wire(net: Option<pb::Network>) -> Result<NetworkSpec, Status> {
    let net = required("network", net)?;
    let subnets = net
        .subnets
        .iter()
        .map(|s| {
            Ok(SubnetSpec {
                subnet: cidr("subnet", &s.subnet)?,
                gateway: opt_ip("gateway", &s.gateway)?,
            })
        })
        .collect::<Result<_, Status>>()?;
    Ok(NetworkSpec {
        id: net.id,
        name: net.name,
        options: net.options.into_iter().collect(),
        subnets,
        internal: net.internal,
        enable_ipv6: net.enable_ipv6,
    })
}

pub(crate) fn endpoint_to_wire(ep: &EndpointSpec) -> pb::Endpoint {
    let mac = ep.mac.map(|b| format!("{b:02x}")).join(":");
    pb::Endpoint {
        id: ep.id.clone(),
        mac,
        addresses: ep.addresses.iter().map(ToString::to_string).collect(),
    }
}

pub(crate) fn endpoint_from_wire(ep: Option<pb::Endpoint>) -> Result<EndpointSpec, Status> {
    let ep = required("endpoint", ep)?;
    let addresses = ep
        .addresses
        .iter()
        .map(|a| cidr("endpoint address", a))
        .collect::<Result<_, _>>()?;
    Ok(EndpointSpec {
        id: ep.id,
        mac: parse_mac(&ep.mac)?,
        addresses,
    })
}

fn parse_mac(raw: &str) -> Result<[u8; 6], Status> {
    let bad = || Status::invalid_argument(format!("endpoint MAC: invalid address {raw:?}"));
    let mut mac = [0u8; 6];
    let mut parts = raw.split(':');
    for byte in &mut mac {
        let part = parts.next().ok_or_else(bad)?;
        if part.len() != 2 {
            return Err(bad());
        }
        *byte = u8::from_str_radix(part, 16).map_err(|_| bad())?;
    }
    match parts.next() {
        None => Ok(mac),
        Some(_) => Err(bad()),
    }
}

pub(crate) fn capabilities_to_wire(caps: &Capabilities) -> pb::Capabilities {
    pb::Capabilities {
        scope: caps.scope.to_owned(),
        creates_interfaces: caps.creates_interfaces,
    }
}

pub(crate) fn capabilities_from_wire(caps: &pb::Capabilities) -> Capabilities {
    Capabilities {
        // The trait's scope is a fixed word; anything but "global" is local.
        scope: if caps.scope == "global" {
            "global"
        } else {
            "local"
        },
        creates_interfaces: caps.creates_interfaces,
    }
}

pub(crate) fn join_to_wire(join: &JoinInfo) -> pb::JoinResponse {
    let (placement, host_name) = match &join.interface {
        SandboxInterface::None => (pb::InterfacePlacement::None, String::new()),
        SandboxInterface::Created => (pb::InterfacePlacement::InSandbox, String::new()),
        SandboxInterface::InHost { name } => (pb::InterfacePlacement::InHost, name.clone()),
    };
    pb::JoinResponse {
        placement: placement.into(),
        host_name,
        gateway_v4: text(join.gateway_v4),
        gateway_v6: text(join.gateway_v6),
        static_routes: join
            .static_routes
            .iter()
            .map(|(dst, via)| pb::StaticRoute {
                destination: dst.to_string(),
                next_hop: text(*via),
            })
            .collect(),
        mtu: join.mtu.unwrap_or(0),
    }
}

pub(crate) fn join_from_wire(resp: &pb::JoinResponse) -> Result<JoinInfo, Status> {
    let interface = match pb::InterfacePlacement::try_from(resp.placement) {
        Ok(pb::InterfacePlacement::None) => SandboxInterface::None,
        Ok(pb::InterfacePlacement::InSandbox) => SandboxInterface::Created,
        Ok(pb::InterfacePlacement::InHost) if !resp.host_name.is_empty() => {
            SandboxInterface::InHost {
                name: resp.host_name.clone(),
            }
        }
        Ok(pb::InterfacePlacement::InHost) => {
            return Err(Status::invalid_argument(
                "interface placed in the host without a host_name",
            ))
        }
        Err(_) => {
            return Err(Status::invalid_argument(format!(
                "unknown interface placement {}",
                resp.placement
            )))
        }
    };
    let static_routes = resp
        .static_routes
        .iter()
        .map(|r| {
            let dst: IpNetwork = cidr("static route", &r.destination)?;
            Ok((dst, opt_ip("static route next hop", &r.next_hop)?))
        })
        .collect::<Result<_, Status>>()?;
    Ok(JoinInfo {
        interface,
        gateway_v4: opt_ip("gateway_v4", &resp.gateway_v4)?,
        gateway_v6: opt_ip("gateway_v6", &resp.gateway_v6)?,
        static_routes,
        mtu: (resp.mtu != 0).then_some(resp.mtu),
    })
}

pub(crate) fn ports_to_wire(ports: &[PortBinding]) -> Vec<pb::PortBinding> {
    ports
        .iter()
        .map(|p| pb::PortBinding {
            protocol: p.protocol.clone(),
            host_ip: text(p.host_ip),
            host_port: p.host_port.into(),
            container_port: p.container_port.into(),
        })
        .collect()
}

pub(crate) fn ports_from_wire(ports: &[pb::PortBinding]) -> Result<Vec<PortBinding>, Status> {
    let port = |what: &str, raw: u32| {
        u16::try_from(raw)
            .map_err(|_| Status::invalid_argument(format!("{what} {raw} is not a port number")))
    };
    ports
        .iter()
        .map(|p| {
            let host_ip: Option<IpAddr> = match p.host_ip.as_str() {
                "" => None,
                raw => Some(ip("host_ip", raw)?),
            };
            Ok(PortBinding {
                protocol: p.protocol.clone(),
                host_ip,
                host_port: port("host port", p.host_port)?,
                container_port: port("container port", p.container_port)?,
            })
        })
        .collect()
}

/// The status a plugin answers for a failed verb: the class as the code,
/// the whole message (with causes) as the text.
pub(crate) fn status_of(err: &DriverError) -> Status {
    let code = match err {
        DriverError::InvalidOption { .. } | DriverError::InvalidSpec { .. } => {
            Code::InvalidArgument
        }
        DriverError::Unsupported { .. } => Code::FailedPrecondition,
        DriverError::NotFound { .. } => Code::NotFound,
        DriverError::Conflict { .. } => Code::AlreadyExists,
        DriverError::Plugin { failure, .. } => code_of(*failure),
        DriverError::Sys(_) | DriverError::Several(_) => Code::Internal,
    };
    Status::new(code, full_message(err))
}

fn code_of(failure: PluginFailure) -> Code {
    match failure {
        PluginFailure::Invalid => Code::InvalidArgument,
        PluginFailure::NotFound => Code::NotFound,
        PluginFailure::Conflict => Code::AlreadyExists,
        PluginFailure::Unsupported => Code::FailedPrecondition,
        PluginFailure::Unavailable => Code::Unavailable,
        PluginFailure::Failed => Code::Internal,
    }
}

/// What cnmd makes of a plugin's status: the plugin's class and message,
/// under the name cnmd knows the plugin by.
pub(crate) fn error_of(driver: &str, status: &Status) -> DriverError {
    let failure = match status.code() {
        Code::InvalidArgument | Code::OutOfRange => PluginFailure::Invalid,
        Code::NotFound => PluginFailure::NotFound,
        Code::AlreadyExists => PluginFailure::Conflict,
        Code::FailedPrecondition | Code::Unimplemented => PluginFailure::Unsupported,
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => PluginFailure::Unavailable,
        _ => PluginFailure::Failed,
    };
    DriverError::Plugin {
        driver: driver.to_owned(),
        failure,
        message: status.message().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network() -> NetworkSpec {
        NetworkSpec {
            id: "ab".repeat(32),
            name: "web".into(),
            options: [(
                "com.docker.network.driver.mtu".to_owned(),
                "1400".to_owned(),
            )]
            .into(),
            subnets: vec![
                SubnetSpec {
                    subnet: "10.1.0.0/24".parse().expect("cidr"),
                    gateway: Some("10.1.0.1".parse().expect("ip")),
                },
                SubnetSpec {
                    subnet: "fd00:1::/64".parse().expect("cidr"),
                    gateway: None,
                },
            ],
            internal: true,
            enable_ipv6: true,
        }
    }

    #[test]
    fn network_and_endpoint_round_trip() {
        let net = network();
        let back = network_from_wire(Some(network_to_wire(&net))).expect("decode");
        assert_eq!(format!("{back:?}"), format!("{net:?}"));
        let ep = EndpointSpec {
            id: "cd".repeat(32),
            mac: [0x02, 0x42, 0xac, 0x11, 0x00, 0x0f],
            addresses: vec!["10.1.0.2/24".parse().expect("cidr")],
        };
        let wire = endpoint_to_wire(&ep);
        assert_eq!(wire.mac, "02:42:ac:11:00:0f");
        let back = endpoint_from_wire(Some(wire)).expect("decode");
        assert_eq!(format!("{back:?}"), format!("{ep:?}"));
    }

    #[test]
    fn join_round_trips_every_placement() {
        for interface in [
            SandboxInterface::None,
            SandboxInterface::Created,
            SandboxInterface::InHost {
                name: "veth0".into(),
            },
        ] {
            let join = JoinInfo {
                interface,
                gateway_v4: Some("10.1.0.1".parse().expect("ip")),
                gateway_v6: None,
                static_routes: vec![
                    ("10.9.0.0/16".parse().expect("cidr"), None),
                    (
                        "10.8.0.0/16".parse().expect("cidr"),
                        Some("10.1.0.254".parse().expect("ip")),
                    ),
                ],
                mtu: Some(1400),
            };
            assert_eq!(join_from_wire(&join_to_wire(&join)).expect("decode"), join);
        }
    }

    #[test]
    fn bad_wire_values_are_refused_with_the_field() {
        let mut wire = endpoint_to_wire(&EndpointSpec {
            id: "x".into(),
            mac: [0; 6],
            addresses: Vec::new(),
        });
        wire.mac = "02:42:ac".into();
        let err = endpoint_from_wire(Some(wire)).expect_err("short MAC");
        assert!(err.message().contains("endpoint MAC"), "{err:?}");
        let resp = pb::JoinResponse {
            placement: pb::InterfacePlacement::InHost.into(),
            ..Default::default()
        };
        let err = join_from_wire(&resp).expect_err("no host name");
        assert!(err.message().contains("host_name"), "{err:?}");
        assert!(network_from_wire(None).is_err());
    }

    #[test]
    fn errors_keep_class_and_message_across_the_wire() {
        let errors = [
            (
                DriverError::InvalidOption {
                    driver: "bridge",
                    message: "unknown option `x`".into(),
                },
                PluginFailure::Invalid,
            ),
            (
                DriverError::NotFound {
                    object: "bridge cnm0".into(),
                    hint: "recreate the network",
                },
                PluginFailure::NotFound,
            ),
            (
                DriverError::Conflict {
                    object: "link x".into(),
                    expected: "a bridge".into(),
                },
                PluginFailure::Conflict,
            ),
            (
                DriverError::Unsupported {
                    driver: "host",
                    operation: "join",
                    reason: "no".into(),
                },
                PluginFailure::Unsupported,
            ),
        ];
        for (err, class) in errors {
            let text = err.to_string();
            match error_of("myplug", &status_of(&err)) {
                DriverError::Plugin {
                    driver,
                    failure,
                    message,
                } => {
                    assert_eq!(driver, "myplug");
                    assert_eq!(failure, class, "{text}");
                    assert_eq!(message, text);
                }
                other => panic!("not a plugin error: {other:?}"),
            }
        }
    }
}
