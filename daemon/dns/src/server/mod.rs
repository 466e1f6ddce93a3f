//! The resolver process's serving loop: listeners for every gateway address,
//! the record index and upstream list behind `ArcSwap`s (the hot path never
//! locks), a file watcher that swaps them, and a draining shutdown.

mod bind;
mod listeners;
mod mmsg;
mod nudge;
mod shared;
mod stats;
mod tcp;
mod udp;
mod watch;

pub use nudge::{nudge, nudge_path};
pub use stats::{stats_path, DnsStats};

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::time::{interval, MissedTickBehavior};

use crate::records::RecordIndex;
use crate::snapshot::{Snapshot, SnapshotError};
use crate::upstream::read_resolv_conf;
use listeners::ListenerSet;
use nudge::NudgeListener;
use shared::Shared;
use watch::Watcher;

/// Settings of one resolver process.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Snapshot written by cnmd.
    pub snapshot: PathBuf,
    /// Host resolv.conf with the default upstreams.
    pub resolv_conf: PathBuf,
    /// Port served on every listen address (53; tests may pick another).
    pub port: u16,
    /// Forwards in flight at most; more are answered REFUSED.
    pub max_forwards: usize,
    /// Bound on one forward, all upstreams together.
    pub forward_timeout: Duration,
    /// An idle TCP connection is closed after this long.
    pub tcp_idle_timeout: Duration,
    /// TCP connections open at most; more are closed at once.
    pub max_tcp_connections: usize,
    /// How often the snapshot and resolv.conf are checked for changes
    /// (cnmd also nudges after each snapshot it writes, see `nudge`).
    pub poll_interval: Duration,
    /// After SIGTERM, keep serving this long before closing the sockets.
    pub drain: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            snapshot: PathBuf::from("/run/cnm/dns/snapshot.json"),
            resolv_conf: PathBuf::from("/etc/resolv.conf"),
            port: 53,
            max_forwards: 256,
            forward_timeout: Duration::from_secs(2),
            tcp_idle_timeout: Duration::from_secs(10),
            max_tcp_connections: 256,
            poll_interval: Duration::from_millis(25),
            drain: Duration::from_millis(300),
        }
    }
}

/// What the resolver reports once it serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ready {
    /// Generation of the snapshot loaded (0 if there was none yet).
    pub generation: u64,
    /// Listen addresses bound (UDP and TCP).
    pub listening: usize,
    /// Listen addresses that could not be bound (retried every second).
    pub failed: usize,
}

/// Errors that stop the resolver from starting.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The snapshot exists but cannot be used: a new resolver must not take
    /// over from a working one with it.
    #[error("cannot load the initial snapshot")]
    Snapshot(#[source] SnapshotError),
}

/// How often the query counters are written for cnmd's `/metrics`.
const STATS_EVERY: Duration = Duration::from_secs(1);

/// Serves until `shutdown` completes, then drains and returns.
/// `on_ready` runs once every listener that can be bound is bound.
pub async fn serve(
    config: ServerConfig,
    on_ready: impl FnOnce(Ready),
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    // stamp the files before reading them: a write racing with the initial
    // load then shows up as a change on the first tick instead of being lost
    let mut watcher = Watcher::new(&config);
    let index = match Snapshot::load(&config.snapshot) {
        Ok(snapshot) => RecordIndex::compile(&snapshot),
        Err(SnapshotError::Read { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            tracing::warn!(path = %config.snapshot.display(), "no snapshot yet, serving nothing until it appears");
            RecordIndex::default()
        }
        Err(e) => return Err(ServeError::Snapshot(e)),
    };
    let upstreams = read_resolv_conf(&config.resolv_conf).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "no host upstreams until resolv.conf is readable");
        Vec::new()
    });
    let generation = index.generation();
    let shared = Arc::new(Shared::new(&config, index, upstreams));
    let mut listeners = ListenerSet::new(config.port);
    listeners.reconcile(&shared);
    on_ready(Ready {
        generation,
        listening: listeners.active(),
        failed: listeners.failed(),
    });
    tracing::info!(generation, listening = listeners.active(), "serving");

    let mut tick = interval(config.poll_interval);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let nudges = NudgeListener::bind(&config.snapshot);
    let stats_file = stats_path(&config.snapshot);
    let mut last_stats = Instant::now();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = tick.tick() => {}
            () = nudges.nudged() => {}
        }
        if last_stats.elapsed() >= STATS_EVERY {
            last_stats = Instant::now();
            if let Err(e) = shared.counters.totals().write(&stats_file) {
                tracing::debug!(error = %e, "cannot write the query counters");
            }
        }
        watcher.poll(&shared, &mut listeners).await;
        if watcher.orphaned() {
            tracing::warn!(path = %config.snapshot.display(), "the snapshot's directory is gone; nothing left to serve, exiting");
            break;
        }
    }
    drain(&config, &shared, listeners).await;
    Ok(())
}

/// Keeps answering for `config.drain` (a replacement already receives all new
/// traffic), then closes the sockets and waits for forwards in flight.
async fn drain(config: &ServerConfig, shared: &Shared, listeners: ListenerSet) {
    tracing::info!("draining");
    tokio::time::sleep(config.drain).await;
    shared.stop.cancel();
    drop(listeners);
    shared.tasks.close();
    let grace = config.forward_timeout + Duration::from_millis(500);
    if tokio::time::timeout(grace, shared.tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!("tasks still running after the grace period");
    }
}
