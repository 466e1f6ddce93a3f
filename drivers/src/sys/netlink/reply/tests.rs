//! Golden byte sequences for the reply parser, as the kernel sends them.

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_DUMP_INTR, NLM_F_MULTIPART,
};
use netlink_packet_route::link::{LinkAttribute, LinkMessage};

use super::*;

const RTM_NEWLINK: u16 = 16;

fn nlmsg(kind: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    let len = (HEADER_LEN + payload.len()) as u32;
    let mut out = Vec::new();
    out.extend_from_slice(&len.to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(&flags.to_ne_bytes());
    out.extend_from_slice(&seq.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
    out.extend_from_slice(payload);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
    out
}

/// NLMSG_ERROR payload: code, the echoed (capped) request header, TLVs.
fn error_payload(code: i32, tlvs: &[u8]) -> Vec<u8> {
    let mut payload = code.to_ne_bytes().to_vec();
    payload.extend_from_slice(&nlmsg(RTM_NEWLINK, 0x405, 9, &[]));
    payload.extend_from_slice(tlvs);
    payload
}

fn msg_tlv(text: &str) -> Vec<u8> {
    let mut value = text.as_bytes().to_vec();
    value.push(0);
    let mut tlv = ((4 + value.len()) as u16).to_ne_bytes().to_vec();
    tlv.extend_from_slice(&NLMSGERR_ATTR_MSG.to_ne_bytes());
    tlv.extend_from_slice(&value);
    while !tlv.len().is_multiple_of(4) {
        tlv.push(0);
    }
    tlv
}

fn newlink(seq: u32, flags: u16, name: &str) -> Vec<u8> {
    let mut link = LinkMessage::default();
    link.header.index = 7;
    link.attributes.push(LinkAttribute::IfName(name.into()));
    let mut header = NetlinkHeader::default();
    header.sequence_number = seq;
    header.flags = flags;
    let mut msg = NetlinkMessage::new(
        header,
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(link)),
    );
    msg.finalize();
    let mut buf = vec![0; msg.buffer_len()];
    msg.serialize(&mut buf);
    buf
}

#[test]
fn ack_completes_a_request() {
    let ack = nlmsg(NLMSG_ERROR, NLM_F_CAPPED, 9, &error_payload(0, &[]));
    let reply = ReplyParser::new(9).feed(&ack).ok().flatten();
    assert!(reply.is_some_and(|r| r.messages.is_empty() && !r.interrupted));
}

#[test]
fn error_becomes_errno_and_extended_ack_is_read() {
    let payload = error_payload(-libc::EEXIST, &msg_tlv("File exists"));
    let flags = NLM_F_CAPPED | NLM_F_ACK_TLVS;
    let err = nlmsg(NLMSG_ERROR, flags, 9, &payload);
    let result = ReplyParser::new(9).feed(&err);
    assert_eq!(
        result.err().and_then(|e| e.raw_os_error()),
        Some(libc::EEXIST)
    );
    let text = extended_ack(NLMSG_ERROR, flags, &payload);
    assert_eq!(text.as_deref(), Some("File exists"));
}

#[test]
fn dump_spans_datagrams_until_done() {
    let mut parser = ReplyParser::new(3);
    let mut first = newlink(3, NLM_F_MULTIPART, "lo");
    first.extend(newlink(3, NLM_F_MULTIPART, "eth0"));
    assert!(parser.feed(&first).ok().flatten().is_none());
    let done = nlmsg(NLMSG_DONE, NLM_F_MULTIPART, 3, &0i32.to_ne_bytes());
    let reply = parser.feed(&done).ok().flatten();
    assert_eq!(reply.map(|r| r.messages.len()), Some(2));
}

#[test]
fn stale_sequence_numbers_are_skipped() {
    let mut datagram = newlink(2, 0, "old");
    datagram.extend(nlmsg(
        NLMSG_ERROR,
        NLM_F_CAPPED,
        2,
        &error_payload(-libc::EPERM, &[]),
    ));
    datagram.extend(nlmsg(NLMSG_ERROR, NLM_F_CAPPED, 3, &error_payload(0, &[])));
    let reply = ReplyParser::new(3).feed(&datagram).ok().flatten();
    assert!(reply.is_some_and(|r| r.messages.is_empty()));
}

#[test]
fn interrupted_dump_is_flagged_and_done_errors_surface() {
    let mut parser = ReplyParser::new(4);
    let first = newlink(4, NLM_F_MULTIPART | NLM_F_DUMP_INTR, "lo");
    assert!(parser.feed(&first).ok().flatten().is_none());
    let done = nlmsg(NLMSG_DONE, NLM_F_MULTIPART, 4, &0i32.to_ne_bytes());
    assert!(parser
        .feed(&done)
        .ok()
        .flatten()
        .is_some_and(|r| r.interrupted));

    let failed = nlmsg(NLMSG_DONE, 0, 5, &(-libc::EINTR).to_ne_bytes());
    let result = ReplyParser::new(5).feed(&failed);
    assert_eq!(
        result.err().and_then(|e| e.raw_os_error()),
        Some(libc::EINTR)
    );
}
