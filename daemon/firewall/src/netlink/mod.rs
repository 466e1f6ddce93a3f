//! The netlink side of the firewall: set/map element batches for the hot path
//! (publish, unpublish, network add/remove) and cheap read-backs of the
//! table's structure, over one long-lived NETLINK_NETFILTER socket.
//! This module is the only one that builds raw netlink messages.

mod elements;
mod message;
mod readback;
mod socket;

pub(crate) use elements::{
    bridge_pair_key, bridge_subnet, ifname_key, push_mapping, Element, ElementOp, SetElements,
};
pub(crate) use message::MessageBuilder;
pub(crate) use message::{Message, NftMsg, NFPROTO_INET};
pub(crate) use readback::{fingerprint, Fingerprint};
pub(crate) use socket::NfSocket;

/// `NFTA_*_TABLE` (attribute 1 of table, chain, rule, set and element messages).
pub(crate) const ATTR_TABLE_NAME: u16 = 1;
