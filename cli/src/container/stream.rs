//! Output streams from cnmd: `cnm logs` and `cnm exec` (an attached
//! session, as the attached part of `cnm run`). Chunks go to our
//! stdout/stderr as they come.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use pb::v1::TtySize;
use pb::v1::{exec_input, ContainerLogsRequest, ExecContainerRequest, ExecInput, OutputChunk};
use tonic::Streaming;

use super::attach::{self, Ending};
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
    /// Keep STDIN open and forward it to the process
    #[arg(short, long)]
    interactive: bool,
    /// Allocate a pseudo-TTY (with -i: raw terminal, Ctrl-P Ctrl-Q detaches)
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
    let options = attach::Options {
        tty: args.tty,
        stdin: args.interactive,
    };
    let result = async {
        let start = ExecContainerRequest {
            container: args.container,
            args: args.command,
            env: args.env,
            workdir: args.workdir.unwrap_or_default(),
            tty: args.tty,
            interactive: args.interactive,
            tty_size: attach::window_size()
                .filter(|_| args.tty)
                .map(|(rows, cols)| TtySize {
                    rows: rows.into(),
                    cols: cols.into(),
                }),
        };
        let first = ExecInput {
            kind: Some(exec_input::Kind::Start(start)),
        };
        let wrap = |input| ExecInput {
            kind: Some(exec_input::Kind::Input(input)),
        };
        let (requests, sender) = attach::requests(first, wrap, options);
        let output = super::client(host)
            .await?
            .exec_container(requests)
            .await
            .map_err(error::from_status)?
            .into_inner();
        attach::run(output, sender, options).await
    }
    .await;
    match result {
        Ok(ending) => ending_status(ending, 0),
        Err(err) => {
            error::print(&format_args!("{err:#}"));
            ExitCode::from(126)
        }
    }
}

/// Our exit status after a session; `closed` when it ended without an
/// exit code.
pub fn ending_status(ending: Ending, closed: i32) -> ExitCode {
    match ending {
        Ending::Exited(code) => exit_status(code),
        Ending::Detached => ExitCode::SUCCESS,
        Ending::Closed => exit_status(closed),
        Ending::Signalled(signo) => exit_status(128 + signo),
    }
}

/// Copies stdout/stderr chunks until the stream ends; returns the exit
/// code if the stream carried one.
pub async fn copy_output(mut stream: Streaming<OutputChunk>) -> Result<Option<i32>> {
    let mut exit = None;
    while let Some(chunk) = stream.message().await.map_err(error::from_status)? {
        if let Some(code) = attach::write_chunk(chunk)? {
            exit = Some(code);
        }
    }
    Ok(exit)
}

/// A container's exit code as ours (codes beyond 255 wrap as the shell's).
pub fn exit_status(code: i32) -> ExitCode {
    ExitCode::from((code & 0xff) as u8)
}
