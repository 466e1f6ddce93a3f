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

/// A flow the host opened to a port published on 127.0.0.1 has loopback
/// addresses on both ends, and conntrack finds it by addresses and ports on
/// any interface: a datagram with the same tuple spoofed from outside must
/// not ride on it into the container.
#[test]
fn spoofed_loopback_packets_cannot_join_the_hosts_localhost_flow() {
    let Some((lab, _servers)) = one_container("loopback_spoof") else {
        return;
    };
    let maps = vec![mapping(Udp, Some("127.0.0.1"), 8091, "10.88.0.2", 81)];
    lab.fw(move |fw| fw.publish(&maps)).expect("publish");
    // Worst case: route_localnet everywhere, as in the guard test above,
    // and accept_local, without which the kernel drops a packet whose
    // source is one of the host's own addresses before anything else.
    for (ns, dev) in [(&lab.host, "xh0"), (&lab.client, "eth0")] {
        ns.sysctl("net.ipv4.conf.all.route_localnet", "1");
        ns.sysctl(&format!("net.ipv4.conf.{dev}.route_localnet"), "1");
    }
    lab.host.sysctl("net.ipv4.conf.all.accept_local", "1");
    lab.host.sysctl("net.ipv4.conf.xh0.accept_local", "1");
    lab.client
        .ip(&format!("route add 127.0.0.1/32 via {HOST_IP}"));

    let seen = record_udp(lab.ns("c1"), "10.88.0.2:81");
    // The host's own flow, answered, so established.
    let answered = lab.host.run(|| {
        let sock = std::net::UdpSocket::bind("127.0.0.1:40000").expect("bind");
        sock.set_read_timeout(Some(std::time::Duration::from_millis(700)))
            .expect("timeout");
        sock.send_to(b"host", "127.0.0.1:8091").expect("send");
        let mut buf = [0u8; 16];
        sock.recv_from(&mut buf).is_ok()
    });
    assert!(answered, "control: the host's flow to 127.0.0.1:8091 works");

    lab.client
        .run(|| spoof_udp("127.0.0.1:40000", "127.0.0.1:8091", b"spoof"));
    std::thread::sleep(std::time::Duration::from_millis(300));
    let got = seen.lock().expect("seen").clone();
    assert!(got.iter().any(|p| p == "host"), "control: {got:?}");
    assert!(
        !got.iter().any(|p| p == "spoof"),
        "a spoofed 127.0.0.1 datagram reached the container: {got:?}"
    );
}

/// Payloads of the UDP datagrams `addr` in `ns` receives (each answered).
fn record_udp(
    ns: &super::netns::Netns,
    addr: &str,
) -> std::sync::Arc<std::sync::Mutex<Vec<String>>> {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let addr = addr.to_owned();
    ns.run(move || {
        let sock = std::net::UdpSocket::bind(&addr).expect("bind recorder");
        sock.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .expect("timeout");
        std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            while let Ok((n, peer)) = sock.recv_from(&mut buf) {
                log.lock()
                    .expect("log")
                    .push(String::from_utf8_lossy(&buf[..n]).into_owned());
                let _ = sock.send_to(b"ok", peer);
            }
        });
    });
    seen
}

/// Sends one UDP datagram with any source address: an IPv4 header written
/// by hand on a raw socket (the kernel would refuse a loopback source).
fn spoof_udp(from: &str, to: &str, payload: &[u8]) {
    let (from, to): (std::net::SocketAddrV4, std::net::SocketAddrV4) =
        (from.parse().expect("from"), to.parse().expect("to"));
    let total = 20 + 8 + payload.len();
    let mut packet = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0];
    packet[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    packet.extend_from_slice(&from.ip().octets());
    packet.extend_from_slice(&to.ip().octets());
    packet.extend_from_slice(&from.port().to_be_bytes());
    packet.extend_from_slice(&to.port().to_be_bytes());
    packet.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    packet.extend_from_slice(&[0, 0]); // no UDP checksum (allowed on IPv4)
    packet.extend_from_slice(payload);
    // SAFETY: plain socket calls on a descriptor this function owns; the
    // address and buffer outlive the calls.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_RAW);
        assert!(fd >= 0, "raw socket: {}", std::io::Error::last_os_error());
        let dest = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: 0,
            sin_addr: libc::in_addr {
                s_addr: u32::from_ne_bytes(to.ip().octets()),
            },
            sin_zero: [0; 8],
        };
        let sent = libc::sendto(
            fd,
            packet.as_ptr().cast(),
            packet.len(),
            0,
            (&dest as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        let err = std::io::Error::last_os_error();
        libc::close(fd);
        assert_eq!(sent as usize, packet.len(), "raw send: {err}");
    }
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
