//! `cnm network …` (alias `cnm net`): create, list, inspect, remove, prune,
//! connect and disconnect networks, as `docker network …` does.

mod connect;
mod create;
mod disconnect;
mod inspect;
mod ipam;
mod ls;
mod prune;
mod rm;
pub mod sandbox;

use anyhow::Result;
use clap::Subcommand;
use pb::v1::network_service_client::NetworkServiceClient;
use tonic::transport::Channel;

/// The `network` subcommands.
#[derive(Debug, Subcommand)]
pub enum NetworkCommand {
    /// Create a network
    Create(create::CreateArgs),
    /// List networks
    #[command(visible_alias = "list")]
    Ls(ls::LsArgs),
    /// Display detailed information on one or more networks
    Inspect(inspect::InspectArgs),
    /// Remove one or more networks
    #[command(visible_alias = "remove")]
    Rm(rm::RmArgs),
    /// Remove all unused networks
    Prune(prune::PruneArgs),
    /// Connect a container or network namespace to a network
    #[command(
        override_usage = "cnm network connect [OPTIONS] <NETWORK> <CONTAINER | --netns PATH>"
    )]
    Connect(connect::ConnectArgs),
    /// Disconnect a container or network namespace from a network
    #[command(
        override_usage = "cnm network disconnect [OPTIONS] <NETWORK> <CONTAINER | --netns PATH>"
    )]
    Disconnect(disconnect::DisconnectArgs),
}

/// Runs one `network` subcommand against cnmd at `host`.
pub async fn run(command: NetworkCommand, host: &str) -> Result<()> {
    match command {
        NetworkCommand::Create(args) => create::run(args, host).await,
        NetworkCommand::Ls(args) => ls::run(args, host).await,
        NetworkCommand::Inspect(args) => inspect::run(args, host).await,
        NetworkCommand::Rm(args) => rm::run(args, host).await,
        NetworkCommand::Prune(args) => prune::run(args, host).await,
        NetworkCommand::Connect(args) => connect::run(args, host).await,
        NetworkCommand::Disconnect(args) => disconnect::run(args, host).await,
    }
}

/// Opens the network API of cnmd at `host`.
async fn client(host: &str) -> Result<NetworkServiceClient<Channel>> {
    Ok(NetworkServiceClient::new(
        crate::client::connect(host).await?,
    ))
}
