//! cnm-driver: runs one of cnm's built-in network drivers out of process,
//! as a plugin cnmd reaches over a unix socket (`cnm.driver.v1`).
//!
//!     cnm-driver serve --driver bridge --socket /run/cnm/plugins/mybridge.sock
//!     cnm net create -d mybridge web

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use cnm_drivers::{
    BridgeDriver, Driver, HostDriver, IpvlanDriver, MacvlanDriver, NullDriver, ParentRegistry,
};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(
    name = "cnm-driver",
    version,
    about = "Serve a built-in cnm network driver as a plugin"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve a driver on a unix socket until SIGTERM or SIGINT.
    Serve {
        /// The built-in driver to serve.
        #[arg(long, value_enum)]
        driver: Builtin,
        /// Where to listen; cnmd finds `<run-root>/plugins/NAME.sock` as
        /// driver NAME.
        #[arg(long, value_name = "PATH")]
        socket: PathBuf,
        /// Log level or tracing filter (error, warn, info, debug, trace).
        #[arg(long, default_value = "info")]
        log_level: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Builtin {
    Bridge,
    Host,
    Null,
    Macvlan,
    Ipvlan,
}

impl Builtin {
    fn driver(self) -> Arc<dyn Driver> {
        match self {
            Builtin::Bridge => Arc::new(BridgeDriver::new()),
            Builtin::Host => Arc::new(HostDriver::new()),
            Builtin::Null => Arc::new(NullDriver::new()),
            Builtin::Macvlan => Arc::new(MacvlanDriver::new(Arc::new(ParentRegistry::new()))),
            Builtin::Ipvlan => Arc::new(IpvlanDriver::new(Arc::new(ParentRegistry::new()))),
        }
    }
}

fn main() -> std::process::ExitCode {
    let Command::Serve {
        driver,
        socket,
        log_level,
    } = Cli::parse().command;
    let filter =
        EnvFilter::try_from_env("CNM_DRIVER_LOG").unwrap_or_else(|_| EnvFilter::new(&log_level));
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    match serve(driver, socket) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            eprintln!("cnm-driver: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn serve(driver: Builtin, socket: PathBuf) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("start the async runtime")?;
    tracing::info!(driver = ?driver, socket = %socket.display(), "cnm-driver starting");
    runtime
        .block_on(cnm_plugin::serve(driver.driver(), &socket))
        .context("serve")
}
