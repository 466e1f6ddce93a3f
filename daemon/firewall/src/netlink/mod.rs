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
pub(crate) use message::{Message, NftMsg};
pub(crate) use readback::{fingerprint, Fingerprint};
pub(crate) use socket::NfSocket;

use message::NFPROTO_INET;

use crate::names::TABLE;

/// `NFTA_*_TABLE` (attribute 1 of table, chain, rule, set and element messages).
const ATTR_TABLE_NAME: u16 = 1;

/// True if a table, chain, rule or set message (a dump reply or a
/// notification) is about table `inet cnm`.
pub(crate) fn is_our_table(m: &Message<'_>) -> bool {
    m.family() == Some(NFPROTO_INET) && m.attrs().get_str(ATTR_TABLE_NAME) == Some(TABLE)
}
