//! Published ports: outside clients (source kept), host IPs, localhost,
//! hairpin, and the 127.0.0.0/8 guard.

use cnm_firewall::Firewall;
use cnm_firewall::Protocol::{Tcp, Udp};

use super::lab::{mapping, network, Lab, CLIENT_IP, CLIENT_IP6, HOST_IP, HOST_IP2};
use super::traffic::{serve, tcp, udp};

/// A lab with bridge cnm0 (10.88.0.0/24, fd88::/64), container c1 at .2 / ::2
/// serving port 80, and the firewall initialised with that network.
fn one_container(test: &str) -> Option<(Lab, Vec<super::traffic::Server>)> {
    let mut lab = Lab::new(test)?;
    lab.bridge("cnm0", "10.88.0", "fd88:");
    let c1 = lab.container("c1", "cnm0", "10.88.0", "fd88:", 2);
    let servers = vec![serve(c1, "10.88.0.2:80"), serve(c1, "[fd88::2]:80")];
    lab.fw(|fw| {
        fw.init()?;
        fw.add_network(&network("a", "cnm0"))
    })
    .expect("init and add network");
    Some((lab, servers))
}

#[test]
fn published_ports_reach_the_container_with_the_client_source_address() {
    let Some((lab, _servers)) = one_container("published_ports") else {
        return;
    };
    let maps = vec![
        mapping(Tcp, None, 8080, "10.88.0.2", 80),
        mapping(Udp, None, 8080, "10.88.0.2", 80),
        mapping(Tcp, None, 8080, "fd88::2", 80),
        mapping(Udp, None, 8053, "fd88::2", 80),
    ];
    let published = maps.clone();
    lab.fw(move |fw| fw.publish(&published)).expect("publish");

    assert_eq!(tcp(&lab.client, "192.168.77.1:8080"), Ok(CLIENT_IP.into()));
    assert_eq!(udp(&lab.client, "192.168.77.1:8080"), Ok(CLIENT_IP.into()));
    assert_eq!(tcp(&lab.client, "[fd77::1]:8080"), Ok(CLIENT_IP6.into()));
    assert_eq!(udp(&lab.client, "[fd77::1]:8053"), Ok(CLIENT_IP6.into()));

    lab.fw(move |fw| fw.unpublish(&maps)).expect("unpublish");
    assert!(tcp(&lab.client, "192.168.77.1:8080").is_err());
    assert!(tcp(&lab.client, "[fd77::1]:8080").is_err());
}

#[test]
fn a_port_published_on_one_host_ip_is_not_served_on_another() {
    let Some((lab, _servers)) = one_container("host_ip") else {
        return;
    };
    let maps = vec![mapping(Tcp, Some(HOST_IP2), 8081, "10.88.0.2", 80)];
    lab.fw(move |fw| fw.publish(&maps)).expect("publish");

    assert_eq!(
        tcp(&lab.client, &format!("{HOST_IP2}:8081")),
        Ok(CLIENT_IP.into())
    );
    assert!(tcp(&lab.client, &format!("{HOST_IP}:8081")).is_err());
}

#[test]
fn localhost_publishing_works_from_the_host() {
    let Some((lab, _servers)) = one_container("localhost") else {
        return;
    };
    let maps = vec![
        mapping(Tcp, None, 8080, "10.88.0.2", 80),
        mapping(Tcp, Some("127.0.0.1"), 8082, "10.88.0.2", 80),
    ];
    lab.fw(move |fw| fw.publish(&maps)).expect("publish");

    // Masqueraded to the bridge address: the container cannot answer 127.0.0.1.
    assert_eq!(tcp(&lab.host, "127.0.0.1:8080"), Ok("10.88.0.1".into()));
    assert_eq!(tcp(&lab.host, "127.0.0.1:8082"), Ok("10.88.0.1".into()));
    assert_eq!(
        tcp(&lab.host, &format!("{HOST_IP}:8080")),
        Ok(HOST_IP.into())
    );
    // A 127.0.0.1 mapping is not served on the host's other addresses.
    assert!(tcp(&lab.client, &format!("{HOST_IP}:8082")).is_err());
}

#[test]
fn loopback_addresses_from_other_interfaces_are_dropped() {
    let Some(lab) = Lab::new("loopback_guard") else {
        return;
    };
    // Worst case: route_localnet everywhere, and a client that routes
    // 127.0.0.1 to the host (CVE-2020-8558).
    for (ns, dev) in [(&lab.host, "xh0"), (&lab.client, "eth0")] {
        ns.sysctl("net.ipv4.conf.all.route_localnet", "1");
        ns.sysctl(&format!("net.ipv4.conf.{dev}.route_localnet"), "1");
    }
    lab.client
        .ip(&format!("route add 127.0.0.1/32 via {HOST_IP}"));
    let _local_only = serve(&lab.host, "127.0.0.1:9999");
    assert_eq!(
        tcp(&lab.client, "127.0.0.1:9999"),
        Ok(CLIENT_IP.into()),
        "control: reachable without the guard"
    );

    lab.fw(|fw| fw.init()).expect("init");
    assert!(
        tcp(&lab.client, "127.0.0.1:9999").is_err(),
        "guard must drop 127.0.0.0/8 from xh0"
    );
    assert_eq!(
        tcp(&lab.host, "127.0.0.1:9999"),
        Ok("127.0.0.1".into()),
        "loopback itself still works"
    );
}

#[test]
fn hairpin_from_a_container_to_its_own_published_port() {
    let Some((lab, _servers)) = one_container("hairpin") else {
        return;
    };
    let maps = vec![
        mapping(Tcp, None, 8080, "10.88.0.2", 80),
        mapping(Tcp, None, 8080, "fd88::2", 80),
    ];
    lab.fw(move |fw| fw.publish(&maps)).expect("publish");

    let c1 = lab.ns("c1");
    assert_eq!(tcp(c1, &format!("{HOST_IP}:8080")), Ok("10.88.0.1".into()));
    assert_eq!(tcp(c1, "10.88.0.1:8080"), Ok("10.88.0.1".into()));
    assert_eq!(tcp(c1, "[fd77::1]:8080"), Ok("fd88::1".into()));
}
