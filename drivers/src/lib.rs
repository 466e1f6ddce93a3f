//! cnm network drivers and the thin kernel wrappers they share.
//!
//! `driver` holds the CNM verbs every driver speaks; `bridge`, `host` and
//! `null` are the built-in drivers; `sys` wraps netlink, network namespaces
//! and sysctls for the drivers and the daemon core alike.

pub mod bridge;
pub mod driver;
mod error;
pub mod host;
pub mod null;
pub mod sys;

pub use bridge::BridgeDriver;
pub use driver::{
    Capabilities, Driver, EndpointSpec, JoinInfo, NetworkSpec, ReconcileReport, SandboxInterface,
    SandboxSpec, SubnetSpec,
};
pub use error::DriverError;
pub use host::HostDriver;
pub use null::NullDriver;
