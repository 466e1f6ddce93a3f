//! Linux capabilities: names, the default set (Podman's 11), `--cap-add` /
//! `--cap-drop` arithmetic, and applying a set to the calling process just
//! before it execs the container command.

use std::fmt;
use std::str::FromStr;

use nix::errno::Errno;
use serde::{Deserialize, Serialize};

use crate::error::SpecError;

/// Capability names in kernel bit order (include/uapi/linux/capability.h).
const NAMES: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// Podman's default set: no NET_RAW (ping spoofing), no MKNOD, no
/// AUDIT_WRITE, and of course no SYS_ADMIN.
const DEFAULT_NAMES: [&str; 11] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// One capability, by kernel number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Capability(u8);

impl Capability {
    pub fn number(self) -> u8 {
        self.0
    }

    /// The name without the `CAP_` prefix, e.g. `NET_ADMIN`.
    pub fn name(self) -> &'static str {
        NAMES[usize::from(self.0)]
    }
}

impl FromStr for Capability {
    type Err = SpecError;

    fn from_str(text: &str) -> Result<Self, SpecError> {
        let upper = text.trim().to_ascii_uppercase();
        let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
        NAMES
            .iter()
            .position(|n| *n == bare)
            .and_then(|i| u8::try_from(i).ok())
            .map(Capability)
            .ok_or_else(|| SpecError::UnknownCapability(text.to_string()))
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CAP_{}", self.name())
    }
}

/// A set of capabilities as the kernel's 64-bit mask.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapSet(u64);

impl CapSet {
    pub const EMPTY: CapSet = CapSet(0);

    /// Every capability this crate knows by name.
    pub fn all() -> Self {
        Self((1u64 << NAMES.len()) - 1)
    }

    /// Podman's default 11 capabilities (mask 0x800405fb).
    pub fn default_set() -> Self {
        DEFAULT_NAMES
            .iter()
            .filter_map(|n| n.parse::<Capability>().ok())
            .collect()
    }

    pub fn from_mask(mask: u64) -> Self {
        Self(mask)
    }

    pub fn mask(self) -> u64 {
        self.0
    }

    pub fn contains(self, cap: Capability) -> bool {
        self.0 & (1 << cap.0) != 0
    }

    pub fn insert(&mut self, cap: Capability) {
        self.0 |= 1 << cap.0;
    }

    /// Parses `--cap-add`/`--cap-drop` values: names with or without `CAP_`,
    /// any case, and `ALL`.
    pub fn parse_names<I, S>(names: I) -> Result<Self, SpecError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut set = Self::EMPTY;
        for name in names {
            let name = name.as_ref();
            if name.trim().eq_ignore_ascii_case("ALL") {
                set = Self::all();
            } else {
                set.insert(name.parse()?);
            }
        }
        Ok(set)
    }

    /// Docker's rule: `--cap-add ALL` gives everything except the drops;
    /// otherwise the default set minus the drops, plus the adds (an add wins
    /// over a drop of the same capability, and `--cap-drop ALL --cap-add X`
    /// leaves only X).
    pub fn resolve(add: CapSet, drop: CapSet) -> CapSet {
        if add == Self::all() {
            return CapSet(Self::all().0 & !drop.0);
        }
        CapSet((Self::default_set().0 & !drop.0) | add.0)
    }

    /// The members of `self` that are missing from `other`.
    pub fn missing_from(self, other: CapSet) -> impl Iterator<Item = Capability> {
        (0..NAMES.len() as u8)
            .map(Capability)
            .filter(move |c| self.contains(*c) && !other.contains(*c))
    }
}

impl FromIterator<Capability> for CapSet {
    fn from_iter<T: IntoIterator<Item = Capability>>(iter: T) -> Self {
        let mut set = Self::EMPTY;
        for cap in iter {
            set.insert(cap);
        }
        set
    }
}

/// The bounding set of the calling process, from /proc/self/status.
pub fn current_bounding_set() -> std::io::Result<CapSet> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .map(CapSet)
        .ok_or_else(|| std::io::Error::other("no CapBnd line in /proc/self/status"))
}

#[repr(C)]
struct CapUserHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapUserData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// Reduces the calling process to `set` in the bounding, permitted,
/// effective and inheritable sets and clears the ambient set.
///
/// The bounding set goes first: dropping from it needs CAP_SETPCAP, which
/// the capset call below may remove. As root (uid 0) the kernel recomputes
/// permitted at exec as inheritable | bounding, so both must equal `set`.
pub fn apply(set: CapSet) -> Result<(), Errno> {
    let last = last_cap();
    for cap in 0..=last {
        if cap >= 64 || set.0 & (1 << cap) == 0 {
            // SAFETY: PR_CAPBSET_DROP takes a capability number and no pointers.
            let rc =
                unsafe { libc::prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(cap), 0, 0, 0) };
            Errno::result(rc)?;
        }
    }
    let low = (set.0 & 0xffff_ffff) as u32;
    let high = (set.0 >> 32) as u32;
    let mut header = CapUserHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [
        CapUserData {
            effective: low,
            permitted: low,
            inheritable: low,
        },
        CapUserData {
            effective: high,
            permitted: high,
            inheritable: high,
        },
    ];
    // SAFETY: header and a two-element data array are the layout capset(2)
    // version 3 expects; both outlive the call.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) };
    Errno::result(rc)?;
    // SAFETY: PR_CAP_AMBIENT_CLEAR_ALL takes no pointers.
    let rc = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    Errno::result(rc).map(drop)
}

/// The highest capability number this kernel knows; newer kernels may know
/// more than [`NAMES`], and those must be dropped from the bounding set too.
fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(NAMES.len() as u32 - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_mask_is_podmans_eleven() {
        assert_eq!(CapSet::default_set().mask(), 0x8004_05fb);
        let net_raw: Capability = "NET_RAW".parse().expect("NET_RAW");
        assert!(!CapSet::default_set().contains(net_raw));
    }

    #[test]
    fn names_parse_in_every_spelling() {
        for s in ["NET_ADMIN", "CAP_NET_ADMIN", "net_admin", "cap_net_admin"] {
            assert_eq!(s.parse::<Capability>().expect(s).number(), 12);
        }
        let err = "NET_FOO".parse::<Capability>().expect_err("unknown");
        assert!(err.to_string().contains("`NET_FOO`"), "{err}");
        assert_eq!(
            "CAP_CHECKPOINT_RESTORE"
                .parse::<Capability>()
                .expect("last")
                .number(),
            40
        );
    }

    #[test]
    fn add_and_drop_follow_docker() {
        let add = CapSet::parse_names(["NET_ADMIN"]).expect("add");
        let drop = CapSet::parse_names(["CAP_CHOWN"]).expect("drop");
        assert_eq!(
            CapSet::resolve(add, drop).mask(),
            (0x8004_05fb | 1 << 12) & !1
        );
        let all = CapSet::parse_names(["ALL"]).expect("all");
        let raw = CapSet::parse_names(["NET_RAW"]).expect("raw");
        assert_eq!(
            CapSet::resolve(all, raw).mask(),
            CapSet::all().mask() & !(1 << 13)
        );
        let bind = CapSet::parse_names(["NET_BIND_SERVICE"]).expect("bind");
        assert_eq!(CapSet::resolve(bind, all).mask(), 1 << 10);
        assert!(CapSet::parse_names(["ALL", "BOGUS"]).is_err());
    }
}
