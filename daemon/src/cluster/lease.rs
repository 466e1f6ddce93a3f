//! This host's lease: granted at start, kept alive every third of its TTL.
//! If it expired anyway (etcd was out of reach longer than the TTL, and the
//! other hosts have withdrawn this host's peers by now), a new one is taken
//! and everything this host had announced is written again under it.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use etcd_client::{Compare, CompareOp, PutOptions, Txn, TxnOp};

use super::{keys, lock, Cluster, ClusterError};

impl Cluster {
    /// Takes a new lease and registers the host under it.
    pub(super) fn grant_lease(&self) -> Result<(), ClusterError> {
        let mut client = self.client();
        let ttl = self.config.ttl as i64;
        let granted = self.block(async move { client.lease_grant(ttl, None).await })?;
        self.lease.store(granted.id(), Ordering::SeqCst);
        let host = serde_json::json!({
            "advertise": self.config.advertise.to_string(),
            "vxlan_port": self.config.vxlan_port,
        })
        .to_string();
        let key = keys::host(&self.config.advertise.to_string());
        let mut client = self.client();
        let options = PutOptions::new().with_lease(granted.id());
        self.block(async move { client.put(key, host, Some(options)).await })?;
        Ok(())
    }

    /// After a new lease: writes this host's keys again. An address that
    /// another host took meanwhile is not overwritten (logged instead).
    fn republish(&self) -> Result<(), ClusterError> {
        let owned: Vec<(String, String)> = lock(&self.owned)
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (key, value) in owned {
            if !self.claim_again(&key, &value)? {
                tracing::error!(key = %key, "cannot announce again: another host holds it now");
            }
        }
        Ok(())
    }

    /// Binds `key` to this host's current lease, unless another host holds
    /// it: written when absent, or when it still says what this host wrote
    /// (under a lease that died with a restarted cnmd). False when taken.
    pub(super) fn claim_again(&self, key: &str, value: &str) -> Result<bool, ClusterError> {
        let lease = self.lease_id();
        let put = || TxnOp::put(key, value, Some(PutOptions::new().with_lease(lease)));
        let absent = Txn::new()
            .when([Compare::create_revision(key, CompareOp::Equal, 0)])
            .and_then([put()]);
        let ours = Txn::new()
            .when([Compare::value(key, CompareOp::Equal, value)])
            .and_then([put()]);
        for txn in [absent, ours] {
            let mut client = self.client();
            if self
                .block(async move { client.txn(txn).await })?
                .succeeded()
            {
                self.own(key, value);
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// Deletes the keys given up while etcd was out of reach, every 2 s until
/// it takes them. A key written again here meanwhile is spared (`own`
/// takes it off the list).
pub(super) async fn retry_deletes(cluster: Arc<Cluster>) {
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let doomed: Vec<String> = lock(&cluster.doomed).iter().cloned().collect();
        for key in doomed {
            if !lock(&cluster.doomed).contains(&key) {
                continue;
            }
            let mut client = cluster.client();
            let deleted =
                tokio::time::timeout(super::REQUEST_TIMEOUT, client.delete(key.clone(), None))
                    .await;
            if !matches!(deleted, Ok(Ok(_))) {
                break; // still out of reach: wait for the next round
            }
            lock(&cluster.doomed).remove(&key);
            tracing::info!(key = %key, "deleted from the cluster store after it came back");
        }
    }
}

/// Keeps the lease alive until cnmd exits; takes a new one when it is lost.
pub(super) async fn keep_alive(cluster: Arc<Cluster>) {
    let period = Duration::from_secs((cluster.config.ttl / 3).max(1));
    loop {
        let id = cluster.lease_id();
        let mut client = cluster.client();
        let alive = async {
            let (mut keeper, mut stream) = client.lease_keep_alive(id).await?;
            loop {
                keeper.keep_alive().await?;
                match stream.message().await? {
                    Some(resp) if resp.ttl() > 0 => {}
                    _ => return Ok::<(), etcd_client::Error>(()),
                }
                tokio::time::sleep(period).await;
            }
        };
        match alive.await {
            Ok(()) => tracing::warn!("cluster lease expired; taking a new one"),
            Err(err) => tracing::warn!(error = %err, "cluster lease keep-alive failed"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        // The lease may still be alive (a broken stream); only a lost one
        // needs a new grant.
        let mut client = cluster.client();
        let ttl =
            tokio::time::timeout(super::REQUEST_TIMEOUT, client.lease_time_to_live(id, None)).await;
        let lost = matches!(&ttl, Ok(Ok(resp)) if resp.ttl() <= 0);
        if lost {
            let c = cluster.clone();
            let renewed =
                tokio::task::spawn_blocking(move || c.grant_lease().and_then(|()| c.republish()))
                    .await;
            match renewed {
                Ok(Ok(())) => tracing::info!("cluster lease renewed; endpoints announced again"),
                Ok(Err(err)) => tracing::warn!(error = %err, "cannot renew the cluster lease"),
                Err(err) => tracing::warn!(error = %err, "lease renewal task failed"),
            }
        }
    }
}
