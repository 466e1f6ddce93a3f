//! The `null` driver: a sandbox with loopback only. It creates no kernel
//! objects and hands the core no interface.

use crate::interfaceless::InterfacelessDriver;

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

impl InterfacelessDriver for NullDriver {
    const NAME: &'static str = NullDriver::NAME;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::{Driver, NetworkSpec};
    use crate::options::option_map;

    fn network(options: &[(&str, &str)]) -> NetworkSpec {
        NetworkSpec {
            id: "ab".repeat(32),
            name: "none".into(),
            options: option_map(options),
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
