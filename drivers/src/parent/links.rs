//! The parent's kernel side: check that it exists or can be made, make it
//! (802.1Q sub-interface, internal blackhole), delete what cnm made, and
//! sweep links cnm made for networks that no longer exist.

use std::collections::HashSet;

use crate::driver::ReconcileReport;
use crate::sys::{BlackholeKind, Link, Netlink, SysError};
use crate::DriverError;

use super::{alias, alias_prefix, require_link_kind, Parent, StackedNetwork, VLAN};

const NAMED_HINT: &str = "name an existing interface (see `ip link`), or NAME.VLAN (e.g. eth0.10) \
                          for an 802.1Q sub-interface that cnm creates";
const BASE_HINT: &str = "an 802.1Q parent NAME.VLAN needs the interface NAME to exist";

/// Checks, without changing anything, that the parent exists or that cnm
/// can make it: so a request that would fail later is refused before the
/// network is recorded.
pub(crate) fn check(
    nl: &mut Netlink,
    driver: &'static str,
    net: &StackedNetwork,
) -> Result<(), DriverError> {
    let existing = nl.link_by_name(net.parent.name())?;
    match (&net.parent, existing) {
        (Parent::Internal { .. }, Some(link)) => owned_or_conflict(driver, net, link).map(drop),
        (_, Some(_)) | (Parent::Internal { .. }, None) => Ok(()),
        (Parent::Named { vlan: None, .. }, None) => Err(missing_parent(net)),
        (
            Parent::Named {
                vlan: Some((base, _)),
                ..
            },
            None,
        ) => {
            if nl.link_by_name(base)?.is_none() {
                return Err(missing_base(net, base));
            }
            require_link_kind(driver, "create an 802.1Q parent", VLAN, &vlan_advice(net))
        }
    }
}

/// Makes sure the parent exists and, if cnm made it, is up. Returns
/// whether it was created now.
pub(crate) fn ensure(
    nl: &mut Netlink,
    driver: &'static str,
    net: &StackedNetwork,
) -> Result<bool, DriverError> {
    if let Some(link) = nl.link_by_name(net.parent.name())? {
        let ours = match &net.parent {
            Parent::Internal { .. } => owned_or_conflict(driver, net, link.clone())?,
            Parent::Named { .. } => is_ours(driver, net, &link),
        };
        if ours && !link.up {
            nl.set_up(link.index)?;
        }
        return Ok(false);
    }
    let index = match &net.parent {
        Parent::Named { vlan: None, .. } => return Err(missing_parent(net)),
        Parent::Named {
            name,
            vlan: Some((base, id)),
        } => {
            let base_link = nl
                .link_by_name(base)?
                .ok_or_else(|| missing_base(net, base))?;
            require_link_kind(driver, "create an 802.1Q parent", VLAN, &vlan_advice(net))?;
            nl.create_vlan(name, base_link.index, *id)?
        }
        Parent::Internal { name } => create_blackhole(nl, driver, name)?,
    };
    let configured = nl
        .set_alias(index, &alias(driver, &net.id))
        .and_then(|()| match net.parent {
            // An internal parent has no use for IPv6 link-local chatter.
            Parent::Internal { .. } => nl.set_addr_gen_mode_none(index),
            Parent::Named { .. } => Ok(()),
        })
        .and_then(|()| nl.set_up(index));
    if let Err(err) = configured {
        let _ = nl.delete_link(index);
        return Err(err.into());
    }
    tracing::info!(network = %net.name, parent = %net.parent.name(), "created parent interface");
    Ok(true)
}

/// Reconcile of one network's parent: made again if it is cnm's to make
/// (a reboot takes it). A missing parent the user named is only warned
/// about: it is the user's to bring back, and cnmd must still start.
/// Returns whether the parent exists now.
pub(crate) fn repair(
    nl: &mut Netlink,
    driver: &'static str,
    net: &StackedNetwork,
    report: &mut ReconcileReport,
) -> Result<bool, DriverError> {
    match ensure(nl, driver, net) {
        Ok(created) => {
            if created {
                report.recreated.push(format!(
                    "parent {} (network {})",
                    net.parent.name(),
                    net.name
                ));
            }
            Ok(true)
        }
        Err(DriverError::NotFound { object, hint }) => {
            tracing::warn!(network = %net.name, "{object} not found; {hint}");
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// Deletes the parent if cnm made it for this network; leaves any other
/// link alone (a user's `eth0.10` stays even though it looks like ours).
pub(crate) fn release(
    nl: &mut Netlink,
    driver: &'static str,
    net: &StackedNetwork,
) -> Result<(), DriverError> {
    let Some(link) = nl.link_by_name(net.parent.name())? else {
        return Ok(());
    };
    if !is_ours(driver, net, &link) {
        tracing::info!(network = %net.name, parent = %link.name, "leaving the user's parent interface in place");
        return Ok(());
    }
    match nl.delete_link(link.index) {
        Err(e) if !e.is_not_found() => Err(e.into()),
        _ => {
            tracing::info!(network = %net.name, parent = %link.name, "deleted parent interface");
            Ok(())
        }
    }
}

/// Deletes parents that `driver` made for networks not in `kept` (ids):
/// left behind by a crash between making a network and recording it, or
/// by a removal cut short.
pub(crate) fn remove_orphans(
    nl: &mut Netlink,
    links: &[Link],
    driver: &'static str,
    kept: &HashSet<&str>,
    report: &mut ReconcileReport,
    errors: &mut Vec<DriverError>,
) {
    let prefix = alias_prefix(driver);
    for link in links {
        let Some(owner) = link.alias.as_deref().and_then(|a| a.strip_prefix(&prefix)) else {
            continue;
        };
        if kept.contains(owner) {
            continue;
        }
        match nl.delete_link(link.index) {
            Ok(()) => {
                tracing::info!(iface = %link.name, "removed orphan {driver} parent");
                report
                    .removed
                    .push(format!("{driver} parent {}", link.name));
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => errors.push(e.into()),
        }
    }
}

fn is_ours(driver: &str, net: &StackedNetwork, link: &Link) -> bool {
    link.alias.as_deref() == Some(alias(driver, &net.id).as_str())
}

/// An existing link under an internal parent's name: ours (true) if it
/// carries our alias, else someone else's link that we must not use.
fn owned_or_conflict(
    driver: &'static str,
    net: &StackedNetwork,
    link: Link,
) -> Result<bool, DriverError> {
    if is_ours(driver, net, &link) {
        return Ok(true);
    }
    Err(DriverError::Conflict {
        object: format!("link `{}`", link.name),
        expected: format!("the internal parent cnm makes for network `{}`", net.name),
    })
}

/// Makes the parent of a network without one: a dummy link as Docker does,
/// or, on kernels without dummy links, an ifb link, which likewise drops
/// whatever is sent through it. Sibling sub-interfaces in bridge mode (and
/// ipvlan l2/l3) still reach each other, since that traffic never reaches
/// the parent's transmit path.
fn create_blackhole(
    nl: &mut Netlink,
    driver: &'static str,
    name: &str,
) -> Result<u32, DriverError> {
    let mut last = None;
    for kind in [BlackholeKind::Dummy, BlackholeKind::Ifb] {
        match nl.create_blackhole(name, kind) {
            Ok(index) => {
                tracing::debug!(iface = name, kind = kind.as_str(), "internal parent");
                return Ok(index);
            }
            Err(e) if e.errno() == Some(libc::EOPNOTSUPP) => last = Some(e),
            Err(e) => return Err(e.into()),
        }
    }
    tracing::debug!(error = ?last.as_ref().map(SysError::to_string), "no blackhole link kind");
    Err(DriverError::Unsupported {
        driver,
        operation: "create a network without a parent",
        reason: "this kernel has neither dummy nor ifb links (CONFIG_DUMMY and CONFIG_IFB are \
                 off) to serve as an internal parent; pass -o parent=IF with an existing \
                 Ethernet interface"
            .into(),
    })
}

fn missing_parent(net: &StackedNetwork) -> DriverError {
    DriverError::NotFound {
        object: format!(
            "parent interface `{}` of network `{}`",
            net.parent.name(),
            net.name
        ),
        hint: NAMED_HINT,
    }
}

fn missing_base(net: &StackedNetwork, base: &str) -> DriverError {
    DriverError::NotFound {
        object: format!(
            "interface `{base}` (for the 802.1Q parent `{}` of network `{}`)",
            net.parent.name(),
            net.name
        ),
        hint: BASE_HINT,
    }
}

fn vlan_advice(net: &StackedNetwork) -> String {
    format!(
        "create `{}` yourself (e.g. with a kernel that has it) or name an existing parent",
        net.parent.name()
    )
}
