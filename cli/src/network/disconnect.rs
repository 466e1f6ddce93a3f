//! `cnm network disconnect`: detaches a container or network namespace from a
//! network; success prints nothing, as Docker does.

use anyhow::Result;
use clap::Args;
use pb::v1::DisconnectRequest;

use super::sandbox::SandboxArgs;
use crate::error;

/// Flags of `network disconnect`.
#[derive(Debug, Args)]
pub struct DisconnectArgs {
    /// Force the container to disconnect from a network
    #[arg(short, long)]
    force: bool,
    /// Network name or id
    #[arg(value_name = "NETWORK")]
    network: String,
    #[command(flatten)]
    sandbox: SandboxArgs,
}

impl DisconnectArgs {
    fn request(&self) -> Result<DisconnectRequest> {
        Ok(DisconnectRequest {
            network: self.network.clone(),
            sandbox: Some(self.sandbox.to_ref()?),
            force: self.force,
        })
    }
}

/// Disconnects; prints nothing on success.
pub async fn run(args: DisconnectArgs, host: &str) -> Result<()> {
    let request = args.request()?;
    super::client(host)
        .await?
        .disconnect_sandbox(request)
        .await
        .map_err(error::from_status)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::error::ErrorKind;
    use clap::Parser;
    use pb::v1::sandbox_ref::Kind;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: DisconnectArgs,
    }

    fn parse(argv: &[&str]) -> Result<DisconnectArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("disconnect").chain(argv.iter().copied()))
            .map(|c| c.args)
    }

    #[test]
    fn needs_exactly_one_of_netns_and_container() {
        let err = parse(&["web"]).expect_err("no sandbox");
        assert_eq!(err.kind(), ErrorKind::MissingRequiredArgument);
        let err = parse(&["--netns", "/run/netns/a", "web", "c1"]).expect_err("both");
        assert_eq!(err.kind(), ErrorKind::ArgumentConflict);
    }

    #[test]
    fn builds_the_request() {
        let request = parse(&["-f", "--netns", "/run/netns/a", "web"])
            .expect("valid")
            .request()
            .expect("valid");
        assert!(request.force);
        assert_eq!(request.network, "web");
        assert_eq!(
            request.sandbox.and_then(|s| s.kind),
            Some(Kind::NetnsPath("/run/netns/a".into()))
        );
    }
}
