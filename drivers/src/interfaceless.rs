//! What the `host` and `null` drivers share: they make no kernel objects,
//! take no options and hand the core no interface, so every verb but the
//! check at `join` is the same for both.

use crate::driver::{Capabilities, Driver, EndpointSpec, JoinInfo, NetworkSpec, SandboxSpec};
use crate::DriverError;

/// A driver whose networks are only a name. Implementing this gives a type
/// the `Driver` verbs.
pub(crate) trait InterfacelessDriver: Send + Sync {
    /// The driver's name, as typed after `-d`.
    const NAME: &'static str;

    /// Refuses a sandbox that cannot use the network (`join`); by default
    /// every sandbox can.
    fn admit(&self, _sandbox: SandboxSpec<'_>) -> Result<(), DriverError> {
        Ok(())
    }
}

impl<T: InterfacelessDriver> Driver for T {
    fn name(&self) -> &str {
        T::NAME
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            scope: "local",
            creates_interfaces: false,
        }
    }

    fn validate_network(&self, net: &NetworkSpec) -> Result<(), DriverError> {
        reject_options(T::NAME, net)
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
        sandbox: SandboxSpec<'_>,
    ) -> Result<JoinInfo, DriverError> {
        self.admit(sandbox)?;
        Ok(JoinInfo::no_interface())
    }

    fn leave(&self, _net: &NetworkSpec, _ep: &EndpointSpec) -> Result<(), DriverError> {
        Ok(())
    }
}

/// Rejects every `-o` option: there is nothing for one to configure.
fn reject_options(driver: &'static str, net: &NetworkSpec) -> Result<(), DriverError> {
    match net.options.keys().next() {
        None => Ok(()),
        Some(key) => Err(DriverError::InvalidOption {
            driver,
            message: format!("unknown option `{key}`: this driver accepts no options"),
        }),
    }
}
