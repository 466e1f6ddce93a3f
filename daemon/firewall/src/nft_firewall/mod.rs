//! `NftFirewall`, the real firewall: whole-table work through `nft -j`
//! (init, restore), everything per network or per port as netlink element
//! batches on one long-lived socket. One file per group of operations.

mod network;
mod publish;
mod rebuild;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::error::FirewallError;
use crate::model::{HostKey, NetworkRules, PortMapping, ValidMapping};
use crate::netlink::{ElementOp, Fingerprint, NfSocket, SetElements};
use crate::{blockers, Firewall, ForwardBlocker};

/// Programs table `inet cnm` in the network namespace of the thread that
/// called [`NftFirewall::new`]; call it from threads in that namespace (the
/// daemon's own), because `nft` children and `/proc/sys/net` follow the
/// calling thread. Every call is serialised; each change is one transaction.
#[derive(Debug)]
pub struct NftFirewall {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    socket: NfSocket,
    networks: BTreeMap<String, NetworkRules>,
    published: HashMap<HostKey, ValidMapping>,
    /// Handles of what we last wrote; `None` before the first init/restore.
    written: Option<Fingerprint>,
}

impl NftFirewall {
    /// Opens the netlink socket; does not touch the ruleset (call `init` or `restore`).
    pub fn new() -> Result<Self, FirewallError> {
        let socket = NfSocket::open().map_err(FirewallError::OpenSocket)?;
        Ok(NftFirewall {
            inner: Mutex::new(Inner {
                socket,
                networks: BTreeMap::new(),
                published: HashMap::new(),
                written: None,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic mid-change leaves the kernel as the truth; restore() repairs.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Firewall for NftFirewall {
    fn init(&self) -> Result<(), FirewallError> {
        self.lock().rebuild(&[], &[])
    }

    fn add_network(&self, net: &NetworkRules) -> Result<(), FirewallError> {
        self.lock().add_network(net)
    }

    fn remove_network(&self, id: &str) -> Result<(), FirewallError> {
        self.lock().remove_network(id)
    }

    fn publish(&self, mappings: &[PortMapping]) -> Result<(), FirewallError> {
        self.lock().publish(mappings)
    }

    fn unpublish(&self, mappings: &[PortMapping]) -> Result<(), FirewallError> {
        self.lock().unpublish(mappings)
    }

    fn restore(
        &self,
        networks: &[NetworkRules],
        mappings: &[PortMapping],
    ) -> Result<(), FirewallError> {
        self.lock().rebuild(networks, mappings)
    }

    fn is_intact(&self) -> Result<bool, FirewallError> {
        self.lock().is_intact()
    }

    fn forward_blockers(&self) -> Result<Vec<ForwardBlocker>, FirewallError> {
        blockers::forward_blockers()
    }
}

/// Deletes elements in one transaction. Teardown must be idempotent: if some
/// element is already gone (ENOENT aborts the whole batch), delete the rest
/// one by one and ignore the missing ones.
fn delete_elements(socket: &mut NfSocket, sets: &[SetElements]) -> std::io::Result<()> {
    let requests = requests(sets, ElementOp::Delete)?;
    match socket.transact(requests) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
        other => return other,
    }
    for set in sets {
        for element in &set.elements {
            let single = SetElements {
                set: set.set,
                elements: vec![element.clone()],
            };
            match socket.transact(single.requests(ElementOp::Delete)?) {
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
                other => other?,
            }
        }
    }
    Ok(())
}

fn requests(
    sets: &[SetElements],
    op: ElementOp,
) -> std::io::Result<Vec<crate::netlink::MessageBuilder>> {
    let mut out = Vec::new();
    for set in sets {
        out.extend(set.requests(op)?);
    }
    Ok(out)
}
