//! The ipvlan driver's `-o key=value` options (Docker's keys), parsed once
//! into a typed value. Unknown keys and bad values are refused.

use std::collections::BTreeMap;

use crate::options::{invalid_value, unknown_option};
use crate::parent::PARENT_OPTION;
use crate::sys::{IpvlanFlag, IpvlanMode};
use crate::DriverError;

use super::IpvlanDriver;

const DRIVER: &str = IpvlanDriver::NAME;

/// Option keys, as Docker names them.
pub mod keys {
    pub const PARENT: &str = crate::parent::PARENT_OPTION;
    pub const MODE: &str = "ipvlan_mode";
    pub const FLAG: &str = "ipvlan_flag";

    /// Every accepted key, for error messages.
    pub const ALL: [&str; 3] = [PARENT, MODE, FLAG];
}

/// Validated ipvlan network options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpvlanOptions {
    /// The parent interface; None = an internal one (see `parent`).
    pub parent: Option<String>,
    pub mode: IpvlanMode,
    pub flag: IpvlanFlag,
}

impl Default for IpvlanOptions {
    fn default() -> Self {
        IpvlanOptions {
            parent: None,
            mode: IpvlanMode::L2,
            flag: IpvlanFlag::Bridge,
        }
    }
}

impl IpvlanOptions {
    /// Parses the raw options of a network.
    pub fn parse(options: &BTreeMap<String, String>) -> Result<IpvlanOptions, DriverError> {
        let mut parsed = IpvlanOptions::default();
        for (key, value) in options {
            match key.as_str() {
                // `parent=` (empty) means no parent, as in Docker.
                PARENT_OPTION => parsed.parent = Some(value.clone()).filter(|v| !v.is_empty()),
                keys::MODE => parsed.mode = parse_mode(value)?,
                keys::FLAG => parsed.flag = parse_flag(value)?,
                _ => return Err(unknown_option(DRIVER, key, &keys::ALL)),
            }
        }
        Ok(parsed)
    }
}

/// The mode as `-o ipvlan_mode=` spells it.
pub(super) fn mode_name(mode: IpvlanMode) -> &'static str {
    match mode {
        IpvlanMode::L2 => "l2",
        IpvlanMode::L3 => "l3",
        IpvlanMode::L3s => "l3s",
    }
}

fn parse_mode(value: &str) -> Result<IpvlanMode, DriverError> {
    match value {
        "" | "l2" => Ok(IpvlanMode::L2),
        "l3" => Ok(IpvlanMode::L3),
        "l3s" => Ok(IpvlanMode::L3s),
        _ => Err(invalid_value(
            DRIVER,
            keys::MODE,
            value,
            "l2 (the default), l3 or l3s",
        )),
    }
}

fn parse_flag(value: &str) -> Result<IpvlanFlag, DriverError> {
    match value {
        "" | "bridge" => Ok(IpvlanFlag::Bridge),
        "private" => Ok(IpvlanFlag::Private),
        "vepa" => Ok(IpvlanFlag::Vepa),
        _ => Err(invalid_value(
            DRIVER,
            keys::FLAG,
            value,
            "bridge (the default), private or vepa",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::option_map;

    fn parse(pairs: &[(&str, &str)]) -> Result<IpvlanOptions, String> {
        IpvlanOptions::parse(&option_map(pairs)).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_every_key() {
        assert_eq!(parse(&[]), Ok(IpvlanOptions::default()));
        let opts = parse(&[
            ("parent", "eth1"),
            ("ipvlan_mode", "l3s"),
            ("ipvlan_flag", "private"),
        ]);
        let expected = IpvlanOptions {
            parent: Some("eth1".into()),
            mode: IpvlanMode::L3s,
            flag: IpvlanFlag::Private,
        };
        assert_eq!(opts, Ok(expected));
        assert_eq!(parse(&[("parent", "")]).map(|o| o.parent), Ok(None));
        assert_eq!(mode_name(IpvlanMode::L3), "l3");
    }

    #[test]
    fn bad_values_are_refused_with_the_choices() {
        let msg = parse(&[("ipvlan_mode", "l4")]).unwrap_err();
        assert!(msg.contains("`l4`") && msg.contains("l3s"), "{msg}");
        let msg = parse(&[("ipvlan_flag", "open")]).unwrap_err();
        assert!(
            msg.contains("`ipvlan_flag`") && msg.contains("vepa"),
            "{msg}"
        );
        let msg = parse(&[("macvlan_mode", "bridge")]).unwrap_err();
        assert!(msg.contains("unknown option `macvlan_mode`"), "{msg}");
    }
}
