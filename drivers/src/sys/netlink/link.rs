//! Link requests: dump and look up, create bridges and veth pairs, change
//! state, MTU, master and namespace, delete.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use netlink_packet_core::{NLM_F_CREATE, NLM_F_ECHO, NLM_F_EXCL};
use netlink_packet_route::link::{
    AfSpecInet6, AfSpecUnspec, In6AddrGenMode, InfoBridgePort, InfoData, InfoKind, InfoPortData,
    InfoPortKind, InfoVeth, LinkAttribute, LinkExtentMask, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::RouteNetlinkMessage;

use super::{BridgeSpec, Link, Netlink, VethSpec};
use crate::sys::SysError;

/// IFNAMSIZ - 1: no link can have a longer name.
const MAX_IFNAME: usize = 15;

impl Netlink {
    /// All links of the socket's namespace.
    pub fn links(&mut self) -> Result<Vec<Link>, SysError> {
        let reply = self
            .dump(RouteNetlinkMessage::GetLink(get_link_message()))
            .map_err(|e| SysError::new("list", "links", e))?;
        Ok(reply.into_iter().filter_map(link_of).collect())
    }

    /// The link called `name`, or None if there is none.
    pub fn link_by_name(&mut self, name: &str) -> Result<Option<Link>, SysError> {
        if name.len() > MAX_IFNAME {
            return Ok(None);
        }
        let mut msg = get_link_message();
        msg.attributes.push(LinkAttribute::IfName(name.to_owned()));
        match self.request(RouteNetlinkMessage::GetLink(msg), 0) {
            Ok(reply) => Ok(reply.into_iter().find_map(link_of)),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(SysError::new("look up link", name, e)),
        }
    }

    /// Creates a bridge, down, and returns its ifindex.
    pub fn create_bridge(&mut self, name: &str, mtu: Option<u32>) -> Result<u32, SysError> {
        self.create_bridge_with(&BridgeSpec {
            name,
            mtu,
            mac: None,
            alias: None,
        })
    }

    /// Creates a bridge, down, with a fixed MAC and an alias if given, and
    /// returns its ifindex. If setting the alias fails the bridge is deleted.
    pub fn create_bridge_with(&mut self, spec: &BridgeSpec<'_>) -> Result<u32, SysError> {
        let mut msg = new_link_message(spec.name, spec.mtu, None);
        // IFLA_ADDRESS at creation also marks the address as set by the
        // user (NET_ADDR_SET), which stops the bridge from following its
        // ports' MACs.
        if let Some(mac) = spec.mac {
            msg.attributes.push(LinkAttribute::Address(mac.to_vec()));
        }
        msg.attributes
            .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                InfoKind::Bridge,
            )]));
        let index = self
            .create_link(msg, spec.name)
            .map_err(|e| SysError::new("create bridge", spec.name, e))?;
        if let Some(alias) = spec.alias {
            // The kernel ignores IFLA_IFALIAS on creation; set it after.
            if let Err(e) = self.set_alias(index, alias) {
                let _ = self.delete_link(index);
                return Err(e);
            }
        }
        Ok(index)
    }

    /// Sets the link's ifalias (free text shown by `ip link`).
    pub fn set_alias(&mut self, index: u32, alias: &str) -> Result<(), SysError> {
        self.set_link(index, LinkAttribute::IfAlias(alias.to_owned()))
            .map_err(|e| SysError::new("set alias of", ifindex(index), e))
    }

    /// Creates a veth pair in one request: the peer directly in its
    /// namespace under its final name and MAC, the host side enslaved and up
    /// (see `VethSpec`). The kernel applies all of it or nothing. Returns the
    /// host side's ifindex.
    pub fn create_veth(&mut self, spec: &VethSpec<'_>) -> Result<u32, SysError> {
        let object = || format!("{} (peer {})", spec.name, spec.peer_name);
        let index = self
            .create_link(veth_message(spec), spec.name)
            .map_err(|e| SysError::new("create veth", object(), e))?;
        if !spec.ipv6_link_local {
            // A second request: the kernel refuses IFLA_AF_SPEC in a create
            // request (EAFNOSUPPORT on 6.18; the inet6 part of the device
            // does not exist yet). It is still in time: the host side gets
            // its link-local address only when its carrier comes up, i.e.
            // when the still-down peer is set up.
            if let Err(e) = self.set_addr_gen_mode_none(index) {
                let _ = self.delete_link(index);
                return Err(e);
            }
        }
        Ok(index)
    }

    /// Sets the link administratively up.
    pub fn set_up(&mut self, index: u32) -> Result<(), SysError> {
        self.set_flags(index, LinkFlags::Up)
            .map_err(|e| SysError::new("set up", ifindex(index), e))
    }

    /// Sets the link administratively down.
    pub fn set_down(&mut self, index: u32) -> Result<(), SysError> {
        self.set_flags(index, LinkFlags::empty())
            .map_err(|e| SysError::new("set down", ifindex(index), e))
    }

    /// No IPv6 link-local address for this link, hence no DAD and MLD
    /// traffic from it (IFLA_INET6_ADDR_GEN_MODE = NONE). Must happen before
    /// the link gets carrier to have any effect.
    pub fn set_addr_gen_mode_none(&mut self, index: u32) -> Result<(), SysError> {
        let spec = vec![AfSpecUnspec::Inet6(vec![AfSpecInet6::AddrGenMode(
            In6AddrGenMode::None,
        )])];
        self.set_link(index, LinkAttribute::AfSpecUnspec(spec))
            .map_err(|e| SysError::new("set addr_gen_mode none on", ifindex(index), e))
    }

    /// Sets the link's MTU.
    pub fn set_mtu(&mut self, index: u32, mtu: u32) -> Result<(), SysError> {
        self.set_link(index, LinkAttribute::Mtu(mtu))
            .map_err(|e| SysError::new("set mtu", format!("{mtu} on {}", ifindex(index)), e))
    }

    /// Enslaves the link to `master` (a bridge), or frees it with None.
    pub fn set_master(&mut self, index: u32, master: Option<u32>) -> Result<(), SysError> {
        self.set_link(index, LinkAttribute::Controller(master.unwrap_or(0)))
            .map_err(|e| SysError::new("set master of", ifindex(index), e))
    }

    /// Moves the link into another namespace, renaming it on the way (the
    /// kernel does both at once, so the name never clashes in between).
    pub fn move_to_netns(
        &mut self,
        index: u32,
        netns: BorrowedFd<'_>,
        new_name: Option<&str>,
    ) -> Result<(), SysError> {
        let mut msg = link_header(index);
        msg.attributes
            .push(LinkAttribute::NetNsFd(netns.as_raw_fd()));
        if let Some(name) = new_name {
            msg.attributes.push(LinkAttribute::IfName(name.to_owned()));
        }
        self.request(RouteNetlinkMessage::SetLink(msg), 0)
            .map(drop)
            .map_err(|e| SysError::new("move to netns", ifindex(index), e))
    }

    /// Deletes the link (for a veth, both ends). Takes ~20 ms of wall time
    /// for a veth: the kernel waits for an RCU grace period.
    pub fn delete_link(&mut self, index: u32) -> Result<(), SysError> {
        let msg = link_header(index);
        self.request(RouteNetlinkMessage::DelLink(msg), 0)
            .map(drop)
            .map_err(|e| SysError::new("delete link", ifindex(index), e))
    }

    /// Deletes the link called `name`; false if there was none.
    pub fn delete_link_by_name(&mut self, name: &str) -> Result<bool, SysError> {
        if name.len() > MAX_IFNAME {
            return Ok(false);
        }
        // RTM_DELLINK accepts IFLA_IFNAME instead of an index: one request.
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_owned()));
        match self.request(RouteNetlinkMessage::DelLink(msg), 0) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(false),
            Err(e) => Err(SysError::new("delete link", name, e)),
        }
    }

    /// Sends an RTM_NEWLINK that must create a new link and returns the new
    /// ifindex from the kernel's echo. Kernels before 6.1 do not echo new
    /// links; there, the index is looked up by name.
    pub(super) fn create_link(&mut self, msg: LinkMessage, name: &str) -> io::Result<u32> {
        let reply = self.request(
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO,
        )?;
        if let Some(link) = reply
            .into_iter()
            .filter_map(link_of)
            .find(|l| l.name == name)
        {
            return Ok(link.index);
        }
        match self.link_by_name(name) {
            Ok(Some(link)) => Ok(link.index),
            Ok(None) => Err(io::Error::from_raw_os_error(libc::ENODEV)),
            Err(e) => Err(e.source),
        }
    }

    /// RTM_SETLINK with one attribute.
    /// Sets bridge-port flags of an enslaved link (`ip link set X type
    /// bridge_slave hairpin on isolated on`). Hairpin lets a container reach
    /// its own published port through the host address (the DNATed packet
    /// leaves by the port it came in); isolation keeps ports of one bridge
    /// from talking to each other (icc=false) without any firewall rule.
    pub fn set_bridge_port(
        &mut self,
        index: u32,
        hairpin: bool,
        isolated: bool,
    ) -> Result<(), SysError> {
        let info = vec![
            LinkInfo::PortKind(InfoPortKind::Bridge),
            LinkInfo::PortData(InfoPortData::BridgePort(vec![
                InfoBridgePort::HairpinMode(hairpin),
                InfoBridgePort::Isolated(isolated),
            ])),
        ];
        // The kernel reads port (slave) data only in RTM_NEWLINK; an
        // RTM_SETLINK carrying it is accepted and silently ignored. A
        // NEWLINK without CREATE changes the existing link (what `ip link
        // set X type bridge_slave …` sends).
        let mut msg = link_header(index);
        msg.attributes.push(LinkAttribute::LinkInfo(info));
        self.request(RouteNetlinkMessage::NewLink(msg), 0)
            .map(drop)
            .map_err(|e| SysError::new("set bridge port flags of", ifindex(index), e))
    }

    fn set_link(&mut self, index: u32, attribute: LinkAttribute) -> io::Result<()> {
        let mut msg = link_header(index);
        msg.attributes.push(attribute);
        self.request(RouteNetlinkMessage::SetLink(msg), 0).map(drop)
    }

    /// RTM_SETLINK changing only IFF_UP, to the value in `flags`.
    fn set_flags(&mut self, index: u32, flags: LinkFlags) -> io::Result<()> {
        let mut msg = link_header(index);
        msg.header.flags = flags;
        msg.header.change_mask = LinkFlags::Up;
        self.request(RouteNetlinkMessage::SetLink(msg), 0).map(drop)
    }
}

/// The RTM_NEWLINK request of `create_veth`.
fn veth_message(spec: &VethSpec<'_>) -> LinkMessage {
    // The peer is a whole ifinfomsg nested in IFLA_INFO_DATA/VETH_INFO_PEER.
    // Its own IFLA_NET_NS_FD makes the kernel create it in that namespace
    // directly, so no move (and no rename) is needed afterwards; its header
    // flags stay 0, so it stays down.
    let mut peer = LinkMessage::default();
    peer.attributes
        .push(LinkAttribute::IfName(spec.peer_name.to_owned()));
    if let Some(mac) = spec.peer_mac {
        peer.attributes.push(LinkAttribute::Address(mac.to_vec()));
    }
    if let Some(mtu) = spec.mtu {
        peer.attributes.push(LinkAttribute::Mtu(mtu));
    }
    if let Some(fd) = spec.peer_netns {
        peer.attributes.push(LinkAttribute::NetNsFd(fd.as_raw_fd()));
    }

    // On create the kernel brings the link up first, then enslaves it.
    let mut msg = new_link_message(spec.name, spec.mtu, spec.master);
    if spec.up {
        msg.header.flags = LinkFlags::Up;
        msg.header.change_mask = LinkFlags::Up;
    }
    msg.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::Kind(InfoKind::Veth),
        LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))),
    ]));
    msg
}

/// The start of an RTM_NEWLINK for a link to create: its name, MTU and
/// master, when given; the caller adds what its kind needs.
pub(super) fn new_link_message(name: &str, mtu: Option<u32>, master: Option<u32>) -> LinkMessage {
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::IfName(name.to_owned()));
    if let Some(mtu) = mtu {
        msg.attributes.push(LinkAttribute::Mtu(mtu));
    }
    if let Some(master) = master {
        msg.attributes.push(LinkAttribute::Controller(master));
    }
    msg
}

/// An RTM_GETLINK without the statistics blocks (RTEXT_FILTER_SKIP_STATS):
/// they are most of each answer's bytes and of its parsing time, and
/// `Link` has no use for them.
pub(super) fn get_link_message() -> LinkMessage {
    let mut msg = LinkMessage::default();
    msg.attributes
        .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
    msg
}

/// A link message addressing an existing link by index.
fn link_header(index: u32) -> LinkMessage {
    let mut msg = LinkMessage::default();
    msg.header.index = index;
    msg
}

fn ifindex(index: u32) -> String {
    format!("ifindex {index}")
}

/// The `Link` in an RTM_NEWLINK answer; None for other messages.
fn link_of(msg: RouteNetlinkMessage) -> Option<Link> {
    let RouteNetlinkMessage::NewLink(msg) = msg else {
        return None;
    };
    let mut link = Link {
        index: msg.header.index,
        name: String::new(),
        kind: None,
        master: None,
        mac: None,
        mtu: 0,
        up: msg.header.flags.contains(LinkFlags::Up),
        alias: None,
    };
    for attribute in msg.attributes {
        match attribute {
            LinkAttribute::IfName(name) => link.name = name,
            LinkAttribute::Mtu(mtu) => link.mtu = mtu,
            LinkAttribute::Controller(master) if master != 0 => link.master = Some(master),
            LinkAttribute::Address(mac) => link.mac = mac.try_into().ok(),
            LinkAttribute::IfAlias(alias) => link.alias = Some(alias),
            LinkAttribute::LinkInfo(infos) => {
                link.kind = infos.into_iter().find_map(|info| match info {
                    LinkInfo::Kind(kind) => Some(kind.to_string()),
                    _ => None,
                });
            }
            _ => {}
        }
    }
    Some(link)
}
