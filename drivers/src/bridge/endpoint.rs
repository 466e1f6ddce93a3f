//! `join` and `leave`: one veth pair per endpoint, the container end made
//! directly inside the sandbox, the host end on the bridge.

use crate::driver::{EndpointSpec, JoinInfo, SandboxInterface, SandboxSpec};
use crate::sys::{Netlink, VethSpec};
use crate::DriverError;

use super::names::veth_name_for;
use super::network::{find_bridge, BridgeNetwork};

/// Whether the host end keeps an IPv6 link-local address. It does not
/// (`addr_gen_mode none`): a bridge port has no use for one.
///
/// Measured here (2 shared vCPUs, kernel 6.18, debug build, 400 containers
/// on one bridge; `kernel` tests `create_veth_timing` and the ignored
/// `measure_addr_gen_mode`):
/// - cost: one more RTM_SETLINK, ~20-25 µs per join on top of ~450-650 µs
///   for the veth itself (within the run-to-run noise of setup time);
/// - what it saves is per-port state, not flooding: what a port sends
///   goes to its own peer only, never through the bridge, so the host side's
///   DAD/MLD/RS packets are O(1) per container (~6 each: 4.6k vs 2.1k
///   packets for 400). But each link-local adds an `fe80::/64` route to the
///   host's table (401 vs 1 IPv6 routes; `routes()` took 9.4 vs 3.1 ms),
///   and all of them hang off one FIB node that every insertion walks.
/// - the O(N) setup growth PERF.md describes comes from the container side:
///   with IPv6 on in the containers the ports carried ~230k packets (vs
///   ~4.6k) and setup grew from ~0.7 to ~2 ms per container by N = 400,
///   whatever this setting. The core turns IPv6 off in the sandbox for
///   networks without IPv6.
const HOST_SIDE_IPV6_LINK_LOCAL: bool = false;

/// `join`: one `create_veth` request (plus the addr_gen_mode change). The
/// kernel creates the pair atomically, and a failed addr_gen_mode change
/// deletes it again, so a failed join leaves nothing behind.
pub(super) fn join(
    net: &BridgeNetwork,
    ep: &EndpointSpec,
    sandbox: SandboxSpec<'_>,
) -> Result<JoinInfo, DriverError> {
    let host_name = veth_name_for(&ep.id)?;
    let mut nl = Netlink::open()?;
    let bridge = find_bridge(&mut nl, net)?.ok_or_else(|| DriverError::NotFound {
        object: format!("bridge `{}` of network `{}`", net.bridge, net.name),
        hint: "it was deleted outside cnm; restart cnmd to recreate it",
    })?;
    let index = nl.create_veth(&VethSpec {
        name: &host_name,
        master: Some(bridge.index),
        up: true,
        mtu: net.options.mtu,
        ipv6_link_local: HOST_SIDE_IPV6_LINK_LOCAL,
        peer_name: sandbox.ifname,
        peer_netns: Some(sandbox.netns),
        peer_mac: Some(ep.mac),
    })?;
    // icc=false: isolated ports cannot reach each other (but still reach the
    // gateway, so published ports and egress keep working).
    if let Err(err) = nl.set_bridge_port(index, true, !net.options.enable_icc) {
        let _ = nl.delete_link(index);
        return Err(err.into());
    }
    tracing::debug!(network = %net.name, iface = %host_name, peer = %sandbox.ifname, "joined");
    Ok(JoinInfo {
        interface: SandboxInterface::Created,
        gateway_v4: net.gateway(false),
        gateway_v6: net.gateway(true),
        static_routes: Vec::new(),
        mtu: net.options.mtu,
    })
}

/// `leave`: deletes the host end (and with it the container end). Gone
/// already (the sandbox namespace was destroyed, taking the pair) is fine.
pub(super) fn leave(ep: &EndpointSpec) -> Result<(), DriverError> {
    let host_name = veth_name_for(&ep.id)?;
    Netlink::open()?.delete_link_by_name(&host_name)?;
    Ok(())
}
