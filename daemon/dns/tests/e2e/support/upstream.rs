//! Fake upstream resolvers in the lab's host namespace (127.0.0.x:53):
//! they answer every A query with a fixed address, `nx*` names with
//! NXDOMAIN, and `big*` names with a truncated UDP answer and 40 records
//! over TCP. A dead upstream is a bound socket that never answers.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record};

use super::netns::in_netns;

/// A responding upstream; stops on drop.
pub struct FakeUpstream {
    queries: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl FakeUpstream {
    /// Serves UDP and TCP on `addr`:53 in namespace `ns`, answering `answer`.
    pub fn start(ns: &str, addr: &str, answer: Ipv4Addr) -> FakeUpstream {
        let sockaddr: SocketAddr = format!("{addr}:53").parse().expect("address");
        let (udp, tcp) = in_netns(ns, move || {
            (
                UdpSocket::bind(sockaddr).expect("bind fake UDP"),
                TcpListener::bind(sockaddr).expect("bind fake TCP"),
            )
        });
        let queries = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        udp.set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        tcp.set_nonblocking(true).expect("nonblocking");
        let (q, s) = (queries.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 1024];
            while !s.load(Ordering::Relaxed) {
                if let Ok((n, peer)) = udp.recv_from(&mut buf) {
                    q.fetch_add(1, Ordering::Relaxed);
                    let _ = udp.send_to(&respond(&buf[..n], answer, false), peer);
                }
            }
        });
        let (q, s) = (queries.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match tcp.accept() {
                    Ok((mut stream, _)) => {
                        q.fetch_add(1, Ordering::Relaxed);
                        let _ = stream.set_nonblocking(false);
                        serve_tcp(&mut stream, answer);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        FakeUpstream { queries, stop }
    }

    /// Queries received so far (UDP datagrams + TCP connections).
    pub fn queries(&self) -> usize {
        self.queries.load(Ordering::Relaxed)
    }
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Bound in namespace `ns`, never reads: queries vanish without an ICMP error.
pub fn dead_upstream(ns: &str, addr: &str) -> UdpSocket {
    let sockaddr: SocketAddr = format!("{addr}:53").parse().expect("address");
    in_netns(ns, move || {
        UdpSocket::bind(sockaddr).expect("bind dead upstream")
    })
}

fn serve_tcp(stream: &mut std::net::TcpStream, answer: Ipv4Addr) {
    let mut len = [0u8; 2];
    if stream.read_exact(&mut len).is_err() {
        return;
    }
    let mut query = vec![0u8; usize::from(u16::from_be_bytes(len))];
    if stream.read_exact(&mut query).is_err() {
        return;
    }
    let reply = respond(&query, answer, true);
    let mut framed = (reply.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&reply);
    let _ = stream.write_all(&framed);
}

fn respond(query: &[u8], answer: Ipv4Addr, tcp: bool) -> Vec<u8> {
    let query = Message::from_vec(query).expect("fake upstream got garbage");
    let mut resp = Message::response(query.metadata.id, query.metadata.op_code);
    resp.metadata.recursion_available = true;
    resp.queries = query.queries.clone();
    let name = query.queries[0].name().clone();
    let label = name
        .iter()
        .next()
        .map(|l| String::from_utf8_lossy(l).to_lowercase())
        .unwrap_or_default();
    if label.starts_with("nx") {
        resp.metadata.response_code = ResponseCode::NXDomain;
    } else if label.starts_with("big") && !tcp {
        resp.metadata.truncation = true;
    } else {
        let count = if label.starts_with("big") { 40 } else { 1 };
        for i in 0..count {
            let [a, b, c, d] = answer.octets();
            let rdata = RData::A(A::new(a, b, c, d.wrapping_add(i)));
            resp.add_answer(Record::from_rdata(name.clone(), 30, rdata));
        }
    }
    resp.to_vec().expect("encode fake answer")
}
