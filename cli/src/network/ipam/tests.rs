//! Tests of the IPAM flag pairing: each success shape and each error message.

use super::*;

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| v.to_string()).collect()
}

fn pair_err(subnets: &[&str], ranges: &[&str], gateways: &[&str], aux: &[&str]) -> String {
    let (s, r, g, a) = (
        strings(subnets),
        strings(ranges),
        strings(gateways),
        strings(aux),
    );
    let flags = IpamFlags {
        subnets: &s,
        ranges: &r,
        gateways: &g,
        aux_addresses: &a,
    };
    pair(flags).expect_err("invalid flags").to_string()
}

#[test]
fn pairs_each_value_with_its_subnet() {
    let subnets = strings(&["10.1.0.0/16", "fd00:1::/64", "10.2.0.0/16"]);
    let ranges = strings(&["10.2.5.0/24", "10.1.1.0/24"]);
    let gateways = strings(&["10.2.0.1", "fd00:1:0:0::1", "10.1.0.254"]);
    let aux = strings(&["router=10.1.0.2", "dns=fd00:1::53", "printer=10.1.0.3"]);
    let configs = pair(IpamFlags {
        subnets: &subnets,
        ranges: &ranges,
        gateways: &gateways,
        aux_addresses: &aux,
    })
    .expect("valid flags");

    assert_eq!(configs.len(), 3);
    assert_eq!(configs[0].subnet, "10.1.0.0/16");
    assert_eq!(configs[0].ip_range, "10.1.1.0/24");
    assert_eq!(configs[0].gateway, "10.1.0.254");
    assert_eq!(configs[0].auxiliary_addresses.len(), 2);
    assert_eq!(configs[0].auxiliary_addresses["router"], "10.1.0.2");
    assert_eq!(configs[0].auxiliary_addresses["printer"], "10.1.0.3");
    assert_eq!(configs[1].subnet, "fd00:1::/64");
    assert_eq!(configs[1].ip_range, "");
    assert_eq!(configs[1].gateway, "fd00:1::1");
    assert_eq!(configs[1].auxiliary_addresses["dns"], "fd00:1::53");
    assert_eq!(configs[2].subnet, "10.2.0.0/16");
    assert_eq!(configs[2].ip_range, "10.2.5.0/24");
    assert_eq!(configs[2].gateway, "10.2.0.1");
    assert!(configs[2].auxiliary_addresses.is_empty());
}

#[test]
fn no_flags_means_no_config() {
    assert!(pair(IpamFlags::default()).expect("valid").is_empty());
}

#[test]
fn malformed_subnets_fail() {
    assert_eq!(
        pair_err(&["10.0.0.0/33"], &[], &[], &[]),
        "invalid subnet 10.0.0.0/33: prefix length must be 0-32"
    );
    assert_eq!(
        pair_err(&["fd00::/129"], &[], &[], &[]),
        "invalid subnet fd00::/129: prefix length must be 0-128"
    );
    assert_eq!(
        pair_err(&["10.0.0.0/x"], &[], &[], &[]),
        "invalid subnet 10.0.0.0/x: prefix length must be 0-32"
    );
    assert_eq!(
        pair_err(&["10.0.0/8"], &[], &[], &[]),
        "invalid subnet 10.0.0/8: \"10.0.0\" is not an IP address"
    );
    assert_eq!(
        pair_err(&["10.0.0.0"], &[], &[], &[]),
        "invalid subnet 10.0.0.0: missing prefix length (as in 10.1.0.0/16)"
    );
    assert_eq!(
        pair_err(&["10.0.0.1/16"], &[], &[], &[]),
        "invalid subnet 10.0.0.1/16: host bits are set; did you mean 10.0.0.0/16?"
    );
}

#[test]
fn overlapping_subnets_fail() {
    assert_eq!(
        pair_err(&["10.0.0.0/8", "10.1.0.0/16"], &[], &[], &[]),
        "multiple overlapping subnet configuration is not supported (10.0.0.0/8 and 10.1.0.0/16)"
    );
}

#[test]
fn unmatched_values_fail() {
    assert_eq!(
        pair_err(&["10.1.0.0/16"], &[], &["10.9.9.1"], &[]),
        "no matching subnet for gateway 10.9.9.1"
    );
    assert_eq!(
        pair_err(&[], &[], &["10.9.9.1"], &[]),
        "no matching subnet for gateway 10.9.9.1"
    );
    assert_eq!(
        pair_err(&["10.1.0.0/16"], &["10.9.0.0/24"], &[], &[]),
        "no matching subnet for range 10.9.0.0/24"
    );
    // A range wider than its subnet is not inside it.
    assert_eq!(
        pair_err(&["10.1.0.0/16"], &["10.0.0.0/8"], &[], &[]),
        "no matching subnet for range 10.0.0.0/8"
    );
    assert_eq!(
        pair_err(&["10.1.0.0/16"], &[], &[], &["r=10.9.9.9"]),
        "no matching subnet for aux-address 10.9.9.9"
    );
    // Families never match each other.
    assert_eq!(
        pair_err(&["::/0"], &[], &["10.0.0.1"], &[]),
        "no matching subnet for gateway 10.0.0.1"
    );
}

#[test]
fn a_second_range_or_gateway_for_one_subnet_fails() {
    assert_eq!(
        pair_err(&["10.1.0.0/16"], &["10.1.1.0/24", "10.1.2.0/24"], &[], &[]),
        "cannot configure multiple ranges on the same subnet 10.1.0.0/16 (10.1.1.0/24, 10.1.2.0/24)"
    );
    assert_eq!(
        pair_err(&["10.1.0.0/16"], &[], &["10.1.0.1", "10.1.0.2"], &[]),
        "cannot configure multiple gateways on the same subnet 10.1.0.0/16 (10.1.0.1, 10.1.0.2)"
    );
}

#[test]
fn malformed_values_fail() {
    assert_eq!(
        pair_err(&["10.1.0.0/16"], &[], &["10.1.0"], &[]),
        "invalid gateway 10.1.0: not an IP address"
    );
    assert_eq!(
        pair_err(&["10.1.0.0/16"], &["10.1.1.1/24"], &[], &[]),
        "invalid ip-range 10.1.1.1/24: host bits are set; did you mean 10.1.1.0/24?"
    );
    assert_eq!(
        pair_err(&["10.1.0.0/16"], &[], &[], &["10.1.0.2"]),
        "invalid aux-address 10.1.0.2: expected NAME=IP"
    );
    assert_eq!(
        pair_err(&["10.1.0.0/16"], &[], &[], &["r=x"]),
        "invalid aux-address x: not an IP address"
    );
    assert_eq!(
        pair_err(&["10.1.0.0/16"], &[], &[], &["r=10.1.0.2", "r=10.1.0.3"]),
        "invalid aux-address r=10.1.0.3: the name \"r\" is given twice"
    );
}

#[test]
fn cidr_edges() {
    let all = Cidr::parse("subnet", "0.0.0.0/0").expect("valid");
    assert!(all.contains("255.255.255.255".parse().expect("ip")));
    assert!(!all.contains("::1".parse().expect("ip")));
    let host = Cidr::parse("subnet", "fd00::1/128").expect("valid");
    assert!(host.contains("fd00::1".parse().expect("ip")));
    assert!(!host.contains("fd00::2".parse().expect("ip")));
    assert_eq!(host.to_string(), "fd00::1/128");
}
