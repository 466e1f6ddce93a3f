//! DNS clients that run inside a container namespace: a small UDP/TCP client
//! built on hickory-proto, and `dig` for the human-facing path.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};

use super::answer_data::answer_data;
use super::netns::{in_netns, run};

/// A parsed answer.
#[derive(Debug)]
pub struct Reply {
    pub rcode: ResponseCode,
    /// A/AAAA addresses and PTR targets, in answer order.
    pub data: Vec<String>,
    pub truncated: bool,
}

/// A UDP socket inside `ns` (IPv4 or IPv6 wildcard, random port).
pub fn udp_socket(ns: &str, v6: bool) -> UdpSocket {
    let local = if v6 { "[::]:0" } else { "0.0.0.0:0" };
    in_netns(ns, move || {
        UdpSocket::bind(local).expect("bind client socket")
    })
}

pub fn encode(name: &str, qtype: RecordType) -> Vec<u8> {
    let mut msg = Message::query();
    msg.metadata.recursion_desired = true;
    msg.add_query(Query::query(Name::from_ascii(name).expect("name"), qtype));
    msg.to_vec().expect("encode")
}

pub fn decode(bytes: &[u8]) -> Reply {
    let msg = Message::from_vec(bytes).expect("parse reply");
    Reply {
        rcode: msg.metadata.response_code,
        data: answer_data(&msg),
        truncated: msg.metadata.truncation,
    }
}

/// One UDP exchange on `socket`; times out after `timeout` (no retry).
pub fn exchange(
    socket: &UdpSocket,
    server: IpAddr,
    query: &[u8],
    timeout: Duration,
) -> io::Result<Reply> {
    socket.set_read_timeout(Some(timeout))?;
    socket.send_to(query, SocketAddr::new(server, 53))?;
    let mut buf = [0u8; 4096];
    loop {
        let (n, _) = socket.recv_from(&mut buf)?;
        if buf[..2] == query[..2] {
            return Ok(decode(&buf[..n]));
        }
    }
}

/// Asks `server` from namespace `ns` over UDP; panics after 2 s.
pub fn query(ns: &str, server: &str, name: &str, qtype: RecordType) -> Reply {
    let server: IpAddr = server.parse().expect("server address");
    let socket = udp_socket(ns, server.is_ipv6());
    exchange(
        &socket,
        server,
        &encode(name, qtype),
        Duration::from_secs(2),
    )
    .unwrap_or_else(|e| panic!("query {name} {qtype} @{server} from {ns}: {e}"))
}

/// A TCP connection to `server`:53 made from namespace `ns`.
pub fn tcp_connect(ns: &str, server: &str) -> TcpStream {
    let server: SocketAddr = SocketAddr::new(server.parse().expect("server address"), 53);
    let stream = in_netns(ns, move || {
        TcpStream::connect_timeout(&server, Duration::from_secs(2)).expect("connect")
    });
    stream
        .set_read_timeout(Some(Duration::from_secs(3)))
        .expect("timeout");
    stream
}

/// One length-prefixed exchange on a TCP stream.
pub fn tcp_exchange(stream: &mut TcpStream, name: &str, qtype: RecordType) -> io::Result<Reply> {
    let query = encode(name, qtype);
    let mut framed = (query.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&query);
    stream.write_all(&framed)?;
    let mut len = [0u8; 2];
    stream.read_exact(&mut len)?;
    let mut reply = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut reply)?;
    Ok(decode(&reply))
}

/// Asks over TCP from namespace `ns`.
pub fn query_tcp(ns: &str, server: &str, name: &str, qtype: RecordType) -> Reply {
    tcp_exchange(&mut tcp_connect(ns, server), name, qtype).expect("TCP exchange")
}

/// `dig` from inside `ns`: returns (status, answer data).
pub fn dig(ns: &str, args: &[&str]) -> (String, Vec<String>) {
    let mut argv = vec![
        "netns",
        "exec",
        ns,
        "dig",
        "+noall",
        "+comments",
        "+answer",
        "+time=2",
        "+tries=1",
    ];
    argv.extend_from_slice(args);
    let out = run("ip", &argv);
    let status = out
        .split("status: ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap_or("NO-STATUS")
        .to_string();
    let answers = out
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().last().map(String::from))
        .collect();
    (status, answers)
}
