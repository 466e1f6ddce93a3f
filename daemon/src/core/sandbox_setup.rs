//! What the core does inside a sandbox for every driver: name, addresses,
//! routes, loopback.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cnm_drivers::sys::{Netlink, Netns, SysError};
use cnm_drivers::{JoinInfo, SandboxInterface};
use ipnetwork::IpNetwork;

use super::CoreError;
use crate::model::EndpointRecord;

/// The loopback device is always ifindex 1 in a network namespace.
const LOOPBACK_INDEX: u32 = 1;

/// Configures the endpoint's interface inside the sandbox and brings it up.
pub(super) fn configure_endpoint(
    netns: &Netns,
    netns_path: &str,
    join: &JoinInfo,
    endpoint: &EndpointRecord,
) -> Result<(), CoreError> {
    let ifname = &endpoint.ifname;
    let ctx = |what: &str| format!("{what} {ifname} in {netns_path}");
    if let SandboxInterface::InHost { name } = &join.interface {
        move_into_sandbox(netns, name, ifname).map_err(CoreError::sys(ctx("move")))?;
    }
    let mut nl = Netlink::open_in(netns).map_err(CoreError::sys(format!("enter {netns_path}")))?;
    nl.set_up(LOOPBACK_INDEX)
        .map_err(CoreError::sys(format!("bring lo up in {netns_path}")))?;
    if join.interface == SandboxInterface::None {
        return Ok(());
    }
    let link = nl
        .link_by_name(ifname)
        .map_err(CoreError::sys(ctx("find")))?
        .ok_or_else(|| {
            CoreError::Internal(format!("driver did not create {ifname} in {netns_path}"))
        })?;
    if endpoint.ipv6.is_none() {
        // No IPv6 on this network: no link-local address, so no DAD and MLD
        // multicast that the bridge floods to every port (PERF.md).
        nl.set_addr_gen_mode_none(link.index)
            .map_err(CoreError::sys(ctx("disable IPv6 on")))?;
    }
    if let (Some(mtu), SandboxInterface::InHost { .. }) = (join.mtu, &join.interface) {
        nl.set_mtu(link.index, mtu)
            .map_err(CoreError::sys(ctx("set MTU of")))?;
    }
    for addr in endpoint.addresses() {
        nl.add_address(link.index, addr)
            .map_err(CoreError::sys(ctx(&format!("add address {addr} to"))))?;
    }
    nl.set_up(link.index)
        .map_err(CoreError::sys(ctx("bring up")))?;
    if endpoint.default_route {
        add_default_routes(&mut nl, endpoint, link.index)
            .map_err(CoreError::sys(ctx("add default route via")))?;
    }
    for (dst, via) in &join.static_routes {
        nl.add_route(*dst, *via, Some(link.index))
            .map_err(CoreError::sys(ctx(&format!("add route {dst} via"))))?;
    }
    Ok(())
}

/// Adds the default routes of `endpoint` in the sandbox `nl` points into.
pub(super) fn add_default_routes(
    nl: &mut Netlink,
    endpoint: &EndpointRecord,
    index: u32,
) -> Result<(), SysError> {
    if let Some(gw) = endpoint.gateway_v4 {
        let any =
            IpNetwork::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0).expect("/0 is a valid prefix");
        nl.add_route(any, Some(gw), Some(index))?;
    }
    if let (Some(gw), Some(_)) = (endpoint.gateway_v6, endpoint.ipv6) {
        let any =
            IpNetwork::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0).expect("/0 is a valid prefix");
        nl.add_route(any, Some(gw), Some(index))?;
    }
    Ok(())
}

fn move_into_sandbox(netns: &Netns, host_name: &str, ifname: &str) -> Result<(), SysError> {
    let mut host = Netlink::open()?;
    let Some(link) = host.link_by_name(host_name)? else {
        return Err(SysError::from_errno("find", host_name, libc::ENODEV));
    };
    host.move_to_netns(link.index, netns.fd(), Some(ifname))
}

/// Deletes an interface inside a sandbox; a missing one is fine. Deleting
/// one end of a veth pair removes the other end too.
pub(super) fn remove_interface(netns: &Netns, ifname: &str) -> Result<bool, SysError> {
    Netlink::open_in(netns)?.delete_link_by_name(ifname)
}

/// Takes an interface out of a sandbox and returns as soon as the sandbox no
/// longer lists it; a missing one is fine.
///
/// Why not just delete it: the kernel unlists a device at once, but the
/// RTM_DELLINK request only returns after the RCU grace periods and
/// reference waits of the unregister (~20 ms for a veth, PERF.md). That
/// wait happens on a background thread here; the interface is already gone
/// from the sandbox, and the host side of a veth goes with it.
pub(super) fn detach_interface(netns: &Netns, ifname: &str) -> Result<(), SysError> {
    let mut probe = Netlink::open_in(netns)?;
    let Some(link) = probe.link_by_name(ifname)? else {
        return Ok(());
    };
    let mut reaper = Netlink::open_in(netns)?;
    let (done_tx, done_rx) = mpsc::channel();
    let name = ifname.to_owned();
    std::thread::Builder::new()
        .name("cnm-link-reaper".into())
        .spawn(move || {
            let result = reaper.delete_link(link.index);
            if let Err(err) = &result {
                tracing::warn!(iface = %name, error = %err, "background interface delete");
            }
            // Nobody listens any more once the foreground saw it unlisted.
            let _ = done_tx.send(result);
        })
        .map_err(|err| SysError::new("spawn reaper thread for", ifname, err))?;
    let deadline = Instant::now() + DETACH_TIMEOUT;
    loop {
        match done_rx.try_recv() {
            Ok(result) => return ok_if_gone(result),
            Err(mpsc::TryRecvError::Disconnected) => {
                return Err(SysError::from_errno(
                    "delete (reaper died)",
                    ifname,
                    libc::EIO,
                ))
            }
            Err(mpsc::TryRecvError::Empty) => {}
        }
        match probe.link_by_name(ifname)? {
            Some(current) if current.index == link.index => {}
            // Gone, or the name already belongs to a newer interface.
            _ => return Ok(()),
        }
        if Instant::now() > deadline {
            return ok_if_gone(done_rx.recv().unwrap_or(Ok(())));
        }
        std::thread::sleep(Duration::from_micros(100));
    }
}

/// Longest a disconnect waits for the kernel to unlist an interface before
/// it waits for the whole delete instead.
const DETACH_TIMEOUT: Duration = Duration::from_secs(2);

fn ok_if_gone(result: Result<(), SysError>) -> Result<(), SysError> {
    match result {
        Err(err) if !err.is_not_found() => Err(err),
        _ => Ok(()),
    }
}
