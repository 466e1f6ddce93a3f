//! The one mapping from core errors to gRPC status codes.

use tonic::{Code, Status};

use crate::core::CoreError;
use crate::ipam::IpamError;
use cnm_drivers::DriverError;

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

fn ipam_code(err: &IpamError) -> Code {
    match err {
        IpamError::AddressInUse { .. }
        | IpamError::AddressReserved { .. }
        | IpamError::SubnetOverlap { .. }
        | IpamError::NetworkExists { .. } => Code::AlreadyExists,
        IpamError::NetworkFull { .. } | IpamError::PoolsExhausted { .. } => Code::ResourceExhausted,
        IpamError::UnknownNetwork { .. } => Code::NotFound,
        _ => Code::InvalidArgument,
    }
}
