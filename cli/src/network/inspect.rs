//! `cnm network inspect`: prints networks as the JSON array `docker network
//! inspect` prints (or each through a `--format` template), then one error
//! per name that was not found.

use std::collections::{BTreeMap, HashMap};

use anyhow::Result;
use clap::Args;
use pb::v1::{EndpointResource, InspectNetworkRequest, IpamConfig, Network};
use serde::Serialize;
use tonic::Code;

use crate::error::{self, Reported};
use crate::output::{self, format, json, template::Template};

/// Flags of `network inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Network names or ids
    #[arg(value_name = "NETWORK", required = true)]
    networks: Vec<String>,
    /// Format output: 'json', or a Go template run over each network's
    /// JSON, e.g. '{{range .Containers}}{{.Name}} {{end}}'
    #[arg(short, long, value_name = "FORMAT")]
    format: Option<String>,
}

/// Prints the networks found, then fails if any was missing.
pub async fn run(args: InspectArgs, host: &str) -> Result<()> {
    let template = format::inspect_template(args.format.as_deref())?;
    let mut client = super::client(host).await?;
    let mut found = Vec::with_capacity(args.networks.len());
    let mut failures = Vec::new();
    for name in args.networks {
        let request = InspectNetworkRequest {
            network: name.clone(),
        };
        match client.inspect_network(request).await {
            Ok(response) => found.push(response.into_inner()),
            Err(status) if status.code() == Code::NotFound => {
                failures.push(format!("No such network: {name}"));
            }
            Err(status) => failures.push(error::status_message(&status)),
        }
    }
    output::print(&render(&found, template.as_ref())?)?;
    for failure in &failures {
        error::print(failure);
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Reported.into())
    }
}

/// The JSON array for `networks`, or each through `template`.
fn render(networks: &[Network], template: Option<&Template>) -> Result<String> {
    let docker: Vec<DockerNetwork<'_>> = networks.iter().map(DockerNetwork::from).collect();
    match template {
        Some(template) => format::render_each(template, &docker),
        None => json::to_docker_json(&docker),
    }
}

/// One network as Docker's API shows it; field order is Docker's key order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct DockerNetwork<'a> {
    name: &'a str,
    id: &'a str,
    created: &'a str,
    scope: &'a str,
    driver: &'a str,
    #[serde(rename = "EnableIPv6")]
    enable_ipv6: bool,
    #[serde(rename = "IPAM")]
    ipam: DockerIpam<'a>,
    internal: bool,
    attachable: bool,
    ingress: bool,
    config_from: ConfigFrom,
    config_only: bool,
    containers: BTreeMap<&'a str, DockerContainer<'a>>,
    options: BTreeMap<&'a str, &'a str>,
    labels: BTreeMap<&'a str, &'a str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct DockerIpam<'a> {
    driver: &'a str,
    /// `null` when empty, as Docker prints it.
    options: Option<BTreeMap<&'a str, &'a str>>,
    config: Vec<DockerIpamConfig<'a>>,
}

/// Docker omits the empty fields of an IPAM config.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct DockerIpamConfig<'a> {
    subnet: &'a str,
    #[serde(rename = "IPRange", skip_serializing_if = "str::is_empty")]
    ip_range: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    gateway: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    auxiliary_addresses: BTreeMap<&'a str, &'a str>,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ConfigFrom {
    network: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct DockerContainer<'a> {
    name: &'a str,
    #[serde(rename = "EndpointID")]
    endpoint_id: &'a str,
    mac_address: &'a str,
    #[serde(rename = "IPv4Address")]
    ipv4_address: &'a str,
    #[serde(rename = "IPv6Address")]
    ipv6_address: &'a str,
}

impl<'a> From<&'a Network> for DockerNetwork<'a> {
    fn from(n: &'a Network) -> Self {
        let ipam = n.ipam.as_ref();
        Self {
            name: &n.name,
            id: &n.id,
            created: &n.created,
            scope: &n.scope,
            driver: &n.driver,
            enable_ipv6: n.enable_ipv6,
            ipam: DockerIpam {
                driver: ipam.map_or("", |i| i.driver.as_str()),
                options: ipam.map(|i| sorted(&i.options)).filter(|o| !o.is_empty()),
                config: ipam.map_or_else(Vec::new, |i| i.config.iter().map(Into::into).collect()),
            },
            internal: n.internal,
            attachable: false,
            ingress: false,
            config_from: ConfigFrom::default(),
            config_only: false,
            containers: n
                .containers
                .iter()
                .map(|(id, c)| (id.as_str(), c.into()))
                .collect(),
            options: sorted(&n.options),
            labels: sorted(&n.labels),
        }
    }
}

impl<'a> From<&'a IpamConfig> for DockerIpamConfig<'a> {
    fn from(c: &'a IpamConfig) -> Self {
        Self {
            subnet: &c.subnet,
            ip_range: &c.ip_range,
            gateway: &c.gateway,
            auxiliary_addresses: sorted(&c.auxiliary_addresses),
        }
    }
}

impl<'a> From<&'a EndpointResource> for DockerContainer<'a> {
    fn from(e: &'a EndpointResource) -> Self {
        Self {
            name: &e.name,
            endpoint_id: &e.endpoint_id,
            mac_address: &e.mac_address,
            ipv4_address: &e.ipv4_address,
            ipv6_address: &e.ipv6_address,
        }
    }
}

/// Go prints map keys sorted.
fn sorted(map: &HashMap<String, String>) -> BTreeMap<&str, &str> {
    map.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

#[cfg(test)]
mod tests;
