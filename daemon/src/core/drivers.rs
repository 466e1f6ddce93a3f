//! The driver factory: maps the name after `-d` to a built-in driver, and
//! the name after `--ipam-driver` to the built-in IPAM; any other name is a
//! plugin, found by `PluginDirs` and reached over gRPC (crate cnm-plugin).
//!
//! Plugin clients are made on first use and kept; making one sends nothing
//! (its first verb connects), so a lookup never blocks, even under the
//! core's state lock.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use cnm_drivers::bridge::BridgeDriver;
use cnm_drivers::host::HostDriver;
use cnm_drivers::ipam::IpamDriver;
use cnm_drivers::null::NullDriver;
use cnm_drivers::{Driver, IpvlanDriver, MacvlanDriver, ParentRegistry};
use cnm_plugin::{PluginDirs, RemoteDriver, RemoteIpam};

use super::plugins::StoreReplay;
use super::CoreError;
use crate::ipam::{DefaultIpam, DefaultPools, Ipam, DEFAULT_IPAM};
use crate::store::Store;

pub struct Drivers {
    builtin: BTreeMap<String, Arc<dyn Driver>>,
    default_ipam: Arc<dyn IpamDriver>,
    /// Other built-in IPAM drivers by name (the cluster's, with
    /// `--cluster-store`).
    other_ipams: BTreeMap<String, Arc<dyn IpamDriver>>,
    /// None: built-ins only.
    plugins: Option<Plugins>,
}

struct Plugins {
    dirs: PluginDirs,
    replay: Arc<StoreReplay>,
    drivers: Mutex<BTreeMap<String, Arc<dyn Driver>>>,
    ipams: Mutex<BTreeMap<String, Arc<dyn IpamDriver>>>,
}

impl Drivers {
    /// The built-in drivers: bridge, host, null, macvlan, ipvlan (the last
    /// two share one table of parents in use: a link carries one network),
    /// and the built-in IPAM on `pools`.
    pub fn builtin(pools: DefaultPools) -> Self {
        let mut drivers = Drivers {
            builtin: BTreeMap::new(),
            default_ipam: Arc::new(DefaultIpam::new(Ipam::new(pools))),
            other_ipams: BTreeMap::new(),
            plugins: None,
        };
        drivers.register(Arc::new(BridgeDriver::new()));
        drivers.register(Arc::new(HostDriver::new()));
        drivers.register(Arc::new(NullDriver::new()));
        let parents = Arc::new(ParentRegistry::new());
        drivers.register(Arc::new(MacvlanDriver::new(parents.clone())));
        drivers.register(Arc::new(IpvlanDriver::new(parents)));
        drivers
    }

    /// Also looks up other names as plugins in `dirs`; a (re)connected
    /// plugin is told the networks and endpoints `store` holds for it.
    pub fn with_plugins(mut self, dirs: PluginDirs, store: Arc<dyn Store>) -> Self {
        self.plugins = Some(Plugins {
            dirs,
            replay: Arc::new(StoreReplay::new(store)),
            drivers: Mutex::new(BTreeMap::new()),
            ipams: Mutex::new(BTreeMap::new()),
        });
        self
    }

    pub fn register(&mut self, driver: Arc<dyn Driver>) {
        self.builtin.insert(driver.name().to_owned(), driver);
    }

    /// Adds a built-in IPAM driver other than `default`.
    pub fn register_ipam(&mut self, ipam: Arc<dyn IpamDriver>) {
        self.other_ipams.insert(ipam.name().to_owned(), ipam);
    }

    pub fn get(&self, name: &str) -> Result<Arc<dyn Driver>, CoreError> {
        if let Some(driver) = self.builtin.get(name) {
            return Ok(driver.clone());
        }
        let not_found = |looked: String| {
            CoreError::NotFound(format!(
                "driver {name} not found: {looked}; built-in drivers: {}",
                self.builtin_names().join(", ")
            ))
        };
        let Some(plugins) = &self.plugins else {
            return Err(not_found("plugins are off".into()));
        };
        let mut known = lock(&plugins.drivers);
        if let Some(driver) = known.get(name) {
            return Ok(driver.clone());
        }
        let socket = plugins
            .dirs
            .find(name)
            .map_err(|err| not_found(full(&err)))?;
        tracing::info!(driver = name, socket = %socket.display(), "using driver plugin");
        let replay: Arc<dyn cnm_plugin::DriverReplay> = plugins.replay.clone();
        let driver: Arc<dyn Driver> = Arc::new(RemoteDriver::new(name, socket, Some(replay)));
        known.insert(name.to_owned(), driver.clone());
        Ok(driver)
    }

    /// The IPAM driver called `name` ("" and "default": the built-in).
    pub fn ipam(&self, name: &str) -> Result<Arc<dyn IpamDriver>, CoreError> {
        if name.is_empty() || name == DEFAULT_IPAM {
            return Ok(self.default_ipam.clone());
        }
        if let Some(ipam) = self.other_ipams.get(name) {
            return Ok(ipam.clone());
        }
        let not_found = |looked: String| {
            CoreError::NotFound(format!(
                "IPAM driver {name} not found: {looked}; built-in: {DEFAULT_IPAM}"
            ))
        };
        let Some(plugins) = &self.plugins else {
            return Err(not_found("plugins are off".into()));
        };
        let mut known = lock(&plugins.ipams);
        if let Some(ipam) = known.get(name) {
            return Ok(ipam.clone());
        }
        let socket = plugins
            .dirs
            .find(name)
            .map_err(|err| not_found(full(&err)))?;
        tracing::info!(ipam = name, socket = %socket.display(), "using IPAM plugin");
        let replay: Arc<dyn cnm_plugin::IpamReplay> = plugins.replay.clone();
        let ipam: Arc<dyn IpamDriver> = Arc::new(RemoteIpam::new(name, socket, Some(replay)));
        known.insert(name.to_owned(), ipam.clone());
        Ok(ipam)
    }

    /// Built-in drivers, then the plugins used so far.
    pub fn names(&self) -> Vec<String> {
        let mut names = self.builtin_names();
        if let Some(plugins) = &self.plugins {
            names.extend(lock(&plugins.drivers).keys().cloned());
        }
        names
    }

    /// The built-in drivers (those cnmd reconciles at start; plugins are
    /// replayed to when they connect instead).
    /// True for drivers compiled into cnmd; false for plugins.
    pub fn is_builtin(&self, name: &str) -> bool {
        self.builtin.contains_key(name)
    }

    pub fn builtin_names(&self) -> Vec<String> {
        self.builtin.keys().cloned().collect()
    }
}

fn lock<T>(map: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Inserts only: a panic cannot leave the map half-changed.
    map.lock().unwrap_or_else(|e| e.into_inner())
}

fn full(err: &dyn std::error::Error) -> String {
    super::full_message(err)
}
