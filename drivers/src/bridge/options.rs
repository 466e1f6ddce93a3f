//! The bridge driver's `-o key=value` options, parsed once into a typed
//! value. Unknown keys and malformed values are refused with the key, the
//! value and what would be accepted.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::options::{invalid_value, parse_bool, parse_ifname, unknown_option};
use crate::DriverError;

const DRIVER: &str = super::BridgeDriver::NAME;

/// Option keys, as Docker names them.
pub mod keys {
    pub const BRIDGE_NAME: &str = "com.docker.network.bridge.name";
    pub const MTU: &str = "com.docker.network.driver.mtu";
    pub const ENABLE_IP_MASQUERADE: &str = "com.docker.network.bridge.enable_ip_masquerade";
    pub const ENABLE_ICC: &str = "com.docker.network.bridge.enable_icc";
    pub const HOST_BINDING_IPV4: &str = "com.docker.network.bridge.host_binding_ipv4";
    pub const DEFAULT_BRIDGE: &str = "com.docker.network.bridge.default_bridge";

    /// Every accepted key, for error messages.
    pub const ALL: [&str; 6] = [
        BRIDGE_NAME,
        MTU,
        ENABLE_IP_MASQUERADE,
        ENABLE_ICC,
        HOST_BINDING_IPV4,
        DEFAULT_BRIDGE,
    ];
}

/// Smallest MTU the kernel accepts for IPv4 (RFC 791).
pub const MIN_MTU: u32 = 68;
/// Largest MTU of an Ethernet-like device.
pub const MAX_MTU: u32 = 65535;

/// Validated bridge network options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeOptions {
    /// Bridge interface name; None = derived from the network id.
    pub bridge_name: Option<String>,
    /// MTU of the bridge and of every veth on it.
    pub mtu: Option<u32>,
    /// Masquerade traffic leaving the host (default true).
    pub enable_ip_masquerade: bool,
    /// Let containers of this network talk to each other (default true).
    pub enable_icc: bool,
    /// Default host address for published ports.
    pub host_binding_ipv4: Option<IpAddr>,
    /// This is the default `bridge` network (default false).
    pub default_bridge: bool,
}

impl Default for BridgeOptions {
    fn default() -> Self {
        BridgeOptions {
            bridge_name: None,
            mtu: None,
            enable_ip_masquerade: true,
            enable_icc: true,
            host_binding_ipv4: None,
            default_bridge: false,
        }
    }
}

impl BridgeOptions {
    /// Parses the raw options of a network.
    pub fn parse(options: &BTreeMap<String, String>) -> Result<BridgeOptions, DriverError> {
        let mut parsed = BridgeOptions::default();
        for (key, value) in options {
            match key.as_str() {
                keys::BRIDGE_NAME => parsed.bridge_name = Some(parse_ifname(DRIVER, key, value)?),
                keys::MTU => parsed.mtu = Some(parse_mtu(key, value)?),
                keys::ENABLE_IP_MASQUERADE => {
                    parsed.enable_ip_masquerade = parse_bool(DRIVER, key, value)?
                }
                keys::ENABLE_ICC => parsed.enable_icc = parse_bool(DRIVER, key, value)?,
                keys::HOST_BINDING_IPV4 => parsed.host_binding_ipv4 = Some(parse_ip(key, value)?),
                keys::DEFAULT_BRIDGE => parsed.default_bridge = parse_bool(DRIVER, key, value)?,
                _ => return Err(unknown_option(DRIVER, key, &keys::ALL)),
            }
        }
        Ok(parsed)
    }
}

fn parse_mtu(key: &str, value: &str) -> Result<u32, DriverError> {
    match value.trim().parse::<u32>() {
        Ok(mtu) if (MIN_MTU..=MAX_MTU).contains(&mtu) => Ok(mtu),
        _ => Err(invalid_value(
            DRIVER,
            key,
            value,
            &format!("an MTU between {MIN_MTU} and {MAX_MTU}"),
        )),
    }
}

fn parse_ip(key: &str, value: &str) -> Result<IpAddr, DriverError> {
    value
        .parse()
        .map_err(|_| invalid_value(DRIVER, key, value, "an IP address such as 127.0.0.1"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::option_map;

    fn parse(pairs: &[(&str, &str)]) -> Result<BridgeOptions, DriverError> {
        BridgeOptions::parse(&option_map(pairs))
    }

    fn message(result: Result<BridgeOptions, DriverError>) -> String {
        result.err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn defaults_without_options() {
        assert_eq!(parse(&[]).ok(), Some(BridgeOptions::default()));
    }

    #[test]
    fn parses_every_key() {
        let opts = parse(&[
            (keys::BRIDGE_NAME, "br-web"),
            (keys::MTU, "1400"),
            (keys::ENABLE_IP_MASQUERADE, "false"),
            (keys::ENABLE_ICC, "0"),
            (keys::HOST_BINDING_IPV4, "127.0.0.1"),
            (keys::DEFAULT_BRIDGE, "True"),
        ]);
        let expected = BridgeOptions {
            bridge_name: Some("br-web".into()),
            mtu: Some(1400),
            enable_ip_masquerade: false,
            enable_icc: false,
            host_binding_ipv4: "127.0.0.1".parse().ok(),
            default_bridge: true,
        };
        assert_eq!(opts.ok(), Some(expected));
    }

    #[test]
    fn unknown_key_is_named_with_the_accepted_ones() {
        let msg = message(parse(&[(
            "com.docker.network.bridge.enable_icc_typo",
            "true",
        )]));
        assert!(msg.contains("unknown option `com.docker.network.bridge.enable_icc_typo`"));
        for key in keys::ALL {
            assert!(msg.contains(key), "{msg}");
        }
    }

    #[test]
    fn bad_mtu_names_key_and_value() {
        for bad in ["67", "65536", "abc", "-1", ""] {
            let msg = message(parse(&[(keys::MTU, bad)]));
            assert!(
                msg.contains(keys::MTU) && msg.contains(&format!("`{bad}`")),
                "{msg}"
            );
            assert!(msg.contains("between 68 and 65535"), "{msg}");
        }
        assert_eq!(
            parse(&[(keys::MTU, "68")]).ok().and_then(|o| o.mtu),
            Some(68)
        );
    }

    #[test]
    fn bad_bridge_names_are_refused() {
        for bad in [
            "",
            "a-name-of-16-chr",
            "br/0",
            "br 0",
            "br:0",
            ".",
            "..",
            "br\t0",
        ] {
            let msg = message(parse(&[(keys::BRIDGE_NAME, bad)]));
            assert!(msg.contains(keys::BRIDGE_NAME), "{bad:?}: {msg}");
        }
        assert!(parse(&[(keys::BRIDGE_NAME, "a-name-of-15-ch")]).is_ok());
    }

    #[test]
    fn bad_bool_and_ip_are_refused() {
        let msg = message(parse(&[(keys::ENABLE_ICC, "yes")]));
        assert!(
            msg.contains("`yes`") && msg.contains("true or false"),
            "{msg}"
        );
        let msg = message(parse(&[(keys::HOST_BINDING_IPV4, "1.2.3")]));
        assert!(msg.contains("`1.2.3`"), "{msg}");
    }
}
