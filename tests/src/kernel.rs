//! Reading what the kernel really has in a namespace (`ip -j …`): links,
//! addresses, routes. Tests compare this with what cnmd reports.

use serde_json::Value;

use crate::netns::NetNs;

/// One link as `ip -j -d link show` reports it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Link {
    pub name: String,
    /// `info_kind` ("bridge", "veth", …); empty for plain devices like lo.
    pub kind: String,
    pub up: bool,
    pub mtu: u64,
    pub mac: String,
    /// The bridge this link is a port of.
    pub master: Option<String>,
}

fn parse_json(ns: &NetNs, args: &[&str]) -> Vec<Value> {
    let mut full = vec!["-j"];
    full.extend_from_slice(args);
    let out = ns.ip(&full);
    if !out.success() {
        // "Device does not exist" and friends: nothing to list.
        return Vec::new();
    }
    serde_json::from_str::<Vec<Value>>(&out.stdout)
        .unwrap_or_else(|e| panic!("cannot parse `ip` JSON ({e}): {}", out.stdout))
}

fn link_from_json(v: &Value) -> Link {
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    let flags = v["flags"].as_array().cloned().unwrap_or_default();
    Link {
        name: s("ifname"),
        kind: v["linkinfo"]["info_kind"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        up: flags.iter().any(|f| f == "UP"),
        mtu: v["mtu"].as_u64().unwrap_or_default(),
        mac: s("address"),
        master: v["master"].as_str().map(str::to_string),
    }
}

/// All links in `ns`.
pub fn links(ns: &NetNs) -> Vec<Link> {
    let mut links: Vec<Link> = parse_json(ns, &["-d", "link", "show"])
        .iter()
        .map(link_from_json)
        .collect();
    links.sort();
    links
}

/// The link called `name` in `ns`, if any.
pub fn link(ns: &NetNs, name: &str) -> Option<Link> {
    parse_json(ns, &["-d", "link", "show", "dev", name])
        .first()
        .map(link_from_json)
}

/// Names of the veth links in `ns`.
pub fn veth_names(ns: &NetNs) -> Vec<String> {
    links(ns)
        .into_iter()
        .filter(|l| l.kind == "veth")
        .map(|l| l.name)
        .collect()
}

/// Addresses (`a.b.c.d/len`, `x::y/len`) of `family` ("inet"/"inet6") on
/// `dev`, skipping IPv6 link-local ones.
fn addrs(ns: &NetNs, dev: &str, family: &str) -> Vec<String> {
    parse_json(ns, &["addr", "show", "dev", dev])
        .iter()
        .flat_map(|l| l["addr_info"].as_array().cloned().unwrap_or_default())
        .filter(|a| a["family"] == family && a["scope"] != "link")
        .map(|a| {
            format!(
                "{}/{}",
                a["local"].as_str().unwrap_or_default(),
                a["prefixlen"]
            )
        })
        .collect()
}

/// IPv4 addresses with prefix on `dev`.
pub fn ipv4_addrs(ns: &NetNs, dev: &str) -> Vec<String> {
    addrs(ns, dev, "inet")
}

/// Global IPv6 addresses with prefix on `dev`.
pub fn ipv6_addrs(ns: &NetNs, dev: &str) -> Vec<String> {
    addrs(ns, dev, "inet6")
}

/// A route as (`gateway`, `dev`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub gateway: Option<String>,
    pub dev: String,
}

/// The default route of `family` ("-4"/"-6") in `ns`, if any.
pub fn default_route(ns: &NetNs, family: &str) -> Option<Route> {
    parse_json(ns, &[family, "route", "show", "default"])
        .first()
        .map(|r| Route {
            gateway: r["gateway"].as_str().map(str::to_string),
            dev: r["dev"].as_str().unwrap_or_default().to_string(),
        })
}

/// Every link with its addresses, sorted: a fingerprint of a namespace's
/// network state for "nothing changed" checks.
pub fn fingerprint(ns: &NetNs) -> Vec<(Link, Vec<String>)> {
    links(ns)
        .into_iter()
        .map(|l| {
            let mut a = ipv4_addrs(ns, &l.name);
            a.extend(ipv6_addrs(ns, &l.name));
            (l, a)
        })
        .collect()
}
