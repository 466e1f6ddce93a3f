//! cnm network drivers and the thin kernel wrappers they share.
//!
//! `driver` holds the CNM verbs every driver speaks; `bridge`, `host`,
//! `null`, `macvlan`, `ipvlan` and `overlay` are the built-in drivers.
//! What several of them share sits beside them: `parent` (the parent
//! interfaces of macvlan and ipvlan), `interfaceless` (the verbs of host and
//! null) and `options` (how option parsers word a refusal). `sys` wraps
//! netlink, network namespaces and sysctls for the drivers and the daemon
//! core alike.
//! `ipam` holds the verbs of an IPAM driver, which cnmd's built-in IPAM and
//! IPAM plugins both speak.

pub mod bridge;
pub mod driver;
mod error;
pub mod host;
mod interfaceless;
pub mod ipam;
pub mod ipvlan;
pub mod macvlan;
pub mod null;
mod options;
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
