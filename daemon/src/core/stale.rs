//! Network namespace inode numbers are reused once a namespace is gone. A
//! sandbox whose namespace was deleted without a disconnect (a crashed
//! runtime, `ip netns del`) would otherwise be taken for the brand new
//! namespace that got its number: "already connected", or worse, wiring
//! into the wrong sandbox. Before a connect trusts a match by (dev, inode),
//! it checks the match is still that sandbox's namespace.

use std::path::Path;

use cnm_drivers::sys::{netns_id_of, Netlink, Netns};

use super::state::Phase;
use super::{Core, CoreError, DisconnectRequest, SandboxSelector};
use crate::model::{EndpointRecord, SandboxRecord};

impl Core {
    /// Forgets the sandbox recorded under `netns`'s id if that sandbox's
    /// namespace is gone and `netns` merely reuses its number.
    pub(super) fn reap_stale_sandbox(&self, netns: &Netns) -> Result<(), CoreError> {
        let (sandbox, endpoints) = {
            let st = self.state();
            let Some(sandbox) = st.sandbox_by_netns(netns.id()).cloned() else {
                return Ok(());
            };
            let endpoints: Vec<EndpointRecord> = st
                .endpoints_of_sandbox(&sandbox.id)
                .filter(|e| e.phase == Phase::Ready)
                .map(|e| e.record.clone())
                .collect();
            (sandbox, endpoints)
        };
        if !is_stale(&sandbox, netns, &endpoints) {
            return Ok(());
        }
        tracing::warn!(sandbox = %sandbox.name, path = %sandbox.netns_path,
            "the sandbox's network namespace is gone (its number was reused); forgetting it");
        for ep in endpoints {
            self.disconnect(DisconnectRequest {
                network: ep.network_id,
                sandbox: SandboxSelector::Known(sandbox.id.clone()),
                force: true,
            })?;
        }
        Ok(())
    }
}

/// True when `netns` is not the namespace `sandbox` was made for: its path
/// no longer leads to `netns`, and none of its interfaces (name and MAC)
/// is inside `netns`.
fn is_stale(sandbox: &SandboxRecord, netns: &Netns, endpoints: &[EndpointRecord]) -> bool {
    let same_path = netns_id_of(Path::new(&sandbox.netns_path)).is_ok_and(|id| id == netns.id());
    if same_path {
        return false;
    }
    // Another path to the same, living namespace still shows our interfaces.
    let Ok(links) = Netlink::open_in(netns).and_then(|mut nl| nl.links()) else {
        return false;
    };
    !endpoints.iter().any(|ep| {
        links
            .iter()
            .any(|l| l.name == ep.ifname && l.mac == Some(ep.mac))
    })
}
