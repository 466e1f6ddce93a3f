//! The host shim (`-o cnm.macvlan.host_shim=true`): a bridge-mode macvlan
//! on the parent, in the host namespace, named `cnmh` + 11 hex digits of
//! the network id, plus one host route (/32, /128) per container address
//! through it.
//!
//! Why: frames a macvlan sends go to the wire or to sibling macvlans in
//! bridge mode, never up the parent's own stack, so the host cannot reach
//! its containers through the parent. The shim is such a sibling. Host
//! routes rather than the subnet route: the subnet is often the parent's
//! own LAN, whose route the host already has through the parent (the more
//! specific route wins, and the rest of the LAN is not diverted). The shim
//! has no address: each route names the host's own address on the parent
//! (preferably one in the container's subnet) as its source, since the
//! kernel would otherwise pick the namespace's first address (say, the
//! default bridge's 172.17.0.1), which containers route to their LAN
//! gateway instead of back to the host. Containers answer through the shim
//! because the host answers ARP for its addresses on every interface.

use std::collections::HashSet;
use std::net::IpAddr;

use ipnetwork::IpNetwork;

use crate::bridge::hex_prefix;
use crate::driver::ReconcileReport;
use crate::sys::{Link, MacvlanMode, Netlink, SublinkKind, SublinkSpec, SysError};
use crate::DriverError;

use super::network::MacvlanNetwork;

/// Prefix of shim names; 'h' is not a hex digit, so no bridge name
/// (`cnm` + 12 hex) or veth name (`cnmv` + 11 hex) can look like one.
const SHIM_PREFIX: &str = "cnmh";
const SHIM_ID_DIGITS: usize = 11;

/// The host shim's name for a network.
pub fn shim_name_for(network_id: &str) -> Result<String, DriverError> {
    Ok(format!(
        "{SHIM_PREFIX}{}",
        hex_prefix("network", network_id, SHIM_ID_DIGITS)?
    ))
}

/// A name `shim_name_for` could have produced.
pub(super) fn is_shim_name(name: &str) -> bool {
    name.strip_prefix(SHIM_PREFIX).is_some_and(|rest| {
        rest.len() == SHIM_ID_DIGITS
            && rest
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Makes sure the network's shim exists on its parent and is up. Returns
/// it and whether it was created now.
pub(super) fn ensure(nl: &mut Netlink, net: &MacvlanNetwork) -> Result<(Link, bool), DriverError> {
    let name = shim_name_for(&net.stacked.id)?;
    if let Some(link) = nl.link_by_name(&name)? {
        if link.kind.as_deref() != Some("macvlan") {
            return Err(DriverError::Conflict {
                object: format!("link `{name}`"),
                expected: format!("the host shim of network `{}`", net.stacked.name),
            });
        }
        if !link.up {
            nl.set_up(link.index)?;
        }
        return Ok((link, false));
    }
    let parent =
        nl.link_by_name(net.stacked.parent.name())?
            .ok_or_else(|| DriverError::NotFound {
                object: format!(
                    "parent `{}` of network `{}`",
                    net.stacked.parent.name(),
                    net.stacked.name
                ),
                hint: "the host shim sits on the parent; recreate the parent or drop the shim",
            })?;
    nl.create_sublink(&SublinkSpec {
        name: &name,
        parent: parent.index,
        kind: SublinkKind::Macvlan(MacvlanMode::Bridge),
        mac: None,
        netns: None,
    })?;
    let link = nl
        .link_by_name(&name)?
        .ok_or_else(|| SysError::from_errno("look up new host shim", &name, libc::ENODEV))?;
    let configured = if net.stacked.ipv6 {
        Ok(())
    } else {
        nl.set_addr_gen_mode_none(link.index)
    }
    .and_then(|()| nl.set_up(link.index));
    if let Err(e) = configured {
        let _ = nl.delete_link(link.index);
        return Err(e.into());
    }
    tracing::info!(network = %net.stacked.name, iface = %name, "created host shim");
    Ok((link, true))
}

/// Deletes the network's shim, if it has one.
pub(super) fn delete(nl: &mut Netlink, network_id: &str) -> Result<(), DriverError> {
    nl.delete_link_by_name(&shim_name_for(network_id)?)?;
    Ok(())
}

/// Routes `addrs` (the container's addresses) through the shim. On error
/// the routes added here are removed again.
pub(super) fn add_routes(
    nl: &mut Netlink,
    net: &MacvlanNetwork,
    addrs: &[IpNetwork],
) -> Result<(), DriverError> {
    let name = shim_name_for(&net.stacked.id)?;
    let shim = nl
        .link_by_name(&name)?
        .ok_or_else(|| DriverError::NotFound {
            object: format!("host shim `{name}` of network `{}`", net.stacked.name),
            hint: "it was deleted outside cnm; restart cnmd to recreate it",
        })?;
    let sources = host_addresses(nl, net)?;
    let mut added = Vec::new();
    for addr in addrs {
        match add_route(nl, &shim, &sources, addr) {
            Ok(route) => added.push(route),
            Err(e) if e.is_exists() => {}
            Err(e) => {
                for route in added {
                    let _ = nl.delete_route(route, shim.index);
                }
                return Err(e.into());
            }
        }
    }
    Ok(())
}

/// The host's addresses on the parent: the sources of the shim's routes.
fn host_addresses(nl: &mut Netlink, net: &MacvlanNetwork) -> Result<Vec<IpNetwork>, SysError> {
    let Some(parent) = nl.link_by_name(net.stacked.parent.name())? else {
        return Ok(Vec::new());
    };
    Ok(nl
        .addresses(Some(parent.index))?
        .into_iter()
        .map(|(_, addr)| addr)
        .collect())
}

/// The source for packets to container `addr`: of the host's addresses on
/// the parent, one in the container's subnet, else any of its family that
/// is not link-local. None if there is none (the kernel picks).
fn source_for(sources: &[IpNetwork], addr: &IpNetwork) -> Option<IpAddr> {
    let usable = |s: &&IpNetwork| match s.ip() {
        IpAddr::V4(v4) => addr.is_ipv4() && !v4.is_link_local(),
        IpAddr::V6(v6) => addr.is_ipv6() && !v6.is_unicast_link_local(),
    };
    let candidates: Vec<&IpNetwork> = sources.iter().filter(usable).collect();
    candidates
        .iter()
        .find(|s| s.contains(addr.ip()))
        .or(candidates.first())
        .map(|s| s.ip())
}

/// Adds the host route to `addr` through the shim; returns the route.
fn add_route(
    nl: &mut Netlink,
    shim: &Link,
    sources: &[IpNetwork],
    addr: &IpNetwork,
) -> Result<IpNetwork, SysError> {
    let route = host_route(addr);
    match source_for(sources, addr) {
        Some(src) => nl.add_route_from(route, shim.index, src)?,
        None => nl.add_route(route, None, Some(shim.index))?,
    }
    Ok(route)
}

/// Removes the routes of `addrs` from the shim; missing ones are fine.
pub(super) fn remove_routes(
    nl: &mut Netlink,
    network_id: &str,
    addrs: &[IpNetwork],
) -> Result<(), DriverError> {
    let Some(shim) = nl.link_by_name(&shim_name_for(network_id)?)? else {
        return Ok(());
    };
    for addr in addrs {
        match nl.delete_route(host_route(addr), shim.index) {
            Err(e) if !e.is_not_found() => return Err(e.into()),
            _ => {}
        }
    }
    Ok(())
}

/// Reconcile: the shim routes exactly the listed container addresses.
pub(super) fn sync_routes(
    nl: &mut Netlink,
    net: &MacvlanNetwork,
    shim: &Link,
    addrs: &[IpNetwork],
    report: &mut ReconcileReport,
) -> Result<(), DriverError> {
    let sources = host_addresses(nl, net)?;
    let wanted: HashSet<IpNetwork> = addrs.iter().map(host_route).collect();
    let present: HashSet<IpNetwork> = nl
        .routes()?
        .into_iter()
        .filter(|r| r.oif == Some(shim.index) && r.gateway.is_none())
        .map(|r| r.dst)
        .filter(|dst| dst.prefix() == host_prefix(dst))
        .collect();
    for stale in present.difference(&wanted) {
        match nl.delete_route(*stale, shim.index) {
            Ok(()) => report
                .removed
                .push(format!("route {stale} via {}", shim.name)),
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    for missing in wanted.difference(&present) {
        match add_route(nl, shim, &sources, missing) {
            Ok(_) => report
                .recreated
                .push(format!("route {missing} via {}", shim.name)),
            Err(e) if e.is_exists() => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn host_prefix(addr: &IpNetwork) -> u8 {
    if addr.is_ipv4() {
        32
    } else {
        128
    }
}

/// The host route to one container address.
fn host_route(addr: &IpNetwork) -> IpNetwork {
    IpNetwork::new(addr.ip(), host_prefix(addr)).unwrap_or(*addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shim_names_are_distinct_from_bridge_and_veth_names() {
        let id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let name = shim_name_for(id).ok().unwrap_or_default();
        assert_eq!(name, "cnmh0123456789a");
        assert!(is_shim_name(&name));
        for other in [
            "cnm0123456789ab",
            "cnmv0123456789a",
            "cnmh0123",
            "cnmh0123456789A",
        ] {
            assert!(!is_shim_name(other), "{other}");
        }
    }

    #[test]
    fn source_is_the_hosts_address_on_the_lan() {
        let net = |s: &str| s.parse::<IpNetwork>().unwrap_or_else(|_| unreachable!());
        let sources = [
            net("169.254.1.1/16"),
            net("10.0.0.5/8"),
            net("192.168.1.2/24"),
            net("fe80::1/64"),
            net("fd00::2/64"),
        ];
        let src = |addr| source_for(&sources, &net(addr)).map(|ip| ip.to_string());
        assert_eq!(src("192.168.1.9/24").as_deref(), Some("192.168.1.2"));
        assert_eq!(src("172.20.0.9/24").as_deref(), Some("10.0.0.5"));
        assert_eq!(src("fd01::9/64").as_deref(), Some("fd00::2"));
        assert_eq!(source_for(&[], &net("10.0.0.9/8")), None);
    }

    #[test]
    fn host_routes_are_single_addresses() {
        let v4: IpNetwork = "192.168.1.7/24".parse().unwrap_or_else(|_| unreachable!());
        let v6: IpNetwork = "fd00::7/64".parse().unwrap_or_else(|_| unreachable!());
        assert_eq!(host_route(&v4).to_string(), "192.168.1.7/32");
        assert_eq!(host_route(&v6).to_string(), "fd00::7/128");
    }
}
