//! Published ports: parsing `-p`, choosing host ports, and the table of who
//! holds which host port. The kernel side (nftables) is the firewall's.

mod spec;
mod table;

pub use spec::{parse_publish, PortRequest, Protocol};
pub use table::{HostAddr, PortTable};

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// One published port of an endpoint, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedPort {
    pub protocol: Protocol,
    pub host: HostAddr,
    pub host_port: u16,
    pub container_ip: IpAddr,
    pub container_port: u16,
}

/// The container's addresses a port can lead to.
#[derive(Debug, Clone, Copy, Default)]
pub struct Targets {
    pub ipv4: Option<IpAddr>,
    pub ipv6: Option<IpAddr>,
}

/// Chooses host ports for `requests` and holds them in `table` for
/// `endpoint_id`. All or nothing: on error nothing stays held.
/// `default_host`: `--default-host-ip` (None = every address, 0.0.0.0 and,
/// where the container has IPv6, ::).
pub fn plan(
    requests: &[PortRequest],
    targets: Targets,
    default_host: Option<IpAddr>,
    table: &mut PortTable,
    endpoint_id: &str,
    owner: &str,
) -> Result<Vec<PublishedPort>, String> {
    let mut out = Vec::new();
    for request in requests {
        match plan_one(request, targets, default_host, table, endpoint_id, owner) {
            Ok(ports) => out.extend(ports),
            Err(err) => {
                table.release(endpoint_id);
                return Err(err);
            }
        }
    }
    Ok(out)
}

fn plan_one(
    request: &PortRequest,
    targets: Targets,
    default_host: Option<IpAddr>,
    table: &mut PortTable,
    endpoint_id: &str,
    owner: &str,
) -> Result<Vec<PublishedPort>, String> {
    let hosts: Vec<HostAddr> = match request.host_ip.or(default_host) {
        Some(ip) => vec![HostAddr::from_ip(ip)],
        None => [
            (targets.ipv4, HostAddr::AnyV4),
            (targets.ipv6, HostAddr::AnyV6),
        ]
        .into_iter()
        .filter_map(|(target, any)| target.map(|_| any))
        .collect(),
    };
    let target_of = |host: HostAddr| {
        if host.is_ipv6() {
            targets.ipv6
        } else {
            targets.ipv4
        }
    };
    if let Some(host) = hosts.iter().find(|h| target_of(**h).is_none()) {
        let family = if host.is_ipv6() { "IPv6" } else { "IPv4" };
        return Err(format!(
            "cannot publish {}/{} on {host}: the container has no {family} address on this network",
            request.container_port, request.protocol
        ));
    }
    let range = request.host_ports.as_ref();
    let port = match range {
        Some(r) if r.start() == r.end() => {
            for host in &hosts {
                if let Some(holder) = table.conflict(request.protocol, *host, *r.start()) {
                    return Err(format!(
                        "host port {}/{} on {host} is already published by {holder}",
                        r.start(),
                        request.protocol
                    ));
                }
            }
            *r.start()
        }
        _ => table
            .pick(request.protocol, &hosts, range)
            .ok_or_else(|| match range {
                Some(r) => format!(
                    "no free host port in {}-{}/{}",
                    r.start(),
                    r.end(),
                    request.protocol
                ),
                None => format!("no free ephemeral host port left for {}", request.protocol),
            })?,
    };
    Ok(hosts
        .into_iter()
        .filter_map(|host| {
            let container_ip = target_of(host)?;
            table.hold(request.protocol, host, port, endpoint_id, owner);
            Some(PublishedPort {
                protocol: request.protocol,
                host,
                host_port: port,
                container_ip,
                container_port: request.container_port,
            })
        })
        .collect())
}

/// The kernel's ephemeral port range, where unasked host ports come from.
pub fn ephemeral_range() -> std::ops::RangeInclusive<u16> {
    let fallback = 32768..=60999;
    let Ok(raw) = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range") else {
        return fallback;
    };
    let mut parts = raw.split_whitespace().filter_map(|p| p.parse::<u16>().ok());
    match (parts.next(), parts.next()) {
        (Some(lo), Some(hi)) if lo > 0 && lo <= hi => lo..=hi,
        _ => fallback,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(v4: Option<&str>, v6: Option<&str>) -> Targets {
        Targets {
            ipv4: v4.map(|s| s.parse().unwrap()),
            ipv6: v6.map(|s| s.parse().unwrap()),
        }
    }

    #[test]
    fn default_publishes_on_every_family_the_container_has() {
        let mut t = PortTable::new(40000..=40100);
        let reqs = parse_publish("8080:80").unwrap();
        let ports = plan(
            &reqs,
            targets(Some("172.18.0.2"), Some("fd00::2")),
            None,
            &mut t,
            "e1",
            "sandbox `a`",
        )
        .unwrap();
        assert_eq!(ports.len(), 2);
        assert_eq!(ports[0].host, HostAddr::AnyV4);
        assert_eq!(ports[1].host, HostAddr::AnyV6);
        assert_eq!(ports[1].container_ip, "fd00::2".parse::<IpAddr>().unwrap());
        let err = plan(
            &reqs,
            targets(Some("172.18.0.3"), None),
            None,
            &mut t,
            "e2",
            "sandbox `b`",
        )
        .unwrap_err();
        assert_eq!(
            err,
            "host port 8080/tcp on 0.0.0.0 is already published by sandbox `a`"
        );
    }

    #[test]
    fn failure_releases_what_the_same_request_held() {
        let mut t = PortTable::new(40000..=40100);
        let mut reqs = parse_publish("9000:90").unwrap();
        reqs.extend(parse_publish("[::1]:9001:91").unwrap());
        let err = plan(
            &reqs,
            targets(Some("172.18.0.2"), None),
            None,
            &mut t,
            "e1",
            "x",
        )
        .unwrap_err();
        assert!(err.contains("no IPv6 address"), "{err}");
        assert_eq!(t.conflict(Protocol::Tcp, HostAddr::AnyV4, 9000), None);
    }

    #[test]
    fn ephemeral_and_default_host_ip() {
        let mut t = PortTable::new(40000..=40100);
        let reqs = parse_publish("80").unwrap();
        let ports = plan(
            &reqs,
            targets(Some("172.18.0.2"), None),
            Some("127.0.0.1".parse().unwrap()),
            &mut t,
            "e",
            "x",
        )
        .unwrap();
        assert_eq!(ports[0].host, HostAddr::Ip("127.0.0.1".parse().unwrap()));
        assert_eq!(ports[0].host_port, 40000);
    }
}
