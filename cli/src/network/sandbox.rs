//! Which sandbox `connect` and `disconnect` act on: a network namespace made
//! by another tool (`--netns PATH`) or a container cnmd knows — exactly one.

use std::path::{self, PathBuf};

use anyhow::{anyhow, Context, Result};
use clap::Args;
use pb::v1::{sandbox_ref::Kind, SandboxRef};

/// The sandbox arguments shared by `connect` and `disconnect`.
#[derive(Debug, Args)]
#[group(id = "sandbox", required = true, multiple = false)]
pub struct SandboxArgs {
    /// Network namespace made by another tool (/run/netns/NAME, /proc/PID/ns/net)
    #[arg(long, value_name = "PATH")]
    pub netns: Option<PathBuf>,
    /// Container: a sandbox id, unique id prefix or name cnmd knows
    #[arg(value_name = "CONTAINER")]
    pub container: Option<String>,
}

impl SandboxArgs {
    /// The reference for cnmd. A relative `--netns` is made absolute here,
    /// because cnmd runs in another working directory.
    pub fn to_ref(&self) -> Result<SandboxRef> {
        let kind = match (&self.netns, &self.container) {
            (Some(netns), _) => Kind::NetnsPath(absolute(netns)?),
            (None, Some(container)) => Kind::Sandbox(container.clone()),
            // clap's group already demands exactly one of them.
            (None, None) => return Err(anyhow!("give a CONTAINER or --netns PATH")),
        };
        Ok(SandboxRef { kind: Some(kind) })
    }
}

/// `path` made absolute against the current directory, without resolving
/// symlinks: cnmd identifies the namespace by device and inode anyway.
fn absolute(path: &std::path::Path) -> Result<String> {
    let invalid = || format!("invalid --netns {:?}", path.display().to_string());
    let absolute = path::absolute(path).with_context(invalid)?;
    absolute
        .into_os_string()
        .into_string()
        .map_err(|_| anyhow!("{}: the path is not valid UTF-8", invalid()))
}
