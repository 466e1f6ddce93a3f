//! The parent's part of the network verbs, the same for macvlan and
//! ipvlan: the registry's claim and the kernel link go together, so a
//! failed create leaves neither behind.

use crate::sys::Netlink;
use crate::DriverError;

use super::{check, ensure, release, ParentRegistry, StackedNetwork};

/// `validate_network`: no other network uses the parent, and it exists or
/// cnm can make it. Changes nothing.
pub(crate) fn validate_network(
    parents: &ParentRegistry,
    driver: &'static str,
    net: &StackedNetwork,
) -> Result<(), DriverError> {
    parents.check(driver, net)?;
    check(&mut Netlink::open()?, driver, net)
}

/// `create_network`: claims the parent, makes it if it is cnm's to make,
/// then lets `then` add the driver's own objects (told whether the parent
/// was made now, to remove it again if they fail). Any failure gives the
/// claim back.
pub(crate) fn create_network(
    parents: &ParentRegistry,
    driver: &'static str,
    net: &StackedNetwork,
    then: impl FnOnce(&mut Netlink, bool) -> Result<(), DriverError>,
) -> Result<(), DriverError> {
    parents.claim(driver, net)?;
    let mut nl = Netlink::open()?;
    let made = ensure(&mut nl, driver, net).and_then(|created| then(&mut nl, created));
    if made.is_err() {
        parents.release(&net.id);
    }
    made
}

/// `delete_network`: removes the parent if cnm made it, and forgets the
/// claim whether that worked or not.
pub(crate) fn delete_network(
    parents: &ParentRegistry,
    nl: &mut Netlink,
    driver: &'static str,
    net: &StackedNetwork,
) -> Result<(), DriverError> {
    let released = release(nl, driver, net);
    parents.release(&net.id);
    released
}
