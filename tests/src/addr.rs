//! Small address arithmetic for assertions: does a CIDR contain an address.

use std::net::IpAddr;

/// Splits `a.b.c.d/len` into address and prefix length.
pub fn parse_cidr(cidr: &str) -> Option<(IpAddr, u32)> {
    let (addr, len) = cidr.split_once('/')?;
    Some((addr.parse().ok()?, len.parse().ok()?))
}

fn bits(ip: IpAddr) -> (u128, u32) {
    match ip {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
        IpAddr::V6(v6) => (u128::from(v6), 128),
    }
}

/// True when `addr` (with or without `/len`) lies inside `cidr`.
pub fn cidr_contains(cidr: &str, addr: &str) -> bool {
    let Some((net, len)) = parse_cidr(cidr) else {
        return false;
    };
    let Ok(ip) = addr.split('/').next().unwrap_or(addr).parse::<IpAddr>() else {
        return false;
    };
    let ((net, width), (ip, ip_width)) = (bits(net), bits(ip));
    if width != ip_width || len > width {
        return false;
    }
    let shift = width - len;
    shift == width || (net >> shift) == (ip >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains_v4_and_v6() {
        assert!(cidr_contains("10.77.0.128/25", "10.77.0.200"));
        assert!(!cidr_contains("10.77.0.128/25", "10.77.0.5/24"));
        assert!(cidr_contains("fd00:1::/64", "fd00:1::2/64"));
        assert!(!cidr_contains("fd00:1::/64", "10.0.0.1"));
        assert!(cidr_contains("0.0.0.0/0", "1.2.3.4"));
    }
}
