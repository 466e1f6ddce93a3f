//! Output streams from cnmd: `cnm logs`, `cnm exec`, and the attached
//! part of `cnm run`. Chunks go to our stdout/stderr as they come.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use pb::v1::output_chunk::Kind;
use pb::v1::{ContainerLogsRequest, ExecContainerRequest, OutputChunk};
use tonic::Streaming;

use crate::error;

/// Flags of `logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Follow log output until the container exits
    #[arg(short, long)]
    follow: bool,
    /// Container name or id
    container: String,
}

/// Flags of `exec`.
#[derive(Debug, Args)]
#[command(trailing_var_arg = true)]
pub struct ExecArgs {
    /// Set environment variables (KEY=VALUE)
    #[arg(short, long = "env", value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// Working directory inside the container
    #[arg(short, long, value_name = "DIR")]
    workdir: Option<String>,
    /// Keep stdin open (not supported yet)
    #[arg(short, long)]
    interactive: bool,
    /// Allocate a pseudo-TTY (not supported yet)
    #[arg(short, long)]
    tty: bool,
    /// Container name or id
    container: String,
    /// The command and its arguments
    #[arg(required = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

pub async fn logs(args: LogsArgs, host: &str) -> Result<()> {
    let request = ContainerLogsRequest {
        container: args.container,
        follow: args.follow,
    };
    let stream = super::client(host)
        .await?
        .container_logs(request)
        .await
        .map_err(error::from_status)?
        .into_inner();
    copy_output(stream).await.map(drop)
}

pub async fn exec(args: ExecArgs, host: &str) -> ExitCode {
    let result = async {
        if args.interactive || args.tty {
            anyhow::bail!("exec -i and -t are not supported yet; run the command without them");
        }
        let request = ExecContainerRequest {
            container: args.container,
            args: args.command,
            env: args.env,
            workdir: args.workdir.unwrap_or_default(),
        };
        let stream = super::client(host)
            .await?
            .exec_container(request)
            .await
            .map_err(error::from_status)?
            .into_inner();
        copy_output(stream).await
    }
    .await;
    match result {
        Ok(code) => exit_status(code.unwrap_or(0)),
        Err(err) => {
            error::print(&format_args!("{err:#}"));
            ExitCode::from(126)
        }
    }
}

/// Copies stdout/stderr chunks until the stream ends; returns the exit
/// code if the stream carried one.
pub async fn copy_output(mut stream: Streaming<OutputChunk>) -> Result<Option<i32>> {
    let mut exit = None;
    while let Some(chunk) = stream.message().await.map_err(error::from_status)? {
        match chunk.kind {
            Some(Kind::Stdout(bytes)) => {
                let mut out = std::io::stdout().lock();
                out.write_all(&bytes)
                    .and_then(|()| out.flush())
                    .context("cannot write to stdout")?;
            }
            Some(Kind::Stderr(bytes)) => {
                let mut err = std::io::stderr().lock();
                let _ = err.write_all(&bytes).and_then(|()| err.flush());
            }
            Some(Kind::Exit(info)) => exit = Some(info.code),
            None => {}
        }
    }
    Ok(exit)
}

/// A container's exit code as ours (codes beyond 255 wrap as the shell's).
pub fn exit_status(code: i32) -> ExitCode {
    ExitCode::from((code & 0xff) as u8)
}
