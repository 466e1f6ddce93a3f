//! The `overlay` driver: a network that spans hosts. On each host it is a
//! Linux bridge (`cnmo` + 11 hex of the network id) carrying the gateway,
//! plus a VXLAN device (`cnmx` + 11 hex) enslaved to it; endpoints are
//! veth pairs on the bridge, exactly as for `bridge` networks.
//!
//! The VXLAN device neither learns nor floods to find peers: the daemon's
//! cluster layer tells every host where each remote endpoint lives (a
//! [`PeerTable`] publishes local endpoints; [`peers`] programs remote ones
//! as forwarding and neighbour entries).
//!
//! The bridge carries the ifalias `cnm-overlay:<id>`, not the bridge
//! driver's `cnm:` mark, so the bridge driver's restart pass never takes it
//! (or the veths on it) for one of its orphans.

mod options;
pub mod peers;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use crate::bridge::{hex_prefix, keys as bridge_keys, BridgeDriver};
use crate::driver::{
    Capabilities, Driver, EndpointSpec, JoinInfo, NetworkSpec, ReconcileReport, ReconcileScope,
    SandboxSpec,
};
use crate::sys::{BridgeSpec, Link, Netlink, VxlanSpec};
use crate::{DriverError, PluginFailure};
pub use options::{OverlayOptions, VNI_OPTION};

/// Bytes VXLAN adds to each frame over IPv4: outer IPv4 (20), UDP (8),
/// VXLAN (8) and the inner Ethernet header (14).
pub const VXLAN_OVERHEAD: u32 = 50;

/// Prefix of the ifalias on overlay bridges.
const ALIAS_PREFIX: &str = "cnm-overlay:";

/// Where this host's endpoints are announced to the other hosts (the
/// daemon's cluster store implements it).
pub trait PeerTable: Send + Sync {
    /// This host's end of the tunnels: its underlay address and the VXLAN
    /// UDP port.
    fn tunnel(&self) -> (Ipv4Addr, u16);

    /// Tells every host that `ep` of network `network_id` lives here.
    /// Fails (with a message for the user) when the store is unreachable.
    fn publish(&self, network_id: &str, ep: &EndpointSpec) -> Result<(), String>;

    /// Withdraws what `publish` announced; unknown is fine.
    fn withdraw(&self, network_id: &str, endpoint_id: &str) -> Result<(), String>;

    /// The network's devices were (re)made: program the remote peers
    /// known so far.
    fn network_ready(&self, network_id: &str);
}

/// The `overlay` network driver.
pub struct OverlayDriver {
    peers: Arc<dyn PeerTable>,
    bridge: BridgeDriver,
}

impl OverlayDriver {
    pub const NAME: &'static str = "overlay";

    pub fn new(peers: Arc<dyn PeerTable>) -> Self {
        OverlayDriver {
            peers,
            bridge: BridgeDriver::new(),
        }
    }
}

/// The bridge of an overlay network.
pub fn bridge_name_for(network_id: &str) -> Result<String, DriverError> {
    Ok(format!("cnmo{}", hex_prefix("network", network_id, 11)?))
}

/// The VXLAN device of an overlay network.
pub fn vxlan_name_for(network_id: &str) -> Result<String, DriverError> {
    Ok(format!("cnmx{}", hex_prefix("network", network_id, 11)?))
}

impl Driver for OverlayDriver {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            scope: "global",
            creates_interfaces: true,
        }
    }

    fn validate_network(&self, net: &NetworkSpec) -> Result<(), DriverError> {
        OverlayOptions::parse(&net.options)?;
        if net.enable_ipv6 || net.subnets.iter().any(|s| s.subnet.is_ipv6()) {
            return Err(DriverError::Unsupported {
                driver: Self::NAME,
                operation: "carry IPv6",
                reason: "overlay networks are IPv4 only for now".into(),
            });
        }
        bridge_name_for(&net.id).map(drop)
    }

    fn create_network(&self, net: &NetworkSpec) -> Result<(), DriverError> {
        let options = OverlayOptions::parse(&net.options)?;
        let Some(vni) = options.vni else {
            return Err(DriverError::InvalidSpec {
                object: format!("overlay network `{}`", net.name),
                reason: format!("no VXLAN id ({VNI_OPTION}); the cluster store assigns one"),
            });
        };
        let (local, port) = self.peers.tunnel();
        let mut nl = Netlink::open()?;
        let mtu = match options.mtu {
            Some(mtu) => mtu,
            None => underlay_mtu(&mut nl, local)?.saturating_sub(VXLAN_OVERHEAD),
        };
        let bridge = ensure_overlay_bridge(&mut nl, net, mtu)?;
        self.bridge.create_network(&self.inner_spec(net, mtu)?)?;
        if let Err(err) = ensure_vxlan(&mut nl, net, vni, local, port, mtu, bridge.index) {
            let _ = nl.delete_link(bridge.index);
            return Err(err);
        }
        self.peers.network_ready(&net.id);
        Ok(())
    }

    fn delete_network(&self, net: &NetworkSpec) -> Result<(), DriverError> {
        let mut nl = Netlink::open()?;
        nl.delete_link_by_name(&vxlan_name_for(&net.id)?)?;
        nl.delete_link_by_name(&bridge_name_for(&net.id)?)?;
        Ok(())
    }

    fn create_endpoint(&self, net: &NetworkSpec, ep: &EndpointSpec) -> Result<(), DriverError> {
        self.peers
            .publish(&net.id, ep)
            .map_err(|message| DriverError::Plugin {
                driver: Self::NAME.into(),
                failure: PluginFailure::Unavailable,
                message,
            })
    }

    fn delete_endpoint(&self, net: &NetworkSpec, ep: &EndpointSpec) -> Result<(), DriverError> {
        self.peers
            .withdraw(&net.id, &ep.id)
            .map_err(|message| DriverError::Plugin {
                driver: Self::NAME.into(),
                failure: PluginFailure::Unavailable,
                message,
            })
    }

    fn join(
        &self,
        net: &NetworkSpec,
        ep: &EndpointSpec,
        sandbox: SandboxSpec<'_>,
    ) -> Result<JoinInfo, DriverError> {
        let mtu = current_mtu(net)?;
        self.bridge.join(&self.inner_spec(net, mtu)?, ep, sandbox)
    }

    fn leave(&self, net: &NetworkSpec, ep: &EndpointSpec) -> Result<(), DriverError> {
        self.bridge.leave(net, ep)
    }

    fn host_interface(&self, ep: &EndpointSpec) -> Option<String> {
        self.bridge.host_interface(ep)
    }

    fn reconcile(&self, scope: ReconcileScope<'_>) -> Result<ReconcileReport, DriverError> {
        let (networks, endpoints) = (scope.networks, scope.endpoints);
        let mut report = ReconcileReport::default();
        let mut errors = Vec::new();
        for net in networks {
            if let Err(err) = self.create_network(net) {
                errors.push(err);
            }
        }
        let mut nl = Netlink::open()?;
        let links = nl.links()?;
        let has = |name: &str| links.iter().any(|l| l.name == name);
        for (_, ep) in endpoints {
            match self.bridge.host_interface(ep) {
                Some(name) if has(&name) => {}
                _ => report.lost_endpoints.push(ep.id.clone()),
            }
        }
        let kept: Vec<String> = networks
            .iter()
            .flat_map(|n| [bridge_name_for(&n.id), vxlan_name_for(&n.id)])
            .filter_map(Result::ok)
            .collect();
        for link in links
            .iter()
            .filter(|l| is_ours(l) && !kept.contains(&l.name))
        {
            match nl.delete_link(link.index) {
                Ok(()) => report.removed.push(link.name.clone()),
                Err(e) if e.is_not_found() => {}
                Err(e) => errors.push(e.into()),
            }
        }
        match DriverError::from_many(errors) {
            None => Ok(report),
            Some(err) => Err(err),
        }
    }
}

impl OverlayDriver {
    /// The bridge driver's view of the network: our bridge, our MTU.
    fn inner_spec(&self, net: &NetworkSpec, mtu: u32) -> Result<NetworkSpec, DriverError> {
        let mut inner = net.clone();
        inner.options = [
            (
                bridge_keys::BRIDGE_NAME.to_owned(),
                bridge_name_for(&net.id)?,
            ),
            (bridge_keys::MTU.to_owned(), mtu.to_string()),
        ]
        .into_iter()
        .collect();
        Ok(inner)
    }
}

/// An overlay bridge or VXLAN device this driver made.
fn is_ours(link: &Link) -> bool {
    let named = |prefix: &str| {
        link.name
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.len() == 11 && rest.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    (link.kind.as_deref() == Some("bridge")
        && named("cnmo")
        && link
            .alias
            .as_deref()
            .is_some_and(|a| a.starts_with(ALIAS_PREFIX)))
        || (link.kind.as_deref() == Some("vxlan") && named("cnmx"))
}

/// The MTU of the link that holds `local` (the underlay).
fn underlay_mtu(nl: &mut Netlink, local: Ipv4Addr) -> Result<u32, DriverError> {
    let index = nl
        .addresses(None)?
        .into_iter()
        .find(|(_, addr)| addr.ip() == IpAddr::V4(local))
        .map(|(index, _)| index)
        .ok_or_else(|| DriverError::NotFound {
            object: format!("underlay address {local} (--cluster-advertise)"),
            hint: "advertise an address of one of this host's interfaces",
        })?;
    let links = nl.links()?;
    Ok(links
        .iter()
        .find(|l| l.index == index)
        .map(|l| l.mtu)
        .unwrap_or(1500))
}

/// The MTU of the network's bridge now (set at create).
fn current_mtu(net: &NetworkSpec) -> Result<u32, DriverError> {
    let name = bridge_name_for(&net.id)?;
    match Netlink::open()?.link_by_name(&name)? {
        Some(link) => Ok(link.mtu),
        None => Err(DriverError::NotFound {
            object: format!("bridge `{name}` of overlay network `{}`", net.name),
            hint: "it was deleted outside cnm; restart cnmd to recreate it",
        }),
    }
}

/// Makes the bridge with our alias unless it exists; the bridge driver then
/// adopts and configures it (gateway, up).
fn ensure_overlay_bridge(
    nl: &mut Netlink,
    net: &NetworkSpec,
    mtu: u32,
) -> Result<Link, DriverError> {
    let name = bridge_name_for(&net.id)?;
    if let Some(link) = nl.link_by_name(&name)? {
        return Ok(link);
    }
    let alias = format!("{ALIAS_PREFIX}{}", net.id);
    match nl.create_bridge_with(&BridgeSpec {
        name: &name,
        mtu: Some(mtu),
        mac: None,
        alias: Some(&alias),
    }) {
        Err(e) if !e.is_exists() => return Err(e.into()),
        _ => {}
    }
    nl.link_by_name(&name)?
        .ok_or_else(|| DriverError::NotFound {
            object: format!("bridge `{name}`"),
            hint: "it vanished right after it was made; try again",
        })
}

fn ensure_vxlan(
    nl: &mut Netlink,
    net: &NetworkSpec,
    vni: u32,
    local: Ipv4Addr,
    port: u16,
    mtu: u32,
    bridge: u32,
) -> Result<(), DriverError> {
    let name = vxlan_name_for(&net.id)?;
    let index = match nl.link_by_name(&name)? {
        Some(link) => {
            if link.master != Some(bridge) {
                nl.set_master(link.index, Some(bridge))?;
            }
            link.index
        }
        None => nl.create_vxlan(&VxlanSpec {
            name: &name,
            vni,
            local,
            port,
            mtu: Some(mtu),
            master: Some(bridge),
        })?,
    };
    nl.set_up(index)?;
    Ok(())
}
