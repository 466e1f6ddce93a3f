//! cnmd's command line and the directories it owns.

use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

use crate::api::listen::{ListenAddr, ListenPlan, TlsFiles};

use crate::core::DnsPaths;
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
    /// Where to listen: `unix://PATH`, or `tcp://ADDRESS:PORT` (2376 by
    /// convention; needs --tlsverify). Repeat for several.
    #[arg(short = 'H', long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,
    /// Require TLS client certificates signed by --tlscacert on tcp://
    /// listeners (mutual TLS); cnmd refuses a tcp:// listener without it.
    #[arg(long)]
    pub tlsverify: bool,
    /// CA certificate (PEM) that client certificates must chain to.
    #[arg(long, value_name = "PATH")]
    pub tlscacert: Option<PathBuf>,
    /// cnmd's TLS certificate (PEM, chain allowed).
    #[arg(long, value_name = "PATH")]
    pub tlscert: Option<PathBuf>,
    /// cnmd's TLS private key (PEM).
    #[arg(long, value_name = "PATH")]
    pub tlskey: Option<PathBuf>,
    /// Group that owns the unix socket(s) besides root; its members may use
    /// cnmd (mode 0660).
    #[arg(long, value_name = "NAME")]
    pub group: Option<String>,
    /// Log level or tracing filter (error, warn, info, debug, trace).
    #[arg(long, default_value = "info")]
    pub log_level: String,
    /// Host address for published ports when `-p` names none (default:
    /// every address, 0.0.0.0 and, for containers with IPv6, ::).
    #[arg(long = "default-host-ip", value_name = "IP")]
    pub default_host_ip: Option<std::net::IpAddr>,
    /// The host's resolver configuration: the embedded DNS forwards names it
    /// does not know to these servers (re-read when it changes).
    #[arg(
        long = "resolv-conf",
        default_value = "/etc/resolv.conf",
        value_name = "PATH"
    )]
    pub resolv_conf: PathBuf,
    /// Default address pool, `base=CIDR,size=N`; repeat for more. Replaces
    /// Docker's defaults (172.17–31.0.0/16, 192.168.0.0/16 in /20s).
    #[arg(long = "default-address-pool")]
    pub default_address_pools: Vec<String>,
}

impl Config {
    /// The listeners of `--socket` and `-H` (default: the unix socket
    /// `<run-root>/cnmd.sock`), with their TLS files loaded and group looked
    /// up; refuses TCP without mutual TLS.
    pub fn listen_plan(&self) -> anyhow::Result<ListenPlan> {
        let mut addrs: Vec<ListenAddr> =
            self.socket.iter().cloned().map(ListenAddr::Unix).collect();
        for host in &self.hosts {
            let addr = ListenAddr::parse(host)?;
            if !addrs.contains(&addr) {
                addrs.push(addr);
            }
        }
        if addrs.is_empty() {
            addrs.push(ListenAddr::Unix(self.run_root.join("cnmd.sock")));
        }
        let tls = TlsFiles::from_flags(
            self.tlsverify,
            self.tlscacert.as_deref(),
            self.tlscert.as_deref(),
            self.tlskey.as_deref(),
        )?;
        ListenPlan::new(addrs, tls, self.group.as_deref())
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

    /// Where the embedded DNS resolver runs from; None (with an error in
    /// the log) when the cnm-dns binary is not installed next to cnmd.
    pub fn dns_paths(&self) -> Option<DnsPaths> {
        let binary = std::env::current_exe().ok()?.with_file_name("cnm-dns");
        if !binary.exists() {
            tracing::error!(path = %binary.display(), "embedded DNS disabled: cnm-dns is not installed next to cnmd");
            return None;
        }
        let dir = self.run_root.join("dns");
        Some(DnsPaths {
            binary,
            snapshot: dir.join("snapshot.json"),
            pid_file: dir.join("cnm-dns.pid"),
            resolv_conf: self.resolv_conf.clone(),
        })
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
