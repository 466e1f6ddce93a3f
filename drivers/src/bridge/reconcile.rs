//! `reconcile`: after a (re)start, put the kernel in line with the store.
//! Listed networks get their bridge back (created, addressed, up), listed
//! endpoints get their host veth back on its bridge or are reported lost,
//! and bridges and veths that carry our names but belong to nothing listed
//! are deleted. Links that do not carry our names are never touched.

use std::collections::{HashMap, HashSet};

use crate::driver::{EndpointSpec, NetworkSpec, ReconcileReport};
use crate::sys::{Link, Netlink};
use crate::DriverError;

use super::names::{
    bridge_name_for, is_generated_bridge_name, is_generated_veth_name, veth_name_for,
};
use super::network::{ensure_bridge, BridgeNetwork};

/// Prefix of the ifalias of bridges this driver created (see `names`).
const ALIAS_PREFIX: &str = "cnm:";

/// State gathered while reconciling; errors are collected, not returned
/// early, so one broken network does not stop the repair of the others.
#[derive(Default)]
struct Pass {
    report: ReconcileReport,
    errors: Vec<DriverError>,
    /// Bridge names of listed networks: never deleted.
    kept_bridges: HashSet<String>,
    /// Network id -> its bridge, for the listed networks that have one now.
    bridges: HashMap<String, Link>,
    /// Bridges of other drivers' networks that look like ours (a bridge
    /// served by `cnm-driver`): neither they nor their ports are touched.
    foreign_bridges: HashSet<String>,
}

pub(super) fn reconcile(
    networks: &[NetworkSpec],
    endpoints: &[(String, EndpointSpec)],
    others: &[NetworkSpec],
) -> Result<ReconcileReport, DriverError> {
    let mut nl = Netlink::open()?;
    let mut pass = Pass::default();
    for net in others {
        pass.foreign_bridges.extend(bridge_name_for(&net.id));
        pass.foreign_bridges
            .extend(BridgeNetwork::new(net).map(|b| b.bridge));
    }
    for net in networks {
        pass.ensure_network(&mut nl, net);
    }
    let links = nl.links()?;
    let kept_veths = pass.check_endpoints(&mut nl, &links, endpoints);
    pass.remove_orphans(&mut nl, &links, &kept_veths);
    match DriverError::from_many(pass.errors) {
        None => Ok(pass.report),
        Some(e) => Err(e),
    }
}

impl Pass {
    fn ensure_network(&mut self, nl: &mut Netlink, net: &NetworkSpec) {
        // Protect the generated name even if the spec no longer validates.
        if let Ok(name) = bridge_name_for(&net.id) {
            self.kept_bridges.insert(name);
        }
        let bridge_net = match BridgeNetwork::new(net) {
            Ok(bridge_net) => bridge_net,
            Err(e) => return self.errors.push(e),
        };
        self.kept_bridges.insert(bridge_net.bridge.clone());
        match ensure_bridge(nl, &bridge_net) {
            Ok((link, created)) => {
                if created {
                    let what = format!("bridge {} (network {})", link.name, net.name);
                    tracing::warn!(network = %net.name, bridge = %link.name, "recreated missing bridge");
                    self.report.recreated.push(what);
                }
                self.bridges.insert(net.id.clone(), link);
            }
            Err(e) => self.errors.push(e),
        }
    }

    /// Reports endpoints whose host veth is gone and puts existing ones back
    /// on their bridge (a recreated bridge starts without ports). Returns the
    /// veth names that belong to listed endpoints.
    fn check_endpoints(
        &mut self,
        nl: &mut Netlink,
        links: &[Link],
        endpoints: &[(String, EndpointSpec)],
    ) -> HashSet<String> {
        let by_name: HashMap<&str, &Link> = links.iter().map(|l| (l.name.as_str(), l)).collect();
        let mut kept = HashSet::new();
        for (network_id, ep) in endpoints {
            let name = match veth_name_for(&ep.id) {
                Ok(name) => name,
                Err(e) => {
                    self.errors.push(e);
                    continue;
                }
            };
            let Some(veth) = by_name.get(name.as_str()) else {
                tracing::warn!(endpoint = %ep.id, iface = %name, "host veth is gone");
                self.report.lost_endpoints.push(ep.id.clone());
                continue;
            };
            if let Some(bridge) = self.bridges.get(network_id) {
                if veth.master != Some(bridge.index) || !veth.up {
                    let result = nl
                        .set_master(veth.index, Some(bridge.index))
                        .and_then(|()| nl.set_up(veth.index));
                    match result {
                        Ok(()) => self
                            .report
                            .recreated
                            .push(format!("port {name} on {}", bridge.name)),
                        Err(e) => self.errors.push(e.into()),
                    }
                }
            }
            kept.insert(name);
        }
        kept
    }

    /// Deletes veths and bridges with our names that nothing listed owns.
    /// A `cnmv…` veth enslaved to a bridge that is not ours is left alone.
    fn remove_orphans(&mut self, nl: &mut Netlink, links: &[Link], kept_veths: &HashSet<String>) {
        let ours = |link: &Link| {
            link.kind.as_deref() == Some("bridge")
                && !self.foreign_bridges.contains(&link.name)
                && (is_generated_bridge_name(&link.name)
                    || link
                        .alias
                        .as_deref()
                        .is_some_and(|a| a.starts_with(ALIAS_PREFIX))
                    || self.kept_bridges.contains(&link.name))
        };
        let our_bridges: HashSet<u32> = links.iter().filter(|l| ours(l)).map(|l| l.index).collect();
        let orphan_veths = links.iter().filter(|link| {
            link.kind.as_deref() == Some("veth")
                && is_generated_veth_name(&link.name)
                && !kept_veths.contains(&link.name)
                && link.master.is_none_or(|m| our_bridges.contains(&m))
        });
        let orphan_bridges = links.iter().filter(|link| {
            our_bridges.contains(&link.index) && !self.kept_bridges.contains(&link.name)
        });
        let orphans: Vec<(&str, &Link)> = orphan_veths
            .map(|l| ("veth", l))
            .chain(orphan_bridges.map(|l| ("bridge", l)))
            .collect();
        for (what, link) in orphans {
            match nl.delete_link(link.index) {
                Ok(()) => {
                    tracing::info!(iface = %link.name, "removed orphan {what}");
                    self.report.removed.push(format!("{what} {}", link.name));
                }
                // Deleting a bridge or the peer's namespace can take a veth along.
                Err(e) if e.is_not_found() => {}
                Err(e) => self.errors.push(e.into()),
            }
        }
    }
}
