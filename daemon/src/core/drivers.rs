//! The driver registry: maps the name after `-d` to a driver.

use std::collections::BTreeMap;
use std::sync::Arc;

use cnm_drivers::bridge::BridgeDriver;
use cnm_drivers::host::HostDriver;
use cnm_drivers::null::NullDriver;
use cnm_drivers::{Driver, IpvlanDriver, MacvlanDriver, ParentRegistry};

use super::CoreError;

#[derive(Clone)]
pub struct Drivers {
    by_name: BTreeMap<String, Arc<dyn Driver>>,
}

impl Drivers {
    /// The built-in drivers: bridge, host, null, macvlan, ipvlan (the last
    /// two share one table of parents in use: a link carries one network).
    pub fn builtin() -> Self {
        let mut drivers = Drivers {
            by_name: BTreeMap::new(),
        };
        drivers.register(Arc::new(BridgeDriver::new()));
        drivers.register(Arc::new(HostDriver::new()));
        drivers.register(Arc::new(NullDriver::new()));
        let parents = Arc::new(ParentRegistry::new());
        drivers.register(Arc::new(MacvlanDriver::new(parents.clone())));
        drivers.register(Arc::new(IpvlanDriver::new(parents)));
        drivers
    }

    pub fn register(&mut self, driver: Arc<dyn Driver>) {
        self.by_name.insert(driver.name().to_owned(), driver);
    }

    pub fn get(&self, name: &str) -> Result<Arc<dyn Driver>, CoreError> {
        self.by_name.get(name).cloned().ok_or_else(|| {
            CoreError::NotFound(format!(
                "network driver {name} not found; available drivers: {}",
                self.names().join(", ")
            ))
        })
    }

    pub fn names(&self) -> Vec<String> {
        self.by_name.keys().cloned().collect()
    }
}
