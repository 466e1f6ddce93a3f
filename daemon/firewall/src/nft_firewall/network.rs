//! add_network / remove_network: a network is its bridge name in a few
//! interface sets, changed with one netlink element batch.

use std::io;

use super::{delete_elements, requests, Inner};
use crate::error::FirewallError;
use crate::model::NetworkRules;
use crate::names;
use crate::netlink::{bridge_pair_key, bridge_subnet, ifname_key, Element, ElementOp, SetElements};

impl Inner {
    pub(super) fn add_network(&mut self, net: &NetworkRules) -> Result<(), FirewallError> {
        net.validate()?;
        if let Some(existing) = self.networks.get(&net.id) {
            return match existing == net {
                true => Ok(()),
                false => Err(FirewallError::NetworkExists { id: net.id.clone() }),
            };
        }
        let failed = |source| FirewallError::AddNetwork {
            id: net.id.clone(),
            bridge: net.bridge.clone(),
            source,
        };
        let sets = network_elements(net);
        let batch = requests(&sets, ElementOp::Add).map_err(failed)?;
        self.socket.transact(batch).map_err(failed)?;
        if !net.internal {
            if let Err(e) = enable_route_localnet(&net.bridge) {
                if let Err(undo) = delete_elements(&mut self.socket, &sets) {
                    tracing::warn!(network = %net.id, error = %undo, "rollback of network elements failed");
                }
                return Err(e);
            }
        }
        self.networks.insert(net.id.clone(), net.clone());
        Ok(())
    }

    /// Unknown ids are not an error: teardown is idempotent.
    pub(super) fn remove_network(&mut self, id: &str) -> Result<(), FirewallError> {
        let Some(net) = self.networks.get(id).cloned() else {
            return Ok(());
        };
        delete_elements(&mut self.socket, &network_elements(&net)).map_err(|source| {
            FirewallError::RemoveNetwork {
                id: net.id.clone(),
                bridge: net.bridge.clone(),
                source,
            }
        })?;
        self.networks.remove(id);
        Ok(())
    }
}

fn network_elements(net: &NetworkRules) -> Vec<SetElements> {
    let mut sets: Vec<SetElements> = net
        .ifname_sets()
        .into_iter()
        .map(|set| SetElements {
            set,
            elements: vec![Element::key(ifname_key(&net.bridge))],
        })
        .collect();
    sets.push(SetElements {
        set: names::BRIDGE_PAIRS,
        elements: vec![Element::key(bridge_pair_key(&net.bridge))],
    });
    for (set, v6) in [
        (names::BRIDGE_SUBNETS_V4, false),
        (names::BRIDGE_SUBNETS_V6, true),
    ] {
        let elements: Vec<Element> = net
            .subnets
            .iter()
            .filter(|s| s.is_ipv6() == v6)
            .map(|s| bridge_subnet(&net.bridge, s))
            .collect();
        if !elements.is_empty() {
            sets.push(SetElements { set, elements });
        }
    }
    sets
}

/// Host → 127.0.0.1:port → container needs 127.x sources routable out of the
/// bridge (the kernel checks the output device). The input and forward
/// rules drop 127.0.0.0/8 from non-loopback interfaces, which
/// route_localnet would otherwise let in.
pub(super) fn enable_route_localnet(bridge: &str) -> Result<(), FirewallError> {
    // /proc/sys/net follows the calling thread's network namespace.
    let path = format!("/proc/sys/net/ipv4/conf/{bridge}/route_localnet");
    std::fs::write(&path, b"1").map_err(|source: io::Error| FirewallError::RouteLocalnet {
        bridge: bridge.to_owned(),
        source,
    })
}
