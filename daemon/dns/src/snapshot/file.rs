//! Atomic snapshot files: cnmd writes a temporary file and renames it over
//! the old one, so the resolver never reads half a snapshot.
//!
//! No fsync: a snapshot is derived state (cnmd rebuilds it from its store at
//! every start), so only atomicity between processes matters, which rename
//! gives. Two fsyncs per change cost more than building the snapshot and
//! compete with the store's own flush on the connect path.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::model::{Snapshot, SNAPSHOT_FORMAT};
use super::SnapshotError;

impl Snapshot {
    /// Writes the snapshot to `path` atomically: temporary file in the same
    /// directory, then rename. Creates the directory.
    pub fn write_atomic(&self, path: &Path) -> Result<(), SnapshotError> {
        let write_err = |source| SnapshotError::Write {
            path: path.to_path_buf(),
            source,
        };
        let json = serde_json::to_vec(self).map_err(|e| write_err(e.into()))?;
        let dir = parent_dir(path);
        fs::create_dir_all(&dir).map_err(write_err)?;
        let tmp = temp_path(path);
        let result = write_new(&tmp, &json).and_then(|()| fs::rename(&tmp, path));
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map_err(write_err)
    }

    /// Reads and parses a snapshot; refuses formats newer than this build's.
    pub fn load(path: &Path) -> Result<Snapshot, SnapshotError> {
        let bytes = fs::read(path).map_err(|source| SnapshotError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json(path, &bytes)
    }

    pub(crate) fn from_json(path: &Path, bytes: &[u8]) -> Result<Snapshot, SnapshotError> {
        let snapshot: Snapshot =
            serde_json::from_slice(bytes).map_err(|source| SnapshotError::Parse {
                path: path.to_path_buf(),
                source,
            })?;
        if snapshot.format > SNAPSHOT_FORMAT {
            return Err(SnapshotError::UnsupportedFormat {
                path: path.to_path_buf(),
                found: snapshot.format,
            });
        }
        Ok(snapshot)
    }
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A temporary name unique to this process and call, so concurrent writers
/// (tasks of one cnmd, or two cnmds during an upgrade) never share one.
fn temp_path(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp.{}.{n}", std::process::id()));
    path.with_file_name(name)
}

fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(path)?;
    file.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{MemberBuilder, NetworkBuilder};

    const SB: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn sample() -> Snapshot {
        Snapshot::builder(7)
            .network(
                NetworkBuilder::new("n1", "front")
                    .listen("172.18.0.1".parse().unwrap())
                    .listen("fd00::1".parse().unwrap())
                    .upstream("10.0.0.53".parse().unwrap())
                    .member(
                        MemberBuilder::new(SB)
                            .name("Web")
                            .name("www.")
                            .addr("172.18.0.2".parse().unwrap())
                            .addr("fd00::2".parse().unwrap()),
                    ),
            )
            .sandbox_dns(SB, ["192.0.2.53".parse().unwrap()])
            .build()
            .unwrap()
    }

    #[test]
    fn round_trip_through_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dns/snapshot.json");
        let snapshot = sample();
        snapshot.write_atomic(&path).unwrap();
        assert_eq!(Snapshot::load(&path).unwrap(), snapshot);
        // no temporary file left behind
        let names: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn golden_json() {
        let json = serde_json::to_string(&sample()).unwrap();
        let golden = concat!(
            r#"{"format":1,"generation":7,"networks":[{"id":"n1","name":"front","internal":false,"#,
            r#""listen":["172.18.0.1","fd00::1"],"upstreams_override":["10.0.0.53"],"#,
            r#""members":[{"sandbox_id":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","#,
            r#""names":["web","www","0123456789ab"],"addrs":["172.18.0.2","fd00::2"]}]}],"#,
            r#""sandbox_dns":{"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef":["192.0.2.53"]}}"#
        );
        assert_eq!(json, golden);
        let back = Snapshot::from_json(Path::new("golden"), golden.as_bytes()).unwrap();
        assert_eq!(back, sample());
    }

    #[test]
    fn unknown_fields_are_ignored_newer_formats_refused() {
        let json = br#"{"format":1,"generation":1,"networks":[],"future":true}"#;
        assert!(Snapshot::from_json(Path::new("x"), json).is_ok());
        let json = br#"{"format":2,"generation":1,"networks":[]}"#;
        assert!(matches!(
            Snapshot::from_json(Path::new("x"), json),
            Err(SnapshotError::UnsupportedFormat { found: 2, .. })
        ));
    }

    #[test]
    fn builder_refuses_ambiguous_data() {
        let gw = "172.18.0.1".parse().unwrap();
        let dup_listen = Snapshot::builder(1)
            .network(NetworkBuilder::new("a", "a").listen(gw))
            .network(NetworkBuilder::new("b", "b").listen(gw))
            .build();
        assert!(matches!(
            dup_listen,
            Err(SnapshotError::DuplicateListen { .. })
        ));
        let ip = "172.18.0.2".parse().unwrap();
        let sb2 = SB.replace('0', "f");
        let dup_addr = Snapshot::builder(1)
            .network(
                NetworkBuilder::new("a", "a")
                    .member(MemberBuilder::new(SB).addr(ip))
                    .member(MemberBuilder::new(sb2).addr(ip)),
            )
            .build();
        assert!(matches!(
            dup_addr,
            Err(SnapshotError::DuplicateAddress { .. })
        ));
        let bad_name = Snapshot::builder(1)
            .network(NetworkBuilder::new("a", "a").member(MemberBuilder::new(SB).name("a b")))
            .build();
        assert!(matches!(bad_name, Err(SnapshotError::InvalidName { .. })));
        let bad_id = Snapshot::builder(1)
            .network(NetworkBuilder::new("a", "a").member(MemberBuilder::new("abc")))
            .build();
        assert!(matches!(
            bad_id,
            Err(SnapshotError::InvalidSandboxId { .. })
        ));
    }
}
