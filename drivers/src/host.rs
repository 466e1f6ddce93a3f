//! The `host` driver: containers share the host's own network stack. It
//! creates no kernel objects; a sandbox with a namespace of its own cannot
//! join (the core runs host-mode containers in the host namespace itself).

use crate::driver::{Capabilities, Driver, EndpointSpec, JoinInfo, NetworkSpec, SandboxSpec};
use crate::null::reject_options;
use crate::sys::{Netns, NetnsId};
use crate::DriverError;

/// The `host` network driver.
#[derive(Debug, Default, Clone, Copy)]
pub struct HostDriver;

impl HostDriver {
    /// The driver's name, as typed after `-d`.
    pub const NAME: &'static str = "host";

    /// A new `host` driver.
    pub fn new() -> Self {
        HostDriver
    }
}

impl Driver for HostDriver {
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

    /// Succeeds (with no interface) only for a sandbox that *is* the host
    /// namespace, i.e. the namespace of the calling thread.
    fn join(
        &self,
        _net: &NetworkSpec,
        _ep: &EndpointSpec,
        sandbox: SandboxSpec<'_>,
    ) -> Result<JoinInfo, DriverError> {
        if NetnsId::of_fd(sandbox.netns)? != Netns::current()?.id() {
            return Err(DriverError::Unsupported {
                driver: Self::NAME,
                operation: "join a sandbox with its own network namespace",
                reason: "a network namespace cannot join the host network; the host network \
                         shares the host's own stack"
                    .into(),
            });
        }
        Ok(JoinInfo::no_interface())
    }

    fn leave(&self, _net: &NetworkSpec, _ep: &EndpointSpec) -> Result<(), DriverError> {
        Ok(())
    }
}
