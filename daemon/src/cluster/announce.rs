//! After a restart, the overlay endpoints this host kept, and their
//! addresses, were bound to the lease of the process that died. They are
//! written again under the new lease before the old one runs out, or the
//! other hosts would withdraw them and could hand their addresses out again.
//!
//! In batches, so a host with many endpoints starts in a few round trips
//! instead of two per endpoint: one transaction reads a batch's address
//! keys, one writes the batch, comparing each address key with what was
//! read (absent, or still this host's). If anything changed in between,
//! that batch falls back to one key at a time.

use std::time::Duration;

use etcd_client::{Compare, CompareOp, PutOptions, Txn, TxnOp, TxnOpResponse};

use super::{keys, Cluster, ClusterError};
use crate::core::Core;

/// Keys per transaction; etcd allows 128 operations in one by default.
const BATCH: usize = 64;

/// One key to write again.
struct Entry {
    key: String,
    value: String,
    /// For an address key, the endpoint it belongs to (for messages); an
    /// endpoint's own key is this host's alone and is written as it is.
    address_of: Option<String>,
}

/// What an address key holds now.
enum Holder {
    Nobody,
    ThisHost,
    Other,
}

impl Cluster {
    /// Writes this host's endpoints and addresses again; false when etcd
    /// could not be reached (try again later). All are remembered first,
    /// so a lease renewal would write them too.
    pub(super) fn announce_again(&self, core: &Core) -> bool {
        let entries = self.entries(core);
        for e in &entries {
            self.own(&e.key, &e.value);
        }
        for batch in entries.chunks(BATCH) {
            if let Err(err) = self.announce_batch(batch) {
                tracing::warn!(error = %err, "cannot announce this host's overlay endpoints again yet; retrying");
                return false;
            }
        }
        if !entries.is_empty() {
            tracing::info!(
                keys = entries.len(),
                "this host's overlay endpoints announced again"
            );
        }
        true
    }

    fn entries(&self, core: &Core) -> Vec<Entry> {
        let mut entries = Vec::new();
        for (network_id, ep) in core.global_endpoints() {
            for addr in &ep.addresses {
                entries.push(Entry {
                    key: keys::address(&network_id, addr.ip()),
                    value: self.address_holder(),
                    address_of: Some(ep.id.clone()),
                });
            }
            match self.endpoint_entry(&network_id, &ep) {
                Ok((key, value)) => entries.push(Entry {
                    key,
                    value,
                    address_of: None,
                }),
                Err(err) => {
                    tracing::error!(endpoint = %ep.id, error = %err, "cannot announce the endpoint again")
                }
            }
        }
        entries
    }

    fn announce_batch(&self, batch: &[Entry]) -> Result<(), ClusterError> {
        let holders = self.address_holders(batch)?;
        let lease = self.lease_id();
        let mut compares = Vec::new();
        let mut puts = Vec::new();
        for (e, holder) in batch.iter().zip(&holders) {
            match holder {
                Holder::Other => {
                    tracing::error!(key = %e.key, endpoint = e.address_of.as_deref().unwrap_or_default(),
                        "another host took this address while cnmd was down; disconnect the endpoint and connect it again");
                    continue;
                }
                Holder::Nobody if e.address_of.is_some() => {
                    compares.push(Compare::create_revision(e.key.clone(), CompareOp::Equal, 0))
                }
                Holder::ThisHost => compares.push(Compare::value(
                    e.key.clone(),
                    CompareOp::Equal,
                    e.value.clone(),
                )),
                Holder::Nobody => {}
            }
            puts.push(TxnOp::put(
                e.key.clone(),
                e.value.clone(),
                Some(PutOptions::new().with_lease(lease)),
            ));
        }
        let txn = Txn::new().when(compares).and_then(puts);
        let mut client = self.client();
        if self
            .block(async move { client.txn(txn).await })?
            .succeeded()
        {
            return Ok(());
        }
        // Someone wrote in between: decide key by key.
        for e in batch {
            let claimed = match &e.address_of {
                Some(_) => self.claim_again(&e.key, &e.value)?,
                None => self.put_leased(&e.key, &e.value).map(|()| true)?,
            };
            if !claimed {
                tracing::error!(key = %e.key, endpoint = e.address_of.as_deref().unwrap_or_default(),
                    "another host took this address while cnmd was down; disconnect the endpoint and connect it again");
            }
        }
        Ok(())
    }

    /// Who holds each address key of `batch` now (one read for all);
    /// endpoint keys count as nobody's.
    fn address_holders(&self, batch: &[Entry]) -> Result<Vec<Holder>, ClusterError> {
        let reads: Vec<TxnOp> = batch
            .iter()
            .map(|e| TxnOp::get(e.key.clone(), None))
            .collect();
        let mut client = self.client();
        let resp = self.block(async move { client.txn(Txn::new().and_then(reads)).await })?;
        Ok(batch
            .iter()
            .zip(resp.op_responses())
            .map(|(e, op)| {
                let found = match op {
                    TxnOpResponse::Get(get) => get.kvs().first().map(|kv| kv.value().to_vec()),
                    _ => None,
                };
                match found {
                    None => Holder::Nobody,
                    Some(_) if e.address_of.is_none() => Holder::Nobody,
                    Some(v) if v == e.value.as_bytes() => Holder::ThisHost,
                    Some(_) => Holder::Other,
                }
            })
            .collect())
    }
}

/// Retries `announce_again` every 2 s until etcd takes it (start-up found
/// etcd gone in the moment after it connected).
pub(super) async fn announce_until_done(cluster: std::sync::Arc<Cluster>) {
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let c = cluster.clone();
        let done = tokio::task::spawn_blocking(move || {
            c.core().is_none_or(|core| c.announce_again(&core))
        })
        .await;
        if !matches!(done, Ok(false)) {
            return;
        }
    }
}
