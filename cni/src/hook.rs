//! `cnm-cni oci-hook`: an OCI runtime hook (runc, crun). In createRuntime
//! or prestart it connects the container's network namespace
//! (/proc/PID/ns/net) to a cnm network; in poststop, when the process and
//! its namespace are gone, it finds the attachment by container id and
//! disconnects it.

use std::io::Read;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use pb::v1 as api;
use serde::Deserialize;

use crate::commands::{connect_sandbox, disconnect, sandbox_name};
use crate::daemon::Daemon;
use crate::spec::config::DEFAULT_SOCKET;

/// The owner recorded on attachments the hook makes.
const OWNER: &str = "oci-hook";

/// Arguments of `cnm-cni oci-hook`.
#[derive(Debug, clap::Args)]
pub struct HookArgs {
    /// The cnm network to connect the container to
    #[arg(long)]
    network: String,
    /// cnmd's socket
    #[arg(long, default_value = DEFAULT_SOCKET)]
    socket: PathBuf,
    /// A static address on the network (IPv4 or IPv6)
    #[arg(long)]
    ip: Option<IpAddr>,
    /// The sandbox's name in cnm, also its DNS name (default: the container id)
    #[arg(long)]
    name: Option<String>,
}

/// The OCI container state a hook reads on stdin.
#[derive(Debug, Deserialize)]
struct State {
    id: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    pid: Option<i32>,
}

/// Reads the state from stdin and wires or unwires the container.
pub fn main(args: HookArgs) -> Result<()> {
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .context("read the container state from stdin")?;
    let state: State = serde_json::from_slice(&input)
        .context("stdin is not an OCI container state (expected JSON with \"id\" and \"pid\")")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?;
    runtime.block_on(run(&args, &state))
}

async fn run(args: &HookArgs, state: &State) -> Result<()> {
    let daemon = Daemon::connect(&args.socket).await?;
    match live_netns(state) {
        Some(netns) => connect(&daemon, args, state, &netns).await,
        None if state.status == "stopped" || state.pid.unwrap_or(0) <= 0 => {
            disconnect(&daemon, &args.network, &state.id, "").await?;
            Ok(())
        }
        None => bail!(
            "container {} is {} but its process {} is gone; cannot wire its network",
            state.id,
            state.status,
            state.pid.unwrap_or(0)
        ),
    }
}

/// The network namespace of a container that still has its process.
fn live_netns(state: &State) -> Option<PathBuf> {
    if state.status == "stopped" {
        return None;
    }
    let path = PathBuf::from(format!("/proc/{}/ns/net", state.pid.filter(|p| *p > 0)?));
    Path::new(&path).exists().then_some(path)
}

async fn connect(daemon: &Daemon, args: &HookArgs, state: &State, netns: &Path) -> Result<()> {
    let (ipv4, ipv6) = match args.ip {
        Some(ip @ IpAddr::V4(_)) => (ip.to_string(), String::new()),
        Some(ip @ IpAddr::V6(_)) => (String::new(), ip.to_string()),
        None => Default::default(),
    };
    let request = api::ConnectRequest {
        network: args.network.clone(),
        sandbox: Some(api::SandboxRef {
            kind: Some(api::sandbox_ref::Kind::NetnsPath(
                netns.display().to_string(),
            )),
        }),
        name: args.name.clone().unwrap_or_else(|| sandbox_name(&state.id)),
        settings: Some(api::EndpointSettings {
            ipv4_address: ipv4,
            ipv6_address: ipv6,
            ..Default::default()
        }),
        container_id: state.id.clone(),
        owner: OWNER.to_owned(),
        ..Default::default()
    };
    connect_sandbox(daemon, &request).await?;
    Ok(())
}
