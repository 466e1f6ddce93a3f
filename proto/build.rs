//! Generates the cnm.v1 client and server code from `proto/cnm/v1/cnm.proto`,
//! `proto/cnm/v1/container.proto` and `proto/cnm/v1/bridge.proto`, and the
//! plugin protocols `cnm.driver.v1` and `cnm.ipam.v1`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    tonic_prost_build::configure().compile_protos(
        &[
            "proto/cnm/v1/cnm.proto",
            "proto/cnm/v1/container.proto",
            "proto/cnm/v1/bridge.proto",
            "proto/cnm/driver/v1/driver.proto",
            "proto/cnm/ipam/v1/ipam.proto",
        ],
        &["proto"],
    )?;
    Ok(())
}
