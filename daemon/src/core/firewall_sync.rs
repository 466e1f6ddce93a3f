//! Keeping table `inet cnm` equal to the store: which networks the firewall
//! knows, which ports are published, and putting it all back when someone
//! deletes or flushes the table.

use std::net::IpAddr;
use std::sync::{Arc, Weak};

use cnm_drivers::bridge::BridgeOptions;
use cnm_drivers::sys::write_sysctl;
use cnm_firewall::{NetworkRules, PortMapping};

use super::bridges::bridge_name;
use super::state::Phase;
use super::{full_message, Core, CoreError};
use crate::model::{EndpointRecord, NetworkRecord};
use crate::ports::HostAddr;

impl Core {
    /// Rewrites the whole table from the in-memory state (start-up, and
    /// whenever the watcher sees the table damaged).
    pub(super) fn restore_firewall(&self) -> Result<(), CoreError> {
        let (networks, mappings) = {
            let st = self.state();
            let networks: Vec<NetworkRules> = st
                .networks
                .values()
                .filter_map(|e| network_rules(&e.record))
                .collect();
            // Ports on networks without rules are their plugin's to publish.
            let mappings: Vec<PortMapping> = st
                .endpoints
                .values()
                .filter(|e| e.phase != Phase::Creating)
                .filter(|e| networks.iter().any(|n| n.id == e.record.network_id))
                .flat_map(|e| port_mappings(&e.record))
                .collect();
            (networks, mappings)
        };
        if networks
            .iter()
            .any(|n| n.subnets.iter().any(|s| s.is_ipv6()))
        {
            enable_forwarding(true);
        }
        self.firewall.restore(&networks, &mappings).map_err(|e| {
            CoreError::Internal(format!("restore table inet cnm: {}", full_message(&e)))
        })?;
        tracing::info!(
            networks = networks.len(),
            ports = mappings.len(),
            "firewall table restored"
        );
        Ok(())
    }

    /// Starts the watcher that restores the table within ~1 s when someone
    /// deletes it or flushes the ruleset.
    pub fn watch_firewall(self: &Arc<Self>) -> Result<(), CoreError> {
        let core: Weak<Core> = Arc::downgrade(self);
        let watcher = cnm_firewall::watch(self.firewall.clone(), move || {
            let Some(core) = core.upgrade() else { return };
            tracing::warn!("table inet cnm was changed by someone else; restoring it");
            if let Err(err) = core.restore_firewall() {
                tracing::error!(error = %err.full_message(), "restoring the firewall table failed");
            }
        })
        .map_err(|e| CoreError::Internal(format!("watch table inet cnm: {}", full_message(&e))))?;
        *self
            .firewall_watcher
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(watcher);
        Ok(())
    }

    /// Warnings for `cnm system info`: other tables that drop forwarded traffic.
    pub fn firewall_warnings(&self) -> Vec<String> {
        match self.firewall.forward_blockers() {
            Ok(blockers) => blockers
                .iter()
                .map(|b| format!("{b}: containers may not reach or be reached from outside"))
                .collect(),
            Err(err) => vec![format!(
                "cannot inspect the host's other nftables tables: {err}"
            )],
        }
    }
}

/// The firewall's view of a network; None for drivers without a bridge.
pub(super) fn network_rules(net: &NetworkRecord) -> Option<NetworkRules> {
    let bridge = bridge_name(net)?;
    // An overlay network's bridge on this host is its way out and in, as
    // a bridge network's is: egress masqueraded through this host, ports
    // published here to its containers here; no bridge options to read.
    let (masquerade, icc) = match net.driver.as_str() {
        "bridge" => {
            let options = BridgeOptions::parse(&net.options).ok()?;
            (options.enable_ip_masquerade, options.enable_icc)
        }
        _ => (true, true),
    };
    Some(NetworkRules {
        id: net.id.clone(),
        bridge,
        subnets: net.subnets.iter().map(|s| s.subnet).collect(),
        internal: net.internal,
        masquerade,
        icc,
    })
}

/// The default host address of a network's published ports: its
/// `host_binding_ipv4` option, else the daemon's `--default-host-ip`.
pub(super) fn default_host_ip(
    net: &NetworkRecord,
    daemon_default: Option<IpAddr>,
) -> Option<IpAddr> {
    BridgeOptions::parse(&net.options)
        .ok()
        .and_then(|o| o.host_binding_ipv4)
        .or(daemon_default)
}

pub(super) fn port_mappings(ep: &EndpointRecord) -> Vec<PortMapping> {
    ep.ports
        .iter()
        .map(|p| PortMapping {
            protocol: p.protocol,
            host_ip: match p.host {
                HostAddr::Ip(ip) => Some(ip),
                HostAddr::AnyV4 | HostAddr::AnyV6 => None,
            },
            host_port: p.host_port,
            container_ip: p.container_ip,
            container_port: p.container_port,
        })
        .collect()
}

/// Containers on bridges reach the world and published ports reach them
/// only with forwarding on, as Docker sets it. IPv6 forwarding only when a
/// network has IPv6: it changes how the host treats router advertisements.
pub(super) fn enable_forwarding(ipv6: bool) {
    let mut keys = vec!["net/ipv4/ip_forward"];
    if ipv6 {
        keys.push("net/ipv6/conf/all/forwarding");
    }
    for key in keys {
        if let Err(err) = write_sysctl(key, "1") {
            tracing::warn!(key, error = %err, "cannot enable forwarding");
        }
    }
}
