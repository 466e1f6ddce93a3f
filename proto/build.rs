//! Generates the cnm.v1 client and server code from `proto/cnm/v1/cnm.proto`,
//! `proto/cnm/v1/container.proto` and `proto/cnm/v1/bridge.proto`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    tonic_prost_build::configure().compile_protos(
        &[
            "proto/cnm/v1/cnm.proto",
            "proto/cnm/v1/container.proto",
            "proto/cnm/v1/bridge.proto",
        ],
        &["proto"],
    )?;
    Ok(())
}
