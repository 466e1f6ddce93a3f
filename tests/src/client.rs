//! An "outside client": a namespace linked to a test host by a veth pair,
//! the host's `uplink`, addressed from the documentation ranges. It stands
//! for a remote machine on the host's LAN: it has no route to container
//! subnets unless a test adds one, so it reaches containers only through
//! published ports.

use crate::container::Container;
use crate::host::Host;
use crate::netns::NetNs;

/// The host's end of the link, in the host namespace.
pub const UPLINK: &str = "uplink";
/// The host's uplink IPv4 address.
pub const HOST_V4: &str = "198.51.100.1";
/// The client's IPv4 address.
pub const CLIENT_V4: &str = "198.51.100.2";
/// The host's uplink IPv6 address.
pub const HOST_V6: &str = "2001:db8:1::1";
/// The client's IPv6 address.
pub const CLIENT_V6: &str = "2001:db8:1::2";

/// The client namespace (`<host>-<label>`, removed with the host) and its
/// `eth0`, whose peer is `uplink` in the host namespace.
pub struct Client {
    ns: Container,
}

impl Client {
    /// Makes the client namespace, links it to `host` and addresses both
    /// ends (IPv6 too when `ipv6`); waits until both ends are up.
    pub fn attach(host: &Host, label: &str, ipv6: bool) -> Client {
        let ns = host.container(label);
        host.ns().add_veth(UPLINK, ns.ns(), "eth0");
        let ends: [(&NetNs, &str, &str, &str); 2] = [
            (host.ns(), UPLINK, HOST_V4, HOST_V6),
            (ns.ns(), "eth0", CLIENT_V4, CLIENT_V6),
        ];
        for (side, dev, v4, v6) in ends {
            side.ip_ok(&["addr", "add", &format!("{v4}/24"), "dev", dev]);
            if ipv6 {
                // nodad: the address is usable at once, not after DAD.
                side.ip_ok(&["addr", "add", &format!("{v6}/64"), "dev", dev, "nodad"]);
            }
            side.ip_ok(&["link", "set", dev, "up"]);
        }
        Client { ns }
    }

    /// The client namespace.
    pub fn ns(&self) -> &NetNs {
        self.ns.ns()
    }

    /// Runs `ip -n CLIENT ARGS…` and panics on failure.
    pub fn ip_ok(&self, args: &[&str]) -> String {
        self.ns().ip_ok(args)
    }
}

/// Adds `cidr` (`a.b.c.d/len`) to the host's uplink: a second host address.
pub fn add_uplink_addr(host: &Host, cidr: &str) {
    host.ns().ip_ok(&["addr", "add", cidr, "dev", UPLINK]);
}
