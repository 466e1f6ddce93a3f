//! Which network uses which parent. A parent carries one macvlan or ipvlan
//! network (as in Docker): two networks on one link would share one
//! broadcast domain while IPAM keeps their subnets apart, and the kernel
//! refuses macvlan and ipvlan sub-interfaces on the same link anyway. One
//! registry is shared by both drivers; each fills in its own networks at
//! reconcile, so the table survives restarts without a store of its own.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use crate::DriverError;

use super::StackedNetwork;

/// The network holding a parent.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Holder {
    network_id: String,
    network_name: String,
    driver: &'static str,
}

/// Parent interface name -> the network that uses it.
#[derive(Debug, Default)]
pub struct ParentRegistry {
    holders: Mutex<BTreeMap<String, Holder>>,
}

impl ParentRegistry {
    /// An empty registry, to share between the macvlan and ipvlan drivers.
    pub fn new() -> ParentRegistry {
        ParentRegistry::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Holder>> {
        // The map is always consistent between statements: a panic
        // elsewhere cannot leave it half-changed.
        self.holders.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Fails if another network uses `net`'s parent.
    pub(crate) fn check(
        &self,
        driver: &'static str,
        net: &StackedNetwork,
    ) -> Result<(), DriverError> {
        let parent = net.parent.name();
        match self.lock().get(parent) {
            Some(holder) if holder.network_id != net.id => Err(in_use(driver, parent, holder)),
            _ => Ok(()),
        }
    }

    /// Records that `net` uses its parent, unless another network does.
    pub(crate) fn claim(
        &self,
        driver: &'static str,
        net: &StackedNetwork,
    ) -> Result<(), DriverError> {
        let parent = net.parent.name();
        let mut holders = self.lock();
        if let Some(holder) = holders.get(parent).filter(|h| h.network_id != net.id) {
            return Err(in_use(driver, parent, holder));
        }
        holders.insert(parent.to_owned(), holder(driver, net));
        Ok(())
    }

    /// Forgets whatever `network_id` held.
    pub(crate) fn release(&self, network_id: &str) {
        self.lock().retain(|_, h| h.network_id != network_id);
    }

    /// Replaces every entry of `driver` with `networks`: the start-up
    /// view of the store.
    pub(crate) fn reset(&self, driver: &'static str, networks: &[StackedNetwork]) {
        let mut holders = self.lock();
        holders.retain(|_, h| h.driver != driver);
        for net in networks {
            holders.insert(net.parent.name().to_owned(), holder(driver, net));
        }
    }
}

fn holder(driver: &'static str, net: &StackedNetwork) -> Holder {
    Holder {
        network_id: net.id.clone(),
        network_name: net.name.clone(),
        driver,
    }
}

fn in_use(driver: &'static str, parent: &str, holder: &Holder) -> DriverError {
    DriverError::InvalidOption {
        driver,
        message: format!(
            "parent interface `{parent}` is already used by {} network `{}`; a parent carries \
             one network: name another interface, or a VLAN sub-interface such as `{parent}.10`",
            holder.driver, holder.network_name
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Parent;
    use super::*;

    fn net(id: &str, name: &str, parent: &str) -> StackedNetwork {
        StackedNetwork {
            id: id.into(),
            name: name.into(),
            parent: Parent::Named {
                name: parent.into(),
                vlan: None,
            },
            internal: false,
            gateways: Vec::new(),
            ipv6: false,
        }
    }

    #[test]
    fn one_network_per_parent() {
        let registry = ParentRegistry::new();
        let a = net("a", "lan", "eth0");
        assert!(registry.claim("macvlan", &a).is_ok());
        // The same network again (a retried create, reconcile) is fine.
        assert!(registry.claim("macvlan", &a).is_ok());
        let err = registry
            .claim("ipvlan", &net("b", "other", "eth0"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("`eth0` is already used by macvlan network `lan`"),
            "{err}"
        );
        assert!(registry
            .check("ipvlan", &net("b", "other", "eth0"))
            .is_err());
        assert!(registry.check("ipvlan", &net("b", "other", "eth1")).is_ok());
        registry.release("a");
        assert!(registry.claim("ipvlan", &net("b", "other", "eth0")).is_ok());
    }

    #[test]
    fn reset_replaces_one_driver_only() {
        let registry = ParentRegistry::new();
        assert!(registry.claim("macvlan", &net("a", "m", "eth0")).is_ok());
        assert!(registry.claim("ipvlan", &net("b", "i", "eth1")).is_ok());
        registry.reset("macvlan", &[net("c", "m2", "eth2")]);
        let other = |parent| net("x", "x", parent);
        assert!(
            registry.check("ipvlan", &other("eth0")).is_ok(),
            "macvlan's old entry is gone"
        );
        assert!(
            registry.check("macvlan", &other("eth1")).is_err(),
            "ipvlan's entry stays"
        );
        assert!(registry.check("macvlan", &other("eth2")).is_err());
    }
}
