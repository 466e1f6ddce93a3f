//! The built-in IPAM (`--ipam-driver default`) behind the same
//! [`IpamDriver`] trait as IPAM plugins: [`Ipam`]'s bookkeeping under a
//! mutex of its own, so the core calls it, as it calls a plugin, without
//! holding its state lock.

use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};

use cnm_drivers::ipam::{
    AddressFamily, IpamDriver, IpamDriverError, Pool, PoolsRequest, PoolsRestore, SubnetWish,
};
use ipnetwork::IpNetwork;

use super::{Family, Ipam, IpamError, SubnetConfig, SubnetRequest};

/// The name of the built-in IPAM driver.
pub const DEFAULT_IPAM: &str = "default";

/// The built-in IPAM driver.
pub struct DefaultIpam {
    ipam: Mutex<Ipam>,
}

impl DefaultIpam {
    pub fn new(ipam: Ipam) -> Self {
        DefaultIpam {
            ipam: Mutex::new(ipam),
        }
    }

    fn ipam(&self) -> MutexGuard<'_, Ipam> {
        // Every change is a few map updates that leave the allocator whole.
        self.ipam.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl IpamDriver for DefaultIpam {
    fn name(&self) -> &str {
        DEFAULT_IPAM
    }

    fn request_pools(&self, req: &PoolsRequest) -> Result<Vec<Pool>, IpamDriverError> {
        let wishes: Vec<SubnetRequest> = req.subnets.iter().map(subnet_request).collect();
        let mut ipam = self.ipam();
        let configs = ipam.plan_network(&req.network_name, &wishes, req.enable_ipv6, &req.avoid)?;
        ipam.add_network(&req.network_id, &req.network_name, &configs)?;
        Ok(configs.into_iter().map(pool).collect())
    }

    fn restore_pools(&self, net: &PoolsRestore) -> Result<(), IpamDriverError> {
        let configs: Vec<SubnetConfig> = net.pools.iter().map(subnet_config).collect();
        let mut ipam = self.ipam();
        ipam.remove_network(&net.network_id);
        ipam.add_network(&net.network_id, &net.network_name, &configs)?;
        for addr in &net.addresses {
            ipam.reserve(&net.network_id, *addr)?;
        }
        Ok(())
    }

    fn release_pools(&self, network_id: &str) -> Result<(), IpamDriverError> {
        self.ipam().remove_network(network_id);
        Ok(())
    }

    fn request_address(
        &self,
        network_id: &str,
        family: AddressFamily,
        preferred: Option<IpAddr>,
    ) -> Result<IpNetwork, IpamDriverError> {
        let family = match family {
            AddressFamily::V4 => Family::V4,
            AddressFamily::V6 => Family::V6,
        };
        Ok(self.ipam().allocate(network_id, family, preferred)?)
    }

    fn release_address(&self, network_id: &str, addr: IpAddr) -> Result<(), IpamDriverError> {
        self.ipam().release(network_id, addr);
        Ok(())
    }
}

impl From<IpamError> for IpamDriverError {
    fn from(err: IpamError) -> Self {
        let message = err.to_string();
        match err {
            IpamError::AddressInUse { .. }
            | IpamError::AddressReserved { .. }
            | IpamError::SubnetOverlap { .. }
            | IpamError::NetworkExists { .. } => IpamDriverError::InUse(message),
            IpamError::NetworkFull { .. } | IpamError::PoolsExhausted { .. } => {
                IpamDriverError::Exhausted(message)
            }
            IpamError::UnknownNetwork { .. } => IpamDriverError::NotFound(message),
            _ => IpamDriverError::Invalid(message),
        }
    }
}

fn subnet_request(wish: &SubnetWish) -> SubnetRequest {
    SubnetRequest {
        subnet: wish.subnet,
        ip_range: wish.ip_range,
        gateway: wish.gateway,
        aux_addresses: wish.aux_addresses.clone(),
    }
}

/// The record's form of a pool.
pub fn subnet_config(pool: &Pool) -> SubnetConfig {
    SubnetConfig {
        subnet: pool.subnet,
        ip_range: pool.ip_range,
        gateway: pool.gateway,
        aux_addresses: pool.aux_addresses.clone(),
    }
}

/// The trait's form of a recorded subnet.
pub fn pool(config: SubnetConfig) -> Pool {
    Pool {
        subnet: config.subnet,
        ip_range: config.ip_range,
        gateway: config.gateway,
        aux_addresses: config.aux_addresses,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipam::DefaultPools;

    fn web(ipam: &DefaultIpam, subnets: Vec<SubnetWish>) -> Result<Vec<Pool>, IpamDriverError> {
        ipam.request_pools(&PoolsRequest {
            network_id: "w1".into(),
            network_name: "web".into(),
            subnets,
            ..PoolsRequest::default()
        })
    }

    #[test]
    fn pools_addresses_and_errors_through_the_trait() {
        let ipam = DefaultIpam::new(Ipam::new(DefaultPools::docker_defaults()));
        let pools = web(
            &ipam,
            vec![SubnetWish {
                subnet: Some("10.7.0.0/24".parse().expect("cidr")),
                ..SubnetWish::default()
            }],
        )
        .expect("pools");
        assert_eq!(pools[0].gateway, Some("10.7.0.1".parse().expect("ip")));
        let addr = ipam
            .request_address("w1", AddressFamily::V4, None)
            .expect("address");
        assert_eq!(addr.to_string(), "10.7.0.2/24");
        let taken = ipam.request_address("w1", AddressFamily::V4, Some(addr.ip()));
        assert!(matches!(taken, Err(IpamDriverError::InUse(_))), "{taken:?}");
        let again = web(&ipam, Vec::new());
        assert!(matches!(again, Err(IpamDriverError::InUse(_))), "{again:?}");
        ipam.release_address("w1", addr.ip()).expect("release");
        ipam.release_pools("w1").expect("release pools");
        let gone = ipam.request_address("w1", AddressFamily::V4, None);
        assert!(
            matches!(gone, Err(IpamDriverError::NotFound(_))),
            "{gone:?}"
        );
    }

    #[test]
    fn restore_holds_exactly_what_it_is_given() {
        let ipam = DefaultIpam::new(Ipam::new(DefaultPools::docker_defaults()));
        let restore = PoolsRestore {
            network_id: "w1".into(),
            network_name: "web".into(),
            pools: vec![Pool {
                subnet: "10.7.0.0/24".parse().expect("cidr"),
                ip_range: None,
                gateway: Some("10.7.0.1".parse().expect("ip")),
                aux_addresses: Default::default(),
            }],
            addresses: vec!["10.7.0.2".parse().expect("ip")],
            options: Default::default(),
        };
        ipam.restore_pools(&restore).expect("restore");
        ipam.restore_pools(&restore).expect("restore is idempotent");
        let next = ipam
            .request_address("w1", AddressFamily::V4, None)
            .expect("address");
        assert_eq!(next.to_string(), "10.7.0.3/24", "10.7.0.2 is held");
    }
}
