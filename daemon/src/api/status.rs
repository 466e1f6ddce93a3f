//! The one mapping from core errors to gRPC status codes.

use tonic::{Code, Status};

use crate::core::CoreError;
use cnm_drivers::ipam::IpamDriverError;
use cnm_drivers::{DriverError, PluginFailure};

impl From<CoreError> for Status {
    fn from(err: CoreError) -> Status {
        let code = match &err {
            CoreError::NotFound(_) => Code::NotFound,
            CoreError::AlreadyExists(_) => Code::AlreadyExists,
            CoreError::InvalidArgument(_) => Code::InvalidArgument,
            CoreError::FailedPrecondition(_) => Code::FailedPrecondition,
            CoreError::Ipam(e) => ipam_code(e),
            CoreError::Driver(
                DriverError::InvalidOption { .. }
                | DriverError::Unsupported { .. }
                | DriverError::InvalidSpec { .. },
            ) => Code::InvalidArgument,
            CoreError::Driver(DriverError::NotFound { .. }) => Code::FailedPrecondition,
            CoreError::Driver(DriverError::Conflict { .. }) => Code::AlreadyExists,
            CoreError::Driver(DriverError::Plugin { failure, .. }) => plugin_code(*failure),
            CoreError::Driver(_)
            | CoreError::Sys { .. }
            | CoreError::Store(_)
            | CoreError::Internal(_) => Code::Internal,
        };
        let message = err.full_message();
        if code == Code::Internal {
            tracing::error!(error = %message, "request failed");
        }
        Status::new(code, message)
    }
}

fn ipam_code(err: &IpamDriverError) -> Code {
    match err {
        IpamDriverError::Invalid(_) => Code::InvalidArgument,
        IpamDriverError::InUse(_) => Code::AlreadyExists,
        IpamDriverError::NotFound(_) => Code::NotFound,
        IpamDriverError::Exhausted(_) => Code::ResourceExhausted,
        IpamDriverError::Unavailable(_) => Code::Unavailable,
        IpamDriverError::Failed(_) => Code::Internal,
    }
}

/// A plugin's error keeps its class; one that cannot be reached is
/// UNAVAILABLE, which clients may retry.
fn plugin_code(failure: PluginFailure) -> Code {
    match failure {
        PluginFailure::Invalid | PluginFailure::Unsupported => Code::InvalidArgument,
        PluginFailure::NotFound => Code::FailedPrecondition,
        PluginFailure::Conflict => Code::AlreadyExists,
        PluginFailure::Unavailable => Code::Unavailable,
        PluginFailure::Failed => Code::Internal,
    }
}
