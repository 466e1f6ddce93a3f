//! Limits on cgroup v1 hierarchies (one directory per controller mount).

use std::path::Path;

use super::{write_file, CgroupError, LimitFiles};
use crate::spec::{Cpus, MemoryBytes, CPU_PERIOD_US};

/// The limit files of the v1 hierarchies.
pub(super) struct V1;

impl LimitFiles for V1 {
    fn write_memory(dir: &Path, memory: MemoryBytes) -> Result<(), CgroupError> {
        let bytes = memory.bytes().to_string();
        // limit_in_bytes first: memsw must never be below it.
        write_file(&dir.join("memory.limit_in_bytes"), &bytes)?;
        // With swap accounting on, memory+swap equal to memory means no
        // swap, so a hog is OOM-killed instead of swapping (Docker's default
        // for --memory alone allows swap; cnm keeps swap off).
        let memsw = dir.join("memory.memsw.limit_in_bytes");
        if memsw.exists() {
            write_file(&memsw, &bytes)?;
        }
        Ok(())
    }

    fn write_cpus(dir: &Path, cpus: Cpus) -> Result<(), CgroupError> {
        write_file(&dir.join("cpu.cfs_period_us"), &CPU_PERIOD_US.to_string())?;
        write_file(&dir.join("cpu.cfs_quota_us"), &cpus.quota_us().to_string())
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::super::Controller;
    use super::*;
    use crate::spec::Limits;

    #[test]
    fn writes_v1_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        for f in [
            "memory.limit_in_bytes",
            "memory.memsw.limit_in_bytes",
            "cpu.cfs_period_us",
            "cpu.cfs_quota_us",
            "pids.max",
        ] {
            fs::write(d.join(f), "").expect("file");
        }
        let limits = Limits {
            memory: Some("32m".parse().expect("mem")),
            cpus: Some("0.5".parse().expect("cpus")),
            pids: Some("20".parse().expect("pids")),
        };
        V1::apply(d, &Controller::ALL, &limits).expect("apply");
        let read = |f: &str| fs::read_to_string(d.join(f)).expect(f);
        assert_eq!(read("memory.limit_in_bytes"), "33554432");
        assert_eq!(read("memory.memsw.limit_in_bytes"), "33554432");
        assert_eq!(read("cpu.cfs_period_us"), "100000");
        assert_eq!(read("cpu.cfs_quota_us"), "50000");
        assert_eq!(read("pids.max"), "20");
    }

    #[test]
    fn missing_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let limits = Limits {
            pids: Some("5".parse().expect("pids")),
            ..Limits::default()
        };
        let err = V1::apply(dir.path(), &[Controller::Pids], &limits).expect_err("no file");
        assert!(err.to_string().contains("pids.max"), "{err}");
    }
}
