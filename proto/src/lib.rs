//! Generated gRPC types for cnm's APIs. `pb::v1` is the daemon API that the
//! CLI and other clients speak to cnmd.

/// The daemon API, package `cnm.v1`.
#[allow(clippy::all, missing_docs)]
pub mod v1 {
    tonic::include_proto!("cnm.v1");
}
