//! What a (re)connected plugin is told again: the networks and endpoints
//! cnmd's store holds for it. Read from the store, not the in-memory state,
//! so replaying never waits for the core's lock (a connect may hold it
//! while it looks the driver up).

use std::collections::BTreeMap;
use std::sync::Arc;

use cnm_drivers::ipam::PoolsRestore;
use cnm_drivers::NetworkSpec;
use cnm_plugin::{DriverReplay, IpamReplay, ReplayEndpoint};

use super::connect::endpoint_spec;
use super::network_create::network_spec;
use super::publish::port_bindings;
use crate::ipam::pool;
use crate::model::{EndpointRecord, NetworkRecord};
use crate::store::{Kind, Store};

pub(super) struct StoreReplay {
    store: Arc<dyn Store>,
}

impl StoreReplay {
    pub fn new(store: Arc<dyn Store>) -> Self {
        StoreReplay { store }
    }

    /// Networks matching `wanted`, each with its endpoints.
    fn load(
        &self,
        wanted: impl Fn(&NetworkRecord) -> bool,
    ) -> Vec<(NetworkRecord, Vec<EndpointRecord>)> {
        let records = match self.store.load() {
            Ok(records) => records,
            Err(err) => {
                tracing::error!(error = %err, "cannot read the store to replay state to a plugin");
                return Vec::new();
            }
        };
        let mut networks = BTreeMap::new();
        let mut endpoints = Vec::new();
        for (key, bytes) in records {
            match key.kind {
                Kind::Network => {
                    if let Ok(net) = serde_json::from_slice::<NetworkRecord>(&bytes) {
                        if wanted(&net) {
                            networks.insert(net.id.clone(), (net, Vec::new()));
                        }
                    }
                }
                Kind::Endpoint => {
                    if let Ok(ep) = serde_json::from_slice::<EndpointRecord>(&bytes) {
                        endpoints.push(ep);
                    }
                }
                Kind::Sandbox | Kind::Container => {}
            }
        }
        for ep in endpoints {
            if let Some((_, eps)) = networks.get_mut(&ep.network_id) {
                eps.push(ep);
            }
        }
        networks.into_values().collect()
    }
}

impl DriverReplay for StoreReplay {
    fn networks(&self, name: &str) -> Vec<(NetworkSpec, Vec<ReplayEndpoint>)> {
        self.load(|net| net.driver == name)
            .into_iter()
            .map(|(net, eps)| {
                let eps = eps
                    .iter()
                    .map(|ep| ReplayEndpoint {
                        spec: endpoint_spec(ep),
                        ports: port_bindings(ep),
                    })
                    .collect();
                (network_spec(&net), eps)
            })
            .collect()
    }
}

impl IpamReplay for StoreReplay {
    fn networks(&self, name: &str) -> Vec<PoolsRestore> {
        self.load(|net| net.ipam_driver == name)
            .into_iter()
            .map(|(net, eps)| PoolsRestore {
                network_id: net.id.clone(),
                network_name: net.name.to_string(),
                pools: net.subnets.iter().cloned().map(pool).collect(),
                addresses: eps
                    .iter()
                    .flat_map(|e| e.addresses())
                    .map(|a| a.ip())
                    .collect(),
                options: net.ipam_options.clone(),
            })
            .collect()
    }
}
