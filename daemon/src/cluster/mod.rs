//! Multi-host state for overlay networks, in etcd (`--cluster-store`).
//!
//! Network definitions, the one address space of global networks and the
//! table of endpoints (who lives on which host) are kept in etcd; each host
//! caches what it needs in its own store and kernel. Every allocation is an
//! etcd transaction that compares before it writes, so two hosts can never
//! take the same subnet, VXLAN id or address.
//!
//! Each host holds a lease (`--cluster-ttl`) that its endpoints and
//! addresses are attached to: when the host dies they expire, and the other
//! hosts, watching, withdraw its peers. Every call to etcd has a deadline,
//! so a host cut off from etcd refuses new global work with an error
//! instead of hanging; its data plane is untouched.
//!
//! Why the `etcd-client` crate: 0.21 speaks etcd's v3 gRPC API on the
//! workspace's tonic 0.14 and prost 0.14, so it adds no second HTTP/2 or
//! protobuf stack, and gives watches and lease keep-alives as streams
//! (the JSON gateway would need hand-written chunked-stream parsing).

mod announce;
mod ipam;
pub mod keys;
mod lease;
mod peers;
mod probe;
mod tls;

use std::future::Future;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use anyhow::Context;
use etcd_client::{Client, ConnectOptions, PutOptions};

pub use ipam::{ClusterIpam, CLUSTER_IPAM};
pub use peers::ClusterPeers;
pub use tls::{EtcdTls, TlsFlags};

use crate::core::Core;

/// Deadline of one etcd request: well inside the 10 s a user waits at most
/// for a refusal when etcd is unreachable.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(4);

/// `--cluster-*` flags, checked.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// As given (`etcd://HOST:PORT,…`), for messages.
    pub store: String,
    /// `http://HOST:PORT` (`https://` for `etcds://`) for each etcd member.
    pub endpoints: Vec<String>,
    /// The CA and client certificate of an `etcds://` store.
    pub tls: Option<EtcdTls>,
    /// This host's underlay address: VXLAN source, peers' destination.
    pub advertise: Ipv4Addr,
    pub ttl: u64,
    pub vxlan_port: u16,
}

impl ClusterConfig {
    pub fn parse(
        store: &str,
        advertise: Option<&str>,
        ttl: u64,
        vxlan_port: u16,
        tls: TlsFlags<'_>,
    ) -> anyhow::Result<ClusterConfig> {
        // TLS is chosen by the scheme, not by the presence of a CA file:
        // the store's URL alone then says how cnmd talks to etcd (in flags,
        // daemon.json and every message), as `-H tcp://` with `--tlsverify`
        // does for the API; and TLS files next to an `etcd://` store are
        // refused rather than silently switching the store to TLS or
        // silently ignored (a half-done move to TLS fails at start).
        let (scheme, members) = store
            .strip_prefix("etcds://")
            .map(|m| ("https", m))
            .or_else(|| store.strip_prefix("etcd://").map(|m| ("http", m)))
            .with_context(|| {
                format!(
                    "--cluster-store {store}: use etcd://HOST:PORT[,HOST:PORT…] \
                     (etcds:// for TLS)"
                )
            })?;
        let endpoints: Vec<String> = members
            .split(',')
            .filter(|m| !m.is_empty())
            .map(|m| format!("{scheme}://{m}"))
            .collect();
        if endpoints.is_empty() {
            anyhow::bail!("--cluster-store {store}: name at least one etcd member");
        }
        let advertise = advertise.context(
            "--cluster-store needs --cluster-advertise IP[:PORT] (this host's underlay address)",
        )?;
        let ip = advertise
            .rsplit_once(':')
            .filter(|(_, port)| port.parse::<u16>().is_ok())
            .map_or(advertise, |(ip, _)| ip);
        let advertise: Ipv4Addr = ip.parse().with_context(|| {
            format!("--cluster-advertise {advertise}: give an IPv4 address of this host")
        })?;
        if !(5..=3600).contains(&ttl) {
            anyhow::bail!("--cluster-ttl {ttl}: use 5-3600 seconds");
        }
        // Last: the only check that reads files.
        let tls = EtcdTls::from_flags(scheme == "https", tls)?;
        Ok(ClusterConfig {
            store: store.to_owned(),
            endpoints,
            tls,
            advertise,
            ttl,
            vxlan_port,
        })
    }
}

/// Why a cluster operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "cluster store {store} is unreachable ({reason}); overlay networks keep forwarding, \
         but new connects, creates and removals on them are refused until it is back"
    )]
    Unavailable { store: String, reason: String },
    #[error("{0}")]
    Refused(String),
}

/// The connection to the cluster store, shared by the IPAM, the overlay
/// driver's peer table and the watch that feeds the core.
pub struct Cluster {
    config: ClusterConfig,
    /// etcd's client is async; the core is blocking. Its own runtime lets
    /// blocking callers wait on it from any plain or blocking-pool thread.
    runtime: tokio::runtime::Runtime,
    client: Client,
    lease: AtomicI64,
    /// Lease-bound keys this host wrote, to write again under a new lease
    /// if the old one expired while etcd was out of reach.
    owned: Mutex<std::collections::BTreeMap<String, String>>,
    /// Lease-bound keys this host gave up while etcd was out of reach:
    /// deleted by `retry_deletes` once it is back (else they would stay as
    /// long as the lease lives, holding addresses and stale peers).
    doomed: Mutex<std::collections::BTreeSet<String>>,
    core: OnceLock<std::sync::Weak<Core>>,
    peers: peers::PeerCache,
    /// Global networks created on this host: the watch, which sees them
    /// before the core has recorded them, leaves them to the creator.
    created_here: Mutex<std::collections::BTreeSet<String>>,
}

impl Cluster {
    /// Connects to etcd and takes this host's lease. Fails (within a few
    /// seconds) when no member answers, or none can be used (TLS
    /// handshake refused, plain HTTP to a TLS port), saying why.
    pub fn connect(config: ClusterConfig) -> anyhow::Result<Arc<Cluster>> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("cnmd-cluster")
            .enable_all()
            .build()
            .context("start the cluster runtime")?;
        runtime
            .block_on(probe::members(
                &config.endpoints,
                config.tls.as_ref(),
                REQUEST_TIMEOUT,
            ))
            .map_err(|reason| anyhow::anyhow!(reason))
            .with_context(|| format!("connect to the cluster store {}", config.store))?;
        let mut options = ConnectOptions::new()
            .with_connect_timeout(REQUEST_TIMEOUT)
            .with_timeout(REQUEST_TIMEOUT)
            .with_keep_alive(Duration::from_secs(2), Duration::from_secs(2));
        if let Some(tls) = &config.tls {
            options = options.with_tls(tls.client.clone());
        }
        let endpoints = config.endpoints.clone();
        let client = runtime
            .block_on(async {
                tokio::time::timeout(REQUEST_TIMEOUT, Client::connect(endpoints, Some(options)))
                    .await
            })
            .map_err(|_| anyhow::anyhow!("no answer within {REQUEST_TIMEOUT:?}"))
            .and_then(|r| r.map_err(anyhow::Error::from))
            .with_context(|| format!("connect to the cluster store {}", config.store))?;
        let cluster = Arc::new(Cluster {
            config,
            runtime,
            client,
            lease: AtomicI64::new(0),
            owned: Mutex::new(Default::default()),
            doomed: Mutex::new(Default::default()),
            core: OnceLock::new(),
            peers: peers::PeerCache::default(),
            created_here: Mutex::new(Default::default()),
        });
        cluster
            .grant_lease()
            .map_err(|e| anyhow::anyhow!(e))
            .context("take this host's lease in the cluster store")?;
        tracing::info!(store = %cluster.config.store, advertise = %cluster.config.advertise,
            ttl = cluster.config.ttl, "joined the cluster");
        Ok(cluster)
    }

    /// Starts the lease keep-alive and the watch that brings other hosts'
    /// networks and endpoints here.
    pub fn start(self: &Arc<Self>, core: &Arc<Core>) {
        let _ = self.core.set(Arc::downgrade(core));
        if !self.announce_again(core) {
            self.runtime
                .spawn(announce::announce_until_done(self.clone()));
        }
        self.runtime.spawn(lease::keep_alive(self.clone()));
        self.runtime.spawn(lease::retry_deletes(self.clone()));
        self.runtime.spawn(peers::watch(self.clone()));
    }

    /// Writes `key` bound to this host's lease and remembers it.
    fn put_leased(&self, key: &str, value: &str) -> Result<(), ClusterError> {
        let mut client = self.client();
        let options = PutOptions::new().with_lease(self.lease_id());
        let (k, v) = (key.to_owned(), value.to_owned());
        self.block(async move { client.put(k, v, Some(options)).await })?;
        self.own(key, value);
        Ok(())
    }

    fn core(&self) -> Option<Arc<Core>> {
        self.core.get().and_then(std::sync::Weak::upgrade)
    }

    fn client(&self) -> Client {
        self.client.clone()
    }

    fn lease_id(&self) -> i64 {
        self.lease.load(Ordering::SeqCst)
    }

    /// Runs one etcd exchange from blocking code, with a deadline.
    fn block<T>(
        &self,
        fut: impl Future<Output = Result<T, etcd_client::Error>>,
    ) -> Result<T, ClusterError> {
        let result = self
            .runtime
            .block_on(async { tokio::time::timeout(REQUEST_TIMEOUT, fut).await });
        match result {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(self.unavailable(err.to_string())),
            Err(_) => Err(self.unavailable(format!("no answer within {REQUEST_TIMEOUT:?}"))),
        }
    }

    fn unavailable(&self, reason: String) -> ClusterError {
        ClusterError::Unavailable {
            store: self.config.store.clone(),
            reason,
        }
    }

    /// Remembers a lease-bound key this host wrote (see `owned`).
    fn own(&self, key: &str, value: &str) {
        lock(&self.doomed).remove(key);
        lock(&self.owned).insert(key.to_owned(), value.to_owned());
    }

    /// Deletes a lease-bound key this host no longer holds. If etcd cannot
    /// be reached the key is deleted later (see `doomed`) and the error
    /// returned, for the caller to log.
    fn disown(&self, key: &str) -> Result<(), ClusterError> {
        lock(&self.owned).remove(key);
        let mut client = self.client();
        let k = key.to_owned();
        match self.block(async move { client.delete(k, None).await }) {
            Ok(_) => Ok(()),
            Err(err) => {
                lock(&self.doomed).insert(key.to_owned());
                Err(err)
            }
        }
    }
}

/// With `--cluster-store`: connects, and registers the overlay driver and
/// the cluster IPAM. The caller starts the watch once the core exists.
pub fn join(
    config: Option<ClusterConfig>,
    drivers: &mut crate::core::Drivers,
) -> anyhow::Result<Option<Arc<Cluster>>> {
    let Some(cluster_config) = config else {
        return Ok(None);
    };
    let cluster = Cluster::connect(cluster_config)?;
    drivers.register(Arc::new(cnm_drivers::OverlayDriver::new(Arc::new(
        ClusterPeers(cluster.clone()),
    ))));
    drivers.register_ipam(Arc::new(ClusterIpam::new(cluster.clone())));
    Ok(Some(cluster))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(store: &str, advertise: Option<&str>, ttl: u64) -> anyhow::Result<ClusterConfig> {
        ClusterConfig::parse(store, advertise, ttl, 4789, TlsFlags::default())
    }

    #[test]
    fn parses_store_and_advertise() {
        let c = parse(
            "etcd://10.0.0.1:2379,10.0.0.2:2379",
            Some("10.0.0.5:2376"),
            15,
        )
        .expect("valid");
        assert_eq!(
            c.endpoints,
            ["http://10.0.0.1:2379", "http://10.0.0.2:2379"]
        );
        assert!(c.tls.is_none());
        assert_eq!(c.advertise, Ipv4Addr::new(10, 0, 0, 5));
        assert!(parse("consul://x:1", Some("10.0.0.5"), 15).is_err());
        assert!(parse("etcd://x:1", None, 15).is_err());
        assert!(parse("etcd://x:1", Some("eth0"), 15).is_err());
        assert!(parse("etcd://x:1", Some("10.0.0.5"), 1).is_err());
    }

    #[test]
    fn etcds_store_speaks_tls_and_needs_its_ca() {
        let err = parse("etcds://10.0.0.1:2379", Some("10.0.0.5"), 15).expect_err("no CA");
        assert!(err.to_string().contains("needs --cluster-cacert"), "{err}");
        let dir = tempfile::tempdir().expect("temp dir");
        let ca = dir.path().join("ca.pem");
        let issued = rcgen::generate_simple_self_signed(vec!["etcd".to_owned()]).expect("CA");
        std::fs::write(&ca, issued.cert.pem()).expect("write CA");
        let tls = TlsFlags {
            ca: Some(&ca),
            ..TlsFlags::default()
        };
        let c = ClusterConfig::parse(
            "etcds://10.0.0.1:2379,10.0.0.2:2379",
            Some("10.0.0.5"),
            15,
            4789,
            tls,
        )
        .expect("valid");
        assert_eq!(
            c.endpoints,
            ["https://10.0.0.1:2379", "https://10.0.0.2:2379"]
        );
        assert!(c.tls.is_some());
        let err = ClusterConfig::parse("etcd://10.0.0.1:2379", Some("10.0.0.5"), 15, 4789, tls)
            .expect_err("CA with plain etcd://");
        assert!(
            err.to_string()
                .starts_with("--cluster-cacert needs --cluster-store etcds://"),
            "{err}"
        );
    }
}
