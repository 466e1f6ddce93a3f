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
    /// Runtime directory (socket, plugin sockets in `plugins/`).
    #[arg(long, default_value = "/run/cnm")]
    pub run_root: PathBuf,
    /// Where `NAME.spec` files point at plugins whose socket is not in
    /// `<run-root>/plugins` (one line: `unix:///path/to/socket`).
    #[arg(long, default_value = "/etc/cnm/plugins", value_name = "DIR")]
    pub plugin_spec_dir: PathBuf,
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
    /// Serve Docker's remote network driver and IPAM plugin protocol on
    /// this unix socket; Docker's driver name is the file name without
    /// `.sock` (`/run/docker/plugins/cnm.sock`: `docker network create -d cnm`).
    #[arg(long = "docker-plugin-socket", value_name = "PATH")]
    pub docker_plugin_socket: Option<PathBuf>,
    /// JSON file of daemon settings: any flag above, by its name or
    /// Docker's daemon.json key ("hosts", "data-root", …); flags given on
    /// the command line win. A missing default file is fine.
    #[arg(long = "config-file", value_name = "PATH", default_value = crate::config_file::DEFAULT_PATH)]
    pub config_file: PathBuf,
    /// Serve Prometheus metrics on http://ADDR/metrics (e.g.
    /// 127.0.0.1:9323). No metrics listener unless given.
    #[arg(long = "metrics-addr", value_name = "ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Cluster store of global (overlay) networks:
    /// `etcd://HOST:PORT[,HOST:PORT…]`, or `etcds://…` for TLS (with
    /// --cluster-cacert). Without it cnmd is single-host.
    #[arg(long = "cluster-store", value_name = "URL")]
    pub cluster_store: Option<String>,
    /// This host's underlay address, `IP[:PORT]`: the source of its VXLAN
    /// tunnels and where the other hosts send to its containers.
    #[arg(long = "cluster-advertise", value_name = "IP[:PORT]")]
    pub cluster_advertise: Option<String>,
    /// Seconds this host's endpoints outlive it in the cluster store (its
    /// lease; kept alive every third of it).
    #[arg(long = "cluster-ttl", default_value_t = 15, value_name = "SECONDS")]
    pub cluster_ttl: u64,
    /// CA certificate (PEM) that etcd's certificate must chain to; needed
    /// by an `etcds://` cluster store.
    #[arg(long = "cluster-cacert", value_name = "PATH")]
    pub cluster_cacert: Option<PathBuf>,
    /// Client certificate (PEM) for an etcd that requires one
    /// (`--client-cert-auth`); with --cluster-key.
    #[arg(long = "cluster-cert", value_name = "PATH")]
    pub cluster_cert: Option<PathBuf>,
    /// Private key (PEM) of --cluster-cert.
    #[arg(long = "cluster-key", value_name = "PATH")]
    pub cluster_key: Option<PathBuf>,
    /// UDP port of the VXLAN tunnels of overlay networks.
    #[arg(long = "vxlan-port", default_value_t = 4789, value_name = "PORT")]
    pub vxlan_port: u16,
    /// Write cnmd's man page into DIR and exit (for packaging).
    #[arg(long = "generate-man", value_name = "DIR", hide = true)]
    pub generate_man: Option<PathBuf>,
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

    /// Where driver and IPAM plugins are looked up by name.
    pub fn plugin_dirs(&self) -> cnm_plugin::PluginDirs {
        cnm_plugin::PluginDirs::new(self.run_root.join("plugins"), self.plugin_spec_dir.clone())
    }

    /// The checked `--cluster-*` flags, etcd's TLS files loaded; None
    /// without `--cluster-store`.
    pub fn cluster(&self) -> anyhow::Result<Option<crate::cluster::ClusterConfig>> {
        let tls = crate::cluster::TlsFlags {
            ca: self.cluster_cacert.as_deref(),
            cert: self.cluster_cert.as_deref(),
            key: self.cluster_key.as_deref(),
        };
        let Some(store) = &self.cluster_store else {
            if let Some((flag, _)) = [
                ("--cluster-cacert", tls.ca.is_some()),
                ("--cluster-cert", tls.cert.is_some()),
                ("--cluster-key", tls.key.is_some()),
            ]
            .into_iter()
            .find(|(_, given)| *given)
            {
                anyhow::bail!("{flag} needs --cluster-store");
            }
            return Ok(None);
        };
        crate::cluster::ClusterConfig::parse(
            store,
            self.cluster_advertise.as_deref(),
            self.cluster_ttl,
            self.vxlan_port,
            tls,
        )
        .map(Some)
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
