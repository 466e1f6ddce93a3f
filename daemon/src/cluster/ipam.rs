//! The IPAM of global networks: subnets, VXLAN ids and addresses are taken
//! in etcd, each by a transaction that compares before it writes, so the
//! cluster has one address space and no duplicate. An address is bound to
//! its host's lease (it expires with the host); gateways, auxiliary
//! addresses, subnets and VXLAN ids live as long as the network.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};

use cnm_drivers::ipam::{
    AddressFamily, IpamDriver, IpamDriverError, Pool, PoolsRequest, PoolsRestore,
};
use etcd_client::{Compare, CompareOp, DeleteOptions, GetOptions, PutOptions, Txn, TxnOp};
use ipnetwork::{IpNetwork, Ipv4Network};

use super::{keys, lock, Cluster, ClusterError};
use crate::model::NetworkRecord;

/// The name global networks record as their IPAM driver.
pub const CLUSTER_IPAM: &str = "cluster";

/// How often an allocation that lost a race to another host is retried.
const ATTEMPTS: usize = 16;

/// Where subnets of global networks come from when none is given (as
/// Docker's overlay default): /24s of 10.0.0.0/8.
const DEFAULT_POOL: (Ipv4Addr, u8, u8) = (Ipv4Addr::new(10, 0, 0, 0), 8, 24);

pub struct ClusterIpam {
    cluster: Arc<Cluster>,
    /// Pools of the global networks seen so far, by network id.
    pools: Mutex<HashMap<String, Vec<Pool>>>,
}

impl ClusterIpam {
    pub fn new(cluster: Arc<Cluster>) -> Self {
        ClusterIpam {
            cluster,
            pools: Mutex::new(HashMap::new()),
        }
    }

    fn pools_of(&self, network_id: &str) -> Result<Vec<Pool>, IpamDriverError> {
        if let Some(pools) = lock(&self.pools).get(network_id) {
            return Ok(pools.clone());
        }
        let record = self
            .cluster
            .network(network_id)
            .map_err(unavailable)?
            .ok_or_else(|| {
                IpamDriverError::NotFound(format!("global network {network_id} not found"))
            })?;
        let pools: Vec<Pool> = record.subnets.into_iter().map(crate::ipam::pool).collect();
        lock(&self.pools).insert(network_id.to_owned(), pools.clone());
        Ok(pools)
    }
}

fn unavailable(err: ClusterError) -> IpamDriverError {
    match err {
        ClusterError::Unavailable { .. } => IpamDriverError::Unavailable(err.to_string()),
        ClusterError::Refused(msg) => IpamDriverError::InUse(msg),
    }
}

impl IpamDriver for ClusterIpam {
    fn name(&self) -> &str {
        CLUSTER_IPAM
    }

    fn request_pools(&self, req: &PoolsRequest) -> Result<Vec<Pool>, IpamDriverError> {
        if req.enable_ipv6
            || req
                .subnets
                .iter()
                .any(|w| w.subnet.is_some_and(|s| s.is_ipv6()))
        {
            return Err(IpamDriverError::Invalid(
                "global (overlay) networks are IPv4 only for now".into(),
            ));
        }
        if req.subnets.len() > 1 {
            return Err(IpamDriverError::Invalid(
                "global networks take one --subnet for now".into(),
            ));
        }
        let wish = req.subnets.first().cloned().unwrap_or_default();
        let subnet = self
            .cluster
            .take_subnet(&req.network_id, wish.subnet, &req.avoid)
            .map_err(unavailable)?;
        let gateway = wish.gateway.or_else(|| first_host(subnet));
        let pool = Pool {
            subnet,
            ip_range: wish.ip_range,
            gateway,
            aux_addresses: wish.aux_addresses.clone(),
        };
        let fixed: Vec<IpAddr> = gateway
            .into_iter()
            .chain(wish.aux_addresses.values().copied())
            .collect();
        for ip in &fixed {
            if !subnet.contains(*ip) {
                let _ = self.release_pools(&req.network_id);
                return Err(IpamDriverError::Invalid(format!(
                    "{ip} is outside subnet {subnet}"
                )));
            }
            if let Err(err) = self.cluster.take_address(&req.network_id, *ip, false) {
                let _ = self.release_pools(&req.network_id);
                return Err(unavailable(err));
            }
        }
        lock(&self.pools).insert(req.network_id.clone(), vec![pool.clone()]);
        Ok(vec![pool])
    }

    fn restore_pools(&self, net: &PoolsRestore) -> Result<(), IpamDriverError> {
        lock(&self.pools).insert(net.network_id.clone(), net.pools.clone());
        Ok(())
    }

    fn release_pools(&self, network_id: &str) -> Result<(), IpamDriverError> {
        let pools = lock(&self.pools).remove(network_id);
        self.cluster
            .release_network(network_id, pools.as_deref().unwrap_or_default())
            .map_err(unavailable)
    }

    fn request_address(
        &self,
        network_id: &str,
        family: AddressFamily,
        preferred: Option<IpAddr>,
    ) -> Result<IpNetwork, IpamDriverError> {
        if family == AddressFamily::V6 {
            return Err(IpamDriverError::Invalid(
                "global networks have no IPv6 subnet".into(),
            ));
        }
        let pools = self.pools_of(network_id)?;
        let pool = pools.first().ok_or_else(|| {
            IpamDriverError::NotFound(format!("global network {network_id} has no subnet"))
        })?;
        let prefix = pool.subnet.prefix();
        let with_prefix = |ip: IpAddr| {
            IpNetwork::new(ip, prefix).map_err(|e| IpamDriverError::Failed(e.to_string()))
        };
        if let Some(ip) = preferred {
            if !pool.subnet.contains(ip) {
                return Err(IpamDriverError::Invalid(format!(
                    "{ip} is outside subnet {}",
                    pool.subnet
                )));
            }
            self.cluster
                .take_address(network_id, ip, true)
                .map_err(unavailable)?;
            return with_prefix(ip);
        }
        let ip = self
            .cluster
            .take_free_address(network_id, pool)
            .map_err(unavailable)?;
        with_prefix(ip)
    }

    fn release_address(&self, network_id: &str, addr: IpAddr) -> Result<(), IpamDriverError> {
        self.cluster
            .release_address(network_id, addr)
            .map_err(unavailable)
    }
}

/// The first usable address of a subnet (the default gateway).
fn first_host(subnet: IpNetwork) -> Option<IpAddr> {
    match subnet {
        IpNetwork::V4(net) if net.prefix() < 31 => {
            Some(IpAddr::V4(Ipv4Addr::from(u32::from(net.network()) + 1)))
        }
        _ => None,
    }
}

/// Usable host addresses of `range` (inside `subnet`), lowest first.
fn candidates(subnet: IpNetwork, range: Option<IpNetwork>) -> impl Iterator<Item = IpAddr> {
    let (IpNetwork::V4(subnet), range) = (subnet, range) else {
        return Vec::new().into_iter();
    };
    let scan = match range {
        Some(IpNetwork::V4(r)) => r,
        _ => subnet,
    };
    let first = u32::from(scan.network());
    let last = u32::from(scan.broadcast());
    let (net, bcast) = (u32::from(subnet.network()), u32::from(subnet.broadcast()));
    (first..=last)
        .filter(move |&a| subnet.prefix() >= 31 || (a != net && a != bcast))
        .map(|a| IpAddr::V4(Ipv4Addr::from(a)))
        .collect::<Vec<_>>()
        .into_iter()
}

impl Cluster {
    /// The network record of a global network, from etcd.
    pub fn network(&self, id: &str) -> Result<Option<NetworkRecord>, ClusterError> {
        let mut client = self.client();
        let key = keys::network(id);
        let resp = self.block(async move { client.get(key, None).await })?;
        Ok(resp
            .kvs()
            .first()
            .and_then(|kv| serde_json::from_slice(kv.value()).ok()))
    }

    /// Takes `wanted` (or the first free /24 of the default pool) for
    /// network `id`. The subnet table is compared as a whole: the write
    /// happens only if no subnet was added since it was read.
    fn take_subnet(
        &self,
        id: &str,
        wanted: Option<IpNetwork>,
        avoid: &[IpNetwork],
    ) -> Result<IpNetwork, ClusterError> {
        for _ in 0..ATTEMPTS {
            let mut client = self.client();
            let prefix = keys::subnets();
            let resp = self.block(async move {
                client
                    .get(prefix, Some(GetOptions::new().with_prefix()))
                    .await
            })?;
            let revision = resp.header().map_or(0, |h| h.revision());
            let taken: Vec<IpNetwork> = resp
                .kvs()
                .iter()
                .filter_map(|kv| kv.key_str().ok())
                .filter_map(|k| k.rsplit('/').next())
                .filter_map(|s| s.replace('_', "/").parse().ok())
                .collect();
            let overlaps = |n: &IpNetwork| {
                taken
                    .iter()
                    .any(|t| t.contains(n.network()) || n.contains(t.network()))
            };
            let subnet = match wanted {
                Some(net) if overlaps(&net) => {
                    return Err(ClusterError::Refused(format!(
                        "subnet {net} overlaps a subnet of another global network"
                    )))
                }
                Some(net) => net,
                None => pick_default(|n| {
                    overlaps(n)
                        || avoid
                            .iter()
                            .any(|a| a.contains(n.network()) || n.contains(a.network()))
                })
                .ok_or_else(|| {
                    ClusterError::Refused(
                        "no free /24 left in 10.0.0.0/8 for a global network; pass --subnet".into(),
                    )
                })?,
            };
            let mut client = self.client();
            let txn = Txn::new()
                .when([
                    Compare::mod_revision(keys::subnets(), CompareOp::Less, revision + 1)
                        .with_prefix(),
                ])
                .and_then([TxnOp::put(keys::subnet(&subnet), id, None)]);
            if self
                .block(async move { client.txn(txn).await })?
                .succeeded()
            {
                return Ok(subnet);
            }
        }
        Err(ClusterError::Refused(
            "too many concurrent network creations; try again".into(),
        ))
    }

    /// Takes one address; `leased` binds it to this host's lease.
    fn take_address(&self, network_id: &str, ip: IpAddr, leased: bool) -> Result<(), ClusterError> {
        if self.try_address(network_id, ip, leased)? {
            return Ok(());
        }
        Err(ClusterError::Refused(format!(
            "address {ip} is already in use on the global network"
        )))
    }

    /// The value of an address key this host holds.
    pub(super) fn address_holder(&self) -> String {
        serde_json::json!({ "host": self.config.advertise.to_string() }).to_string()
    }

    fn try_address(
        &self,
        network_id: &str,
        ip: IpAddr,
        leased: bool,
    ) -> Result<bool, ClusterError> {
        let key = keys::address(network_id, ip);
        let value = self.address_holder();
        let options = leased.then(|| PutOptions::new().with_lease(self.lease_id()));
        let txn = Txn::new()
            .when([Compare::create_revision(key.clone(), CompareOp::Equal, 0)])
            .and_then([TxnOp::put(key.clone(), value.clone(), options)]);
        let mut client = self.client();
        let won = self
            .block(async move { client.txn(txn).await })?
            .succeeded();
        if won && leased {
            self.own(&key, &value);
        }
        Ok(won)
    }

    /// The lowest address of the pool no host holds, taken atomically.
    fn take_free_address(&self, network_id: &str, pool: &Pool) -> Result<IpAddr, ClusterError> {
        for _ in 0..ATTEMPTS {
            let mut client = self.client();
            let prefix = keys::addresses(network_id);
            let resp = self.block(async move {
                client
                    .get(
                        prefix,
                        Some(GetOptions::new().with_prefix().with_keys_only()),
                    )
                    .await
            })?;
            let taken: BTreeSet<IpAddr> = resp
                .kvs()
                .iter()
                .filter_map(|kv| kv.key_str().ok())
                .filter_map(|k| k.rsplit('/').next())
                .filter_map(|s| s.parse().ok())
                .collect();
            let Some(ip) = candidates(pool.subnet, pool.ip_range).find(|ip| !taken.contains(ip))
            else {
                return Err(ClusterError::Refused(format!(
                    "no free address left in {}",
                    pool.ip_range.unwrap_or(pool.subnet)
                )));
            };
            if self.try_address(network_id, ip, true)? {
                return Ok(ip);
            }
        }
        Err(ClusterError::Refused(
            "too many concurrent connects on this network; try again".into(),
        ))
    }

    fn release_address(&self, network_id: &str, ip: IpAddr) -> Result<(), ClusterError> {
        self.disown(&keys::address(network_id, ip))
    }

    /// Forgets a global network in etcd: definition, subnets, VXLAN id,
    /// addresses. The other hosts see the definition go and drop it.
    fn release_network(&self, id: &str, pools: &[Pool]) -> Result<(), ClusterError> {
        let published = self.network(id)?;
        let vni = published
            .as_ref()
            .and_then(|r| r.options.get(cnm_drivers::overlay::VNI_OPTION).cloned())
            .and_then(|v| v.parse::<u32>().ok());
        let mut ops = vec![
            TxnOp::delete(keys::network(id), None),
            TxnOp::delete(
                keys::addresses(id),
                Some(DeleteOptions::new().with_prefix()),
            ),
        ];
        ops.extend(
            pools
                .iter()
                .map(|p| TxnOp::delete(keys::subnet(&p.subnet), None)),
        );
        ops.extend(vni.map(|v| TxnOp::delete(keys::vni(v), None)));
        // One transaction; the name goes too if it is still this network's.
        let txn = match &published {
            Some(record) => {
                let name = keys::name(record.name.as_str());
                let mut with_name = ops.clone();
                with_name.push(TxnOp::delete(name.clone(), None));
                Txn::new()
                    .when([Compare::value(name, CompareOp::Equal, id)])
                    .and_then(with_name)
                    .or_else(ops)
            }
            None => Txn::new().and_then(ops),
        };
        let mut client = self.client();
        self.block(async move { client.txn(txn).await })?;
        lock(&self.owned).retain(|k, _| !k.starts_with(&keys::addresses(id)));
        Ok(())
    }

    /// Assigns a VXLAN id unless `record` has one, checks it is free in
    /// the cluster, and publishes the definition so every host makes it.
    pub fn publish_network(&self, record: &mut NetworkRecord) -> Result<(), ClusterError> {
        use cnm_drivers::overlay::VNI_OPTION;
        let given = match record.options.get(VNI_OPTION) {
            Some(v) => Some(v.parse::<u32>().map_err(|_| {
                ClusterError::Refused(format!("invalid {VNI_OPTION}={v}: use a number"))
            })?),
            None => None,
        };
        // A start derived from the id spreads networks over the id space;
        // the transaction decides.
        let start = u32::from_str_radix(record.id.get(..5).unwrap_or("0"), 16).unwrap_or(0) + 4096;
        let tries: Vec<u32> = match given {
            Some(v) => vec![v],
            None => (0..ATTEMPTS as u32).map(|i| start + i).collect(),
        };
        lock(&self.created_here).insert(record.id.clone());
        for vni in tries {
            record
                .options
                .insert(VNI_OPTION.to_owned(), vni.to_string());
            let body = serde_json::to_string(&*record)
                .map_err(|e| ClusterError::Refused(format!("encode network: {e}")))?;
            let name = keys::name(record.name.as_str());
            let txn = Txn::new()
                .when([
                    Compare::create_revision(keys::vni(vni), CompareOp::Equal, 0),
                    Compare::create_revision(name.clone(), CompareOp::Equal, 0),
                ])
                .and_then([
                    TxnOp::put(keys::vni(vni), record.id.clone(), None),
                    TxnOp::put(name.clone(), record.id.clone(), None),
                    TxnOp::put(keys::network(&record.id), body, None),
                ]);
            let mut client = self.client();
            if self
                .block(async move { client.txn(txn).await })?
                .succeeded()
            {
                return Ok(());
            }
            if let Some(holder) = self.get_text(&name)? {
                return Err(ClusterError::Refused(format!(
                    "network with name {} already exists in the cluster (id {}); choose another name",
                    record.name,
                    &holder[..holder.len().min(12)]
                )));
            }
        }
        Err(ClusterError::Refused(match given {
            Some(v) => format!("VXLAN id {v} is already used by another global network"),
            None => {
                "no free VXLAN id found; pass -o com.docker.network.driver.overlay.vxlanid_list=N"
                    .into()
            }
        }))
    }

    /// The value of `key` as text, None when absent.
    fn get_text(&self, key: &str) -> Result<Option<String>, ClusterError> {
        let mut client = self.client();
        let k = key.to_owned();
        let resp = self.block(async move { client.get(k, None).await })?;
        Ok(resp
            .kvs()
            .first()
            .map(|kv| String::from_utf8_lossy(kv.value()).into_owned()))
    }

    /// Whether any host has endpoints on the global network.
    pub fn has_endpoints(&self, network_id: &str) -> Result<bool, ClusterError> {
        let mut client = self.client();
        let prefix = keys::network_endpoints(network_id);
        let resp = self.block(async move {
            client
                .get(
                    prefix,
                    Some(GetOptions::new().with_prefix().with_count_only()),
                )
                .await
        })?;
        Ok(resp.count() > 0)
    }
}

/// The first /24 of the default pool that `taken` does not refuse.
fn pick_default(taken: impl Fn(&IpNetwork) -> bool) -> Option<IpNetwork> {
    let (base, len, size) = DEFAULT_POOL;
    let count = 1u32 << (size - len);
    (0..count)
        .filter_map(|i| {
            Ipv4Network::new(Ipv4Addr::from(u32::from(base) + (i << (32 - size))), size).ok()
        })
        .map(IpNetwork::V4)
        .find(|n| !taken(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_skip_network_and_broadcast() {
        let subnet: IpNetwork = "10.0.5.0/29".parse().expect("cidr");
        let all: Vec<String> = candidates(subnet, None).map(|a| a.to_string()).collect();
        assert_eq!(all.first().map(String::as_str), Some("10.0.5.1"));
        assert_eq!(all.last().map(String::as_str), Some("10.0.5.6"));
        assert_eq!(all.len(), 6);
        let range: IpNetwork = "10.0.5.4/30".parse().expect("cidr");
        let some: Vec<String> = candidates(subnet, Some(range))
            .map(|a| a.to_string())
            .collect();
        assert_eq!(some, ["10.0.5.4", "10.0.5.5", "10.0.5.6"]);
    }

    #[test]
    fn default_subnet_skips_taken_ones() {
        let taken: IpNetwork = "10.0.0.0/23".parse().expect("cidr");
        let got = pick_default(|n| taken.contains(n.network())).expect("free");
        assert_eq!(got.to_string(), "10.0.2.0/24");
    }
}
