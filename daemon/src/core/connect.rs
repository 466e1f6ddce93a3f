//! `net connect`: give a sandbox an interface on a network.
//!
//! Order, chosen so that a crash at any instant can be repaired:
//! 1. addresses from the network's IPAM driver (without the state lock: it
//!    may be a plugin), then under the lock: check, reserve the interface
//!    name and ports (addresses are given back on any refusal);
//! 2. kernel: the driver makes the interface inside the sandbox, the core
//!    configures addresses and routes (rolled back on any failure);
//! 3. store: endpoint and sandbox records in one flushed commit;
//! 4. reply.
//!
//! A crash before 3 leaves a host veth without a record: reconcile deletes
//! it, which removes the sandbox side too, and the addresses were never
//! recorded. A crash after 3 leaves a complete, recorded endpoint.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use cnm_drivers::ipam::{AddressFamily, IpamDriver};
use cnm_drivers::sys::Netns;
use cnm_drivers::{Driver, EndpointSpec, NetworkSpec, SandboxSpec};
use ipnetwork::IpNetwork;

use super::firewall_sync::{default_host_ip, network_rules};
use super::network_create::network_spec;
use super::phases::Phases;
use super::sandbox_setup::configure_endpoint;
use super::state::{Entry, Phase};
use super::{Core, CoreError};
use crate::model::{
    mac_for, new_id, now_rfc3339, Attachment, EndpointRecord, NetworkRecord, Record, SandboxName,
    SandboxRecord,
};
use crate::ports::{self, PortRequest, Targets};

/// Which sandbox a connect or disconnect is about.
#[derive(Debug, Clone)]
pub enum SandboxSelector {
    /// A network namespace made by another tool.
    NetnsPath(PathBuf),
    /// A sandbox cnmd knows: id, unique id prefix or name.
    Known(String),
    /// The sandbox of an endpoint another runtime attached under its own
    /// container id (and interface name, when given).
    Attachment {
        container_id: String,
        ifname: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub struct ConnectRequest {
    pub network: String,
    pub sandbox: SandboxSelector,
    /// Name for a new sandbox (default: the namespace file's name).
    pub name: Option<String>,
    pub ipv4: Option<IpAddr>,
    pub ipv6: Option<IpAddr>,
    pub aliases: Vec<String>,
    pub mac: Option<[u8; 6]>,
    /// `-p` specs, parsed.
    pub publish: Vec<PortRequest>,
    /// `--dns`: the sandbox's own upstream resolvers (replaces earlier ones).
    pub dns_servers: Vec<IpAddr>,
    /// The interface name inside the sandbox (default: the first free ethN).
    pub ifname: Option<String>,
    /// Recorded on the endpoint when another runtime connects it.
    pub attachment: Option<Attachment>,
}

/// Everything step 2 and 3 need, decided under the lock in step 1 (of a
/// connect or of a handoff endpoint).
pub(super) struct Plan {
    pub(super) network: NetworkRecord,
    pub(super) driver: Arc<dyn Driver>,
    pub(super) sandbox: SandboxRecord,
    pub(super) endpoint: EndpointRecord,
}

impl Core {
    pub fn connect(
        &self,
        req: ConnectRequest,
    ) -> Result<(EndpointRecord, NetworkRecord), CoreError> {
        let started = std::time::Instant::now();
        let connected = self.connect_timed(req);
        crate::metrics::METRICS.connect.observe(started.elapsed());
        connected
    }

    fn connect_timed(
        &self,
        req: ConnectRequest,
    ) -> Result<(EndpointRecord, NetworkRecord), CoreError> {
        let mut phases = Phases::start();
        let netns = self.open_sandbox_netns(&req.sandbox)?;
        self.reap_stale_sandbox(&netns)?;
        phases.mark("open");
        let network = self.state().find_network(&req.network)?.clone();
        let ipam = self.drivers.ipam(&network.ipam_driver)?;
        let addresses = allocate_addresses(ipam.as_ref(), &network, &req)?;
        phases.mark("ipam");
        let plan = match self.plan_connect(&req, &netns, &network.id, addresses) {
            Ok(plan) => plan,
            Err(err) => {
                release_addresses(ipam.as_ref(), &network.id, addresses);
                return Err(err);
            }
        };
        phases.mark("plan");
        let wired = self.wire(&plan, &netns, &mut phases);
        phases.log("connect");
        match wired {
            Ok(endpoint) => {
                self.mark_connected(&plan, &endpoint);
                tracing::info!(network = %plan.network.name, sandbox = %plan.sandbox.name,
                    iface = %endpoint.ifname, endpoint = %endpoint.id, "connected");
                self.emit_network("connect", &plan.network, Some(&plan.sandbox.id));
                Ok((endpoint, plan.network))
            }
            Err(err) => {
                self.forget_endpoint(&plan.endpoint);
                Err(err)
            }
        }
    }

    fn open_sandbox_netns(&self, selector: &SandboxSelector) -> Result<Netns, CoreError> {
        match selector {
            SandboxSelector::NetnsPath(path) => Netns::open(path).map_err(|err| {
                CoreError::InvalidArgument(format!(
                    "cannot use network namespace {}: {err}",
                    path.display()
                ))
            }),
            SandboxSelector::Known(_) | SandboxSelector::Attachment { .. } => {
                let sandbox = self.state().find_sandbox_by(selector)?.clone();
                let netns = Netns::open(sandbox.netns_path.as_ref()).map_err(|err| {
                    CoreError::FailedPrecondition(format!(
                        "network namespace of sandbox {} is gone ({err}); disconnect it",
                        sandbox.name
                    ))
                })?;
                if (netns.id().dev, netns.id().ino) != (sandbox.netns_dev, sandbox.netns_ino) {
                    return Err(CoreError::FailedPrecondition(format!(
                        "{} is no longer the network namespace of sandbox {}; disconnect it",
                        sandbox.netns_path, sandbox.name
                    )));
                }
                Ok(netns)
            }
        }
    }

    /// Step 1: checks and reservations, all under the lock; `addresses`
    /// were allocated on network `network_id` for this connect.
    fn plan_connect(
        &self,
        req: &ConnectRequest,
        netns: &Netns,
        network_id: &str,
        (ipv4, ipv6): Addresses,
    ) -> Result<Plan, CoreError> {
        if let Some(alias) = req.aliases.iter().find(|a| !cnm_dns::is_valid_name(a)) {
            return Err(CoreError::InvalidArgument(format!(
                "invalid alias {alias:?}: use DNS labels of letters, digits, '-' and '_' separated by dots"
            )));
        }
        let mut st = self.state();
        let network = st.find_network(network_id)?.clone();
        if st.network_phase(&network.id) != Some(Phase::Ready) {
            return Err(CoreError::FailedPrecondition(format!(
                "network {} is being created or removed; try again",
                network.name
            )));
        }
        let driver = self.drivers.get(&network.driver)?;
        if !req.publish.is_empty()
            && network_rules(&network).is_none()
            && self.drivers.is_builtin(&network.driver)
        {
            return Err(CoreError::InvalidArgument(format!(
                "network {} ({} driver) publishes no ports: its containers are reached at \
                 their own addresses; drop -p",
                network.name, network.driver
            )));
        }
        let sandbox = match st.sandbox_by_netns(netns.id()) {
            Some(sb) if !req.dns_servers.is_empty() => SandboxRecord {
                dns_servers: req.dns_servers.clone(),
                ..sb.clone()
            },
            Some(sb) => sb.clone(),
            None => new_sandbox_record(req, netns, &st)?,
        };
        if st.endpoint_between(&sandbox.id, &network.id).is_some() {
            return Err(CoreError::AlreadyExists(format!(
                "sandbox {} is already connected to network {}",
                sandbox.name, network.name
            )));
        }
        let has_default = st
            .endpoints_of_sandbox(&sandbox.id)
            .any(|e| e.record.default_route);
        let ifname = choose_ifname(&st, req, &sandbox, &network)?;
        let id = new_id();
        let targets = Targets {
            ipv4: ipv4.map(|a| a.ip()),
            ipv6: ipv6.map(|a| a.ip()),
        };
        let default_host = default_host_ip(&network, self.default_host_ip);
        let owner = format!("sandbox {}", sandbox.name);
        let ports = ports::plan(
            &req.publish,
            targets,
            default_host,
            &mut st.ports,
            &id,
            &owner,
        )
        .map_err(CoreError::AlreadyExists)?;
        let endpoint = EndpointRecord {
            id,
            network_id: network.id.clone(),
            sandbox_id: sandbox.id.clone(),
            ifname,
            mac: req.mac.unwrap_or_else(|| mac_for(ipv4)),
            ipv4,
            ipv6,
            static_ipv4: req.ipv4.is_some(),
            static_ipv6: req.ipv6.is_some(),
            aliases: req.aliases.clone(),
            gateway_v4: None,
            gateway_v6: None,
            default_route: !network.internal && !has_default,
            created: now_rfc3339(),
            ports,
            attachment: req.attachment.clone(),
            host_ifname: None,
        };
        st.endpoints.insert(
            endpoint.id.clone(),
            Entry::new(endpoint.clone(), Phase::Creating),
        );
        st.sandboxes
            .entry(sandbox.id.clone())
            .or_insert_with(|| sandbox.clone());
        Ok(Plan {
            network,
            driver,
            sandbox,
            endpoint,
        })
    }

    /// Steps 2 and 3. On error nothing is left in the kernel or the store.
    fn wire(
        &self,
        plan: &Plan,
        netns: &Netns,
        phases: &mut Phases,
    ) -> Result<EndpointRecord, CoreError> {
        let net_spec = network_spec(&plan.network);
        let ep_spec = endpoint_spec(&plan.endpoint);
        let sandbox_spec = SandboxSpec {
            netns: netns.fd(),
            ifname: &plan.endpoint.ifname,
        };
        plan.driver.create_endpoint(&net_spec, &ep_spec)?;
        let join = match plan.driver.join(&net_spec, &ep_spec, sandbox_spec) {
            Ok(join) => join,
            Err(err) => {
                delete_endpoint(plan.driver.as_ref(), &net_spec, &ep_spec);
                return Err(err.into());
            }
        };
        phases.mark("join");
        let mut endpoint = plan.endpoint.clone();
        endpoint.gateway_v4 = join.gateway_v4;
        endpoint.gateway_v6 = join.gateway_v6;
        endpoint.default_route &= join.gateway_v4.is_some() || join.gateway_v6.is_some();
        endpoint.host_ifname = plan.driver.host_interface(&ep_spec);
        let done =
            configure_endpoint(netns, &plan.sandbox.netns_path, &join, &endpoint).and_then(|()| {
                phases.mark("configure");
                self.publish_ports(&endpoint)?;
                phases.mark("publish");
                let committed = self.store.commit(&[endpoint.put(), plan.sandbox.put()]);
                phases.mark("commit");
                committed.map_err(|err| {
                    self.unpublish_ports(&endpoint);
                    CoreError::from(err)
                })
            });
        if let Err(err) = done {
            rollback_join(
                plan.driver.as_ref(),
                &net_spec,
                &ep_spec,
                netns,
                &endpoint.ifname,
            );
            return Err(err);
        }
        Ok(endpoint)
    }

    /// After the commit: the wired endpoint (as the wiring finished it) and
    /// its sandbox become visible to queries and DNS.
    pub(super) fn mark_connected(&self, plan: &Plan, endpoint: &EndpointRecord) {
        let mut st = self.state();
        if let Some(entry) = st.endpoints.get_mut(&endpoint.id) {
            entry.record = endpoint.clone();
            entry.phase = Phase::Ready;
        }
        st.sandboxes
            .insert(plan.sandbox.id.clone(), plan.sandbox.clone());
        drop(st);
        self.publish_dns();
    }

    /// Drops an endpoint (and its sandbox, if it was the last) from memory
    /// and gives its addresses back (to IPAM after the lock is released).
    pub(super) fn forget_endpoint(&self, endpoint: &EndpointRecord) {
        let ipam_driver = {
            let mut st = self.state();
            st.endpoints.remove(&endpoint.id);
            st.ports.release(&endpoint.id);
            if st
                .endpoints_of_sandbox(&endpoint.sandbox_id)
                .next()
                .is_none()
            {
                st.sandboxes.remove(&endpoint.sandbox_id);
            }
            st.networks
                .get(&endpoint.network_id)
                .map(|e| e.record.ipam_driver.clone())
        };
        let Some(ipam) = ipam_driver.and_then(|name| self.drivers.ipam(&name).ok()) else {
            return;
        };
        release_addresses(
            ipam.as_ref(),
            &endpoint.network_id,
            (endpoint.ipv4, endpoint.ipv6),
        );
    }
}

/// An address of each family the network has a subnet of (the one asked
/// for, if any).
fn allocate_addresses(
    ipam: &dyn IpamDriver,
    network: &NetworkRecord,
    req: &ConnectRequest,
) -> Result<Addresses, CoreError> {
    let network_id = network.id.as_str();
    let has = |v4: bool| network.subnets.iter().any(|s| s.subnet.is_ipv4() == v4);
    let no_subnet = |fam: &str, flag: &str| {
        CoreError::InvalidArgument(format!(
            "network {} has no {fam} subnet for {flag}",
            network.name
        ))
    };
    if req.ipv4.is_some() && !has(true) {
        return Err(no_subnet("IPv4", "--ip"));
    }
    if req.ipv6.is_some() && !has(false) {
        return Err(no_subnet("IPv6", "--ip6"));
    }
    let ipv4 = match has(true) {
        true => Some(ipam.request_address(network_id, AddressFamily::V4, req.ipv4)?),
        false => None,
    };
    let ipv6 = match has(false) {
        true => match ipam.request_address(network_id, AddressFamily::V6, req.ipv6) {
            Ok(addr) => Some(addr),
            Err(err) => {
                release_addresses(ipam, network_id, (ipv4, None));
                return Err(err.into());
            }
        },
        false => None,
    };
    Ok((ipv4, ipv6))
}

fn new_sandbox_record(
    req: &ConnectRequest,
    netns: &Netns,
    st: &super::state::State,
) -> Result<SandboxRecord, CoreError> {
    let SandboxSelector::NetnsPath(path) = &req.sandbox else {
        return Err(CoreError::Internal("known sandbox without a record".into()));
    };
    let raw_name = match &req.name {
        Some(name) => name.clone(),
        None => path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    let name = SandboxName::parse(&raw_name).map_err(|msg| {
        CoreError::InvalidArgument(if req.name.is_some() {
            msg
        } else {
            format!("{msg}; pass --name")
        })
    })?;
    if let Some(other) = st.sandbox_name_taken(name.as_str()) {
        return Err(CoreError::AlreadyExists(format!(
            "the name {name} is already in use by sandbox {} ({}); choose another --name",
            crate::model::short_id(&other.id),
            other.netns_path
        )));
    }
    Ok(SandboxRecord {
        id: new_id(),
        name,
        netns_path: path.display().to_string(),
        netns_dev: netns.id().dev,
        netns_ino: netns.id().ino,
        created: now_rfc3339(),
        dns_servers: req.dns_servers.clone(),
    })
}

/// The interface name of a new endpoint: the one asked for (checked, and
/// free in the sandbox), else the first free `ethN`.
fn choose_ifname(
    st: &super::state::State,
    req: &ConnectRequest,
    sandbox: &SandboxRecord,
    network: &NetworkRecord,
) -> Result<String, CoreError> {
    if let Some(att) = &req.attachment {
        let ifname = req.ifname.as_deref();
        if st
            .endpoints_of_network(&network.id)
            .any(|e| e.record.is_attachment(&att.container_id, ifname))
        {
            return Err(CoreError::AlreadyExists(format!(
                "container {} is already attached to network {}{}",
                att.container_id,
                network.name,
                ifname.map(|n| format!(" as {n}")).unwrap_or_default()
            )));
        }
    }
    let Some(name) = &req.ifname else {
        return Ok(st.next_ifname(&sandbox.id));
    };
    if !cnm_drivers::bridge::is_valid_ifname(name) {
        return Err(CoreError::InvalidArgument(format!(
            "invalid interface name {name:?}: use 1-15 characters without '/', ':' or whitespace"
        )));
    }
    if st
        .endpoints_of_sandbox(&sandbox.id)
        .any(|e| &e.record.ifname == name)
    {
        return Err(CoreError::AlreadyExists(format!(
            "sandbox {} already has an interface {name}",
            sandbox.name
        )));
    }
    Ok(name.clone())
}

/// An endpoint's addresses: IPv4, IPv6.
type Addresses = (Option<IpNetwork>, Option<IpNetwork>);

/// Best-effort: gives addresses back to the network's IPAM driver.
fn release_addresses(ipam: &dyn IpamDriver, network_id: &str, (ipv4, ipv6): Addresses) {
    for addr in ipv4.iter().chain(ipv6.iter()) {
        if let Err(err) = ipam.release_address(network_id, addr.ip()) {
            tracing::warn!(network = %network_id, address = %addr, ipam = ipam.name(), error = %err, "release address");
        }
    }
}

pub(super) fn endpoint_spec(endpoint: &EndpointRecord) -> EndpointSpec {
    EndpointSpec {
        id: endpoint.id.clone(),
        mac: endpoint.mac,
        addresses: endpoint.addresses().collect(),
    }
}

/// Best-effort undo of a join: the sandbox side first (so the sandbox never
/// keeps a half-configured interface), then whatever the driver made.
fn rollback_join(
    driver: &dyn Driver,
    net: &NetworkSpec,
    ep: &EndpointSpec,
    netns: &Netns,
    ifname: &str,
) {
    if let Err(err) = super::sandbox_setup::remove_interface(netns, ifname) {
        tracing::warn!(iface = ifname, error = %err, "rollback: remove sandbox interface");
    }
    if let Err(err) = driver.leave(net, ep) {
        tracing::warn!(endpoint = %ep.id, error = %err, "rollback: driver leave");
    }
    delete_endpoint(driver, net, ep);
}

/// Best-effort end of an endpoint's life in its driver (after `leave`).
pub(super) fn delete_endpoint(driver: &dyn Driver, net: &NetworkSpec, ep: &EndpointSpec) {
    if let Err(err) = driver.delete_endpoint(net, ep) {
        tracing::warn!(endpoint = %ep.id, error = %err, "driver delete endpoint");
    }
}
