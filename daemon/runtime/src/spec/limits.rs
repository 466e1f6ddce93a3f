//! Resource limits of a container (`--memory`, `--cpus`, `--pids-limit`),
//! parsed from Docker's textual forms into typed values.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::SpecError;

/// Docker refuses memory limits below 6 MiB: the container's own page tables
/// and the runtime's setup would be OOM-killed before the command starts.
pub const MIN_MEMORY_BYTES: u64 = 6 * 1024 * 1024;

/// The CFS period the runtime uses; `--cpus` becomes a quota per period.
pub const CPU_PERIOD_US: u64 = 100_000;

/// Resource limits; `None` means unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub memory: Option<MemoryBytes>,
    pub cpus: Option<Cpus>,
    pub pids: Option<PidsLimit>,
}

/// A memory limit in bytes: `"64m"`, `"1g"`, `"512k"`, `"1048576"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MemoryBytes(u64);

impl MemoryBytes {
    pub fn bytes(self) -> u64 {
        self.0
    }

    /// A limit of exactly `bytes`, checked against the minimum.
    pub fn new(bytes: u64) -> Result<Self, SpecError> {
        if bytes < MIN_MEMORY_BYTES {
            return Err(SpecError::BadMemory {
                value: bytes.to_string(),
                reason: "below the 6 MiB minimum".into(),
            });
        }
        Ok(Self(bytes))
    }
}

impl FromStr for MemoryBytes {
    type Err = SpecError;

    fn from_str(text: &str) -> Result<Self, SpecError> {
        let bad = |reason: &str| SpecError::BadMemory {
            value: text.to_string(),
            reason: reason.to_string(),
        };
        let lower = text.trim().to_ascii_lowercase();
        let digits_end = lower
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(lower.len());
        let (number, unit) = lower.split_at(digits_end);
        if number.is_empty() {
            return Err(bad("expected a number with an optional unit b, k, m or g"));
        }
        let shift = match unit.trim() {
            "" | "b" => 0,
            "k" | "kb" | "kib" => 10,
            "m" | "mb" | "mib" => 20,
            "g" | "gb" | "gib" => 30,
            "t" | "tb" | "tib" => 40,
            _ => return Err(bad("unknown unit (use b, k, m or g)")),
        };
        let value: u64 = number.parse().map_err(|_| bad("number too large"))?;
        let bytes = value
            .checked_mul(1u64 << shift)
            .ok_or_else(|| bad("number too large"))?;
        if bytes < MIN_MEMORY_BYTES {
            return Err(bad("below the 6 MiB minimum"));
        }
        Ok(Self(bytes))
    }
}

impl fmt::Display for MemoryBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A CPU limit in billionths of a CPU, like Docker's `NanoCpus`: `"0.5"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cpus(u64);

impl Cpus {
    pub fn nano_cpus(self) -> u64 {
        self.0
    }

    /// The CFS quota in microseconds per [`CPU_PERIOD_US`].
    pub fn quota_us(self) -> u64 {
        // 1000 µs is the kernel's smallest accepted quota.
        (self.0 * CPU_PERIOD_US / 1_000_000_000).max(1000)
    }
}

impl FromStr for Cpus {
    type Err = SpecError;

    fn from_str(text: &str) -> Result<Self, SpecError> {
        let bad = |reason: String| SpecError::BadCpus {
            value: text.to_string(),
            reason,
        };
        let trimmed = text.trim();
        let (whole, frac) = trimmed.split_once('.').unwrap_or((trimmed, ""));
        let all_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        if (whole.is_empty() && frac.is_empty()) || !all_digits(whole) || !all_digits(frac) {
            return Err(bad(
                "expected a decimal number of CPUs such as 0.5 or 2".into()
            ));
        }
        if frac.len() > 9 {
            return Err(bad("more than 9 decimal places".into()));
        }
        let whole: u64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| bad("number too large".into()))?
        };
        let frac_nanos: u64 = format!("{frac:0<9}")
            .parse()
            .map_err(|_| bad("bad fraction".into()))?;
        let nanos = whole
            .checked_mul(1_000_000_000)
            .and_then(|n| n.checked_add(frac_nanos))
            .ok_or_else(|| bad("number too large".into()))?;
        if nanos < 10_000_000 {
            return Err(bad("must be at least 0.01".into()));
        }
        let online = online_cpus();
        if nanos > online * 1_000_000_000 {
            return Err(bad(format!("this host has only {online} CPUs")));
        }
        Ok(Self(nanos))
    }
}

fn online_cpus() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    u64::try_from(n).unwrap_or(1).max(1)
}

/// The most processes and threads the container may have at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PidsLimit(u32);

impl PidsLimit {
    pub fn get(self) -> u32 {
        self.0
    }
}

impl FromStr for PidsLimit {
    type Err = SpecError;

    fn from_str(text: &str) -> Result<Self, SpecError> {
        match text.trim().parse::<u32>() {
            Ok(n) if n > 0 => Ok(Self(n)),
            _ => Err(SpecError::BadPids {
                value: text.to_string(),
                reason: "expected a positive whole number".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units() {
        let parse = |s: &str| s.parse::<MemoryBytes>().map(MemoryBytes::bytes);
        assert_eq!(parse("64m").ok(), Some(64 << 20));
        assert_eq!(parse("64M").ok(), Some(64 << 20));
        assert_eq!(parse("1g").ok(), Some(1 << 30));
        assert_eq!(parse("8192k").ok(), Some(8 << 20));
        assert_eq!(parse("10485760").ok(), Some(10 << 20));
        assert_eq!(parse("32mb").ok(), Some(32 << 20));
    }

    #[test]
    fn memory_errors_name_the_value() {
        for bad in ["", "m", "12x", "-5m", "512k", "99999999999999999999g"] {
            let err = bad.parse::<MemoryBytes>().expect_err(bad).to_string();
            assert!(err.contains(&format!("`{bad}`")), "{err}");
        }
        let err = "512k".parse::<MemoryBytes>().expect_err("too small");
        assert!(err.to_string().contains("6 MiB minimum"), "{err}");
    }

    #[test]
    fn cpus_are_exact_decimals() {
        let half: Cpus = "0.5".parse().expect("0.5");
        assert_eq!(half.nano_cpus(), 500_000_000);
        assert_eq!(half.quota_us(), 50_000);
        let one: Cpus = "1".parse().expect("1");
        assert_eq!(one.quota_us(), 100_000);
        let small: Cpus = ".01".parse().expect(".01");
        assert_eq!(small.quota_us(), 1000);
    }

    #[test]
    fn cpus_errors() {
        for bad in ["", "abc", "0", "0.001", "1.2.3", "-1", "100000"] {
            let err = bad.parse::<Cpus>().expect_err(bad).to_string();
            assert!(err.contains(&format!("cpus value `{bad}`")), "{err}");
        }
    }

    #[test]
    fn pids() {
        assert_eq!(
            "100".parse::<PidsLimit>().map(PidsLimit::get).ok(),
            Some(100)
        );
        assert!("0".parse::<PidsLimit>().is_err());
        assert!("-1".parse::<PidsLimit>().is_err());
    }
}
