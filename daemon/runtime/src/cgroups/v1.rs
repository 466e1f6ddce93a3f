//! Limits on cgroup v1 hierarchies (one directory per controller mount).

use std::path::Path;

use super::{write_file, CgroupError, Controller};
use crate::spec::{Limits, CPU_PERIOD_US};

/// Writes the limits of `controllers` into the v1 leaf `dir`.
pub(super) fn apply(
    dir: &Path,
    controllers: &[Controller],
    limits: &Limits,
) -> Result<(), CgroupError> {
    for controller in controllers {
        match controller {
            Controller::Memory => {
                if let Some(memory) = limits.memory {
                    let bytes = memory.bytes().to_string();
                    // limit_in_bytes first: memsw must never be below it.
                    write_file(&dir.join("memory.limit_in_bytes"), &bytes)?;
                    // With swap accounting on, memory+swap equal to memory
                    // means no swap, so a hog is OOM-killed instead of
                    // swapping (Docker's default for --memory alone allows
                    // swap; cnm keeps swap off).
                    let memsw = dir.join("memory.memsw.limit_in_bytes");
                    if memsw.exists() {
                        write_file(&memsw, &bytes)?;
                    }
                }
            }
            Controller::Cpu => {
                if let Some(cpus) = limits.cpus {
                    write_file(&dir.join("cpu.cfs_period_us"), &CPU_PERIOD_US.to_string())?;
                    write_file(&dir.join("cpu.cfs_quota_us"), &cpus.quota_us().to_string())?;
                }
            }
            Controller::Pids => {
                if let Some(pids) = limits.pids {
                    write_file(&dir.join("pids.max"), &pids.get().to_string())?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

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
        apply(d, &Controller::ALL, &limits).expect("apply");
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
        let err = apply(dir.path(), &[Controller::Pids], &limits).expect_err("no file");
        assert!(err.to_string().contains("pids.max"), "{err}");
    }
}
