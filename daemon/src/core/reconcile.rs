//! Start-up: load the store and put store and kernel in line after whatever
//! happened while cnmd was down (a crash at any instant, a reboot, someone
//! deleting namespaces).
//!
//! Rules: a network record is the truth (its bridge is made again if
//! missing); an endpoint is kept only if its sandbox namespace is still the
//! recorded one and its interface still exists; kernel objects of ours that
//! no record claims are removed. Addresses of kept endpoints are reserved
//! before anything is served, so a live address is never handed out again.

use std::collections::{BTreeMap, HashSet};

use cnm_drivers::ipam::{AddressFamily, PoolsRestore};
use cnm_drivers::sys::netns_id_of;
use cnm_drivers::ReconcileScope;

use super::connect::{delete_endpoint, endpoint_spec};
use super::network_create::network_spec;
use super::state::{Entry, Phase};
use super::{Core, CoreError};
use crate::ipam::{pool, DEFAULT_IPAM};
use crate::model::{EndpointRecord, NetworkRecord, Record, SandboxRecord};
use crate::store::{Key, Kind, Write};

/// The store's records, decoded.
#[derive(Default)]
struct Loaded {
    networks: Vec<NetworkRecord>,
    endpoints: Vec<EndpointRecord>,
    sandboxes: Vec<SandboxRecord>,
    /// Records that could not be decoded: dropped, with a warning.
    unreadable: Vec<Key>,
}

impl Core {
    pub(super) fn load_and_reconcile(&self) -> Result<(), CoreError> {
        let loaded = self.load()?;
        let mut writes: Vec<Write> = loaded
            .unreadable
            .iter()
            .cloned()
            .map(Write::Delete)
            .collect();
        self.restore_networks(&loaded.networks);
        let (live, mut lost) = self.sort_endpoints(&loaded);
        lost.extend(self.reconcile_drivers(&loaded.networks, &live)?);
        let lost_ids: HashSet<String> = lost.iter().map(|e| e.id.clone()).collect();
        let mut kept: Vec<&EndpointRecord> = Vec::new();
        let owners: BTreeMap<&str, String> = loaded
            .sandboxes
            .iter()
            .map(|s| (s.id.as_str(), format!("sandbox {}", s.name)))
            .collect();
        for ep in live.iter().filter(|e| !lost_ids.contains(&e.id)) {
            let owner = owners
                .get(ep.sandbox_id.as_str())
                .map_or("a sandbox", String::as_str);
            if self.restore_endpoint(ep, owner) {
                kept.push(ep);
            } else {
                lost.push((*ep).clone());
            }
        }
        for ep in &lost {
            self.clean_lost_endpoint(ep, &loaded.networks);
            writes.push(ep.delete());
        }
        let used: HashSet<&str> = kept.iter().map(|e| e.sandbox_id.as_str()).collect();
        let mut st = self.state();
        for sb in &loaded.sandboxes {
            if used.contains(sb.id.as_str()) {
                st.sandboxes.insert(sb.id.clone(), sb.clone());
            } else {
                writes.push(sb.delete());
            }
        }
        drop(st);
        if !writes.is_empty() {
            self.store.commit(&writes)?;
        }
        self.publish_dns();
        tracing::info!(
            networks = loaded.networks.len(),
            endpoints = kept.len(),
            removed_endpoints = lost.len(),
            unreadable = loaded.unreadable.len(),
            "state loaded and reconciled"
        );
        Ok(())
    }

    fn load(&self) -> Result<Loaded, CoreError> {
        let mut loaded = Loaded::default();
        for (key, bytes) in self.store.load()? {
            let ok = match key.kind {
                Kind::Network => decode(&bytes).map(|r| loaded.networks.push(r)),
                Kind::Endpoint => decode(&bytes).map(|r| loaded.endpoints.push(r)),
                Kind::Sandbox => decode(&bytes).map(|r| loaded.sandboxes.push(r)),
                // Loaded by the containers module, after the core.
                Kind::Container => Ok(()),
            };
            if let Err(err) = ok {
                tracing::warn!(key = %key, error = %err, "dropping unreadable record");
                loaded.unreadable.push(key);
            }
        }
        Ok(loaded)
    }

    /// Networks go back in memory, their subnets to the built-in IPAM.
    /// Plugins' networks are replayed to the plugin when it connects.
    fn restore_networks(&self, networks: &[NetworkRecord]) {
        let ipam = self.drivers.ipam(DEFAULT_IPAM);
        for net in networks {
            if let (Ok(ipam), true) = (&ipam, net.ipam_driver == DEFAULT_IPAM) {
                let restore = PoolsRestore {
                    network_id: net.id.clone(),
                    network_name: net.name.to_string(),
                    pools: net.subnets.iter().cloned().map(pool).collect(),
                    addresses: Vec::new(),
                    options: net.ipam_options.clone(),
                };
                if let Err(err) = ipam.restore_pools(&restore) {
                    tracing::error!(network = %net.name, error = %err, "cannot restore the network's subnets");
                }
            }
            self.state()
                .networks
                .insert(net.id.clone(), Entry::new(net.clone(), Phase::Ready));
        }
    }

    /// Splits endpoints into those whose sandbox namespace is still there
    /// and those that are lost for sure (no network, no sandbox, namespace
    /// gone or replaced).
    fn sort_endpoints<'a>(
        &self,
        loaded: &'a Loaded,
    ) -> (Vec<&'a EndpointRecord>, Vec<EndpointRecord>) {
        let sandboxes: BTreeMap<&str, &SandboxRecord> = loaded
            .sandboxes
            .iter()
            .map(|s| (s.id.as_str(), s))
            .collect();
        let networks: HashSet<&str> = loaded.networks.iter().map(|n| n.id.as_str()).collect();
        let mut live = Vec::new();
        let mut lost = Vec::new();
        for ep in &loaded.endpoints {
            let netns_alive = sandboxes.get(ep.sandbox_id.as_str()).is_some_and(|sb| {
                netns_id_of(sb.netns_path.as_ref())
                    .is_ok_and(|id| (id.dev, id.ino) == (sb.netns_dev, sb.netns_ino))
            });
            // A handed-off endpoint's namespace is its caller's: the
            // driver's check of its interface decides.
            let alive = netns_alive || super::handoff::is_handoff(ep);
            if alive && networks.contains(ep.network_id.as_str()) {
                live.push(ep);
            } else {
                lost.push(ep.clone());
            }
        }
        (live, lost)
    }

    /// Lets each driver check its kernel objects; returns endpoints whose
    /// interface is gone.
    fn reconcile_drivers(
        &self,
        networks: &[NetworkRecord],
        live: &[&EndpointRecord],
    ) -> Result<Vec<EndpointRecord>, CoreError> {
        let mut lost = Vec::new();
        for name in self.drivers.builtin_names() {
            let driver = self.drivers.get(&name)?;
            let nets: Vec<_> = networks.iter().filter(|n| n.driver == name).collect();
            let net_ids: HashSet<&str> = nets.iter().map(|n| n.id.as_str()).collect();
            let specs: Vec<_> = nets.iter().map(|n| network_spec(n)).collect();
            let others: Vec<_> = networks
                .iter()
                .filter(|n| n.driver != name)
                .map(network_spec)
                .collect();
            let eps: Vec<_> = live
                .iter()
                .filter(|e| net_ids.contains(e.network_id.as_str()))
                .map(|e| (e.network_id.clone(), endpoint_spec(e)))
                .collect();
            let report = driver.reconcile(ReconcileScope {
                networks: &specs,
                endpoints: &eps,
                others: &others,
            })?;
            for object in &report.recreated {
                tracing::info!(driver = %name, object = %object, "reconcile: made again");
            }
            for object in &report.removed {
                tracing::info!(driver = %name, object = %object, "reconcile: removed orphan");
            }
            let gone: HashSet<&str> = report.lost_endpoints.iter().map(String::as_str).collect();
            lost.extend(
                live.iter()
                    .filter(|e| gone.contains(e.id.as_str()))
                    .map(|e| (*e).clone()),
            );
        }
        Ok(lost)
    }

    /// Reserves a kept endpoint's addresses (built-in IPAM; a plugin's are
    /// replayed to it); false if one is already taken (a corrupt store: the
    /// second holder is dropped).
    fn restore_endpoint(&self, ep: &EndpointRecord, owner: &str) -> bool {
        let ipam_driver = self
            .state()
            .networks
            .get(&ep.network_id)
            .map(|e| e.record.ipam_driver.clone());
        if ipam_driver.as_deref() == Some(DEFAULT_IPAM) && !self.reserve_addresses(ep) {
            return false;
        }
        let mut st = self.state();
        for port in &ep.ports {
            st.ports
                .hold(port.protocol, port.host, port.host_port, &ep.id, owner);
        }
        st.endpoints
            .insert(ep.id.clone(), Entry::new(ep.clone(), Phase::Ready));
        true
    }

    fn reserve_addresses(&self, ep: &EndpointRecord) -> bool {
        let Ok(ipam) = self.drivers.ipam(DEFAULT_IPAM) else {
            return false;
        };
        let mut reserved = Vec::new();
        for addr in ep.addresses() {
            let family = AddressFamily::of(addr.ip());
            match ipam.request_address(&ep.network_id, family, Some(addr.ip())) {
                Ok(_) => reserved.push(addr.ip()),
                Err(err) => {
                    tracing::error!(endpoint = %ep.id, error = %err, "address already held; dropping endpoint");
                    for ip in reserved {
                        let _ = ipam.release_address(&ep.network_id, ip);
                    }
                    return false;
                }
            }
        }
        true
    }

    fn clean_lost_endpoint(&self, ep: &EndpointRecord, networks: &[NetworkRecord]) {
        tracing::info!(endpoint = %ep.id, iface = %ep.ifname, "reconcile: forgetting endpoint whose sandbox or interface is gone");
        let Some(net) = networks.iter().find(|n| n.id == ep.network_id) else {
            return;
        };
        let cleaned = self.drivers.get(&net.driver).and_then(|d| {
            let (net_spec, ep_spec) = (network_spec(net), endpoint_spec(ep));
            d.leave(&net_spec, &ep_spec)?;
            delete_endpoint(d.as_ref(), &net_spec, &ep_spec);
            Ok(())
        });
        if let Err(err) = cleaned {
            tracing::warn!(endpoint = %ep.id, error = %err.full_message(), "reconcile: clean host side");
        }
    }
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    serde_json::from_slice(bytes)
}
