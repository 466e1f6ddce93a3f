//! Default address pools (`--default-address-pool base=CIDR,size=N`, as in dockerd) and the
//! choice of a free subnet from them for networks created without `--subnet`.

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnetwork::{IpNetwork, Ipv4Network, Ipv6Network};

use super::{cidr, Family, IpamError};

/// Pools in order of preference: each is a base network cut into blocks of prefix `size`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultPools {
    v4: Vec<(IpNetwork, u8)>,
    v6: Vec<(IpNetwork, u8)>,
}

impl Default for DefaultPools {
    fn default() -> Self {
        Self::docker_defaults()
    }
}

impl DefaultPools {
    /// Docker's IPv4 defaults: 172.17.0.0/16 … 172.31.0.0/16 (each /16), then 192.168.0.0/16
    /// cut into /20s; IPv6: fd42:636e:6d00::/48 cut into /64s.
    pub fn docker_defaults() -> Self {
        // `new_checked` fails only for prefixes over 32 or 128; the constants below are valid.
        let mut v4: Vec<(IpNetwork, u8)> = (17..=31)
            .filter_map(|octet| Ipv4Network::new_checked(Ipv4Addr::new(172, octet, 0, 0), 16))
            .map(|base| (IpNetwork::V4(base), 16))
            .collect();
        v4.extend(
            Ipv4Network::new_checked(Ipv4Addr::new(192, 168, 0, 0), 16)
                .map(|base| (IpNetwork::V4(base), 20)),
        );
        Self {
            v4,
            v6: default_v6().into_iter().collect(),
        }
    }

    /// Parses one "base=172.30.0.0/16,size=24" spec.
    pub fn parse_spec(spec: &str) -> Result<(IpNetwork, u8), IpamError> {
        let invalid = |reason: String| IpamError::InvalidPoolSpec {
            spec: spec.to_owned(),
            reason,
        };
        let mut base = None;
        let mut size = None;
        for part in spec.split(',') {
            let Some((key, value)) = part.split_once('=') else {
                return Err(invalid(format!("`{part}` is not key=value")));
            };
            let (key, value) = (key.trim(), value.trim());
            match key {
                "base" if base.is_none() => base = Some(parse_base(value).map_err(invalid)?),
                "size" if size.is_none() => {
                    let parsed = value.parse::<u8>();
                    size =
                        Some(parsed.map_err(|_| {
                            invalid(format!("size `{value}` is not a prefix length"))
                        })?);
                }
                "base" | "size" => return Err(invalid(format!("`{key}` is given twice"))),
                other => return Err(invalid(format!("unknown key `{other}`"))),
            }
        }
        let base = base.ok_or_else(|| invalid("base is missing".to_owned()))?;
        let size = size.ok_or_else(|| invalid("size is missing".to_owned()))?;
        check_pool(base, size).map_err(invalid)?;
        Ok((base, size))
    }

    /// Pools from parsed specs, in the order given. IPv4 and IPv6 specs may be mixed; a family
    /// without any spec keeps its default, so `--default-address-pool` for IPv4 alone does not
    /// take IPv6 away.
    pub fn from_specs(specs: &[(IpNetwork, u8)]) -> Result<Self, IpamError> {
        for (i, &(base, size)) in specs.iter().enumerate() {
            check_pool(base, size).map_err(|reason| IpamError::InvalidPoolSpec {
                spec: format!("base={base},size={size}"),
                reason,
            })?;
            // Overlapping pools would offer one subnet twice and make the preference order lie.
            if let Some(&(other, _)) = specs[..i]
                .iter()
                .find(|(other, _)| cidr::overlaps(*other, base))
            {
                return Err(IpamError::PoolsOverlap {
                    pool: base,
                    other_pool: other,
                });
            }
        }
        let defaults = Self::docker_defaults();
        let of = |family| -> Vec<(IpNetwork, u8)> {
            specs
                .iter()
                .copied()
                .filter(|(base, _)| Family::of_network(*base) == family)
                .collect()
        };
        let (v4, v6) = (of(Family::V4), of(Family::V6));
        Ok(Self {
            v4: if v4.is_empty() { defaults.v4 } else { v4 },
            v6: if v6.is_empty() { defaults.v6 } else { v6 },
        })
    }

    /// The first block, in pool order, that overlaps none of `taken` (subnets of existing
    /// networks, host routes, subnets planned alongside).
    pub(super) fn choose(&self, family: Family, taken: &[IpNetwork]) -> Option<IpNetwork> {
        let pools = match family {
            Family::V4 => &self.v4,
            Family::V6 => &self.v6,
        };
        let taken: Vec<(u128, u128)> = taken
            .iter()
            .filter(|net| Family::of_network(**net) == family)
            .map(|net| cidr::bounds(*net))
            .collect();
        pools
            .iter()
            .find_map(|&(base, size)| first_free_block(base, size, &taken))
    }
}

fn default_v6() -> Option<(IpNetwork, u8)> {
    let base = Ipv6Network::new_checked(Ipv6Addr::new(0xfd42, 0x636e, 0x6d00, 0, 0, 0, 0, 0), 48)?;
    Some((IpNetwork::V6(base), 64))
}

fn parse_base(value: &str) -> Result<IpNetwork, String> {
    // ipnetwork reads a bare address as a host route, which would make a useless one-block pool.
    if !value.contains('/') {
        return Err(format!(
            "base `{value}` needs a prefix length, as in 10.10.0.0/16"
        ));
    }
    value
        .parse()
        .map_err(|e| format!("base `{value}` is not a CIDR ({e})"))
}

/// Why a pool is unusable, as the tail of an `InvalidPoolSpec` message.
fn check_pool(base: IpNetwork, size: u8) -> Result<(), String> {
    if !cidr::is_network_address(base) {
        let suggestion = cidr::network_of(base);
        return Err(format!(
            "base {base} is not a network address; did you mean {suggestion}?"
        ));
    }
    if size < base.prefix() {
        return Err(format!(
            "size {size} is smaller than the base prefix {}, so one block would not fit in the base",
            base.prefix()
        ));
    }
    let family = Family::of_network(base);
    let max = family.max_subnet_prefix();
    if size > max {
        return Err(format!(
            "size {size} leaves no room for hosts; {family} pools need a size of {max} or less"
        ));
    }
    Ok(())
}

/// First block of prefix `size` in `base` that overlaps none of the `taken` ranges. It jumps
/// past each clash instead of stepping block by block, so a /8 cut into /24s, or a /48 into
/// /64s, costs at most one step per taken range.
fn first_free_block(base: IpNetwork, size: u8, taken: &[(u128, u128)]) -> Option<IpNetwork> {
    let family = Family::of_network(base);
    let (mut start, base_last) = cidr::bounds(base);
    let block_mask = cidr::host_mask(family, size);
    while start <= base_last {
        let end = start | block_mask;
        let clash_end = taken
            .iter()
            .filter(|&&(first, last)| first <= end && start <= last)
            .map(|&(_, last)| last)
            .max();
        let Some(clash_end) = clash_end else {
            return Some(cidr::with_prefix(cidr::from_u128(family, start), size));
        };
        // Next block boundary after both this block and the clashing range.
        start = clash_end.max(end).checked_add(1)?.checked_add(block_mask)? & !block_mask;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::test_support::net;
    use super::*;

    fn parse_err(spec: &str) -> String {
        match DefaultPools::parse_spec(spec) {
            Ok(pool) => panic!("`{spec}` parsed as {pool:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn docker_defaults_match_dockerd() {
        let pools = DefaultPools::docker_defaults();
        assert_eq!(pools.v4.len(), 16);
        assert_eq!(pools.v4[0], (net("172.17.0.0/16"), 16));
        assert_eq!(pools.v4[14], (net("172.31.0.0/16"), 16));
        assert_eq!(pools.v4[15], (net("192.168.0.0/16"), 20));
        assert_eq!(pools.v6, vec![(net("fd42:636e:6d00::/48"), 64)]);
        assert_eq!(DefaultPools::default(), pools);
    }

    #[test]
    fn choice_follows_pool_order_and_skips_taken_blocks() {
        let pools = DefaultPools::docker_defaults();
        assert_eq!(pools.choose(Family::V4, &[]), Some(net("172.17.0.0/16")));
        let mut taken = vec![net("172.17.0.0/16"), net("172.18.5.0/24")];
        assert_eq!(
            pools.choose(Family::V4, &taken),
            Some(net("172.19.0.0/16")),
            "a /24 inside 172.18/16 is enough to skip it"
        );
        taken.extend((19..=31).map(|octet| net(&format!("172.{octet}.0.0/16"))));
        assert_eq!(
            pools.choose(Family::V4, &taken),
            Some(net("192.168.0.0/20"))
        );
        taken.push(net("192.168.0.0/20"));
        taken.push(net("192.168.20.7/32"));
        assert_eq!(
            pools.choose(Family::V4, &taken),
            Some(net("192.168.32.0/20")),
            "192.168.16.0/20 holds a host route"
        );
        taken.push(net("192.168.0.0/16"));
        assert_eq!(pools.choose(Family::V4, &taken), None);
        assert_eq!(
            pools.choose(Family::V6, &taken),
            Some(net("fd42:636e:6d00::/64")),
            "IPv4 ranges do not block IPv6 blocks"
        );
    }

    #[test]
    fn choice_jumps_over_large_taken_ranges() {
        let pools = DefaultPools::from_specs(&[(net("10.0.0.0/8"), 24)]).expect("valid pool");
        assert_eq!(
            pools.choose(Family::V4, &[net("10.0.0.0/9"), net("10.128.0.0/24")]),
            Some(net("10.128.1.0/24"))
        );
        let v6 = DefaultPools::docker_defaults();
        assert_eq!(
            v6.choose(Family::V6, &[net("fd42:636e:6d00::/56")]),
            Some(net("fd42:636e:6d00:100::/64"))
        );
        assert_eq!(v6.choose(Family::V6, &[net("fd42:636e:6d00::/48")]), None);
    }

    #[test]
    fn parse_spec_reads_base_and_size_in_any_order() {
        assert_eq!(
            DefaultPools::parse_spec("base=172.30.0.0/16,size=24"),
            Ok((net("172.30.0.0/16"), 24))
        );
        assert_eq!(
            DefaultPools::parse_spec(" size = 64 , base = fd00:1::/48 "),
            Ok((net("fd00:1::/48"), 64))
        );
    }

    #[test]
    fn parse_spec_explains_what_is_wrong() {
        let cases = [
            ("base=10.0.0.0/8,size=24,mtu=1400", "unknown key `mtu`"),
            ("base=10.0.0.0/8", "size is missing"),
            ("size=24", "base is missing"),
            (
                "base=10.0.0.0/8,base=11.0.0.0/8,size=24",
                "`base` is given twice",
            ),
            ("base=10.0.0.0/8,24", "`24` is not key=value"),
            ("base=10.0.0.0,size=24", "needs a prefix length"),
            ("base=10.0.0.300/8,size=24", "is not a CIDR"),
            (
                "base=10.0.0.0/8,size=big",
                "size `big` is not a prefix length",
            ),
            (
                "base=10.0.0.0/16,size=8",
                "size 8 is smaller than the base prefix 16",
            ),
            (
                "base=10.0.0.0/8,size=31",
                "IPv4 pools need a size of 30 or less",
            ),
            (
                "base=fd00::/48,size=127",
                "IPv6 pools need a size of 126 or less",
            ),
            ("base=10.1.0.0/8,size=24", "did you mean 10.0.0.0/8?"),
        ];
        for (spec, expected) in cases {
            let message = parse_err(spec);
            assert!(message.contains(expected), "`{spec}`: {message}");
            assert!(
                message.contains(&format!("`{spec}`")),
                "names the spec: {message}"
            );
        }
    }

    #[test]
    fn from_specs_mixes_families_and_keeps_missing_defaults() {
        let defaults = DefaultPools::docker_defaults();
        assert_eq!(DefaultPools::from_specs(&[]), Ok(defaults.clone()));
        let v4_only = DefaultPools::from_specs(&[(net("10.10.0.0/16"), 24)]).expect("valid");
        assert_eq!(v4_only.v4, vec![(net("10.10.0.0/16"), 24)]);
        assert_eq!(v4_only.v6, defaults.v6, "IPv6 default kept");
        let mixed = DefaultPools::from_specs(&[
            (net("fd00:a::/48"), 64),
            (net("10.10.0.0/16"), 24),
            (net("10.20.0.0/16"), 20),
        ])
        .expect("valid");
        assert_eq!(
            mixed.v4,
            vec![(net("10.10.0.0/16"), 24), (net("10.20.0.0/16"), 20)]
        );
        assert_eq!(mixed.v6, vec![(net("fd00:a::/48"), 64)]);
    }

    #[test]
    fn from_specs_refuses_overlapping_or_invalid_pools() {
        let overlap =
            DefaultPools::from_specs(&[(net("10.0.0.0/8"), 24), (net("10.1.0.0/16"), 24)]);
        assert_eq!(
            overlap.map_err(|e| e.to_string()),
            Err("default address pools 10.1.0.0/16 and 10.0.0.0/8 overlap".to_owned())
        );
        let bad_size = DefaultPools::from_specs(&[(net("10.0.0.0/16"), 8)]);
        assert!(matches!(bad_size, Err(IpamError::InvalidPoolSpec { .. })));
    }
}
