//! Forwarder tests against fake upstreams on loopback ports.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

use super::*;

#[derive(Clone, Copy)]
enum Behaviour {
    Answer(ResponseCode),
    /// Truncated over UDP, 50 records over TCP.
    Big,
}

fn respond(query: &[u8], behaviour: Behaviour, tcp: bool) -> Vec<u8> {
    let query = Message::from_vec(query).unwrap();
    let mut resp = Message::response(query.metadata.id, query.metadata.op_code);
    resp.queries = query.queries.clone();
    let name = query.queries[0].name().clone();
    match behaviour {
        Behaviour::Answer(rcode) => {
            resp.metadata.response_code = rcode;
            if rcode == ResponseCode::NoError {
                resp.add_answer(Record::from_rdata(name, 5, RData::A(A::new(192, 0, 2, 1))));
            }
        }
        Behaviour::Big if !tcp => resp.metadata.truncation = true,
        Behaviour::Big => {
            for i in 0..50 {
                resp.add_answer(Record::from_rdata(
                    name.clone(),
                    5,
                    RData::A(A::new(192, 0, 2, i)),
                ));
            }
        }
    }
    resp.to_vec().unwrap()
}

/// A loopback upstream (UDP and TCP on the same port).
async fn upstream(behaviour: Behaviour) -> SocketAddr {
    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = udp.local_addr().unwrap();
    let tcp = TcpListener::bind(addr).await.unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        while let Ok((n, peer)) = udp.recv_from(&mut buf).await {
            let _ = udp
                .send_to(&respond(&buf[..n], behaviour, false), peer)
                .await;
        }
    });
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = tcp.accept().await {
            let len = stream.read_u16().await.unwrap();
            let mut query = vec![0u8; usize::from(len)];
            stream.read_exact(&mut query).await.unwrap();
            let reply = respond(&query, behaviour, true);
            stream.write_u16(reply.len() as u16).await.unwrap();
            stream.write_all(&reply).await.unwrap();
        }
    });
    addr
}

/// Bound, never answers: packets vanish without an ICMP error.
async fn dead_upstream() -> (UdpSocket, SocketAddr) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    (socket, addr)
}

fn query(name: &str) -> Vec<u8> {
    let mut msg = Message::query();
    msg.metadata.id = 0xbeef;
    msg.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
    msg.to_vec().unwrap()
}

fn parse(reply: Option<Vec<u8>>) -> Message {
    let msg = Message::from_vec(&reply.expect("a reply")).unwrap();
    assert_eq!(msg.metadata.id, 0xbeef, "the client's id is restored");
    msg
}

#[tokio::test]
async fn a_dead_upstream_costs_nothing() {
    let (_dead, dead) = dead_upstream().await;
    let good = upstream(Behaviour::Answer(ResponseCode::NoError)).await;
    let fwd = Forwarder::new(8, Duration::from_secs(2));
    let started = Instant::now();
    let msg = parse(
        fwd.forward(&query("example.com."), &[dead, good], Transport::Udp)
            .await,
    );
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(msg.answers.len(), 1);
}

#[tokio::test]
async fn nxdomain_is_a_good_answer_servfail_only_a_fallback() {
    let servfail = upstream(Behaviour::Answer(ResponseCode::ServFail)).await;
    let nx = upstream(Behaviour::Answer(ResponseCode::NXDomain)).await;
    let fwd = Forwarder::new(8, Duration::from_secs(2));
    let msg = parse(
        fwd.forward(&query("nosuch.example."), &[servfail, nx], Transport::Udp)
            .await,
    );
    assert_eq!(msg.metadata.response_code, ResponseCode::NXDomain);
    let msg = parse(
        fwd.forward(&query("nosuch.example."), &[servfail], Transport::Udp)
            .await,
    );
    assert_eq!(msg.metadata.response_code, ResponseCode::ServFail);
}

#[tokio::test]
async fn nobody_answers_servfail_within_the_timeout() {
    let (_dead, dead) = dead_upstream().await;
    let fwd = Forwarder::new(8, Duration::from_millis(300));
    let started = Instant::now();
    let msg = parse(
        fwd.forward(&query("example.com."), &[dead], Transport::Udp)
            .await,
    );
    assert_eq!(msg.metadata.response_code, ResponseCode::ServFail);
    assert!(started.elapsed() < Duration::from_millis(500));
}

#[tokio::test]
async fn truncation_is_relayed_to_udp_and_retried_over_tcp() {
    let big = upstream(Behaviour::Big).await;
    let fwd = Forwarder::new(8, Duration::from_secs(2));
    let udp = parse(
        fwd.forward(&query("big.example."), &[big], Transport::Udp)
            .await,
    );
    assert!(udp.metadata.truncation);
    let tcp = parse(
        fwd.forward(&query("big.example."), &[big], Transport::Tcp)
            .await,
    );
    assert!(!tcp.metadata.truncation);
    assert_eq!(tcp.answers.len(), 50);
}

#[tokio::test]
async fn the_cap_is_enforced() {
    let fwd = Forwarder::new(1, Duration::from_secs(1));
    let slot = fwd.try_slot().expect("one slot");
    assert!(fwd.try_slot().is_none());
    drop(slot);
    assert!(fwd.try_slot().is_some());
}
