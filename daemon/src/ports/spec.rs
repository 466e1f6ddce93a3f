//! `-p` specs: `[HOSTIP:][HOSTPORT[-END]:]CPORT[-END][/tcp|udp|sctp]`, as
//! Docker reads them. IPv6 host addresses go in brackets: `[::1]:8080:80`.

use std::net::IpAddr;
use std::ops::RangeInclusive;

pub use cnm_firewall::Protocol;

/// One container port to publish, before host ports are chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRequest {
    pub protocol: Protocol,
    /// None: the daemon's default host address.
    pub host_ip: Option<IpAddr>,
    /// None: any free ephemeral port. A range of more than one port with a
    /// single container port: any free port of that range (Docker).
    pub host_ports: Option<RangeInclusive<u16>>,
    pub container_port: u16,
}

/// Parses one `-p` spec into one request per container port.
pub fn parse_publish(spec: &str) -> Result<Vec<PortRequest>, String> {
    let bad = |why: &str| format!("invalid port spec {spec:?}: {why}");
    let (rest, protocol) = match spec.rsplit_once('/') {
        Some((rest, proto)) => (rest, proto.parse::<Protocol>().map_err(|e| bad(&e))?),
        None => (spec, Protocol::Tcp),
    };
    let (host_ip, rest) = split_host_ip(rest).map_err(|e| bad(&e))?;
    let (host_part, container_part) = match rest.rsplit_once(':') {
        Some((host, container)) => (Some(host), container),
        None if host_ip.is_some() => {
            return Err(bad("a host address needs a container port after it"))
        }
        None => (None, rest),
    };
    let container = parse_range(container_part).map_err(|e| bad(&format!("container port {e}")))?;
    let host = match host_part {
        None | Some("") => None,
        Some(raw) => Some(parse_range(raw).map_err(|e| bad(&format!("host port {e}")))?),
    };
    let container_len = container.end() - container.start();
    match &host {
        Some(h) if container_len > 0 && h.end() - h.start() != container_len => {
            return Err(bad(
                "host and container port ranges must have the same length",
            ))
        }
        _ => {}
    }
    Ok(container
        .clone()
        .map(|cport| {
            let host_ports = host.as_ref().map(|h| {
                if container_len == 0 {
                    h.clone()
                } else {
                    let p = h.start() + (cport - container.start());
                    p..=p
                }
            });
            PortRequest {
                protocol,
                host_ip,
                host_ports,
                container_port: cport,
            }
        })
        .collect())
}

/// Splits a leading host address ("1.2.3.4:" or "[::1]:") off the spec.
fn split_host_ip(rest: &str) -> Result<(Option<IpAddr>, &str), String> {
    if let Some(inner) = rest.strip_prefix('[') {
        let (ip, after) = inner
            .split_once(']')
            .ok_or("missing ] after the IPv6 address")?;
        let after = after
            .strip_prefix(':')
            .ok_or("expected : after the IPv6 address")?;
        let ip = ip
            .parse()
            .map_err(|_| format!("{ip:?} is not an IPv6 address"))?;
        return Ok((Some(ip), after));
    }
    // Three fields: the first is the host address.
    let fields: Vec<&str> = rest.split(':').collect();
    match fields.as_slice() {
        [ip, _, _] => {
            let addr = ip
                .parse()
                .map_err(|_| format!("{ip:?} is not an IP address"))?;
            let offset = ip.len() + 1;
            Ok((Some(addr), &rest[offset..]))
        }
        [_] | [_, _] => Ok((None, rest)),
        _ => Err("too many ':' (IPv6 host addresses go in brackets: [::1]:8080:80)".into()),
    }
}

fn parse_range(raw: &str) -> Result<RangeInclusive<u16>, String> {
    let port = |p: &str| match p.parse::<u16>() {
        Ok(0) | Err(_) => Err(format!("{p:?} is not a port (1-65535)")),
        Ok(n) => Ok(n),
    };
    let (start, end) = match raw.split_once('-') {
        Some((a, b)) => (port(a)?, port(b)?),
        None => (port(raw)?, port(raw)?),
    };
    if end < start {
        return Err(format!("range {raw:?} ends before it starts"));
    }
    Ok(start..=end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(spec: &str) -> PortRequest {
        let mut v = parse_publish(spec).expect(spec);
        assert_eq!(v.len(), 1, "{spec}");
        v.remove(0)
    }

    #[test]
    fn docker_forms() {
        let r = one("80");
        assert_eq!(
            (r.protocol, r.host_ip, r.host_ports, r.container_port),
            (Protocol::Tcp, None, None, 80)
        );
        let r = one("8080:80/udp");
        assert_eq!(
            (r.protocol, r.host_ports, r.container_port),
            (Protocol::Udp, Some(8080..=8080), 80)
        );
        let r = one("127.0.0.1:8080:80");
        assert_eq!(r.host_ip, Some("127.0.0.1".parse().unwrap()));
        let r = one("127.0.0.1::80");
        assert_eq!((r.host_ip.is_some(), r.host_ports), (true, None));
        let r = one("[::1]:8080:80/sctp");
        assert_eq!(
            (r.host_ip, r.protocol),
            (Some("::1".parse().unwrap()), Protocol::Sctp)
        );
        let r = one("8000-8010:80");
        assert_eq!(r.host_ports, Some(8000..=8010));
    }

    #[test]
    fn ranges_pair_up() {
        let v = parse_publish("8000-8002:80-82").unwrap();
        let pairs: Vec<_> = v
            .iter()
            .map(|r| (r.host_ports.clone().unwrap(), r.container_port))
            .collect();
        assert_eq!(
            pairs,
            vec![(8000..=8000, 80), (8001..=8001, 81), (8002..=8002, 82)]
        );
        assert_eq!(parse_publish("80-81").unwrap().len(), 2);
    }

    #[test]
    fn errors_name_the_spec_and_the_problem() {
        for (spec, needle) in [
            ("0", "not a port"),
            ("70000", "not a port"),
            ("80/icmp", "unknown protocol"),
            ("8000-8001:80-82", "same length"),
            ("90-80", "ends before"),
            ("1.2.3:80:80", "not an IP address"),
            ("::1:80:80", "brackets"),
            ("[::1:80:80", "missing ]"),
            ("abc", "not a port"),
        ] {
            let err = parse_publish(spec).unwrap_err();
            assert!(err.contains(needle) && err.contains(spec), "{spec}: {err}");
        }
    }
}
