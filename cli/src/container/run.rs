//! `cnm run`: create and start a container, then (without `-d`) attach to
//! it and exit with its exit code, as `docker run` does; with `-it`,
//! Ctrl-P Ctrl-Q detaches and leaves it running.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use pb::v1::{attach_input, AttachInput, AttachStart, RemoveContainerRequest, RunContainerRequest};

use super::attach::{self, Ending};
use super::stream::ending_status;
use crate::error;

/// Docker's exit status when the container could not be run at all.
const RUN_FAILED: u8 = 125;

/// Flags of `run`.
#[derive(Debug, Args)]
#[command(trailing_var_arg = true)]
pub struct RunArgs {
    /// Run in the background and print the container id
    #[arg(short, long)]
    detach: bool,
    /// Remove the container when it exits
    #[arg(long)]
    rm: bool,
    /// Assign a name to the container
    #[arg(long)]
    name: Option<String>,
    /// Connect to a network (bridge by default; host, none, or a network)
    #[arg(long = "network", visible_alias = "net", value_name = "NETWORK")]
    networks: Vec<String>,
    /// Publish a container's port to the host
    #[arg(short, long, value_name = "[HOSTIP:][HOSTPORT:]PORT[/PROTO]")]
    publish: Vec<String>,
    /// IPv4 address on the first network
    #[arg(long)]
    ip: Option<String>,
    /// Network-scoped alias on the first network
    #[arg(long = "alias", visible_alias = "network-alias")]
    aliases: Vec<String>,
    /// Container host name (default: the name)
    #[arg(long)]
    hostname: Option<String>,
    /// Set environment variables
    #[arg(short, long = "env", value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// Working directory inside the container
    #[arg(short, long, value_name = "DIR")]
    workdir: Option<String>,
    /// Memory limit (e.g. 64m)
    #[arg(short, long)]
    memory: Option<String>,
    /// Number of CPUs (e.g. 0.5)
    #[arg(long)]
    cpus: Option<String>,
    /// Tune container pids limit
    #[arg(long)]
    pids_limit: Option<String>,
    /// Add Linux capabilities
    #[arg(long)]
    cap_add: Vec<String>,
    /// Drop Linux capabilities
    #[arg(long)]
    cap_drop: Vec<String>,
    /// Bind mount a host directory (HOSTDIR:CDIR[:ro])
    #[arg(short, long = "volume")]
    volumes: Vec<String>,
    /// Keep STDIN open and forward it to the container
    #[arg(short, long)]
    interactive: bool,
    /// Allocate a pseudo-TTY (with -i: raw terminal, Ctrl-P Ctrl-Q detaches)
    #[arg(short, long)]
    tty: bool,
    /// The rootfs directory (on cnmd's host)
    rootfs: String,
    /// The command and its arguments
    #[arg(required = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

pub async fn run(args: RunArgs, host: &str) -> ExitCode {
    match run_inner(args, host).await {
        Ok(code) => code,
        Err(err) => {
            error::print(&format_args!("{err:#}"));
            ExitCode::from(RUN_FAILED)
        }
    }
}

async fn run_inner(args: RunArgs, host: &str) -> Result<ExitCode> {
    let detach = args.detach;
    let remove_after = args.rm && !detach;
    let rootfs = std::path::absolute(&args.rootfs)
        .map(|p| p.display().to_string())
        .unwrap_or(args.rootfs);
    let request = RunContainerRequest {
        name: args.name.unwrap_or_default(),
        rootfs,
        args: args.command,
        env: args.env,
        workdir: args.workdir.unwrap_or_default(),
        hostname: args.hostname.unwrap_or_default(),
        networks: args.networks,
        publish: args.publish,
        ip: args.ip.unwrap_or_default(),
        aliases: args.aliases,
        memory: args.memory.unwrap_or_default(),
        cpus: args.cpus.unwrap_or_default(),
        pids_limit: args.pids_limit.unwrap_or_default(),
        cap_add: args.cap_add,
        cap_drop: args.cap_drop,
        volumes: args.volumes,
        // Attached, we remove it ourselves after the output drained: cnmd
        // removing it on exit could race with our attach.
        auto_remove: args.rm && detach,
        tty: args.tty,
        interactive: args.interactive,
    };
    let mut client = super::client(host).await?;
    let created = client
        .run_container(request)
        .await
        .map_err(error::from_status)?
        .into_inner();
    if detach {
        println!("{}", created.id);
        return Ok(ExitCode::SUCCESS);
    }
    let options = attach::Options {
        tty: args.tty,
        stdin: args.interactive,
    };
    let first = AttachInput {
        kind: Some(attach_input::Kind::Start(AttachStart {
            container: created.id.clone(),
            stdin: args.interactive,
        })),
    };
    let wrap = |input| AttachInput {
        kind: Some(attach_input::Kind::Input(input)),
    };
    let (requests, sender) = attach::requests(first, wrap, options);
    let output = client
        .attach_container(requests)
        .await
        .map_err(error::from_status)?
        .into_inner();
    let ending = attach::run(output, sender, options).await?;
    // Detached (Ctrl-P Ctrl-Q, or signalled) it still runs: cnmd removes it
    // when it exits, as `run -d --rm` would have.
    if remove_after {
        let exited = matches!(ending, Ending::Exited(_) | Ending::Closed);
        let remove = RemoveContainerRequest {
            container: created.id,
            force: exited,
            when_exited: !exited,
        };
        client
            .remove_container(remove)
            .await
            .map_err(error::from_status)?;
    }
    Ok(ending_status(ending, i32::from(RUN_FAILED)))
}
