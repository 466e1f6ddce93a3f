//! `net rm` and `net prune`.
//!
//! Removal deletes the kernel objects first and the record last: a crash in
//! between leaves a record whose bridge reconcile makes again, so a network
//! never exists in the kernel without the store knowing it.

use super::network_create::{network_spec, release_pools};
use super::state::Phase;
use super::{Core, CoreError, NetworkFilter};
use crate::model::Record;

impl Core {
    pub fn remove_network(&self, key: &str) -> Result<String, CoreError> {
        let record = {
            let mut st = self.state();
            let record = st.find_network(key)?.clone();
            if record.builtin {
                return Err(CoreError::FailedPrecondition(format!(
                    "{} is a pre-defined network and cannot be removed",
                    record.name
                )));
            }
            if st.network_phase(&record.id) != Some(Phase::Ready) {
                return Err(CoreError::FailedPrecondition(format!(
                    "network {} is being created or removed; try again",
                    record.name
                )));
            }
            if st.endpoints_of_network(&record.id).next().is_some() {
                return Err(CoreError::FailedPrecondition(format!(
                    "error while removing network: network {} id {} has active endpoints",
                    record.name, record.id
                )));
            }
            if let Some(entry) = st.networks.get_mut(&record.id) {
                entry.phase = Phase::Removing;
            }
            record
        };
        let driver = self.drivers.get(&record.driver)?;
        let removed = self
            .check_global_removal(&record)
            .and_then(|()| {
                self.firewall.remove_network(&record.id).map_err(|e| {
                    CoreError::Internal(format!(
                        "remove network {} from the firewall: {e}",
                        record.name
                    ))
                })
            })
            .and_then(|()| {
                driver
                    .delete_network(&network_spec(&record))
                    .map_err(CoreError::from)
            })
            .and_then(|()| {
                self.store
                    .commit(&[record.delete()])
                    .map_err(CoreError::from)
            });
        if let Err(err) = removed {
            // The network stays: give it its firewall rules back.
            if let Some(rules) = super::firewall_sync::network_rules(&record) {
                if let Err(e) = self.firewall.add_network(&rules) {
                    tracing::warn!(network = %record.name, error = %e, "re-adding network to the firewall");
                }
            }
            if let Some(entry) = self.state().networks.get_mut(&record.id) {
                entry.phase = Phase::Ready;
            }
            return Err(err);
        }
        self.state().networks.remove(&record.id);
        if let Ok(ipam) = self.drivers.ipam(&record.ipam_driver) {
            release_pools(ipam.as_ref(), &record);
        }
        self.publish_dns();
        tracing::info!(network = %record.name, id = %record.id, "network removed");
        self.emit_network("destroy", &record, None);
        Ok(record.name.to_string())
    }

    /// Removes every custom network without endpoints that matches the
    /// filter; returns the names removed.
    pub fn prune_networks(&self, filter: &NetworkFilter) -> Result<Vec<String>, CoreError> {
        let candidates: Vec<String> = {
            let st = self.state();
            st.networks
                .values()
                .filter(|e| {
                    e.phase == Phase::Ready && !e.record.builtin && filter.matches(&e.record)
                })
                .filter(|e| st.endpoints_of_network(&e.record.id).next().is_none())
                .map(|e| e.record.id.clone())
                .collect()
        };
        let mut removed = Vec::new();
        for id in candidates {
            match self.remove_network(&id) {
                Ok(name) => removed.push(name),
                // Someone connected meanwhile: not ours to prune any more.
                Err(CoreError::FailedPrecondition(_) | CoreError::NotFound(_)) => {}
                Err(err) => return Err(err),
            }
        }
        removed.sort();
        Ok(removed)
    }
}
