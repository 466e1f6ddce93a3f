//! The read side of `cnm bridge show|showstp|showmacs`: every bridge of
//! cnmd's network namespace, cnm's or not, straight from the kernel, with
//! the cnm network that owns it when there is one.

use std::collections::HashMap;

use cnm_drivers::bridge::{bridge_name_for, BridgeOptions};
use cnm_drivers::sys::{BridgeInfo, FdbEntry, Netlink};

use super::state::Phase;
use super::{Core, CoreError};
use crate::model::NetworkRecord;

/// A bridge as the kernel reports it, and the cnm network it belongs to.
#[derive(Debug, Clone)]
pub struct BridgeView {
    pub bridge: BridgeInfo,
    /// (name, id) of the owning network.
    pub network: Option<(String, String)>,
}

/// One forwarding entry of a bridge with its port's name and number.
#[derive(Debug, Clone)]
pub struct BridgeMac {
    pub entry: FdbEntry,
    pub port_name: String,
    pub port_no: u16,
}

impl Core {
    /// The bridges called `names` in that order, or every bridge by name
    /// when `names` is empty. Blocking (netlink).
    pub fn list_bridges(&self, names: &[String]) -> Result<Vec<BridgeView>, CoreError> {
        let mut nl = Netlink::open().map_err(CoreError::sys("list bridges"))?;
        let bridges = nl.bridges().map_err(CoreError::sys("list bridges"))?;
        let selected = if names.is_empty() {
            bridges
        } else {
            names
                .iter()
                .map(|name| find_bridge(&mut nl, &bridges, name).cloned())
                .collect::<Result<_, _>>()?
        };
        let owners = self.bridge_owners();
        Ok(selected
            .into_iter()
            .map(|bridge| BridgeView {
                network: owners.get(&bridge.name).cloned(),
                bridge,
            })
            .collect())
    }

    /// The forwarding database of bridge `name`, by MAC address, then port
    /// number and VLAN (brctl sorts by MAC only). Blocking (netlink).
    pub fn bridge_macs(&self, name: &str) -> Result<Vec<BridgeMac>, CoreError> {
        let context = || format!("list the forwarding database of {name}");
        let mut nl = Netlink::open().map_err(CoreError::sys(context()))?;
        let bridges = nl.bridges().map_err(CoreError::sys(context()))?;
        let bridge = find_bridge(&mut nl, &bridges, name)?;
        let entries = nl
            .bridge_fdb(bridge.index)
            .map_err(CoreError::sys(context()))?;
        Ok(with_ports(bridge, entries))
    }

    /// Bridge name → (network name, network id) of every bridge network.
    fn bridge_owners(&self) -> HashMap<String, (String, String)> {
        let st = self.state();
        st.networks
            .values()
            .filter(|e| e.phase != Phase::Creating)
            .filter_map(|e| {
                let bridge = bridge_name(&e.record)?;
                Some((bridge, (e.record.name.to_string(), e.record.id.clone())))
            })
            .collect()
    }
}

/// The Linux bridge of a network that has one cnmd programs the firewall
/// for: a bridge-driver network (its `bridge.name` option or the generated
/// name) or an overlay network (its per-host `cnmo…` bridge); None for
/// other drivers.
pub(super) fn bridge_name(net: &NetworkRecord) -> Option<String> {
    match net.driver.as_str() {
        "bridge" => match BridgeOptions::parse(&net.options).ok()?.bridge_name {
            Some(name) => Some(name),
            None => bridge_name_for(&net.id).ok(),
        },
        "overlay" => cnm_drivers::overlay::bridge_name_for(&net.id).ok(),
        _ => None,
    }
}

/// The bridge called `name`; brctl's two errors otherwise.
fn find_bridge<'a>(
    nl: &mut Netlink,
    bridges: &'a [BridgeInfo],
    name: &str,
) -> Result<&'a BridgeInfo, CoreError> {
    if let Some(bridge) = bridges.iter().find(|b| b.name == name) {
        return Ok(bridge);
    }
    match nl.link_by_name(name) {
        Ok(Some(_)) => Err(CoreError::FailedPrecondition(format!(
            "device `{name}` is not a bridge"
        ))),
        Ok(None) => Err(CoreError::NotFound(format!(
            "bridge `{name}` does not exist"
        ))),
        Err(err) => Err(CoreError::Sys {
            context: format!("look up bridge {name}"),
            source: err,
        }),
    }
}

/// Names and numbers the ports of `entries`, sorted; entries of a port
/// that left the bridge between the two dumps are dropped.
fn with_ports(bridge: &BridgeInfo, entries: Vec<FdbEntry>) -> Vec<BridgeMac> {
    let mut macs: Vec<BridgeMac> = entries
        .into_iter()
        .filter_map(|entry| {
            let port = bridge.ports.iter().find(|p| p.index == entry.port_index)?;
            Some(BridgeMac {
                port_name: port.name.clone(),
                port_no: port.port_no,
                entry,
            })
        })
        .collect();
    macs.sort_by_key(|m| (m.entry.mac, m.port_no, m.entry.vlan));
    macs
}

#[cfg(test)]
mod tests {
    use cnm_drivers::sys::BridgePortInfo;

    use super::*;

    fn entry(mac_last: u8, port_index: u32) -> FdbEntry {
        FdbEntry {
            mac: [2, 0, 0, 0, 0, mac_last],
            port_index,
            vlan: None,
            is_local: false,
            ageing: 0,
        }
    }

    #[test]
    fn macs_are_sorted_and_named_by_port() {
        let port = |index, name: &str, port_no| BridgePortInfo {
            index,
            name: name.into(),
            port_no,
            ..BridgePortInfo::default()
        };
        let bridge = BridgeInfo {
            ports: vec![port(7, "a", 2), port(8, "b", 1)],
            ..BridgeInfo::default()
        };
        let macs = with_ports(
            &bridge,
            vec![entry(9, 7), entry(3, 8), entry(3, 7), entry(1, 99)],
        );
        let got: Vec<_> = macs
            .iter()
            .map(|m| (m.entry.mac[5], m.port_name.as_str(), m.port_no))
            .collect();
        assert_eq!(got, [(3, "b", 1), (3, "a", 2), (9, "a", 2)]);
    }
}
