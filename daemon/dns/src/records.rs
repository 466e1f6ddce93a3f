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
}

#[derive(Debug, Default)]
struct SandboxIndex {
    networks: Vec<usize>,
    upstreams: Option<Arc<[SocketAddr]>>,
    /// False when every network of the sandbox is `--internal`.
    may_forward: bool,
}

/// Who sent a query: the network it arrived on and the sandbox it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requester {
    network: usize,
    sandbox: usize,
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
    /// only members of the network owning `listen` are served.
    pub fn requester(&self, listen: IpAddr, src: IpAddr) -> Option<Requester> {
        let network = *self.listen.get(&listen)?;
        let holder = self.networks[network].holders.get(&src)?;
        Some(Requester {
            network,
            sandbox: holder.sandbox,
        })
    }

    /// Networks visible to a requester: the one asked first, then the
    /// sandbox's other networks in snapshot order.
    fn visible(&self, who: Requester) -> impl Iterator<Item = &NetworkIndex> + '_ {
        let others = self.sandboxes[who.sandbox]
            .networks
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
        self.sandboxes[who.sandbox].may_forward
    }

    /// Upstreams overriding the host's: the container's `--dns`, else the
    /// asked network's; `None` means the host's resolv.conf.
    pub fn upstreams(&self, who: Requester) -> Option<Arc<[SocketAddr]>> {
        self.sandboxes[who.sandbox]
            .upstreams
            .clone()
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

fn upstreams(servers: &[IpAddr]) -> Option<Arc<[SocketAddr]>> {
    (!servers.is_empty()).then(|| {
        servers
            .iter()
            .map(|ip| SocketAddr::new(*ip, DNS_PORT))
            .collect()
    })
}
