//! The `host` and `null` drivers.

use cnm_drivers::host::HostDriver;
use cnm_drivers::null::NullDriver;
use cnm_drivers::sys::Netns;
use cnm_drivers::{Driver, DriverError, SandboxInterface, SandboxSpec};

use crate::common::{endpoint, network, require_root};

#[test]
fn host_refuses_a_separate_namespace() {
    require_root!();
    let driver = HostDriver::new();
    let (net, ep) = (network(1, &[]), endpoint(1));
    let other = Netns::new_anonymous().expect("netns");
    let sandbox = SandboxSpec {
        netns: other.fd(),
        ifname: "eth0",
    };
    let err = driver.join(&net, &ep, sandbox).expect_err("separate netns");
    assert!(matches!(err, DriverError::Unsupported { .. }), "{err:?}");
    assert!(
        err.to_string().contains("shares the host's own stack"),
        "{err}"
    );

    let own = Netns::current().expect("current");
    let sandbox = SandboxSpec {
        netns: own.fd(),
        ifname: "eth0",
    };
    let info = driver.join(&net, &ep, sandbox).expect("host netns itself");
    assert_eq!(info.interface, SandboxInterface::None);
}

#[test]
fn null_hands_out_nothing() {
    let driver = NullDriver::new();
    let own = Netns::current().expect("current");
    let mut net = network(1, &[]);
    net.options.clear();
    let sandbox = SandboxSpec {
        netns: own.fd(),
        ifname: "eth0",
    };
    let info = driver.join(&net, &endpoint(1), sandbox).expect("join");
    assert_eq!(info.interface, SandboxInterface::None);
    assert_eq!((info.gateway_v4, info.gateway_v6), (None, None));
    assert!(!driver.capabilities().creates_interfaces);
    assert!(!HostDriver::new().capabilities().creates_interfaces);
}
