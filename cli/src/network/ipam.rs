//! The IPAM flags of `network create`. CIDRs and addresses are parsed with std
//! only, so a malformed value fails before any RPC; then every `--ip-range`,
//! `--gateway` and `--aux-address` is paired with the `--subnet` that contains
//! it, as Docker's CLI does.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;

use anyhow::{anyhow, bail, Result};
use pb::v1::IpamConfig;

/// An IP prefix (`10.1.0.0/16`, `fd00::/64`) without host bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `raw`, given to the flag named `what` (for messages).
    pub fn parse(what: &str, raw: &str) -> Result<Self> {
        let invalid = |reason: String| anyhow!("invalid {what} {raw}: {reason}");
        let (addr, prefix) = raw
            .split_once('/')
            .ok_or_else(|| invalid("missing prefix length (as in 10.1.0.0/16)".into()))?;
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| invalid(format!("{addr:?} is not an IP address")))?;
        let max = max_prefix(addr);
        let prefix = prefix
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= max)
            .ok_or_else(|| invalid(format!("prefix length must be 0-{max}")))?;
        let cidr = Self { addr, prefix };
        if cidr.network() != addr {
            return Err(invalid(format!(
                "host bits are set; did you mean {}/{prefix}?",
                cidr.network()
            )));
        }
        Ok(cidr)
    }

    /// True when `ip` lies inside this prefix.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.addr.is_ipv4() == ip.is_ipv4() && (bits(ip) ^ bits(self.addr)) & self.mask() == 0
    }

    /// True when all of `other` lies inside this prefix.
    fn covers(&self, other: &Cidr) -> bool {
        other.prefix >= self.prefix && self.contains(other.addr)
    }

    fn overlaps(&self, other: &Cidr) -> bool {
        self.covers(other) || other.covers(self)
    }

    /// The mask in the 128-bit space of [`bits`].
    fn mask(&self) -> u128 {
        match self.prefix {
            0 => 0,
            p => u128::MAX << (128 - p),
        }
    }

    fn network(&self) -> IpAddr {
        let masked = bits(self.addr) & self.mask();
        match self.addr {
            IpAddr::V4(_) => IpAddr::from(((masked >> 96) as u32).to_be_bytes()),
            IpAddr::V6(_) => IpAddr::from(masked.to_be_bytes()),
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

fn max_prefix(addr: IpAddr) -> u8 {
    if addr.is_ipv4() {
        32
    } else {
        128
    }
}

/// The address left-aligned in 128 bits, so one mask works for both families.
fn bits(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(v4) => u128::from(u32::from(v4)) << 96,
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// Parses an address given to the flag named `what`.
pub fn parse_ip(what: &str, raw: &str) -> Result<IpAddr> {
    raw.parse()
        .map_err(|_| anyhow!("invalid {what} {raw}: not an IP address"))
}

/// The IPAM flags of `network create`, as given.
#[derive(Debug, Default, Clone, Copy)]
pub struct IpamFlags<'a> {
    pub subnets: &'a [String],
    pub ranges: &'a [String],
    pub gateways: &'a [String],
    pub aux_addresses: &'a [String],
}

/// One subnet and what was paired with it.
#[derive(Debug)]
struct Pool {
    subnet: Cidr,
    range: Option<Cidr>,
    gateway: Option<IpAddr>,
    aux: HashMap<String, IpAddr>,
}

/// Validates and pairs the flags into one `IpamConfig` per subnet, in the
/// order the subnets were given.
pub fn pair(flags: IpamFlags<'_>) -> Result<Vec<IpamConfig>> {
    let mut pools = parse_subnets(flags.subnets)?;
    for raw in flags.ranges {
        let range = Cidr::parse("ip-range", raw)?;
        let pool = pools
            .iter_mut()
            .find(|p| p.subnet.covers(&range))
            .ok_or_else(|| anyhow!("no matching subnet for range {range}"))?;
        if let Some(old) = pool.range {
            bail!(
                "cannot configure multiple ranges on the same subnet {} ({old}, {range})",
                pool.subnet
            );
        }
        pool.range = Some(range);
    }
    for raw in flags.gateways {
        let gateway = parse_ip("gateway", raw)?;
        let pool = pools
            .iter_mut()
            .find(|p| p.subnet.contains(gateway))
            .ok_or_else(|| anyhow!("no matching subnet for gateway {gateway}"))?;
        if let Some(old) = pool.gateway {
            bail!(
                "cannot configure multiple gateways on the same subnet {} ({old}, {gateway})",
                pool.subnet
            );
        }
        pool.gateway = Some(gateway);
    }
    pair_aux_addresses(&mut pools, flags.aux_addresses)?;
    Ok(pools.into_iter().map(Pool::into_config).collect())
}

fn parse_subnets(raws: &[String]) -> Result<Vec<Pool>> {
    let mut pools: Vec<Pool> = Vec::with_capacity(raws.len());
    for raw in raws {
        let subnet = Cidr::parse("subnet", raw)?;
        if let Some(other) = pools.iter().find(|p| p.subnet.overlaps(&subnet)) {
            bail!(
                "multiple overlapping subnet configuration is not supported ({} and {subnet})",
                other.subnet
            );
        }
        pools.push(Pool {
            subnet,
            range: None,
            gateway: None,
            aux: HashMap::new(),
        });
    }
    Ok(pools)
}

fn pair_aux_addresses(pools: &mut [Pool], raws: &[String]) -> Result<()> {
    for raw in raws {
        let (name, ip) = raw
            .split_once('=')
            .filter(|(name, _)| !name.is_empty())
            .ok_or_else(|| anyhow!("invalid aux-address {raw}: expected NAME=IP"))?;
        let ip = parse_ip("aux-address", ip)?;
        if pools.iter().any(|p| p.aux.contains_key(name)) {
            bail!("invalid aux-address {raw}: the name {name:?} is given twice");
        }
        let pool = pools
            .iter_mut()
            .find(|p| p.subnet.contains(ip))
            .ok_or_else(|| anyhow!("no matching subnet for aux-address {ip}"))?;
        pool.aux.insert(name.to_string(), ip);
    }
    Ok(())
}

impl Pool {
    fn into_config(self) -> IpamConfig {
        IpamConfig {
            subnet: self.subnet.to_string(),
            ip_range: self.range.map(|r| r.to_string()).unwrap_or_default(),
            gateway: self.gateway.map(|g| g.to_string()).unwrap_or_default(),
            auxiliary_addresses: self
                .aux
                .into_iter()
                .map(|(name, ip)| (name, ip.to_string()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests;
