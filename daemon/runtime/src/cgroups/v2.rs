//! Limits on the unified (v2) hierarchy. A v2 cgroup only gets a
//! controller's interface files when its parent enabled that controller in
//! `cgroup.subtree_control`, so every ancestor from the mount down to
//! `cnm/` must enable them before the leaf is created.

use std::fs;
use std::path::Path;

use super::{write_file, CgroupError, Controller, LimitFiles};
use crate::spec::{Cpus, MemoryBytes, CPU_PERIOD_US};

/// Enables `controllers` in the subtree_control of every ancestor of
/// `leaf` below (and including) `mount`, creating missing ancestors.
pub(super) fn enable_controllers(
    mount: &Path,
    leaf: &Path,
    controllers: &[Controller],
) -> Result<(), CgroupError> {
    let Ok(relative) = leaf.strip_prefix(mount) else {
        return Ok(());
    };
    let mut dir = mount.to_path_buf();
    let mut parts: Vec<_> = relative.components().collect();
    parts.pop(); // the leaf itself enables nothing: it holds the processes
    enable_in(&dir, controllers)?;
    for part in parts {
        dir.push(part);
        if !dir.exists() {
            fs::create_dir(&dir).map_err(|source| CgroupError::Create {
                path: dir.clone(),
                source,
            })?;
        }
        enable_in(&dir, controllers)?;
    }
    Ok(())
}

fn enable_in(dir: &Path, controllers: &[Controller]) -> Result<(), CgroupError> {
    let file = dir.join("cgroup.subtree_control");
    let enabled = fs::read_to_string(&file).unwrap_or_default();
    let missing: Vec<String> = controllers
        .iter()
        .filter(|c| !enabled.split_whitespace().any(|e| e == c.name()))
        .map(|c| format!("+{}", c.name()))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    write_file(&file, &missing.join(" "))
}

/// The limit files of the unified hierarchy.
pub(super) struct V2;

impl LimitFiles for V2 {
    fn write_memory(dir: &Path, memory: MemoryBytes) -> Result<(), CgroupError> {
        write_file(&dir.join("memory.max"), &memory.bytes().to_string())?;
        // Absent when the kernel has no swap accounting (CONFIG_MEMCG_SWAP
        // off or swapaccount=0).
        let swap = dir.join("memory.swap.max");
        if swap.exists() {
            write_file(&swap, "0")?;
        }
        Ok(())
    }

    fn write_cpus(dir: &Path, cpus: Cpus) -> Result<(), CgroupError> {
        let value = format!("{} {}", cpus.quota_us(), CPU_PERIOD_US);
        write_file(&dir.join("cpu.max"), &value)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{detect, CgroupSet, Hierarchies};
    use super::*;
    use crate::spec::Limits;

    /// A temp tree shaped like a pure-v2 cgroupfs in which the leaf of
    /// container `id` already exists with its interface files (a real
    /// cgroupfs makes them on mkdir; a plain directory cannot).
    fn fake_v2(id: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let leaf = root.join("cnm").join(id);
        fs::create_dir_all(&leaf).expect("leaf");
        fs::write(
            root.join("cgroup.controllers"),
            "cpuset cpu io memory hugetlb pids\n",
        )
        .expect("c");
        fs::write(root.join("cgroup.subtree_control"), "cpu\n").expect("root stc");
        fs::write(root.join("cnm/cgroup.subtree_control"), "").expect("cnm stc");
        for f in [
            "memory.max",
            "memory.swap.max",
            "cpu.max",
            "pids.max",
            "cgroup.procs",
        ] {
            fs::write(leaf.join(f), "max\n").expect(f);
        }
        fs::write(
            leaf.join("memory.events"),
            "low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n",
        )
        .expect("ev");
        dir
    }

    #[test]
    fn creates_v2_cgroup_with_all_limits() {
        let id = "c0ffee";
        let dir = fake_v2(id);
        let root = dir.path();
        let h = Hierarchies::parse(&detect::fake_mountinfo(&[], Some(root)));
        let set = CgroupSet::plan(&h, id);
        assert_eq!(set.dirs(), [root.join("cnm/c0ffee")]);
        let limits = Limits {
            memory: Some("64m".parse().expect("mem")),
            cpus: Some("1.5".parse().expect("cpus")),
            pids: Some("100".parse().expect("pids")),
        };
        set.create(&limits).expect("create");
        let read = |f: &str| fs::read_to_string(root.join(f)).expect(f);
        // "cpu" was already enabled at the root; only the others are added.
        assert_eq!(read("cgroup.subtree_control"), "+memory +pids");
        assert_eq!(read("cnm/cgroup.subtree_control"), "+memory +cpu +pids");
        assert_eq!(read("cnm/c0ffee/memory.max"), "67108864");
        assert_eq!(read("cnm/c0ffee/memory.swap.max"), "0");
        assert_eq!(read("cnm/c0ffee/cpu.max"), "150000 100000");
        assert_eq!(read("cnm/c0ffee/pids.max"), "100");
        set.add_process(4242).expect("add");
        assert_eq!(read("cnm/c0ffee/cgroup.procs"), "4242");
        assert!(!set.oom_killed());
        fs::write(root.join("cnm/c0ffee/memory.events"), "oom 1\noom_kill 1\n").expect("ev");
        assert!(set.oom_killed());
    }

    #[test]
    fn unlimited_writes_nothing_but_enables_controllers() {
        let id = "beef";
        let dir = fake_v2(id);
        let root = dir.path();
        let set = CgroupSet::plan(
            &Hierarchies::parse(&detect::fake_mountinfo(&[], Some(root))),
            id,
        );
        set.create(&Limits::default()).expect("create");
        let read = |f: &str| fs::read_to_string(root.join(f)).expect(f);
        assert_eq!(read("cnm/beef/memory.max"), "max\n");
        assert_eq!(read("cnm/cgroup.subtree_control"), "+memory +cpu +pids");
    }
}
