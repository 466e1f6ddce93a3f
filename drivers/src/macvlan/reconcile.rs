//! `reconcile`: after a (re)start, the parents cnm makes and the host shims
//! exist again for every listed network (a reboot takes them), shims route
//! exactly the listed containers, and parents and shims of networks that no
//! longer exist are removed. The sub-interfaces themselves live in the
//! sandboxes, which the core checks.

use std::collections::{HashMap, HashSet};

use ipnetwork::IpNetwork;

use crate::driver::{EndpointSpec, NetworkSpec, ReconcileReport};
use crate::parent::{self, ParentRegistry, StackedNetwork};
use crate::sys::Netlink;
use crate::DriverError;

use super::network::MacvlanNetwork;
use super::{shim, MacvlanDriver};

const DRIVER: &str = MacvlanDriver::NAME;

pub(super) fn reconcile(
    parents: &ParentRegistry,
    networks: &[NetworkSpec],
    endpoints: &[(String, EndpointSpec)],
) -> Result<ReconcileReport, DriverError> {
    let mut nl = Netlink::open()?;
    let mut report = ReconcileReport::default();
    let mut errors = Vec::new();
    let mut valid = Vec::new();
    for net in networks {
        match MacvlanNetwork::new(net) {
            Ok(mac) => valid.push(mac),
            Err(e) => errors.push(e),
        }
    }
    let stacked: Vec<StackedNetwork> = valid.iter().map(|n| n.stacked.clone()).collect();
    parents.reset(DRIVER, &stacked);
    let mut addrs: HashMap<&str, Vec<IpNetwork>> = HashMap::new();
    for (network_id, ep) in endpoints {
        addrs
            .entry(network_id.as_str())
            .or_default()
            .extend(ep.addresses.iter().copied());
    }
    for net in &valid {
        let wanted = addrs
            .get(net.stacked.id.as_str())
            .map_or(&[][..], Vec::as_slice);
        if let Err(e) = repair(&mut nl, net, wanted, &mut report) {
            errors.push(e);
        }
    }
    let kept: HashSet<&str> = networks.iter().map(|n| n.id.as_str()).collect();
    let links = nl.links()?;
    parent::remove_orphans(&mut nl, &links, DRIVER, &kept, &mut report, &mut errors);
    let kept_shims: HashSet<String> = networks
        .iter()
        .filter_map(|n| shim::shim_name_for(&n.id).ok())
        .collect();
    for link in links.iter().filter(|l| {
        l.kind.as_deref() == Some("macvlan")
            && shim::is_shim_name(&l.name)
            && !kept_shims.contains(&l.name)
    }) {
        match nl.delete_link(link.index) {
            Ok(()) => report.removed.push(format!("host shim {}", link.name)),
            Err(e) if e.is_not_found() => {}
            Err(e) => errors.push(e.into()),
        }
    }
    match DriverError::from_many(errors) {
        None => Ok(report),
        Some(e) => Err(e),
    }
}

/// One network: its parent (if cnm makes it) and its shim with its routes.
fn repair(
    nl: &mut Netlink,
    net: &MacvlanNetwork,
    addrs: &[IpNetwork],
    report: &mut ReconcileReport,
) -> Result<(), DriverError> {
    if !parent::repair(nl, DRIVER, &net.stacked, report)? || !net.options.host_shim {
        return Ok(());
    }
    let (link, created) = shim::ensure(nl, net)?;
    if created {
        report.recreated.push(format!(
            "host shim {} (network {})",
            link.name, net.stacked.name
        ));
    }
    shim::sync_routes(nl, net, &link, addrs, report)
}
