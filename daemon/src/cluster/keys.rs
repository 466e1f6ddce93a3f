//! Where cluster state lives in etcd. Everything is under one prefix, one
//! JSON value per key:
//!
//! | key | value | lease |
//! |---|---|---|
//! | `hosts/<ip>` | host record | the host's |
//! | `networks/<id>` | network record | none |
//! | `subnets/<addr>_<len>` | network id | none |
//! | `vnis/<vni>` | network id | none |
//! | `names/<name>` | network id | none |
//! | `addresses/<net id>/<ip>` | the holder's address (`gateway`, `aux`) | the holder's (none for gateway/aux) |
//! | `endpoints/<net id>/<ep id>` | peer record | the host's |

use ipnetwork::IpNetwork;

pub const ROOT: &str = "/cnm/v1/";

pub fn host(ip: &str) -> String {
    format!("{ROOT}hosts/{ip}")
}

pub fn network(id: &str) -> String {
    format!("{ROOT}networks/{id}")
}

pub fn subnets() -> String {
    format!("{ROOT}subnets/")
}

pub fn subnet(net: &IpNetwork) -> String {
    format!("{ROOT}subnets/{}_{}", net.ip(), net.prefix())
}

pub fn vni(vni: u32) -> String {
    format!("{ROOT}vnis/{vni}")
}

pub fn name(name: &str) -> String {
    format!("{ROOT}names/{name}")
}

pub fn addresses(network_id: &str) -> String {
    format!("{ROOT}addresses/{network_id}/")
}

pub fn address(network_id: &str, ip: std::net::IpAddr) -> String {
    format!("{ROOT}addresses/{network_id}/{ip}")
}

pub fn network_endpoints(network_id: &str) -> String {
    format!("{ROOT}endpoints/{network_id}/")
}

pub fn endpoint(network_id: &str, endpoint_id: &str) -> String {
    format!("{ROOT}endpoints/{network_id}/{endpoint_id}")
}

/// What a key under the root is.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed<'a> {
    Network(&'a str),
    Endpoint { network: &'a str, endpoint: &'a str },
    Other,
}

pub fn parse(key: &str) -> Parsed<'_> {
    let Some(rest) = key.strip_prefix(ROOT) else {
        return Parsed::Other;
    };
    if let Some(id) = rest.strip_prefix("networks/") {
        return Parsed::Network(id);
    }
    if let Some((network, endpoint)) = rest
        .strip_prefix("endpoints/")
        .and_then(|r| r.split_once('/'))
    {
        return Parsed::Endpoint { network, endpoint };
    }
    Parsed::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_back() {
        assert_eq!(parse(&network("abc")), Parsed::Network("abc"));
        assert_eq!(
            parse(&endpoint("n1", "e1")),
            Parsed::Endpoint {
                network: "n1",
                endpoint: "e1"
            }
        );
        assert_eq!(parse(&host("10.0.0.1")), Parsed::Other);
        let net: IpNetwork = "10.1.2.0/24".parse().expect("cidr");
        assert_eq!(subnet(&net), "/cnm/v1/subnets/10.1.2.0_24");
    }
}
