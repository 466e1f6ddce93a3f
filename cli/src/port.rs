//! `cnm port CONTAINER [PRIVATE_PORT[/PROTO]]`: the published ports of a
//! sandbox, printed as `docker port` does ("80/tcp -> 0.0.0.0:8080").

use anyhow::{bail, Result};
use clap::Args;
use pb::v1::sandbox_service_client::SandboxServiceClient;
use pb::v1::{InspectSandboxRequest, PortBinding};

use crate::client;
use crate::error;
use crate::network::sandbox::SandboxArgs;

/// Flags of `port`.
#[derive(Debug, Args)]
pub struct PortArgs {
    #[command(flatten)]
    sandbox: SandboxArgs,
    /// Only this container port (e.g. 80 or 80/udp)
    #[arg(long = "port", value_name = "PRIVATE_PORT[/PROTO]")]
    port: Option<String>,
}

pub async fn run(args: PortArgs, host: &str) -> Result<()> {
    let filter = args.port.as_deref().map(parse_filter).transpose()?;
    let request = InspectSandboxRequest {
        sandbox: Some(args.sandbox.to_ref()?),
    };
    let sandbox = SandboxServiceClient::new(client::connect(host).await?)
        .inspect_sandbox(request)
        .await
        .map_err(error::from_status)?
        .into_inner();
    let mut ports: Vec<&PortBinding> = sandbox
        .endpoints
        .iter()
        .flat_map(|e| e.ports.iter())
        .filter(|p| {
            filter
                .as_ref()
                .is_none_or(|(port, proto)| p.container_port == *port && &p.protocol == proto)
        })
        .collect();
    if ports.is_empty() {
        if let Some((port, proto)) = filter {
            bail!(
                "no public port '{port}/{proto}' published for {}",
                sandbox.name
            );
        }
        return Ok(());
    }
    ports.sort_by_key(|p| {
        (
            p.container_port,
            p.protocol.clone(),
            p.host_ip.contains(':'),
        )
    });
    for line in ports.iter().map(|p| format_binding(p)) {
        println!("{line}");
    }
    Ok(())
}

/// "80/tcp -> 0.0.0.0:8080", "80/tcp -> [::]:8080".
fn format_binding(p: &PortBinding) -> String {
    format!("{}/{} -> {}", p.container_port, p.protocol, host_address(p))
}

/// The host side of a binding as `docker port` and `docker ps` print it:
/// "0.0.0.0:8080", "[::]:8080" (an IPv6 address in brackets, as Go's
/// `net.JoinHostPort` writes it).
pub fn host_address(p: &PortBinding) -> String {
    if p.host_ip.contains(':') {
        format!("[{}]:{}", p.host_ip, p.host_port)
    } else {
        format!("{}:{}", p.host_ip, p.host_port)
    }
}

fn parse_filter(raw: &str) -> Result<(u32, String)> {
    let (port, proto) = raw.split_once('/').unwrap_or((raw, "tcp"));
    let port: u16 = match port.parse() {
        Ok(p) if p > 0 => p,
        _ => bail!("invalid port {raw:?}: expected PORT[/tcp|udp|sctp]"),
    };
    if !matches!(proto, "tcp" | "udp" | "sctp") {
        bail!("invalid protocol in {raw:?}: use tcp, udp or sctp");
    }
    Ok((port.into(), proto.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_docker_port() {
        let b = |ip: &str| PortBinding {
            protocol: "tcp".into(),
            host_ip: ip.into(),
            host_port: 8080,
            container_port: 80,
        };
        assert_eq!(format_binding(&b("0.0.0.0")), "80/tcp -> 0.0.0.0:8080");
        assert_eq!(format_binding(&b("::")), "80/tcp -> [::]:8080");
        assert_eq!(parse_filter("53/udp").unwrap(), (53, "udp".into()));
        assert!(parse_filter("x").is_err());
        assert!(parse_filter("80/icmp").is_err());
    }
}
