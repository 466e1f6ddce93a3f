//! The container's cgroups: one directory `cnm/<id>` in every hierarchy that
//! manages memory, cpu or pids (v1 per controller, v2 unified), limits
//! written into them, processes added, OOM kills read back, and removal.

mod detect;
mod v1;
mod v2;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

pub use detect::summary as cgroup_summary;
pub(crate) use detect::{Controller, Hierarchies, Location};

use v1::V1;
use v2::V2;

use crate::error::SpecError;
use crate::spec::{Cpus, Limits, MemoryBytes};

/// Every container cgroup sits under this directory of each hierarchy.
pub(crate) const PARENT: &str = "cnm";

/// A cgroup operation that failed, naming the file or directory.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CgroupError {
    #[error("detecting cgroup hierarchies")]
    Detect(#[source] io::Error),
    #[error("creating cgroup {path}")]
    Create {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("writing `{value}` to {path}")]
    Write {
        path: PathBuf,
        value: String,
        #[source]
        source: io::Error,
    },
    #[error("removing cgroup {path}")]
    Remove {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Fails when a requested limit has no controller on this host.
pub(crate) fn check_available(limits: &Limits) -> Result<(), SpecError> {
    let h = Hierarchies::detect().map_err(SpecError::DetectCgroups)?;
    let wanted = [
        (Controller::Memory, limits.memory.is_some()),
        (Controller::Cpu, limits.cpus.is_some()),
        (Controller::Pids, limits.pids.is_some()),
    ];
    for (controller, requested) in wanted {
        if requested && h.locate(controller).is_none() {
            return Err(SpecError::NoController {
                controller: controller.name(),
            });
        }
    }
    Ok(())
}

/// The directories of one container's cgroup.
#[derive(Debug, Clone)]
pub(crate) struct CgroupSet {
    /// v1 leaf directories and the controllers each one manages.
    v1: Vec<(PathBuf, Vec<Controller>)>,
    /// The unified mount, and the controllers it manages for us.
    v2: Option<(PathBuf, Vec<Controller>)>,
    id: String,
}

impl CgroupSet {
    /// The cgroup of container `id` on this host.
    pub(crate) fn for_container(id: &str) -> Result<Self, CgroupError> {
        Ok(Self::plan(
            &Hierarchies::detect().map_err(CgroupError::Detect)?,
            id,
        ))
    }

    pub(crate) fn plan(h: &Hierarchies, id: &str) -> Self {
        let mut set = CgroupSet {
            v1: Vec::new(),
            v2: None,
            id: id.to_string(),
        };
        for controller in Controller::ALL {
            match h.locate(controller) {
                Some(Location::V1(mount)) => {
                    let dir = mount.join(PARENT).join(id);
                    match set.v1.iter_mut().find(|(d, _)| *d == dir) {
                        Some((_, ctrls)) => ctrls.push(controller),
                        None => set.v1.push((dir, vec![controller])),
                    }
                }
                Some(Location::V2(mount)) => {
                    set.v2.get_or_insert((mount, Vec::new())).1.push(controller)
                }
                None => {}
            }
        }
        set
    }

    fn v2_leaf(&self) -> Option<PathBuf> {
        self.v2
            .as_ref()
            .map(|(mount, _)| mount.join(PARENT).join(&self.id))
    }

    /// Every leaf directory, v1 first.
    pub(crate) fn dirs(&self) -> Vec<PathBuf> {
        self.v1
            .iter()
            .map(|(d, _)| d.clone())
            .chain(self.v2_leaf())
            .collect()
    }

    /// Creates the directories and writes the limits; on failure removes
    /// what it created, so a failed start leaves no cgroup behind.
    pub(crate) fn create(&self, limits: &Limits) -> Result<(), CgroupError> {
        let mut created = Vec::new();
        let result = self.create_steps(limits, &mut created);
        if result.is_err() {
            for dir in created.iter().rev() {
                let _ = fs::remove_dir(dir);
            }
        }
        result
    }

    fn create_steps(&self, limits: &Limits, created: &mut Vec<PathBuf>) -> Result<(), CgroupError> {
        for (dir, controllers) in &self.v1 {
            if make_leaf(dir)? {
                created.push(dir.clone());
            }
            V1::apply(dir, controllers, limits)?;
        }
        if let (Some((mount, controllers)), Some(leaf)) = (&self.v2, self.v2_leaf()) {
            v2::enable_controllers(mount, &leaf, controllers)?;
            if make_leaf(&leaf)? {
                created.push(leaf.clone());
            }
            V2::apply(&leaf, controllers, limits)?;
        }
        Ok(())
    }

    /// Moves `pid` (all its threads) into every leaf.
    pub(crate) fn add_process(&self, pid: i32) -> Result<(), CgroupError> {
        for dir in self.dirs() {
            write_file(&dir.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    /// Whether the kernel OOM-killed a process of this cgroup.
    pub(crate) fn oom_killed(&self) -> bool {
        let v1 = self
            .v1
            .iter()
            .filter(|(_, c)| c.contains(&Controller::Memory))
            .map(|(d, _)| d.join("memory.oom_control"));
        let v2 = self.v2_leaf().map(|d| d.join("memory.events"));
        v1.chain(v2).any(|file| {
            fs::read_to_string(file)
                .unwrap_or_default()
                .lines()
                .filter_map(|l| l.strip_prefix("oom_kill "))
                .any(|n| n.trim().parse::<u64>().unwrap_or(0) > 0)
        })
    }

    /// Removes every leaf that exists, reporting all failures. The kernel
    /// frees a cgroup shortly after its last task is reaped, so rmdir may
    /// see EBUSY for a moment after the container exited.
    pub(crate) fn remove(&self) -> Vec<CgroupError> {
        let mut errors = Vec::new();
        for dir in self.dirs() {
            if let Err(e) = remove_with_retry(&dir, Duration::from_secs(2)) {
                errors.push(CgroupError::Remove {
                    path: dir,
                    source: e,
                });
            }
        }
        errors
    }
}

/// How limits are written into a leaf of one hierarchy version. Only the
/// memory and cpu files differ between v1 and v2; which limit goes to which
/// controller, and pids.max, are the same in both.
trait LimitFiles {
    fn write_memory(dir: &Path, memory: MemoryBytes) -> Result<(), CgroupError>;

    fn write_cpus(dir: &Path, cpus: Cpus) -> Result<(), CgroupError>;

    /// Writes the limits of `controllers` into the leaf `dir`; a limit that
    /// is not set writes nothing, leaving the kernel's "no limit".
    fn apply(dir: &Path, controllers: &[Controller], limits: &Limits) -> Result<(), CgroupError> {
        for controller in controllers {
            match controller {
                Controller::Memory => {
                    if let Some(memory) = limits.memory {
                        Self::write_memory(dir, memory)?;
                    }
                }
                Controller::Cpu => {
                    if let Some(cpus) = limits.cpus {
                        Self::write_cpus(dir, cpus)?;
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
}

/// Creates a leaf; `Ok(false)` if it already existed (a leftover of the same
/// id, which is reused as runc does).
fn make_leaf(dir: &Path) -> Result<bool, CgroupError> {
    let err = |source| CgroupError::Create {
        path: dir.to_path_buf(),
        source,
    };
    if let Some(parent) = dir.parent() {
        fs::create_dir_all(parent).map_err(err)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(err(e)),
    }
}

/// rmdir of a cgroup that was just emptied: the kernel reports EBUSY until
/// the last task is fully released, usually within a millisecond or two of
/// its reaping, so look again soon, then less often (a flat 20 ms made every
/// other `cnm run --rm` wait for the previous one's cleanup).
fn remove_with_retry(dir: &Path, patience: Duration) -> io::Result<()> {
    let deadline = Instant::now() + patience;
    let mut pause = Duration::from_millis(1);
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Writes an existing control file. Never creates: a missing file means a
/// missing controller, and cgroupfs refuses new files anyway. O_TRUNC is
/// what `echo >` does; cgroupfs ignores it, a plain file (tests) needs it.
pub(crate) fn write_file(path: &Path, value: &str) -> Result<(), CgroupError> {
    use std::io::Write;
    fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .and_then(|mut f| f.write_all(value.as_bytes()))
        .map_err(|source| CgroupError::Write {
            path: path.to_path_buf(),
            value: value.to_string(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hybrid_plan_uses_one_dir_per_v1_mount() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for d in ["memory", "cpu,cpuacct", "unified"] {
            fs::create_dir_all(root.join(d)).expect("mkdir");
        }
        fs::write(root.join("unified/cgroup.controllers"), "hugetlb\n").expect("controllers");
        let text = detect::fake_mountinfo(
            &[
                (&root.join("memory"), "memory"),
                (&root.join("cpu,cpuacct"), "cpu,cpuacct"),
            ],
            Some(&root.join("unified")),
        );
        let set = CgroupSet::plan(&Hierarchies::parse(&text), "abc");
        assert_eq!(
            set.dirs(),
            [
                root.join("memory/cnm/abc"),
                root.join("cpu,cpuacct/cnm/abc")
            ]
        );
        assert!(set.v2.is_none(), "pids is nowhere, hugetlb is not ours");
    }
}
