//! How the bridge driver names (and later recognises) its kernel objects.

use crate::DriverError;

/// Prefix of generated bridge names; `cnm` + 12 hex = 15 characters.
const BRIDGE_PREFIX: &str = "cnm";
const BRIDGE_ID_DIGITS: usize = 12;
/// Prefix of host-side veth names; `cnmv` + 11 hex = 15 characters. 'v' is
/// not a hex digit, so the two patterns can never match the same name.
const VETH_PREFIX: &str = "cnmv";
const VETH_ID_DIGITS: usize = 11;

/// Ifalias the driver puts on bridges it creates: `cnm:` + network id. It
/// survives a daemon restart in the kernel and tells our bridges (safe to
/// delete) from ones the user made and we only adopted.
pub(super) fn bridge_alias(network_id: &str) -> String {
    format!("cnm:{network_id}")
}

/// The default bridge name of a network.
pub fn bridge_name_for(network_id: &str) -> Result<String, DriverError> {
    Ok(format!(
        "{BRIDGE_PREFIX}{}",
        hex_prefix("network", network_id, BRIDGE_ID_DIGITS)?
    ))
}

/// The host-side veth name of an endpoint.
pub fn veth_name_for(endpoint_id: &str) -> Result<String, DriverError> {
    Ok(format!(
        "{VETH_PREFIX}{}",
        hex_prefix("endpoint", endpoint_id, VETH_ID_DIGITS)?
    ))
}

/// A name `bridge_name_for` could have produced.
pub(super) fn is_generated_bridge_name(name: &str) -> bool {
    name.strip_prefix(BRIDGE_PREFIX)
        .is_some_and(|rest| rest.len() == BRIDGE_ID_DIGITS && is_lower_hex(rest))
}

/// A name `veth_name_for` could have produced.
pub(super) fn is_generated_veth_name(name: &str) -> bool {
    name.strip_prefix(VETH_PREFIX)
        .is_some_and(|rest| rest.len() == VETH_ID_DIGITS && is_lower_hex(rest))
}

/// A locally administered unicast MAC derived from the network id. The
/// bridge gets it explicitly at creation: a bridge without a set address
/// takes the lowest MAC of its ports, so the gateway's MAC would change
/// whenever a container joins or leaves and stale ARP entries would cut
/// containers off. Derived, not random, so a recreated bridge keeps it.
pub(super) fn bridge_mac(network_id: &str) -> [u8; 6] {
    let mut mac = [0x02, 0, 0, 0, 0, 0];
    let digits = network_id.as_bytes();
    for (i, byte) in mac.iter_mut().enumerate().skip(1) {
        let pair = digits.get(2 * (i - 1)..2 * i).unwrap_or(b"00");
        *byte = std::str::from_utf8(pair)
            .ok()
            .and_then(|s| u8::from_str_radix(s, 16).ok())
            .unwrap_or(0);
    }
    mac
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The first `digits` characters of `id`, which must be lowercase hex.
/// Shared with the other drivers that name links after ids.
pub(crate) fn hex_prefix<'a>(
    what: &str,
    id: &'a str,
    digits: usize,
) -> Result<&'a str, DriverError> {
    match id.get(..digits) {
        Some(prefix) if is_lower_hex(prefix) => Ok(prefix),
        _ => Err(DriverError::InvalidSpec {
            object: format!("{what} id `{id}`"),
            reason: format!("must start with {digits} lowercase hex digits"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn names_fit_ifnamsiz_and_are_recognised() {
        let bridge = bridge_name_for(ID).ok().unwrap_or_default();
        let veth = veth_name_for(ID).ok().unwrap_or_default();
        assert_eq!(bridge, "cnm0123456789ab");
        assert_eq!(veth, "cnmv0123456789a");
        assert!(is_generated_bridge_name(&bridge) && !is_generated_veth_name(&bridge));
        assert!(is_generated_veth_name(&veth) && !is_generated_bridge_name(&veth));
        for foreign in [
            "cnm0",
            "docker0",
            "cnmv0123456789A",
            "cnm0123456789abc",
            "xcnm01234567",
        ] {
            assert!(!is_generated_bridge_name(foreign) && !is_generated_veth_name(foreign));
        }
    }

    #[test]
    fn ids_must_be_hex() {
        let err = bridge_name_for("web")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("network id `web`") && err.contains("12 lowercase hex"),
            "{err}"
        );
        assert!(veth_name_for("0123456789AB").is_err());
        assert!(veth_name_for("0123456789a").is_ok());
    }

    #[test]
    fn bridge_mac_is_local_unicast_and_stable() {
        let mac = bridge_mac(ID);
        assert_eq!(mac, [0x02, 0x01, 0x23, 0x45, 0x67, 0x89]);
        assert_eq!(mac[0] & 0x01, 0, "unicast");
        assert_eq!(mac[0] & 0x02, 0x02, "locally administered");
    }
}
