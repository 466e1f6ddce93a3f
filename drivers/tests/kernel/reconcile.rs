//! The bridge driver's reconcile pass.

use cnm_drivers::bridge::{bridge_name_for, veth_name_for, BridgeDriver};
use cnm_drivers::sys::{Netns, VethSpec};
use cnm_drivers::{Driver, ReconcileScope, SandboxSpec};

use crate::common::{endpoint, network, require_root, sandbox};

fn veth<'a>(name: &'a str, peer: &'a str, master: Option<u32>) -> VethSpec<'a> {
    VethSpec {
        name,
        master,
        up: true,
        mtu: None,
        ipv6_link_local: true,
        peer_name: peer,
        peer_netns: None,
        peer_mac: None,
    }
}

#[test]
fn reconcile_repairs_ours_and_spares_the_rest() {
    require_root!();
    let (host, mut nl) = sandbox();
    let driver = BridgeDriver::new();
    let (a, b, c) = (network(10, &[]), network(11, &[]), network(12, &[]));
    let containers: Vec<Netns> = (0..4)
        .map(|_| Netns::new_anonymous().expect("netns"))
        .collect();
    host.run(|| -> Result<(), cnm_drivers::DriverError> {
        for net in [&a, &b, &c] {
            driver.create_network(net)?;
        }
        for (n, net) in [(1, &a), (2, &a), (4, &b)] {
            let sandbox = SandboxSpec {
                netns: containers[n as usize - 1].fd(),
                ifname: "eth0",
            };
            driver.join(net, &endpoint(n), sandbox)?;
        }
        Ok(())
    })
    .expect("run")
    .expect("setup");

    // Someone deletes network b's bridge; its port (endpoint 4) is freed.
    let b_bridge = bridge_name_for(&b.id).expect("name");
    assert!(nl.delete_link_by_name(&b_bridge).expect("delete"));
    // Foreign links: a user bridge, a veth with our prefix but not our
    // pattern, one with our pattern on the user's bridge, an unrelated one.
    let user = nl.create_bridge("mybr0", None).expect("user bridge");
    nl.create_veth(&veth("cnmvzzzzzzzzzzz", "f0", None))
        .expect("foreign veth");
    nl.create_veth(&veth("cnmv00000000000", "f1", Some(user)))
        .expect("veth on user bridge");
    nl.create_veth(&veth("foreign0", "f2", None))
        .expect("unrelated veth");

    let endpoints = vec![
        (a.id.clone(), endpoint(1)),
        (a.id.clone(), endpoint(3)),
        (b.id.clone(), endpoint(4)),
    ];
    let networks = [a.clone(), b.clone()];
    let report = host
        .run(|| driver.reconcile(ReconcileScope::alone(&networks, &endpoints)))
        .expect("run")
        .expect("reconcile");

    let veth_of = |n: u8| veth_name_for(&endpoint(n).id).expect("name");
    assert!(
        report
            .recreated
            .contains(&format!("bridge {b_bridge} (network net11)")),
        "{report:?}"
    );
    assert!(
        report
            .recreated
            .contains(&format!("port {} on {b_bridge}", veth_of(4))),
        "{report:?}"
    );
    let c_bridge = bridge_name_for(&c.id).expect("name");
    let mut removed = report.removed.clone();
    removed.sort();
    assert_eq!(
        removed,
        vec![format!("bridge {c_bridge}"), format!("veth {}", veth_of(2))]
    );
    assert_eq!(report.lost_endpoints, vec![endpoint(3).id]);

    let names: Vec<String> = nl
        .links()
        .expect("links")
        .into_iter()
        .map(|l| l.name)
        .collect();
    for kept in [
        "mybr0",
        "cnmvzzzzzzzzzzz",
        "cnmv00000000000",
        "foreign0",
        "f0",
        "f1",
        "f2",
    ] {
        assert!(
            names.iter().any(|n| n == kept),
            "{kept} was touched: {names:?}"
        );
    }
    assert!(names.contains(&veth_of(1)) && names.contains(&veth_of(4)));
    let b_index = nl
        .link_by_name(&b_bridge)
        .expect("lookup")
        .expect("recreated")
        .index;
    let port = nl.link_by_name(&veth_of(4)).expect("lookup").expect("port");
    assert_eq!((port.master, port.up), (Some(b_index), true));

    let again = host
        .run(|| driver.reconcile(ReconcileScope::alone(&networks, &endpoints)))
        .expect("run")
        .expect("again");
    assert!(
        again.recreated.is_empty() && again.removed.is_empty(),
        "{again:?}"
    );
    assert_eq!(again.lost_endpoints, vec![endpoint(3).id]);
}
