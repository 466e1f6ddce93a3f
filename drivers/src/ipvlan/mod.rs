//! The `ipvlan` driver: each endpoint is an ipvlan sub-interface of the
//! network's parent, created directly inside the sandbox. All of them share
//! the parent's MAC; the kernel tells them apart by IP address.
//!
//! - l2: containers are on the parent's LAN (ARP and all) and route out
//!   through the network's gateway;
//! - l3, l3s: the parent routes for them (no ARP, no broadcast); containers
//!   get an on-link default route and the LAN reaches their subnet through
//!   a route to the host. l3s also runs the host's netfilter hooks.
//!
//! Kernels without ipvlan (CONFIG_IPVLAN off) are detected once, and every
//! `net create -d ipvlan` is refused before anything is recorded.

mod endpoint;
mod options;

use std::sync::Arc;

pub use options::{keys, IpvlanOptions};

use crate::driver::{
    Capabilities, Driver, EndpointSpec, JoinInfo, NetworkSpec, ReconcileReport, ReconcileScope,
    SandboxSpec,
};
use crate::parent::{self, ParentRegistry, StackedNetwork, IPVLAN};
use crate::sys::{IpvlanMode, Netlink};
use crate::DriverError;

/// The `ipvlan` network driver.
#[derive(Debug, Clone, Default)]
pub struct IpvlanDriver {
    /// Parents in use, shared with the macvlan driver.
    parents: Arc<ParentRegistry>,
}

impl IpvlanDriver {
    /// The driver's name, as typed after `-d`.
    pub const NAME: &'static str = "ipvlan";

    /// An ipvlan driver working in the namespace of whichever thread calls
    /// it; `parents` is shared with the macvlan driver.
    pub fn new(parents: Arc<ParentRegistry>) -> Self {
        IpvlanDriver { parents }
    }
}

/// Everything the ipvlan verbs need from a `NetworkSpec`, checked.
#[derive(Debug, Clone)]
struct IpvlanNetwork {
    stacked: StackedNetwork,
    options: IpvlanOptions,
}

impl IpvlanNetwork {
    fn new(net: &NetworkSpec) -> Result<IpvlanNetwork, DriverError> {
        let options = IpvlanOptions::parse(&net.options)?;
        let stacked = StackedNetwork::new(IpvlanDriver::NAME, net, options.parent.as_deref())?;
        Ok(IpvlanNetwork { stacked, options })
    }

    /// l3 and l3s route inside the parent: no next hop for containers.
    fn routed(&self) -> bool {
        self.options.mode != IpvlanMode::L2
    }
}

impl Driver for IpvlanDriver {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            scope: "local",
            creates_interfaces: true,
        }
    }

    /// Kernel support first: on a kernel without ipvlan, whatever else is
    /// wrong with the request, that is the error users need.
    fn validate_network(&self, net: &NetworkSpec) -> Result<(), DriverError> {
        parent::require_link_kind(
            Self::NAME,
            "create networks",
            IPVLAN,
            "use -d macvlan (the same idea with a MAC per container), or run cnmd on a kernel \
             with ipvlan",
        )?;
        let ipvlan = IpvlanNetwork::new(net)?;
        parent::validate_network(&self.parents, Self::NAME, &ipvlan.stacked)
    }

    /// The parent is all an ipvlan network has on the host.
    fn create_network(&self, net: &NetworkSpec) -> Result<(), DriverError> {
        let ipvlan = IpvlanNetwork::new(net)?;
        parent::create_network(&self.parents, Self::NAME, &ipvlan.stacked, |_, _| Ok(()))
    }

    fn delete_network(&self, net: &NetworkSpec) -> Result<(), DriverError> {
        let ipvlan = IpvlanNetwork::new(net)?;
        parent::delete_network(
            &self.parents,
            &mut Netlink::open()?,
            Self::NAME,
            &ipvlan.stacked,
        )
    }

    fn join(
        &self,
        net: &NetworkSpec,
        ep: &EndpointSpec,
        sandbox: SandboxSpec<'_>,
    ) -> Result<JoinInfo, DriverError> {
        endpoint::join(&IpvlanNetwork::new(net)?, ep, sandbox)
    }

    /// The sub-interface lives in the sandbox, which the core empties.
    fn leave(&self, _net: &NetworkSpec, _ep: &EndpointSpec) -> Result<(), DriverError> {
        Ok(())
    }

    fn reconcile(&self, scope: ReconcileScope<'_>) -> Result<ReconcileReport, DriverError> {
        let networks = scope.networks;
        let mut report = ReconcileReport::default();
        let mut errors = Vec::new();
        let mut valid = Vec::new();
        for net in networks {
            match IpvlanNetwork::new(net) {
                Ok(ipvlan) => valid.push(ipvlan.stacked),
                Err(e) => errors.push(e),
            }
        }
        self.parents.reset(Self::NAME, &valid);
        let mut nl = Netlink::open()?;
        for net in &valid {
            if let Err(e) = parent::repair(&mut nl, Self::NAME, net, &mut report) {
                errors.push(e);
            }
        }
        let kept = networks.iter().map(|n| n.id.as_str()).collect();
        let links = nl.links()?;
        parent::remove_orphans(&mut nl, &links, Self::NAME, &kept, &mut report, &mut errors);
        match DriverError::from_many(errors) {
            None => Ok(report),
            Some(e) => Err(e),
        }
    }
}
