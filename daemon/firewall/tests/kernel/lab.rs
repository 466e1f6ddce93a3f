//! The test topology, all in fresh namespaces: a "host" (bridges, the
//! firewall under test), "containers" on the bridges, and a "client" linked
//! to the host by a veth (192.168.77.0/24, fd77::/64).

use std::collections::HashMap;
use std::net::IpAddr;
use std::process::Command;
use std::sync::Arc;

use cnm_firewall::{NetworkRules, NftFirewall, PortMapping, Protocol};

use super::netns::Netns;

pub const HOST_IP: &str = "192.168.77.1";
pub const HOST_IP2: &str = "192.168.77.100";
pub const CLIENT_IP: &str = "192.168.77.2";
pub const HOST_IP6: &str = "fd77::1";
pub const CLIENT_IP6: &str = "fd77::2";

pub struct Lab {
    pub host: Netns,
    pub client: Netns,
    pub fw: Arc<NftFirewall>,
    containers: HashMap<&'static str, Netns>,
}

/// The one place that decides whether kernel tests can run here.
fn skip_reason() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("kernel tests need root (network namespaces, nf_tables)".into());
    }
    for tool in ["nft", "ip"] {
        if Command::new(tool).arg("-V").output().is_err()
            && Command::new(tool).arg("--version").output().is_err()
        {
            return Some(format!("`{tool}` is not installed"));
        }
    }
    None
}

/// A namespace without IPv6 duplicate address detection: tentative
/// link-local addresses would make the first seconds of IPv6 flaky.
fn new_netns() -> Netns {
    let ns = Netns::new();
    ns.sysctl("net.ipv6.conf.all.accept_dad", "0");
    ns.sysctl("net.ipv6.conf.default.accept_dad", "0");
    ns
}

/// Gives `eth0` of `ns` an IPv4 /24 and an IPv6 /64 address, brings it up
/// and routes everything through the two gateways.
fn wire_eth0(ns: &Netns, [ip4, ip6]: [&str; 2], [gw4, gw6]: [&str; 2]) {
    ns.ip(&format!("addr add {ip4}/24 dev eth0"));
    ns.ip(&format!("addr add {ip6}/64 dev eth0 nodad"));
    ns.ip("link set eth0 up");
    ns.ip(&format!("route add default via {gw4}"));
    ns.ip(&format!("-6 route add default via {gw6}"));
}

impl Lab {
    /// A fresh lab, or `None` (after printing SKIPPED) where it cannot run.
    pub fn new(test: &str) -> Option<Lab> {
        if let Some(reason) = skip_reason() {
            // The standard test harness has no runtime skip, so an unmet need fails loudly instead of passing.
            panic!("{test} cannot run here: {reason}");
        }
        let host = new_netns();
        let client = new_netns();
        host.ip("link set lo up");
        host.sysctl("net.ipv4.ip_forward", "1");
        host.sysctl("net.ipv6.conf.all.forwarding", "1");
        host.ip(&format!(
            "link add xh0 type veth peer name eth0 netns {}",
            client.tid()
        ));
        host.ip(&format!("addr add {HOST_IP}/24 dev xh0"));
        host.ip(&format!("addr add {HOST_IP2}/24 dev xh0"));
        host.ip(&format!("addr add {HOST_IP6}/64 dev xh0 nodad"));
        host.ip("link set xh0 up");
        // The client's lo stays down so that 127.0.0.1 is not local there.
        wire_eth0(&client, [CLIENT_IP, CLIENT_IP6], [HOST_IP, HOST_IP6]);
        let fw = Arc::new(host.run(|| NftFirewall::new().expect("open firewall")));
        Some(Lab {
            host,
            client,
            fw,
            containers: HashMap::new(),
        })
    }

    /// A bridge with gateway `{v4}.1/24` and `{v6}:1/64`.
    pub fn bridge(&self, name: &str, v4: &str, v6: &str) {
        self.host.ip(&format!("link add {name} type bridge"));
        self.host.ip(&format!("addr add {v4}.1/24 dev {name}"));
        self.host
            .ip(&format!("addr add {v6}:1/64 dev {name} nodad"));
        self.host.ip(&format!("link set {name} up"));
    }

    /// A container on `bridge` with `{v4}.{n}` and `{v6}:{n}`.
    pub fn container(
        &mut self,
        name: &'static str,
        bridge: &str,
        v4: &str,
        v6: &str,
        n: u8,
    ) -> &Netns {
        let ns = new_netns();
        let veth = format!("v{name}");
        self.host.ip(&format!(
            "link add {veth} type veth peer name eth0 netns {}",
            ns.tid()
        ));
        // As the bridge driver must: with br_netfilter a hairpin DNAT back to
        // the sender is bridged out of the port it came in on.
        self.host.ip(&format!("link set {veth} master {bridge}"));
        self.host
            .ip(&format!("link set {veth} type bridge_slave hairpin on"));
        self.host.ip(&format!("link set {veth} up"));
        ns.ip("link set lo up");
        wire_eth0(
            &ns,
            [&format!("{v4}.{n}"), &format!("{v6}:{n}")],
            [&format!("{v4}.1"), &format!("{v6}:1")],
        );
        self.containers.insert(name, ns);
        &self.containers[name]
    }

    pub fn ns(&self, container: &str) -> &Netns {
        &self.containers[container]
    }

    /// Runs a firewall call on the host namespace's thread.
    pub fn fw<R: Send + 'static>(&self, f: impl FnOnce(&NftFirewall) -> R + Send + 'static) -> R {
        let fw = self.fw.clone();
        self.host.run(move || f(&fw))
    }

    /// `nft list table inet cnm` on the host.
    pub fn listing(&self) -> String {
        self.host.cmd("nft", "list table inet cnm")
    }
}

/// The subnets the tests give each bridge (`Lab::bridge` takes the same).
fn subnets(bridge: &str) -> Vec<ipnetwork::IpNetwork> {
    let n = match bridge {
        "cnm0" => 88,
        "cnm1" => 89,
        "cnm2" => 90,
        "cnm3" => 91,
        other => panic!("no test subnets for {other}"),
    };
    let cidr = |s: String| s.parse().expect("cidr");
    vec![cidr(format!("10.{n}.0.0/24")), cidr(format!("fd{n}::/64"))]
}

pub fn network(id: &str, bridge: &str) -> NetworkRules {
    NetworkRules {
        id: id.repeat(64 / id.len()),
        bridge: bridge.into(),
        subnets: subnets(bridge),
        internal: false,
        masquerade: true,
        icc: true,
    }
}

pub fn mapping(
    protocol: Protocol,
    host: Option<&str>,
    host_port: u16,
    container: &str,
    port: u16,
) -> PortMapping {
    let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
    PortMapping {
        protocol,
        host_ip: host.map(ip),
        host_port,
        container_ip: ip(container),
        container_port: port,
    }
}

impl Lab {
    /// Bridged frames reach the inet hooks only with br_netfilter; this
    /// kernel has no NFT_BRIDGE_META for a bridge-family alternative.
    pub fn bridge_netfilter_active(&self) -> bool {
        let value = self
            .host
            .run(|| std::fs::read_to_string("/proc/sys/net/bridge/bridge-nf-call-iptables"));
        let active = value.is_ok_and(|v| v.trim() == "1");
        assert!(
            active,
            "cannot run here: this icc=false check needs br_netfilter (bridge-nf-call-iptables=1)"
        );
        active
    }
}
