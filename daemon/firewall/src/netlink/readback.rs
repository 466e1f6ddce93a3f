//! Cheap read-back of table `inet cnm` for self-healing: the kernel handles of
//! the table, its chains, sets and rules. Handles are never reused, so any
//! delete, flush or re-creation by someone else changes the fingerprint.

use std::io;

use super::message::{Message, MessageBuilder, NftMsg, NFPROTO_INET, NLM_F_DUMP};
use super::socket::NfSocket;
use super::{is_our_table, ATTR_TABLE_NAME};
use crate::names::TABLE;

const NFTA_TABLE_HANDLE: u16 = 4;
const NFTA_CHAIN_HANDLE: u16 = 2;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_RULE_CHAIN: u16 = 2;
const NFTA_RULE_HANDLE: u16 = 3;
const NFTA_SET_NAME: u16 = 2;
const NFTA_SET_HANDLE: u16 = 16;

/// What the kernel holds for table `inet cnm`, by handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fingerprint {
    pub table: u64,
    /// (kind, chain or set name, handle), sorted.
    pub objects: Vec<(&'static str, String, u64)>,
}

/// `None` when the table does not exist.
pub(crate) fn fingerprint(socket: &mut NfSocket) -> io::Result<Option<Fingerprint>> {
    let Some(table) = table_handle(socket)? else {
        return Ok(None);
    };
    let mut objects = Vec::new();
    let kinds = [
        (
            "chain",
            NftMsg::GetChain,
            NFTA_CHAIN_NAME,
            NFTA_CHAIN_HANDLE,
        ),
        ("rule", NftMsg::GetRule, NFTA_RULE_CHAIN, NFTA_RULE_HANDLE),
        ("set", NftMsg::GetSet, NFTA_SET_NAME, NFTA_SET_HANDLE),
    ];
    for (kind, msg, name_attr, handle_attr) in kinds {
        let mut request = MessageBuilder::nft(msg, NLM_F_DUMP, NFPROTO_INET);
        request.attr_str(ATTR_TABLE_NAME, TABLE);
        let result = socket.dump(request, |m| {
            if let Some((name, handle)) = ours(m, name_attr, handle_attr) {
                objects.push((kind, name, handle));
            }
        });
        match result {
            // The table went away between the two dumps.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(None),
            other => other?,
        }
    }
    objects.sort();
    Ok(Some(Fingerprint { table, objects }))
}

fn table_handle(socket: &mut NfSocket) -> io::Result<Option<u64>> {
    let mut handle = None;
    let request = MessageBuilder::nft(NftMsg::GetTable, NLM_F_DUMP, NFPROTO_INET);
    socket.dump(request, |m| {
        if is_our_table(m) {
            handle = m.attrs().get_u64_be(NFTA_TABLE_HANDLE);
        }
    })?;
    Ok(handle)
}

/// (name, handle) of a dumped object if it belongs to table `inet cnm`
/// (the kernel filters by table, but older kernels ignore the filter).
fn ours(m: &Message<'_>, name_attr: u16, handle_attr: u16) -> Option<(String, u64)> {
    if !is_our_table(m) {
        return None;
    }
    let attrs = m.attrs();
    Some((
        attrs.get_str(name_attr)?.to_owned(),
        attrs.get_u64_be(handle_attr)?,
    ))
}
