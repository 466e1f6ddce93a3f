//! CNI spec versions: which ones this plugin speaks and what each allows.

use std::fmt;

use super::error::{code, CniError};

/// Every version this plugin accepts in `cniVersion`, oldest first.
pub const SUPPORTED: [&str; 5] = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];

/// The newest version, used where the caller named none (VERSION output,
/// errors before the configuration was read).
pub const CURRENT: &str = "1.1.0";

/// A parsed `MAJOR.MINOR.PATCH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SpecVersion(u16, u16, u16);

impl SpecVersion {
    pub const V0_4_0: SpecVersion = SpecVersion(0, 4, 0);
    pub const V1_0_0: SpecVersion = SpecVersion(1, 0, 0);
    pub const V1_1_0: SpecVersion = SpecVersion(1, 1, 0);

    fn parse(raw: &str) -> Option<SpecVersion> {
        let mut parts = raw.split('.').map(|p| p.parse::<u16>().ok());
        let version = SpecVersion(parts.next()??, parts.next()??, parts.next()??);
        parts.next().is_none().then_some(version)
    }

    /// A `cniVersion` this plugin speaks; error 1 otherwise.
    pub fn supported(raw: &str) -> Result<SpecVersion, CniError> {
        match SpecVersion::parse(raw) {
            Some(v) if SUPPORTED.contains(&raw) => Ok(v),
            _ => Err(CniError::new(
                code::INCOMPATIBLE_VERSION,
                format!(
                    "CNI version {raw:?} is not supported; cnm-cni speaks {}",
                    SUPPORTED.join(", ")
                ),
            )),
        }
    }

    /// Error 1 unless this version has `verb` (CHECK came in 0.4.0, GC and
    /// STATUS in 1.1.0), as libcni's skeleton answers.
    pub fn require(self, min: SpecVersion, verb: &str) -> Result<(), CniError> {
        if self >= min {
            Ok(())
        } else {
            Err(CniError::new(
                code::INCOMPATIBLE_VERSION,
                format!("config version {self} does not allow {verb} (it needs {min} or later)"),
            ))
        }
    }

    /// Results before 1.0.0 carry `"version": "4"|"6"` on each address.
    pub fn has_ip_version_field(self) -> bool {
        self < SpecVersion::V1_0_0
    }
}

impl fmt::Display for SpecVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supported_versions_parse_and_order() {
        let parsed: Vec<SpecVersion> = SUPPORTED
            .iter()
            .map(|v| SpecVersion::supported(v).expect("supported"))
            .collect();
        assert!(parsed.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(parsed[4].to_string(), "1.1.0");
    }

    #[test]
    fn others_are_incompatible() {
        for raw in ["0.2.0", "0.1.0", "", "1.2.0", "1.0", "1.0.0.0", "x"] {
            let err = SpecVersion::supported(raw).expect_err(raw);
            assert_eq!(err.code, code::INCOMPATIBLE_VERSION, "{raw}");
        }
    }

    #[test]
    fn verbs_need_their_version() {
        let v031 = SpecVersion::supported("0.3.1").expect("ok");
        assert!(v031.require(SpecVersion::V0_4_0, "CHECK").is_err());
        assert!(v031.has_ip_version_field());
        let v100 = SpecVersion::supported("1.0.0").expect("ok");
        assert!(v100.require(SpecVersion::V0_4_0, "CHECK").is_ok());
        assert!(v100.require(SpecVersion::V1_1_0, "GC").is_err());
        assert!(!v100.has_ip_version_field());
    }
}
