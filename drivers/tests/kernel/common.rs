//! Shared helpers: the root check and throwaway namespaces.

use cnm_drivers::sys::{Netlink, Netns};

/// True when the tests can touch the kernel. Otherwise fails the test: the standard test harness has no runtime skip, so an unmet need fails loudly instead of passing (the
/// end-to-end suite in tests/ counts such cases as skipped).
pub fn have_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    assert!(
        root,
        "cannot run here: needs root (run the suite as root, as dev/test does)"
    );
    root
}

/// Returns from the test early unless running as root.
macro_rules! require_root {
    () => {
        if !$crate::common::have_root() {
            return;
        }
    };
}
pub(crate) use require_root;

/// A fresh namespace and a netlink socket inside it.
pub fn sandbox() -> (Netns, Netlink) {
    let ns = Netns::new_anonymous().expect("new netns");
    let nl = Netlink::open_in(&ns).expect("netlink in netns");
    (ns, nl)
}

/// A bridge network with a v4 and a v6 subnet; `n` varies ids and subnets.
pub fn network(n: u8, options: &[(&str, &str)]) -> cnm_drivers::NetworkSpec {
    use cnm_drivers::SubnetSpec;
    let subnet = |s: String, gw: String| SubnetSpec {
        subnet: s.parse().expect("subnet"),
        gateway: Some(gw.parse().expect("gateway")),
    };
    cnm_drivers::NetworkSpec {
        id: format!("{n:02x}").repeat(32),
        name: format!("net{n}"),
        options: options
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        subnets: vec![
            subnet(format!("10.{n}.0.0/24"), format!("10.{n}.0.1")),
            subnet(format!("fd00:{n}::/64"), format!("fd00:{n}::1")),
        ],
        internal: false,
        enable_ipv6: true,
    }
}

/// An endpoint with an id and MAC derived from `n`.
pub fn endpoint(n: u8) -> cnm_drivers::EndpointSpec {
    cnm_drivers::EndpointSpec {
        id: format!("e{n:02x}").repeat(22)[..64].to_string(),
        mac: [0x02, 0x42, 0, 0, 0, n],
        addresses: Vec::new(),
    }
}
