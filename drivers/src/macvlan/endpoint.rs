//! `join` and `leave`: one macvlan sub-interface per endpoint, created
//! inside the sandbox under its final name, with the endpoint's MAC.

use crate::driver::{EndpointSpec, JoinInfo, SandboxInterface, SandboxSpec};
use crate::sys::{MacvlanMode, Netlink, SublinkKind, SublinkSpec};
use crate::DriverError;

use super::network::MacvlanNetwork;
use super::options::mode_name;
use super::shim;

/// `join`: shim routes first (harmless without the container), then one
/// RTM_NEWLINK that makes the sub-interface in the sandbox; a failure of
/// the second removes the first, so a failed join leaves nothing.
pub(super) fn join(
    net: &MacvlanNetwork,
    ep: &EndpointSpec,
    sandbox: SandboxSpec<'_>,
) -> Result<JoinInfo, DriverError> {
    let stacked = &net.stacked;
    let mut nl = Netlink::open()?;
    let parent = stacked.parent_link(&mut nl)?;
    if net.options.host_shim {
        shim::add_routes(&mut nl, net, &ep.addresses)?;
    }
    let created = nl.create_sublink(&SublinkSpec {
        name: sandbox.ifname,
        parent: parent.index,
        kind: SublinkKind::Macvlan(net.mode()),
        mac: Some(ep.mac),
        netns: Some(sandbox.netns),
    });
    if let Err(err) = created {
        if net.options.host_shim {
            let _ = shim::remove_routes(&mut nl, &stacked.id, &ep.addresses);
        }
        return Err(explain(net, err));
    }
    tracing::debug!(network = %stacked.name, parent = %parent.name, iface = %sandbox.ifname,
        mode = mode_name(net.mode()), "joined");
    Ok(JoinInfo {
        interface: SandboxInterface::Created,
        gateway_v4: stacked.gateway(false),
        gateway_v6: stacked.gateway(true),
        static_routes: Vec::new(),
        mtu: None,
    })
}

/// `leave`: the core has removed the sub-interface from the sandbox; only
/// the shim routes are left to remove.
pub(super) fn leave(net: &MacvlanNetwork, ep: &EndpointSpec) -> Result<(), DriverError> {
    if !net.options.host_shim {
        return Ok(());
    }
    shim::remove_routes(&mut Netlink::open()?, &net.stacked.id, &ep.addresses)
}

/// The kernel's EINVAL/EBUSY for a sub-interface says little; say why.
fn explain(net: &MacvlanNetwork, err: crate::sys::SysError) -> DriverError {
    let parent = net.stacked.parent.name();
    let reason = match err.errno() {
        Some(libc::EINVAL) if net.mode() == MacvlanMode::Passthru => format!(
            "macvlan_mode=passthru hands the parent `{parent}` to a single container, and one \
             has it already"
        ),
        Some(libc::EBUSY) => format!(
            "the parent `{parent}` is busy: it already carries ipvlan sub-interfaces or is \
             enslaved to a bond or bridge"
        ),
        _ => return err.into(),
    };
    DriverError::InvalidSpec {
        object: format!("network `{}`", net.stacked.name),
        reason,
    }
}
