//! Bridge state as the kernel reports it: every bridge of the socket's
//! namespace with its STP state and its ports (`brctl show` / `showstp`),
//! read from one RTM_GETLINK dump (IFLA_INFO_DATA of bridges,
//! IFLA_INFO_SLAVE_DATA of their ports). Netlink, not /sys: sysfs shows the
//! namespace it was mounted in, a socket shows the one it was opened in.

use std::collections::HashMap;
use std::fmt;

use netlink_packet_route::link::{
    self as nl, InfoBridge, InfoBridgePort, InfoData, InfoPortData, LinkAttribute, LinkInfo,
    LinkMessage,
};
use netlink_packet_route::RouteNetlinkMessage;

use super::link::get_link_message;
use super::Netlink;
use crate::sys::SysError;

/// An STP bridge identifier: priority and MAC, printed as the kernel and
/// brctl print it (`8000.0242ac110002`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BridgeId {
    pub priority: u16,
    pub address: [u8; 6],
}

impl fmt::Display for BridgeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04x}.", self.priority)?;
        self.address.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl From<&nl::BridgeId> for BridgeId {
    fn from(id: &nl::BridgeId) -> Self {
        BridgeId {
            priority: id.priority,
            address: id.address,
        }
    }
}

/// STP state of a bridge port (`BR_STATE_*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PortState {
    #[default]
    Disabled,
    Listening,
    Learning,
    Forwarding,
    Blocking,
    /// A value this code does not know.
    Other(u8),
}

impl fmt::Display for PortState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortState::Disabled => f.write_str("disabled"),
            PortState::Listening => f.write_str("listening"),
            PortState::Learning => f.write_str("learning"),
            PortState::Forwarding => f.write_str("forwarding"),
            PortState::Blocking => f.write_str("blocking"),
            PortState::Other(n) => write!(f, "state {n}"),
        }
    }
}

impl From<&nl::BridgePortState> for PortState {
    fn from(state: &nl::BridgePortState) -> Self {
        match state {
            nl::BridgePortState::Disabled => PortState::Disabled,
            nl::BridgePortState::Listening => PortState::Listening,
            nl::BridgePortState::Learning => PortState::Learning,
            nl::BridgePortState::Forwarding => PortState::Forwarding,
            nl::BridgePortState::Blocking => PortState::Blocking,
            nl::BridgePortState::Other(n) => PortState::Other(*n),
            other => PortState::Other(u8::from(*other)),
        }
    }
}

/// A bridge and its STP state. Times are in hundredths of a second (the
/// kernel's clock_t, USER_HZ = 100), as sysfs and netlink report them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BridgeInfo {
    pub index: u32,
    pub name: String,
    pub bridge_id: BridgeId,
    pub designated_root: BridgeId,
    pub root_port: u16,
    pub root_path_cost: u32,
    /// 0 = off, 1 = kernel STP, 2 = user-space STP.
    pub stp_state: u32,
    pub max_age: u32,
    pub hello_time: u32,
    pub forward_delay: u32,
    pub ageing_time: u32,
    pub hello_timer: u64,
    pub tcn_timer: u64,
    pub topology_change_timer: u64,
    pub gc_timer: u64,
    pub topology_change: bool,
    pub topology_change_detected: bool,
    /// `IFLA_IFALIAS` (cnm marks the bridges it creates with it).
    pub alias: Option<String>,
    /// The bridge's ports, by name in byte order (as brctl lists them).
    pub ports: Vec<BridgePortInfo>,
}

/// One port of a bridge and its STP state; times as in [`BridgeInfo`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BridgePortInfo {
    pub index: u32,
    pub name: String,
    pub port_no: u16,
    pub port_id: u16,
    pub state: PortState,
    pub path_cost: u32,
    pub designated_root: BridgeId,
    pub designated_bridge: BridgeId,
    pub designated_port: u16,
    pub designated_cost: u16,
    pub message_age_timer: u64,
    pub forward_delay_timer: u64,
    pub hold_timer: u64,
    pub topology_change_ack: bool,
    pub config_pending: bool,
    pub hairpin: bool,
}

impl Netlink {
    /// Every bridge of the socket's namespace with its ports, by name in
    /// byte order (as brctl lists them). One dump, so bridges and ports are
    /// a consistent snapshot.
    pub fn bridges(&mut self) -> Result<Vec<BridgeInfo>, SysError> {
        let reply = self
            .dump(RouteNetlinkMessage::GetLink(get_link_message()))
            .map_err(|e| SysError::new("list", "bridges", e))?;
        let links: Vec<LinkMessage> = reply
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(link) => Some(link),
                _ => None,
            })
            .collect();
        Ok(bridges_of(&links))
    }
}

/// Bridges and their ports out of an RTM_GETLINK dump.
fn bridges_of(links: &[LinkMessage]) -> Vec<BridgeInfo> {
    let mut bridges: Vec<BridgeInfo> = links.iter().filter_map(bridge_of).collect();
    let mut ports: HashMap<u32, Vec<BridgePortInfo>> = HashMap::new();
    for link in links {
        if let Some((master, port)) = port_of(link) {
            ports.entry(master).or_default().push(port);
        }
    }
    for bridge in &mut bridges {
        bridge.ports = ports.remove(&bridge.index).unwrap_or_default();
        bridge
            .ports
            .sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    }
    bridges.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    bridges
}

fn name_and_alias(link: &LinkMessage) -> (String, Option<String>) {
    let mut name = String::new();
    let mut alias = None;
    for attribute in &link.attributes {
        match attribute {
            LinkAttribute::IfName(n) => name.clone_from(n),
            LinkAttribute::IfAlias(a) => alias = Some(a.clone()),
            _ => {}
        }
    }
    (name, alias)
}

fn link_infos(link: &LinkMessage) -> &[LinkInfo] {
    link.attributes
        .iter()
        .find_map(|a| match a {
            LinkAttribute::LinkInfo(infos) => Some(infos.as_slice()),
            _ => None,
        })
        .unwrap_or_default()
}

/// The bridge in one link message; None unless it is a bridge.
fn bridge_of(link: &LinkMessage) -> Option<BridgeInfo> {
    let data = link_infos(link).iter().find_map(|info| match info {
        LinkInfo::Data(InfoData::Bridge(data)) => Some(data),
        _ => None,
    })?;
    let (name, alias) = name_and_alias(link);
    let mut bridge = BridgeInfo {
        index: link.header.index,
        name,
        alias,
        ..BridgeInfo::default()
    };
    for attribute in data {
        apply_bridge_attribute(&mut bridge, attribute);
    }
    Some(bridge)
}

fn apply_bridge_attribute(b: &mut BridgeInfo, attribute: &InfoBridge) {
    match attribute {
        InfoBridge::BridgeId(id) => b.bridge_id = id.into(),
        InfoBridge::RootId(id) => b.designated_root = id.into(),
        InfoBridge::RootPort(port) => b.root_port = *port,
        InfoBridge::RootPathCost(cost) => b.root_path_cost = *cost,
        InfoBridge::StpState(state) => b.stp_state = u32::from(*state),
        InfoBridge::MaxAge(t) => b.max_age = *t,
        InfoBridge::HelloTime(t) => b.hello_time = *t,
        InfoBridge::ForwardDelay(t) => b.forward_delay = *t,
        InfoBridge::AgeingTime(t) => b.ageing_time = *t,
        InfoBridge::HelloTimer(t) => b.hello_timer = *t,
        InfoBridge::TcnTimer(t) => b.tcn_timer = *t,
        InfoBridge::TopologyChangeTimer(t) => b.topology_change_timer = *t,
        InfoBridge::GcTimer(t) => b.gc_timer = *t,
        InfoBridge::TopologyChange(v) => b.topology_change = *v != 0,
        InfoBridge::TopologyChangeDetected(v) => b.topology_change_detected = *v != 0,
        _ => {}
    }
}

/// The bridge port in one link message with its bridge's ifindex; None
/// unless it is enslaved to a bridge.
fn port_of(link: &LinkMessage) -> Option<(u32, BridgePortInfo)> {
    let master = link.attributes.iter().find_map(|a| match a {
        LinkAttribute::Controller(m) if *m != 0 => Some(*m),
        _ => None,
    })?;
    let data = link_infos(link).iter().find_map(|info| match info {
        LinkInfo::PortData(InfoPortData::BridgePort(data)) => Some(data),
        _ => None,
    })?;
    let (name, _) = name_and_alias(link);
    let mut port = BridgePortInfo {
        index: link.header.index,
        name,
        ..BridgePortInfo::default()
    };
    for attribute in data {
        apply_port_attribute(&mut port, attribute);
    }
    Some((master, port))
}

fn apply_port_attribute(p: &mut BridgePortInfo, attribute: &InfoBridgePort) {
    match attribute {
        InfoBridgePort::PortNumber(n) => p.port_no = *n,
        InfoBridgePort::PortId(id) => p.port_id = *id,
        InfoBridgePort::State(state) => p.state = state.into(),
        InfoBridgePort::Cost(cost) => p.path_cost = *cost,
        // IFLA_BRPORT_ROOT_ID / _BRIDGE_ID are the port's designated root
        // and designated bridge.
        InfoBridgePort::RootId(id) => p.designated_root = id.into(),
        InfoBridgePort::BridgeId(id) => p.designated_bridge = id.into(),
        InfoBridgePort::DesignatedPort(port) => p.designated_port = *port,
        InfoBridgePort::DesignatedCost(cost) => p.designated_cost = *cost,
        InfoBridgePort::MessageAgeTimer(t) => p.message_age_timer = *t,
        InfoBridgePort::ForwardDelayTimer(t) => p.forward_delay_timer = *t,
        InfoBridgePort::HoldTimer(t) => p.hold_timer = *t,
        InfoBridgePort::TopologyChangeAck(v) => p.topology_change_ack = *v,
        InfoBridgePort::ConfigPending(v) => p.config_pending = *v,
        InfoBridgePort::HairpinMode(v) => p.hairpin = *v,
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use netlink_packet_route::link::{BridgePortState, InfoKind, InfoPortKind};

    use super::*;

    fn link(index: u32, name: &str, extra: Vec<LinkAttribute>) -> LinkMessage {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.attributes.push(LinkAttribute::IfName(name.into()));
        msg.attributes.extend(extra);
        msg
    }

    fn bridge(index: u32, name: &str, mac_last: u8) -> LinkMessage {
        let id = nl::BridgeId {
            priority: 0x8000,
            address: [2, 0, 0, 0, 0, mac_last],
        };
        link(
            index,
            name,
            vec![LinkAttribute::LinkInfo(vec![
                LinkInfo::Kind(InfoKind::Bridge),
                LinkInfo::Data(InfoData::Bridge(vec![
                    InfoBridge::BridgeId(id.clone()),
                    InfoBridge::RootId(id),
                    InfoBridge::StpState(nl::BridgeStpState::KernelStp),
                    InfoBridge::MaxAge(2000),
                    InfoBridge::GcTimer(7),
                ])),
            ])],
        )
    }

    fn port(index: u32, name: &str, master: u32, no: u16) -> LinkMessage {
        link(
            index,
            name,
            vec![
                LinkAttribute::Controller(master),
                LinkAttribute::LinkInfo(vec![
                    LinkInfo::Kind(InfoKind::Veth),
                    LinkInfo::PortKind(InfoPortKind::Bridge),
                    LinkInfo::PortData(InfoPortData::BridgePort(vec![
                        InfoBridgePort::PortNumber(no),
                        InfoBridgePort::PortId(0x8000 | no),
                        InfoBridgePort::State(BridgePortState::Forwarding),
                        InfoBridgePort::HairpinMode(true),
                        InfoBridgePort::ForwardDelayTimer(1498),
                    ])),
                ]),
            ],
        )
    }

    #[test]
    fn bridges_sorted_with_their_ports() {
        let links = [
            link(1, "lo", vec![]),
            port(5, "vethB", 3, 2),
            bridge(3, "br1", 0xcc),
            port(4, "Zeth", 3, 1),
            bridge(2, "br0", 0),
            link(6, "eth0", vec![LinkAttribute::Controller(9)]),
        ];
        let bridges = bridges_of(&links);
        let names: Vec<_> = bridges.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["br0", "br1"]);
        assert!(bridges[0].ports.is_empty());
        let br1 = &bridges[1];
        assert_eq!(br1.bridge_id.to_string(), "8000.0200000000cc");
        assert_eq!((br1.stp_state, br1.max_age, br1.gc_timer), (1, 2000, 7));
        // Byte order: upper case before lower case, as brctl's alphasort.
        let ports: Vec<_> = br1.ports.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(ports, ["Zeth", "vethB"]);
        let veth = &br1.ports[1];
        assert_eq!((veth.port_no, veth.port_id), (2, 0x8002));
        assert_eq!(veth.state.to_string(), "forwarding");
        assert!(veth.hairpin);
        assert_eq!(veth.forward_delay_timer, 1498);
    }

    #[test]
    fn bridge_id_prints_like_sysfs() {
        let id = BridgeId {
            priority: 0x7fff,
            address: [0x6e, 0x55, 0x0f, 0xe8, 0xe6, 0xcc],
        };
        assert_eq!(id.to_string(), "7fff.6e550fe8e6cc");
        assert_eq!(BridgeId::default().to_string(), "0000.000000000000");
        assert_eq!(PortState::Other(9).to_string(), "state 9");
    }
}
