//! Address requests: add, delete, dump.

use std::net::IpAddr;

use ipnetwork::IpNetwork;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::Netlink;
use crate::sys::SysError;

impl Netlink {
    /// Adds `addr` (address with its subnet's prefix length) to a link.
    /// IPv4 gets the subnet's broadcast address (as `ip addr add … brd +`);
    /// IPv6 skips duplicate address detection, as IPAM already guarantees
    /// uniqueness and DAD would keep the address unusable for ~1 s.
    pub fn add_address(&mut self, index: u32, addr: IpNetwork) -> Result<(), SysError> {
        self.request(
            RouteNetlinkMessage::NewAddress(address_message(index, addr)),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .map(drop)
        .map_err(|e| SysError::new("add address", format!("{addr} to ifindex {index}"), e))
    }

    /// Removes `addr` (address/prefix) from a link.
    pub fn delete_address(&mut self, index: u32, addr: IpNetwork) -> Result<(), SysError> {
        self.request(
            RouteNetlinkMessage::DelAddress(address_message(index, addr)),
            0,
        )
        .map(drop)
        .map_err(|e| SysError::new("delete address", format!("{addr} from ifindex {index}"), e))
    }

    /// Addresses of one link, or of all links with None, as (ifindex,
    /// address/prefix).
    pub fn addresses(&mut self, index: Option<u32>) -> Result<Vec<(u32, IpNetwork)>, SysError> {
        let reply = self
            .dump(RouteNetlinkMessage::GetAddress(AddressMessage::default()))
            .map_err(|e| SysError::new("list", "addresses", e))?;
        Ok(reply
            .into_iter()
            .filter_map(address_of)
            .filter(|(i, _)| index.is_none_or(|want| *i == want))
            .collect())
    }
}

fn address_message(index: u32, addr: IpNetwork) -> AddressMessage {
    let mut msg = AddressMessage::default();
    msg.header.index = index;
    msg.header.prefix_len = addr.prefix();
    msg.header.scope = AddressScope::Universe;
    match addr {
        IpNetwork::V4(v4) => {
            msg.header.family = AddressFamily::Inet;
            msg.attributes.push(AddressAttribute::Local(addr.ip()));
            msg.attributes.push(AddressAttribute::Address(addr.ip()));
            // /31 and /32 have no broadcast address (RFC 3021).
            if v4.prefix() < 31 {
                msg.attributes
                    .push(AddressAttribute::Broadcast(v4.broadcast()));
            }
        }
        IpNetwork::V6(_) => {
            msg.header.family = AddressFamily::Inet6;
            // The u8 header field holds the flag for old kernels; IFA_FLAGS
            // (u32) takes precedence where it exists.
            msg.header.flags = AddressHeaderFlags::Nodad;
            msg.attributes.push(AddressAttribute::Address(addr.ip()));
            msg.attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
    }
    msg
}

/// (ifindex, address) from an RTM_NEWADDR answer.
fn address_of(msg: RouteNetlinkMessage) -> Option<(u32, IpNetwork)> {
    let RouteNetlinkMessage::NewAddress(msg) = msg else {
        return None;
    };
    // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the same
    // except on point-to-point links, where it is the peer's.
    let mut local: Option<IpAddr> = None;
    let mut address: Option<IpAddr> = None;
    for attribute in msg.attributes {
        match attribute {
            AddressAttribute::Local(ip) => local = Some(ip),
            AddressAttribute::Address(ip) => address = Some(ip),
            _ => {}
        }
    }
    let ip = local.or(address)?;
    let net = IpNetwork::new(ip, msg.header.prefix_len).ok()?;
    Some((msg.header.index, net))
}
