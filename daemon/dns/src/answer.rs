//! Per-requester answers: decides for one query whether cnm answers it from
//! the record index, refuses it, or hands it to the forwarder. Pure (no I/O),
//! so every rule is unit-tested without sockets.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, PTR};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

use crate::records::{Addrs, RecordIndex, Requester};
use crate::wire::{self, Rcode};

/// TTL of cnm's own records: short, since containers come and go.
pub const LOCAL_TTL: u32 = 60;
/// Largest UDP payload we advertise and send (the DNS flag day 2020 value).
pub const MAX_UDP_PAYLOAD: u16 = 1232;

/// How a query reached us; decides truncation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// UDP: answers larger than the client's payload size are truncated.
    Udp,
    /// TCP: no size limit below 64 KiB.
    Tcp,
}

/// What to do with one received packet.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Send these bytes back.
    Reply(Vec<u8>),
    /// Forward the query; `None` means the host's upstreams.
    Forward(Option<Arc<[SocketAddr]>>),
    /// Say nothing (a response, or too short to answer).
    Drop,
}

/// One received packet and where it came from.
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    /// Our address the packet was sent to.
    pub listen: IpAddr,
    /// The sender's address.
    pub src: IpAddr,
    /// Raw DNS message.
    pub packet: &'a [u8],
    /// UDP or TCP.
    pub transport: Transport,
}

/// Decides the outcome of one query. `rotation` varies per query and rotates
/// the order of several holders of one name.
pub fn answer(index: &RecordIndex, query: Query<'_>, rotation: usize) -> Outcome {
    let msg = match Message::from_vec(query.packet) {
        Ok(msg) => msg,
        Err(_) if wire::is_response(query.packet) => return Outcome::Drop,
        Err(_) => return raw_error(query.packet, Rcode::FormErr),
    };
    if msg.metadata.message_type != MessageType::Query {
        return Outcome::Drop;
    }
    let Some(who) = index.requester(query.listen, query.src) else {
        return raw_error(query.packet, Rcode::Refused);
    };
    if msg.metadata.op_code != OpCode::Query {
        return raw_error(query.packet, Rcode::NotImp);
    }
    let [question] = msg.queries.as_slice() else {
        return raw_error(query.packet, Rcode::FormErr);
    };
    if question.query_class() == DNSClass::IN {
        if let Some(records) =
            local_records(index, who, question.name(), question.query_type(), rotation)
        {
            return reply(
                &msg,
                query.packet,
                records,
                ResponseCode::NoError,
                query.transport,
            );
        }
    }
    if question.name().num_labels() == 1 {
        // Docker semantics: single-label names are container names; an
        // unknown one does not exist anywhere, so it is never forwarded.
        return reply(
            &msg,
            query.packet,
            Vec::new(),
            ResponseCode::NXDomain,
            query.transport,
        );
    }
    if !index.may_forward(who) {
        // REFUSED, not SERVFAIL: a policy answer, final for the client
        // (glibc maps it to NO_RECOVERY), whereas SERVFAIL reads as a
        // transient upstream failure and invites retries and caching.
        tracing::debug!(network = %index.network_id(who), name = %question.name(), "internal network: not forwarding");
        return raw_error(query.packet, Rcode::Refused);
    }
    Outcome::Forward(index.upstreams(who))
}

/// Records cnm answers itself, or `None` if the name is not one of ours.
/// `Some(vec![])` is NODATA: the name exists but has no record of that type.
fn local_records(
    index: &RecordIndex,
    who: Requester,
    name: &Name,
    qtype: RecordType,
    rotation: usize,
) -> Option<Vec<Record>> {
    if qtype == RecordType::PTR {
        if let Some(addr) = arpa_host(name) {
            let target = index.reverse(who, addr)?;
            let target = Name::from_ascii(format!("{target}.")).ok()?;
            return Some(vec![Record::from_rdata(
                name.clone(),
                LOCAL_TTL,
                RData::PTR(PTR(target)),
            )]);
        }
    }
    let key = index_key(name)?;
    let addrs = index.lookup(who, &key)?;
    Some(address_records(name, addrs, qtype, rotation))
}

fn address_records(name: &Name, addrs: &Addrs, qtype: RecordType, rotation: usize) -> Vec<Record> {
    let want_v4 = matches!(qtype, RecordType::A | RecordType::ANY);
    let want_v6 = matches!(qtype, RecordType::AAAA | RecordType::ANY);
    let mut records = Vec::new();
    if want_v4 {
        let rdata = rotated(&addrs.v4, rotation).map(|a| RData::A(A(a)));
        records.extend(rdata.map(|r| Record::from_rdata(name.clone(), LOCAL_TTL, r)));
    }
    if want_v6 {
        let rdata = rotated(&addrs.v6, rotation).map(|a| RData::AAAA(AAAA(a)));
        records.extend(rdata.map(|r| Record::from_rdata(name.clone(), LOCAL_TTL, r)));
    }
    records
}

/// The slice starting at `rotation % len`, wrapping around.
fn rotated<T: Copy>(items: &[T], rotation: usize) -> impl Iterator<Item = T> + '_ {
    let start = if items.is_empty() {
        0
    } else {
        rotation % items.len()
    };
    items[start..].iter().chain(&items[..start]).copied()
}

/// The index key of a query name: lowercase labels joined by dots, no
/// trailing dot. `None` for names that cannot be ours (non-ASCII, dots
/// inside a label).
fn index_key(name: &Name) -> Option<String> {
    let mut key = String::with_capacity(64);
    for label in name.iter() {
        if !key.is_empty() {
            key.push('.');
        }
        for &b in label {
            if !b.is_ascii_graphic() || b == b'.' {
                return None;
            }
            key.push(b.to_ascii_lowercase() as char);
        }
    }
    Some(key)
}

/// The host address of a full-length `in-addr.arpa` / `ip6.arpa` name.
fn arpa_host(name: &Name) -> Option<IpAddr> {
    let net = name.parse_arpa_name().ok()?;
    (net.prefix_len() == net.max_prefix_len()).then(|| net.addr())
}

/// A full reply built with hickory: echoes id, RD, CD and the question,
/// adds an OPT record if the query had one, truncates for UDP if needed.
fn reply(
    query: &Message,
    packet: &[u8],
    answers: Vec<Record>,
    rcode: ResponseCode,
    transport: Transport,
) -> Outcome {
    let mut resp = Message::response(query.metadata.id, OpCode::Query);
    resp.metadata.recursion_desired = query.metadata.recursion_desired;
    resp.metadata.checking_disabled = query.metadata.checking_disabled;
    resp.metadata.recursion_available = true;
    resp.metadata.authoritative = true;
    resp.metadata.response_code = rcode;
    resp.queries = query.queries.clone();
    resp.answers = answers;
    if let Some(client) = &query.edns {
        let mut edns = Edns::new();
        edns.set_max_payload(MAX_UDP_PAYLOAD);
        edns.set_dnssec_ok(client.flags().dnssec_ok);
        resp.set_edns(edns);
    }
    let limit = match transport {
        Transport::Udp => usize::from(query.max_payload().min(MAX_UDP_PAYLOAD)),
        Transport::Tcp => usize::from(u16::MAX),
    };
    let encoded = resp.to_vec().and_then(|bytes| {
        if bytes.len() <= limit {
            Ok(bytes)
        } else {
            resp.truncate().to_vec()
        }
    });
    match encoded {
        Ok(bytes) => Outcome::Reply(bytes),
        Err(e) => {
            tracing::warn!(error = %e, "cannot encode reply");
            raw_error(packet, Rcode::ServFail)
        }
    }
}

fn raw_error(packet: &[u8], rcode: Rcode) -> Outcome {
    wire::error_reply(packet, rcode).map_or(Outcome::Drop, Outcome::Reply)
}

#[cfg(test)]
#[path = "answer_tests.rs"]
mod tests;
