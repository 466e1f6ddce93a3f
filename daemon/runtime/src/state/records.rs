//! Records in the state directory: the start record (who the shim and the
//! container's PID 1 are) and the exit record (how it ended). Both are JSON
//! written with write-then-rename, so a reader never sees half a record
//! even if the shim is killed mid-write.

use std::fs;
use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::ProcessId;
use crate::error::RuntimeError;

/// Written by the shim once the command exec'd.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StartRecord {
    /// The container's PID 1, as seen from the host.
    pub(crate) pid: ProcessId,
    pub(crate) shim: ProcessId,
    pub(crate) started_at_ns: u64,
    /// Where this run's records begin in the log (earlier runs of the same
    /// container come before); 0 in records of older shims.
    #[serde(default)]
    pub(crate) log_start: u64,
}

/// Written by the shim after the container's PID 1 was reaped and its
/// output drained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ExitRecord {
    /// The exit code, or 128 + signal number when killed by a signal.
    pub(crate) code: i32,
    pub(crate) oom_killed: bool,
    pub(crate) finished_at_ns: u64,
}

pub(crate) fn now_ns() -> u64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
}

pub(crate) fn time_from_ns(ns: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(ns)
}

/// Writes `value` as JSON to `path` via a temp file and rename(2).
pub(crate) fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let bytes = serde_json::to_vec(value).map_err(io::Error::other)?;
    let mut file = fs::File::create(&tmp)?;
    file.write_all(&bytes)?;
    // The exit record must survive a host crash right after the container
    // exits, or a restarted cnmd would report the container as lost.
    file.sync_all()?;
    fs::rename(&tmp, path)
}

/// Reads a JSON record; `Ok(None)` when it does not exist (yet).
pub(crate) fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, RuntimeError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(RuntimeError::ReadState {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|source| RuntimeError::CorruptState {
            path: path.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_record_round_trip_and_golden() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("exit.json");
        let rec = ExitRecord {
            code: 137,
            oom_killed: true,
            finished_at_ns: 1_700_000_000_123_456_789,
        };
        write_json_atomic(&path, &rec).expect("write");
        assert_eq!(
            fs::read_to_string(&path).expect("read"),
            r#"{"code":137,"oom_killed":true,"finished_at_ns":1700000000123456789}"#
        );
        assert_eq!(read_json::<ExitRecord>(&path).expect("parse"), Some(rec));
        assert!(!path.with_extension("tmp").exists());
        assert_eq!(
            read_json::<ExitRecord>(&dir.path().join("none")).expect("none"),
            None
        );
        fs::write(&path, "{").expect("corrupt");
        assert!(read_json::<ExitRecord>(&path).is_err());
    }
}
