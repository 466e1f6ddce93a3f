//! The resolver's compiled view of a [`Snapshot`]: hash maps that answer
//! "who is asking" and "what may they see" in O(networks of the requester),
//! built once per snapshot and read lock-free behind an `ArcSwap`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use crate::snapshot::Snapshot;
use crate::snapshot::{is_valid_name, normalize_name};

/// DNS port of upstream servers given as bare addresses.
const DNS_PORT: u16 = 53;

/// Addresses that answer one name on one network, split by family so a
/// query copies nothing but the records it returns.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Addrs {
    /// A records.
    pub v4: Vec<Ipv4Addr>,
    /// AAAA records.
    pub v6: Vec<Ipv6Addr>,
}

impl Addrs {
    fn push(&mut self, addr: IpAddr) {
        match addr {
            IpAddr::V4(a) if !self.v4.contains(&a) => self.v4.push(a),
            IpAddr::V6(a) if !self.v6.contains(&a) => self.v6.push(a),
            _ => {}
        }
    }
}

#[derive(Debug)]
struct Holder {
    sandbox: usize,
    /// Name PTR answers give (the member's first name).
    ptr: Option<Box<str>>,
}

#[derive(Debug)]
struct NetworkIndex {
    id: Box<str>,
    name: Box<str>,
    upstreams: Option<Arc<[SocketAddr]>>,
    names: HashMap<Box<str>, Addrs>,
    holders: HashMap<IpAddr, Holder>,
    internal: bool,
    subnets: Vec<Subnet>,
}

/// One of a network's subnets, for recognising members not in the snapshot yet.
#[derive(Debug, Clone, Copy)]
struct Subnet {
    addr: IpAddr,
    prefix_len: u8,
}

impl Subnet {
    fn parse(text: &str) -> Option<Subnet> {
        let (addr, len) = text.split_once('/')?;
        let addr: IpAddr = addr.parse().ok()?;
        let prefix_len: u8 = len.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix_len <= max).then_some(Subnet { addr, prefix_len })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        // Both families left-aligned in 128 bits, so the prefix masks alike.
        let bits = |ip: IpAddr| match ip {
            IpAddr::V4(a) => (u128::from(u32::from(a)) << 96, true),
            IpAddr::V6(a) => (u128::from(a), false),
        };
        let ((net, net_v4), (ip, ip_v4)) = (bits(self.addr), bits(ip));
        let mask = u128::MAX
            .checked_shl(128 - u32::from(self.prefix_len))
            .unwrap_or(0);
        net_v4 == ip_v4 && (net & mask) == (ip & mask)
    }
}

#[derive(Debug, Default)]
struct SandboxIndex {
    networks: Vec<usize>,
    upstreams: Option<Arc<[SocketAddr]>>,
    /// False when every network of the sandbox is `--internal`.
    may_forward: bool,
}

/// Who sent a query: the network it arrived on and the sandbox it came
/// from, `None` for a newcomer (an address of the network's subnets that the
/// snapshot does not list yet: a container whose first query beat its record).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requester {
    network: usize,
    sandbox: Option<usize>,
}

/// Lookup tables compiled from one snapshot.
#[derive(Debug, Default)]
pub struct RecordIndex {
    generation: u64,
    listen: HashMap<IpAddr, usize>,
    networks: Vec<NetworkIndex>,
    sandboxes: Vec<SandboxIndex>,
}

impl RecordIndex {
    /// Compiles a snapshot. Invalid entries (names that are not DNS names,
    /// addresses claimed twice) are skipped with a warning rather than
    /// failing the whole snapshot: the rest keeps resolving.
    pub fn compile(snapshot: &Snapshot) -> RecordIndex {
        let mut index = RecordIndex {
            generation: snapshot.generation,
            ..RecordIndex::default()
        };
        let mut sandbox_ids: HashMap<&str, usize> = HashMap::new();
        for (net_idx, network) in snapshot.networks.iter().enumerate() {
            for addr in &network.listen {
                if *index.listen.entry(*addr).or_insert(net_idx) != net_idx {
                    tracing::warn!(network = %network.id, %addr, "listen address claimed twice, keeping the first");
                }
            }
            let mut net = NetworkIndex {
                id: network.id.as_str().into(),
                name: normalize_name(&network.name).into(),
                upstreams: upstreams(&network.upstreams_override),
                names: HashMap::new(),
                holders: HashMap::new(),
                internal: network.internal,
                subnets: network
                    .subnets
                    .iter()
                    .filter_map(|text| {
                        let subnet = Subnet::parse(text);
                        if subnet.is_none() {
                            tracing::warn!(network = %network.id, subnet = %text, "skipping invalid subnet");
                        }
                        subnet
                    })
                    .collect(),
            };
            for member in &network.members {
                let next = sandbox_ids.len();
                let sandbox = *sandbox_ids
                    .entry(member.sandbox_id.as_str())
                    .or_insert(next);
                if sandbox == index.sandboxes.len() {
                    index.sandboxes.push(SandboxIndex::default());
                }
                let sb = &mut index.sandboxes[sandbox];
                if !sb.networks.contains(&net_idx) {
                    sb.networks.push(net_idx);
                }
                sb.may_forward |= !network.internal;
                net.add_member(sandbox, &member.names, &member.addrs);
            }
            index.networks.push(net);
        }
        for (id, servers) in &snapshot.sandbox_dns {
            if let Some(&sandbox) = sandbox_ids.get(id.as_str()) {
                index.sandboxes[sandbox].upstreams = upstreams(servers);
            }
        }
        index
    }

    /// Generation of the snapshot this index was compiled from.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Every address the resolver should listen on.
    pub fn listen_addrs(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.listen.keys().copied()
    }

    /// True if `addr` is one of our own listen addresses (never an upstream).
    pub fn is_listen(&self, addr: IpAddr) -> bool {
        self.listen.contains_key(&addr)
    }

    /// Identifies the sender of a query received on `listen` from `src`:
    /// only members of the network owning `listen` are served, and
    /// addresses of its subnets (members whose record is still on its way).
    pub fn requester(&self, listen: IpAddr, src: IpAddr) -> Option<Requester> {
        let network = *self.listen.get(&listen)?;
        let net = &self.networks[network];
        if let Some(holder) = net.holders.get(&src) {
            return Some(Requester {
                network,
                sandbox: Some(holder.sandbox),
            });
        }
        let src = canonical(src);
        net.subnets
            .iter()
            .any(|s| s.contains(src) && s.addr != src)
            .then_some(Requester {
                network,
                sandbox: None,
            })
    }

    /// Networks visible to a requester: the one asked first, then the
    /// sandbox's other networks in snapshot order.
    fn visible(&self, who: Requester) -> impl Iterator<Item = &NetworkIndex> + '_ {
        let others = who
            .sandbox
            .map_or(&[][..], |sb| &self.sandboxes[sb].networks)
            .iter()
            .filter(move |&&n| n != who.network);
        std::iter::once(who.network)
            .chain(others.copied())
            .map(|n| &self.networks[n])
    }

    /// Addresses of `name` (lowercase, no trailing dot) as seen by `who`.
    /// The first visible network that knows the name answers, as in Docker;
    /// `name.<network>` restricts the lookup to that network.
    pub fn lookup(&self, who: Requester, name: &str) -> Option<&Addrs> {
        if let Some(addrs) = self.visible(who).find_map(|net| net.names.get(name)) {
            return Some(addrs);
        }
        self.visible(who).find_map(|net| {
            let host = name.strip_suffix(&*net.name)?.strip_suffix('.')?;
            net.names.get(host)
        })
    }

    /// PTR target for `addr` if a member visible to `who` holds it.
    pub fn reverse(&self, who: Requester, addr: IpAddr) -> Option<&str> {
        self.visible(who)
            .find_map(|net| net.holders.get(&addr)?.ptr.as_deref())
    }

    /// False if every network of the requester is `--internal`.
    pub fn may_forward(&self, who: Requester) -> bool {
        match who.sandbox {
            Some(sb) => self.sandboxes[sb].may_forward,
            None => !self.networks[who.network].internal,
        }
    }

    /// Upstreams overriding the host's: the container's `--dns`, else the
    /// asked network's; `None` means the host's resolv.conf.
    pub fn upstreams(&self, who: Requester) -> Option<Arc<[SocketAddr]>> {
        who.sandbox
            .and_then(|sb| self.sandboxes[sb].upstreams.clone())
            .or_else(|| self.networks[who.network].upstreams.clone())
    }

    /// Id of the network a requester asked on (for logs).
    pub fn network_id(&self, who: Requester) -> &str {
        &self.networks[who.network].id
    }
}

impl NetworkIndex {
    fn add_member(&mut self, sandbox: usize, names: &[String], addrs: &[IpAddr]) {
        let names: Vec<String> = names
            .iter()
            .map(|n| normalize_name(n))
            .filter(|n| {
                let ok = is_valid_name(n);
                if !ok {
                    tracing::warn!(network = %self.id, name = %n, "skipping invalid name");
                }
                ok
            })
            .collect();
        for addr in addrs {
            if self.holders.contains_key(addr) {
                tracing::warn!(network = %self.id, %addr, "address held twice, keeping the first");
                continue;
            }
            let ptr = names.first().map(|n| n.as_str().into());
            self.holders.insert(*addr, Holder { sandbox, ptr });
        }
        for name in names {
            let entry = self.names.entry(name.into_boxed_str()).or_default();
            addrs.iter().for_each(|a| entry.push(*a));
        }
    }
}

/// An IPv4 address as IPv4 even when it came in IPv4-mapped form (dual-stack socket).
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn upstreams(servers: &[IpAddr]) -> Option<Arc<[SocketAddr]>> {
    (!servers.is_empty()).then(|| {
        servers
            .iter()
            .map(|ip| SocketAddr::new(*ip, DNS_PORT))
            .collect()
    })
}
