//! Query counters, written next to the snapshot about once a second so
//! cnmd's `/metrics` can show them without a channel to this process (and
//! the last figures stay readable while cnmd is down or restarting).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// Totals since the resolver started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsStats {
    /// Every query that reached a listener.
    pub queries: u64,
    /// Answered from cnm's records (including NXDOMAIN and NODATA).
    pub local_answers: u64,
    /// Sent to upstream resolvers.
    pub forwards: u64,
    /// Refused: strangers, internal networks, the forward cap.
    pub refused: u64,
    /// SERVFAIL: nowhere to forward to.
    pub servfail: u64,
}

/// Where the resolver writes its counters: beside the snapshot.
pub fn stats_path(snapshot: &Path) -> PathBuf {
    snapshot.with_file_name("stats.json")
}

impl DnsStats {
    /// Reads the counters a resolver wrote, if any.
    pub fn read(path: &Path) -> Option<DnsStats> {
        serde_json::from_slice(&std::fs::read(path).ok()?).ok()
    }

    /// Temporary file and rename, so a reader never sees half of it.
    pub(crate) fn write(&self, path: &Path) -> std::io::Result<()> {
        let tmp = path.with_extension("json.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec(self).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(&tmp, path)
    }
}

/// The live counters, bumped on the query path (relaxed atomics).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) queries: AtomicU64,
    pub(crate) local_answers: AtomicU64,
    pub(crate) forwards: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) servfail: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn totals(&self) -> DnsStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        DnsStats {
            queries: get(&self.queries),
            local_answers: get(&self.local_answers),
            forwards: get(&self.forwards),
            refused: get(&self.refused),
            servfail: get(&self.servfail),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_counters_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = stats_path(&dir.path().join("snapshot.json"));
        let c = Counters::default();
        Counters::bump(&c.queries);
        Counters::bump(&c.queries);
        Counters::bump(&c.forwards);
        c.totals().write(&path).unwrap();
        let read = DnsStats::read(&path).unwrap();
        assert_eq!((read.queries, read.forwards, read.refused), (2, 1, 0));
        assert_eq!(DnsStats::read(&dir.path().join("missing.json")), None);
    }
}
