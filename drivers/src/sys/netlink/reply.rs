//! Parsing of the kernel's answer to one request: a stream of netlink
//! messages, possibly over several datagrams, ending in an ack
//! (NLMSG_ERROR with code 0), an error (NLMSG_ERROR with -errno) or, for
//! dumps, NLMSG_DONE. Messages for other sequence numbers (left over from an
//! earlier request that stopped at an error) are skipped.

use std::io;

use netlink_packet_core::{
    NetlinkBuffer, NetlinkMessage, NetlinkPayload, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP,
    NLMSG_OVERRUN, NLM_F_ACK_TLVS, NLM_F_CAPPED,
};
use netlink_packet_route::RouteNetlinkMessage;

use super::dump_interrupted;

/// Netlink header length; messages are 4-byte aligned.
const HEADER_LEN: usize = 16;
/// `NLMSGERR_ATTR_MSG`: the kernel's human-readable extended ack.
const NLMSGERR_ATTR_MSG: u16 = 1;

/// A complete answer.
#[derive(Debug, Default)]
pub(super) struct Reply {
    pub messages: Vec<RouteNetlinkMessage>,
    /// The kernel flagged the dump as inconsistent (NLM_F_DUMP_INTR).
    pub interrupted: bool,
}

/// Accumulates the answer to the request with sequence number `seq`.
pub(super) struct ReplyParser {
    seq: u32,
    reply: Reply,
}

impl ReplyParser {
    pub fn new(seq: u32) -> Self {
        ReplyParser {
            seq,
            reply: Reply::default(),
        }
    }

    /// Consumes one datagram. Returns the reply once it is complete, an error
    /// if the kernel refused the request, and `None` while more is to come.
    pub fn feed(&mut self, datagram: &[u8]) -> io::Result<Option<Reply>> {
        let mut offset = 0;
        while offset + HEADER_LEN <= datagram.len() {
            let buf = NetlinkBuffer::new_checked(&datagram[offset..]).map_err(invalid)?;
            let len = buf.length() as usize;
            let (kind, flags, seq) = (buf.message_type(), buf.flags(), buf.sequence_number());
            let message = &datagram[offset..offset + len];
            offset += align(len);
            if seq != self.seq {
                tracing::trace!(seq, expected = self.seq, "skipping stale netlink message");
                continue;
            }
            if dump_interrupted(flags) {
                self.reply.interrupted = true;
            }
            let payload = &message[HEADER_LEN..];
            match kind {
                NLMSG_NOOP => {}
                NLMSG_ERROR | NLMSG_DONE => {
                    let code = read_code(payload);
                    if code < 0 {
                        log_extended_ack(kind, flags, payload);
                        return Err(io::Error::from_raw_os_error(-code));
                    }
                    return Ok(Some(std::mem::take(&mut self.reply)));
                }
                NLMSG_OVERRUN => return Err(io::Error::other("netlink overrun")),
                _ => self.push(message),
            }
        }
        Ok(None)
    }

    fn push(&mut self, message: &[u8]) {
        match NetlinkMessage::<RouteNetlinkMessage>::deserialize(message) {
            Ok(NetlinkMessage {
                payload: NetlinkPayload::InnerMessage(inner),
                ..
            }) => self.reply.messages.push(inner),
            Ok(_) => {}
            // One attribute this crate version cannot parse must not hide
            // every other interface or route of a dump: skip that message.
            Err(e) => tracing::warn!(error = %e, "skipping unparsable netlink message"),
        }
    }
}

fn align(len: usize) -> usize {
    (len + 3) & !3
}

fn invalid(e: netlink_packet_core::DecodeError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

/// The i32 error code at the start of an NLMSG_ERROR or NLMSG_DONE payload
/// (a DONE may be empty, meaning 0).
fn read_code(payload: &[u8]) -> i32 {
    payload
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map_or(0, i32::from_ne_bytes)
}

/// Logs the kernel's explanation of an error ("Master is either lo or does
/// not exist", …) when it sent one; errno alone is often vague (EINVAL).
fn log_extended_ack(kind: u16, flags: u16, payload: &[u8]) {
    if let Some(text) = extended_ack(kind, flags, payload) {
        tracing::debug!(kernel = %text, "netlink request refused");
    }
}

/// The NLMSGERR_ATTR_MSG text of an error or done payload, if present.
pub(super) fn extended_ack(kind: u16, flags: u16, payload: &[u8]) -> Option<String> {
    if flags & NLM_F_ACK_TLVS == 0 {
        return None;
    }
    // NLMSG_ERROR: code, then the failed request (only its header when
    // capped), then the TLVs. NLMSG_DONE: code, then the TLVs.
    let mut tlvs = payload.get(4..)?;
    if kind == NLMSG_ERROR {
        let echoed = if flags & NLM_F_CAPPED != 0 {
            HEADER_LEN
        } else {
            let len = tlvs.get(..4)?.try_into().ok().map(u32::from_ne_bytes)?;
            align(len as usize)
        };
        tlvs = tlvs.get(echoed..)?;
    }
    while tlvs.len() >= 4 {
        let len = u16::from_ne_bytes([tlvs[0], tlvs[1]]) as usize;
        let kind = u16::from_ne_bytes([tlvs[2], tlvs[3]]) & 0x3fff;
        let value = tlvs.get(4..len)?;
        if kind == NLMSGERR_ATTR_MSG {
            let text = value.split(|&b| b == 0).next().unwrap_or_default();
            return Some(String::from_utf8_lossy(text).into_owned());
        }
        tlvs = tlvs.get(align(len.max(4))..).unwrap_or_default();
    }
    None
}

#[cfg(test)]
mod tests;
