//! A macvlan network, validated, and its network verbs: the parent (and
//! the host shim when asked for) made with the network and removed with it.

use crate::driver::NetworkSpec;
use crate::parent::{self, ParentRegistry, StackedNetwork, MACVLAN};
use crate::sys::{MacvlanMode, Netlink};
use crate::DriverError;

use super::options::MacvlanOptions;
use super::{shim, MacvlanDriver};

const DRIVER: &str = MacvlanDriver::NAME;

/// Everything the macvlan verbs need from a `NetworkSpec`, checked.
#[derive(Debug, Clone)]
pub(super) struct MacvlanNetwork {
    pub stacked: StackedNetwork,
    pub options: MacvlanOptions,
}

impl MacvlanNetwork {
    /// Validates options, id and subnets (no kernel access).
    pub fn new(net: &NetworkSpec) -> Result<MacvlanNetwork, DriverError> {
        let options = MacvlanOptions::parse(&net.options)?;
        let stacked = StackedNetwork::new(DRIVER, net, options.parent.as_deref())?;
        Ok(MacvlanNetwork { stacked, options })
    }

    pub fn mode(&self) -> MacvlanMode {
        self.options.mode
    }
}

/// `validate_network`: options, kernel support, a parent that exists or can
/// be made and that no other network uses. Changes nothing.
pub(super) fn validate(parents: &ParentRegistry, net: &NetworkSpec) -> Result<(), DriverError> {
    let mac = MacvlanNetwork::new(net)?;
    parent::require_link_kind(
        DRIVER,
        "create networks",
        MACVLAN,
        "use the bridge driver, or run cnmd on a kernel with macvlan",
    )?;
    parent::validate_network(parents, DRIVER, &mac.stacked)
}

/// `create_network`: claims the parent, makes it if it is cnm's to make,
/// then the host shim. On error nothing made here is left behind.
pub(super) fn create(parents: &ParentRegistry, net: &MacvlanNetwork) -> Result<(), DriverError> {
    let spec = &net.stacked;
    parent::create_network(parents, DRIVER, spec, |nl, created| {
        if !net.options.host_shim {
            return Ok(());
        }
        shim::ensure(nl, net).map(drop).inspect_err(|_| {
            if created {
                let _ = parent::release(nl, DRIVER, spec);
            }
        })
    })
}

/// `delete_network`: the shim, then the parent if cnm made it. Keeps going
/// past a failure and reports every one.
pub(super) fn delete(parents: &ParentRegistry, net: &MacvlanNetwork) -> Result<(), DriverError> {
    let mut nl = Netlink::open()?;
    let mut errors = Vec::new();
    // Whatever the options say now: a shim of this network goes with it.
    if let Err(e) = shim::delete(&mut nl, &net.stacked.id) {
        errors.push(e);
    }
    if let Err(e) = parent::delete_network(parents, &mut nl, DRIVER, &net.stacked) {
        errors.push(e);
    }
    match DriverError::from_many(errors) {
        None => Ok(()),
        Some(e) => Err(e),
    }
}
