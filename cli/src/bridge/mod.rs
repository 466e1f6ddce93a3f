//! `cnm bridge show|showmacs|showstp`: the Linux bridges of cnmd's network
//! namespace (cnm's and everyone else's), as cnmd reads them over netlink,
//! laid out exactly as bridge-utils' `brctl` prints them.

mod show;
mod showmacs;
mod showstp;

use anyhow::Result;
use clap::Subcommand;
use pb::v1::bridge_service_client::BridgeServiceClient;
use tonic::transport::Channel;

/// The `bridge` subcommands.
#[derive(Debug, Subcommand)]
pub enum BridgeCommand {
    /// Show a list of bridges and their interfaces
    Show(show::ShowArgs),
    /// Show the MAC addresses a bridge has learned
    Showmacs(showmacs::ShowmacsArgs),
    /// Show the STP state of a bridge and its ports
    Showstp(showstp::ShowstpArgs),
}

/// Runs one `bridge` subcommand against cnmd at `host`.
pub async fn run(command: BridgeCommand, host: &str) -> Result<()> {
    match command {
        BridgeCommand::Show(args) => show::run(args, host).await,
        BridgeCommand::Showmacs(args) => showmacs::run(args, host).await,
        BridgeCommand::Showstp(args) => showstp::run(args, host).await,
    }
}

/// Opens the bridge API of cnmd at `host`.
async fn client(host: &str) -> Result<BridgeServiceClient<Channel>> {
    Ok(BridgeServiceClient::new(
        crate::client::connect(host).await?,
    ))
}

/// A time in hundredths of a second as brctl prints it (`%4i.%.2i`).
fn timer(centis: u64) -> String {
    format!("{:4}.{:02}", centis / 100, centis % 100)
}

#[cfg(test)]
mod tests {
    use super::timer;

    #[test]
    fn timers_print_like_brctl() {
        assert_eq!(timer(0), "   0.00");
        assert_eq!(timer(1498), "  14.98");
        assert_eq!(timer(30000), " 300.00");
        assert_eq!(timer(1234567), "12345.67");
    }
}
