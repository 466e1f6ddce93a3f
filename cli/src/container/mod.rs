//! The bundled runtime's commands: `cnm run`, `ps`, `stop`, `start`,
//! `restart`, `rm`, `logs`, `exec`, `inspect`, and `cnm rootfs busybox`,
//! following `docker …` flags and output.

mod attach;
mod inspect;
mod lifecycle;
mod ps;
mod rootfs;
mod run;
mod stream;

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use pb::v1::container_service_client::ContainerServiceClient;
use tonic::transport::Channel;

use crate::error;

/// The container subcommands (top level, as in Docker).
#[derive(Debug, Subcommand)]
#[allow(
    clippy::large_enum_variant,
    reason = "parsed once per process; boxing would only add an allocation"
)]
pub enum ContainerCommand {
    /// Create and run a new container from a rootfs directory
    Run(run::RunArgs),
    /// List containers
    #[command(visible_alias = "list")]
    Ps(ps::PsArgs),
    /// Stop one or more running containers
    Stop(lifecycle::StopArgs),
    /// Start one or more stopped containers
    Start(lifecycle::NamesArgs),
    /// Restart one or more containers
    Restart(lifecycle::StopArgs),
    /// Remove one or more containers
    Rm(lifecycle::RmArgs),
    /// Fetch the logs of a container
    Logs(stream::LogsArgs),
    /// Execute a command in a running container
    Exec(stream::ExecArgs),
    /// Display detailed information on one or more containers
    Inspect(inspect::InspectArgs),
    /// Build a root filesystem for containers
    Rootfs {
        #[command(subcommand)]
        command: rootfs::RootfsCommand,
    },
}

/// Runs one container command; the exit status is the container's for
/// `run` (attached) and `exec`.
pub async fn run(command: ContainerCommand, host: &str) -> ExitCode {
    let result = match command {
        ContainerCommand::Run(args) => return run::run(args, host).await,
        ContainerCommand::Exec(args) => return stream::exec(args, host).await,
        ContainerCommand::Ps(args) => ps::run(args, host).await,
        ContainerCommand::Stop(args) => lifecycle::stop(args, host).await,
        ContainerCommand::Start(args) => lifecycle::start(args, host).await,
        ContainerCommand::Restart(args) => lifecycle::restart(args, host).await,
        ContainerCommand::Rm(args) => lifecycle::rm(args, host).await,
        ContainerCommand::Logs(args) => stream::logs(args, host).await,
        ContainerCommand::Inspect(args) => inspect::run(args, host).await,
        ContainerCommand::Rootfs { command } => rootfs::run(command),
    };
    error::exit_code(result)
}

/// Opens the container API of cnmd at `host`.
async fn client(host: &str) -> Result<ContainerServiceClient<Channel>> {
    Ok(ContainerServiceClient::new(
        crate::client::connect(host).await?,
    ))
}
