//! Links stacked on a parent device: macvlan and ipvlan sub-interfaces
//! (made directly inside a sandbox namespace when asked), 802.1Q VLAN
//! links, the stand-alone devices that serve as an internal parent (dummy,
//! ifb), and a probe that tells whether the kernel knows a link kind.

use std::os::fd::{AsRawFd, BorrowedFd};

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::link::{
    self as nl, InfoData, InfoIpVlan, InfoKind, InfoMacVlan, InfoVlan, LinkAttribute, LinkFlags,
    LinkInfo, LinkMessage,
};
use netlink_packet_route::RouteNetlinkMessage;

use super::Netlink;
use crate::sys::SysError;

/// How a macvlan sub-interface treats traffic between its siblings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacvlanMode {
    /// Siblings talk directly inside the kernel.
    Bridge,
    /// Siblings never talk, even through a hairpinning switch.
    Private,
    /// Everything leaves by the parent; siblings talk only if the switch
    /// sends frames back (hairpin, 802.1Qbg).
    Vepa,
    /// One sub-interface takes over the parent.
    Passthru,
}

/// Where an ipvlan sub-interface switches: by MAC (l2) or by IP (l3, and
/// l3s which also runs the host's netfilter hooks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpvlanMode {
    L2,
    L3,
    L3s,
}

/// ipvlan's treatment of traffic between siblings (`ipvlan_flag`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpvlanFlag {
    Bridge,
    Private,
    Vepa,
}

/// The kind of a sub-interface and its mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SublinkKind {
    Macvlan(MacvlanMode),
    Ipvlan(IpvlanMode, IpvlanFlag),
}

/// A macvlan or ipvlan sub-interface to create, always down.
#[derive(Debug, Clone, Copy)]
pub struct SublinkSpec<'a> {
    /// Its name where it is created ("eth0" inside a sandbox).
    pub name: &'a str,
    /// Ifindex of the parent in the socket's namespace.
    pub parent: u32,
    pub kind: SublinkKind,
    /// A fixed MAC (macvlan only: ipvlan always has its parent's).
    pub mac: Option<[u8; 6]>,
    /// Namespace to create it in directly; None = the socket's.
    pub netns: Option<BorrowedFd<'a>>,
}

/// A stand-alone device that drops whatever it is asked to send, usable
/// as a parent that reaches nothing outside the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlackholeKind {
    Dummy,
    Ifb,
}

impl BlackholeKind {
    /// The kind's name in `ip link`.
    pub fn as_str(self) -> &'static str {
        match self {
            BlackholeKind::Dummy => "dummy",
            BlackholeKind::Ifb => "ifb",
        }
    }
}

impl Netlink {
    /// Creates a macvlan or ipvlan sub-interface of `spec.parent`. With
    /// `spec.netns` it is born inside that namespace (the kernel looks the
    /// parent up in the socket's namespace and the new link's own name up
    /// in the target's), so nothing is moved or renamed afterwards.
    pub fn create_sublink(&mut self, spec: &SublinkSpec<'_>) -> Result<(), SysError> {
        let what = match spec.kind {
            SublinkKind::Macvlan(_) => "create macvlan",
            SublinkKind::Ipvlan(..) => "create ipvlan",
        };
        // No NLM_F_ECHO: an echo of a link born in another namespace is
        // not sent to this socket, and nobody needs the index here.
        self.request(
            RouteNetlinkMessage::NewLink(sublink_message(spec)),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .map(drop)
        .map_err(|e| SysError::new(what, spec.name, e))
    }

    /// Creates the 802.1Q link `name` for VLAN `id` on `parent`, down, and
    /// returns its ifindex.
    pub fn create_vlan(&mut self, name: &str, parent: u32, id: u16) -> Result<u32, SysError> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_owned()));
        msg.attributes.push(LinkAttribute::Link(parent));
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Vlan),
            LinkInfo::Data(InfoData::Vlan(vec![InfoVlan::Id(id)])),
        ]));
        self.create_link(msg, name)
            .map_err(|e| SysError::new("create 802.1Q link", format!("{name} (VLAN {id})"), e))
    }

    /// Creates a dummy or ifb device, down, and returns its ifindex.
    pub fn create_blackhole(&mut self, name: &str, kind: BlackholeKind) -> Result<u32, SysError> {
        let info_kind = match kind {
            BlackholeKind::Dummy => InfoKind::Dummy,
            BlackholeKind::Ifb => InfoKind::Ifb,
        };
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_owned()));
        msg.attributes
            .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(info_kind)]));
        let op = match kind {
            BlackholeKind::Dummy => "create dummy",
            BlackholeKind::Ifb => "create ifb",
        };
        self.create_link(msg, name)
            .map_err(|e| SysError::new(op, name, e))
    }

    /// Whether the kernel can create links of `kind` ("ipvlan", "macvlan",
    /// "vlan"): asks for one without a parent, which every stacked kind
    /// refuses (EINVAL) after the kernel has found (or loaded) its driver,
    /// and which fails with EOPNOTSUPP when the kind is unknown. Nothing is
    /// created either way; only for kinds that need a parent.
    pub fn supports_link_kind(&mut self, kind: &str) -> Result<bool, SysError> {
        let info_kind = match kind {
            "ipvlan" => InfoKind::IpVlan,
            "macvlan" => InfoKind::MacVlan,
            "vlan" => InfoKind::Vlan,
            other => InfoKind::Other(other.to_owned()),
        };
        let mut msg = LinkMessage::default();
        msg.attributes
            .push(LinkAttribute::IfName(PROBE_NAME.to_owned()));
        msg.attributes
            .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(info_kind)]));
        let result = self.request(RouteNetlinkMessage::NewLink(msg), NLM_F_CREATE | NLM_F_EXCL);
        match result {
            Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => Ok(false),
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
                Err(SysError::new("probe link kind", kind.to_owned(), e))
            }
            Err(_) => Ok(true),
            Ok(_) => {
                // A kind that needs no parent after all: undo the probe.
                let _ = self.delete_link_by_name(PROBE_NAME);
                Ok(true)
            }
        }
    }
}

/// Name asked for by `supports_link_kind` (never actually made for the
/// kinds it is meant for).
const PROBE_NAME: &str = "cnm-probe";

/// The RTM_NEWLINK request of `create_sublink`.
fn sublink_message(spec: &SublinkSpec<'_>) -> LinkMessage {
    let mut msg = LinkMessage::default();
    // Down: the core configures addresses first, then brings it up.
    msg.header.change_mask = LinkFlags::Up;
    msg.attributes
        .push(LinkAttribute::IfName(spec.name.to_owned()));
    msg.attributes.push(LinkAttribute::Link(spec.parent));
    if let Some(fd) = spec.netns {
        msg.attributes.push(LinkAttribute::NetNsFd(fd.as_raw_fd()));
    }
    let info = match spec.kind {
        SublinkKind::Macvlan(mode) => {
            // Passthru inherits the parent's MAC whatever is asked.
            if let Some(mac) = spec.mac.filter(|_| mode != MacvlanMode::Passthru) {
                msg.attributes.push(LinkAttribute::Address(mac.to_vec()));
            }
            vec![
                LinkInfo::Kind(InfoKind::MacVlan),
                LinkInfo::Data(InfoData::MacVlan(vec![InfoMacVlan::Mode(macvlan_mode(
                    mode,
                ))])),
            ]
        }
        SublinkKind::Ipvlan(mode, flag) => vec![
            LinkInfo::Kind(InfoKind::IpVlan),
            LinkInfo::Data(InfoData::IpVlan(vec![
                InfoIpVlan::Mode(ipvlan_mode(mode)),
                InfoIpVlan::Flags(ipvlan_flags(flag)),
            ])),
        ],
    };
    msg.attributes.push(LinkAttribute::LinkInfo(info));
    msg
}

fn macvlan_mode(mode: MacvlanMode) -> nl::MacVlanMode {
    match mode {
        MacvlanMode::Bridge => nl::MacVlanMode::Bridge,
        MacvlanMode::Private => nl::MacVlanMode::Private,
        MacvlanMode::Vepa => nl::MacVlanMode::Vepa,
        MacvlanMode::Passthru => nl::MacVlanMode::Passthrough,
    }
}

fn ipvlan_mode(mode: IpvlanMode) -> nl::IpVlanMode {
    match mode {
        IpvlanMode::L2 => nl::IpVlanMode::L2,
        IpvlanMode::L3 => nl::IpVlanMode::L3,
        IpvlanMode::L3s => nl::IpVlanMode::L3S,
    }
}

fn ipvlan_flags(flag: IpvlanFlag) -> nl::IpVlanFlags {
    match flag {
        IpvlanFlag::Bridge => nl::IpVlanFlags::empty(),
        IpvlanFlag::Private => nl::IpVlanFlags::Private,
        IpvlanFlag::Vepa => nl::IpVlanFlags::Vepa,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infos(msg: &LinkMessage) -> Vec<LinkInfo> {
        msg.attributes
            .iter()
            .find_map(|a| match a {
                LinkAttribute::LinkInfo(infos) => Some(infos.clone()),
                _ => None,
            })
            .unwrap_or_default()
    }

    #[test]
    fn macvlan_request_carries_parent_mode_and_mac() {
        let spec = SublinkSpec {
            name: "eth0",
            parent: 7,
            kind: SublinkKind::Macvlan(MacvlanMode::Private),
            mac: Some([2, 0, 0, 0, 0, 9]),
            netns: None,
        };
        let msg = sublink_message(&spec);
        assert!(msg.attributes.contains(&LinkAttribute::Link(7)));
        assert!(msg
            .attributes
            .contains(&LinkAttribute::Address(vec![2, 0, 0, 0, 0, 9])));
        assert_eq!(
            infos(&msg),
            vec![
                LinkInfo::Kind(InfoKind::MacVlan),
                LinkInfo::Data(InfoData::MacVlan(vec![InfoMacVlan::Mode(
                    nl::MacVlanMode::Private
                )])),
            ]
        );
        assert!(!msg.header.flags.contains(LinkFlags::Up), "created down");
    }

    #[test]
    fn passthru_and_ipvlan_take_the_parent_mac() {
        let mut spec = SublinkSpec {
            name: "eth0",
            parent: 7,
            kind: SublinkKind::Macvlan(MacvlanMode::Passthru),
            mac: Some([2, 0, 0, 0, 0, 9]),
            netns: None,
        };
        let has_mac = |spec: &SublinkSpec<'_>| {
            sublink_message(spec)
                .attributes
                .iter()
                .any(|a| matches!(a, LinkAttribute::Address(_)))
        };
        assert!(!has_mac(&spec));
        spec.kind = SublinkKind::Ipvlan(IpvlanMode::L3, IpvlanFlag::Private);
        assert!(!has_mac(&spec));
        assert_eq!(
            infos(&sublink_message(&spec)),
            vec![
                LinkInfo::Kind(InfoKind::IpVlan),
                LinkInfo::Data(InfoData::IpVlan(vec![
                    InfoIpVlan::Mode(nl::IpVlanMode::L3),
                    InfoIpVlan::Flags(nl::IpVlanFlags::Private),
                ])),
            ]
        );
    }
}
