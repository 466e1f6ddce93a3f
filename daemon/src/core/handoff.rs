//! Endpoints whose interface is handed to the caller (libnetwork's remote
//! driver protocol, used by Docker): the driver makes the interface in the
//! daemon's own namespace under a temporary name, and the caller moves it
//! into its sandbox, renames and configures it. Addresses, published ports
//! and records stay the core's, as for any endpoint.
//!
//! Such an endpoint gets a sandbox record of its own with no namespace
//! (dev and inode 0): the caller owns the namespace. Its liveness is the
//! driver's interface alone, so reconcile keeps it while the veth exists,
//! wherever the caller has moved the container end.
//!
//! Order as in `connect.rs`: kernel first (rolled back on error), then one
//! flushed commit; a crash in between leaves an unrecorded veth that
//! reconcile deletes.

use std::net::IpAddr;
use std::path::Path;

use cnm_drivers::ipam::{AddressFamily, IpamDriver, PoolsRequest, SubnetWish};
use cnm_drivers::sys::Netns;
use cnm_drivers::{SandboxInterface, SandboxSpec};
use ipnetwork::IpNetwork;

use super::connect::{endpoint_spec, Plan};
use super::firewall_sync::default_host_ip;
use super::network_create::network_spec;
use super::state::{Entry, Phase};
use super::{Core, CoreError};
use crate::model::{
    mac_for, new_id, now_rfc3339, short_id, Attachment, EndpointRecord, NetworkRecord, Record,
    SandboxName, SandboxRecord,
};
use crate::ports::{self, PortRequest, PublishedPort, Targets};

/// The attachment owner of handed-off endpoints.
pub const HANDOFF_OWNER: &str = "docker";

/// A handed-off endpoint to create (libnetwork's CreateEndpoint).
#[derive(Debug, Clone)]
pub struct HandoffRequest {
    /// The caller's endpoint id (64 hex digits), kept as cnm's.
    pub id: String,
    /// Network id.
    pub network: String,
    /// Addresses with their prefix length; None: allocate one if the
    /// network has a subnet of that family.
    pub ipv4: Option<IpNetwork>,
    pub ipv6: Option<IpNetwork>,
    pub mac: Option<[u8; 6]>,
    /// The addresses were reserved with `reserve_address` already.
    pub reserved: bool,
}

/// The name of the container end while it waits in the daemon's namespace
/// (`x` is not a hex digit: no clash with bridge names, `cnm` + 12 hex).
pub fn handoff_ifname(endpoint_id: &str) -> String {
    format!("cnmx{}", endpoint_id.get(..11).unwrap_or(endpoint_id))
}

/// Whether `endpoint` was created by `create_handoff_endpoint`.
pub fn is_handoff(endpoint: &EndpointRecord) -> bool {
    endpoint
        .attachment
        .as_ref()
        .is_some_and(|a| a.owner == HANDOFF_OWNER)
}

impl Core {
    /// Makes the endpoint's interface pair in the daemon's namespace (the
    /// container end named `handoff_ifname`) and records it.
    pub fn create_handoff_endpoint(
        &self,
        req: HandoffRequest,
    ) -> Result<EndpointRecord, CoreError> {
        let plan = self.plan_handoff(&req)?;
        match self.wire_handoff(&plan) {
            Ok(endpoint) => {
                self.mark_connected(&plan, &endpoint);
                tracing::info!(network = %plan.network.name, endpoint = %endpoint.id,
                    iface = %endpoint.ifname, "handoff endpoint created");
                self.emit_network("connect", &plan.network, Some(&plan.sandbox.id));
                Ok(endpoint)
            }
            Err(err) => {
                self.forget_endpoint(&plan.endpoint);
                Err(err)
            }
        }
    }

    fn plan_handoff(&self, req: &HandoffRequest) -> Result<Plan, CoreError> {
        if req.id.len() < 12 || !req.id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(CoreError::InvalidArgument(format!(
                "invalid endpoint id {:?}: use hex digits",
                req.id
            )));
        }
        let network = self.state().find_network(&req.network)?.clone();
        let driver = self.drivers.get(&network.driver)?;
        if !driver.capabilities().creates_interfaces {
            return Err(CoreError::InvalidArgument(format!(
                "network {} ({} driver) makes no interfaces",
                network.name, network.driver
            )));
        }
        let ipam = self.drivers.ipam(&network.ipam_driver)?;
        let ipv4 = claim(
            ipam.as_ref(),
            &network,
            AddressFamily::V4,
            req.ipv4,
            req.reserved,
        )?;
        let ipv6 = claim(
            ipam.as_ref(),
            &network,
            AddressFamily::V6,
            req.ipv6,
            req.reserved,
        );
        let give_back = |addrs: &[Option<IpNetwork>]| {
            for addr in addrs.iter().flatten() {
                if let Err(err) = ipam.release_address(&network.id, addr.ip()) {
                    tracing::warn!(address = %addr, error = %err, "release address");
                }
            }
        };
        let ipv6 = match ipv6 {
            Ok(v6) => v6,
            Err(err) => {
                give_back(&[ipv4]);
                return Err(err);
            }
        };
        let mut st = self.state();
        let ready = st.network_phase(&network.id) == Some(Phase::Ready);
        if !ready || st.endpoints.contains_key(&req.id) {
            drop(st);
            give_back(&[ipv4, ipv6]);
            return Err(if ready {
                CoreError::AlreadyExists(format!("endpoint {} already exists", req.id))
            } else {
                CoreError::FailedPrecondition(format!(
                    "network {} is being created or removed; try again",
                    network.name
                ))
            });
        }
        let name = format!("docker-{}", short_id(&req.id));
        let sandbox = SandboxRecord {
            id: new_id(),
            name: SandboxName::parse(&name).map_err(CoreError::InvalidArgument)?,
            netns_path: String::new(),
            netns_dev: 0,
            netns_ino: 0,
            created: now_rfc3339(),
            dns_servers: Vec::new(),
        };
        let endpoint = EndpointRecord {
            id: req.id.clone(),
            network_id: network.id.clone(),
            sandbox_id: sandbox.id.clone(),
            ifname: handoff_ifname(&req.id),
            mac: req.mac.unwrap_or_else(|| mac_for(ipv4)),
            ipv4,
            ipv6,
            static_ipv4: req.ipv4.is_some(),
            static_ipv6: req.ipv6.is_some(),
            aliases: Vec::new(),
            gateway_v4: None,
            gateway_v6: None,
            default_route: !network.internal,
            created: now_rfc3339(),
            ports: Vec::new(),
            attachment: Some(Attachment {
                container_id: req.id.clone(),
                owner: HANDOFF_OWNER.to_owned(),
            }),
            host_ifname: None,
        };
        st.endpoints.insert(
            endpoint.id.clone(),
            Entry::new(endpoint.clone(), Phase::Creating),
        );
        Ok(Plan {
            network,
            driver,
            sandbox,
            endpoint,
        })
    }

    fn wire_handoff(&self, plan: &Plan) -> Result<EndpointRecord, CoreError> {
        let host = Netns::open(Path::new("/proc/self/ns/net"))
            .map_err(CoreError::sys("open the daemon's network namespace"))?;
        let net_spec = network_spec(&plan.network);
        let ep_spec = endpoint_spec(&plan.endpoint);
        let join = plan.driver.join(
            &net_spec,
            &ep_spec,
            SandboxSpec {
                netns: host.fd(),
                ifname: &plan.endpoint.ifname,
            },
        )?;
        let mut endpoint = plan.endpoint.clone();
        endpoint.gateway_v4 = join.gateway_v4;
        endpoint.gateway_v6 = join.gateway_v6;
        endpoint.default_route &= join.gateway_v4.is_some() || join.gateway_v6.is_some();
        endpoint.host_ifname = plan.driver.host_interface(&ep_spec);
        let committed = match join.interface {
            SandboxInterface::Created => self
                .store
                .commit(&[endpoint.put(), plan.sandbox.put()])
                .map_err(CoreError::from),
            other => Err(CoreError::Internal(format!(
                "driver {} placed the interface as {other:?}; handoff needs it created",
                plan.driver.name()
            ))),
        };
        if let Err(err) = committed {
            if let Err(undo) = plan.driver.leave(&net_spec, &ep_spec) {
                tracing::warn!(endpoint = %endpoint.id, error = %undo, "rollback: driver leave");
            }
            return Err(err);
        }
        Ok(endpoint)
    }

    /// A handed-off endpoint and its network.
    pub fn handoff_endpoint(&self, id: &str) -> Result<(EndpointRecord, NetworkRecord), CoreError> {
        let st = self.state();
        let endpoint = st
            .endpoints
            .get(id)
            .map(|e| e.record.clone())
            .filter(is_handoff)
            .ok_or_else(|| CoreError::NotFound(format!("endpoint {id} not found")))?;
        let network = st.find_network(&endpoint.network_id)?.clone();
        Ok((endpoint, network))
    }

    /// Deletes a handed-off endpoint: ports, interface pair (wherever the
    /// container end is), records. Unknown: nothing to do.
    pub fn delete_handoff_endpoint(&self, id: &str) -> Result<(), CoreError> {
        let (endpoint, network, driver) = {
            let mut st = self.state();
            let Some(entry) = st.endpoints.get_mut(id) else {
                return Ok(());
            };
            if !is_handoff(&entry.record) || entry.phase != Phase::Ready {
                return Err(CoreError::FailedPrecondition(format!(
                    "endpoint {id} is busy or not a handoff endpoint"
                )));
            }
            entry.phase = Phase::Removing;
            let endpoint = entry.record.clone();
            let network = st.find_network(&endpoint.network_id)?.clone();
            (
                endpoint,
                network.clone(),
                self.drivers.get(&network.driver)?,
            )
        };
        self.unpublish_ports(&endpoint);
        if let Err(err) = driver.leave(&network_spec(&network), &endpoint_spec(&endpoint)) {
            tracing::warn!(endpoint = %id, error = %err, "delete handoff endpoint: driver leave");
        }
        let sandbox_key = crate::store::Key::new(crate::store::Kind::Sandbox, &endpoint.sandbox_id);
        if let Err(err) = self
            .store
            .commit(&[endpoint.delete(), crate::store::Write::Delete(sandbox_key)])
        {
            if let Some(entry) = self.state().endpoints.get_mut(id) {
                entry.phase = Phase::Ready;
            }
            return Err(err.into());
        }
        self.forget_endpoint(&endpoint);
        self.publish_dns();
        self.emit_network("disconnect", &network, Some(&endpoint.sandbox_id));
        Ok(())
    }

    /// Publishes `requests` to a handed-off endpoint, replacing what it
    /// published before (libnetwork's ProgramExternalConnectivity).
    pub fn publish_handoff(
        &self,
        id: &str,
        requests: &[PortRequest],
    ) -> Result<Vec<PublishedPort>, CoreError> {
        let (old, endpoint) = {
            let mut st = self.state();
            let entry = st
                .endpoints
                .get(id)
                .filter(|e| is_handoff(&e.record) && e.phase == Phase::Ready)
                .ok_or_else(|| CoreError::NotFound(format!("endpoint {id} not found")))?;
            let old = entry.record.clone();
            let network = st.find_network(&old.network_id)?.clone();
            if !old.ports.is_empty() {
                st.ports.release(id);
            }
            let targets = Targets {
                ipv4: old.ipv4.map(|a| a.ip()),
                ipv6: old.ipv6.map(|a| a.ip()),
            };
            let default_host = default_host_ip(&network, self.default_host_ip);
            let owner = format!("docker endpoint {}", short_id(id));
            let planned = ports::plan(requests, targets, default_host, &mut st.ports, id, &owner);
            let ports = match planned {
                Ok(ports) => ports,
                Err(msg) => {
                    for port in &old.ports {
                        st.ports
                            .hold(port.protocol, port.host, port.host_port, id, &owner);
                    }
                    return Err(CoreError::AlreadyExists(msg));
                }
            };
            let mut endpoint = old.clone();
            endpoint.ports = ports;
            (old, endpoint)
        };
        self.unpublish_ports(&old);
        let done = self.publish_ports(&endpoint).and_then(|()| {
            self.store.commit(&[endpoint.put()]).map_err(|err| {
                self.unpublish_ports(&endpoint);
                CoreError::from(err)
            })
        });
        let mut st = self.state();
        match done {
            Ok(()) => {
                if let Some(entry) = st.endpoints.get_mut(id) {
                    entry.record = endpoint.clone();
                }
                Ok(endpoint.ports)
            }
            Err(err) => {
                // The record still lists the old ports; they are gone from
                // the kernel, so forget them (a restart republishes none).
                st.ports.release(id);
                if let Some(entry) = st.endpoints.get_mut(id) {
                    entry.record.ports.clear();
                }
                Err(err)
            }
        }
    }

    /// Withdraws a handed-off endpoint's published ports.
    pub fn unpublish_handoff(&self, id: &str) -> Result<(), CoreError> {
        let endpoint = {
            let st = self.state();
            match st.endpoints.get(id) {
                Some(e) if is_handoff(&e.record) && !e.record.ports.is_empty() => e.record.clone(),
                _ => return Ok(()),
            }
        };
        self.unpublish_ports(&endpoint);
        let mut cleared = endpoint.clone();
        cleared.ports.clear();
        self.store.commit(&[cleared.put()])?;
        let mut st = self.state();
        st.ports.release(id);
        if let Some(entry) = st.endpoints.get_mut(id) {
            entry.record.ports.clear();
        }
        Ok(())
    }
}

/// IPAM for callers that ask for pools and addresses before networks and
/// endpoints exist (Docker's IPAM driver protocol), through the built-in
/// IPAM driver.
impl Core {
    /// Reserves a subnet that no network uses yet, under the placeholder
    /// network id `pool:SUBNET`, until a network takes it (`release_pool`
    /// first) or the caller gives it back. None: pick an IPv4 one from the
    /// default pools.
    pub fn reserve_pool(&self, subnet: Option<IpNetwork>) -> Result<IpNetwork, CoreError> {
        let ipam = self.drivers.ipam("")?;
        let v6 = subnet.is_some_and(|s| s.is_ipv6());
        let name = "docker-pool";
        let planned = |network_id: String| PoolsRequest {
            network_id,
            network_name: name.to_owned(),
            subnets: vec![SubnetWish {
                subnet,
                ..SubnetWish::default()
            }],
            enable_ipv6: v6,
            ..PoolsRequest::default()
        };
        // The placeholder id names the subnet, known only once chosen: a
        // picked subnet is asked for a second time under its own name.
        let chosen = match subnet {
            Some(subnet) => subnet,
            None => {
                let scratch = new_id();
                let pools = ipam.request_pools(&planned(scratch.clone()))?;
                ipam.release_pools(&scratch)?;
                pools
                    .first()
                    .ok_or_else(|| CoreError::Internal("IPAM chose no subnet".into()))?
                    .subnet
            }
        };
        ipam.request_pools(&PoolsRequest {
            subnets: vec![SubnetWish {
                subnet: Some(chosen),
                ..SubnetWish::default()
            }],
            ..planned(pool_id(chosen))
        })?;
        Ok(chosen)
    }

    /// Gives back a subnet reserved by `reserve_pool` (no-op if none).
    pub fn release_pool(&self, subnet: IpNetwork) {
        if let Ok(ipam) = self.drivers.ipam("") {
            if let Err(err) = ipam.release_pools(&pool_id(subnet)) {
                tracing::warn!(subnet = %subnet, error = %err, "release pool");
            }
        }
    }

    /// The network that has `subnet`, if any.
    pub fn network_with_subnet(&self, subnet: IpNetwork) -> Option<NetworkRecord> {
        let st = self.state();
        st.networks
            .values()
            .map(|e| &e.record)
            .find(|n| n.subnets.iter().any(|s| s.subnet == subnet))
            .cloned()
    }

    /// Allocates an address on `network` before its endpoint exists.
    pub fn reserve_address(
        &self,
        network: &str,
        family: AddressFamily,
        requested: Option<IpAddr>,
    ) -> Result<IpNetwork, CoreError> {
        let network = self.state().find_network(network)?.clone();
        let ipam = self.drivers.ipam(&network.ipam_driver)?;
        Ok(ipam.request_address(&network.id, family, requested)?)
    }

    /// Returns an address from `reserve_address`, unless an endpoint holds it.
    pub fn release_address(&self, network: &str, addr: IpAddr) {
        let network = {
            let st = self.state();
            let Ok(network) = st.find_network(network).cloned() else {
                return;
            };
            if st
                .endpoints_of_network(&network.id)
                .any(|e| e.record.addresses().any(|a| a.ip() == addr))
            {
                return;
            }
            network
        };
        let released = self
            .drivers
            .ipam(&network.ipam_driver)
            .and_then(|ipam| Ok(ipam.release_address(&network.id, addr)?));
        if let Err(err) = released {
            tracing::warn!(network = %network.name, address = %addr, error = %err.full_message(), "release address");
        }
    }
}

fn pool_id(subnet: IpNetwork) -> String {
    format!("pool:{subnet}")
}

/// The address of one family for a new handoff endpoint.
fn claim(
    ipam: &dyn IpamDriver,
    network: &NetworkRecord,
    family: AddressFamily,
    requested: Option<IpNetwork>,
    reserved: bool,
) -> Result<Option<IpNetwork>, CoreError> {
    let has = network
        .subnets
        .iter()
        .any(|s| AddressFamily::of(s.subnet.ip()) == family);
    match requested {
        Some(addr) if AddressFamily::of(addr.ip()) != family => Err(CoreError::InvalidArgument(
            format!("address {addr} is not {family}"),
        )),
        Some(addr) if reserved => Ok(Some(addr)),
        Some(addr) => Ok(Some(ipam.request_address(
            &network.id,
            family,
            Some(addr.ip()),
        )?)),
        None if has => Ok(Some(ipam.request_address(&network.id, family, None)?)),
        None => Ok(None),
    }
}
