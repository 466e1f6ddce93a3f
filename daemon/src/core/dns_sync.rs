//! Feeding the embedded DNS resolver: after every change of networks or
//! endpoints, the core writes an immutable snapshot of the records and
//! nudges the resolver process (cnm-dns, see daemon/dns), which swaps it in
//! at once (bench/dns_follow.py measures connect to answer). The
//! resolver is its own process so names keep resolving while cnmd is down.
//! On overlay networks the records of other hosts' endpoints come from the
//! cluster store ([`DnsIdentity`] travels in each endpoint's record).

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use cnm_dns::{is_valid_name, MemberBuilder, NetworkBuilder, ResolverCommand, Snapshot};
use serde::{Deserialize, Serialize};

use super::state::{Phase, State};
use super::{full_message, Core, CoreError};
use crate::model::{short_id, EndpointRecord, NetworkRecord, SandboxRecord};

/// The network option that turns embedded DNS off (`-o dns=false`).
pub const DNS_OPTION: &str = "dns";

/// Where the resolver lives and what it reads.
#[derive(Debug, Clone)]
pub struct DnsPaths {
    /// The cnm-dns binary.
    pub binary: PathBuf,
    /// `<run-root>/dns/snapshot.json`.
    pub snapshot: PathBuf,
    pub pid_file: PathBuf,
    /// The host's resolver configuration (`--resolv-conf`).
    pub resolv_conf: PathBuf,
}

/// The snapshot thread writes at most once per this long: a lone change is
/// written at once, a burst waits out the rest of the window and goes in
/// one write (the promise is records within 100 ms).
const COALESCE: std::time::Duration = std::time::Duration::from_millis(15);

/// Serializes snapshot writes: the file is the truth, so the last write
/// must be the newest state.
pub(super) struct DnsFeed {
    paths: DnsPaths,
    generation: AtomicU64,
    writing: Mutex<()>,
    /// Wakes the background writer; None until `start_dns_writer` ran
    /// (writes are synchronous until then: start-up, unit tests).
    wake: Mutex<Option<mpsc::Sender<()>>>,
}

impl DnsFeed {
    pub fn new(paths: DnsPaths) -> Self {
        let start = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() << 20)
            .unwrap_or_default();
        DnsFeed {
            paths,
            generation: AtomicU64::new(start),
            writing: Mutex::new(()),
            wake: Mutex::new(None),
        }
    }

    fn command(&self) -> ResolverCommand {
        let p = &self.paths;
        ResolverCommand::new(&p.binary, &p.snapshot, &p.pid_file, &p.resolv_conf)
    }
}

impl Core {
    /// Tells the resolver about a change (here, or of another host's
    /// endpoints). The write happens on the snapshot thread: building the
    /// snapshot is O(records), which a connect should not wait for.
    pub(crate) fn publish_dns(&self) {
        let Some(feed) = &self.dns else { return };
        let woken = feed
            .wake
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_some_and(|tx| tx.send(()).is_ok());
        if !woken {
            self.write_dns_snapshot();
        }
    }

    /// Starts the thread that writes snapshots; bursts of changes coalesce
    /// into one write of the newest state.
    pub fn start_dns_writer(self: &Arc<Self>) -> Result<(), CoreError> {
        let Some(feed) = &self.dns else { return Ok(()) };
        let (tx, rx) = mpsc::channel::<()>();
        let core = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("cnm-dns-snapshot".into())
            .spawn(move || {
                let mut last_write: Option<std::time::Instant> = None;
                while rx.recv().is_ok() {
                    // A burst (a runtime starting many containers) gets one
                    // O(records) build and one resolver reload per window,
                    // instead of CPU taken from each connect on a small
                    // host; a change after a quiet spell goes out at once.
                    let since = last_write.map(|t| t.elapsed());
                    if let Some(wait) = since.and_then(|s| COALESCE.checked_sub(s)) {
                        std::thread::sleep(wait);
                    }
                    while rx.try_recv().is_ok() {}
                    let Some(core) = core.upgrade() else { break };
                    core.write_dns_snapshot();
                    last_write = Some(std::time::Instant::now());
                }
            })
            .map_err(|e| {
                CoreError::Internal(format!(
                    "start the DNS snapshot thread: {}",
                    full_message(&e)
                ))
            })?;
        *feed.wake.lock().unwrap_or_else(|e| e.into_inner()) = Some(tx);
        Ok(())
    }

    /// Writes the current records for the resolver. Failures are logged:
    /// DNS lagging behind must not fail a connect that already happened.
    fn write_dns_snapshot(&self) {
        let Some(feed) = &self.dns else { return };
        let _writing = feed.writing.lock().unwrap_or_else(|e| e.into_inner());
        let generation = feed.generation.fetch_add(1, Ordering::Relaxed) + 1;
        // Read before the state lock is taken: the cluster's peer table and
        // the core's state are never locked together, in either order.
        let remote = self
            .cluster
            .get()
            .map(|c| c.remote_dns_members())
            .unwrap_or_default();
        let snapshot = build_snapshot(&self.state(), &remote, generation);
        let written = snapshot.and_then(|s| s.write_atomic(&feed.paths.snapshot));
        match written {
            Ok(()) => cnm_dns::nudge(&feed.paths.snapshot),
            Err(err) => {
                tracing::error!(error = %err, "cannot write the DNS snapshot; names may be stale")
            }
        }
    }

    /// What the other hosts' DNS should know endpoint `endpoint_id` by
    /// (asked while the endpoint is being connected).
    pub(crate) fn dns_identity(&self, endpoint_id: &str) -> Option<DnsIdentity> {
        let st = self.state();
        let endpoint = &st.endpoints.get(endpoint_id)?.record;
        let sandbox = st.sandboxes.get(&endpoint.sandbox_id)?;
        Some(DnsIdentity::of(sandbox, endpoint))
    }

    /// The resolver's query counters as it last wrote them.
    pub fn dns_stats(&self) -> Option<cnm_dns::DnsStats> {
        let feed = self.dns.as_ref()?;
        cnm_dns::DnsStats::read(&cnm_dns::stats_path(&feed.paths.snapshot))
    }

    /// Starts the resolver unless one is running already (it outlives
    /// cnmd), and replaces one running an older binary.
    pub fn ensure_resolver(&self) -> Result<(), CoreError> {
        let Some(feed) = &self.dns else { return Ok(()) };
        if !feed.paths.snapshot.exists() {
            self.write_dns_snapshot();
        }
        let pid = feed.command().ensure_running().map_err(|e| {
            CoreError::Internal(format!("start the DNS resolver: {}", full_message(&e)))
        })?;
        tracing::debug!(pid, "DNS resolver running");
        Ok(())
    }
}

/// Why the embedded DNS cannot serve networks of `driver`: the drivers
/// that put containers on a parent's LAN (docs/drivers.md).
pub(super) fn dns_unavailable(driver: &str) -> Option<String> {
    matches!(driver, "macvlan" | "ipvlan").then(|| {
        format!(
            "the resolver answers on the network's gateway address in cnmd's namespace, and a \
             {driver} network has no bridge there: its gateway is a router on the parent's LAN, \
             and containers cannot reach the host through the parent; containers use the \
             host's resolvers, or pass --dns"
        )
    })
}

/// Whether a network gets embedded DNS: user-defined bridge and overlay
/// networks, as in Docker (not the default `bridge`), unless `-o dns=false`.
/// An overlay network's gateway is the same address on every host, on the
/// host's own bridge, so each host answers for it locally.
pub(super) fn dns_enabled(net: &NetworkRecord) -> bool {
    matches!(net.driver.as_str(), "bridge" | "overlay")
        && !net.builtin
        && net.options.get(DNS_OPTION).is_none_or(|v| v != "false")
}

/// What the embedded DNS knows an endpoint by: its sandbox (whose 12-hex
/// short id is a name too), the sandbox's name and the endpoint's aliases
/// (where the bundled runtime puts the hostname). Overlay endpoints carry it
/// to the other hosts in their record in the cluster store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsIdentity {
    /// 64 hex digits.
    pub sandbox_id: String,
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
}

impl DnsIdentity {
    fn of(sandbox: &SandboxRecord, endpoint: &EndpointRecord) -> Self {
        DnsIdentity {
            sandbox_id: sandbox.id.clone(),
            name: sandbox.name.to_string(),
            aliases: endpoint.aliases.clone(),
        }
    }
}

/// An endpoint on another host, as this host's resolver serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteMember {
    identity: DnsIdentity,
    ip: IpAddr,
}

impl RemoteMember {
    /// None for an identity the resolver would refuse (a sandbox id that is
    /// not 64 hex digits): one bad record must not stop every name.
    pub fn new(identity: DnsIdentity, ip: IpAddr) -> Option<Self> {
        let id = &identity.sandbox_id;
        let valid = id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit());
        valid.then_some(RemoteMember { identity, ip })
    }
}

/// Other hosts' endpoints by network id.
pub type RemoteMembers = BTreeMap<String, Vec<RemoteMember>>;

/// The record of one endpoint: the sandbox's name, the endpoint's aliases
/// and the short id, those that are valid DNS names.
fn member(
    sandbox_id: &str,
    name: &str,
    aliases: &[String],
    addrs: impl IntoIterator<Item = IpAddr>,
) -> MemberBuilder {
    let names = std::iter::once(name)
        .chain(aliases.iter().map(String::as_str))
        .chain(std::iter::once(short_id(sandbox_id)))
        .filter(|n| is_valid_name(n))
        .map(str::to_owned);
    addrs.into_iter().fold(
        MemberBuilder::new(sandbox_id.to_owned()).names(names),
        MemberBuilder::addr,
    )
}

fn build_snapshot(
    st: &State,
    remote: &RemoteMembers,
    generation: u64,
) -> Result<Snapshot, cnm_dns::SnapshotError> {
    let mut builder = Snapshot::builder(generation);
    for entry in st.networks.values().filter(|e| e.phase == Phase::Ready) {
        let net = &entry.record;
        if !dns_enabled(net) {
            continue;
        }
        let mut network =
            NetworkBuilder::new(net.id.clone(), net.name.to_string()).internal(net.internal);
        for gateway in net.subnets.iter().filter_map(|s| s.gateway) {
            network = network.listen(gateway);
        }
        for s in &net.subnets {
            network = network.subnet(s.subnet.network(), s.subnet.prefix());
        }
        for upstream in &net.dns_servers {
            network = network.upstream(*upstream);
        }
        let mut taken = HashSet::new();
        for ep in st
            .endpoints_of_network(&net.id)
            .filter(|e| e.phase == Phase::Ready)
        {
            let Some(sandbox) = st.sandboxes.get(&ep.record.sandbox_id) else {
                continue;
            };
            let addrs: Vec<IpAddr> = ep.record.addresses().map(|a| a.ip()).collect();
            taken.extend(addrs.iter().copied());
            let name = sandbox.name.as_str();
            network = network.member(member(&sandbox.id, name, &ep.record.aliases, addrs));
        }
        // An address held here (or by an earlier record) wins: a host back
        // after its lease expired may announce an address another host has
        // taken meanwhile, and a duplicate would fail the whole snapshot.
        for m in remote.get(&net.id).into_iter().flatten() {
            if taken.insert(m.ip) {
                let id = &m.identity;
                network = network.member(member(&id.sandbox_id, &id.name, &id.aliases, [m.ip]));
            }
        }
        builder = builder.network(network);
    }
    for sandbox in st.sandboxes.values().filter(|s| !s.dns_servers.is_empty()) {
        builder = builder.sandbox_dns(sandbox.id.clone(), sandbox.dns_servers.clone());
    }
    builder.build()
}

#[cfg(test)]
#[path = "dns_sync_tests.rs"]
mod tests;
