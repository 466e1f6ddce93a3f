//! Generated gRPC types for cnm's APIs. `pb::v1` is the daemon API that the
//! CLI and other clients speak to cnmd; `pb::driver::v1` and `pb::ipam::v1`
//! are the plugin protocols cnmd speaks to network driver and IPAM plugins.

/// The daemon API, package `cnm.v1`.
#[allow(clippy::all, missing_docs)]
pub mod v1 {
    tonic::include_proto!("cnm.v1");
}

/// Network driver plugins, package `cnm.driver.v1`.
pub mod driver {
    #[allow(clippy::all, missing_docs)]
    pub mod v1 {
        tonic::include_proto!("cnm.driver.v1");
    }
}

/// IPAM plugins, package `cnm.ipam.v1`.
pub mod ipam {
    #[allow(clippy::all, missing_docs)]
    pub mod v1 {
        tonic::include_proto!("cnm.ipam.v1");
    }
}
