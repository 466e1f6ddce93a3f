//! Errors of the driver verbs.

use crate::sys::SysError;

/// An error's message followed by each cause not already in it, joined by
/// ": " — the one form cnm's errors take wherever they cross a boundary
/// (the API, a plugin's reply). Here because every crate that needs it
/// already depends on the drivers.
pub fn full_message(err: &dyn std::error::Error) -> String {
    let mut message = err.to_string();
    let mut cause = err.source();
    while let Some(err) = cause {
        let text = err.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cause = err.source();
    }
    message
}

/// Why a driver verb failed.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// A `-o key=value` the driver does not accept, or a bad value.
    #[error("driver {driver}: {message}")]
    InvalidOption {
        driver: &'static str,
        message: String,
    },
    /// A network or endpoint the driver cannot work with (an id that is not
    /// hex, a gateway outside its subnet, …).
    #[error("{object}: {reason}")]
    InvalidSpec { object: String, reason: String },
    /// The request makes no sense for this driver (e.g. joining `host`).
    #[error("driver {driver} cannot {operation}: {reason}")]
    Unsupported {
        driver: &'static str,
        operation: &'static str,
        reason: String,
    },
    /// A kernel object the request needs is missing (e.g. the bridge of a
    /// network that someone deleted by hand).
    #[error("{object} not found; {hint}")]
    NotFound { object: String, hint: &'static str },
    /// A kernel object of another owner stands where ours should be.
    #[error("{object} already exists and is not {expected}; remove it or choose another name")]
    Conflict { object: String, expected: String },
    /// The kernel refused or failed a request.
    #[error(transparent)]
    Sys(#[from] SysError),
    /// A driver plugin refused the request, or could not be reached; the
    /// message is the plugin's own (or says why it is unreachable).
    #[error("driver {driver}: {message}")]
    Plugin {
        driver: String,
        failure: PluginFailure,
        message: String,
    },
    /// A best-effort pass (reconcile) kept going past failures; all of them.
    #[error("{} errors: {}", .0.len(), join(.0))]
    Several(Vec<DriverError>),
}

/// The class of a plugin's error, carried over the wire as a gRPC status
/// code (see proto/cnm/driver/v1/driver.proto).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginFailure {
    /// Bad options or subnets (INVALID_ARGUMENT).
    Invalid,
    /// An object the request needs is missing (NOT_FOUND).
    NotFound,
    /// Another owner's object stands in the way (ALREADY_EXISTS).
    Conflict,
    /// The driver cannot do this (FAILED_PRECONDITION).
    Unsupported,
    /// The plugin is not running or did not answer in time.
    Unavailable,
    /// Anything else.
    Failed,
}

impl DriverError {
    /// One error for a list collected by a best-effort pass: None if empty,
    /// the error itself if alone, `Several` otherwise.
    pub fn from_many(mut errors: Vec<DriverError>) -> Option<DriverError> {
        match errors.len() {
            0 => None,
            1 => errors.pop(),
            _ => Some(DriverError::Several(errors)),
        }
    }
}

/// "first: its cause; second: its cause": each error with its source chain,
/// since the list itself has no single source.
fn join(errors: &[DriverError]) -> String {
    errors
        .iter()
        .map(|e| {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                text.push_str(": ");
                text.push_str(&cause.to_string());
                source = cause.source();
            }
            text
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_lists_every_error_with_its_cause() {
        let errors = vec![
            DriverError::Sys(SysError::from_errno("delete link", "cnmv0", libc::EPERM)),
            DriverError::NotFound {
                object: "bridge cnm0".into(),
                hint: "recreate the network",
            },
        ];
        let text = DriverError::from_many(errors)
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(text.starts_with("2 errors: delete link cnmv0: "), "{text}");
        assert!(
            text.ends_with("; bridge cnm0 not found; recreate the network"),
            "{text}"
        );
        assert!(DriverError::from_many(Vec::new()).is_none());
    }
}
