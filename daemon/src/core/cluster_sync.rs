//! Global (multi-host) networks: the core's side of the cluster store.
//! A global network made here is published before it is recorded; one
//! made on another host arrives through the cluster's watch and is
//! adopted (recorded, its kernel objects made) as if created here; one
//! removed anywhere is forgotten everywhere.

use std::sync::Arc;

use cnm_drivers::ipam::{IpamDriver, PoolsRestore};
use cnm_drivers::{Driver, EndpointSpec};

use super::connect::endpoint_spec;
use super::network_create::network_spec;
use super::state::{Entry, Phase};
use super::{Core, CoreError};
use crate::cluster::{Cluster, ClusterError, CLUSTER_IPAM};
use crate::model::{NetworkRecord, Record};

const GLOBAL: &str = "global";

impl From<ClusterError> for CoreError {
    fn from(err: ClusterError) -> Self {
        match err {
            ClusterError::Unavailable { .. } => CoreError::FailedPrecondition(err.to_string()),
            ClusterError::Refused(msg) => CoreError::FailedPrecondition(msg),
        }
    }
}

impl Core {
    /// Joins the core to a cluster store (once, right after start).
    pub fn attach_cluster(&self, cluster: Arc<Cluster>) {
        let _ = self.cluster.set(cluster);
    }

    fn require_cluster(&self) -> Result<&Arc<Cluster>, CoreError> {
        self.cluster.get().ok_or_else(|| {
            CoreError::FailedPrecondition(
                "global networks need a cluster store: start cnmd with --cluster-store \
                 etcd://HOST:PORT --cluster-advertise IP"
                    .into(),
            )
        })
    }

    /// The IPAM driver of a new network: the cluster's for global drivers.
    pub(super) fn ipam_for(
        &self,
        driver: &dyn Driver,
        requested: &str,
    ) -> Result<Arc<dyn IpamDriver>, CoreError> {
        if driver.capabilities().scope != GLOBAL {
            return self.drivers.ipam(requested);
        }
        self.require_cluster()?;
        if !(requested.is_empty() || requested == crate::ipam::DEFAULT_IPAM) {
            return Err(CoreError::InvalidArgument(format!(
                "global networks take addresses from the cluster store; drop --ipam-driver {requested}"
            )));
        }
        self.drivers.ipam(CLUSTER_IPAM)
    }

    /// Gives a new global network its VXLAN id and tells the other hosts.
    pub(super) fn publish_global_network(
        &self,
        record: &mut NetworkRecord,
    ) -> Result<(), CoreError> {
        if record.scope != GLOBAL {
            return Ok(());
        }
        Ok(self.require_cluster()?.publish_network(record)?)
    }

    /// A global network is removed only when no host has endpoints on it.
    pub(super) fn check_global_removal(&self, record: &NetworkRecord) -> Result<(), CoreError> {
        if record.scope != GLOBAL {
            return Ok(());
        }
        if self.require_cluster()?.has_endpoints(&record.id)? {
            return Err(CoreError::FailedPrecondition(format!(
                "error while removing network: network {} id {} has active endpoints on other hosts",
                record.name, record.id
            )));
        }
        Ok(())
    }

    /// A global network seen in the cluster store: recorded and made here
    /// unless known already.
    pub fn adopt_global_network(&self, record: NetworkRecord) -> Result<(), CoreError> {
        if let Ok(ipam) = self.drivers.ipam(CLUSTER_IPAM) {
            let restore = PoolsRestore {
                network_id: record.id.clone(),
                network_name: record.name.to_string(),
                pools: record
                    .subnets
                    .iter()
                    .cloned()
                    .map(crate::ipam::pool)
                    .collect(),
                addresses: Vec::new(),
                options: record.ipam_options.clone(),
            };
            ipam.restore_pools(&restore)?;
        }
        {
            let mut st = self.state();
            if st.networks.contains_key(&record.id) {
                return Ok(());
            }
            if let Some(other) = st.network_by_name(record.name.as_str()) {
                return Err(CoreError::AlreadyExists(format!(
                    "global network {} clashes with local network {} ({}); rename one",
                    record.name, other.name, other.id
                )));
            }
            st.networks.insert(
                record.id.clone(),
                Entry::new(record.clone(), Phase::Creating),
            );
        }
        let driver = self.drivers.get(&record.driver)?;
        let spec = network_spec(&record);
        let made = self.make_network(&record, driver.as_ref(), &spec);
        if let Err(err) = made {
            let _ = self.firewall.remove_network(&record.id);
            let _ = driver.delete_network(&spec);
            let _ = self.store.commit(&[record.delete()]);
            self.state().networks.remove(&record.id);
            return Err(err);
        }
        if let Some(entry) = self.state().networks.get_mut(&record.id) {
            entry.phase = Phase::Ready;
        }
        self.publish_dns();
        tracing::info!(network = %record.name, id = %record.id, "global network adopted");
        self.emit_network("create", &record, None);
        Ok(())
    }

    /// A global network deleted from the cluster store: its kernel objects
    /// and record go (the host that removed it checked no endpoint was left).
    pub fn forget_global_network(&self, id: &str) {
        let record = {
            let mut st = self.state();
            let Some(entry) = st.networks.get(id) else {
                return;
            };
            if entry.record.scope != GLOBAL || entry.phase != Phase::Ready {
                return;
            }
            if st.endpoints_of_network(id).next().is_some() {
                tracing::error!(network = %entry.record.name, "global network removed elsewhere while it has endpoints here; keeping it");
                return;
            }
            let record = entry.record.clone();
            st.networks.remove(id);
            record
        };
        if let Err(err) = self.firewall.remove_network(&record.id) {
            tracing::warn!(network = %record.name, error = %err, "remove global network from the firewall");
        }
        if let Ok(driver) = self.drivers.get(&record.driver) {
            if let Err(err) = driver.delete_network(&network_spec(&record)) {
                tracing::warn!(network = %record.name, error = %err, "remove global network here");
            }
        }
        if let Err(err) = self.store.commit(&[record.delete()]) {
            tracing::warn!(network = %record.name, error = %err, "forget global network record");
        }
        self.publish_dns();
        tracing::info!(network = %record.name, id = %record.id, "global network removed elsewhere");
        self.emit_network("destroy", &record, None);
    }

    /// This host's endpoints on global networks, for announcing them again
    /// after a restart.
    pub fn global_endpoints(&self) -> Vec<(String, EndpointSpec)> {
        let st = self.state();
        st.endpoints
            .values()
            .filter(|e| e.phase == Phase::Ready)
            .filter(|e| {
                st.networks
                    .get(&e.record.network_id)
                    .is_some_and(|n| n.record.scope == GLOBAL)
            })
            .map(|e| (e.record.network_id.clone(), endpoint_spec(&e.record)))
            .collect()
    }

    /// Forgets the global networks the cluster store no longer lists.
    pub fn forget_global_networks_except(&self, known: &[String]) {
        let gone: Vec<String> = self
            .state()
            .networks
            .values()
            .filter(|e| e.record.scope == GLOBAL && !known.contains(&e.record.id))
            .map(|e| e.record.id.clone())
            .collect();
        for id in gone {
            self.forget_global_network(&id);
        }
    }
}
