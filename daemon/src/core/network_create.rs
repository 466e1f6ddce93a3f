//! `net create`: validate everything, record the network, make its kernel
//! objects.
//!
//! Order: the IPAM driver picks the subnets and the network driver checks
//! the request, both without the state lock (either may be a plugin); then
//! the name is taken under the lock, the record is committed, and the
//! driver makes the bridge. A crash after the commit leaves a record
//! without a bridge, which reconcile repairs by making the bridge (as it
//! does after a reboot); a crash before it leaves nothing recorded (the
//! built-in IPAM's reservations live in memory only; an IPAM plugin may
//! keep the pools of a network that was never recorded, as with Docker).

use std::collections::BTreeMap;

use cnm_drivers::ipam::{IpamDriver, PoolsRequest, SubnetWish};
use cnm_drivers::sys::Netlink;
use cnm_drivers::{Driver, HostDriver, NetworkSpec, NullDriver, SubnetSpec};
use ipnetwork::IpNetwork;

use super::dns_sync::{dns_unavailable, DNS_OPTION};
use super::firewall_sync::{enable_forwarding, network_rules};
use super::state::{Entry, Phase};
use super::{Core, CoreError};
use crate::ipam::{subnet_config, SubnetRequest};
use crate::model::{
    check_labels, check_options, new_id, now_rfc3339, NetworkName, NetworkRecord, Record,
};

/// What `net create` asks for, parsed but not yet validated against state.
#[derive(Debug, Clone, Default)]
pub struct CreateNetworkRequest {
    pub name: String,
    /// Empty = "bridge".
    pub driver: String,
    pub enable_ipv6: bool,
    pub internal: bool,
    /// Empty = "default".
    pub ipam_driver: String,
    /// `--ipam-opt`, for the IPAM driver.
    pub ipam_options: BTreeMap<String, String>,
    pub subnets: Vec<SubnetRequest>,
    pub options: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    /// `--dns`: upstream resolvers of the network's embedded DNS.
    pub dns_servers: Vec<std::net::IpAddr>,
}

impl Core {
    pub fn create_network(&self, req: CreateNetworkRequest) -> Result<NetworkRecord, CoreError> {
        self.create_network_inner(req, false)
    }

    pub(super) fn create_network_inner(
        &self,
        req: CreateNetworkRequest,
        builtin: bool,
    ) -> Result<NetworkRecord, CoreError> {
        let name = NetworkName::parse(&req.name).map_err(CoreError::InvalidArgument)?;
        let driver_name = if req.driver.is_empty() {
            "bridge"
        } else {
            req.driver.as_str()
        };
        let driver = self.drivers.get(driver_name)?;
        check_request(&req, driver.as_ref(), builtin)?;
        let ipam = self.ipam_for(driver.as_ref(), &req.ipam_driver)?;
        self.check_name_free(&name)?;
        let mut record = self.plan_network(&req, name, driver.as_ref(), ipam.as_ref(), builtin)?;
        // Checked before the definition reaches the other hosts.
        let published = driver
            .validate_network(&network_spec(&record))
            .map_err(CoreError::from)
            .and_then(|()| self.publish_global_network(&mut record));
        if let Err(err) = published {
            release_pools(ipam.as_ref(), &record);
            return Err(err);
        }
        let spec = network_spec(&record);
        let reserved = driver
            .validate_network(&spec)
            .map_err(CoreError::from)
            .and_then(|()| self.reserve_network(&record));
        if let Err(err) = reserved {
            release_pools(ipam.as_ref(), &record);
            return Err(err);
        }
        let made = self.make_network(&record, driver.as_ref(), &spec);
        if let Err(err) = made {
            self.unwind_network(&record, driver.as_ref(), &spec);
            return Err(err);
        }
        if let Some(entry) = self.state().networks.get_mut(&record.id) {
            entry.phase = Phase::Ready;
        }
        self.publish_dns();
        tracing::info!(network = %record.name, id = %record.id, driver = %record.driver, "network created");
        if let Some(reason) = dns_unavailable(driver.name()) {
            tracing::info!(network = %record.name, "embedded DNS off ({DNS_OPTION}=false): {reason}");
        }
        self.emit_network("create", &record, None);
        Ok(record)
    }

    fn check_name_free(&self, name: &NetworkName) -> Result<(), CoreError> {
        match self.state().network_by_name(name.as_str()) {
            Some(_) => Err(CoreError::AlreadyExists(format!(
                "network with name {name} already exists"
            ))),
            None => Ok(()),
        }
    }

    /// The network's record, with subnets from its IPAM driver (which keeps
    /// them from now on). Runs without the state lock: a plugin may take
    /// its time.
    fn plan_network(
        &self,
        req: &CreateNetworkRequest,
        name: NetworkName,
        driver: &dyn Driver,
        ipam: &dyn IpamDriver,
        builtin: bool,
    ) -> Result<NetworkRecord, CoreError> {
        let id = new_id();
        let subnets = if driver.capabilities().creates_interfaces {
            // Host routes matter only when IPAM picks a subnet from its pools.
            let avoid = if needs_pool(req) {
                host_routes()?
            } else {
                Vec::new()
            };
            let pools = ipam.request_pools(&PoolsRequest {
                network_id: id.clone(),
                network_name: name.to_string(),
                subnets: req.subnets.iter().map(subnet_wish).collect(),
                enable_ipv6: req.enable_ipv6,
                options: req.ipam_options.clone(),
                avoid,
            })?;
            pools.iter().map(subnet_config).collect()
        } else {
            Vec::new()
        };
        Ok(NetworkRecord {
            id,
            name,
            created: now_rfc3339(),
            driver: driver.name().to_owned(),
            scope: driver.capabilities().scope.to_owned(),
            enable_ipv6: req.enable_ipv6,
            internal: req.internal,
            ipam_driver: ipam.name().to_owned(),
            ipam_options: req.ipam_options.clone(),
            subnets,
            options: record_options(req, driver),
            labels: req.labels.clone(),
            builtin,
            dns_servers: req.dns_servers.clone(),
        })
    }

    /// Takes the name (checked again: another create may have taken it
    /// while IPAM and the driver were asked) and shows the network as
    /// being created.
    fn reserve_network(&self, record: &NetworkRecord) -> Result<(), CoreError> {
        let mut st = self.state();
        if st.network_by_name(record.name.as_str()).is_some() {
            return Err(CoreError::AlreadyExists(format!(
                "network with name {} already exists",
                record.name
            )));
        }
        st.networks.insert(
            record.id.clone(),
            Entry::new(record.clone(), Phase::Creating),
        );
        Ok(())
    }

    pub(super) fn add_to_firewall(&self, record: &NetworkRecord) -> Result<(), CoreError> {
        let Some(rules) = network_rules(record) else {
            return Ok(());
        };
        enable_forwarding(record.enable_ipv6);
        self.firewall.add_network(&rules).map_err(|e| {
            CoreError::Internal(format!("add network {} to the firewall: {e}", record.name))
        })
    }

    /// Makes a reserved network real: record first, then kernel objects and
    /// firewall rules. On error the caller undoes what was made.
    pub(super) fn make_network(
        &self,
        record: &NetworkRecord,
        driver: &dyn Driver,
        spec: &NetworkSpec,
    ) -> Result<(), CoreError> {
        self.store
            .commit(&[record.put()])
            .map_err(CoreError::from)
            .and_then(|()| driver.create_network(spec).map_err(CoreError::from))
            .and_then(|()| self.add_to_firewall(record))
    }

    /// Undoes a half-made network: kernel objects, record, reservations.
    fn unwind_network(&self, record: &NetworkRecord, driver: &dyn Driver, spec: &NetworkSpec) {
        if let Err(err) = self.firewall.remove_network(&record.id) {
            tracing::warn!(network = %record.name, error = %err, "rollback: remove network from firewall");
        }
        if let Err(err) = driver.delete_network(spec) {
            tracing::warn!(network = %record.name, error = %err, "rollback: delete network objects");
        }
        if let Err(err) = self.store.commit(&[record.delete()]) {
            tracing::warn!(network = %record.name, error = %err, "rollback: delete network record");
        }
        self.state().networks.remove(&record.id);
        if let Ok(ipam) = self.drivers.ipam(&record.ipam_driver) {
            release_pools(ipam.as_ref(), record);
        }
    }
}

/// Best-effort: the network is gone (or was never made) either way.
pub(super) fn release_pools(ipam: &dyn IpamDriver, record: &NetworkRecord) {
    if record.subnets.is_empty() {
        return;
    }
    if let Err(err) = ipam.release_pools(&record.id) {
        tracing::warn!(network = %record.name, ipam = ipam.name(), error = %err, "release the network's pools");
    }
}

fn subnet_wish(req: &SubnetRequest) -> SubnetWish {
    SubnetWish {
        subnet: req.subnet,
        ip_range: req.ip_range,
        gateway: req.gateway,
        aux_addresses: req.aux_addresses.clone(),
    }
}

fn check_request(
    req: &CreateNetworkRequest,
    driver: &dyn Driver,
    builtin: bool,
) -> Result<(), CoreError> {
    check_labels(&req.labels).map_err(CoreError::InvalidArgument)?;
    check_options(&req.options).map_err(CoreError::InvalidArgument)?;
    if let Some(value) = req.options.get(DNS_OPTION) {
        if value != "true" && value != "false" {
            return Err(CoreError::InvalidArgument(format!(
                "invalid option {DNS_OPTION}={value}: use true or false"
            )));
        }
    }
    let no_dns = dns_unavailable(driver.name());
    if let (Some(reason), Some("true")) = (no_dns, req.options.get(DNS_OPTION).map(String::as_str))
    {
        return Err(CoreError::InvalidArgument(format!(
            "{DNS_OPTION}=true: the embedded DNS cannot serve {} networks: {reason}",
            driver.name()
        )));
    }
    if !driver.capabilities().creates_interfaces {
        // A plugin without interfaces may have many networks; the built-in
        // host and null drivers have their one network each.
        let singleton = matches!(driver.name(), HostDriver::NAME | NullDriver::NAME);
        if singleton && !builtin {
            return Err(CoreError::InvalidArgument(format!(
                "only one instance of the {0} network is allowed: use the built-in network {0:?}",
                if driver.name() == "null" {
                    "none"
                } else {
                    driver.name()
                }
            )));
        }
        if !req.subnets.is_empty() || req.enable_ipv6 {
            return Err(CoreError::InvalidArgument(format!(
                "driver {} does not take subnets or IPv6",
                driver.name()
            )));
        }
    }
    Ok(())
}

/// The options to record: the request's, plus `dns=false` where the
/// embedded DNS cannot serve the driver, so `inspect` shows it is off.
fn record_options(req: &CreateNetworkRequest, driver: &dyn Driver) -> BTreeMap<String, String> {
    let mut options = req.options.clone();
    if dns_unavailable(driver.name()).is_some() {
        options.insert(DNS_OPTION.to_owned(), "false".to_owned());
    }
    options
}

fn needs_pool(req: &CreateNetworkRequest) -> bool {
    let has = |v4: bool| {
        req.subnets
            .iter()
            .any(|s| s.subnet.is_some_and(|n| n.is_ipv4() == v4))
    };
    !has(true) || (req.enable_ipv6 && !has(false))
}

/// Prefixes routed in the daemon's namespace, so IPAM's pools skip them.
/// Default routes cover everything and are left out.
fn host_routes() -> Result<Vec<IpNetwork>, CoreError> {
    let routes = Netlink::open()
        .and_then(|mut nl| nl.routes())
        .map_err(CoreError::sys("list host routes"))?;
    Ok(routes
        .into_iter()
        .map(|r| r.dst)
        .filter(|dst| dst.prefix() > 0)
        .collect())
}

/// The driver's view of a network record.
pub(super) fn network_spec(record: &NetworkRecord) -> NetworkSpec {
    NetworkSpec {
        id: record.id.clone(),
        name: record.name.to_string(),
        // Options the core itself reads are not the driver's business.
        options: record
            .options
            .iter()
            .filter(|(k, _)| k.as_str() != DNS_OPTION)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        subnets: record
            .subnets
            .iter()
            .map(|s| SubnetSpec {
                subnet: s.subnet,
                gateway: s.gateway,
            })
            .collect(),
        internal: record.internal,
        enable_ipv6: record.enable_ipv6,
    }
}
