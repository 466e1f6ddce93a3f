//! Planning a new network's subnets: checking what the user asked for and filling in what they
//! left out from the default pools, without changing any state.

use std::collections::BTreeMap;

use ipnetwork::IpNetwork;

use super::subnet::SubnetAllocator;
use super::{cidr, Family, Ipam, IpamError, SubnetConfig, SubnetRequest};

impl Ipam {
    /// Validates the requested subnets of a new network and resolves them into configs, without
    /// changing any state; pass the result to [`Ipam::add_network`].
    ///
    /// - A request without anything set asks for an IPv4 subnet from the default pools, as an
    ///   empty IPAM config does in Docker. A request with a gateway, range or aux address but no
    ///   subnet is an error.
    /// - If no IPv4 subnet is requested, one is chosen from the default pools (Docker networks
    ///   always have IPv4); with `enable_ipv6` and no IPv6 subnet requested, one IPv6 /64 too.
    /// - Requested subnets must be network addresses, IPv4 /30 or larger, IPv6 /126 or larger,
    ///   IPv6 only with `enable_ipv6`, and overlap neither an existing network nor each other.
    ///   They are not checked against `routed`, as in Docker.
    /// - The gateway defaults to the subnet's first address after the network address.
    /// - Chosen subnets avoid existing networks and `routed`, the prefixes routed on the host.
    ///   Default routes in `routed` are ignored: they cover everything.
    ///
    /// The result lists IPv4 subnets first, then IPv6, each in request order.
    pub fn plan_network(
        &self,
        name: &str,
        requests: &[SubnetRequest],
        enable_ipv6: bool,
        routed: &[IpNetwork],
    ) -> Result<Vec<SubnetConfig>, IpamError> {
        let mut configs: Vec<SubnetConfig> = Vec::new();
        let mut wanted = Vec::new();
        for request in requests {
            match request.subnet {
                Some(subnet) => {
                    let config = self.resolve_request(name, subnet, request, enable_ipv6)?;
                    if let Some(other) = configs
                        .iter()
                        .find(|other| cidr::overlaps(other.subnet, subnet))
                    {
                        return Err(IpamError::RequestedSubnetsOverlap {
                            subnet,
                            other_subnet: other.subnet,
                            network: name.to_owned(),
                        });
                    }
                    configs.push(config);
                }
                None if *request == SubnetRequest::default() => wanted.push(Family::V4),
                None => {
                    return Err(IpamError::InvalidRequest {
                        network: name.to_owned(),
                        reason: "--gateway, --ip-range and --aux-address need a --subnet"
                            .to_owned(),
                    });
                }
            }
        }
        let requested = |family| configs.iter().any(|c| c.family() == family);
        if wanted.is_empty() && !requested(Family::V4) {
            wanted.push(Family::V4);
        }
        if enable_ipv6 && !requested(Family::V6) {
            wanted.push(Family::V6);
        }
        for family in wanted {
            let subnet = self.choose_subnet(family, &configs, routed)?;
            configs.push(SubnetConfig {
                subnet,
                ip_range: None,
                gateway: Some(first_host(subnet)),
                aux_addresses: BTreeMap::new(),
            });
        }
        // Stable: request order is kept within each family.
        configs.sort_by_key(|config| config.family() == Family::V6);
        Ok(configs)
    }

    /// Checks one request that names a subnet against the rules and the existing networks.
    fn resolve_request(
        &self,
        name: &str,
        subnet: IpNetwork,
        request: &SubnetRequest,
        enable_ipv6: bool,
    ) -> Result<SubnetConfig, IpamError> {
        check_network_address("subnet", subnet)?;
        let family = Family::of_network(subnet);
        let max_prefix = family.max_subnet_prefix();
        if subnet.prefix() > max_prefix {
            return Err(IpamError::SubnetTooSmall {
                subnet,
                family,
                max_prefix,
            });
        }
        if family == Family::V6 && !enable_ipv6 {
            return Err(IpamError::Ipv6NotEnabled {
                subnet,
                network: name.to_owned(),
            });
        }
        if let Some((other_network, other_subnet)) = self
            .existing_subnets()
            .find(|(_, other)| cidr::overlaps(*other, subnet))
        {
            return Err(IpamError::SubnetOverlap {
                subnet,
                other_network: other_network.to_owned(),
                other_subnet,
            });
        }
        if let Some(range) = request.ip_range {
            check_network_address("ip range", range)?;
        }
        let config = SubnetConfig {
            subnet,
            ip_range: request.ip_range,
            gateway: Some(request.gateway.unwrap_or_else(|| first_host(subnet))),
            aux_addresses: request.aux_addresses.clone(),
        };
        // The allocator enforces where the range, gateway and aux addresses may lie; building
        // one applies exactly the rules `add_network` will apply later.
        SubnetAllocator::new(&config)?;
        Ok(config)
    }

    fn choose_subnet(
        &self,
        family: Family,
        planned: &[SubnetConfig],
        routed: &[IpNetwork],
    ) -> Result<IpNetwork, IpamError> {
        let taken: Vec<IpNetwork> = self
            .existing_subnets()
            .map(|(_, subnet)| subnet)
            .chain(planned.iter().map(|config| config.subnet))
            // The host's default route does not make its addresses unusable; Docker skips it too.
            .chain(routed.iter().copied().filter(|route| route.prefix() > 0))
            .collect();
        self.pools
            .choose(family, &taken)
            .ok_or(IpamError::PoolsExhausted { family })
    }
}

fn check_network_address(what: &'static str, given: IpNetwork) -> Result<(), IpamError> {
    if cidr::is_network_address(given) {
        return Ok(());
    }
    Err(IpamError::NotNetworkAddress {
        what,
        given,
        suggestion: cidr::network_of(given),
    })
}

/// Docker's default gateway: the first address after the network address.
fn first_host(subnet: IpNetwork) -> std::net::IpAddr {
    let family = Family::of_network(subnet);
    cidr::from_u128(family, cidr::bounds(subnet).0 + 1)
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::super::test_support::{ip, net};
    use super::super::DefaultPools;
    use super::*;

    fn request(subnet: &str) -> SubnetRequest {
        SubnetRequest {
            subnet: Some(net(subnet)),
            ..SubnetRequest::default()
        }
    }

    fn subnets(configs: &[SubnetConfig]) -> Vec<String> {
        configs.iter().map(|c| c.subnet.to_string()).collect()
    }

    /// Plans and registers a network, as the daemon does on `network create`.
    fn create(
        ipam: &mut Ipam,
        name: &str,
        requests: &[SubnetRequest],
        ipv6: bool,
    ) -> Vec<SubnetConfig> {
        let configs = ipam.plan_network(name, requests, ipv6, &[]).expect("plan");
        ipam.add_network(&format!("id-{name}"), name, &configs)
            .expect("add");
        configs
    }

    fn plan_err(ipam: &Ipam, requests: &[SubnetRequest], ipv6: bool) -> String {
        match ipam.plan_network("new", requests, ipv6, &[]) {
            Ok(configs) => panic!("planned {configs:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn networks_get_default_pools_in_docker_order() {
        let mut ipam = Ipam::new(DefaultPools::docker_defaults());
        let first = create(&mut ipam, "a", &[], false);
        assert_eq!(
            first,
            vec![SubnetConfig {
                subnet: net("172.17.0.0/16"),
                ip_range: None,
                gateway: Some(ip("172.17.0.1")),
                aux_addresses: BTreeMap::new(),
            }]
        );
        assert_eq!(
            subnets(&create(&mut ipam, "b", &[], false)),
            ["172.18.0.0/16"]
        );
        for octet in 19..=31 {
            let configs = create(&mut ipam, &format!("n{octet}"), &[], false);
            assert_eq!(subnets(&configs), [format!("172.{octet}.0.0/16")]);
        }
        assert_eq!(
            subnets(&create(&mut ipam, "c", &[], false)),
            ["192.168.0.0/20"]
        );
        assert_eq!(
            subnets(&create(&mut ipam, "d", &[], false)),
            ["192.168.16.0/20"]
        );
        for i in 2..16 {
            create(&mut ipam, &format!("m{i}"), &[], false);
        }
        assert_eq!(
            plan_err(&ipam, &[], false),
            "all default IPv4 address pools are in use (by networks or host routes); pass --subnet"
        );
        ipam.remove_network("id-b");
        assert_eq!(
            subnets(&create(&mut ipam, "e", &[], false)),
            ["172.18.0.0/16"]
        );
    }

    #[test]
    fn default_choice_skips_host_routes_but_not_the_default_route() {
        let ipam = Ipam::new(DefaultPools::docker_defaults());
        let routed = [
            net("0.0.0.0/0"),
            net("172.17.0.0/16"),
            net("172.18.0.128/25"),
        ];
        let configs = ipam.plan_network("a", &[], false, &routed).expect("plan");
        assert_eq!(subnets(&configs), ["172.19.0.0/16"]);
        let user = ipam
            .plan_network("b", &[request("172.17.0.0/16")], false, &routed)
            .expect("user subnets may overlap host routes");
        assert_eq!(subnets(&user), ["172.17.0.0/16"]);
    }

    #[test]
    fn ipv6_gets_a_slash_64_from_the_ula_pool() {
        let mut ipam = Ipam::new(DefaultPools::docker_defaults());
        let configs = create(&mut ipam, "a", &[], true);
        assert_eq!(subnets(&configs), ["172.17.0.0/16", "fd42:636e:6d00::/64"]);
        assert_eq!(configs[1].gateway, Some(ip("fd42:636e:6d00::1")));
        let next = create(&mut ipam, "b", &[], true);
        assert_eq!(subnets(&next), ["172.18.0.0/16", "fd42:636e:6d00:1::/64"]);
    }

    #[test]
    fn a_requested_ipv6_subnet_still_gets_an_ipv4_one_first() {
        let ipam = Ipam::new(DefaultPools::docker_defaults());
        let configs = ipam
            .plan_network("a", &[request("fd00:1::/64")], true, &[])
            .expect("plan");
        assert_eq!(subnets(&configs), ["172.17.0.0/16", "fd00:1::/64"]);
        let with_empty = ipam
            .plan_network(
                "b",
                &[request("172.17.0.0/16"), SubnetRequest::default()],
                false,
                &[],
            )
            .expect("plan");
        assert_eq!(
            subnets(&with_empty),
            ["172.17.0.0/16", "172.18.0.0/16"],
            "an empty request is one more IPv4 subnet from the pools, beside the requested one"
        );
    }

    #[test]
    fn overlapping_subnets_name_the_other_network() {
        let mut ipam = Ipam::new(DefaultPools::docker_defaults());
        create(&mut ipam, "web", &[request("172.18.0.0/16")], false);
        assert_eq!(
            plan_err(&ipam, &[request("172.18.0.0/16")], false),
            "subnet 172.18.0.0/16 overlaps with network `web` (172.18.0.0/16)"
        );
        assert_eq!(
            plan_err(&ipam, &[request("172.18.4.0/24")], false),
            "subnet 172.18.4.0/24 overlaps with network `web` (172.18.0.0/16)"
        );
        assert_eq!(
            plan_err(
                &ipam,
                &[request("10.0.0.0/8"), request("10.1.0.0/16")],
                false
            ),
            "subnets 10.1.0.0/16 and 10.0.0.0/8 requested for network `new` overlap"
        );
    }

    #[test]
    fn subnet_shape_is_checked() {
        let ipam = Ipam::new(DefaultPools::docker_defaults());
        assert_eq!(
            plan_err(&ipam, &[request("172.18.0.5/16")], false),
            "subnet 172.18.0.5/16 is not a network address; did you mean 172.18.0.0/16?"
        );
        assert_eq!(
            plan_err(&ipam, &[request("10.0.0.0/31")], false),
            "subnet 10.0.0.0/31 is too small: an IPv4 subnet needs a prefix of /30 or shorter"
        );
        assert!(plan_err(&ipam, &[request("fd00::/127")], true).contains("/126 or shorter"));
        assert_eq!(
            plan_err(&ipam, &[request("fd00::/64")], false),
            "subnet fd00::/64 is IPv6 but network `new` does not enable IPv6; add --ipv6"
        );
        let tiny = ipam.plan_network("t", &[request("10.0.0.0/30")], false, &[]);
        assert_eq!(tiny.map(|c| c[0].gateway), Ok(Some(ip("10.0.0.1"))));
    }

    #[test]
    fn gateway_defaults_to_the_first_host_and_must_be_usable() {
        let ipam = Ipam::new(DefaultPools::docker_defaults());
        let with_gateway = |gateway: &str| SubnetRequest {
            gateway: Some(ip(gateway)),
            ..request("172.18.0.0/16")
        };
        let planned = ipam.plan_network("a", &[with_gateway("172.18.7.7")], false, &[]);
        assert_eq!(planned.map(|c| c[0].gateway), Ok(Some(ip("172.18.7.7"))));
        assert_eq!(
            plan_err(&ipam, &[with_gateway("10.0.0.1")], false),
            "gateway 10.0.0.1 is outside subnet 172.18.0.0/16"
        );
        assert_eq!(
            plan_err(&ipam, &[with_gateway("172.18.0.0")], false),
            "gateway 172.18.0.0 is already the network address of subnet 172.18.0.0/16"
        );
        assert_eq!(
            plan_err(&ipam, &[with_gateway("172.18.255.255")], false),
            "gateway 172.18.255.255 is already the broadcast address of subnet 172.18.0.0/16"
        );
        assert!(plan_err(&ipam, &[with_gateway("fd00::1")], false).contains("outside subnet"));
    }

    #[test]
    fn ip_range_and_aux_addresses_must_lie_in_the_subnet() {
        let ipam = Ipam::new(DefaultPools::docker_defaults());
        let with_range = |range: &str| SubnetRequest {
            ip_range: Some(net(range)),
            ..request("172.18.0.0/16")
        };
        let planned = ipam.plan_network("a", &[with_range("172.18.5.0/24")], false, &[]);
        assert_eq!(
            planned.map(|c| c[0].ip_range),
            Ok(Some(net("172.18.5.0/24")))
        );
        assert_eq!(
            plan_err(&ipam, &[with_range("172.19.0.0/24")], false),
            "ip range 172.19.0.0/24 is outside subnet 172.18.0.0/16"
        );
        assert_eq!(
            plan_err(&ipam, &[with_range("172.18.5.9/24")], false),
            "ip range 172.18.5.9/24 is not a network address; did you mean 172.18.5.0/24?"
        );
        let aux = |addr: &str| SubnetRequest {
            aux_addresses: BTreeMap::from([("printer".to_owned(), ip(addr))]),
            ..request("172.18.0.0/16")
        };
        assert_eq!(
            plan_err(&ipam, &[aux("10.0.0.9")], false),
            "auxiliary address `printer` 10.0.0.9 is outside subnet 172.18.0.0/16"
        );
        assert!(plan_err(&ipam, &[aux("172.18.0.1")], false).contains("already the gateway"));
    }

    #[test]
    fn details_without_a_subnet_are_refused() {
        let ipam = Ipam::new(DefaultPools::docker_defaults());
        let gateway_only = SubnetRequest {
            gateway: Some(ip("10.0.0.1")),
            ..SubnetRequest::default()
        };
        assert_eq!(
            plan_err(&ipam, &[gateway_only], false),
            "invalid subnet request for network `new`: \
             --gateway, --ip-range and --aux-address need a --subnet"
        );
    }

    #[test]
    fn planning_changes_nothing() {
        let ipam = Ipam::new(DefaultPools::docker_defaults());
        let first = ipam.plan_network("a", &[], true, &[]).expect("plan");
        let second = ipam.plan_network("b", &[], true, &[]).expect("plan");
        assert_eq!(first, second, "nothing was registered in between");
        let first_v4: IpAddr = first[0].subnet.ip();
        assert!(!ipam.is_allocated("a", first_v4));
    }
}
