//! cnmd: the cnm container networking daemon.

mod api;
mod cluster;
mod config;
mod config_file;
mod containers;
mod core;
mod docker_plugin;
mod ipam;
mod metrics;
mod model;
mod pem;
mod ports;
mod store;

use std::sync::Arc;

use anyhow::Context;
use tracing_subscriber::EnvFilter;

use crate::config::Config;
use crate::containers::{Containers, ContainersParts};
use crate::core::{Core, CoreParts, Drivers};
use crate::store::SledStore;

fn main() -> std::process::ExitCode {
    let config = match config_file::load() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("cnmd: {err:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    if let Some(dir) = &config.generate_man {
        return match write_man_page(dir) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("cnmd: {err:#}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    init_logging(&config.log_level);
    match run(config) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            eprintln!("cnmd: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_logging(level: &str) {
    let filter = EnvFilter::try_from_env("CNMD_LOG").unwrap_or_else(|_| EnvFilter::new(level));
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}

fn run(config: Config) -> anyhow::Result<()> {
    // Checked first: a refused listener (plain TCP, missing TLS files)
    // must stop cnmd before it touches any state.
    let listen = config.listen_plan()?;
    // So are the cluster flags and etcd's TLS files.
    let cluster_config = config.cluster()?;
    config.prepare_dirs()?;
    // Held for the daemon's life: a second cnmd on the same root would
    // corrupt the kernel/store mirror.
    let _lock = config.lock_root()?;
    let store: Arc<dyn crate::store::Store> =
        Arc::new(SledStore::open(&config.root.join("state")).context("open the state store")?);
    // Opened here, on the main thread, so its netlink socket and the `nft`
    // it runs belong to the daemon's own network namespace.
    let firewall = cnm_firewall::NftFirewall::new().context("open the nftables firewall")?;
    let mut drivers =
        Drivers::builtin(config.pools()?).with_plugins(config.plugin_dirs(), store.clone());
    let cluster = cluster::join(cluster_config, &mut drivers)?;
    let core = Core::start(CoreParts {
        store: store.clone(),
        drivers,
        firewall: Arc::new(firewall),
        default_host_ip: config.default_host_ip,
        dns: config.dns_paths(),
    })
    .map_err(|err| anyhow::anyhow!(err.full_message()))
    .context("load state")?;
    let core = Arc::new(core);
    if let Some(cluster) = cluster {
        core.attach_cluster(cluster.clone());
        cluster.start(&core);
    }
    core.watch_firewall()
        .map_err(|err| anyhow::anyhow!(err.full_message()))?;
    for warning in core.firewall_warnings() {
        tracing::warn!("{warning}");
    }
    core.start_dns_writer()
        .map_err(|err| anyhow::anyhow!(err.full_message()))?;
    if let Err(err) = core.ensure_resolver() {
        tracing::error!(error = %err.full_message(), "embedded DNS is not running; retrying in the background");
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("start the async runtime")?;
    let result = runtime.block_on(async {
        tokio::spawn(supervise_resolver(core.clone()));
        let containers = Containers::open(ContainersParts {
            core: core.clone(),
            store,
            dir: config.root.join("containers"),
            netns_dir: config.run_root.join("netns"),
            host_resolv: config.resolv_conf.clone(),
        })
        .map_err(|err| anyhow::anyhow!(err.full_message()))
        .context("load containers")?;
        if let Some(addr) = config.metrics_addr {
            let bound = metrics::serve(addr, core.clone(), containers.clone()).await?;
            tracing::info!(addr = %bound, "metrics on http://{bound}/metrics");
        }
        if let Some(path) = config.docker_plugin_socket.clone() {
            let listener = docker_plugin::bind(&path)?;
            tokio::spawn(docker_plugin::serve(
                core.clone(),
                listener,
                path,
                shutdown_signal(),
            ));
        }
        let listeners = listen.bind()?;
        tracing::info!(listen = %listeners, version = api::VERSION, "cnmd ready");
        let served = api::serve(
            core,
            containers,
            listeners,
            config.root.display().to_string(),
            config.run_root.display().to_string(),
            shutdown_signal(),
        )
        .await;
        tracing::info!("cnmd stopped");
        served
    });
    // Container monitors may sit in blocking calls; containers outlive
    // cnmd anyway, so do not wait for them.
    runtime.shutdown_background();
    result
}

/// `cnmd.8` from the clap definition (`cnmd --generate-man DIR`).
fn write_man_page(dir: &std::path::Path) -> anyhow::Result<()> {
    use clap::CommandFactory;
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let path = dir.join("cnmd.8");
    let mut page = Vec::new();
    clap_mangen::Man::new(Config::command())
        .section("8")
        .render(&mut page)
        .context("render the man page")?;
    std::fs::write(&path, page).with_context(|| format!("write {}", path.display()))
}

/// The resolver runs detached (it must outlive cnmd), so cnmd cannot wait
/// for its exit: it checks every few seconds and starts it again if needed.
async fn supervise_resolver(core: Arc<Core>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3));
    tick.tick().await;
    loop {
        tick.tick().await;
        let core = core.clone();
        let checked = tokio::task::spawn_blocking(move || core.ensure_resolver()).await;
        if let Ok(Err(err)) = checked {
            tracing::error!(error = %err.full_message(), "embedded DNS resolver");
        }
    }
}

/// Completes on SIGTERM or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers; stop cnmd with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        _ = int.recv() => tracing::info!("SIGINT: shutting down"),
    }
}
