//! `join`: one ipvlan sub-interface per endpoint, created inside the
//! sandbox under its final name (it has its parent's MAC: ipvlan tells
//! containers apart by address).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnetwork::IpNetwork;

use crate::driver::{EndpointSpec, JoinInfo, SandboxInterface, SandboxSpec};
use crate::sys::{Netlink, SublinkKind, SublinkSpec};
use crate::DriverError;

use super::options::mode_name;
use super::IpvlanNetwork;

/// `join`: one RTM_NEWLINK; the kernel makes the link whole or not at all.
pub(super) fn join(
    net: &IpvlanNetwork,
    ep: &EndpointSpec,
    sandbox: SandboxSpec<'_>,
) -> Result<JoinInfo, DriverError> {
    let stacked = &net.stacked;
    let mut nl = Netlink::open()?;
    let parent = stacked.parent_link(&mut nl)?;
    nl.create_sublink(&SublinkSpec {
        name: sandbox.ifname,
        parent: parent.index,
        kind: SublinkKind::Ipvlan(net.options.mode, net.options.flag),
        mac: None,
        netns: Some(sandbox.netns),
    })
    .map_err(|err| match err.errno() {
        Some(libc::EBUSY) => DriverError::InvalidSpec {
            object: format!("network `{}`", stacked.name),
            reason: format!(
                "the parent `{}` is busy: it already carries macvlan sub-interfaces or is \
                 enslaved to a bond or bridge",
                stacked.parent.name()
            ),
        },
        _ => err.into(),
    })?;
    tracing::debug!(network = %stacked.name, parent = %parent.name, iface = %sandbox.ifname,
        mode = mode_name(net.options.mode), "joined");
    let (gateway_v4, gateway_v6, static_routes) = if net.routed() {
        (None, None, on_link_defaults(net, ep))
    } else {
        (stacked.gateway(false), stacked.gateway(true), Vec::new())
    };
    Ok(JoinInfo {
        interface: SandboxInterface::Created,
        gateway_v4,
        gateway_v6,
        static_routes,
        mtu: None,
    })
}

/// l3/l3s: the parent is the router, so the default route is on-link
/// through the sub-interface (as Docker sets it), one per family the
/// endpoint has; none for internal and parent-less networks.
fn on_link_defaults(net: &IpvlanNetwork, ep: &EndpointSpec) -> Vec<(IpNetwork, Option<IpAddr>)> {
    if !net.stacked.routes_out() {
        return Vec::new();
    }
    let mut routes = Vec::new();
    if ep.addresses.iter().any(IpNetwork::is_ipv4) {
        routes.extend(IpNetwork::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0).ok());
    }
    if ep.addresses.iter().any(IpNetwork::is_ipv6) {
        routes.extend(IpNetwork::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0).ok());
    }
    routes.into_iter().map(|dst| (dst, None)).collect()
}
