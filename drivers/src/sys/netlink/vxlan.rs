//! VXLAN links and the entries that steer them: forwarding entries on the
//! VXLAN device (`bridge fdb append 00:00:00:00:00:00 dst REMOTE dev vx`,
//! `bridge fdb replace MAC dst REMOTE dev vx`) and neighbour entries
//! (`ip neigh replace IP lladdr MAC dev vx`) that its ARP proxy answers
//! from. Overlay networks program all three from the cluster store, so the
//! device never has to learn or flood to find a peer.

use std::net::{IpAddr, Ipv4Addr};

use netlink_packet_core::{NLM_F_APPEND, NLM_F_CREATE, NLM_F_REPLACE};
use netlink_packet_route::link::{InfoData, InfoKind, InfoVxlan, LinkAttribute, LinkInfo};
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::link::new_link_message;
use super::Netlink;
use crate::sys::SysError;

/// The all-zero MAC of the default (flood) forwarding entries: frames for
/// unknown or broadcast MACs go to every remote listed under it.
pub const FLOOD_MAC: [u8; 6] = [0; 6];

/// A VXLAN device to create (`ip link add NAME type vxlan id VNI local IP
/// dstport PORT nolearning proxy`).
#[derive(Debug, Clone, Copy)]
pub struct VxlanSpec<'a> {
    pub name: &'a str,
    /// The VXLAN network identifier (24 bits).
    pub vni: u32,
    /// Source address of the encapsulated packets (the host's underlay
    /// address).
    pub local: Ipv4Addr,
    /// UDP destination port (4789 is IANA's).
    pub port: u16,
    pub mtu: Option<u32>,
    /// Bridge to enslave it to.
    pub master: Option<u32>,
}

impl Netlink {
    /// Creates a VXLAN device, down, without source-address learning and
    /// with ARP proxying on (ARP requests are answered from the device's
    /// neighbour table and never sent across the underlay), and returns its
    /// ifindex.
    pub fn create_vxlan(&mut self, spec: &VxlanSpec<'_>) -> Result<u32, SysError> {
        let mut msg = new_link_message(spec.name, spec.mtu, spec.master);
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Vxlan),
            LinkInfo::Data(InfoData::Vxlan(vxlan_data(spec))),
        ]));
        self.create_link(msg, spec.name).map_err(|e| {
            SysError::new(
                "create vxlan",
                format!("{} (vni {})", spec.name, spec.vni),
                e,
            )
        })
    }

    /// Adds `remote` to the VXLAN device's flood list (NLM_F_APPEND: the
    /// all-zero MAC may point at many remotes). Present already is fine.
    pub fn add_flood_remote(&mut self, vxlan: u32, remote: IpAddr) -> Result<(), SysError> {
        let msg = fdb_message(vxlan, FLOOD_MAC, remote);
        match self.request(
            RouteNetlinkMessage::NewNeighbour(msg),
            NLM_F_CREATE | NLM_F_APPEND,
        ) {
            Err(e) if e.raw_os_error() != Some(libc::EEXIST) => Err(SysError::new(
                "add flood entry of",
                format!("{remote} on ifindex {vxlan}"),
                e,
            )),
            _ => Ok(()),
        }
    }

    /// Points `mac` at `remote` on the VXLAN device (replacing any entry).
    pub fn set_remote_mac(
        &mut self,
        vxlan: u32,
        mac: [u8; 6],
        remote: IpAddr,
    ) -> Result<(), SysError> {
        let msg = fdb_message(vxlan, mac, remote);
        self.request(
            RouteNetlinkMessage::NewNeighbour(msg),
            NLM_F_CREATE | NLM_F_REPLACE,
        )
        .map(drop)
        .map_err(|e| SysError::new("add forwarding entry", fdb_entry(vxlan, mac, remote), e))
    }

    /// Removes one forwarding entry (`mac` behind `remote`; the all-zero
    /// MAC removes only that remote from the flood list). Missing is fine.
    pub fn delete_remote_mac(
        &mut self,
        vxlan: u32,
        mac: [u8; 6],
        remote: IpAddr,
    ) -> Result<(), SysError> {
        let msg = fdb_message(vxlan, mac, remote);
        match self.request(RouteNetlinkMessage::DelNeighbour(msg), 0) {
            Err(e) if !is_missing(&e) => Err(SysError::new(
                "delete forwarding entry",
                fdb_entry(vxlan, mac, remote),
                e,
            )),
            _ => Ok(()),
        }
    }

    /// A permanent neighbour entry `ip lladdr mac` on `index` (replacing).
    pub fn set_neighbour(&mut self, index: u32, ip: IpAddr, mac: [u8; 6]) -> Result<(), SysError> {
        let msg = neighbour_message(index, ip, Some(mac));
        self.request(
            RouteNetlinkMessage::NewNeighbour(msg),
            NLM_F_CREATE | NLM_F_REPLACE,
        )
        .map(drop)
        .map_err(|e| SysError::new("add neighbour", format!("{ip} on ifindex {index}"), e))
    }

    /// Removes the neighbour entry of `ip` on `index`; missing is fine.
    pub fn delete_neighbour(&mut self, index: u32, ip: IpAddr) -> Result<(), SysError> {
        let msg = neighbour_message(index, ip, None);
        match self.request(RouteNetlinkMessage::DelNeighbour(msg), 0) {
            Err(e) if !is_missing(&e) => Err(SysError::new(
                "delete neighbour",
                format!("{ip} on ifindex {index}"),
                e,
            )),
            _ => Ok(()),
        }
    }
}

fn vxlan_data(spec: &VxlanSpec<'_>) -> Vec<InfoVxlan> {
    vec![
        InfoVxlan::Id(spec.vni),
        InfoVxlan::Local(spec.local),
        InfoVxlan::Port(spec.port),
        InfoVxlan::Learning(false),
        InfoVxlan::Proxy(true),
    ]
}

/// An AF_BRIDGE neighbour message for the VXLAN device's own table
/// (NTF_SELF), permanent.
fn fdb_message(vxlan: u32, mac: [u8; 6], remote: IpAddr) -> NeighbourMessage {
    let mut msg = NeighbourMessage::default();
    msg.header.family = AddressFamily::Bridge;
    msg.header.ifindex = vxlan;
    msg.header.state = NeighbourState::Permanent;
    msg.header.flags = NeighbourFlags::Own;
    msg.attributes
        .push(NeighbourAttribute::LinkLayerAddress(mac.to_vec()));
    msg.attributes
        .push(NeighbourAttribute::Destination(neighbour_address(remote)));
    msg
}

fn neighbour_message(index: u32, ip: IpAddr, mac: Option<[u8; 6]>) -> NeighbourMessage {
    let mut msg = NeighbourMessage::default();
    msg.header.family = match ip {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    msg.header.ifindex = index;
    msg.header.state = NeighbourState::Permanent;
    msg.attributes
        .push(NeighbourAttribute::Destination(neighbour_address(ip)));
    if let Some(mac) = mac {
        msg.attributes
            .push(NeighbourAttribute::LinkLayerAddress(mac.to_vec()));
    }
    msg
}

fn neighbour_address(ip: IpAddr) -> NeighbourAddress {
    match ip {
        IpAddr::V4(v4) => NeighbourAddress::Inet(v4),
        IpAddr::V6(v6) => NeighbourAddress::Inet6(v6),
    }
}

/// The kernel's answers for "no such entry" (ENOENT) or device (ENODEV).
fn is_missing(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENODEV))
}

/// A forwarding entry as error messages name it.
fn fdb_entry(vxlan: u32, mac: [u8; 6], remote: IpAddr) -> String {
    let mac = mac
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":");
    format!("{mac} dst {remote} on ifindex {vxlan}")
}

#[cfg(test)]
mod tests {
    use netlink_packet_core::{Emitable, Parseable};

    use super::*;

    #[test]
    fn fdb_message_round_trips() {
        let remote: IpAddr = "192.0.2.7".parse().expect("ip");
        let msg = fdb_message(5, FLOOD_MAC, remote);
        let mut buf = vec![0; msg.buffer_len()];
        msg.emit(&mut buf);
        let parsed = NeighbourMessage::parse(&buf).expect("parse");
        assert_eq!(parsed.header.family, AddressFamily::Bridge);
        assert_eq!(parsed.header.ifindex, 5);
        assert!(parsed.header.flags.contains(NeighbourFlags::Own));
        // An AF_BRIDGE message's destination parses back as raw bytes.
        let dst = parsed.attributes.iter().find_map(|a| match a {
            NeighbourAttribute::Destination(NeighbourAddress::Other(b)) => Some(b.clone()),
            NeighbourAttribute::Destination(NeighbourAddress::Inet(ip)) => {
                Some(ip.octets().to_vec())
            }
            _ => None,
        });
        assert_eq!(dst, Some(vec![192, 0, 2, 7]));
        assert!(parsed
            .attributes
            .contains(&NeighbourAttribute::LinkLayerAddress(vec![0; 6])));
    }

    #[test]
    fn vxlan_turns_learning_off_and_proxy_on() {
        let data = vxlan_data(&VxlanSpec {
            name: "vx",
            vni: 4097,
            local: "10.0.0.1".parse().expect("ip"),
            port: 4789,
            mtu: None,
            master: None,
        });
        assert!(data.contains(&InfoVxlan::Id(4097)));
        assert!(data.contains(&InfoVxlan::Learning(false)));
        assert!(data.contains(&InfoVxlan::Proxy(true)));
        assert!(data.contains(&InfoVxlan::Port(4789)));
    }
}
