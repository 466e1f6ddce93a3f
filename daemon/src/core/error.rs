//! Errors of the core operations. Each variant is a class the API maps to
//! one gRPC status code; the message is what the user reads.

use cnm_drivers::ipam::IpamDriverError;
use cnm_drivers::sys::SysError;
use cnm_drivers::DriverError;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    InvalidArgument(String),
    /// The object is in a state that forbids the operation ("has active
    /// endpoints", "built-in network").
    #[error("{0}")]
    FailedPrecondition(String),
    #[error(transparent)]
    Ipam(#[from] IpamDriverError),
    #[error(transparent)]
    Driver(#[from] DriverError),
    #[error("{context}")]
    Sys {
        context: String,
        #[source]
        source: SysError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl CoreError {
    pub fn sys(context: impl Into<String>) -> impl FnOnce(SysError) -> CoreError {
        let context = context.into();
        move |source| CoreError::Sys { context, source }
    }

    /// The message with every cause, for users and logs:
    /// "configure eth0 in /run/netns/c1: add address 10.0.0.2/24: File exists (os error 17)".
    pub fn full_message(&self) -> String {
        full_message(self)
    }
}

impl From<tokio::task::JoinError> for CoreError {
    fn from(err: tokio::task::JoinError) -> Self {
        CoreError::Internal(format!("worker thread failed: {err}"))
    }
}

pub use cnm_drivers::full_message;
