//! Byte-level DNS helpers for the paths that never need a full parse:
//! swapping ids on forwarded queries, matching upstream answers, and error
//! replies built straight from the query's header and question.

/// Length of the fixed DNS header.
pub const HEADER_LEN: usize = 12;
const QR_BIT: u8 = 0x80;
const TC_BIT: u8 = 0x02;

/// Response codes sent without a full parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rcode {
    /// 1: the query could not be parsed.
    FormErr = 1,
    /// 2: no upstream gave a usable answer.
    ServFail = 2,
    /// 4: opcode not supported.
    NotImp = 4,
    /// 5: refused by policy (not a member, internal network, forward cap).
    Refused = 5,
}

/// The message id, if there is a header.
pub fn id(packet: &[u8]) -> Option<u16> {
    (packet.len() >= HEADER_LEN).then(|| u16::from_be_bytes([packet[0], packet[1]]))
}

/// Overwrites the message id.
pub fn set_id(packet: &mut [u8], id: u16) {
    if packet.len() >= 2 {
        packet[..2].copy_from_slice(&id.to_be_bytes());
    }
}

/// True if the header says response.
pub fn is_response(packet: &[u8]) -> bool {
    packet.len() >= HEADER_LEN && packet[2] & QR_BIT != 0
}

/// True if the TC (truncated) bit is set.
pub fn is_truncated(packet: &[u8]) -> bool {
    packet.len() >= HEADER_LEN && packet[2] & TC_BIT != 0
}

/// The response code (low 4 bits of the header).
pub fn rcode(packet: &[u8]) -> Option<u8> {
    (packet.len() >= HEADER_LEN).then(|| packet[3] & 0x0f)
}

/// End offset of the first question (uncompressed name + type + class), if
/// the packet has exactly one well-formed question.
pub fn question_end(packet: &[u8]) -> Option<usize> {
    if packet.len() < HEADER_LEN || packet[4..6] != [0, 1] {
        return None;
    }
    let mut pos = HEADER_LEN;
    loop {
        let len = *packet.get(pos)? as usize;
        if len == 0 {
            pos += 1;
            break;
        }
        if len > 63 {
            return None; // compression pointers never appear in a query's question
        }
        pos += 1 + len;
    }
    let end = pos + 4;
    (end <= packet.len()).then_some(end)
}

/// True if `answer` is a response to `query`: same id, QR set, same question
/// (names compared case-insensitively; resolvers may randomize case).
pub fn answers(query: &[u8], answer: &[u8]) -> bool {
    let Some(end) = question_end(query) else {
        return false;
    };
    is_response(answer)
        && id(query) == id(answer)
        && answer.len() >= end
        && answer[4..6] == query[4..6]
        && answer[HEADER_LEN..end].eq_ignore_ascii_case(&query[HEADER_LEN..end])
}

/// An error reply echoing the query's id, opcode, RD and question.
/// `None` if the packet is too short to carry a header.
pub fn error_reply(query: &[u8], rcode: Rcode) -> Option<Vec<u8>> {
    if query.len() < HEADER_LEN {
        return None;
    }
    let end = question_end(query).unwrap_or(HEADER_LEN);
    let mut reply = query[..end].to_vec();
    reply[2] = (query[2] & 0x79) | QR_BIT; // keep opcode and RD, clear AA/TC
    reply[3] = 0x80 | rcode as u8; // RA, no Z/AD/CD
    let qdcount = if end > HEADER_LEN { 1u16 } else { 0 };
    reply[4..6].copy_from_slice(&qdcount.to_be_bytes());
    reply[6..12].fill(0);
    Some(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `example.com A IN`, id 0x1234, RD.
    const QUERY: &[u8] =
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01";

    #[test]
    fn question_bounds_and_ids() {
        assert_eq!(question_end(QUERY), Some(QUERY.len()));
        assert_eq!(id(QUERY), Some(0x1234));
        let mut q = QUERY.to_vec();
        set_id(&mut q, 7);
        assert_eq!(id(&q), Some(7));
        assert_eq!(question_end(&QUERY[..20]), None);
    }

    #[test]
    fn error_reply_is_a_matching_answer() {
        let reply = error_reply(QUERY, Rcode::Refused).unwrap();
        assert!(answers(QUERY, &reply));
        assert_eq!(rcode(&reply), Some(5));
        assert!(!is_truncated(&reply));
        assert_eq!(&reply[4..12], &[0, 1, 0, 0, 0, 0, 0, 0]);
        let mut other_case = reply.clone();
        other_case[13] = b'E';
        assert!(answers(QUERY, &other_case));
        let mut other_id = reply;
        set_id(&mut other_id, 1);
        assert!(!answers(QUERY, &other_id));
        assert!(!answers(QUERY, QUERY), "a query is not an answer");
    }
}
