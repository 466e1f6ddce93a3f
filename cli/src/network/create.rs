//! `cnm network create`: validates every flag client-side, asks cnmd to create
//! the network and prints its full id.

use anyhow::Result;
use clap::Args;
use pb::v1::{CreateNetworkRequest, Ipam};

use super::ipam::{self, IpamFlags};
use crate::{error, keyvalue, output};

/// Flags of `network create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Driver to manage the network
    #[arg(short, long, value_name = "DRIVER", default_value = "bridge")]
    driver: String,
    /// Subnet in CIDR format that represents a network segment
    #[arg(long, value_name = "CIDR")]
    subnet: Vec<String>,
    /// Allocate container IPs from a sub-range of the matching subnet
    #[arg(long = "ip-range", value_name = "CIDR")]
    ip_range: Vec<String>,
    /// IPv4 or IPv6 gateway for the matching subnet
    #[arg(long, value_name = "IP")]
    gateway: Vec<String>,
    /// Auxiliary IPv4 or IPv6 address used by the network driver
    #[arg(long = "aux-address", value_name = "NAME=IP")]
    aux_address: Vec<String>,
    /// Enable IPv6 networking
    #[arg(long)]
    ipv6: bool,
    /// Restrict external access to the network
    #[arg(long)]
    internal: bool,
    /// Let standalone containers join (Docker's flag for swarm overlays).
    /// Accepted for compatibility: every cnm network, overlays included,
    /// is attachable.
    #[arg(long)]
    attachable: bool,
    /// Set driver specific options
    #[arg(short = 'o', long = "opt", value_name = "KEY=VALUE")]
    opt: Vec<String>,
    /// Set metadata on the network
    #[arg(long, value_name = "KEY=VALUE")]
    label: Vec<String>,
    /// Upstream DNS server for the network's embedded DNS, instead of the host's
    #[arg(long, value_name = "IP")]
    dns: Vec<String>,
    /// IP address management driver
    #[arg(long = "ipam-driver", value_name = "NAME", default_value = "default")]
    ipam_driver: String,
    /// Set IPAM driver specific options
    #[arg(long = "ipam-opt", value_name = "KEY=VALUE")]
    ipam_opt: Vec<String>,
    /// Name of the new network
    #[arg(value_name = "NAME")]
    name: String,
}

impl CreateArgs {
    /// The request for cnmd; fails on any malformed flag value.
    fn request(&self) -> Result<CreateNetworkRequest> {
        let config = ipam::pair(IpamFlags {
            subnets: &self.subnet,
            ranges: &self.ip_range,
            gateways: &self.gateway,
            aux_addresses: &self.aux_address,
        })?;
        Ok(CreateNetworkRequest {
            name: self.name.clone(),
            driver: self.driver.clone(),
            enable_ipv6: self.ipv6,
            internal: self.internal,
            ipam: Some(Ipam {
                driver: self.ipam_driver.clone(),
                config,
                options: keyvalue::parse_map("--ipam-opt", &self.ipam_opt)?,
            }),
            options: keyvalue::parse_map("--opt", &self.opt)?,
            labels: keyvalue::parse_map("--label", &self.label)?,
            dns_servers: parse_dns(&self.dns)?,
        })
    }
}

/// Creates the network and prints its id.
pub async fn run(args: CreateArgs, host: &str) -> Result<()> {
    let request = args.request()?;
    let response = super::client(host)
        .await?
        .create_network(request)
        .await
        .map_err(error::from_status)?
        .into_inner();
    if !response.warning.is_empty() {
        output::warn(&response.warning);
    }
    output::print(&format!("{}\n", response.id))
}

/// `--dns` values, checked before any RPC.
pub(super) fn parse_dns(raw: &[String]) -> anyhow::Result<Vec<String>> {
    raw.iter()
        .map(|ip| {
            ip.parse::<std::net::IpAddr>()
                .map(|ip| ip.to_string())
                .map_err(|_| anyhow::anyhow!("invalid --dns {ip:?}: not an IP address"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: CreateArgs,
    }

    fn request(argv: &[&str]) -> Result<CreateNetworkRequest> {
        let cli = Cli::try_parse_from(std::iter::once("create").chain(argv.iter().copied()))?;
        cli.args.request()
    }

    #[test]
    fn builds_the_full_request() {
        let req = request(&[
            "-d",
            "macvlan",
            "--subnet",
            "10.5.0.0/16",
            "--gateway",
            "10.5.0.1",
            "--ip-range",
            "10.5.1.0/24",
            "--aux-address",
            "host=10.5.0.2",
            "--ipv6",
            "--internal",
            "-o",
            "parent=eth0",
            "--label",
            "team=net",
            "--ipam-opt",
            "x=y",
            "lan",
        ])
        .expect("valid flags");
        assert_eq!(req.name, "lan");
        assert_eq!(req.driver, "macvlan");
        assert!(req.enable_ipv6 && req.internal);
        assert_eq!(req.options["parent"], "eth0");
        assert_eq!(req.labels["team"], "net");
        let ipam = req.ipam.expect("ipam is always sent");
        assert_eq!(ipam.driver, "default");
        assert_eq!(ipam.options["x"], "y");
        assert_eq!(ipam.config.len(), 1);
        assert_eq!(ipam.config[0].gateway, "10.5.0.1");
    }

    #[test]
    fn defaults_match_docker() {
        let req = request(&["web"]).expect("valid flags");
        assert_eq!(req.driver, "bridge");
        let ipam = req.ipam.expect("ipam is always sent");
        assert_eq!(ipam.driver, "default");
        assert!(ipam.config.is_empty());
    }

    #[test]
    fn option_and_label_errors_name_the_flag() {
        let err = request(&["-o", "mtu", "web"]).expect_err("no =");
        assert_eq!(err.to_string(), "invalid --opt \"mtu\": expected KEY=VALUE");
        let err = request(&["--label", "team", "web"]).expect_err("no =");
        assert_eq!(
            err.to_string(),
            "invalid --label \"team\": expected KEY=VALUE"
        );
        let err = request(&["--ipam-opt", "=1", "web"]).expect_err("empty key");
        assert_eq!(
            err.to_string(),
            "invalid --ipam-opt \"=1\": expected KEY=VALUE"
        );
    }

    #[test]
    fn malformed_subnet_fails_before_any_rpc() {
        let err = request(&["--subnet", "10.0.0.0/33", "web"]).expect_err("bad prefix");
        assert_eq!(
            err.to_string(),
            "invalid subnet 10.0.0.0/33: prefix length must be 0-32"
        );
    }
}
