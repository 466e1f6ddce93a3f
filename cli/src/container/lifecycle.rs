//! `cnm stop`, `start`, `restart`, `rm`: one request per named container,
//! printing each name on success and an error line per failure.

use anyhow::Result;
use clap::Args;
use pb::v1::{ContainerRef, RemoveContainerRequest, StopContainerRequest};
use tonic::Status;

use crate::error::{self, Reported};
use crate::output;

/// Container names, for `start`.
#[derive(Debug, Args)]
pub struct NamesArgs {
    /// Container names or ids
    #[arg(value_name = "CONTAINER", required = true)]
    containers: Vec<String>,
}

/// Flags of `stop` and `restart`.
#[derive(Debug, Args)]
pub struct StopArgs {
    /// Seconds to wait after SIGTERM before SIGKILL
    #[arg(short, long = "time", visible_alias = "timeout", default_value_t = 10)]
    time: i32,
    /// Container names or ids
    #[arg(value_name = "CONTAINER", required = true)]
    containers: Vec<String>,
}

/// Flags of `rm`.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// Kill and remove a running container
    #[arg(short, long)]
    force: bool,
    /// Container names or ids
    #[arg(value_name = "CONTAINER", required = true)]
    containers: Vec<String>,
}

pub async fn stop(args: StopArgs, host: &str) -> Result<()> {
    let mut client = super::client(host).await?;
    let mut results = Vec::new();
    for name in args.containers {
        let request = StopContainerRequest {
            container: name.clone(),
            timeout: args.time,
        };
        results.push((name, client.stop_container(request).await.map(drop)));
    }
    report(results)
}

pub async fn start(args: NamesArgs, host: &str) -> Result<()> {
    let mut client = super::client(host).await?;
    let mut results = Vec::new();
    for name in args.containers {
        let request = ContainerRef {
            container: name.clone(),
        };
        results.push((name, client.start_container(request).await.map(drop)));
    }
    report(results)
}

pub async fn restart(args: StopArgs, host: &str) -> Result<()> {
    let mut client = super::client(host).await?;
    let mut results = Vec::new();
    for name in args.containers {
        let stop = StopContainerRequest {
            container: name.clone(),
            timeout: args.time,
        };
        let mut done = client.stop_container(stop).await.map(drop);
        if done.is_ok() {
            let start = ContainerRef {
                container: name.clone(),
            };
            done = client.start_container(start).await.map(drop);
        }
        results.push((name, done));
    }
    report(results)
}

pub async fn rm(args: RmArgs, host: &str) -> Result<()> {
    let mut client = super::client(host).await?;
    let mut results = Vec::new();
    for name in args.containers {
        let request = RemoveContainerRequest {
            container: name.clone(),
            force: args.force,
            when_exited: false,
        };
        results.push((name, client.remove_container(request).await.map(drop)));
    }
    report(results)
}

/// Prints each name that worked and an error line for each that did not.
fn report(results: Vec<(String, Result<(), Status>)>) -> Result<()> {
    let mut failed = false;
    for (name, result) in results {
        match result {
            Ok(()) => output::print(&format!("{name}\n"))?,
            Err(status) => {
                error::print(&error::status_message(&status));
                failed = true;
            }
        }
    }
    if failed {
        Err(Reported.into())
    } else {
        Ok(())
    }
}
