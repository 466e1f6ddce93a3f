//! Isolation: between networks, from outside, `--internal`, `icc=false`;
//! egress masquerade.

use cnm_firewall::Protocol::Tcp;
use cnm_firewall::{Firewall, NetworkRules};

use super::lab::{mapping, network, Lab, CLIENT_IP, HOST_IP, HOST_IP6};
use super::traffic::{serve, tcp};

fn add(lab: &Lab, nets: Vec<NetworkRules>) {
    lab.fw(move |fw| {
        fw.init()?;
        nets.iter().try_for_each(|n| fw.add_network(n))
    })
    .expect("init and add networks");
}

#[test]
fn networks_are_isolated_from_each_other_and_from_outside() {
    let Some(mut lab) = Lab::new("isolation") else {
        return;
    };
    lab.bridge("cnm0", "10.88.0", "fd88:");
    lab.bridge("cnm1", "10.89.0", "fd89:");
    let _c1 = serve(
        lab.container("c1", "cnm0", "10.88.0", "fd88:", 2),
        "10.88.0.2:80",
    );
    let _c1v6 = serve(lab.ns("c1"), "[fd88::2]:80");
    let _d1 = serve(
        lab.container("d1", "cnm1", "10.89.0", "fd89:", 2),
        "10.89.0.2:80",
    );
    let _client = serve(&lab.client, "192.168.77.2:7000");
    let _client6 = serve(&lab.client, "[fd77::2]:7000");
    add(&lab, vec![network("a", "cnm0"), network("b", "cnm1")]);
    let (c1, d1) = (lab.ns("c1"), lab.ns("d1"));

    assert!(
        tcp(d1, "10.88.0.2:80").is_err(),
        "cnm1 -> cnm0 must be dropped"
    );
    assert!(
        tcp(c1, "10.89.0.2:80").is_err(),
        "cnm0 -> cnm1 must be dropped"
    );
    assert!(
        tcp(d1, "[fd88::2]:80").is_err(),
        "cnm1 -> cnm0 (IPv6) must be dropped"
    );
    assert!(
        tcp(&lab.client, "10.88.0.2:80").is_err(),
        "unpublished container reachable from outside"
    );
    assert_eq!(
        tcp(c1, "192.168.77.2:7000"),
        Ok(HOST_IP.into()),
        "egress is masqueraded"
    );
    assert_eq!(
        tcp(c1, "[fd77::2]:7000"),
        Ok(HOST_IP6.into()),
        "IPv6 egress is masqueraded"
    );

    // A published port is public: other networks reach it through the host.
    lab.fw(|fw| fw.publish(&[mapping(Tcp, None, 8080, "10.88.0.2", 80)]))
        .expect("publish");
    assert_eq!(tcp(d1, &format!("{HOST_IP}:8080")), Ok("10.89.0.2".into()));
    assert_eq!(
        tcp(&lab.client, &format!("{HOST_IP}:8080")),
        Ok(CLIENT_IP.into())
    );
}

#[test]
fn an_internal_network_has_no_way_in_or_out() {
    let Some(mut lab) = Lab::new("internal") else {
        return;
    };
    lab.bridge("cnm2", "10.90.0", "fd90:");
    lab.container("e1", "cnm2", "10.90.0", "fd90:", 2);
    let _e2 = serve(
        lab.container("e2", "cnm2", "10.90.0", "fd90:", 3),
        "10.90.0.3:80",
    );
    let _client = serve(&lab.client, "192.168.77.2:7000");
    add(
        &lab,
        vec![NetworkRules {
            internal: true,
            ..network("c", "cnm2")
        }],
    );

    let e1 = lab.ns("e1");
    assert!(
        tcp(e1, "192.168.77.2:7000").is_err(),
        "internal network reached outside"
    );
    assert!(
        tcp(&lab.client, "10.90.0.3:80").is_err(),
        "outside reached internal network"
    );
    assert_eq!(
        tcp(e1, "10.90.0.3:80"),
        Ok("10.90.0.2".into()),
        "ports of one internal bridge talk"
    );
}

#[test]
fn icc_false_blocks_container_to_container_but_not_published_ports() {
    let Some(mut lab) = Lab::new("icc") else {
        return;
    };
    if !lab.bridge_netfilter_active() {
        return;
    }
    lab.bridge("cnm0", "10.88.0", "fd88:");
    lab.bridge("cnm3", "10.91.0", "fd91:");
    lab.container("c1", "cnm0", "10.88.0", "fd88:", 2);
    let _c2 = serve(
        lab.container("c2", "cnm0", "10.88.0", "fd88:", 3),
        "10.88.0.3:80",
    );
    lab.container("f1", "cnm3", "10.91.0", "fd91:", 2);
    let f2 = lab.container("f2", "cnm3", "10.91.0", "fd91:", 3);
    let (_f2, _f2v6) = (serve(f2, "10.91.0.3:80"), serve(f2, "[fd91::3]:80"));
    add(
        &lab,
        vec![
            network("a", "cnm0"),
            NetworkRules {
                icc: false,
                ..network("d", "cnm3")
            },
        ],
    );
    lab.fw(|fw| fw.publish(&[mapping(Tcp, None, 8080, "10.91.0.3", 80)]))
        .expect("publish");

    assert_eq!(
        tcp(lab.ns("c1"), "10.88.0.3:80"),
        Ok("10.88.0.2".into()),
        "control: icc=true"
    );
    let f1 = lab.ns("f1");
    assert!(tcp(f1, "10.91.0.3:80").is_err(), "icc=false must block");
    assert!(
        tcp(f1, "[fd91::3]:80").is_err(),
        "icc=false must block IPv6"
    );
    assert_eq!(
        tcp(&lab.client, &format!("{HOST_IP}:8080")),
        Ok(CLIENT_IP.into())
    );
    assert_eq!(
        tcp(f1, &format!("{HOST_IP}:8080")),
        Ok("10.91.0.1".into()),
        "published port via the host"
    );
}
