//! cnm network drivers and the thin kernel wrappers they share.
//!
//! `driver` holds the CNM verbs every driver speaks; `bridge`, `host`,
//! `null`, `macvlan`, `ipvlan` and `overlay` are the built-in drivers (the last two
//! share `parent`, their parent interfaces); `sys` wraps netlink, network
//! namespaces and sysctls for the drivers and the daemon core alike.
//! `ipam` holds the verbs of an IPAM driver, which cnmd's built-in IPAM and
//! IPAM plugins both speak.

pub mod bridge;
pub mod driver;
mod error;
pub mod host;
pub mod ipam;
pub mod ipvlan;
pub mod macvlan;
pub mod null;
pub mod overlay;
pub mod parent;
pub mod sys;

pub use bridge::BridgeDriver;
pub use driver::{
    Capabilities, Driver, EndpointSpec, JoinInfo, NetworkSpec, PortBinding, ReconcileReport,
    ReconcileScope, SandboxInterface, SandboxSpec, SubnetSpec,
};
pub use error::{full_message, DriverError, PluginFailure};
pub use host::HostDriver;
pub use ipvlan::IpvlanDriver;
pub use macvlan::MacvlanDriver;
pub use null::NullDriver;
pub use overlay::OverlayDriver;
pub use parent::ParentRegistry;
