//! `net create`: validate everything, record the network, make its kernel
//! objects.
//!
//! Order: the record is committed first, then the driver makes the bridge.
//! A crash in between leaves a record without a bridge, which reconcile
//! repairs by making the bridge (as it does after a reboot).

use std::collections::BTreeMap;

use cnm_drivers::sys::Netlink;
use cnm_drivers::{Driver, NetworkSpec, SubnetSpec};
use ipnetwork::IpNetwork;

use super::dns_sync::{dns_unavailable, DNS_OPTION};
use super::firewall_sync::{enable_forwarding, network_rules};
use super::state::{Entry, Phase};
use super::{Core, CoreError};
use crate::ipam::SubnetRequest;
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
    pub ipam_driver: String,
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
        // Host routes matter only when IPAM picks a subnet from its pools.
        let routed = if driver.capabilities().creates_interfaces && needs_pool(&req) {
            host_routes()?
        } else {
            Vec::new()
        };
        let record = self.reserve_network(&req, name, driver.as_ref(), &routed, builtin)?;
        let spec = network_spec(&record);
        let made = self
            .store
            .commit(&[record.put()])
            .map_err(CoreError::from)
            .and_then(|()| driver.create_network(&spec).map_err(CoreError::from))
            .and_then(|()| self.add_to_firewall(&record));
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
        self.emit(
            "network",
            "create",
            &record.id,
            &[("name", record.name.as_str()), ("type", &record.driver)],
        );
        Ok(record)
    }

    /// Checks the request against the state and reserves name and subnets.
    fn reserve_network(
        &self,
        req: &CreateNetworkRequest,
        name: NetworkName,
        driver: &dyn Driver,
        routed: &[IpNetwork],
        builtin: bool,
    ) -> Result<NetworkRecord, CoreError> {
        let mut st = self.state();
        if st.network_by_name(name.as_str()).is_some() {
            return Err(CoreError::AlreadyExists(format!(
                "network with name {name} already exists"
            )));
        }
        let subnets = if driver.capabilities().creates_interfaces {
            st.ipam
                .plan_network(name.as_str(), &req.subnets, req.enable_ipv6, routed)?
        } else {
            Vec::new()
        };
        let record = NetworkRecord {
            id: new_id(),
            name,
            created: now_rfc3339(),
            driver: driver.name().to_owned(),
            scope: driver.capabilities().scope.to_owned(),
            enable_ipv6: req.enable_ipv6,
            internal: req.internal,
            ipam_driver: "default".into(),
            subnets,
            options: record_options(req, driver),
            labels: req.labels.clone(),
            builtin,
            dns_servers: req.dns_servers.clone(),
        };
        driver.validate_network(&network_spec(&record))?;
        st.ipam
            .add_network(&record.id, record.name.as_str(), &record.subnets)?;
        st.networks.insert(
            record.id.clone(),
            Entry::new(record.clone(), Phase::Creating),
        );
        Ok(record)
    }

    fn add_to_firewall(&self, record: &NetworkRecord) -> Result<(), CoreError> {
        let Some(rules) = network_rules(record) else {
            return Ok(());
        };
        enable_forwarding(record.enable_ipv6);
        self.firewall.add_network(&rules).map_err(|e| {
            CoreError::Internal(format!("add network {} to the firewall: {e}", record.name))
        })
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
        let mut st = self.state();
        st.networks.remove(&record.id);
        st.ipam.remove_network(&record.id);
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
    if !req.ipam_driver.is_empty() && req.ipam_driver != "default" {
        return Err(CoreError::NotFound(format!(
            "IPAM driver {} not found; available: default",
            req.ipam_driver
        )));
    }
    if !driver.capabilities().creates_interfaces {
        if !builtin {
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
