//! The `bridge` driver: one Linux bridge per network carrying the subnets'
//! gateway addresses, one veth pair per endpoint with the container end
//! created directly inside the sandbox.
//!
//! Kernel objects are named after the ids so that the kernel alone tells
//! what is ours: bridges `cnm` + 12 hex digits of the network id (unless
//! the user names the bridge), host-side veths `cnmv` + 11 hex digits of the
//! endpoint id. Every verb opens its own netlink socket in the calling
//! thread's namespace, so verbs can run in parallel.

mod endpoint;
mod names;
mod network;
mod options;
mod reconcile;

pub(crate) use names::hex_prefix;
pub use names::{bridge_name_for, veth_name_for};
pub use options::{keys, BridgeOptions, MAX_MTU, MIN_MTU};
// The check serves every driver's options; callers outside the crate find
// it here, where it has always been.
pub use crate::options::is_valid_ifname;

use crate::driver::{
    Capabilities, Driver, EndpointSpec, JoinInfo, NetworkSpec, ReconcileReport, ReconcileScope,
    SandboxSpec,
};
use crate::DriverError;
use network::BridgeNetwork;

/// The `bridge` network driver.
#[derive(Debug, Default, Clone, Copy)]
pub struct BridgeDriver;

impl BridgeDriver {
    /// The driver's name, as typed after `-d`.
    pub const NAME: &'static str = "bridge";

    /// A bridge driver working in the namespace of whichever thread calls it.
    pub fn new() -> Self {
        BridgeDriver
    }
}

impl Driver for BridgeDriver {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            scope: "local",
            creates_interfaces: true,
        }
    }

    fn validate_network(&self, net: &NetworkSpec) -> Result<(), DriverError> {
        BridgeNetwork::new(net).map(drop)
    }

    fn create_network(&self, net: &NetworkSpec) -> Result<(), DriverError> {
        network::create(&BridgeNetwork::new(net)?)
    }

    fn delete_network(&self, net: &NetworkSpec) -> Result<(), DriverError> {
        network::delete(&BridgeNetwork::new(net)?)
    }

    fn join(
        &self,
        net: &NetworkSpec,
        ep: &EndpointSpec,
        sandbox: SandboxSpec<'_>,
    ) -> Result<JoinInfo, DriverError> {
        endpoint::join(&BridgeNetwork::new(net)?, ep, sandbox)
    }

    fn leave(&self, _net: &NetworkSpec, ep: &EndpointSpec) -> Result<(), DriverError> {
        endpoint::leave(ep)
    }

    fn host_interface(&self, ep: &EndpointSpec) -> Option<String> {
        veth_name_for(&ep.id).ok()
    }

    fn reconcile(&self, scope: ReconcileScope<'_>) -> Result<ReconcileReport, DriverError> {
        reconcile::reconcile(scope.networks, scope.endpoints, scope.others)
    }
}
