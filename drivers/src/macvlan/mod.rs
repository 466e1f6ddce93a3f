//! The `macvlan` driver: each endpoint is a macvlan sub-interface of the
//! network's parent, created directly inside the sandbox with its own MAC,
//! so containers sit on the parent's LAN as hosts of their own. No bridge,
//! no NAT, no published ports (as in Docker).
//!
//! The host cannot reach its own containers through the parent (the kernel
//! hands frames from a macvlan to the wire or to sibling macvlans, never to
//! the parent's own stack); `-o cnm.macvlan.host_shim=true` adds a
//! bridge-mode macvlan on the host with a /32 (/128) route per container,
//! see `shim`.

mod endpoint;
mod network;
mod options;
mod reconcile;
mod shim;

use std::sync::Arc;

pub use options::{keys, MacvlanOptions};
pub use shim::shim_name_for;

use crate::driver::{
    Capabilities, Driver, EndpointSpec, JoinInfo, NetworkSpec, ReconcileReport, ReconcileScope,
    SandboxSpec,
};
use crate::parent::ParentRegistry;
use crate::DriverError;
use network::MacvlanNetwork;

/// The `macvlan` network driver.
#[derive(Debug, Clone, Default)]
pub struct MacvlanDriver {
    /// Parents in use, shared with the ipvlan driver.
    parents: Arc<ParentRegistry>,
}

impl MacvlanDriver {
    /// The driver's name, as typed after `-d`.
    pub const NAME: &'static str = "macvlan";

    /// A macvlan driver working in the namespace of whichever thread calls
    /// it; `parents` is shared with the ipvlan driver.
    pub fn new(parents: Arc<ParentRegistry>) -> Self {
        MacvlanDriver { parents }
    }
}

impl Driver for MacvlanDriver {
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
        network::validate(&self.parents, net)
    }

    fn create_network(&self, net: &NetworkSpec) -> Result<(), DriverError> {
        network::create(&self.parents, &MacvlanNetwork::new(net)?)
    }

    fn delete_network(&self, net: &NetworkSpec) -> Result<(), DriverError> {
        network::delete(&self.parents, &MacvlanNetwork::new(net)?)
    }

    fn join(
        &self,
        net: &NetworkSpec,
        ep: &EndpointSpec,
        sandbox: SandboxSpec<'_>,
    ) -> Result<JoinInfo, DriverError> {
        endpoint::join(&MacvlanNetwork::new(net)?, ep, sandbox)
    }

    fn leave(&self, net: &NetworkSpec, ep: &EndpointSpec) -> Result<(), DriverError> {
        endpoint::leave(&MacvlanNetwork::new(net)?, ep)
    }

    fn reconcile(&self, scope: ReconcileScope<'_>) -> Result<ReconcileReport, DriverError> {
        reconcile::reconcile(&self.parents, scope.networks, scope.endpoints)
    }
}
