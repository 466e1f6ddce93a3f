//! init / restore (the whole table in one `nft -j` transaction) and the
//! cheap intactness check against what was last written.

use std::collections::HashSet;

use super::Inner;
use crate::error::FirewallError;
use crate::model::{validate_all, NetworkRules, PortMapping};
use crate::netlink::fingerprint;
use crate::{nft, ruleset};

impl Inner {
    /// Replaces table `inet cnm` with exactly this state. Validates all input
    /// first; on any error before the transaction nothing is touched.
    pub(super) fn rebuild(
        &mut self,
        networks: &[NetworkRules],
        mappings: &[PortMapping],
    ) -> Result<(), FirewallError> {
        validate_networks(networks)?;
        let valid = validate_all(mappings)?;
        let ruleset = ruleset::rebuild(networks, &valid);
        nft::apply(&ruleset).map_err(|source| FirewallError::Rebuild {
            networks: networks.len(),
            mappings: mappings.len(),
            source,
        })?;
        self.networks = networks.iter().map(|n| (n.id.clone(), n.clone())).collect();
        self.published = valid.into_iter().map(|m| (m.key, m)).collect();
        self.written = fingerprint(&mut self.socket).map_err(FirewallError::ReadBack)?;
        // After the loopback rules exist: route_localnet is only safe with them.
        let mut first_error = None;
        for net in networks.iter().filter(|n| !n.internal) {
            if let Err(e) = super::network::enable_route_localnet(&net.bridge) {
                tracing::warn!(network = %net.id, bridge = %net.bridge, error = %e, "localhost publishing unavailable");
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    pub(super) fn is_intact(&mut self) -> Result<bool, FirewallError> {
        let Some(written) = self.written.clone() else {
            return Ok(false);
        };
        let now = fingerprint(&mut self.socket).map_err(FirewallError::ReadBack)?;
        Ok(now.as_ref() == Some(&written))
    }
}

fn validate_networks(networks: &[NetworkRules]) -> Result<(), FirewallError> {
    let mut ids = HashSet::new();
    let mut bridges = HashSet::new();
    for net in networks {
        net.validate()?;
        if !ids.insert(net.id.as_str()) {
            return Err(FirewallError::InvalidNetwork {
                id: net.id.clone(),
                reason: "network id given twice",
            });
        }
        if !bridges.insert(net.bridge.as_str()) {
            return Err(FirewallError::InvalidNetwork {
                id: net.id.clone(),
                reason: "bridge already used by another network",
            });
        }
    }
    Ok(())
}
