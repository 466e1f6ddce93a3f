//! Typed builders for NFT_MSG_NEWSETELEM / NFT_MSG_DELSETELEM and the byte
//! encoding of cnm's keys: each field of a concatenated key is padded to
//! 4 bytes; addresses and ports are in network byte order.

use std::io;
use std::net::IpAddr;

use ipnetwork::IpNetwork;

use super::message::{MessageBuilder, NftMsg, NFPROTO_INET, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL};
use crate::model::{HostKey, ValidMapping};
use crate::names::{IFNAMSIZ, TABLE};

const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_SET_ELEM_DATA: u16 = 2;
const NFTA_SET_ELEM_KEY_END: u16 = 10;
const NFTA_DATA_VALUE: u16 = 1;

/// Element lists are a nest with a 16-bit length: split well below 64 KiB.
const MAX_ELEMENTS_BYTES: usize = 48 << 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ElementOp {
    /// Create; an element that already exists fails the whole transaction
    /// (NLM_F_EXCL: without it the kernel silently accepts duplicates).
    Add,
    Delete,
}

/// Elements of one set or map of table `inet cnm`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SetElements {
    pub set: &'static str,
    pub elements: Vec<Element>,
}

/// One element: a key, the inclusive end of an interval (interval sets),
/// data (maps).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Element {
    pub key: Vec<u8>,
    pub key_end: Option<Vec<u8>>,
    pub data: Option<Vec<u8>>,
}

impl Element {
    pub(crate) fn key(key: Vec<u8>) -> Self {
        Element {
            key,
            ..Element::default()
        }
    }

    fn encoded_len(&self) -> usize {
        let opt = |v: &Option<Vec<u8>>| v.as_ref().map_or(0, |d| d.len() + 8);
        16 + self.key.len() + opt(&self.key_end) + opt(&self.data)
    }
}

impl SetElements {
    pub(crate) fn new(set: &'static str) -> Self {
        SetElements {
            set,
            elements: Vec::new(),
        }
    }

    /// Requests for these elements, split so that every list fits its nest.
    pub(crate) fn requests(&self, op: ElementOp) -> io::Result<Vec<MessageBuilder>> {
        let mut out = Vec::new();
        let mut chunk_start = 0;
        let mut size = 0;
        for (i, element) in self.elements.iter().enumerate() {
            let elem_size = element.encoded_len();
            if size + elem_size > MAX_ELEMENTS_BYTES && i > chunk_start {
                out.push(self.request(op, &self.elements[chunk_start..i])?);
                chunk_start = i;
                size = 0;
            }
            size += elem_size;
        }
        if chunk_start < self.elements.len() {
            out.push(self.request(op, &self.elements[chunk_start..])?);
        }
        Ok(out)
    }

    fn request(&self, op: ElementOp, elements: &[Element]) -> io::Result<MessageBuilder> {
        let (msg, flags) = match op {
            ElementOp::Add => (NftMsg::NewSetElem, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK),
            ElementOp::Delete => (NftMsg::DelSetElem, NLM_F_ACK),
        };
        let mut b = MessageBuilder::nft(msg, flags, NFPROTO_INET);
        b.attr_str(NFTA_SET_ELEM_LIST_TABLE, TABLE)
            .attr_str(NFTA_SET_ELEM_LIST_SET, self.set)
            .nest_start(NFTA_SET_ELEM_LIST_ELEMENTS);
        for element in elements {
            b.nest_start(NFTA_LIST_ELEM).nest_start(NFTA_SET_ELEM_KEY);
            b.attr(NFTA_DATA_VALUE, &element.key).nest_end()?;
            if let Some(end) = &element.key_end {
                b.nest_start(NFTA_SET_ELEM_KEY_END);
                b.attr(NFTA_DATA_VALUE, end).nest_end()?;
            }
            if let (Some(data), ElementOp::Add) = (&element.data, op) {
                b.nest_start(NFTA_SET_ELEM_DATA);
                b.attr(NFTA_DATA_VALUE, data).nest_end()?;
            }
            b.nest_end()?;
        }
        b.nest_end()?;
        Ok(b)
    }
}

/// An `ifname` key: the name zero-padded to IFNAMSIZ.
pub(crate) fn ifname_key(name: &str) -> Vec<u8> {
    let mut key = vec![0u8; IFNAMSIZ];
    key[..name.len()].copy_from_slice(name.as_bytes());
    key
}

/// `ifname . ifname` for the bridge_pairs set.
pub(crate) fn bridge_pair_key(name: &str) -> Vec<u8> {
    let mut key = ifname_key(name);
    key.extend(ifname_key(name));
    key
}

/// `ifname . addr` from the first to the last address of `subnet`.
pub(crate) fn bridge_subnet(bridge: &str, subnet: &IpNetwork) -> Element {
    let with = |ip| {
        let mut key = ifname_key(bridge);
        key.extend(addr_bytes(ip));
        key
    };
    Element {
        key: with(subnet.network()),
        key_end: Some(with(subnet.broadcast())),
        data: None,
    }
}

/// `[addr .] inet_proto . inet_service`, each field padded to 4 bytes.
pub(crate) fn host_key(key: &HostKey) -> Vec<u8> {
    let mut out = Vec::with_capacity(24);
    if let Some(ip) = key.host_ip {
        out.extend(addr_bytes(ip));
    }
    out.extend([key.protocol.number(), 0, 0, 0]);
    out.extend(key.port.to_be_bytes());
    out.extend([0, 0]);
    out
}

pub(crate) fn addr_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(ip) => ip.octets().to_vec(),
        IpAddr::V6(ip) => ip.octets().to_vec(),
    }
}

/// Adds a mapping's two elements (address map, port map) to `sets`.
pub(crate) fn push_mapping(sets: &mut Vec<SetElements>, m: &ValidMapping) {
    let (addr_map, port_map) = m.maps();
    let key = host_key(&m.key);
    let port = m.container_port.to_be_bytes().to_vec();
    for (map, data) in [(addr_map, addr_bytes(m.container_ip)), (port_map, port)] {
        let index = match sets.iter().position(|s| s.set == map) {
            Some(i) => i,
            None => {
                sets.push(SetElements::new(map));
                sets.len() - 1
            }
        };
        sets[index].elements.push(Element {
            key: key.clone(),
            key_end: None,
            data: Some(data),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{PortMapping, Protocol};

    #[test]
    fn concatenated_key_fields_are_padded_to_four_bytes() {
        let m = PortMapping {
            protocol: Protocol::Tcp,
            host_ip: Some("10.0.0.1".parse().expect("ip")),
            host_port: 8080,
            container_ip: "172.18.0.2".parse().expect("ip"),
            container_port: 80,
        };
        let v = m.validate().expect("valid");
        // Same bytes as `nft --debug=netlink`: 0100000a 00000006 0000901f
        assert_eq!(
            host_key(&v.key),
            [10, 0, 0, 1, 6, 0, 0, 0, 0x1f, 0x90, 0, 0]
        );
    }

    #[test]
    fn subnet_element_spans_the_subnet() {
        let e = bridge_subnet("cnm9", &"10.99.0.7/24".parse().expect("cidr"));
        // As `nft --debug=netlink`: 396d6e63 0…0 0000630a - 396d6e63 0…0 ff00630a
        assert_eq!(&e.key[..4], b"cnm9");
        assert_eq!(&e.key[16..], [10, 99, 0, 0]);
        assert_eq!(&e.key_end.expect("interval")[16..], [10, 99, 0, 255]);
    }

    #[test]
    fn add_request_is_golden() {
        let mut set = SetElements::new("bridges");
        set.elements.push(Element::key(ifname_key("cnm0")));
        let msg = set
            .requests(ElementOp::Add)
            .expect("build")
            .remove(0)
            .finish(7);
        let expected: Vec<u8> = [
            &[72, 0, 0, 0][..],        // nlmsg_len
            &[12, 10],                 // NFT_MSG_NEWSETELEM | NFNL_SUBSYS_NFTABLES << 8
            &[0x05, 0x06],             // REQUEST|ACK, CREATE|EXCL
            &[7, 0, 0, 0, 0, 0, 0, 0], // seq, port id
            &[1, 0, 0, 0],             // nfgenmsg: inet, v0, res_id 0
            &[8, 0, 1, 0, b'c', b'n', b'm', 0],
            &[12, 0, 2, 0, b'b', b'r', b'i', b'd', b'g', b'e', b's', 0],
            &[32, 0, 3, 0x80, 28, 0, 1, 0x80, 24, 0, 1, 0x80, 20, 0, 1, 0],
            b"cnm0",
            &[0; 12],
        ]
        .concat();
        assert_eq!(msg, expected);
    }

    #[test]
    fn large_lists_are_split_below_the_nest_limit() {
        let mut set = SetElements::new("pub_any_v4_addr");
        for port in 0..5000u16 {
            set.elements.push(Element {
                key: port.to_be_bytes().repeat(4),
                key_end: None,
                data: Some(vec![10, 0, 0, 2]),
            });
        }
        let requests = set.requests(ElementOp::Add).expect("build");
        assert!(requests.len() > 1);
        assert!(requests.iter().all(|r| r.len() < 64 << 10));
    }
}
