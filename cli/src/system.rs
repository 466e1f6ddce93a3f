//! `cnm system info|version|events` and `cnm version`: what cnmd reports
//! about itself, laid out like `docker info`, `docker version` and
//! `docker events`.

mod events;

use std::fmt::Write as _;

use anyhow::Result;
use clap::Subcommand;
use pb::v1::system_service_client::SystemServiceClient;
use pb::v1::{InfoRequest, InfoResponse, VersionRequest, VersionResponse};
use tonic::transport::Channel;

use crate::{client, error, output};

/// The daemon API this client speaks (the proto package).
const API_VERSION: &str = "cnm.v1";

/// The `system` subcommands.
#[derive(Debug, Subcommand)]
pub enum SystemCommand {
    /// Display system-wide information
    Info,
    /// Show the cnm version information
    Version,
    /// Get real time events from cnmd
    Events(events::EventsArgs),
}

/// Runs one `system` subcommand against cnmd at `host`.
pub async fn run(command: SystemCommand, host: &str) -> Result<()> {
    match command {
        SystemCommand::Info => info(host).await,
        SystemCommand::Version => version(host).await,
        SystemCommand::Events(args) => events::run(args, host).await,
    }
}

async fn system_client(host: &str) -> Result<SystemServiceClient<Channel>> {
    Ok(SystemServiceClient::new(client::connect(host).await?))
}

/// Prints the client's version, then the daemon's; the client part is
/// printed even when cnmd cannot be reached.
pub async fn version(host: &str) -> Result<()> {
    output::print(&render_client_version())?;
    let server = system_client(host)
        .await?
        .version(VersionRequest {})
        .await
        .map_err(error::from_status)?
        .into_inner();
    output::print(&render_server_version(&server))
}

async fn info(host: &str) -> Result<()> {
    let info = system_client(host)
        .await?
        .info(InfoRequest {})
        .await
        .map_err(error::from_status)?
        .into_inner();
    output::print(&render_info(&info))?;
    for warning in &info.warnings {
        output::warn(warning);
    }
    Ok(())
}

fn render_client_version() -> String {
    let os_arch = format!(
        "{}/{}",
        std::env::consts::OS,
        go_arch(std::env::consts::ARCH)
    );
    version_section("Client:", env!("CARGO_PKG_VERSION"), API_VERSION, &os_arch)
}

fn render_server_version(server: &VersionResponse) -> String {
    let os_arch = format!("{}/{}", server.os, go_arch(&server.arch));
    let section = version_section("Server:", &server.version, &server.api_version, &os_arch);
    format!("\n{section}")
}

fn version_section(title: &str, version: &str, api_version: &str, os_arch: &str) -> String {
    let mut out = format!("{title}\n");
    for (key, value) in [
        ("Version:", version),
        ("API version:", api_version),
        ("OS/Arch:", os_arch),
    ] {
        let _ = writeln!(out, " {key:<14}{value}");
    }
    out
}

/// Docker (Go) spells architectures its own way; show them as Docker users expect.
fn go_arch(arch: &str) -> &str {
    match arch {
        "x86_64" => "amd64",
        "x86" | "i686" => "386",
        "aarch64" => "arm64",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        "loongarch64" => "loong64",
        other => other,
    }
}

fn render_info(info: &InfoResponse) -> String {
    let mut out = String::from("Server:\n");
    let containers = info.containers_running + info.containers_stopped;
    let missing = if info.missing_kernel_features.is_empty() {
        "none".to_string()
    } else {
        info.missing_kernel_features.join(", ")
    };
    let lines: [(&str, &dyn std::fmt::Display); 15] = [
        ("Server Version", &info.version),
        ("Containers", &containers),
        (" Running", &info.containers_running),
        (" Stopped", &info.containers_stopped),
        ("Networks", &info.networks),
        ("Endpoints", &info.endpoints),
        ("Sandboxes", &info.sandboxes),
        ("Drivers", &info.drivers.join(" ")),
        ("Root Dir", &info.root_dir),
        ("Run Root", &info.run_root),
        ("Kernel Version", &info.kernel_version),
        ("Missing Kernel Features", &missing),
        ("Cgroup Version", &info.cgroup_version),
        ("Store", &info.store),
        ("Firewall", &info.firewall),
    ];
    for (key, value) in lines {
        let _ = writeln!(out, " {key}: {value}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_sections_look_like_docker() {
        let server = VersionResponse {
            version: "0.1.0".into(),
            api_version: "cnm.v1".into(),
            os: "linux".into(),
            arch: "x86_64".into(),
        };
        assert_eq!(
            render_server_version(&server),
            "\nServer:\n Version:      0.1.0\n API version:  cnm.v1\n OS/Arch:      linux/amd64\n"
        );
        let client = render_client_version();
        assert!(client.starts_with("Client:\n Version:      "), "{client}");
        assert!(client.contains(" API version:  cnm.v1\n"), "{client}");
    }

    #[test]
    fn info_lists_server_facts() {
        let info = InfoResponse {
            version: "0.1.0".into(),
            networks: 3,
            endpoints: 2,
            sandboxes: 1,
            root_dir: "/var/lib/cnm".into(),
            run_root: "/run/cnm".into(),
            drivers: vec!["bridge".into(), "host".into(), "null".into()],
            kernel_version: "6.1.0-13-amd64".into(),
            warnings: vec!["WARNING: bridge-nf-call-iptables is disabled".into()],
            store: "sled".into(),
            firewall: "nftables (table inet cnm)".into(),
            cgroup_version: "v2".into(),
            missing_kernel_features: vec!["ipvlan links (CONFIG_IPVLAN)".into()],
            containers_running: 1,
            containers_stopped: 2,
        };
        assert_eq!(
            render_info(&info),
            "Server:\n Server Version: 0.1.0\n Containers: 3\n  Running: 1\n  Stopped: 2\n \
             Networks: 3\n Endpoints: 2\n Sandboxes: 1\n \
             Drivers: bridge host null\n Root Dir: /var/lib/cnm\n Run Root: /run/cnm\n \
             Kernel Version: 6.1.0-13-amd64\n \
             Missing Kernel Features: ipvlan links (CONFIG_IPVLAN)\n Cgroup Version: v2\n \
             Store: sled\n Firewall: nftables (table inet cnm)\n"
        );
    }
}
