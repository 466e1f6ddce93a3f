//! nfnetlink wire format: the builder for nf_tables request messages and the
//! parsers for replies. Nothing outside `netlink/` builds raw messages.

use std::io;

pub(crate) const NLMSG_HDRLEN: usize = 16;
pub(crate) const NFGENMSG_LEN: usize = 4;

pub(crate) const NLMSG_ERROR: u16 = 2;
pub(crate) const NLMSG_DONE: u16 = 3;

pub(crate) const NLM_F_REQUEST: u16 = 0x1;
pub(crate) const NLM_F_ACK: u16 = 0x4;
pub(crate) const NLM_F_DUMP: u16 = 0x300;
pub(crate) const NLM_F_EXCL: u16 = 0x200;
pub(crate) const NLM_F_CREATE: u16 = 0x400;

const NLA_F_NESTED: u16 = 0x8000;
const NLA_TYPE_MASK: u16 = 0x3fff;

pub(crate) const NFNL_SUBSYS_NFTABLES: u16 = 10;
pub(crate) const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
pub(crate) const NFNL_MSG_BATCH_END: u16 = 0x11;

pub(crate) const NFPROTO_UNSPEC: u8 = 0;
pub(crate) const NFPROTO_INET: u8 = 1;

/// `enum nf_tables_msg_types` (the ones cnm uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub(crate) enum NftMsg {
    NewTable = 0,
    GetTable = 1,
    DelTable = 2,
    NewChain = 3,
    GetChain = 4,
    DelChain = 5,
    NewRule = 6,
    GetRule = 7,
    DelRule = 8,
    NewSet = 9,
    GetSet = 10,
    DelSet = 11,
    NewSetElem = 12,
    GetSetElem = 13,
    DelSetElem = 14,
    NewGen = 15,
}

impl NftMsg {
    /// The nlmsg_type of this nf_tables message.
    pub(crate) fn nlmsg_type(self) -> u16 {
        (NFNL_SUBSYS_NFTABLES << 8) | self as u16
    }

    /// Decodes an nlmsg_type of the nf_tables subsystem.
    pub(crate) fn from_nlmsg_type(ty: u16) -> Option<Self> {
        if ty >> 8 != NFNL_SUBSYS_NFTABLES {
            return None;
        }
        use NftMsg::*;
        [
            NewTable, GetTable, DelTable, NewChain, GetChain, DelChain, NewRule, GetRule, DelRule,
            NewSet, GetSet, DelSet, NewSetElem, GetSetElem, DelSetElem, NewGen,
        ]
        .into_iter()
        .find(|m| *m as u16 == ty & 0xff)
    }
}

/// Builds one netlink message: header, `nfgenmsg`, attributes, nests.
#[derive(Debug)]
pub(crate) struct MessageBuilder {
    buf: Vec<u8>,
    nests: Vec<usize>,
}

impl MessageBuilder {
    /// `res_id` is the subsystem for batch delimiters, 0 otherwise.
    pub(crate) fn new(nlmsg_type: u16, flags: u16, family: u8, res_id: u16) -> Self {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // length, set by finish
        buf.extend_from_slice(&nlmsg_type.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes()); // seq, set by finish
        buf.extend_from_slice(&0u32.to_ne_bytes()); // port id: kernel fills in
        buf.push(family);
        buf.push(0); // NFNETLINK_V0
        buf.extend_from_slice(&res_id.to_be_bytes());
        MessageBuilder {
            buf,
            nests: Vec::new(),
        }
    }

    /// An nf_tables request (`NFT_MSG_*`).
    pub(crate) fn nft(msg: NftMsg, flags: u16, family: u8) -> Self {
        Self::new(msg.nlmsg_type(), NLM_F_REQUEST | flags, family, 0)
    }

    pub(crate) fn attr(&mut self, ty: u16, data: &[u8]) -> &mut Self {
        let len = 4 + data.len();
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
        self
    }

    /// A NUL-terminated string attribute.
    pub(crate) fn attr_str(&mut self, ty: u16, s: &str) -> &mut Self {
        let mut data = Vec::with_capacity(s.len() + 1);
        data.extend_from_slice(s.as_bytes());
        data.push(0);
        self.attr(ty, &data)
    }

    pub(crate) fn nest_start(&mut self, ty: u16) -> &mut Self {
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf
            .extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
        self
    }

    /// Closes the innermost nest; a nest longer than 65535 bytes cannot be
    /// encoded, so callers keep element lists below that.
    pub(crate) fn nest_end(&mut self) -> io::Result<&mut Self> {
        let start = self
            .nests
            .pop()
            .ok_or_else(|| invalid("nest_end without nest_start"))?;
        let len = u16::try_from(self.buf.len() - start)
            .map_err(|_| invalid("netlink attribute nest longer than 65535 bytes"))?;
        self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        Ok(self)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    /// The finished message with its length and sequence number.
    pub(crate) fn finish(mut self, seq: u32) -> Vec<u8> {
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf[8..12].copy_from_slice(&seq.to_ne_bytes());
        self.buf
    }

    fn pad(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }
}

/// One received netlink message.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Message<'a> {
    pub ty: u16,
    pub seq: u32,
    pub payload: &'a [u8],
}

impl<'a> Message<'a> {
    /// For NLMSG_ERROR: the errno (0 = ACK) and the sequence of the request.
    pub(crate) fn error(&self) -> Option<(i32, u32)> {
        if self.ty != NLMSG_ERROR || self.payload.len() < 4 + NLMSG_HDRLEN {
            return None;
        }
        let code = i32::from_ne_bytes(self.payload[0..4].try_into().ok()?);
        let seq = u32::from_ne_bytes(self.payload[12..16].try_into().ok()?);
        Some((code, seq))
    }

    /// For nf_tables messages: the family from `nfgenmsg`.
    pub(crate) fn family(&self) -> Option<u8> {
        self.payload.first().copied()
    }

    /// For nf_tables messages: the attributes after `nfgenmsg`.
    pub(crate) fn attrs(&self) -> Attrs<'a> {
        Attrs(self.payload.get(NFGENMSG_LEN..).unwrap_or_default())
    }
}

/// Splits a datagram into netlink messages.
pub(crate) fn messages(mut buf: &[u8]) -> io::Result<Vec<Message<'_>>> {
    let mut out = Vec::new();
    while buf.len() >= NLMSG_HDRLEN {
        let len =
            u32::from_ne_bytes(buf[0..4].try_into().map_err(|_| invalid("short header"))?) as usize;
        if len < NLMSG_HDRLEN || len > buf.len() {
            return Err(invalid("netlink message length out of bounds"));
        }
        out.push(Message {
            ty: u16::from_ne_bytes([buf[4], buf[5]]),
            seq: u32::from_ne_bytes(buf[8..12].try_into().map_err(|_| invalid("short header"))?),
            payload: &buf[NLMSG_HDRLEN..len],
        });
        buf = &buf[align(len).min(buf.len())..];
    }
    Ok(out)
}

/// Iterator over `(type, value)` of a run of attributes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attrs<'a>(&'a [u8]);

impl<'a> Attrs<'a> {
    /// The value of the first attribute of this type.
    pub(crate) fn get(self, ty: u16) -> Option<&'a [u8]> {
        self.into_iter().find(|(t, _)| *t == ty).map(|(_, v)| v)
    }

    /// A NUL-terminated string attribute.
    pub(crate) fn get_str(self, ty: u16) -> Option<&'a str> {
        let v = self.get(ty)?;
        let v = v.split(|b| *b == 0).next().unwrap_or(v);
        std::str::from_utf8(v).ok()
    }

    /// A big-endian u64 attribute (handles).
    pub(crate) fn get_u64_be(self, ty: u16) -> Option<u64> {
        Some(u64::from_be_bytes(self.get(ty)?.try_into().ok()?))
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.0.len() < 4 {
            return None;
        }
        let len = u16::from_ne_bytes([self.0[0], self.0[1]]) as usize;
        let ty = u16::from_ne_bytes([self.0[2], self.0[3]]) & NLA_TYPE_MASK;
        if len < 4 || len > self.0.len() {
            self.0 = &[];
            return None;
        }
        let value = &self.0[4..len];
        self.0 = &self.0[align(len).min(self.0.len())..];
        Some((ty, value))
    }
}

fn align(len: usize) -> usize {
    (len + 3) & !3
}

fn invalid(msg: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}
