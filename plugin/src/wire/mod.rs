//! The plugin protocols' wire values (`pb::driver::v1`, `pb::ipam::v1`) to
//! and from the trait values, and errors to and from gRPC statuses. Used by
//! both ends, so what one end sends the other reads back unchanged.

pub(crate) mod driver;
pub(crate) mod ipam;

use std::net::IpAddr;

use ipnetwork::IpNetwork;
use tonic::Status;

pub(crate) use cnm_drivers::full_message;

/// "" for None.
pub(crate) fn text<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// A CIDR field; `what` names it in the error.
pub(crate) fn cidr(what: &str, raw: &str) -> Result<IpNetwork, Status> {
    raw.parse()
        .map_err(|_| Status::invalid_argument(format!("{what}: invalid CIDR {raw:?}")))
}

/// An optional CIDR field ("" = None).
pub(crate) fn opt_cidr(what: &str, raw: &str) -> Result<Option<IpNetwork>, Status> {
    match raw {
        "" => Ok(None),
        _ => cidr(what, raw).map(Some),
    }
}

/// An address field.
pub(crate) fn ip(what: &str, raw: &str) -> Result<IpAddr, Status> {
    raw.parse()
        .map_err(|_| Status::invalid_argument(format!("{what}: invalid address {raw:?}")))
}

/// An optional address field ("" = None).
pub(crate) fn opt_ip(what: &str, raw: &str) -> Result<Option<IpAddr>, Status> {
    match raw {
        "" => Ok(None),
        _ => ip(what, raw).map(Some),
    }
}

/// A required message field.
pub(crate) fn required<T>(what: &str, value: Option<T>) -> Result<T, Status> {
    value.ok_or_else(|| Status::invalid_argument(format!("{what} is missing")))
}
