//! `cnm-dns`: the resolver process. Serves every network's gateway addresses
//! from the snapshot cnmd writes, forwards the rest, survives cnmd.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use cnm_dns::server::{serve, Ready, ServerConfig};
use tokio::signal::unix::{signal, SignalKind};

/// Embedded DNS resolver for cnm networks.
#[derive(Debug, Parser)]
#[command(name = "cnm-dns", version)]
struct Args {
    /// Snapshot written by cnmd.
    #[arg(long, default_value = "/run/cnm/dns/snapshot.json")]
    snapshot: PathBuf,
    /// Host resolv.conf with the default upstreams (re-read when it changes).
    #[arg(long, default_value = "/etc/resolv.conf")]
    resolv_conf: PathBuf,
    /// Written when ready; removed on exit if it still holds our pid.
    #[arg(long)]
    pid_file: Option<PathBuf>,
    /// Log filter (error, warn, info, debug, trace or a tracing directive).
    #[arg(long, default_value = "info")]
    log_level: String,
    /// Fork into a new session; the parent prints `STARTED pid=N` and exits.
    #[arg(long)]
    detach: bool,
    /// Port served on every listen address.
    #[arg(long, default_value_t = 53)]
    port: u16,
    /// Forwards in flight at most; more are answered REFUSED.
    #[arg(long, default_value_t = 256)]
    max_forwards: usize,
    /// Bound on one forward, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    forward_timeout_ms: u64,
    /// Idle TCP connections are closed after this many milliseconds.
    #[arg(long, default_value_t = 10_000)]
    tcp_idle_timeout_ms: u64,
    /// How often the snapshot and resolv.conf are checked for changes, in
    /// milliseconds (cnmd's nudges make a new snapshot seen at once).
    #[arg(long, default_value_t = 25)]
    poll_interval_ms: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.detach {
        if let Err(e) = detach() {
            eprintln!("cnm-dns: {e:#}");
            return ExitCode::FAILURE;
        }
    }
    init_tracing(&args.log_level);
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Forks before anything else runs (no threads yet): the parent announces
/// the child and exits, the child leaves cnmd's session and process group so
/// signals to cnmd's group or terminal never reach it.
fn detach() -> anyhow::Result<()> {
    use nix::unistd::{fork, setsid, ForkResult};
    // SAFETY: the process is single-threaded here (only argument parsing
    // ran), so the child may run arbitrary code after fork.
    match unsafe { fork() }.context("fork")? {
        ForkResult::Parent { child } => {
            println!("STARTED pid={child}");
            std::process::exit(0);
        }
        ForkResult::Child => {
            setsid().context("setsid")?;
            Ok(())
        }
    }
}

fn init_tracing(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
}

fn run(args: &Args) -> anyhow::Result<()> {
    let config = ServerConfig {
        snapshot: args.snapshot.clone(),
        resolv_conf: args.resolv_conf.clone(),
        port: args.port,
        max_forwards: args.max_forwards,
        forward_timeout: Duration::from_millis(args.forward_timeout_ms),
        tcp_idle_timeout: Duration::from_millis(args.tcp_idle_timeout_ms),
        poll_interval: Duration::from_millis(args.poll_interval_ms.max(1)),
        ..ServerConfig::default()
    };
    // one runtime thread is plenty for forwards, TCP and the watcher, and
    // keeps the RSS small; each UDP listener reads on its own thread
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(2)
        .build()
        .context("cannot start the tokio runtime")?;
    let pid_file = args.pid_file.clone();
    let result = runtime.block_on(async {
        let shutdown = shutdown_signal().context("cannot install signal handlers")?;
        serve(
            config,
            |ready| announce(ready, pid_file.as_deref()),
            shutdown,
        )
        .await
        .context("resolver failed")
    });
    if let Some(pid_file) = &args.pid_file {
        remove_pid_file_if_ours(pid_file);
    }
    tracing::info!("exiting");
    result
}

/// Completes on SIGTERM or SIGINT. SIGHUP is caught and ignored: a resolver
/// must not die with the terminal or session that started it.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            tracing::info!("ignoring SIGHUP");
        }
    });
    Ok(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM"),
            _ = int.recv() => tracing::info!("SIGINT"),
        }
    })
}

/// Writes the pid file, prints the readiness line, then points stdout at
/// /dev/null so a supervisor that stops reading (or dies) cannot hurt us.
fn announce(ready: Ready, pid_file: Option<&Path>) {
    let pid = std::process::id();
    if let Some(path) = pid_file {
        if let Err(e) = write_pid_file(path, pid) {
            tracing::error!(path = %path.display(), error = %e, "cannot write pid file");
        }
    }
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(
        stdout,
        "READY pid={pid} generation={} listening={} failed={}",
        ready.generation, ready.listening, ready.failed
    );
    let _ = stdout.flush();
    drop(stdout);
    match std::fs::File::options().write(true).open("/dev/null") {
        Ok(null) => {
            let _ = nix::unistd::dup2_stdout(&null);
        }
        Err(e) => tracing::warn!(error = %e, "cannot reopen stdout"),
    }
}

fn write_pid_file(path: &Path, pid: u32) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut tmp = path.as_os_str().to_os_string();
    tmp.push(format!(".tmp.{pid}"));
    std::fs::write(&tmp, format!("{pid}\n"))?;
    std::fs::rename(&tmp, path)
}

fn remove_pid_file_if_ours(path: &Path) {
    let ours = std::fs::read_to_string(path)
        .map(|s| s.trim() == std::process::id().to_string())
        .unwrap_or(false);
    if ours {
        let _ = std::fs::remove_file(path);
    }
}
