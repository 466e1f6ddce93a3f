//! cnmd's command line and the directories it owns.

use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Parser;

use crate::ipam::DefaultPools;

#[derive(Debug, Parser)]
#[command(name = "cnmd", version, about = "cnm container networking daemon")]
pub struct Config {
    /// State directory (the store lives here).
    #[arg(long, default_value = "/var/lib/cnm")]
    pub root: PathBuf,
    /// Runtime directory (socket, plugin sockets).
    #[arg(long, default_value = "/run/cnm")]
    pub run_root: PathBuf,
    /// Unix socket to serve the API on; the same as `-H unix://PATH`.
    /// Default: <run-root>/cnmd.sock.
    #[arg(long)]
    pub socket: Option<PathBuf>,
    /// Where to listen, as `unix://PATH`.
    #[arg(short = 'H', long = "host")]
    pub hosts: Vec<String>,
    /// Log level or tracing filter (error, warn, info, debug, trace).
    #[arg(long, default_value = "info")]
    pub log_level: String,
    /// Default address pool, `base=CIDR,size=N`; repeat for more. Replaces
    /// Docker's defaults (172.17–31.0.0/16, 192.168.0.0/16 in /20s).
    #[arg(long = "default-address-pool")]
    pub default_address_pools: Vec<String>,
}

impl Config {
    /// The one unix socket to serve on.
    pub fn unix_socket(&self) -> anyhow::Result<PathBuf> {
        let mut sockets: Vec<PathBuf> = self.socket.iter().cloned().collect();
        for host in &self.hosts {
            match host.strip_prefix("unix://") {
                Some(path) if !path.is_empty() => sockets.push(PathBuf::from(path)),
                _ if host.starts_with("tcp://") => bail!(
                    "-H {host}: TCP listeners are not supported by this build (they will need mutual TLS)"
                ),
                _ => bail!("-H {host}: expected unix:///path/to/socket"),
            }
        }
        sockets.dedup();
        match sockets.len() {
            0 => Ok(self.run_root.join("cnmd.sock")),
            1 => Ok(sockets.remove(0)),
            _ => bail!("several unix sockets given ({sockets:?}); this build serves one"),
        }
    }

    pub fn prepare_dirs(&self) -> anyhow::Result<()> {
        for (dir, mode) in [(&self.root, 0o700), (&self.run_root, 0o755)] {
            std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))
                .with_context(|| format!("chmod {}", dir.display()))?;
        }
        Ok(())
    }

    /// An exclusive lock on `<root>/cnmd.lock`, held while the file is open.
    pub fn lock_root(&self) -> anyhow::Result<nix::fcntl::Flock<File>> {
        let path = self.root.join("cnmd.lock");
        let file = File::create(&path).with_context(|| format!("create {}", path.display()))?;
        nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock).map_err(
            |(_, errno)| {
                anyhow::anyhow!(
                    "another cnmd is using {} ({errno}); stop it or pass another --root",
                    self.root.display()
                )
            },
        )
    }

    pub fn pools(&self) -> anyhow::Result<DefaultPools> {
        if self.default_address_pools.is_empty() {
            return Ok(DefaultPools::docker_defaults());
        }
        let specs = self
            .default_address_pools
            .iter()
            .map(|s| DefaultPools::parse_spec(s))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(DefaultPools::from_specs(&specs)?)
    }
}
