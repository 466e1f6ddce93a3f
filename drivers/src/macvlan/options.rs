//! The macvlan driver's `-o key=value` options, parsed once into a typed
//! value. Unknown keys and bad values are refused with what is accepted.

use std::collections::BTreeMap;

use crate::options::{invalid_value, parse_bool, unknown_option};
use crate::parent::PARENT_OPTION;
use crate::sys::MacvlanMode;
use crate::DriverError;

use super::MacvlanDriver;

const DRIVER: &str = MacvlanDriver::NAME;

/// Option keys: Docker's, plus cnm's host shim.
pub mod keys {
    pub const PARENT: &str = crate::parent::PARENT_OPTION;
    pub const MODE: &str = "macvlan_mode";
    /// Give the host a way to its own containers (see `shim`).
    pub const HOST_SHIM: &str = "cnm.macvlan.host_shim";

    /// Every accepted key, for error messages.
    pub const ALL: [&str; 3] = [PARENT, MODE, HOST_SHIM];
}

/// Validated macvlan network options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacvlanOptions {
    /// The parent interface; None = an internal one (see `parent`).
    pub parent: Option<String>,
    pub mode: MacvlanMode,
    pub host_shim: bool,
}

impl Default for MacvlanOptions {
    fn default() -> Self {
        MacvlanOptions {
            parent: None,
            mode: MacvlanMode::Bridge,
            host_shim: false,
        }
    }
}

impl MacvlanOptions {
    /// Parses and cross-checks the raw options of a network.
    pub fn parse(options: &BTreeMap<String, String>) -> Result<MacvlanOptions, DriverError> {
        let mut parsed = MacvlanOptions::default();
        for (key, value) in options {
            match key.as_str() {
                // `parent=` (empty) means no parent, as in Docker.
                PARENT_OPTION => parsed.parent = Some(value.clone()).filter(|v| !v.is_empty()),
                keys::MODE => parsed.mode = parse_mode(value)?,
                keys::HOST_SHIM => parsed.host_shim = parse_bool(DRIVER, key, value)?,
                _ => return Err(unknown_option(DRIVER, key, &keys::ALL)),
            }
        }
        if parsed.host_shim && parsed.mode != MacvlanMode::Bridge {
            return Err(DriverError::InvalidOption {
                driver: DRIVER,
                message: format!(
                    "option `{}` needs {}=bridge: the shim is a bridge-mode macvlan on the \
                     parent, and {} sub-interfaces never exchange frames with it",
                    keys::HOST_SHIM,
                    keys::MODE,
                    mode_name(parsed.mode)
                ),
            });
        }
        Ok(parsed)
    }
}

/// The mode as `-o macvlan_mode=` spells it.
pub(super) fn mode_name(mode: MacvlanMode) -> &'static str {
    match mode {
        MacvlanMode::Bridge => "bridge",
        MacvlanMode::Private => "private",
        MacvlanMode::Vepa => "vepa",
        MacvlanMode::Passthru => "passthru",
    }
}

fn parse_mode(value: &str) -> Result<MacvlanMode, DriverError> {
    match value {
        "" | "bridge" => Ok(MacvlanMode::Bridge),
        "private" => Ok(MacvlanMode::Private),
        "vepa" => Ok(MacvlanMode::Vepa),
        "passthru" => Ok(MacvlanMode::Passthru),
        _ => Err(invalid_value(
            DRIVER,
            keys::MODE,
            value,
            "bridge (the default), private, vepa or passthru",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::option_map;

    fn parse(pairs: &[(&str, &str)]) -> Result<MacvlanOptions, String> {
        MacvlanOptions::parse(&option_map(pairs)).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_every_key() {
        assert_eq!(parse(&[]), Ok(MacvlanOptions::default()));
        let opts = parse(&[
            ("parent", "eth0.10"),
            ("macvlan_mode", "bridge"),
            ("cnm.macvlan.host_shim", "true"),
        ]);
        let expected = MacvlanOptions {
            parent: Some("eth0.10".into()),
            mode: MacvlanMode::Bridge,
            host_shim: true,
        };
        assert_eq!(opts, Ok(expected));
        for (text, mode) in [
            ("private", MacvlanMode::Private),
            ("vepa", MacvlanMode::Vepa),
            ("passthru", MacvlanMode::Passthru),
        ] {
            assert_eq!(parse(&[("macvlan_mode", text)]).map(|o| o.mode), Ok(mode));
            assert_eq!(mode_name(mode), text);
        }
    }

    #[test]
    fn bad_values_name_key_value_and_choices() {
        let msg = parse(&[("macvlan_mode", "bridged")]).unwrap_err();
        assert!(
            msg.contains("`macvlan_mode`") && msg.contains("`bridged`") && msg.contains("vepa"),
            "{msg}"
        );
        let msg = parse(&[("mode", "bridge")]).unwrap_err();
        assert!(msg.contains("unknown option `mode`"), "{msg}");
        for key in keys::ALL {
            assert!(msg.contains(key), "{msg}");
        }
        let msg = parse(&[("cnm.macvlan.host_shim", "yes")]).unwrap_err();
        assert!(msg.contains("true or false"), "{msg}");
    }

    #[test]
    fn host_shim_needs_bridge_mode() {
        let msg =
            parse(&[("cnm.macvlan.host_shim", "1"), ("macvlan_mode", "private")]).unwrap_err();
        assert!(
            msg.contains("macvlan_mode=bridge") && msg.contains("private"),
            "{msg}"
        );
    }
}
