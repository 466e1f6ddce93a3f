//! Notices new snapshots and resolv.conf edits by polling `stat` (dev,
//! inode, size, mtime, ctime) every few tens of milliseconds. Polling rather
//! than inotify: it survives the directory being removed and recreated, the
//! file being replaced by rename or edited in place, and costs two syscalls
//! per tick.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::listeners::ListenerSet;
use super::shared::Shared;
use super::ServerConfig;
use crate::records::RecordIndex;
use crate::snapshot::Snapshot;
use crate::upstream::read_resolv_conf;

/// Failed binds are retried this often.
const RETRY_BINDS: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i64,
    ctime_ns: i64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let m = std::fs::metadata(path).ok()?;
    Some(Stamp {
        dev: m.dev(),
        ino: m.ino(),
        size: m.size(),
        mtime_ns: m.mtime() * 1_000_000_000 + m.mtime_nsec(),
        ctime_ns: m.ctime() * 1_000_000_000 + m.ctime_nsec(),
    })
}

/// Remembers what was last loaded.
pub(crate) struct Watcher {
    snapshot: PathBuf,
    resolv_conf: PathBuf,
    snapshot_seen: Option<Stamp>,
    resolv_seen: Option<Stamp>,
    last_retry: tokio::time::Instant,
    dir_missing_since: Option<tokio::time::Instant>,
}

/// How long the snapshot's directory may be missing before we exit.
const ORPHAN_AFTER: Duration = Duration::from_secs(2);

impl Watcher {
    /// Starts from the files as they are now; the caller loads them next.
    pub(crate) fn new(config: &ServerConfig) -> Self {
        Watcher {
            snapshot_seen: stamp(&config.snapshot),
            resolv_seen: stamp(&config.resolv_conf),
            snapshot: config.snapshot.clone(),
            resolv_conf: config.resolv_conf.clone(),
            last_retry: tokio::time::Instant::now(),
            dir_missing_since: None,
        }
    }

    /// True once the snapshot's directory has been gone for a while: its
    /// owner removed its run directory (a test, a benchmark, an uninstall),
    /// so this resolver is an orphan that would otherwise run forever.
    pub(crate) fn orphaned(&mut self) -> bool {
        let dir_exists = self.snapshot.parent().is_some_and(|d| d.exists());
        if dir_exists {
            self.dir_missing_since = None;
            return false;
        }
        let since = *self
            .dir_missing_since
            .get_or_insert_with(tokio::time::Instant::now);
        since.elapsed() >= ORPHAN_AFTER
    }

    /// One tick: reload what changed, rebind if the listen set changed.
    pub(crate) async fn poll(&mut self, shared: &Arc<Shared>, listeners: &mut ListenerSet) {
        let now = stamp(&self.snapshot);
        if now != self.snapshot_seen {
            self.snapshot_seen = now;
            if now.is_some() && self.reload_snapshot(shared).await {
                listeners.reconcile(shared);
            }
        }
        let now = stamp(&self.resolv_conf);
        if now != self.resolv_seen {
            self.resolv_seen = now;
            self.reload_resolv_conf(shared);
        }
        if listeners.failed() > 0 && self.last_retry.elapsed() >= RETRY_BINDS {
            self.last_retry = tokio::time::Instant::now();
            listeners.reconcile(shared);
        }
    }

    /// Parses and compiles off the runtime thread, then swaps; on error the
    /// previous snapshot stays in service.
    async fn reload_snapshot(&self, shared: &Shared) -> bool {
        let path = self.snapshot.clone();
        let compiled = tokio::task::spawn_blocking(move || {
            Snapshot::load(&path).map(|s| RecordIndex::compile(&s))
        })
        .await;
        match compiled {
            Ok(Ok(index)) => {
                tracing::info!(generation = index.generation(), "new snapshot");
                shared.records.store(Arc::new(index));
                true
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "keeping the previous snapshot");
                false
            }
            Err(e) => {
                tracing::error!(error = %e, "snapshot loader panicked");
                false
            }
        }
    }

    fn reload_resolv_conf(&self, shared: &Shared) {
        match read_resolv_conf(&self.resolv_conf) {
            Ok(upstreams) => {
                tracing::info!(?upstreams, "host upstreams");
                shared.host_upstreams.store(Arc::new(upstreams));
            }
            Err(e) => tracing::warn!(error = %e, "keeping the previous upstreams"),
        }
    }
}
