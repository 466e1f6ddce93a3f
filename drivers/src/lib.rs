//! cnm network drivers and the thin kernel wrappers they share.
//!
//! `driver` holds the CNM verbs every driver speaks; `bridge`, `host`,
//! `null`, `macvlan` and `ipvlan` are the built-in drivers (the last two
//! share `parent`, their parent interfaces); `sys` wraps netlink, network
//! namespaces and sysctls for the drivers and the daemon core alike.

pub mod bridge;
pub mod driver;
mod error;
pub mod host;
pub mod ipvlan;
pub mod macvlan;
pub mod null;
pub mod parent;
pub mod sys;

pub use bridge::BridgeDriver;
pub use driver::{
    Capabilities, Driver, EndpointSpec, JoinInfo, NetworkSpec, ReconcileReport, SandboxInterface,
    SandboxSpec, SubnetSpec,
};
pub use error::DriverError;
pub use host::HostDriver;
pub use ipvlan::IpvlanDriver;
pub use macvlan::MacvlanDriver;
pub use null::NullDriver;
pub use parent::ParentRegistry;
