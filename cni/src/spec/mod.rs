//! The CNI wire formats (spec 1.1 and the older versions it still answers):
//! environment, network configuration, results and errors. Nothing here
//! talks to cnmd.

pub mod config;
pub mod env;
pub mod error;
pub mod result;
pub mod version;

pub use config::{GcAttachment, NetConf, PortMapping};
pub use env::{CniEnv, Command};
pub use error::{code, CniError};
pub use result::{CniResult, Interface, IpConfig, PrevResult, ResultDns, Route};
pub use version::{SpecVersion, CURRENT, SUPPORTED};
