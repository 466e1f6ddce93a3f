//! `cnm stop`, `start`, `restart`, `rm`: one request per named container,
//! printing each name on success and an error line per failure.

use anyhow::Result;
use clap::Args;
use pb::v1::{ContainerRef, RemoveContainerRequest, StopContainerRequest};
use tonic::Status;

use crate::error::Failures;
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
    for_each_container(args.containers, async |container| {
        let request = StopContainerRequest {
            container,
            timeout: args.time,
        };
        client.stop_container(request).await.map(drop)
    })
    .await
}

pub async fn start(args: NamesArgs, host: &str) -> Result<()> {
    let mut client = super::client(host).await?;
    for_each_container(args.containers, async |container| {
        let request = ContainerRef { container };
        client.start_container(request).await.map(drop)
    })
    .await
}

pub async fn restart(args: StopArgs, host: &str) -> Result<()> {
    let mut client = super::client(host).await?;
    for_each_container(args.containers, async |container| {
        let stop = StopContainerRequest {
            container: container.clone(),
            timeout: args.time,
        };
        client.stop_container(stop).await?;
        let start = ContainerRef { container };
        client.start_container(start).await.map(drop)
    })
    .await
}

pub async fn rm(args: RmArgs, host: &str) -> Result<()> {
    let mut client = super::client(host).await?;
    for_each_container(args.containers, async |container| {
        let request = RemoveContainerRequest {
            container,
            force: args.force,
            when_exited: false,
        };
        client.remove_container(request).await.map(drop)
    })
    .await
}

/// Sends `request` for each container in turn, then prints each name that
/// worked and an error line for each that did not. Nothing is printed before
/// every request went out, so a closed stdout (`cnm rm a b | head -0`) does
/// not leave the later containers untouched.
async fn for_each_container(
    containers: Vec<String>,
    mut request: impl AsyncFnMut(String) -> Result<(), Status>,
) -> Result<()> {
    let mut results = Vec::with_capacity(containers.len());
    for name in containers {
        let result = request(name.clone()).await;
        results.push((name, result));
    }
    let mut failures = Failures::default();
    for (name, result) in results {
        match result {
            Ok(()) => output::print(&format!("{name}\n"))?,
            Err(status) => failures.print(&status),
        }
    }
    failures.into_result()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Reported;

    #[tokio::test]
    async fn a_failure_fails_the_command_after_every_request() {
        let mut sent = Vec::new();
        let names = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let result = for_each_container(names, async |container| {
            sent.push(container.clone());
            if container == "b" {
                Err(Status::not_found("No such container: b"))
            } else {
                Ok(())
            }
        })
        .await;
        assert_eq!(sent, ["a", "b", "c"]);
        assert!(result.expect_err("b failed").is::<Reported>());
    }
}
