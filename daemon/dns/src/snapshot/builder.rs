//! Builders that normalize and validate a [`Snapshot`] before cnmd writes it:
//! names are lowercased and deduplicated, the short id is added, and
//! ambiguous data (shared listen addresses, shared member addresses) is refused.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use super::model::{Member, NetworkRecords, Snapshot, SNAPSHOT_FORMAT};
use super::SnapshotError;

/// Length of the short id Docker shows and resolves.
const SHORT_ID_LEN: usize = 12;

impl Snapshot {
    /// Starts a snapshot with the given generation number.
    pub fn builder(generation: u64) -> SnapshotBuilder {
        SnapshotBuilder {
            generation,
            networks: Vec::new(),
            sandbox_dns: BTreeMap::new(),
        }
    }
}

/// Builds a validated [`Snapshot`].
#[derive(Debug, Clone)]
pub struct SnapshotBuilder {
    generation: u64,
    networks: Vec<NetworkBuilder>,
    sandbox_dns: BTreeMap<String, Vec<IpAddr>>,
}

impl SnapshotBuilder {
    /// Adds a network with DNS on.
    pub fn network(mut self, network: NetworkBuilder) -> Self {
        self.networks.push(network);
        self
    }

    /// Sets a container's own `--dns` servers (they win over every other upstream).
    pub fn sandbox_dns(
        mut self,
        sandbox_id: impl Into<String>,
        servers: impl IntoIterator<Item = IpAddr>,
    ) -> Self {
        let servers: Vec<IpAddr> = servers.into_iter().collect();
        if !servers.is_empty() {
            let id: String = sandbox_id.into();
            self.sandbox_dns.insert(id.to_ascii_lowercase(), servers);
        }
        self
    }

    /// Normalizes and validates everything; the result is ready for
    /// [`Snapshot::write_atomic`].
    pub fn build(self) -> Result<Snapshot, SnapshotError> {
        let mut listen_owner: HashMap<IpAddr, String> = HashMap::new();
        let mut networks = Vec::with_capacity(self.networks.len());
        for builder in self.networks {
            let network = builder.build()?;
            for addr in &network.listen {
                if let Some(first) = listen_owner.insert(*addr, network.name.clone()) {
                    return Err(SnapshotError::DuplicateListen {
                        addr: *addr,
                        first,
                        second: network.name.clone(),
                    });
                }
            }
            networks.push(network);
        }
        for id in self.sandbox_dns.keys() {
            check_sandbox_id("", id)?;
        }
        Ok(Snapshot {
            format: SNAPSHOT_FORMAT,
            generation: self.generation,
            networks,
            sandbox_dns: self.sandbox_dns,
        })
    }
}

/// Builds one [`NetworkRecords`].
#[derive(Debug, Clone)]
pub struct NetworkBuilder {
    records: NetworkRecords,
    members: Vec<MemberBuilder>,
}

impl NetworkBuilder {
    /// A network with no listen address and no members yet.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        NetworkBuilder {
            records: NetworkRecords {
                id: id.into(),
                name: name.into(),
                ..NetworkRecords::default()
            },
            members: Vec::new(),
        }
    }

    /// Marks the network `--internal` (no forwarding for its own sandboxes).
    pub fn internal(mut self, internal: bool) -> Self {
        self.records.internal = internal;
        self
    }

    /// Adds a gateway address to serve on.
    pub fn listen(mut self, addr: IpAddr) -> Self {
        if !self.records.listen.contains(&addr) {
            self.records.listen.push(addr);
        }
        self
    }

    /// Adds one of the network's subnets (`addr/prefix_len`).
    pub fn subnet(mut self, addr: IpAddr, prefix_len: u8) -> Self {
        self.records.subnets.push(format!("{addr}/{prefix_len}"));
        self
    }

    /// Adds a per-network upstream (`--dns` on the network).
    pub fn upstream(mut self, addr: IpAddr) -> Self {
        self.records.upstreams_override.push(addr);
        self
    }

    /// Adds a member (an endpoint of a sandbox on this network).
    pub fn member(mut self, member: MemberBuilder) -> Self {
        self.members.push(member);
        self
    }

    fn build(self) -> Result<NetworkRecords, SnapshotError> {
        let mut records = self.records;
        let mut seen_addrs = HashSet::new();
        for member in self.members {
            let member = member.build(&records.name)?;
            for addr in &member.addrs {
                if !seen_addrs.insert(*addr) {
                    return Err(SnapshotError::DuplicateAddress {
                        network: records.name.clone(),
                        addr: *addr,
                    });
                }
            }
            records.members.push(member);
        }
        Ok(records)
    }
}

/// Builds one [`Member`]: give the container name first, then aliases and
/// the hostname; the 12-hex short id is added when the snapshot is built.
#[derive(Debug, Clone)]
pub struct MemberBuilder {
    member: Member,
}

impl MemberBuilder {
    /// A member for the sandbox with this 64-hex id.
    pub fn new(sandbox_id: impl Into<String>) -> Self {
        MemberBuilder {
            member: Member {
                sandbox_id: sandbox_id.into(),
                ..Member::default()
            },
        }
    }

    /// Adds a name (container name, alias or hostname); case is ignored.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.member.names.push(name.into());
        self
    }

    /// Adds several names.
    pub fn names<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.member.names.extend(names.into_iter().map(Into::into));
        self
    }

    /// Adds an address of this endpoint.
    pub fn addr(mut self, addr: IpAddr) -> Self {
        if !self.member.addrs.contains(&addr) {
            self.member.addrs.push(addr);
        }
        self
    }

    fn build(self, network: &str) -> Result<Member, SnapshotError> {
        let mut member = self.member;
        member.sandbox_id = member.sandbox_id.to_ascii_lowercase();
        check_sandbox_id(network, &member.sandbox_id)?;
        let short_id = member.sandbox_id[..SHORT_ID_LEN].to_string();
        let mut seen = HashSet::new();
        let mut names = Vec::with_capacity(member.names.len() + 1);
        for name in member.names.drain(..).chain(std::iter::once(short_id)) {
            let name = normalize_name(&name);
            if !is_valid_name(&name) {
                return Err(SnapshotError::InvalidName {
                    network: network.to_string(),
                    sandbox: member.sandbox_id.clone(),
                    name,
                });
            }
            if seen.insert(name.clone()) {
                names.push(name);
            }
        }
        member.names = names;
        Ok(member)
    }
}

/// Lowercases a name and drops one trailing dot, the form the index uses.
pub(crate) fn normalize_name(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// True for names Docker accepts as container names, aliases or hostnames.
/// Whether `name` can be served: dot-separated labels of 1-63 letters,
/// digits, `-` or `_`, 253 bytes at most.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn check_sandbox_id(network: &str, id: &str) -> Result<(), SnapshotError> {
    let ok = id.len() == 64 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if ok {
        Ok(())
    } else {
        Err(SnapshotError::InvalidSandboxId {
            network: network.to_string(),
            id: id.to_string(),
        })
    }
}
