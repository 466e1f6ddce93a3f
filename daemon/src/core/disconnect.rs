//! `net disconnect`: take a sandbox off a network.
//!
//! Order: the interface leaves the sandbox first (the reply promises it is
//! gone), then the driver cleans the host side, then the records go. A crash
//! before the commit leaves a record whose interface is gone: reconcile
//! forgets it and frees its addresses.

use std::sync::Arc;

use cnm_drivers::sys::{netns_id_of, Netlink, Netns};
use cnm_drivers::Driver;

use super::connect::{delete_endpoint, endpoint_spec};
use super::network_create::network_spec;
use super::phases::Phases;
use super::sandbox_setup::{add_default_routes, detach_interface};
use super::state::Phase;
use super::{Core, CoreError, SandboxSelector};
use crate::model::{EndpointRecord, NetworkRecord, Record, SandboxRecord};

#[derive(Debug, Clone)]
pub struct DisconnectRequest {
    pub network: String,
    pub sandbox: SandboxSelector,
    /// Forget the endpoint even if its kernel side cannot be cleaned.
    pub force: bool,
}

struct Plan {
    network: NetworkRecord,
    driver: Arc<dyn Driver>,
    sandbox: SandboxRecord,
    endpoint: EndpointRecord,
    /// Another endpoint of the sandbox that takes over the default route.
    successor: Option<EndpointRecord>,
    last_endpoint: bool,
}

impl Core {
    pub fn disconnect(&self, req: DisconnectRequest) -> Result<(), CoreError> {
        let started = std::time::Instant::now();
        let disconnected = self.disconnect_timed(req);
        crate::metrics::METRICS
            .disconnect
            .observe(started.elapsed());
        disconnected
    }

    fn disconnect_timed(&self, req: DisconnectRequest) -> Result<(), CoreError> {
        let mut phases = Phases::start();
        let plan = self.plan_disconnect(&req)?;
        phases.mark("plan");
        let unwired = self.unwire(&plan, &mut phases);
        phases.log("disconnect");
        if let Err(err) = unwired {
            if !req.force {
                if let Some(entry) = self.state().endpoints.get_mut(&plan.endpoint.id) {
                    entry.phase = Phase::Ready;
                }
                return Err(err);
            }
            tracing::warn!(endpoint = %plan.endpoint.id, error = %err.full_message(), "forced disconnect");
            self.commit_disconnect(&plan)?;
        }
        if let Some(next) = &plan.successor {
            if let Some(entry) = self.state().endpoints.get_mut(&next.id) {
                entry.record = next.clone();
            }
        }
        self.forget_endpoint(&plan.endpoint);
        self.publish_dns();
        tracing::info!(network = %plan.network.name, sandbox = %plan.sandbox.name,
            iface = %plan.endpoint.ifname, "disconnected");
        self.emit_network("disconnect", &plan.network, Some(&plan.sandbox.id));
        Ok(())
    }

    fn plan_disconnect(&self, req: &DisconnectRequest) -> Result<Plan, CoreError> {
        // Identify the namespace outside the lock: stat may block.
        let netns_id = match &req.sandbox {
            SandboxSelector::NetnsPath(path) => netns_id_of(path).ok(),
            SandboxSelector::Known(_) | SandboxSelector::Attachment { .. } => None,
        };
        let mut st = self.state();
        let network = st.find_network(&req.network)?.clone();
        let sandbox = match &req.sandbox {
            SandboxSelector::Known(key) => st.find_sandbox(key)?.clone(),
            SandboxSelector::Attachment {
                container_id,
                ifname,
            } => {
                let entry = st
                    .find_attachment(container_id, ifname.as_deref(), Some(&network.id))
                    .map_err(|_| not_attached(container_id, ifname.as_deref(), &network))?;
                let sandbox_id = entry.record.sandbox_id.clone();
                st.find_sandbox(&sandbox_id)?.clone()
            }
            SandboxSelector::NetnsPath(path) => {
                let path_str = path.display().to_string();
                // A namespace that is already gone is still found by the path
                // it was connected by.
                netns_id
                    .and_then(|id| st.sandbox_by_netns(id))
                    .or_else(|| st.sandbox_by_path(&path_str))
                    .cloned()
                    .ok_or_else(|| {
                        CoreError::NotFound(format!(
                            "network namespace {path_str} is not connected to any network"
                        ))
                    })?
            }
        };
        let entry = st
            .endpoint_between(&sandbox.id, &network.id)
            .ok_or_else(|| {
                CoreError::NotFound(format!(
                    "sandbox {} is not connected to network {}",
                    sandbox.name, network.name
                ))
            })?;
        if entry.phase != Phase::Ready {
            return Err(CoreError::FailedPrecondition(format!(
                "sandbox {} is being connected to or disconnected from network {}; try again",
                sandbox.name, network.name
            )));
        }
        let endpoint = entry.record.clone();
        let others: Vec<EndpointRecord> = st
            .endpoints_of_sandbox(&sandbox.id)
            .filter(|e| e.record.id != endpoint.id)
            .map(|e| e.record.clone())
            .collect();
        let successor = endpoint
            .default_route
            .then(|| {
                others
                    .iter()
                    .filter(|e| e.has_gateway())
                    .min_by(|a, b| a.ifname.cmp(&b.ifname))
            })
            .flatten()
            .map(|e| EndpointRecord {
                default_route: true,
                ..e.clone()
            });
        if let Some(entry) = st.endpoints.get_mut(&endpoint.id) {
            entry.phase = Phase::Removing;
        }
        let driver = self.drivers.get(&network.driver)?;
        Ok(Plan {
            network,
            driver,
            sandbox,
            endpoint,
            successor,
            last_endpoint: others.is_empty(),
        })
    }

    fn unwire(&self, plan: &Plan, phases: &mut Phases) -> Result<(), CoreError> {
        let path = &plan.sandbox.netns_path;
        // Ports first: no DNAT may point at an address about to be freed.
        self.try_unpublish_ports(&plan.endpoint)?;
        phases.mark("unpublish");
        // The namespace may be gone (its interfaces went with it) or the path
        // may now hold another namespace: then there is nothing to undo
        // inside, and touching it would hit a stranger.
        let netns = Netns::open(path.as_ref()).ok().filter(|ns| {
            (ns.id().dev, ns.id().ino) == (plan.sandbox.netns_dev, plan.sandbox.netns_ino)
        });
        if let Some(netns) = &netns {
            detach_interface(netns, &plan.endpoint.ifname).map_err(CoreError::sys(format!(
                "remove {} from {path}",
                plan.endpoint.ifname
            )))?;
        }
        phases.mark("detach");
        let (net_spec, ep_spec) = (network_spec(&plan.network), endpoint_spec(&plan.endpoint));
        plan.driver.leave(&net_spec, &ep_spec)?;
        delete_endpoint(plan.driver.as_ref(), &net_spec, &ep_spec);
        phases.mark("leave");
        if let (Some(netns), Some(next)) = (&netns, &plan.successor) {
            hand_over_default_route(netns, next).map_err(CoreError::sys(format!(
                "move default route to {} in {path}",
                next.ifname
            )))?;
        }
        let committed = self.commit_disconnect(plan);
        phases.mark("commit");
        committed
    }

    fn commit_disconnect(&self, plan: &Plan) -> Result<(), CoreError> {
        let mut writes = vec![plan.endpoint.delete()];
        if plan.last_endpoint {
            writes.push(plan.sandbox.delete());
        }
        if let Some(next) = &plan.successor {
            writes.push(next.put());
        }
        self.store.commit(&writes)?;
        Ok(())
    }
}

fn not_attached(container_id: &str, ifname: Option<&str>, network: &NetworkRecord) -> CoreError {
    let iface = ifname.map(|n| format!(" as {n}")).unwrap_or_default();
    CoreError::NotFound(format!(
        "container {container_id} is not attached{iface} to network {}",
        network.name
    ))
}

impl EndpointRecord {
    fn has_gateway(&self) -> bool {
        self.gateway_v4.is_some() || self.gateway_v6.is_some()
    }
}

fn hand_over_default_route(
    netns: &Netns,
    next: &EndpointRecord,
) -> Result<(), cnm_drivers::sys::SysError> {
    let mut nl = Netlink::open_in(netns)?;
    let Some(link) = nl.link_by_name(&next.ifname)? else {
        return Ok(());
    };
    add_default_routes(&mut nl, next, link.index)
}
