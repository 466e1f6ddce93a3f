//! The parent interface of a macvlan or ipvlan network, shared by both
//! drivers: named by the user (an existing link, or `NAME.VLAN` for an
//! 802.1Q sub-interface that cnm makes with the network and removes with
//! it), or an internal one that cnm makes when none is named.
//!
//! Links cnm makes carry the ifalias `cnm-<driver>:<network id>`: the
//! kernel object itself says that cnm made it and for which network, so
//! deleting a network never removes a link the user made (even one that
//! looks like `eth0.10`), and a crash between making the link and any
//! bookkeeping cannot lose that fact.

mod links;
mod network;
mod registry;
mod support;

use std::net::IpAddr;

pub(crate) use links::{check, ensure, release, remove_orphans, repair};
pub(crate) use network::{create_network, delete_network, validate_network};
pub use registry::ParentRegistry;
pub(crate) use support::{require_link_kind, IPVLAN, MACVLAN, VLAN};

use crate::bridge::hex_prefix;
use crate::driver::NetworkSpec;
use crate::options::parse_ifname;
use crate::sys::{Link, Netlink};
use crate::DriverError;

/// The option naming the parent (`-o parent=eth0`), as Docker spells it.
pub const PARENT_OPTION: &str = "parent";

/// Prefix of internal parents: `dm-` + 12 hex digits of the network id,
/// Docker's name for the dummy link of a parent-less network.
const INTERNAL_PREFIX: &str = "dm-";
const INTERNAL_ID_DIGITS: usize = 12;

/// Lowest and highest usable 802.1Q VLAN ids.
const VLAN_IDS: std::ops::RangeInclusive<u16> = 1..=4094;

/// A network's parent interface, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Parent {
    /// `-o parent=NAME`. If NAME does not exist and reads BASE.VLAN, cnm
    /// makes it as VLAN `vlan.1` on `vlan.0`.
    Named {
        name: String,
        vlan: Option<(String, u16)>,
    },
    /// No parent given: a link cnm makes that reaches nothing outside the
    /// host, so the network only connects its own containers.
    Internal { name: String },
}

impl Parent {
    /// Reads the `parent` option of network `network_id`.
    pub fn parse(
        driver: &'static str,
        network_id: &str,
        value: Option<&str>,
    ) -> Result<Parent, DriverError> {
        let Some(name) = value else {
            let digits = hex_prefix("network", network_id, INTERNAL_ID_DIGITS)?;
            return Ok(Parent::Internal {
                name: format!("{INTERNAL_PREFIX}{digits}"),
            });
        };
        let name = parse_ifname(driver, PARENT_OPTION, name)?;
        if name == "lo" {
            return Err(DriverError::InvalidOption {
                driver,
                message: format!(
                    "the loopback interface cannot be a {driver} parent; name an Ethernet \
                     interface"
                ),
            });
        }
        Ok(Parent::Named {
            vlan: vlan_of(&name),
            name,
        })
    }

    /// The parent's interface name.
    pub fn name(&self) -> &str {
        match self {
            Parent::Named { name, .. } | Parent::Internal { name } => name,
        }
    }

    /// Whether cnm made up the parent because none was named.
    pub fn is_internal(&self) -> bool {
        matches!(self, Parent::Internal { .. })
    }
}

/// `eth0.10` -> (`eth0`, 10); None for names that are not BASE.VLAN.
fn vlan_of(name: &str) -> Option<(String, u16)> {
    let (base, digits) = name.rsplit_once('.')?;
    // Canonical decimal only: `eth0.010` or `eth0.+1` are names, not VLANs.
    if base.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let id: u16 = digits.parse().ok()?;
    VLAN_IDS.contains(&id).then(|| (base.to_owned(), id))
}

/// The ifalias cnm puts on a parent it made for `network_id`.
pub(crate) fn alias(driver: &str, network_id: &str) -> String {
    format!("{}{network_id}", alias_prefix(driver))
}

/// What every alias of `driver`'s parents starts with.
pub(crate) fn alias_prefix(driver: &str) -> String {
    format!("cnm-{driver}:")
}

/// What macvlan and ipvlan networks share once validated: the parent, and
/// where containers find their gateway.
#[derive(Debug, Clone)]
pub(crate) struct StackedNetwork {
    pub id: String,
    /// The user-facing name, for messages.
    pub name: String,
    pub parent: Parent,
    pub internal: bool,
    /// Gateways of the subnets, IPv4 first (IPAM's order).
    pub gateways: Vec<IpAddr>,
    /// The network has an IPv6 subnet.
    pub ipv6: bool,
}

impl StackedNetwork {
    /// Checks id and subnets; `parent` is the raw `parent` option.
    pub fn new(
        driver: &'static str,
        net: &NetworkSpec,
        parent: Option<&str>,
    ) -> Result<StackedNetwork, DriverError> {
        let parent = Parent::parse(driver, &net.id, parent)?;
        let gateways = net
            .gateways()?
            .into_iter()
            .map(|(_, gateway)| gateway)
            .collect();
        Ok(StackedNetwork {
            id: net.id.clone(),
            name: net.name.clone(),
            parent,
            internal: net.internal,
            gateways,
            ipv6: net.subnets.iter().any(|s| s.subnet.is_ipv6()),
        })
    }

    /// Whether containers get a way out: not for `--internal` networks, and
    /// not without a parent (as in Docker, a parent-less network is internal).
    pub fn routes_out(&self) -> bool {
        !self.internal && !self.parent.is_internal()
    }

    /// The gateway of the given family that containers route through.
    pub fn gateway(&self, v6: bool) -> Option<IpAddr> {
        if !self.routes_out() {
            return None;
        }
        self.gateways.iter().copied().find(|ip| ip.is_ipv6() == v6)
    }

    /// The parent link as the kernel has it now; NotFound when it was
    /// deleted behind cnm's back.
    pub fn parent_link(&self, nl: &mut Netlink) -> Result<Link, DriverError> {
        nl.link_by_name(self.parent.name())?
            .ok_or_else(|| DriverError::NotFound {
                object: format!("parent `{}` of network `{}`", self.parent.name(), self.name),
                hint: "it was deleted outside cnm; recreate it (cnmd remakes parents it made \
                       when it restarts)",
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::SubnetSpec;

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn parse(value: Option<&str>) -> Result<Parent, String> {
        Parent::parse("macvlan", ID, value).map_err(|e| e.to_string())
    }

    #[test]
    fn parents_named_internal_and_vlan() {
        assert_eq!(
            parse(None),
            Ok(Parent::Internal {
                name: "dm-0123456789ab".into()
            })
        );
        assert_eq!(
            parse(Some("eth0")),
            Ok(Parent::Named {
                name: "eth0".into(),
                vlan: None
            })
        );
        assert_eq!(
            parse(Some("eth0.10")),
            Ok(Parent::Named {
                name: "eth0.10".into(),
                vlan: Some(("eth0".into(), 10))
            })
        );
        // Not BASE.VLAN: plain names that happen to hold a dot.
        for name in [
            "eth0.0",
            "eth0.4095",
            "eth0.x",
            ".10",
            "eth0.010",
            "eth0.+1",
        ] {
            assert!(
                matches!(parse(Some(name)), Ok(Parent::Named { vlan: None, .. })),
                "{name}"
            );
        }
    }

    #[test]
    fn bad_parents_are_refused_with_the_reason() {
        let lo = parse(Some("lo")).unwrap_err();
        assert!(lo.contains("loopback"), "{lo}");
        let long = parse(Some("a-name-of-16-chr")).unwrap_err();
        assert!(
            long.contains("`parent`") && long.contains("15 characters"),
            "{long}"
        );
    }

    #[test]
    fn gateways_only_for_networks_that_route_out() {
        let net = |internal, parent: Option<&str>| {
            let spec = NetworkSpec {
                id: ID.into(),
                name: "lan".into(),
                options: Default::default(),
                subnets: vec![SubnetSpec {
                    subnet: "192.168.1.0/24".parse().unwrap_or_else(|_| unreachable!()),
                    gateway: "192.168.1.1".parse().ok(),
                }],
                internal,
                enable_ipv6: false,
            };
            StackedNetwork::new("macvlan", &spec, parent).map_err(|e| e.to_string())
        };
        let lan = net(false, Some("eth0"));
        assert_eq!(
            lan.as_ref().ok().and_then(|n| n.gateway(false)),
            "192.168.1.1".parse().ok()
        );
        assert_eq!(lan.ok().and_then(|n| n.gateway(true)), None);
        assert!(net(true, Some("eth0")).is_ok_and(|n| n.gateway(false).is_none()));
        assert!(net(false, None).is_ok_and(|n| n.gateway(false).is_none()));
    }
}
