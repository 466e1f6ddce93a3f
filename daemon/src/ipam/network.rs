//! One network's subnets as IPAM sees them: finds the subnet an address belongs to, and tries
//! the subnets of a family in order for a dynamic address.

use std::net::IpAddr;

use ipnetwork::IpNetwork;

use super::subnet::{SubnetAllocator, Unavailable};
use super::{cidr, Family, IpamError};

#[derive(Debug, Clone)]
pub(super) struct Network {
    pub(super) name: String,
    pub(super) subnets: Vec<SubnetAllocator>,
}

impl Network {
    /// Takes a given address (static allocation or restored state).
    pub(super) fn claim(&mut self, addr: IpAddr) -> Result<IpNetwork, IpamError> {
        let family = Family::of(addr);
        self.require_family(family)?;
        let Some(subnet) = self.subnets.iter_mut().find(|s| s.contains(addr)) else {
            let subnets = self.subnets.iter().filter(|s| s.family() == family);
            return Err(IpamError::AddressOutsideNetwork {
                addr,
                network: self.name.clone(),
                subnets: cidr::list(subnets.map(SubnetAllocator::subnet)),
            });
        };
        match subnet.claim(addr) {
            Ok(()) => Ok(cidr::with_prefix(addr, subnet.subnet().prefix())),
            Err(Unavailable::InUse) => Err(IpamError::AddressInUse {
                addr,
                network: self.name.clone(),
            }),
            Err(Unavailable::Reserved(role)) => Err(IpamError::AddressReserved {
                addr,
                role,
                network: self.name.clone(),
            }),
        }
    }

    fn require_family(&self, family: Family) -> Result<(), IpamError> {
        if self.subnets.iter().any(|s| s.family() == family) {
            return Ok(());
        }
        Err(IpamError::NoSubnet {
            network: self.name.clone(),
            family,
        })
    }

    /// Hands out the next free address of `family`, trying subnets in order.
    pub(super) fn next(&mut self, family: Family) -> Result<IpNetwork, IpamError> {
        self.require_family(family)?;
        let found = self
            .subnets
            .iter_mut()
            .filter(|s| s.family() == family)
            .find_map(|subnet| Some(cidr::with_prefix(subnet.next()?, subnet.subnet().prefix())));
        found.ok_or_else(|| IpamError::NetworkFull {
            family,
            pools: cidr::list(
                self.subnets
                    .iter()
                    .filter(|s| s.family() == family)
                    .map(SubnetAllocator::pool),
            ),
            network: self.name.clone(),
        })
    }
}
