//! Remote endpoints of an overlay network, programmed on this host's VXLAN
//! device: the remote host joins the flood list (broadcasts and unknown
//! MACs reach it), the endpoint's MAC points at the remote host, and its
//! address gets a permanent neighbour entry that the device's ARP proxy
//! answers from.

use std::net::{IpAddr, Ipv4Addr};

use super::vxlan_name_for;
use crate::sys::{Netlink, FLOOD_MAC};
use crate::DriverError;

/// An endpoint on another host.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RemotePeer {
    /// The remote host's underlay address.
    pub host: Ipv4Addr,
    pub mac: [u8; 6],
    pub ip: Option<IpAddr>,
}

/// The VXLAN device's ifindex, None if the network has none here (yet).
fn vxlan_index(nl: &mut Netlink, network_id: &str) -> Result<Option<u32>, DriverError> {
    Ok(nl
        .link_by_name(&vxlan_name_for(network_id)?)?
        .map(|link| link.index))
}

/// Programs `peer`. Returns false when the network has no VXLAN device on
/// this host yet (the caller programs it again when the network is made).
pub fn add(network_id: &str, peer: &RemotePeer) -> Result<bool, DriverError> {
    let mut nl = Netlink::open()?;
    let Some(index) = vxlan_index(&mut nl, network_id)? else {
        return Ok(false);
    };
    let host = IpAddr::V4(peer.host);
    nl.add_flood_remote(index, host)?;
    nl.set_remote_mac(index, peer.mac, host)?;
    if let Some(ip) = peer.ip {
        nl.set_neighbour(index, ip, peer.mac)?;
    }
    Ok(true)
}

/// Removes `peer`; with `last_on_host`, its host leaves the flood list too.
pub fn remove(network_id: &str, peer: &RemotePeer, last_on_host: bool) -> Result<(), DriverError> {
    let mut nl = Netlink::open()?;
    let Some(index) = vxlan_index(&mut nl, network_id)? else {
        return Ok(());
    };
    let host = IpAddr::V4(peer.host);
    if let Some(ip) = peer.ip {
        nl.delete_neighbour(index, ip)?;
    }
    nl.delete_remote_mac(index, peer.mac, host)?;
    if last_on_host {
        nl.delete_remote_mac(index, FLOOD_MAC, host)?;
    }
    Ok(())
}
