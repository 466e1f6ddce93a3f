//! SCTP publishing without SCTP sockets: this kernel has no SCTP stack
//! (CONFIG_IP_SCTP off) but conntrack and NAT do handle SCTP, so a client
//! sends a real SCTP INIT over a raw IP socket and the container watches
//! with a raw socket for what arrives: after DNAT it must carry the
//! container port and the client's source address.

use std::io::{self, Read};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::netns::NetNs;
use crate::traffic::in_netns;

const IPPROTO_SCTP: i32 = 132;

/// An SCTP packet as a container saw it arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenInit {
    pub source: Ipv4Addr,
    pub source_port: u16,
    pub dest_port: u16,
}

/// Listens in `ns` for SCTP packets; open it before sending.
pub struct SctpWatcher {
    socket: Socket,
}

impl SctpWatcher {
    pub fn open(ns: &NetNs) -> SctpWatcher {
        let socket = in_netns(ns, raw_socket)
            .unwrap_or_else(|e| panic!("raw SCTP socket in {}: {e}", ns.name()));
        SctpWatcher { socket }
    }

    /// The first INIT that arrives within `wait`, if any.
    pub fn next_init(&self, wait: Duration) -> Option<SeenInit> {
        let deadline = Instant::now() + wait;
        let mut buf = [0u8; 2048];
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            self.socket
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .expect("raw socket timeout");
            let Ok(n) = (&self.socket).read(&mut buf) else {
                return None;
            };
            if let Some(seen) = parse_init(&buf[..n]) {
                return Some(seen);
            }
        }
    }
}

/// Sends one SCTP INIT from `ns` (source port `from_port`) to `to`.
pub fn send_init(ns: &NetNs, from_port: u16, to: SocketAddrV4) {
    let packet = init_packet(from_port, to.port());
    in_netns(ns, || -> io::Result<()> {
        let socket = raw_socket()?;
        let dest = SockAddr::from(SocketAddr::V4(SocketAddrV4::new(*to.ip(), 0)));
        socket.send_to(&packet, &dest)?;
        Ok(())
    })
    .unwrap_or_else(|e| panic!("send SCTP INIT from {} to {to}: {e}", ns.name()));
}

fn raw_socket() -> io::Result<Socket> {
    Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(IPPROTO_SCTP)))
}

/// Common header + INIT chunk (RFC 9260 §3.1, §3.3.2), verification tag 0
/// as conntrack requires of a new association, CRC32c filled in.
fn init_packet(source_port: u16, dest_port: u16) -> Vec<u8> {
    let mut p = Vec::with_capacity(32);
    p.extend_from_slice(&source_port.to_be_bytes());
    p.extend_from_slice(&dest_port.to_be_bytes());
    p.extend_from_slice(&0u32.to_be_bytes()); // verification tag
    p.extend_from_slice(&0u32.to_be_bytes()); // checksum, filled below
    p.push(1); // chunk type INIT
    p.push(0); // flags
    p.extend_from_slice(&20u16.to_be_bytes()); // chunk length
    p.extend_from_slice(&0x1234_5678u32.to_be_bytes()); // initiate tag
    p.extend_from_slice(&65_535u32.to_be_bytes()); // a_rwnd
    p.extend_from_slice(&1u16.to_be_bytes()); // outbound streams
    p.extend_from_slice(&1u16.to_be_bytes()); // inbound streams
    p.extend_from_slice(&1u32.to_be_bytes()); // initial TSN
    let sum = crc32c(&p);
    // The kernel keeps the checksum little-endian on the wire.
    p[8..12].copy_from_slice(&sum.to_le_bytes());
    p
}

/// Reads an IPv4 packet (header included, as raw sockets deliver it) and
/// returns its INIT, if it is one.
fn parse_init(packet: &[u8]) -> Option<SeenInit> {
    let ihl = usize::from(packet.first()? & 0x0f) * 4;
    if packet.get(9) != Some(&(IPPROTO_SCTP as u8)) {
        return None;
    }
    let source = Ipv4Addr::new(packet[12], packet[13], packet[14], packet[15]);
    let sctp = packet.get(ihl..)?;
    if sctp.get(12) != Some(&1) {
        return None;
    }
    Some(SeenInit {
        source,
        source_port: u16::from_be_bytes([sctp[0], sctp[1]]),
        dest_port: u16::from_be_bytes([sctp[2], sctp[3]]),
    })
}

/// CRC32c (Castagnoli), bitwise: a few dozen bytes per test.
fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_check_value() {
        // The standard check value of CRC-32C.
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn init_round_trips_through_the_parser() {
        let mut ip = vec![
            0x45, 0, 0, 52, 0, 0, 0, 0, 64, 132, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        ip.extend(init_packet(5000, 90));
        let seen = parse_init(&ip).expect("an INIT");
        assert_eq!(
            seen,
            SeenInit {
                source: Ipv4Addr::new(10, 0, 0, 1),
                source_port: 5000,
                dest_port: 90
            }
        );
        ip[9] = 6;
        assert_eq!(parse_init(&ip), None, "not SCTP");
    }
}
