//! `/IpamDriver.*`: pools and addresses from cnmd's built-in IPAM.
//!
//! A pool's id is its subnet: after a restart of either daemon the network
//! that took the subnet answers for it, with nothing stored besides the
//! network. Docker asks for the pool and its gateway before CreateNetwork;
//! the pool is held under a placeholder until the network takes it.

use cnm_drivers::ipam::AddressFamily;
use ipnetwork::IpNetwork;

use super::network::parse_cidr;
use super::wire;
use super::{decode, DockerPlugin, Failure, Reply};

pub const LOCAL_SPACE: &str = "cnm-local";
pub const GLOBAL_SPACE: &str = "cnm-global";

impl DockerPlugin {
    pub(super) fn ipam_call(&self, verb: &str, body: &[u8]) -> Option<Result<Reply, Failure>> {
        Some(match verb {
            "RequestPool" => decode(body).and_then(|r| self.request_pool(r)),
            "ReleasePool" => decode(body).and_then(|r: wire::PoolRequest| {
                self.core.release_pool(pool_subnet(&r.pool_id)?);
                Ok(Reply::empty())
            }),
            "RequestAddress" => decode(body).and_then(|r| self.request_address(r)),
            "ReleaseAddress" => decode(body).and_then(|r| self.release_address(r)),
            _ => return None,
        })
    }

    fn request_pool(&self, req: wire::RequestPoolRequest) -> Result<Reply, Failure> {
        if !req.sub_pool.is_empty() {
            return Err(Failure::Refused(
                "cnm IPAM does not take --ip-range; leave it out".into(),
            ));
        }
        let wanted = parse_cidr("Pool", &req.pool)?;
        if wanted.is_none() && req.v6 {
            return Err(Failure::Refused(
                "cnm IPAM picks IPv4 pools only: pass an IPv6 --subnet".into(),
            ));
        }
        let pool = self.core.reserve_pool(wanted)?;
        Ok(Reply::json(&wire::RequestPoolResponse {
            pool_id: pool.to_string(),
            pool: pool.to_string(),
            data: Default::default(),
        }))
    }

    fn request_address(&self, req: wire::AddressRequest) -> Result<Reply, Failure> {
        let pool = pool_subnet(&req.pool_id)?;
        let preferred = parse_cidr("Address", &req.address)?.map(|a| a.ip());
        let gateway = req
            .options
            .get(wire::REQUEST_ADDRESS_TYPE)
            .map(String::as_str)
            == Some(wire::GATEWAY_ADDRESS);
        let Some(network) = self.core.network_with_subnet(pool) else {
            // Before CreateNetwork: only the gateway is asked for, and the
            // network reserves it when it is made.
            return gateway_address(pool, preferred).map(|address| {
                Reply::json(&wire::RequestAddressResponse {
                    address: address.to_string(),
                    data: Default::default(),
                })
            });
        };
        let address = match network.subnets.iter().find(|s| s.subnet == pool) {
            Some(s) if gateway && s.gateway.is_some() => {
                let gw = s.gateway.unwrap_or(pool.ip());
                IpNetwork::new(gw, pool.prefix()).map_err(|e| Failure::Refused(e.to_string()))?
            }
            _ => {
                let family = AddressFamily::of(pool.ip());
                let address = self.core.reserve_address(&network.id, family, preferred)?;
                self.pending().insert((network.id.clone(), address.ip()));
                address
            }
        };
        Ok(Reply::json(&wire::RequestAddressResponse {
            address: address.to_string(),
            data: Default::default(),
        }))
    }

    fn release_address(&self, req: wire::AddressRequest) -> Result<Reply, Failure> {
        let pool = pool_subnet(&req.pool_id)?;
        let Some(addr) = parse_cidr("Address", &req.address)?.map(|a| a.ip()) else {
            return Err(Failure::BadRequest("Address is empty".into()));
        };
        if let Some(network) = self.core.network_with_subnet(pool) {
            let is_gateway = network
                .subnets
                .iter()
                .any(|s| s.subnet == pool && s.gateway == Some(addr));
            self.pending().remove(&(network.id.clone(), addr));
            if !is_gateway {
                self.core.release_address(&network.id, addr);
            }
        }
        Ok(Reply::empty())
    }
}

/// The subnet a pool id names.
pub(super) fn pool_subnet(pool_id: &str) -> Result<IpNetwork, Failure> {
    pool_id
        .parse()
        .map_err(|e| Failure::BadRequest(format!("invalid PoolID {pool_id:?}: {e}")))
}

/// The gateway of a pool no network has yet: the preferred address, else
/// the first after the network address.
pub(super) fn gateway_address(
    pool: IpNetwork,
    preferred: Option<std::net::IpAddr>,
) -> Result<IpNetwork, Failure> {
    let ip = match preferred {
        Some(ip) if pool.contains(ip) => ip,
        Some(ip) => {
            return Err(Failure::Refused(format!(
                "gateway {ip} is not in pool {pool}"
            )))
        }
        None => match pool {
            IpNetwork::V4(n) => std::net::IpAddr::V4((u32::from(n.network()) + 1).into()),
            IpNetwork::V6(n) => std::net::IpAddr::V6((u128::from(n.network()) + 1).into()),
        },
    };
    IpNetwork::new(ip, pool.prefix()).map_err(|e| Failure::Refused(e.to_string()))
}
