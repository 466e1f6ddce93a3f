//! `cnm network connect`: attaches a container or network namespace to a
//! network. Addresses and the MAC are checked before any RPC; success prints
//! nothing, as Docker does.

use std::net::{Ipv4Addr, Ipv6Addr};

use anyhow::{anyhow, bail, Result};
use clap::Args;
use pb::v1::{ConnectRequest, EndpointSettings};

use super::sandbox::SandboxArgs;
use crate::error;

/// Flags of `network connect`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// IPv4 address (e.g. 172.30.100.104)
    #[arg(long, value_name = "IP")]
    ip: Option<String>,
    /// IPv6 address (e.g. 2001:db8::33)
    #[arg(long, value_name = "IP")]
    ip6: Option<String>,
    /// Add network-scoped alias for the container
    #[arg(long, value_name = "ALIAS", value_delimiter = ',')]
    alias: Vec<String>,
    /// MAC address for the container on this network (e.g. 02:42:ac:11:00:02)
    #[arg(long = "mac-address", value_name = "MAC")]
    mac_address: Option<String>,
    /// Upstream DNS server for this sandbox's embedded DNS lookups
    #[arg(long, value_name = "IP")]
    dns: Vec<String>,
    /// Publish a container port to the host: [HOSTIP:][HOSTPORT[-END]:]CPORT[-END][/PROTO]
    #[arg(short = 'p', long = "publish", value_name = "SPEC")]
    publish: Vec<String>,
    /// Name of a new sandbox made from --netns (default: the path's file name)
    #[arg(long, value_name = "NAME", conflicts_with = "container")]
    name: Option<String>,
    /// Network name or id
    #[arg(value_name = "NETWORK")]
    network: String,
    #[command(flatten)]
    sandbox: SandboxArgs,
}

impl ConnectArgs {
    /// The request for cnmd; fails on any malformed value.
    fn request(&self) -> Result<ConnectRequest> {
        let ipv4_address = match &self.ip {
            Some(raw) => raw
                .parse::<Ipv4Addr>()
                .map_err(|_| anyhow!("invalid --ip {raw:?}: not an IPv4 address"))?
                .to_string(),
            None => String::new(),
        };
        let ipv6_address = match &self.ip6 {
            Some(raw) => raw
                .parse::<Ipv6Addr>()
                .map_err(|_| anyhow!("invalid --ip6 {raw:?}: not an IPv6 address"))?
                .to_string(),
            None => String::new(),
        };
        let mac_address = match &self.mac_address {
            Some(raw) => parse_mac(raw)?,
            None => String::new(),
        };
        Ok(ConnectRequest {
            network: self.network.clone(),
            sandbox: Some(self.sandbox.to_ref()?),
            name: self.name.clone().unwrap_or_default(),
            settings: Some(EndpointSettings {
                ipv4_address,
                ipv6_address,
                aliases: self.alias.clone(),
                mac_address,
                dns_servers: super::create::parse_dns(&self.dns)?,
            }),
            publish: self.publish.clone(),
            ..ConnectRequest::default()
        })
    }
}

/// Connects; prints nothing on success.
pub async fn run(args: ConnectArgs, host: &str) -> Result<()> {
    let request = args.request()?;
    super::client(host)
        .await?
        .connect_sandbox(request)
        .await
        .map_err(error::from_status)?;
    Ok(())
}

/// Accepts six hex octets separated by `:` or `-`; returns the lowercase
/// `:` form. Multicast and all-zero addresses cannot name an interface.
fn parse_mac(raw: &str) -> Result<String> {
    let invalid = |reason: &str| anyhow!("invalid MAC address {raw:?}: {reason}");
    let octets: Vec<u8> = raw
        .split([':', '-'])
        .map(|octet| match octet.len() {
            2 => u8::from_str_radix(octet, 16).ok(),
            _ => None,
        })
        .collect::<Option<_>>()
        .filter(|octets: &Vec<u8>| octets.len() == 6)
        .ok_or_else(|| invalid("expected six hex octets (as in 02:42:ac:11:00:02)"))?;
    if octets[0] & 1 == 1 {
        bail!(invalid("it is a multicast address"));
    }
    if octets.iter().all(|o| *o == 0) {
        bail!(invalid("it is all zeros"));
    }
    let text: Vec<String> = octets.iter().map(|o| format!("{o:02x}")).collect();
    Ok(text.join(":"))
}

#[cfg(test)]
mod tests;
