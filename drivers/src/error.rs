//! Errors of the driver verbs.

use crate::sys::SysError;

/// Why a driver verb failed.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// A `-o key=value` the driver does not accept, or a bad value.
    #[error("driver {driver}: {message}")]
    InvalidOption {
        driver: &'static str,
        message: String,
    },
    /// The request makes no sense for this driver (e.g. joining `host`).
    #[error("driver {driver} cannot {operation}: {reason}")]
    Unsupported {
        driver: &'static str,
        operation: &'static str,
        reason: String,
    },
    /// A kernel object of another owner stands where ours should be.
    #[error("{object} already exists and is not {expected}; remove it or choose another name")]
    Conflict { object: String, expected: String },
    /// The kernel refused or failed a request.
    #[error(transparent)]
    Sys(#[from] SysError),
}
