//! Local names: every kind of name, A/AAAA/PTR, case, scoping between
//! networks, rotation of shared aliases, and TCP.

use std::io::Read;
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use crate::support::client::{dig, query, query_tcp, tcp_connect, tcp_exchange};
use crate::support::lab::{standard_lab, Lab, BACK_GW, FRONT_GW, FRONT_GW6};
use crate::support::resolver::Resolver;

fn lab(tag: &str) -> Option<(Lab, Resolver)> {
    let lab = standard_lab(tag, false, &[])?;
    let resolver = Resolver::start(&lab, &["--tcp-idle-timeout-ms", "300"]);
    Some((lab, resolver))
}

#[test]
fn names_aliases_short_id_hostname_and_case() {
    let Some((lab, _resolver)) = lab("names") else {
        return;
    };
    let c3 = &lab.c3.name;
    for name in [
        "web",
        "www",
        "web-host",
        "111111111111",
        "WEB",
        "Www.",
        "web.",
    ] {
        let reply = query(c3, FRONT_GW, name, RecordType::A);
        assert_eq!(
            (reply.rcode, reply.data),
            (ResponseCode::NoError, vec!["10.88.0.2".to_string()]),
            "{name}"
        );
    }
    // dig, with and without the trailing dot, mixed case
    assert_eq!(
        dig(c3, &["@10.88.0.1", "wEb-HoSt", "A"]),
        ("NOERROR".to_string(), vec!["10.88.0.2".to_string()])
    );
    assert_eq!(
        dig(c3, &["@10.88.0.1", "web.", "A"]).1,
        vec!["10.88.0.2".to_string()]
    );
    // unknown single label: NXDOMAIN; known name, other type: NODATA
    assert_eq!(
        dig(c3, &["@10.88.0.1", "nosuch", "A"]),
        ("NXDOMAIN".to_string(), vec![])
    );
    assert_eq!(
        dig(c3, &["@10.88.0.1", "both", "AAAA"]),
        ("NOERROR".to_string(), vec![])
    );
}

#[test]
fn aaaa_over_ipv6_and_ptr() {
    let Some((lab, _resolver)) = lab("v6ptr") else {
        return;
    };
    let c1 = &lab.c1.name;
    let c3 = &lab.c3.name;
    let reply = query(c1, FRONT_GW6, "web", RecordType::AAAA);
    assert_eq!(reply.data, vec!["fd88::2".to_string()]);
    assert_eq!(
        query(c3, FRONT_GW, "web", RecordType::AAAA).data,
        vec!["fd88::2".to_string()]
    );
    assert_eq!(
        dig(c3, &["@10.88.0.1", "-x", "10.88.0.2"]).1,
        vec!["web.".to_string()]
    );
    assert_eq!(
        dig(c3, &["@10.88.0.1", "-x", "fd88::2"]).1,
        vec!["web.".to_string()]
    );
    assert_eq!(
        dig(c1, &["@10.88.0.1", "-x", "10.88.0.3"]).1,
        vec!["both.".to_string()]
    );
}

#[test]
fn answers_are_scoped_to_shared_networks() {
    let Some((lab, _resolver)) = lab("scope") else {
        return;
    };
    // c1 (front) does not see lone (back only)
    assert_eq!(
        query(&lab.c1.name, FRONT_GW, "lone", RecordType::A).rcode,
        ResponseCode::NXDomain
    );
    // c2 (back) does not see web (front only)
    assert_eq!(
        query(&lab.c2.name, BACK_GW, "web", RecordType::A).rcode,
        ResponseCode::NXDomain
    );
    // c3 (front + back) sees both, on either gateway
    assert_eq!(
        query(&lab.c3.name, FRONT_GW, "lone", RecordType::A).data,
        vec!["10.89.0.2".to_string()]
    );
    assert_eq!(
        query(&lab.c3.name, BACK_GW, "web", RecordType::A).data,
        vec!["10.88.0.2".to_string()]
    );
    // the asked network answers first for a name on both
    assert_eq!(
        query(&lab.c2.name, BACK_GW, "both", RecordType::A).data,
        vec!["10.89.0.3".to_string()]
    );
    assert_eq!(
        query(&lab.c1.name, FRONT_GW, "both", RecordType::A).data,
        vec!["10.88.0.3".to_string()]
    );
    // PTR of a member the requester does not share a network with is not answered locally
    let (status, data) = dig(&lab.c1.name, &["@10.88.0.1", "-x", "10.89.0.2"]);
    assert!(data.is_empty() && status != "NOERROR", "{status} {data:?}");
    // not a member of front: refused
    assert_eq!(
        query(&lab.stranger.name, FRONT_GW, "web", RecordType::A).rcode,
        ResponseCode::Refused
    );
}

#[test]
fn shared_alias_returns_every_holder_rotated() {
    let Some((lab, _resolver)) = lab("rotate") else {
        return;
    };
    let mut firsts = std::collections::HashSet::new();
    for _ in 0..6 {
        let mut data = query(&lab.c3.name, FRONT_GW, "db", RecordType::A).data;
        firsts.insert(data[0].clone());
        data.sort();
        assert_eq!(data, vec!["10.88.0.2".to_string(), "10.88.0.3".into()]);
    }
    assert_eq!(firsts.len(), 2, "the order rotates between queries");
}

#[test]
fn tcp_answers_and_idle_connections_close() {
    let Some((lab, _resolver)) = lab("tcp") else {
        return;
    };
    let reply = query_tcp(&lab.c1.name, FRONT_GW, "both", RecordType::A);
    assert_eq!(reply.data, vec!["10.88.0.3".to_string()]);
    assert_eq!(
        dig(&lab.c1.name, &["+tcp", "@10.88.0.1", "www", "A"]).1,
        vec!["10.88.0.2".to_string()]
    );
    // several queries on one connection, then idle past --tcp-idle-timeout-ms=300
    let mut stream = tcp_connect(&lab.c1.name, FRONT_GW);
    for _ in 0..3 {
        assert_eq!(
            tcp_exchange(&mut stream, "web", RecordType::A)
                .unwrap()
                .rcode,
            ResponseCode::NoError
        );
    }
    std::thread::sleep(Duration::from_millis(700));
    let mut buf = [0u8; 1];
    assert_eq!(
        stream.read(&mut buf).expect("EOF, not a timeout"),
        0,
        "idle connection closed"
    );
}
