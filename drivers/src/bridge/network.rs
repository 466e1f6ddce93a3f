//! A bridge network, validated, and the verbs on its bridge: create (or
//! adopt) and configure it, delete it.

use std::net::IpAddr;

use ipnetwork::IpNetwork;

use super::names::{bridge_alias, bridge_mac, bridge_name_for};
use super::options::BridgeOptions;
use crate::driver::NetworkSpec;
use crate::sys::{BridgeSpec, Link, Netlink, SysError};
use crate::DriverError;

/// Everything the bridge verbs need from a `NetworkSpec`, checked.
#[derive(Debug, Clone)]
pub(super) struct BridgeNetwork {
    pub id: String,
    /// The network's user-facing name, for messages.
    pub name: String,
    /// The bridge's interface name.
    pub bridge: String,
    pub options: BridgeOptions,
    /// Gateway addresses with their subnet's prefix length.
    pub gateways: Vec<IpNetwork>,
    pub internal: bool,
}

impl BridgeNetwork {
    /// Validates options, id and subnets.
    pub fn new(net: &NetworkSpec) -> Result<BridgeNetwork, DriverError> {
        let options = BridgeOptions::parse(&net.options)?;
        let generated = bridge_name_for(&net.id)?;
        let gateways = net
            .gateways()?
            .into_iter()
            .map(|(subnet, gateway)| {
                IpNetwork::new(gateway, subnet.prefix()).map_err(|e| DriverError::InvalidSpec {
                    object: format!("network `{}`", net.name),
                    reason: e.to_string(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(BridgeNetwork {
            id: net.id.clone(),
            name: net.name.clone(),
            bridge: options.bridge_name.clone().unwrap_or(generated),
            options,
            gateways,
            internal: net.internal,
        })
    }

    /// The first gateway of the given family, unless the network is internal.
    pub fn gateway(&self, v6: bool) -> Option<IpAddr> {
        if self.internal {
            return None;
        }
        self.gateways
            .iter()
            .map(IpNetwork::ip)
            .find(|ip| ip.is_ipv6() == v6)
    }

    /// Whether `link` is a bridge this driver made for this network.
    pub fn created(&self, link: &Link) -> bool {
        link.alias.as_deref() == Some(bridge_alias(&self.id).as_str())
    }
}

/// `create_network`: the bridge exists, carries the gateways and is up.
pub(super) fn create(net: &BridgeNetwork) -> Result<(), DriverError> {
    let mut nl = Netlink::open()?;
    ensure_bridge(&mut nl, net).map(drop)
}

/// Makes sure the network's bridge exists (creating it, or adopting an
/// existing bridge of that name), then configures it. A bridge created here
/// is deleted again if configuring it fails. Returns the bridge and whether
/// it was created.
pub(super) fn ensure_bridge(
    nl: &mut Netlink,
    net: &BridgeNetwork,
) -> Result<(Link, bool), DriverError> {
    let (link, created) = match find_bridge(nl, net)? {
        Some(link) => (link, false),
        None => match create_bridge(nl, net) {
            Ok(link) => (link, true),
            // Someone (a concurrent create) made it in between: adopt it.
            Err(DriverError::Sys(e)) if e.is_exists() => match find_bridge(nl, net)? {
                Some(link) => (link, false),
                None => return Err(e.into()),
            },
            Err(e) => return Err(e),
        },
    };
    if let Err(e) = configure(nl, net, &link) {
        if created {
            let _ = nl.delete_link(link.index);
        }
        return Err(e);
    }
    Ok((link, created))
}

/// The network's bridge, None if there is no link of that name, Conflict if
/// the name is taken by something that is not a bridge.
pub(super) fn find_bridge(
    nl: &mut Netlink,
    net: &BridgeNetwork,
) -> Result<Option<Link>, DriverError> {
    match nl.link_by_name(&net.bridge)? {
        None => Ok(None),
        Some(link) if link.kind.as_deref() == Some("bridge") => Ok(Some(link)),
        Some(link) => Err(DriverError::Conflict {
            object: format!(
                "link `{}` ({})",
                link.name,
                link.kind.as_deref().unwrap_or("a device without a kind")
            ),
            expected: format!("a bridge (network `{}` needs it)", net.name),
        }),
    }
}

fn create_bridge(nl: &mut Netlink, net: &BridgeNetwork) -> Result<Link, DriverError> {
    let alias = bridge_alias(&net.id);
    let spec = BridgeSpec {
        name: &net.bridge,
        mtu: net.options.mtu,
        mac: Some(bridge_mac(&net.id)),
        alias: Some(&alias),
    };
    let index = nl.create_bridge_with(&spec)?;
    tracing::info!(network = %net.name, bridge = %net.bridge, "created bridge");
    nl.link_by_name(&net.bridge)?
        .filter(|link| link.index == index)
        .ok_or_else(|| SysError::from_errno("look up new bridge", &net.bridge, libc::ENODEV).into())
}

/// MTU, gateway addresses (those missing), up. Addresses go on before the
/// link comes up so that nothing ever sees the bridge up without them.
fn configure(nl: &mut Netlink, net: &BridgeNetwork, link: &Link) -> Result<(), DriverError> {
    if let Some(mtu) = net.options.mtu.filter(|&mtu| mtu != link.mtu) {
        nl.set_mtu(link.index, mtu)?;
    }
    let present: Vec<IpNetwork> = nl
        .addresses(Some(link.index))?
        .into_iter()
        .map(|(_, addr)| addr)
        .collect();
    for gateway in net.gateways.iter().filter(|gw| !present.contains(gw)) {
        match nl.add_address(link.index, *gateway) {
            Err(e) if !e.is_exists() => return Err(e.into()),
            _ => {}
        }
    }
    if !link.up {
        if net.gateways.iter().any(|gw| gw.is_ipv6()) {
            skip_ipv6_dad(&net.bridge);
        }
        nl.set_up(link.index)?;
    }
    Ok(())
}

/// A new bridge's own IPv6 link-local address stays `tentative` for ~2 s of
/// duplicate address detection, and while it is the kernel does not send the
/// neighbour solicitations it needs to forward to containers: published
/// IPv6 ports time out right after the network is made. Nobody else owns
/// addresses on our bridge, so DAD has nothing to find (Docker sets NODAD
/// for the same reason). Best effort: without it IPv6 only starts later.
fn skip_ipv6_dad(bridge: &str) {
    let key = format!("net/ipv6/conf/{bridge}/accept_dad");
    if let Err(err) = crate::sys::write_sysctl(&key, "0") {
        tracing::warn!(bridge, error = %err, "cannot turn off IPv6 DAD on the bridge");
    }
}

/// `delete_network`: removes the bridge if this driver created it (by its
/// alias or generated name). A bridge the user made and named in the
/// options only loses our gateway addresses: deleting, say, the host's
/// `br0` would cut the host off.
pub(super) fn delete(net: &BridgeNetwork) -> Result<(), DriverError> {
    let mut nl = Netlink::open()?;
    let link = match find_bridge(&mut nl, net) {
        Ok(Some(link)) => link,
        // Missing, or a foreign non-bridge holding the name: nothing of ours.
        Ok(None) | Err(DriverError::Conflict { .. }) => return Ok(()),
        Err(e) => return Err(e),
    };
    if !(net.created(&link) || link.name == bridge_name_for(&net.id)?) {
        tracing::info!(network = %net.name, bridge = %link.name, "leaving adopted bridge in place");
        for gateway in &net.gateways {
            match nl.delete_address(link.index, *gateway) {
                Err(e) if !e.is_not_found() => return Err(e.into()),
                _ => {}
            }
        }
        return Ok(());
    }
    match nl.delete_link(link.index) {
        Err(e) if !e.is_not_found() => Err(e.into()),
        _ => Ok(()),
    }
}
