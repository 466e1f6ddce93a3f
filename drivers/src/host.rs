//! The `host` driver: containers share the host's own network stack. It
//! creates no kernel objects; a sandbox with a namespace of its own cannot
//! join (the core runs host-mode containers in the host namespace itself).

use crate::driver::SandboxSpec;
use crate::interfaceless::InterfacelessDriver;
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

impl InterfacelessDriver for HostDriver {
    const NAME: &'static str = HostDriver::NAME;

    /// Only a sandbox that *is* the host namespace, i.e. the namespace of
    /// the calling thread, may join.
    fn admit(&self, sandbox: SandboxSpec<'_>) -> Result<(), DriverError> {
        if NetnsId::of_fd(sandbox.netns)? != Netns::current()?.id() {
            return Err(DriverError::Unsupported {
                driver: Self::NAME,
                operation: "join a sandbox with its own network namespace",
                reason: "a network namespace cannot join the host network; the host network \
                         shares the host's own stack"
                    .into(),
            });
        }
        Ok(())
    }
}
