//! The endpoint table: this host announces its overlay endpoints (bound to
//! its lease) and programs the other hosts' endpoints into its VXLAN
//! devices and its embedded DNS as they appear and disappear in etcd. The
//! same watch brings the definitions of global networks made elsewhere to
//! the core.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cnm_drivers::overlay::peers::{self as kernel, RemotePeer};
use cnm_drivers::overlay::PeerTable;
use cnm_drivers::EndpointSpec;
use etcd_client::{EventType, GetOptions, WatchOptions};
use serde::{Deserialize, Serialize};

use super::keys::{self, Parsed};
use super::{lock, Cluster};
use crate::core::{DnsIdentity, RemoteMember, RemoteMembers};
use crate::model::NetworkRecord;

/// An endpoint as etcd holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct PeerRecord {
    /// The underlay address of the host it lives on.
    host: Ipv4Addr,
    mac: String,
    #[serde(default)]
    ip: Option<IpAddr>,
    /// The names the other hosts' DNS serves for `ip`; absent in records
    /// of older cnmd (their endpoints are reachable, not named).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dns: Option<DnsIdentity>,
}

impl PeerRecord {
    fn remote(self) -> Option<RemoteEndpoint> {
        let peer = RemotePeer {
            host: self.host,
            mac: parse_mac(&self.mac)?,
            ip: self.ip,
        };
        let dns = match (self.dns, self.ip) {
            (Some(identity), Some(ip)) => RemoteMember::new(identity, ip),
            _ => None,
        };
        Some(RemoteEndpoint { peer, dns })
    }
}

/// A remote endpoint as this host uses it: in the kernel and in DNS.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RemoteEndpoint {
    peer: RemotePeer,
    dns: Option<RemoteMember>,
}

/// Remote endpoints known here: network id -> endpoint id -> endpoint.
#[derive(Default)]
pub(super) struct PeerCache {
    remote: Mutex<BTreeMap<String, BTreeMap<String, RemoteEndpoint>>>,
}

/// The overlay driver's view of the cluster.
pub struct ClusterPeers(pub Arc<Cluster>);

impl PeerTable for ClusterPeers {
    fn tunnel(&self) -> (Ipv4Addr, u16) {
        (self.0.config.advertise, self.0.config.vxlan_port)
    }

    fn publish(&self, network_id: &str, ep: &EndpointSpec) -> Result<(), String> {
        let (key, value) = self.0.endpoint_entry(network_id, ep)?;
        self.0.put_leased(&key, &value).map_err(|e| e.to_string())
    }

    fn withdraw(&self, network_id: &str, endpoint_id: &str) -> Result<(), String> {
        self.0
            .disown(&keys::endpoint(network_id, endpoint_id))
            .map_err(|e| e.to_string())
    }

    fn network_ready(&self, network_id: &str) {
        let peers: Vec<RemotePeer> = lock(&self.0.peers.remote)
            .get(network_id)
            .map(|m| m.values().map(|r| r.peer.clone()).collect())
            .unwrap_or_default();
        for peer in peers {
            if let Err(err) = kernel::add(network_id, &peer) {
                tracing::warn!(network = %network_id, host = %peer.host, error = %err, "program overlay peer");
            }
        }
    }
}

impl Cluster {
    /// The key and value that announce this host's endpoint `ep`.
    pub(super) fn endpoint_entry(
        &self,
        network_id: &str,
        ep: &EndpointSpec,
    ) -> Result<(String, String), String> {
        let record = PeerRecord {
            host: self.config.advertise,
            mac: mac_text(ep.mac),
            ip: ep.addresses.first().map(|a| a.ip()),
            dns: self.core().and_then(|core| core.dns_identity(&ep.id)),
        };
        let value = serde_json::to_string(&record).map_err(|e| e.to_string())?;
        Ok((keys::endpoint(network_id, &ep.id), value))
    }
}

/// Follows the cluster state until cnmd exits: a full read, then a watch
/// from the revision after it; on any break, the same again (the full
/// read repairs whatever was missed).
pub(super) async fn watch(cluster: Arc<Cluster>) {
    loop {
        if let Err(err) = sync_and_follow(&cluster).await {
            tracing::warn!(error = %err, "cluster watch interrupted; resyncing");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn sync_and_follow(cluster: &Arc<Cluster>) -> Result<(), etcd_client::Error> {
    let mut client = cluster.client();
    let snapshot = tokio::time::timeout(
        super::REQUEST_TIMEOUT,
        client.get(keys::ROOT, Some(GetOptions::new().with_prefix())),
    )
    .await
    .map_err(|_| etcd_client::Error::WatchError("full read timed out".into()))??;
    let revision = snapshot.header().map_or(0, |h| h.revision());
    let entries: Vec<(String, Vec<u8>)> = snapshot
        .kvs()
        .iter()
        .filter_map(|kv| Some((kv.key_str().ok()?.to_owned(), kv.value().to_vec())))
        .collect();
    let c = cluster.clone();
    let _ = tokio::task::spawn_blocking(move || c.apply_snapshot(entries)).await;
    let options = WatchOptions::new()
        .with_prefix()
        .with_start_revision(revision + 1);
    let mut stream = client.watch(keys::ROOT, Some(options)).await?;
    while let Some(resp) = stream.message().await? {
        if resp.canceled() {
            return Err(etcd_client::Error::WatchError(
                resp.cancel_reason().to_owned(),
            ));
        }
        let events: Vec<(bool, String, Vec<u8>)> = resp
            .events()
            .iter()
            .filter_map(|ev| {
                let kv = ev.kv()?;
                let put = ev.event_type() == EventType::Put;
                Some((put, kv.key_str().ok()?.to_owned(), kv.value().to_vec()))
            })
            .collect();
        let c = cluster.clone();
        let _ = tokio::task::spawn_blocking(move || {
            for (put, key, value) in events {
                c.apply(put, &key, &value);
            }
        })
        .await;
    }
    Err(etcd_client::Error::WatchError("watch stream ended".into()))
}

impl Cluster {
    /// Makes the local view equal to a full read: networks first (the
    /// devices peers are programmed on), then endpoints, then whatever
    /// disappeared while the watch was down.
    fn apply_snapshot(&self, entries: Vec<(String, Vec<u8>)>) {
        let mut networks = Vec::new();
        let mut endpoints = BTreeMap::new();
        for (key, value) in &entries {
            match keys::parse(key) {
                Parsed::Network(id) => networks.push((id.to_owned(), value.clone())),
                Parsed::Endpoint { network, endpoint } => {
                    endpoints.insert((network.to_owned(), endpoint.to_owned()), value.clone());
                }
                Parsed::Other => {}
            }
        }
        if let Some(core) = self.core() {
            let known: Vec<String> = networks.iter().map(|(id, _)| id.clone()).collect();
            core.forget_global_networks_except(&known);
        }
        for (id, value) in &networks {
            self.apply(true, &keys::network(id), value);
        }
        let stale: Vec<(String, String)> = lock(&self.peers.remote)
            .iter()
            .flat_map(|(net, eps)| eps.keys().map(move |ep| (net.clone(), ep.clone())))
            .filter(|k| !endpoints.contains_key(k))
            .collect();
        for (net, ep) in stale {
            self.apply(false, &keys::endpoint(&net, &ep), &[]);
        }
        for ((net, ep), value) in &endpoints {
            self.apply(true, &keys::endpoint(net, ep), value);
        }
    }

    /// One change seen in etcd.
    fn apply(&self, put: bool, key: &str, value: &[u8]) {
        match keys::parse(key) {
            Parsed::Network(id) => self.apply_network(put, id, value),
            Parsed::Endpoint { network, endpoint } => {
                if put {
                    self.add_peer(network, endpoint, value);
                } else {
                    self.remove_peer(network, endpoint);
                }
            }
            Parsed::Other => {}
        }
    }

    fn apply_network(&self, put: bool, id: &str, value: &[u8]) {
        let Some(core) = self.core() else { return };
        if !put {
            core.forget_global_network(id);
            lock(&self.peers.remote).remove(id);
            core.publish_dns();
            return;
        }
        if lock(&self.created_here).contains(id) {
            return;
        }
        match serde_json::from_slice::<NetworkRecord>(value) {
            Ok(record) => {
                if let Err(err) = core.adopt_global_network(record) {
                    tracing::warn!(network = %id, error = %err.full_message(), "cannot make global network here");
                }
            }
            Err(err) => tracing::warn!(network = %id, error = %err, "unreadable global network"),
        }
    }

    fn add_peer(&self, network: &str, endpoint: &str, value: &[u8]) {
        let record = serde_json::from_slice::<PeerRecord>(value).ok();
        let named = record.as_ref().is_some_and(|r| r.dns.is_some());
        let Some(remote) = record.and_then(PeerRecord::remote) else {
            tracing::warn!(network, endpoint, "unreadable peer record");
            return;
        };
        if named && remote.dns.is_none() {
            tracing::warn!(
                network,
                endpoint,
                "peer record names no valid sandbox; its names are not served here"
            );
        }
        if remote.peer.host == self.config.advertise {
            return;
        }
        let peer = remote.peer.clone();
        let dns = remote.dns.clone();
        let previous = lock(&self.peers.remote)
            .entry(network.to_owned())
            .or_default()
            .insert(endpoint.to_owned(), remote);
        let old_dns = previous.as_ref().and_then(|old| old.dns.clone());
        if let Some(old) = previous.filter(|old| old.peer != peer) {
            self.unprogram(network, &old.peer);
        }
        if old_dns != dns {
            self.dns_changed();
        }
        match kernel::add(network, &peer) {
            Ok(true) => tracing::debug!(network, endpoint, host = %peer.host, "overlay peer added"),
            Ok(false) => {}
            Err(err) => tracing::warn!(network, endpoint, error = %err, "program overlay peer"),
        }
    }

    fn remove_peer(&self, network: &str, endpoint: &str) {
        let removed = lock(&self.peers.remote)
            .get_mut(network)
            .and_then(|eps| eps.remove(endpoint));
        if let Some(removed) = removed {
            self.unprogram(network, &removed.peer);
            if removed.dns.is_some() {
                self.dns_changed();
            }
            tracing::info!(network, endpoint, host = %removed.peer.host, "overlay peer withdrawn");
        }
    }

    /// Other hosts' endpoints with names, for this host's resolver.
    pub fn remote_dns_members(&self) -> RemoteMembers {
        lock(&self.peers.remote)
            .iter()
            .map(|(net, eps)| {
                let members = eps.values().filter_map(|r| r.dns.clone()).collect();
                (net.clone(), members)
            })
            .collect()
    }

    fn dns_changed(&self) {
        if let Some(core) = self.core() {
            core.publish_dns();
        }
    }

    /// Removes a peer's entries; the host leaves the flood list with its
    /// last endpoint on the network.
    fn unprogram(&self, network: &str, peer: &RemotePeer) {
        let last = !lock(&self.peers.remote)
            .get(network)
            .is_some_and(|eps| eps.values().any(|r| r.peer.host == peer.host));
        if let Err(err) = kernel::remove(network, peer, last) {
            tracing::warn!(network, host = %peer.host, error = %err, "remove overlay peer");
        }
    }
}

fn mac_text(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let bytes: Vec<u8> = text
        .split(':')
        .map(|p| u8::from_str_radix(p, 16))
        .collect::<Result<_, _>>()
        .ok()?;
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SANDBOX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn record(dns: Option<DnsIdentity>) -> PeerRecord {
        PeerRecord {
            host: Ipv4Addr::new(192, 168, 50, 2),
            mac: mac_text([2, 0x42, 10, 0, 0, 3]),
            ip: Some("10.0.0.3".parse().expect("ip")),
            dns,
        }
    }

    fn identity(sandbox_id: &str) -> DnsIdentity {
        DnsIdentity {
            sandbox_id: sandbox_id.to_owned(),
            name: "web".into(),
            aliases: vec!["www".into()],
        }
    }

    #[test]
    fn peer_record_round_trips() {
        let record = record(Some(identity(SANDBOX)));
        let json = serde_json::to_string(&record).expect("encode");
        let golden = concat!(
            r#"{"host":"192.168.50.2","mac":"02:42:0a:00:00:03","ip":"10.0.0.3","#,
            r#""dns":{"sandbox_id":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","#,
            r#""name":"web","aliases":["www"]}}"#
        );
        assert_eq!(json, golden);
        let back: PeerRecord = serde_json::from_str(&json).expect("decode");
        assert_eq!(back, record);
        let remote = back.remote().expect("valid");
        assert_eq!(remote.peer.mac, [2, 0x42, 10, 0, 0, 3]);
        let ip = "10.0.0.3".parse().expect("ip");
        assert_eq!(remote.dns, RemoteMember::new(identity(SANDBOX), ip));
        assert!(remote.dns.is_some());
        assert_eq!(parse_mac("zz:00:00:00:00:00"), None);
    }

    #[test]
    fn records_of_older_hosts_are_reachable_not_named() {
        let old = r#"{"host":"192.168.50.2","mac":"02:42:0a:00:00:03","ip":"10.0.0.3"}"#;
        let back: PeerRecord = serde_json::from_str(old).expect("decode");
        assert_eq!(back, record(None));
        assert_eq!(serde_json::to_string(&back).expect("encode"), old);
        let remote = back.remote().expect("valid");
        assert_eq!(remote.peer.ip, Some("10.0.0.3".parse().expect("ip")));
        assert_eq!(remote.dns, None);
    }

    #[test]
    fn invalid_sandbox_id_keeps_the_peer_without_names() {
        let remote = record(Some(identity("not-hex"))).remote().expect("valid");
        assert_eq!(remote.peer.host, Ipv4Addr::new(192, 168, 50, 2));
        assert_eq!(remote.dns, None);
        let no_ip = PeerRecord {
            ip: None,
            ..record(Some(identity(SANDBOX)))
        };
        assert_eq!(no_ip.remote().expect("valid").dns, None);
    }
}
