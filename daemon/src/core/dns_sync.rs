//! Feeding the embedded DNS resolver: after every change of networks or
//! endpoints, the core writes an immutable snapshot of the records that the
//! resolver process (cnm-dns, see daemon/dns) swaps in within ~25 ms. The
//! resolver is its own process so names keep resolving while cnmd is down.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use cnm_dns::{is_valid_name, MemberBuilder, NetworkBuilder, ResolverCommand, Snapshot};

use super::state::{Phase, State};
use super::{full_message, Core, CoreError};
use crate::model::{short_id, NetworkRecord};

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

/// How long the snapshot thread waits after a change for more changes. With
/// the resolver's ~25 ms poll, records still follow within ~50 ms (the
/// promise is 100 ms).
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
    /// Tells the resolver about a change. The write happens on the
    /// snapshot thread: building the snapshot is O(records), which a connect
    /// should not wait for (records still follow within ~50 ms).
    pub(super) fn publish_dns(&self) {
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
                while rx.recv().is_ok() {
                    // Let a burst settle (a runtime starting many containers):
                    // one O(records) build and one resolver reload for all of
                    // it, instead of CPU taken from each connect on a small host.
                    std::thread::sleep(COALESCE);
                    while rx.try_recv().is_ok() {}
                    let Some(core) = core.upgrade() else { break };
                    core.write_dns_snapshot();
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
        let snapshot = build_snapshot(&self.state(), generation);
        let written = snapshot.and_then(|s| s.write_atomic(&feed.paths.snapshot));
        if let Err(err) = written {
            tracing::error!(error = %err, "cannot write the DNS snapshot; names may be stale");
        }
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

/// Whether a network gets embedded DNS: user-defined bridge networks, as in
/// Docker (not the default `bridge`), unless `-o dns=false`.
pub(super) fn dns_enabled(net: &NetworkRecord) -> bool {
    net.driver == "bridge"
        && !net.builtin
        && net.options.get(DNS_OPTION).is_none_or(|v| v != "false")
}

fn build_snapshot(st: &State, generation: u64) -> Result<Snapshot, cnm_dns::SnapshotError> {
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
        for ep in st
            .endpoints_of_network(&net.id)
            .filter(|e| e.phase == Phase::Ready)
        {
            let Some(sandbox) = st.sandboxes.get(&ep.record.sandbox_id) else {
                continue;
            };
            let names = std::iter::once(sandbox.name.as_str())
                .chain(ep.record.aliases.iter().map(String::as_str))
                .chain(std::iter::once(short_id(&sandbox.id)))
                .filter(|n| is_valid_name(n))
                .map(str::to_owned);
            let mut member = MemberBuilder::new(sandbox.id.clone()).names(names);
            for addr in ep.record.addresses() {
                member = member.addr(addr.ip());
            }
            network = network.member(member);
        }
        builder = builder.network(network);
    }
    for sandbox in st.sandboxes.values().filter(|s| !s.dns_servers.is_empty()) {
        builder = builder.sandbox_dns(sandbox.id.clone(), sandbox.dns_servers.clone());
    }
    builder.build()
}
