//! A bridge's forwarding database (`brctl showmacs`), from an RTM_GETNEIGH
//! dump of family AF_BRIDGE.

use netlink_packet_route::neighbour::{
    NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::Netlink;
use crate::sys::SysError;

/// One learned or local MAC address of a bridge port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FdbEntry {
    pub mac: [u8; 6],
    /// Ifindex of the port the address is behind.
    pub port_index: u32,
    /// VLAN of the entry, with VLAN filtering on.
    pub vlan: Option<u16>,
    /// An address of the port itself (the kernel's "local", `permanent`).
    pub is_local: bool,
    /// Hundredths of a second since the entry was last refreshed; 0 for
    /// entries that never age (local and static ones), as brctl shows them.
    pub ageing: u32,
}

impl Netlink {
    /// The forwarding entries of the bridge with ifindex `bridge` that
    /// point at one of its ports, in dump order.
    pub fn bridge_fdb(&mut self, bridge: u32) -> Result<Vec<FdbEntry>, SysError> {
        // A legacy (non-strict) dump request cannot be filtered by bridge
        // reliably across kernels: ask for everything and keep ours.
        let mut msg = NeighbourMessage::default();
        msg.header.family = AddressFamily::Bridge;
        let reply = self
            .dump(RouteNetlinkMessage::GetNeighbour(msg))
            .map_err(|e| SysError::new("list forwarding database of", ifname(bridge), e))?;
        Ok(reply
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewNeighbour(n) => fdb_entry_of(&n, bridge),
                _ => None,
            })
            .collect())
    }
}

fn ifname(index: u32) -> String {
    format!("ifindex {index}")
}

/// The entry in one neighbour message if it belongs to a port of `bridge`.
///
/// A dump also carries what brctl leaves out: each device's own address
/// list (NTF_SELF, no NDA_MASTER), the bridge's own address (on the bridge
/// device itself, no port) and entries that have expired but not yet been
/// collected (NUD_STALE).
fn fdb_entry_of(msg: &NeighbourMessage, bridge: u32) -> Option<FdbEntry> {
    let header = &msg.header;
    if header.family != AddressFamily::Bridge
        || header.flags.contains(NeighbourFlags::Own)
        || header.ifindex == bridge
        || header.state == NeighbourState::Stale
    {
        return None;
    }
    let mut master = None;
    let mut mac = None;
    let mut vlan = None;
    let mut updated = 0;
    for attribute in &msg.attributes {
        match attribute {
            NeighbourAttribute::Controller(index) => master = Some(*index),
            NeighbourAttribute::LinkLayerAddress(bytes) => mac = bytes.as_slice().try_into().ok(),
            NeighbourAttribute::Vlan(id) => vlan = Some(*id),
            NeighbourAttribute::CacheInfo(info) => updated = info.updated,
            _ => {}
        }
    }
    if master != Some(bridge) {
        return None;
    }
    // Local entries are NUD_PERMANENT, static ones NUD_NOARP; neither ages.
    let is_local = header.state == NeighbourState::Permanent;
    let ages = !is_local && header.state != NeighbourState::Noarp;
    Some(FdbEntry {
        mac: mac?,
        port_index: header.ifindex,
        vlan,
        is_local,
        ageing: if ages { updated } else { 0 },
    })
}

#[cfg(test)]
mod tests {
    use netlink_packet_route::neighbour::NeighbourCacheInfo;

    use super::*;

    const BRIDGE: u32 = 3;

    fn entry(
        ifindex: u32,
        state: NeighbourState,
        attrs: Vec<NeighbourAttribute>,
    ) -> NeighbourMessage {
        let mut msg = NeighbourMessage::default();
        msg.header.family = AddressFamily::Bridge;
        msg.header.ifindex = ifindex;
        msg.header.state = state;
        msg.attributes = attrs;
        msg
    }

    fn attrs(master: Option<u32>, updated: u32) -> Vec<NeighbourAttribute> {
        // confirmed, used, updated, refcnt (struct nda_cacheinfo).
        let raw: Vec<u8> = [0, 0, updated, 0]
            .iter()
            .flat_map(|v: &u32| v.to_ne_bytes())
            .collect();
        let cache = NeighbourCacheInfo::parse(&raw).expect("cache info");
        let mut v = vec![
            NeighbourAttribute::LinkLayerAddress(vec![0xde, 0x90, 0xd7, 0x0f, 0x28, 0x96]),
            NeighbourAttribute::CacheInfo(cache),
        ];
        v.extend(master.map(NeighbourAttribute::Controller));
        v
    }

    #[test]
    fn keeps_port_entries_of_this_bridge_only() {
        let learned = entry(4, NeighbourState::Reachable, attrs(Some(BRIDGE), 123));
        let got = fdb_entry_of(&learned, BRIDGE).expect("learned entry");
        assert_eq!(got.mac, [0xde, 0x90, 0xd7, 0x0f, 0x28, 0x96]);
        assert_eq!((got.port_index, got.is_local, got.ageing), (4, false, 123));

        let local = entry(4, NeighbourState::Permanent, attrs(Some(BRIDGE), 500));
        let got = fdb_entry_of(&local, BRIDGE).expect("local entry");
        assert_eq!((got.is_local, got.ageing), (true, 0));

        let static_entry = entry(4, NeighbourState::Noarp, attrs(Some(BRIDGE), 500));
        let got = fdb_entry_of(&static_entry, BRIDGE).expect("static entry");
        assert_eq!((got.is_local, got.ageing), (false, 0));

        let other_bridge = entry(4, NeighbourState::Reachable, attrs(Some(9), 1));
        let own_list = {
            let mut m = entry(4, NeighbourState::Permanent, attrs(None, 0));
            m.header.flags = NeighbourFlags::Own;
            m
        };
        let bridge_itself = entry(BRIDGE, NeighbourState::Permanent, attrs(Some(BRIDGE), 0));
        let expired = entry(4, NeighbourState::Stale, attrs(Some(BRIDGE), 40000));
        for skipped in [other_bridge, own_list, bridge_itself, expired] {
            assert_eq!(fdb_entry_of(&skipped, BRIDGE), None, "{skipped:?}");
        }
    }
}
