//! Names of the table and of its sets, maps and chains: the contract between
//! the ruleset builder, the netlink element builders and the tests.

/// The table cnmd owns (family inet). Nothing else is ever touched.
pub const TABLE: &str = "cnm";

/// `IFNAMSIZ`: interface names are 15 bytes plus NUL; an `ifname` key is 16 bytes.
pub const IFNAMSIZ: usize = 16;

/// Every cnm bridge.
pub const BRIDGES: &str = "bridges";
/// `bridge . bridge` for every cnm bridge: traffic that stays on its bridge.
pub const BRIDGE_PAIRS: &str = "bridge_pairs";
/// `bridge . subnet` (intervals): a DNATed packet leaving a bridge with a
/// source in that bridge's subnets is hairpin traffic.
pub const BRIDGE_SUBNETS_V4: &str = "bridge_subnets_v4";
pub const BRIDGE_SUBNETS_V6: &str = "bridge_subnets_v6";
/// Bridges of `--internal` networks.
pub const INTERNAL_BRIDGES: &str = "internal_bridges";
/// Bridges whose egress is masqueraded.
pub const MASQ_BRIDGES: &str = "masq_bridges";
/// Bridges with inter-container communication off.
pub const NO_ICC_BRIDGES: &str = "no_icc_bridges";

/// Published ports on one IPv4 host address: `addr . proto . port` → container address / port.
pub const V4_ADDR: &str = "pub_v4_addr";
pub const V4_PORT: &str = "pub_v4_port";
/// Published ports on every local IPv4 address: `proto . port` → container address / port.
pub const ANY_V4_ADDR: &str = "pub_any_v4_addr";
pub const ANY_V4_PORT: &str = "pub_any_v4_port";
/// The IPv6 counterparts.
pub const V6_ADDR: &str = "pub_v6_addr";
pub const V6_PORT: &str = "pub_v6_port";
pub const ANY_V6_ADDR: &str = "pub_any_v6_addr";
pub const ANY_V6_PORT: &str = "pub_any_v6_port";

/// The (address map, port map) pair for a family and host-address kind.
pub fn port_maps(ipv6: bool, any: bool) -> (&'static str, &'static str) {
    match (ipv6, any) {
        (false, false) => (V4_ADDR, V4_PORT),
        (false, true) => (ANY_V4_ADDR, ANY_V4_PORT),
        (true, false) => (V6_ADDR, V6_PORT),
        (true, true) => (ANY_V6_ADDR, ANY_V6_PORT),
    }
}
