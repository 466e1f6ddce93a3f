//! Unit tests of the answer rules: names, scoping, rotation, NODATA vs
//! NXDOMAIN, PTR, policy refusals and upstream overrides.

use std::net::IpAddr;

use hickory_proto::op::{Edns, Message, Query as Question, ResponseCode};
use hickory_proto::rr::{Name, RecordType};

use super::*;
use crate::snapshot::{MemberBuilder, NetworkBuilder, Snapshot};

#[path = "../tests/e2e/support/answer_data.rs"]
mod answer_data;

use answer_data::answer_data;

const WEB: &str = "aaaaaaaaaaaa000000000000000000000000000000000000000000000000000a";
const DB1: &str = "bbbbbbbbbbbb000000000000000000000000000000000000000000000000000b";
const DB2: &str = "cccccccccccc000000000000000000000000000000000000000000000000000c";
const BOTH: &str = "dddddddddddd000000000000000000000000000000000000000000000000000d";
const LONE: &str = "eeeeeeeeeeee000000000000000000000000000000000000000000000000000e";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// front (10.1.0.1, fd01::1): web, db1, db2 (alias db), both.
/// back (10.2.0.1, internal): both, lone. Sandbox `lone` has its own --dns.
fn index() -> RecordIndex {
    let snapshot = Snapshot::builder(1)
        .network(
            NetworkBuilder::new("f", "front")
                .listen(ip("10.1.0.1"))
                .listen(ip("fd01::1"))
                .upstream(ip("10.9.9.9"))
                .member(
                    MemberBuilder::new(WEB)
                        .name("Web")
                        .name("www")
                        .name("web-host")
                        .addr(ip("10.1.0.2"))
                        .addr(ip("fd01::2")),
                )
                .member(
                    MemberBuilder::new(DB1)
                        .name("db1")
                        .name("db")
                        .addr(ip("10.1.0.3")),
                )
                .member(
                    MemberBuilder::new(DB2)
                        .name("db2")
                        .name("db")
                        .addr(ip("10.1.0.4")),
                )
                .member(MemberBuilder::new(BOTH).name("both").addr(ip("10.1.0.5"))),
        )
        .network(
            NetworkBuilder::new("b", "back")
                .internal(true)
                .listen(ip("10.2.0.1"))
                .member(MemberBuilder::new(BOTH).name("both").addr(ip("10.2.0.5")))
                .member(MemberBuilder::new(LONE).name("lone").addr(ip("10.2.0.6"))),
        )
        .sandbox_dns(LONE, [ip("10.8.8.8")])
        .build()
        .unwrap();
    RecordIndex::compile(&snapshot)
}

fn packet(name: &str, qtype: RecordType) -> Vec<u8> {
    let mut msg = Message::query();
    msg.add_query(Question::query(Name::from_ascii(name).unwrap(), qtype));
    msg.to_vec().unwrap()
}

/// `packet` as sent over UDP from `from` to our address `to`.
fn udp_query<'a>(from: &str, to: &str, packet: &'a [u8]) -> Query<'a> {
    Query {
        listen: ip(to),
        src: ip(from),
        packet,
        transport: Transport::Udp,
    }
}

fn ask(index: &RecordIndex, from: &str, to: &str, name: &str, qtype: RecordType) -> Outcome {
    let bytes = packet(name, qtype);
    answer(index, udp_query(from, to, &bytes), 0)
}

fn reply_of(outcome: Outcome) -> Message {
    match outcome {
        Outcome::Reply(bytes) => Message::from_vec(&bytes).unwrap(),
        other => panic!("expected a reply, got {other:?}"),
    }
}

/// (rcode, answer data as strings)
fn resolve(
    index: &RecordIndex,
    from: &str,
    to: &str,
    name: &str,
    qtype: RecordType,
) -> (ResponseCode, Vec<String>) {
    let msg = reply_of(ask(index, from, to, name, qtype));
    (msg.metadata.response_code, answer_data(&msg))
}

/// The response code of the reply (a reply, not a forward, is expected).
fn rcode(index: &RecordIndex, from: &str, to: &str, name: &str, qtype: RecordType) -> ResponseCode {
    reply_of(ask(index, from, to, name, qtype))
        .metadata
        .response_code
}

#[test]
fn every_name_kind_resolves() {
    let idx = index();
    for name in ["web", "www", "web-host", "aaaaaaaaaaaa"] {
        assert_eq!(
            resolve(&idx, "10.1.0.3", "10.1.0.1", name, RecordType::A),
            (ResponseCode::NoError, vec!["10.1.0.2".into()]),
            "{name}"
        );
    }
}

#[test]
fn names_ignore_case_and_trailing_dot() {
    let idx = index();
    for name in ["WEB", "wEb.", "Web"] {
        let (rcode, data) = resolve(&idx, "10.1.0.3", "10.1.0.1", name, RecordType::A);
        assert_eq!(
            (rcode, data),
            (ResponseCode::NoError, vec!["10.1.0.2".to_string()]),
            "{name}"
        );
    }
    assert_eq!(
        index_key(&Name::from_ascii("A.b").unwrap()).as_deref(),
        Some("a.b")
    );
    assert_eq!(
        index_key(&Name::from_ascii("A.b.").unwrap()).as_deref(),
        Some("a.b")
    );
}

#[test]
fn aaaa_over_ipv6_and_any() {
    let idx = index();
    assert_eq!(
        resolve(&idx, "fd01::2", "fd01::1", "web", RecordType::AAAA),
        (ResponseCode::NoError, vec!["fd01::2".into()])
    );
    let (_, any) = resolve(&idx, "10.1.0.3", "10.1.0.1", "web", RecordType::ANY);
    assert_eq!(any, vec!["10.1.0.2".to_string(), "fd01::2".into()]);
}

#[test]
fn nodata_versus_nxdomain() {
    let idx = index();
    // known name, no record of that type: NOERROR and no answer
    assert_eq!(
        resolve(&idx, "10.1.0.2", "10.1.0.1", "db1", RecordType::AAAA),
        (ResponseCode::NoError, vec![])
    );
    assert_eq!(
        resolve(&idx, "10.1.0.2", "10.1.0.1", "db1", RecordType::MX),
        (ResponseCode::NoError, vec![])
    );
    // unknown single label: NXDOMAIN at once
    assert_eq!(
        resolve(&idx, "10.1.0.2", "10.1.0.1", "nosuch", RecordType::A),
        (ResponseCode::NXDomain, vec![])
    );
    // unknown multi-label: forwarded, with the network's override
    match ask(&idx, "10.1.0.2", "10.1.0.1", "example.com", RecordType::A) {
        Outcome::Forward(Some(up)) => assert_eq!(up.as_ref(), &["10.9.9.9:53".parse().unwrap()]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn scope_is_the_requesters_networks() {
    let idx = index();
    // web (front only) does not see lone (back only): NXDOMAIN
    assert_eq!(
        resolve(&idx, "10.1.0.2", "10.1.0.1", "lone", RecordType::A).0,
        ResponseCode::NXDomain
    );
    // both (front + back) sees lone, asking on either gateway
    assert_eq!(
        resolve(&idx, "10.1.0.5", "10.1.0.1", "lone", RecordType::A).1,
        vec!["10.2.0.6".to_string()]
    );
    assert_eq!(
        resolve(&idx, "10.2.0.5", "10.2.0.1", "web", RecordType::A).1,
        vec!["10.1.0.2".to_string()]
    );
    // the asked network wins when a name is on several
    assert_eq!(
        resolve(&idx, "10.2.0.6", "10.2.0.1", "both", RecordType::A).1,
        vec!["10.2.0.5".to_string()]
    );
    assert_eq!(
        resolve(&idx, "10.1.0.2", "10.1.0.1", "both", RecordType::A).1,
        vec!["10.1.0.5".to_string()]
    );
    // name.network picks a network
    assert_eq!(
        resolve(&idx, "10.1.0.5", "10.1.0.1", "both.back", RecordType::A).1,
        vec!["10.2.0.5".to_string()]
    );
    // a network the requester is not on is not visible, even by suffix
    assert!(matches!(
        ask(&idx, "10.1.0.2", "10.1.0.1", "both.back", RecordType::A),
        Outcome::Forward(_)
    ));
}

#[test]
fn shared_alias_returns_all_holders_rotated() {
    let idx = index();
    let order = |rotation| {
        let bytes = packet("db", RecordType::A);
        let msg = reply_of(answer(
            &idx,
            udp_query("10.1.0.2", "10.1.0.1", &bytes),
            rotation,
        ));
        msg.answers
            .iter()
            .map(|r| r.data.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(order(0), vec!["10.1.0.3", "10.1.0.4"]);
    assert_eq!(order(1), vec!["10.1.0.4", "10.1.0.3"]);
    assert_eq!(order(2), order(0));
}

#[test]
fn ptr_for_visible_members_only() {
    let idx = index();
    assert_eq!(
        resolve(
            &idx,
            "10.1.0.3",
            "10.1.0.1",
            "2.0.1.10.in-addr.arpa",
            RecordType::PTR
        ),
        (ResponseCode::NoError, vec!["web.".into()])
    );
    let v6 = Name::from(ip("fd01::2")).to_ascii();
    assert_eq!(
        resolve(&idx, "10.1.0.3", "10.1.0.1", &v6, RecordType::PTR).1,
        vec!["web.".to_string()]
    );
    // lone's address is not visible from web: forwarded like any other name
    assert!(matches!(
        ask(
            &idx,
            "10.1.0.2",
            "10.1.0.1",
            "6.0.2.10.in-addr.arpa",
            RecordType::PTR
        ),
        Outcome::Forward(_)
    ));
}

#[test]
fn strangers_are_refused() {
    let idx = index();
    // not a member of front
    assert_eq!(
        rcode(&idx, "10.1.0.99", "10.1.0.1", "web", RecordType::A),
        ResponseCode::Refused
    );
    // a member of back asking on front's gateway (routed through the host)
    assert_eq!(
        rcode(&idx, "10.2.0.6", "10.1.0.1", "web", RecordType::A),
        ResponseCode::Refused
    );
}

#[test]
fn internal_only_sandboxes_never_forward() {
    let idx = index();
    assert_eq!(
        rcode(&idx, "10.2.0.6", "10.2.0.1", "example.com", RecordType::A),
        ResponseCode::Refused
    );
    // local names still resolve on an internal network
    assert_eq!(
        resolve(&idx, "10.2.0.6", "10.2.0.1", "both", RecordType::A).1,
        vec!["10.2.0.5".to_string()]
    );
    // a sandbox that also has a non-internal network keeps forwarding (Docker's rule)
    assert!(matches!(
        ask(&idx, "10.2.0.5", "10.2.0.1", "example.com", RecordType::A),
        Outcome::Forward(None)
    ));
}

#[test]
fn container_dns_wins_over_network_dns() {
    let idx = index();
    let lone = idx.requester(ip("10.2.0.1"), ip("10.2.0.6")).unwrap();
    assert_eq!(
        idx.upstreams(lone).unwrap().as_ref(),
        &["10.8.8.8:53".parse().unwrap()]
    );
    let web = idx.requester(ip("10.1.0.1"), ip("10.1.0.2")).unwrap();
    assert_eq!(
        idx.upstreams(web).unwrap().as_ref(),
        &["10.9.9.9:53".parse().unwrap()]
    );
    let both_on_back = idx.requester(ip("10.2.0.1"), ip("10.2.0.5")).unwrap();
    assert!(
        idx.upstreams(both_on_back).is_none(),
        "back has no override: host upstreams"
    );
}

#[test]
fn edns_is_echoed_and_udp_answers_truncate() {
    let mut builder = NetworkBuilder::new("m", "many").listen(ip("10.3.0.1"));
    for i in 0..100u32 {
        let id = format!("{i:064x}");
        builder = builder.member(
            MemberBuilder::new(id)
                .name("crowd")
                .addr(IpAddr::from([10, 3, 1, i as u8])),
        );
    }
    let idx = RecordIndex::compile(&Snapshot::builder(1).network(builder).build().unwrap());
    let mut msg = Message::query();
    msg.add_query(Question::query(
        Name::from_ascii("crowd").unwrap(),
        RecordType::A,
    ));
    msg.set_edns(Edns::new());
    let bytes = msg.to_vec().unwrap();
    let mut query = udp_query("10.3.1.1", "10.3.0.1", &bytes);
    let udp = reply_of(answer(&idx, query, 0));
    assert!(udp.metadata.truncation);
    assert!(udp.answers.is_empty());
    assert!(udp.edns.is_some());
    query.transport = Transport::Tcp;
    let tcp = reply_of(answer(&idx, query, 0));
    assert!(!tcp.metadata.truncation);
    assert_eq!(tcp.answers.len(), 100);
}

#[test]
fn garbage_gets_formerr_and_responses_are_dropped() {
    let idx = index();
    let garbage = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xff];
    let query = udp_query("10.1.0.2", "10.1.0.1", &garbage);
    assert_eq!(
        reply_of(answer(&idx, query, 0)).metadata.response_code,
        ResponseCode::FormErr
    );
    let reply = match ask(&idx, "10.1.0.2", "10.1.0.1", "web", RecordType::A) {
        Outcome::Reply(bytes) => bytes,
        other => panic!("{other:?}"),
    };
    let query = udp_query("10.1.0.2", "10.1.0.1", &reply);
    assert_eq!(answer(&idx, query, 0), Outcome::Drop);
    assert_eq!(
        answer(
            &idx,
            Query {
                packet: &[1, 2],
                ..query
            },
            0
        ),
        Outcome::Drop
    );
}

/// front and back as in [`index`], with their subnets known.
fn index_with_subnets() -> RecordIndex {
    let snapshot = Snapshot::builder(1)
        .network(
            NetworkBuilder::new("f", "front")
                .listen(ip("10.1.0.1"))
                .subnet(ip("10.1.0.0"), 24)
                .member(MemberBuilder::new(WEB).name("web").addr(ip("10.1.0.2"))),
        )
        .network(
            NetworkBuilder::new("b", "back")
                .internal(true)
                .listen(ip("10.2.0.1"))
                .subnet(ip("10.2.0.0"), 24)
                .member(MemberBuilder::new(LONE).name("lone").addr(ip("10.2.0.6"))),
        )
        .build()
        .unwrap();
    RecordIndex::compile(&snapshot)
}

#[test]
fn newcomers_in_the_subnet_are_served_before_their_record_arrives() {
    let idx = index_with_subnets();
    // 10.1.0.99 just joined front: its first query beats the snapshot
    assert_eq!(
        resolve(&idx, "10.1.0.99", "10.1.0.1", "web", RecordType::A).1,
        vec!["10.1.0.2".to_string()]
    );
    // the same through a dual-stack socket (IPv4-mapped source)
    assert_eq!(
        resolve(&idx, "::ffff:10.1.0.99", "10.1.0.1", "web", RecordType::A).1,
        vec!["10.1.0.2".to_string()]
    );
    // a newcomer of an internal network is not forwarded for
    assert_eq!(
        rcode(&idx, "10.2.0.99", "10.2.0.1", "example.com", RecordType::A),
        ResponseCode::Refused
    );
    // nor does it see another network's names
    assert_eq!(
        rcode(&idx, "10.2.0.99", "10.2.0.1", "web", RecordType::A),
        ResponseCode::NXDomain
    );
}

#[test]
fn subnets_do_not_open_the_resolver_to_other_networks() {
    let idx = index_with_subnets();
    for (src, listen) in [
        ("10.2.0.6", "10.1.0.1"),  // a member of back on front's gateway
        ("10.2.0.99", "10.1.0.1"), // back's subnet on front's gateway
        ("10.3.0.9", "10.1.0.1"),  // no network's subnet
        ("10.1.0.0", "10.1.0.1"),  // the network address itself
    ] {
        assert_eq!(
            rcode(&idx, src, listen, "web", RecordType::A),
            ResponseCode::Refused,
            "{src} on {listen}"
        );
    }
}
