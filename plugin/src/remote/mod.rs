//! The client ends: a plugin behind a unix socket, seen through the
//! synchronous `Driver` and `IpamDriver` traits, so the core calls a plugin
//! as it calls a built-in.

mod driver;
mod ipam;

pub use driver::{DriverReplay, RemoteDriver, ReplayEndpoint};
pub use ipam::{IpamReplay, RemoteIpam};

use tonic::Status;

/// Replays one item; a refusal is logged and the replay goes on (the
/// plugin decides what it can take), a transport failure ends it.
fn replayed(result: Result<(), Status>, plugin: &str, what: &str) -> Result<(), Status> {
    match result {
        Err(status) if crate::link::is_transport(&status) => Err(status),
        Err(status) => {
            tracing::warn!(plugin, object = what, error = %status.message(), "plugin refused replayed state");
            Ok(())
        }
        Ok(()) => Ok(()),
    }
}
