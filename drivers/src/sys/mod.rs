//! Thin, synchronous wrappers over the kernel interfaces the drivers and the
//! daemon core need: rtnetlink (links, addresses, routes), network
//! namespaces and `/proc/sys`. This is the only place that builds netlink
//! messages; everything above speaks in `Link`, `VethSpec`, `IpNetwork`.

mod netlink;
mod netns;
mod sysctl;

use std::io;

pub use netlink::{
    BlackholeKind, BridgeId, BridgeInfo, BridgePortInfo, BridgeSpec, FdbEntry, IpvlanFlag,
    IpvlanMode, Link, MacvlanMode, Netlink, PortState, RouteEntry, SublinkKind, SublinkSpec,
    VethSpec, VxlanSpec, FLOOD_MAC,
};
pub use netns::{netns_id_of, Netns, NetnsId};
pub use sysctl::{read_sysctl, write_sysctl};

/// A kernel operation that failed: what was attempted, on which object, and
/// the OS error the kernel returned.
#[derive(Debug, thiserror::Error)]
#[error("{op} {object}")]
pub struct SysError {
    /// The operation, e.g. "create veth".
    pub op: &'static str,
    /// The object it was applied to, e.g. "cnmv1234 (peer eth0)".
    pub object: String,
    /// The kernel's answer.
    #[source]
    pub source: io::Error,
}

impl SysError {
    /// Wraps an OS error with the operation and object it belongs to.
    pub fn new(op: &'static str, object: impl Into<String>, source: io::Error) -> Self {
        SysError {
            op,
            object: object.into(),
            source,
        }
    }

    /// Builds an error from a raw errno value (positive, e.g. `libc::ENODEV`).
    pub fn from_errno(op: &'static str, object: impl Into<String>, errno: i32) -> Self {
        Self::new(op, object, io::Error::from_raw_os_error(errno))
    }

    /// The errno behind this error, if it came from the kernel.
    pub fn errno(&self) -> Option<i32> {
        self.source.raw_os_error()
    }

    /// The object already exists (EEXIST).
    pub fn is_exists(&self) -> bool {
        self.errno() == Some(libc::EEXIST)
    }

    /// The object does not exist: no such device (links), no such file
    /// (paths, routes), no such process (namespaces of a dead pid) or no such
    /// address (addresses).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self.errno(),
            Some(libc::ENODEV | libc::ENOENT | libc::ESRCH | libc::EADDRNOTAVAIL)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_operation_and_object_only() {
        let e = SysError::from_errno("create veth", "cnmv1234 (peer eth0)", libc::EEXIST);
        assert_eq!(e.to_string(), "create veth cnmv1234 (peer eth0)");
        assert!(e.is_exists());
        assert!(!e.is_not_found());
        let source = std::error::Error::source(&e).map(ToString::to_string);
        assert!(source.is_some_and(|s| s.contains("exists")));
    }

    #[test]
    fn not_found_covers_the_kernel_spellings() {
        for errno in [libc::ENODEV, libc::ENOENT, libc::ESRCH, libc::EADDRNOTAVAIL] {
            assert!(SysError::from_errno("op", "x", errno).is_not_found());
        }
        assert_eq!(
            SysError::from_errno("op", "x", libc::EPERM).errno(),
            Some(libc::EPERM)
        );
    }
}
