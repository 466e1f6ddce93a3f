//! A blocking rtnetlink client: one `NETLINK_ROUTE` socket, typed request
//! builders on top (`link`, `sublink`, `addr`, `route`, and the read-only
//! `bridge` and `fdb` for inspection), and one request helper that
//! sends a message and reads until the kernel's ack or the end of a dump.
//!
//! A socket belongs to the network namespace it was opened in, for its whole
//! life, whichever thread later uses it; `Netlink::open_in` relies on that.

mod addr;
mod bridge;
mod fdb;
mod link;
mod reply;
mod route;
mod sublink;
mod vxlan;

use std::io;
use std::net::IpAddr;
use std::os::fd::BorrowedFd;

use ipnetwork::IpNetwork;
use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR,
    NLM_F_REQUEST,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

use super::{Netns, SysError};
use reply::{Reply, ReplyParser};

pub use bridge::{BridgeId, BridgeInfo, BridgePortInfo, PortState};
pub use fdb::FdbEntry;
pub use sublink::{BlackholeKind, IpvlanFlag, IpvlanMode, MacvlanMode, SublinkKind, SublinkSpec};
pub use vxlan::{VxlanSpec, FLOOD_MAC};

/// Receive buffer size. The kernel caps one dump datagram at 32 KiB (and
/// sizes it by the reader's buffer), so 64 KiB never truncates.
const RECV_BUFFER: usize = 64 * 1024;

/// How often a dump interrupted by a concurrent change is restarted.
const DUMP_ATTEMPTS: usize = 5;

/// A network interface as a dump or lookup reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// `IFLA_INFO_KIND`: "bridge", "veth", … (None for physical devices, lo).
    pub kind: Option<String>,
    /// Index of the bridge (or bond, …) this link is enslaved to.
    pub master: Option<u32>,
    pub mac: Option<[u8; 6]>,
    pub mtu: u32,
    /// Administratively up (`IFF_UP`), whatever the carrier.
    pub up: bool,
    /// `IFLA_IFALIAS`, free text; cnm marks the bridges it creates with it.
    pub alias: Option<String>,
}

/// A bridge to create (`Netlink::create_bridge_with`).
#[derive(Debug, Clone, Copy)]
pub struct BridgeSpec<'a> {
    pub name: &'a str,
    pub mtu: Option<u32>,
    /// A fixed MAC. Without one the bridge takes the lowest MAC of its
    /// ports, which changes as ports come and go.
    pub mac: Option<[u8; 6]>,
    /// Ifalias to set right after creation.
    pub alias: Option<&'a str>,
}

/// A veth pair to create in one request.
#[derive(Debug, Clone, Copy)]
pub struct VethSpec<'a> {
    /// Host-side name (in the socket's namespace).
    pub name: &'a str,
    /// Bridge to enslave the host side to.
    pub master: Option<u32>,
    /// Bring the host side up. The peer always stays down.
    pub up: bool,
    /// MTU of both sides.
    pub mtu: Option<u32>,
    /// false = no IPv6 link-local address on the host side
    /// (`addr_gen_mode none`): no DAD or MLD traffic flooded by the bridge.
    pub ipv6_link_local: bool,
    /// Final name of the peer in its namespace ("eth0").
    pub peer_name: &'a str,
    /// Namespace to create the peer in directly; None = next to the host side.
    pub peer_netns: Option<BorrowedFd<'a>>,
    pub peer_mac: Option<[u8; 6]>,
}

/// A unicast route as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteEntry {
    /// Destination; `0.0.0.0/0` or `::/0` for a default route.
    pub dst: IpNetwork,
    pub gateway: Option<IpAddr>,
    pub oif: Option<u32>,
    /// Routing table id (254 = main).
    pub table: u32,
}

/// A blocking rtnetlink socket bound to one network namespace.
pub struct Netlink {
    socket: Socket,
    seq: u32,
    recv_buf: Vec<u8>,
}

impl std::fmt::Debug for Netlink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Netlink")
            .field("seq", &self.seq)
            .finish_non_exhaustive()
    }
}

impl Netlink {
    /// Opens a socket in the calling thread's network namespace.
    pub fn open() -> Result<Netlink, SysError> {
        let fail = |e| SysError::new("open", "rtnetlink socket", e);
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(fail)?;
        socket.bind_auto().map_err(fail)?;
        // Only the kernel (port 0) may answer; connect also lets us `send`.
        socket.connect(&SocketAddr::new(0, 0)).map_err(fail)?;
        // Errors carry only the failed request's header, not the whole
        // request, plus the kernel's explanation (extended ack) when it has one.
        socket.set_cap_ack(true).map_err(fail)?;
        socket.set_ext_ack(true).map_err(fail)?;
        Ok(Netlink {
            socket,
            seq: 0,
            recv_buf: Vec::with_capacity(RECV_BUFFER),
        })
    }

    /// Opens a socket inside `ns` (on a short-lived thread that enters it).
    /// The socket stays bound to `ns` after that thread is gone.
    pub fn open_in(ns: &Netns) -> Result<Netlink, SysError> {
        ns.run(Netlink::open)?
    }

    /// Sends `msg` with NLM_F_REQUEST|NLM_F_ACK plus `flags` and waits for
    /// the ack. Returns the messages the kernel sent before it: the answer
    /// of a GET, the echo of an NLM_F_ECHO; nothing for most changes.
    fn request(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> io::Result<Vec<RouteNetlinkMessage>> {
        let seq = self.send(msg, NLM_F_REQUEST | NLM_F_ACK | flags)?;
        Ok(self.receive(seq)?.messages)
    }

    /// Sends a dump request and collects every message of the answer. A dump
    /// that the kernel flags as interrupted (the table changed under it) is
    /// restarted, so callers always see a consistent snapshot.
    fn dump(&mut self, msg: RouteNetlinkMessage) -> io::Result<Vec<RouteNetlinkMessage>> {
        for _ in 0..DUMP_ATTEMPTS {
            let seq = self.send(msg.clone(), NLM_F_REQUEST | NLM_F_DUMP)?;
            let reply = self.receive(seq)?;
            if !reply.interrupted {
                return Ok(reply.messages);
            }
        }
        Err(io::Error::new(
            io::ErrorKind::Interrupted,
            "netlink dump kept being interrupted by concurrent changes",
        ))
    }

    fn send(&mut self, msg: RouteNetlinkMessage, flags: u16) -> io::Result<u32> {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = self.seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
        packet.finalize();
        let mut buf = vec![0; packet.buffer_len()];
        packet.serialize(&mut buf);
        self.socket.send(&buf, 0)?;
        Ok(self.seq)
    }

    /// Reads datagrams until the answer to `seq` is complete: an ack or
    /// error for a plain request, NLMSG_DONE (or an error) for a dump.
    fn receive(&mut self, seq: u32) -> io::Result<Reply> {
        let mut parser = ReplyParser::new(seq);
        loop {
            self.recv_buf.clear();
            let n = match self.socket.recv(&mut self.recv_buf, 0) {
                Ok(n) => n,
                // A signal landed on this thread; the answer is still queued.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n > self.recv_buf.len() {
                return Err(io::Error::other("netlink datagram larger than the buffer"));
            }
            if let Some(reply) = parser.feed(&self.recv_buf)? {
                return Ok(reply);
            }
        }
    }
}

/// Whether a received message header carries NLM_F_DUMP_INTR.
fn dump_interrupted(flags: u16) -> bool {
    flags & NLM_F_DUMP_INTR != 0
}
