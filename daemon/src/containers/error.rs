//! Errors of container operations; each variant is one class the API maps
//! to a gRPC status code.

use cnm_runtime::RuntimeError;

use crate::core::CoreError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    FailedPrecondition(String),
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("internal error: {0}")]
    Internal(String),
}

impl ContainerError {
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> ContainerError {
        let context = context.into();
        move |source| ContainerError::Io { context, source }
    }

    /// The message with every cause, for users and logs.
    pub fn full_message(&self) -> String {
        if let ContainerError::Core(core) = self {
            return core.full_message();
        }
        crate::core::full_message(self)
    }
}

impl From<tokio::task::JoinError> for ContainerError {
    fn from(err: tokio::task::JoinError) -> Self {
        ContainerError::Internal(format!("worker thread failed: {err}"))
    }
}

impl From<cnm_runtime::SpecError> for ContainerError {
    fn from(err: cnm_runtime::SpecError) -> Self {
        ContainerError::Runtime(err.into())
    }
}
