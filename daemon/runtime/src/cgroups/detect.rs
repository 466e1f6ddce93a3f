//! Finds which cgroup hierarchy manages each controller: a v1 mount that
//! lists it in its super options, else the unified (v2) mount if its root
//! `cgroup.controllers` offers it. Hybrid hosts mix both.

use std::fs;
use std::io;
use std::path::PathBuf;

/// The controllers the runtime sets limits with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Controller {
    Memory,
    Cpu,
    Pids,
}

impl Controller {
    pub(crate) const ALL: [Controller; 3] = [Controller::Memory, Controller::Cpu, Controller::Pids];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Controller::Memory => "memory",
            Controller::Cpu => "cpu",
            Controller::Pids => "pids",
        }
    }
}

/// Where a controller lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    /// A v1 hierarchy mounted at this path.
    V1(PathBuf),
    /// The unified hierarchy mounted at this path.
    V2(PathBuf),
}

/// The cgroup mounts of this mount namespace.
#[derive(Debug, Clone, Default)]
pub(crate) struct Hierarchies {
    /// Mount point and controllers of each v1 hierarchy.
    v1: Vec<(PathBuf, Vec<String>)>,
    unified: Option<PathBuf>,
}

impl Hierarchies {
    pub(crate) fn detect() -> io::Result<Self> {
        Ok(Self::parse(&fs::read_to_string("/proc/self/mountinfo")?))
    }

    /// Parses /proc/self/mountinfo text (see proc(5)): the fields after the
    /// ` - ` separator are fstype, source and super options; v1 super
    /// options name the hierarchy's controllers.
    pub(crate) fn parse(mountinfo: &str) -> Self {
        let mut found = Self::default();
        for line in mountinfo.lines() {
            let Some((left, right)) = line.split_once(" - ") else {
                continue;
            };
            let Some(mount_point) = left.split(' ').nth(4) else {
                continue;
            };
            let mut rest = right.split(' ');
            let (fstype, _source, options) = (rest.next(), rest.next(), rest.next().unwrap_or(""));
            let mount_point = PathBuf::from(unescape(mount_point));
            match fstype {
                Some("cgroup2") if found.unified.is_none() => found.unified = Some(mount_point),
                Some("cgroup") => {
                    let controllers = options.split(',').map(str::to_string).collect();
                    found.v1.push((mount_point, controllers));
                }
                _ => {}
            }
        }
        found
    }

    /// The hierarchy managing `controller`, if any. A v1 mount wins: on a
    /// hybrid host the unified hierarchy cannot hold a controller that a v1
    /// hierarchy already has.
    pub(crate) fn locate(&self, controller: Controller) -> Option<Location> {
        let name = controller.name();
        if let Some((mount, _)) = self
            .v1
            .iter()
            .find(|(_, ctrls)| ctrls.iter().any(|c| c == name))
        {
            return Some(Location::V1(mount.clone()));
        }
        let unified = self.unified.as_ref()?;
        let offered = fs::read_to_string(unified.join("cgroup.controllers")).ok()?;
        offered
            .split_whitespace()
            .any(|c| c == name)
            .then(|| Location::V2(unified.clone()))
    }
}

/// How this host manages the limit controllers, for `cnm system info`:
/// "v2", "v1", or "hybrid (memory: v1, …)" when they are split.
pub fn summary() -> String {
    let Ok(found) = Hierarchies::detect() else {
        return "unknown (cannot read /proc/self/mountinfo)".into();
    };
    let places: Vec<(&str, Option<Location>)> = Controller::ALL
        .iter()
        .map(|c| (c.name(), found.locate(*c)))
        .collect();
    let version = |l: &Option<Location>| match l {
        Some(Location::V1(_)) => "v1",
        Some(Location::V2(_)) => "v2",
        None => "none",
    };
    let first = version(&places[0].1);
    if places.iter().all(|(_, l)| version(l) == first) {
        return first.into();
    }
    let parts: Vec<String> = places
        .iter()
        .map(|(name, l)| format!("{name}: {}", version(l)))
        .collect();
    format!("mixed ({})", parts.join(", "))
}

/// mountinfo escapes space, tab, newline and backslash as octal.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = |b: &u8| (b'0'..=b'7').contains(b);
        if bytes[i] == b'\\' && i + 4 <= bytes.len() && bytes[i + 1..i + 4].iter().all(octal) {
            let oct = std::str::from_utf8(&bytes[i + 1..i + 4]).unwrap_or("0");
            out.push(u8::from_str_radix(oct, 8).unwrap_or(b'?'));
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// mountinfo text for a fake cgroupfs under a temp dir (tests).
#[cfg(test)]
pub(crate) fn fake_mountinfo(
    v1: &[(&std::path::Path, &str)],
    unified: Option<&std::path::Path>,
) -> String {
    let mut text = String::new();
    for (i, (path, ctrls)) in v1.iter().enumerate() {
        text.push_str(&format!(
            "{} 1 0:{} / {} rw,relatime shared:1 - cgroup cgroup rw,{}\n",
            30 + i,
            40 + i,
            path.display(),
            ctrls
        ));
    }
    if let Some(path) = unified {
        text.push_str(&format!(
            "29 1 0:26 / {} rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n",
            path.display()
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const HYBRID: &str = "\
25 1 0:23 / /sys rw,nosuid - sysfs sysfs rw
26 25 0:24 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
27 26 0:25 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
28 26 0:26 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
29 26 0:27 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
30 26 0:28 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
31 26 0:29 / /sys/fs/cgroup/my\\040dir rw - cgroup cgroup rw,cpuacct,freezer
";

    #[test]
    fn hybrid_puts_limits_on_v1() {
        let h = Hierarchies::parse(HYBRID);
        assert_eq!(
            h.locate(Controller::Memory),
            Some(Location::V1("/sys/fs/cgroup/memory".into()))
        );
        assert_eq!(
            h.locate(Controller::Cpu),
            Some(Location::V1("/sys/fs/cgroup/cpu".into()))
        );
        assert_eq!(h.unified, Some(PathBuf::from("/sys/fs/cgroup/unified")));
        assert!(h
            .v1
            .iter()
            .any(|(p, _)| p == Path::new("/sys/fs/cgroup/my dir")));
    }

    #[test]
    fn pure_v2_reads_root_controllers() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(
            dir.path().join("cgroup.controllers"),
            "cpuset cpu io memory pids\n",
        )
        .expect("controllers");
        let h = Hierarchies::parse(&fake_mountinfo(&[], Some(dir.path())));
        for c in Controller::ALL {
            assert_eq!(h.locate(c), Some(Location::V2(dir.path().to_path_buf())));
        }
        fs::write(dir.path().join("cgroup.controllers"), "hugetlb\n").expect("controllers");
        assert_eq!(h.locate(Controller::Memory), None);
    }
}
