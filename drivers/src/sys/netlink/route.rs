//! Route requests: add one to the main table, delete one, dump unicast
//! routes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnetwork::IpNetwork;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::{Netlink, RouteEntry};
use crate::sys::SysError;

impl Netlink {
    /// Adds a route to the main table. `dst` 0.0.0.0/0 or ::/0 is the
    /// default route. Without a gateway the route is on-link via `oif`.
    pub fn add_route(
        &mut self,
        dst: IpNetwork,
        gateway: Option<IpAddr>,
        oif: Option<u32>,
    ) -> Result<(), SysError> {
        let object = || match gateway {
            Some(gw) => format!("{dst} via {gw}"),
            None => format!("{dst} on ifindex {}", oif.unwrap_or(0)),
        };
        self.request(
            RouteNetlinkMessage::NewRoute(route_message(dst, gateway, oif)),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .map(drop)
        .map_err(|e| SysError::new("add route", object(), e))
    }

    /// Adds an on-link route to `dst` through `oif` whose packets leave
    /// with source address `src` (`ip route add DST dev OIF src SRC`):
    /// without it the kernel picks the first address of the namespace, which
    /// may be one the far side cannot answer.
    pub fn add_route_from(
        &mut self,
        dst: IpNetwork,
        oif: u32,
        src: IpAddr,
    ) -> Result<(), SysError> {
        let mut msg = route_message(dst, None, Some(oif));
        msg.attributes
            .push(RouteAttribute::PrefSource(RouteAddress::from(src)));
        self.request(
            RouteNetlinkMessage::NewRoute(msg),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .map(drop)
        .map_err(|e| SysError::new("add route", format!("{dst} on ifindex {oif} from {src}"), e))
    }

    /// Deletes the main-table route to `dst` via link `oif` (on-link, as
    /// `add_route` makes it without a gateway). A missing route is an
    /// error the caller can recognise with `SysError::is_not_found`.
    pub fn delete_route(&mut self, dst: IpNetwork, oif: u32) -> Result<(), SysError> {
        self.request(
            RouteNetlinkMessage::DelRoute(route_message(dst, None, Some(oif))),
            0,
        )
        .map(drop)
        .map_err(|e| SysError::new("delete route", format!("{dst} on ifindex {oif}"), e))
    }

    /// IPv4 and IPv6 unicast routes of every table.
    pub fn routes(&mut self) -> Result<Vec<RouteEntry>, SysError> {
        let mut routes = Vec::new();
        for family in [AddressFamily::Inet, AddressFamily::Inet6] {
            let mut msg = RouteMessage::default();
            msg.header.address_family = family;
            let reply = self
                .dump(RouteNetlinkMessage::GetRoute(msg))
                .map_err(|e| SysError::new("list", "routes", e))?;
            routes.extend(reply.into_iter().filter_map(route_of));
        }
        Ok(routes)
    }
}

fn route_message(dst: IpNetwork, gateway: Option<IpAddr>, oif: Option<u32>) -> RouteMessage {
    let mut msg = RouteMessage::default();
    msg.header.address_family = match dst {
        IpNetwork::V4(_) => AddressFamily::Inet,
        IpNetwork::V6(_) => AddressFamily::Inet6,
    };
    msg.header.destination_prefix_length = dst.prefix();
    msg.header.table = RouteHeader::RT_TABLE_MAIN;
    msg.header.protocol = RouteProtocol::Static;
    msg.header.kind = RouteType::Unicast;
    // A route without a next hop is on-link: link scope, as `ip route` does.
    msg.header.scope = if gateway.is_some() {
        RouteScope::Universe
    } else {
        RouteScope::Link
    };
    if dst.prefix() > 0 {
        msg.attributes
            .push(RouteAttribute::Destination(RouteAddress::from(
                dst.network(),
            )));
    }
    if let Some(gw) = gateway {
        msg.attributes
            .push(RouteAttribute::Gateway(RouteAddress::from(gw)));
    }
    if let Some(oif) = oif {
        msg.attributes.push(RouteAttribute::Oif(oif));
    }
    msg
}

/// A `RouteEntry` from an RTM_NEWROUTE answer; None for non-unicast routes
/// (local, broadcast, multicast, unreachable, …).
fn route_of(msg: RouteNetlinkMessage) -> Option<RouteEntry> {
    let RouteNetlinkMessage::NewRoute(msg) = msg else {
        return None;
    };
    if msg.header.kind != RouteType::Unicast {
        return None;
    }
    let family = msg.header.address_family;
    let mut dst = match family {
        AddressFamily::Inet => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        AddressFamily::Inet6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        _ => return None,
    };
    let mut entry = RouteEntry {
        dst: IpNetwork::new(dst, 0).ok()?,
        gateway: None,
        oif: None,
        // RTA_TABLE carries ids above 255; the header's u8 the rest.
        table: u32::from(msg.header.table),
    };
    for attribute in msg.attributes {
        match attribute {
            RouteAttribute::Destination(addr) => dst = ip_of(addr)?,
            RouteAttribute::Gateway(addr) => entry.gateway = ip_of(addr),
            RouteAttribute::Oif(oif) => entry.oif = Some(oif),
            RouteAttribute::Table(table) => entry.table = table,
            _ => {}
        }
    }
    entry.dst = IpNetwork::new(dst, msg.header.destination_prefix_length).ok()?;
    Some(entry)
}

fn ip_of(addr: RouteAddress) -> Option<IpAddr> {
    match addr {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(v6)),
        _ => None,
    }
}
