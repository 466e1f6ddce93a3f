//! The `null` driver: a sandbox with loopback only. It creates no kernel
//! objects and hands the core no interface.

use crate::driver::{Capabilities, Driver, EndpointSpec, JoinInfo, NetworkSpec, SandboxSpec};
use crate::DriverError;

/// The `null` network driver.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullDriver;

impl NullDriver {
    /// The driver's name, as typed after `-d`.
    pub const NAME: &'static str = "null";

    /// A new `null` driver.
    pub fn new() -> Self {
        NullDriver
    }
}

/// Rejects every `-o` option: drivers without kernel objects take none.
pub(crate) fn reject_options(driver: &'static str, net: &NetworkSpec) -> Result<(), DriverError> {
    match net.options.keys().next() {
        None => Ok(()),
        Some(key) => Err(DriverError::InvalidOption {
            driver,
            message: format!("unknown option `{key}`: this driver accepts no options"),
        }),
    }
}

impl Driver for NullDriver {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            scope: "local",
            creates_interfaces: false,
        }
    }

    fn validate_network(&self, net: &NetworkSpec) -> Result<(), DriverError> {
        reject_options(Self::NAME, net)
    }

    fn create_network(&self, net: &NetworkSpec) -> Result<(), DriverError> {
        self.validate_network(net)
    }

    fn delete_network(&self, _net: &NetworkSpec) -> Result<(), DriverError> {
        Ok(())
    }

    fn join(
        &self,
        _net: &NetworkSpec,
        _ep: &EndpointSpec,
        _sandbox: SandboxSpec<'_>,
    ) -> Result<JoinInfo, DriverError> {
        Ok(JoinInfo::no_interface())
    }

    fn leave(&self, _net: &NetworkSpec, _ep: &EndpointSpec) -> Result<(), DriverError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    pub(crate) fn network(options: &[(&str, &str)]) -> NetworkSpec {
        NetworkSpec {
            id: "ab".repeat(32),
            name: "none".into(),
            options: options
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            subnets: Vec::new(),
            internal: false,
            enable_ipv6: false,
        }
    }

    #[test]
    fn null_accepts_no_options() {
        let driver = NullDriver::new();
        assert!(driver.validate_network(&network(&[])).is_ok());
        let err = driver.validate_network(&network(&[("com.docker.network.driver.mtu", "1400")]));
        assert!(err.is_err_and(|e| e.to_string().contains("com.docker.network.driver.mtu")));
    }

    #[test]
    fn null_capabilities() {
        let caps = NullDriver::new().capabilities();
        assert!(!caps.creates_interfaces);
        assert_eq!(caps.scope, "local");
    }
}
