//! Forwarding to fake upstreams on the host namespace's loopback: what is
//! forwarded and what is not, parallel upstreams, overrides, internal
//! networks, truncation, the forward cap, resolv.conf changes.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use cnm_dns::Snapshot;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use crate::support::can_run;
use crate::support::client::{encode, exchange, query, query_tcp, udp_socket};
use crate::support::lab::{back, front, ip, standard_lab, Lab, BACK_GW, C2, FRONT_GW};
use crate::support::resolver::Resolver;
use crate::support::upstream::{dead_upstream, FakeUpstream};

const GOOD: &str = "127.0.0.2";
const DEAD: &str = "127.0.0.3";
const GOOD_ANSWER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);

/// A lab with the standard snapshot, the GOOD upstream as the host's only
/// resolver, and the resolver running; `None` where it cannot run.
fn good_upstream_lab(tag: &str, back_internal: bool) -> Option<(Lab, FakeUpstream, Resolver)> {
    let lab = standard_lab(tag, back_internal, &[GOOD])?;
    let upstream = FakeUpstream::start(&lab.host.name, GOOD, GOOD_ANSWER);
    let resolver = Resolver::start(&lab, &[]);
    Some((lab, upstream, resolver))
}

#[test]
fn forwards_only_names_that_are_not_ours() {
    let Some((lab, upstream, _resolver)) = good_upstream_lab("fwd", false) else {
        return;
    };
    let c1 = &lab.c1.name;
    assert_eq!(
        query(c1, FRONT_GW, "ext.example", RecordType::A).data,
        vec!["192.0.2.10".to_string()]
    );
    assert_eq!(
        query(c1, FRONT_GW, "nx.example", RecordType::A).rcode,
        ResponseCode::NXDomain
    );
    let before = upstream.queries();
    // single-label names and our own names never leave the host
    assert_eq!(
        query(c1, FRONT_GW, "unknown", RecordType::A).rcode,
        ResponseCode::NXDomain
    );
    assert_eq!(
        query(c1, FRONT_GW, "web", RecordType::MX).rcode,
        ResponseCode::NoError
    );
    assert_eq!(upstream.queries(), before);
}

#[test]
fn a_dead_first_upstream_does_not_slow_lookups() {
    let Some(lab) = standard_lab("dead", false, &[DEAD, GOOD]) else {
        return;
    };
    let _dead = dead_upstream(&lab.host.name, DEAD);
    let _good = FakeUpstream::start(&lab.host.name, GOOD, GOOD_ANSWER);
    let _resolver = Resolver::start(&lab, &[]);
    for i in 0..5 {
        let started = Instant::now();
        let reply = query(
            &lab.c1.name,
            FRONT_GW,
            &format!("host{i}.example"),
            RecordType::A,
        );
        let took = started.elapsed();
        assert_eq!(reply.data, vec!["192.0.2.10".to_string()]);
        assert!(took < Duration::from_millis(500), "lookup took {took:?}");
    }
}

#[test]
fn internal_networks_never_forward() {
    let Some((lab, upstream, _resolver)) = good_upstream_lab("internal", true) else {
        return;
    };
    // c2 is only on the internal network: refused, upstream never asked
    assert_eq!(
        query(&lab.c2.name, BACK_GW, "ext.example", RecordType::A).rcode,
        ResponseCode::Refused
    );
    assert_eq!(
        query(
            &lab.c2.name,
            BACK_GW,
            "1.2.0.192.in-addr.arpa",
            RecordType::PTR
        )
        .rcode,
        ResponseCode::Refused
    );
    assert_eq!(upstream.queries(), 0);
    // names on the internal network still resolve
    assert_eq!(
        query(&lab.c2.name, BACK_GW, "both", RecordType::A).data,
        vec!["10.89.0.3".to_string()]
    );
    // c3 also has a non-internal network: forwarded, as Docker does
    assert_eq!(
        query(&lab.c3.name, BACK_GW, "ext.example", RecordType::A).data,
        vec!["192.0.2.10".to_string()]
    );
}

#[test]
fn network_and_container_dns_replace_host_upstreams() {
    if !can_run("override") {
        return;
    }
    let lab = Lab::new("override");
    let host_dns = FakeUpstream::start(&lab.host.name, GOOD, GOOD_ANSWER);
    let _net_dns = FakeUpstream::start(&lab.host.name, "127.0.0.4", Ipv4Addr::new(192, 0, 2, 40));
    let _ctr_dns = FakeUpstream::start(&lab.host.name, "127.0.0.5", Ipv4Addr::new(192, 0, 2, 50));
    let snapshot = Snapshot::builder(1)
        .network(front(&[]).upstream(ip("127.0.0.4")))
        .network(back(false))
        .sandbox_dns(C2, [ip("127.0.0.5")])
        .build()
        .unwrap();
    lab.write(&snapshot);
    lab.write_resolv_conf(&[GOOD]);
    let _resolver = Resolver::start(&lab, &[]);
    assert_eq!(
        query(&lab.c1.name, FRONT_GW, "a.example", RecordType::A).data,
        vec!["192.0.2.40".to_string()]
    );
    assert_eq!(
        query(&lab.c2.name, BACK_GW, "a.example", RecordType::A).data,
        vec!["192.0.2.50".to_string()]
    );
    assert_eq!(
        query(&lab.c3.name, BACK_GW, "a.example", RecordType::A).data,
        vec!["192.0.2.10".to_string()]
    );
    assert_eq!(host_dns.queries(), 1);
}

#[test]
fn truncated_upstream_answers_are_retried_over_tcp() {
    let Some((lab, _upstream, _resolver)) = good_upstream_lab("trunc", false) else {
        return;
    };
    let udp = query(&lab.c1.name, FRONT_GW, "big.example", RecordType::A);
    assert!(
        udp.truncated,
        "UDP clients get the TC answer and retry over TCP"
    );
    let tcp = query_tcp(&lab.c1.name, FRONT_GW, "big.example", RecordType::A);
    assert!(!tcp.truncated);
    assert_eq!(tcp.data.len(), 40);
}

#[test]
fn forwards_beyond_the_cap_are_refused() {
    let Some(lab) = standard_lab("cap", false, &[DEAD]) else {
        return;
    };
    let _dead = dead_upstream(&lab.host.name, DEAD);
    let _resolver = Resolver::start(
        &lab,
        &["--max-forwards", "1", "--forward-timeout-ms", "800"],
    );
    let server = ip(FRONT_GW);
    let first = udp_socket(&lab.c1.name, false);
    first
        .send_to(&encode("slow.example", RecordType::A), (server, 53))
        .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let second = udp_socket(&lab.c1.name, false);
    let started = Instant::now();
    let reply = exchange(
        &second,
        server,
        &encode("other.example", RecordType::A),
        Duration::from_secs(2),
    )
    .unwrap();
    assert_eq!(reply.rcode, ResponseCode::Refused);
    assert!(started.elapsed() < Duration::from_millis(200));
    // the first one ends with SERVFAIL once the bounded timeout expires
    let mut buf = [0u8; 512];
    first
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let (n, _) = first
        .recv_from(&mut buf)
        .expect("an answer after the timeout");
    assert_eq!(
        crate::support::client::decode(&buf[..n]).rcode,
        ResponseCode::ServFail
    );
}

#[test]
fn resolv_conf_changes_are_followed() {
    let Some(lab) = standard_lab("resolv", false, &[GOOD]) else {
        return;
    };
    let _first = FakeUpstream::start(&lab.host.name, GOOD, GOOD_ANSWER);
    let _second = FakeUpstream::start(&lab.host.name, "127.0.0.6", Ipv4Addr::new(192, 0, 2, 60));
    let _resolver = Resolver::start(&lab, &[]);
    assert_eq!(
        query(&lab.c1.name, FRONT_GW, "a.example", RecordType::A).data,
        vec!["192.0.2.10".to_string()]
    );
    lab.write_resolv_conf(&["127.0.0.6"]);
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(
        query(&lab.c1.name, FRONT_GW, "a.example", RecordType::A).data,
        vec!["192.0.2.60".to_string()]
    );
}
