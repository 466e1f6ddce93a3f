//! Address arithmetic for IPAM. Addresses are handled as `u128` and CIDR blocks as inclusive
//! `u128` ranges, so IPv4 and IPv6 share one code path; plus the text form networks are stored in.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnetwork::IpNetwork;

use super::Family;

pub(super) fn to_u128(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(addr) => u128::from(u32::from(addr)),
        IpAddr::V6(addr) => u128::from(addr),
    }
}

pub(super) fn from_u128(family: Family, value: u128) -> IpAddr {
    match family {
        // Callers only pass values taken from inside an IPv4 block, so no bits are dropped.
        Family::V4 => IpAddr::V4(Ipv4Addr::from(value as u32)),
        Family::V6 => IpAddr::V6(Ipv6Addr::from(value)),
    }
}

/// Mask of the host part of a network of `family` with a `prefix`-bit prefix.
pub(super) fn host_mask(family: Family, prefix: u8) -> u128 {
    let host_bits = u32::from(family.bits().saturating_sub(prefix));
    // A /0 IPv6 network has 128 host bits, one more than a u128 shift allows.
    1u128
        .checked_shl(host_bits)
        .map_or(u128::MAX, |size| size - 1)
}

/// First and last address of `net`, inclusive.
pub(super) fn bounds(net: IpNetwork) -> (u128, u128) {
    let first = to_u128(net.network());
    (
        first,
        first | host_mask(Family::of_network(net), net.prefix()),
    )
}

pub(super) fn overlaps(a: IpNetwork, b: IpNetwork) -> bool {
    if Family::of_network(a) != Family::of_network(b) {
        return false;
    }
    let ((a_first, a_last), (b_first, b_last)) = (bounds(a), bounds(b));
    a_first <= b_last && b_first <= a_last
}

pub(super) fn is_within(inner: IpNetwork, outer: IpNetwork) -> bool {
    overlaps(inner, outer) && inner.prefix() >= outer.prefix()
}

pub(super) fn is_network_address(net: IpNetwork) -> bool {
    net.ip() == net.network()
}

/// `addr` with a prefix length taken from a network of the same family.
pub(super) fn with_prefix(addr: IpAddr, prefix: u8) -> IpNetwork {
    // Cannot fail: every caller takes `prefix` from a valid network of `addr`'s family. Falling
    // back to a host prefix keeps this path free of panics all the same.
    IpNetwork::new(addr, prefix).unwrap_or(IpNetwork::from(addr))
}

/// `net` with its host bits cleared: what the user most likely meant.
pub(super) fn network_of(net: IpNetwork) -> IpNetwork {
    with_prefix(net.network(), net.prefix())
}

/// Comma-separated list for error messages.
pub(super) fn list(nets: impl IntoIterator<Item = IpNetwork>) -> String {
    nets.into_iter()
        .map(|net| net.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `#[serde(with)]` for `IpNetwork` as "172.18.0.0/16". The daemon's ipnetwork has no serde
/// feature; this is the same text form that feature would write, so records stay readable if it
/// is ever turned on.
pub(super) mod text {
    use ipnetwork::IpNetwork;
    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(net: &IpNetwork, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(net)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<IpNetwork, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(D::Error::custom)
    }
}

/// `#[serde(with)]` for `Option<IpNetwork>`, as [`text`] or null.
pub(super) mod text_opt {
    use ipnetwork::IpNetwork;
    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        net: &Option<IpNetwork>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match net {
            Some(net) => serializer.collect_str(net),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<IpNetwork>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|text| text.parse().map_err(D::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{ip, net};
    use super::*;

    #[test]
    fn bounds_cover_the_whole_block() {
        assert_eq!(
            bounds(net("172.18.0.0/16")),
            (0xac12_0000, 0xac12_ffff),
            "IPv4 /16"
        );
        assert_eq!(bounds(net("0.0.0.0/0")), (0, 0xffff_ffff));
        assert_eq!(
            bounds(net("::/0")),
            (0, u128::MAX),
            "no overflow at 128 host bits"
        );
        let (first, last) = bounds(net("fd42::/64"));
        assert_eq!(last - first, u128::from(u64::MAX));
        assert_eq!(from_u128(Family::V6, first), ip("fd42::"));
    }

    #[test]
    fn overlap_and_containment_respect_families() {
        assert!(overlaps(net("10.0.0.0/8"), net("10.1.0.0/16")));
        assert!(!overlaps(net("10.0.0.0/16"), net("10.1.0.0/16")));
        // ::a00:0/104 is numerically the same range as 10.0.0.0/8.
        assert!(!overlaps(net("10.0.0.0/8"), net("::a00:0/104")));
        assert!(is_within(net("10.1.0.0/16"), net("10.0.0.0/8")));
        assert!(!is_within(net("10.0.0.0/8"), net("10.1.0.0/16")));
    }

    #[test]
    fn network_of_clears_host_bits() {
        assert!(!is_network_address(net("172.18.0.5/16")));
        assert_eq!(network_of(net("172.18.0.5/16")), net("172.18.0.0/16"));
        assert_eq!(with_prefix(ip("fd00::7"), 64).to_string(), "fd00::7/64");
    }
}
