//! The read side: `net ls`, `net inspect`, sandbox listing.

use std::path::Path;

use cnm_drivers::sys::netns_id_of;

use super::state::Phase;
use super::{Core, CoreError, NetworkFilter, NetworkView, SandboxSelector, SandboxView};

impl Core {
    pub fn list_networks(&self, filter: &NetworkFilter) -> Vec<NetworkView> {
        let st = self.state();
        let mut views: Vec<NetworkView> = st
            .networks
            .values()
            .filter(|e| e.phase != Phase::Creating && filter.matches(&e.record))
            .map(|e| st.network_view(&e.record))
            .collect();
        views.sort_by(|a, b| a.network.name.cmp(&b.network.name));
        views
    }

    pub fn inspect_network(&self, key: &str) -> Result<NetworkView, CoreError> {
        let st = self.state();
        let record = st.find_network(key)?;
        Ok(st.network_view(record))
    }
}

/// How many objects the core holds, for the metrics gauges; counted as
/// `net ls` and `inspect` show them (nothing half-made).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ObjectCounts {
    pub networks: usize,
    pub endpoints: usize,
    pub sandboxes: usize,
}

impl Core {
    pub fn object_counts(&self) -> ObjectCounts {
        let st = self.state();
        let ready = |phase: &Phase| *phase == Phase::Ready;
        let mut sandboxes = std::collections::HashSet::new();
        let mut endpoints = 0;
        for entry in st.endpoints.values().filter(|e| ready(&e.phase)) {
            endpoints += 1;
            sandboxes.insert(entry.record.sandbox_id.as_str());
        }
        ObjectCounts {
            networks: st
                .networks
                .values()
                .filter(|e| e.phase != Phase::Creating)
                .count(),
            endpoints,
            sandboxes: sandboxes.len(),
        }
    }
}

impl Core {
    pub fn list_sandboxes(&self) -> Vec<SandboxView> {
        let st = self.state();
        let mut views: Vec<SandboxView> =
            st.sandboxes.values().map(|s| st.sandbox_view(s)).collect();
        views.retain(|v| !v.endpoints.is_empty());
        views.sort_by(|a, b| a.sandbox.name.as_str().cmp(b.sandbox.name.as_str()));
        views
    }

    pub fn inspect_sandbox(&self, selector: &SandboxSelector) -> Result<SandboxView, CoreError> {
        let netns_id = match selector {
            SandboxSelector::NetnsPath(path) => Some(netns_id_of(Path::new(path))),
            SandboxSelector::Known(_) | SandboxSelector::Attachment { .. } => None,
        };
        let st = self.state();
        let sandbox = match (selector, netns_id) {
            (SandboxSelector::Known(_) | SandboxSelector::Attachment { .. }, _) => {
                st.find_sandbox_by(selector)?
            }
            (SandboxSelector::NetnsPath(path), id) => id
                .and_then(Result::ok)
                .and_then(|id| st.sandbox_by_netns(id))
                .ok_or_else(|| {
                    CoreError::NotFound(format!(
                        "no sandbox for network namespace {}",
                        path.display()
                    ))
                })?,
        };
        Ok(st.sandbox_view(sandbox))
    }
}
