//! `cnm network rm` (alias `remove`): removes networks one by one, printing
//! each removed name and an error line for each failure, as Docker does.

use anyhow::Result;
use clap::Args;
use pb::v1::RemoveNetworkRequest;
use tonic::Code;

use crate::error::Failures;
use crate::output;

/// Flags of `network rm`.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// Do not error if the network does not exist
    #[arg(short, long)]
    force: bool,
    /// Network names or ids
    #[arg(value_name = "NETWORK", required = true)]
    networks: Vec<String>,
}

/// Removes every named network; fails at the end if any removal failed.
pub async fn run(args: RmArgs, host: &str) -> Result<()> {
    let mut client = super::client(host).await?;
    let mut failures = Failures::default();
    for name in args.networks {
        let request = RemoveNetworkRequest {
            network: name.clone(),
        };
        match client.remove_network(request).await {
            Ok(_) => output::print(&format!("{name}\n"))?,
            Err(status) if args.force && status.code() == Code::NotFound => {}
            Err(status) => failures.print(&status),
        }
    }
    failures.into_result()
}
