//! Who makes an endpoint's published ports reachable. On networks whose
//! firewall cnmd programs (bridge) that is cnmd itself, in table `inet
//! cnm`. On a plugin's network cnmd cannot know the data plane, so, as
//! libnetwork does with remote drivers, the plugin is told the bindings
//! (ProgramExternalConnectivity) and does the work; cnmd still picks the
//! host ports, so they never collide with anyone else's, and lists them.
//! The other built-ins refuse `-p` at connect.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use cnm_drivers::{Driver, NetworkSpec, PortBinding};

use super::connect::endpoint_spec;
use super::firewall_sync::{network_rules, port_mappings};
use super::network_create::network_spec;
use super::{full_message, Core, CoreError};
use crate::model::EndpointRecord;
use crate::ports::HostAddr;

enum Publisher {
    Firewall,
    Driver(Arc<dyn Driver>, NetworkSpec),
}

impl Core {
    fn publisher(&self, endpoint: &EndpointRecord) -> Result<Publisher, CoreError> {
        // Under the lock, without copying the record: the firewall case
        // (every bridge network, every connect with -p) needs nothing of it.
        let (driver, spec) = {
            let st = self.state();
            let network = st.find_network(&endpoint.network_id)?;
            if network_rules(network).is_some() {
                return Ok(Publisher::Firewall);
            }
            (network.driver.clone(), network_spec(network))
        };
        Ok(Publisher::Driver(self.drivers.get(&driver)?, spec))
    }

    /// Publishes an endpoint's ports: one firewall transaction, or one call
    /// to its network's plugin.
    pub(super) fn publish_ports(&self, endpoint: &EndpointRecord) -> Result<(), CoreError> {
        if endpoint.ports.is_empty() {
            return Ok(());
        }
        match self.publisher(endpoint)? {
            Publisher::Firewall => self
                .firewall
                .publish(&port_mappings(endpoint))
                .map_err(|err| {
                    CoreError::Internal(format!(
                        "publish ports of endpoint {}: {}",
                        endpoint.id,
                        full_message(&err)
                    ))
                }),
            Publisher::Driver(driver, net) => Ok(driver.program_external_connectivity(
                &net,
                &endpoint_spec(endpoint),
                &port_bindings(endpoint),
            )?),
        }
    }

    /// Withdraws an endpoint's published ports; an error means they may
    /// still be there.
    pub(super) fn try_unpublish_ports(&self, endpoint: &EndpointRecord) -> Result<(), CoreError> {
        if endpoint.ports.is_empty() {
            return Ok(());
        }
        match self.publisher(endpoint)? {
            Publisher::Firewall => {
                self.firewall
                    .unpublish(&port_mappings(endpoint))
                    .map_err(|err| {
                        CoreError::Internal(format!("unpublish ports: {}", full_message(&err)))
                    })
            }
            Publisher::Driver(driver, net) => {
                Ok(driver.revoke_external_connectivity(&net, &endpoint_spec(endpoint))?)
            }
        }
    }

    /// Best-effort [`Core::try_unpublish_ports`] (rollbacks, replacements).
    pub(super) fn unpublish_ports(&self, endpoint: &EndpointRecord) {
        if let Err(err) = self.try_unpublish_ports(endpoint) {
            tracing::warn!(endpoint = %endpoint.id, error = %err, "unpublish ports");
        }
    }
}

/// An endpoint's ports as a driver receives them.
pub(super) fn port_bindings(endpoint: &EndpointRecord) -> Vec<PortBinding> {
    endpoint
        .ports
        .iter()
        .map(|p| PortBinding {
            protocol: p.protocol.name().to_owned(),
            // 0.0.0.0 and :: as Docker sends them: "every address" of one
            // family, not of both.
            host_ip: Some(match p.host {
                HostAddr::Ip(ip) => ip,
                HostAddr::AnyV4 => Ipv4Addr::UNSPECIFIED.into(),
                HostAddr::AnyV6 => Ipv6Addr::UNSPECIFIED.into(),
            }),
            host_port: p.host_port,
            container_port: p.container_port,
        })
        .collect()
}
