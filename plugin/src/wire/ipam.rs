//! `cnm.ipam.v1` messages to and from the `IpamDriver` trait's values.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ::pb::ipam::v1 as pb;
use cnm_drivers::ipam::{
    AddressFamily, IpamDriverError, Pool, PoolsRequest, PoolsRestore, SubnetWish,
};
use tonic::{Code, Status};

use super::{cidr, ip, opt_cidr, opt_ip, text};

fn aux_to_wire(aux: &BTreeMap<String, IpAddr>) -> std::collections::HashMap<String, String> {
    aux.iter()
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect()
}

fn aux_from_wire(
    aux: &std::collections::HashMap<String, String>,
) -> Result<BTreeMap<String, IpAddr>, Status> {
    aux.iter()
        .map(|(k, v)| Ok((k.clone(), ip("aux address", v)?)))
        .collect()
}

pub(crate) fn pool_to_wire(pool: &Pool) -> pb::Pool {
    pb::Pool {
        subnet: pool.subnet.to_string(),
        ip_range: text(pool.ip_range),
        gateway: text(pool.gateway),
        aux_addresses: aux_to_wire(&pool.aux_addresses),
    }
}

pub(crate) fn pool_from_wire(pool: &pb::Pool) -> Result<Pool, Status> {
    Ok(Pool {
        subnet: cidr("pool subnet", &pool.subnet)?,
        ip_range: opt_cidr("pool ip_range", &pool.ip_range)?,
        gateway: opt_ip("pool gateway", &pool.gateway)?,
        aux_addresses: aux_from_wire(&pool.aux_addresses)?,
    })
}

pub(crate) fn pools_request_to_wire(req: &PoolsRequest) -> pb::RequestPoolsRequest {
    pb::RequestPoolsRequest {
        network_id: req.network_id.clone(),
        network_name: req.network_name.clone(),
        subnets: req
            .subnets
            .iter()
            .map(|s| pb::SubnetRequest {
                subnet: text(s.subnet),
                ip_range: text(s.ip_range),
                gateway: text(s.gateway),
                aux_addresses: aux_to_wire(&s.aux_addresses),
            })
            .collect(),
        enable_ipv6: req.enable_ipv6,
        options: req.options.clone().into_iter().collect(),
        avoid: req.avoid.iter().map(ToString::to_string).collect(),
    }
}

pub(crate) fn pools_request_from_wire(
    req: pb::RequestPoolsRequest,
) -> Result<PoolsRequest, Status> {
    let subnets = req
        .subnets
        .iter()
        .map(|s| {
            Ok(SubnetWish {
                subnet: opt_cidr("subnet", &s.subnet)?,
                ip_range: opt_cidr("ip_range", &s.ip_range)?,
                gateway: opt_ip("gateway", &s.gateway)?,
                aux_addresses: aux_from_wire(&s.aux_addresses)?,
            })
        })
        .collect::<Result<_, Status>>()?;
    let avoid = req
        .avoid
        .iter()
        .map(|a| cidr("avoid", a))
        .collect::<Result<_, _>>()?;
    Ok(PoolsRequest {
        network_id: req.network_id,
        network_name: req.network_name,
        subnets,
        enable_ipv6: req.enable_ipv6,
        options: req.options.into_iter().collect(),
        avoid,
    })
}

pub(crate) fn restore_to_wire(net: &PoolsRestore) -> pb::RestorePoolsRequest {
    pb::RestorePoolsRequest {
        network_id: net.network_id.clone(),
        network_name: net.network_name.clone(),
        pools: net.pools.iter().map(pool_to_wire).collect(),
        addresses: net.addresses.iter().map(ToString::to_string).collect(),
        options: net.options.clone().into_iter().collect(),
    }
}

pub(crate) fn restore_from_wire(req: pb::RestorePoolsRequest) -> Result<PoolsRestore, Status> {
    Ok(PoolsRestore {
        pools: req
            .pools
            .iter()
            .map(pool_from_wire)
            .collect::<Result<_, _>>()?,
        addresses: req
            .addresses
            .iter()
            .map(|a| ip("address", a))
            .collect::<Result<_, _>>()?,
        network_id: req.network_id,
        network_name: req.network_name,
        options: req.options.into_iter().collect(),
    })
}

pub(crate) fn family_to_wire(family: AddressFamily) -> pb::Family {
    match family {
        AddressFamily::V4 => pb::Family::Ipv4,
        AddressFamily::V6 => pb::Family::Ipv6,
    }
}

pub(crate) fn family_from_wire(raw: i32) -> Result<AddressFamily, Status> {
    match pb::Family::try_from(raw) {
        Ok(pb::Family::Ipv4) => Ok(AddressFamily::V4),
        Ok(pb::Family::Ipv6) => Ok(AddressFamily::V6),
        Err(_) => Err(Status::invalid_argument(format!(
            "unknown address family {raw}"
        ))),
    }
}

/// The status an IPAM plugin answers for a failed verb.
pub(crate) fn status_of(err: &IpamDriverError) -> Status {
    let code = match err {
        IpamDriverError::Invalid(_) => Code::InvalidArgument,
        IpamDriverError::InUse(_) => Code::AlreadyExists,
        IpamDriverError::NotFound(_) => Code::NotFound,
        IpamDriverError::Exhausted(_) => Code::ResourceExhausted,
        IpamDriverError::Unavailable(_) => Code::Unavailable,
        IpamDriverError::Failed(_) => Code::Internal,
    };
    Status::new(code, err.to_string())
}

/// What cnmd makes of an IPAM plugin's status, under the plugin's name.
pub(crate) fn error_of(ipam: &str, status: &Status) -> IpamDriverError {
    let message = format!("IPAM driver {ipam}: {}", status.message());
    match status.code() {
        Code::InvalidArgument | Code::OutOfRange | Code::FailedPrecondition => {
            IpamDriverError::Invalid(message)
        }
        Code::AlreadyExists => IpamDriverError::InUse(message),
        Code::NotFound => IpamDriverError::NotFound(message),
        Code::ResourceExhausted => IpamDriverError::Exhausted(message),
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
            IpamDriverError::Unavailable(message)
        }
        _ => IpamDriverError::Failed(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_and_requests_round_trip() {
        let pool = Pool {
            subnet: "10.5.0.0/16".parse().expect("cidr"),
            ip_range: Some("10.5.1.0/24".parse().expect("cidr")),
            gateway: Some("10.5.0.1".parse().expect("ip")),
            aux_addresses: [("nas".to_owned(), "10.5.0.9".parse().expect("ip"))].into(),
        };
        assert_eq!(pool_from_wire(&pool_to_wire(&pool)).expect("decode"), pool);
        let req = PoolsRequest {
            network_id: "ab".repeat(32),
            network_name: "web".into(),
            subnets: vec![
                SubnetWish::default(),
                SubnetWish {
                    subnet: Some("fd00::/64".parse().expect("cidr")),
                    ..SubnetWish::default()
                },
            ],
            enable_ipv6: true,
            options: [("k".to_owned(), "v".to_owned())].into(),
            avoid: vec!["192.168.1.0/24".parse().expect("cidr")],
        };
        let back = pools_request_from_wire(pools_request_to_wire(&req)).expect("decode");
        assert_eq!(back, req);
        let restore = PoolsRestore {
            network_id: "cd".repeat(32),
            network_name: "db".into(),
            pools: vec![pool],
            addresses: vec!["10.5.1.7".parse().expect("ip")],
            options: Default::default(),
        };
        assert_eq!(
            restore_from_wire(restore_to_wire(&restore)).expect("decode"),
            restore
        );
    }

    #[test]
    fn errors_keep_class_and_name_the_plugin() {
        let err = IpamDriverError::Exhausted("no free IPv4 address left".into());
        let back = error_of("myipam", &status_of(&err));
        assert_eq!(
            back,
            IpamDriverError::Exhausted("IPAM driver myipam: no free IPv4 address left".into())
        );
        assert!(matches!(
            error_of("x", &Status::unavailable("down")),
            IpamDriverError::Unavailable(_)
        ));
    }
}
