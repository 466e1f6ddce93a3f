//! The CNI error result: a code from the spec's table (or 100+ for ours),
//! a message and details, printed as JSON on stdout with a non-zero exit.

use std::fmt;

use serde::Serialize;

/// Error codes. 1-99 are the spec's well-known ones; 100+ are cnm-cni's.
pub mod code {
    /// The config's `cniVersion` is not one this plugin speaks.
    pub const INCOMPATIBLE_VERSION: u32 = 1;
    /// A field this plugin does not know; the message names key and value.
    pub const UNSUPPORTED_FIELD: u32 = 2;
    /// Invalid or missing CNI_* environment variables (named in the message).
    pub const INVALID_ENV: u32 = 4;
    /// Reading stdin failed.
    pub const IO_FAILURE: u32 = 5;
    /// stdin is not a JSON object.
    pub const DECODE_FAILURE: u32 = 6;
    /// The network configuration does not validate.
    pub const INVALID_CONFIG: u32 = 7;
    /// A transient condition (cnmd restarting, a network being created).
    pub const TRY_AGAIN_LATER: u32 = 11;
    /// STATUS: cnmd cannot serve ADD.
    pub const NOT_AVAILABLE: u32 = 50;
    /// cnmd refused the request (address in use, port taken, …).
    pub const DAEMON_REFUSED: u32 = 100;
    /// CHECK found the attachment different from prevResult or missing.
    pub const CHECK_FAILED: u32 = 101;
}

/// A CNI error, ready to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CniError {
    pub code: u32,
    pub msg: String,
    pub details: String,
}

impl CniError {
    pub fn new(code: u32, msg: impl Into<String>) -> CniError {
        CniError {
            code,
            msg: msg.into(),
            details: String::new(),
        }
    }

    pub fn with_details(mut self, details: impl Into<String>) -> CniError {
        self.details = details.into();
        self
    }

    /// The spec's error JSON for a caller speaking `cni_version`.
    pub fn to_json(&self, cni_version: &str) -> String {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Wire<'a> {
            cni_version: &'a str,
            code: u32,
            msg: &'a str,
            #[serde(skip_serializing_if = "str::is_empty")]
            details: &'a str,
        }
        let wire = Wire {
            cni_version,
            code: self.code,
            msg: &self.msg,
            details: &self.details,
        };
        // Strings and integers always serialize.
        serde_json::to_string(&wire).unwrap_or_default()
    }
}

impl fmt::Display for CniError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.msg)?;
        if !self.details.is_empty() {
            write!(f, " ({})", self.details)?;
        }
        Ok(())
    }
}

impl std::error::Error for CniError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_json_matches_the_spec() {
        let err = CniError::new(code::INVALID_CONFIG, "bad subnet");
        assert_eq!(
            err.to_json("1.1.0"),
            r#"{"cniVersion":"1.1.0","code":7,"msg":"bad subnet"}"#
        );
        let err = err.with_details("10.0.0.0/33");
        assert_eq!(
            err.to_json("0.4.0"),
            r#"{"cniVersion":"0.4.0","code":7,"msg":"bad subnet","details":"10.0.0.0/33"}"#
        );
    }
}
