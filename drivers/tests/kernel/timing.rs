//! Timings, printed, never asserted: what one veth costs, with and without
//! the addr_gen_mode change, and what deleting one costs. The `#[ignore]`d
//! experiment measures how setup scales with the number of ports.
//! Run with `cargo test -p cnm-drivers --test kernel timing -- --nocapture`.

use std::time::{Duration, Instant};

use cnm_drivers::sys::{write_sysctl, Netlink, Netns, VethSpec};

use crate::common::{require_root, sandbox};

fn per_call(total: Duration, n: usize) -> f64 {
    total.as_secs_f64() * 1e6 / n as f64
}

fn veth<'a>(name: &'a str, bridge: u32, link_local: bool, peer_ns: &'a Netns) -> VethSpec<'a> {
    VethSpec {
        name,
        master: Some(bridge),
        up: true,
        mtu: None,
        ipv6_link_local: link_local,
        peer_name: "eth0",
        peer_netns: Some(peer_ns.fd()),
        peer_mac: Some([0x02, 0x42, 0, 0, 0, 1]),
    }
}

/// Creates `n` veths (peer as eth0 in its own netns) and returns the time
/// per create_veth and per delete, in µs.
fn create_and_delete(nl: &mut Netlink, bridge: u32, n: usize, link_local: bool) -> (f64, f64) {
    let sandboxes: Vec<Netns> = (0..n)
        .map(|_| Netns::new_anonymous().expect("netns"))
        .collect();
    let names: Vec<String> = (0..n).map(|i| format!("cnmv{i:011x}")).collect();
    let start = Instant::now();
    let indexes: Vec<u32> = names
        .iter()
        .zip(&sandboxes)
        .map(|(name, ns)| {
            nl.create_veth(&veth(name, bridge, link_local, ns))
                .expect("veth")
        })
        .collect();
    let create = per_call(start.elapsed(), n);
    let start = Instant::now();
    for index in indexes {
        nl.delete_link(index).expect("delete");
    }
    (create, per_call(start.elapsed(), n))
}

#[test]
fn create_veth_timing() {
    require_root!();
    const N: usize = 40;
    let (_host, mut nl) = sandbox();
    let bridge = nl.create_bridge("br0", None).expect("bridge");
    nl.set_up(bridge).expect("up");
    // Warm-up: first use of veth/bridge code paths.
    create_and_delete(&mut nl, bridge, 2, true);
    let (with_ll, del_ll) = create_and_delete(&mut nl, bridge, N, true);
    let (no_ll, del_no_ll) = create_and_delete(&mut nl, bridge, N, false);

    let sandboxes: Vec<Netns> = (0..N)
        .map(|_| Netns::new_anonymous().expect("netns"))
        .collect();
    let mut indexes = Vec::new();
    for (i, ns) in sandboxes.iter().enumerate() {
        let name = format!("cnmv{i:011x}");
        indexes.push(
            nl.create_veth(&veth(&name, bridge, true, ns))
                .expect("veth"),
        );
    }
    let start = Instant::now();
    for &index in &indexes {
        nl.set_addr_gen_mode_none(index).expect("addr_gen_mode");
    }
    let gen_mode = per_call(start.elapsed(), N);
    let start = Instant::now();
    for _ in 0..N {
        nl.link_by_name("br0").expect("lookup");
    }
    let lookup = per_call(start.elapsed(), N);
    let start = Instant::now();
    drop(sandboxes);
    let drop_ns = per_call(start.elapsed(), N);

    eprintln!("create_veth (peer in netns, enslaved, up), N={N}, debug build:");
    eprintln!("  with IPv6 link-local on host side:    {with_ll:8.1} µs/call");
    eprintln!("  with addr_gen_mode none (2 requests): {no_ll:8.1} µs/call");
    eprintln!("  set_addr_gen_mode_none alone:         {gen_mode:8.1} µs/call");
    eprintln!("  link_by_name (bridge lookup in join): {lookup:8.1} µs/call");
    eprintln!(
        "  delete veth: {:.2} ms / {:.2} ms per call",
        del_ll / 1e3,
        del_no_ll / 1e3
    );
    eprintln!("  dropping the peer's netns instead:    {drop_ns:8.1} µs/call");
}

/// One container the scaling experiment set up.
struct Container {
    _ns: Netns,
}

/// Sets up `n` containers on one bridge, each: a fresh netns (IPv6 on or
/// off inside), create_veth, eth0 up. Prints the mean setup time per batch
/// and the packets the bridge flooded, to see whether the host side's IPv6
/// link-local (DAD, MLD) makes setup grow with N.
fn scale_run(n: usize, host_link_local: bool, container_ipv6: bool) {
    let (host, mut nl) = sandbox();
    let bridge = nl.create_bridge("br0", None).expect("bridge");
    nl.set_up(bridge).expect("up");
    let mut containers = Vec::with_capacity(n);
    let mut batch = Duration::ZERO;
    eprintln!("host link-local {host_link_local}, container IPv6 {container_ipv6}:");
    for i in 0..n {
        let ns = Netns::new_anonymous().expect("netns");
        let mut cnl = ns
            .run(|| -> Result<Netlink, cnm_drivers::sys::SysError> {
                if !container_ipv6 {
                    write_sysctl("net/ipv6/conf/default/disable_ipv6", "1")?;
                }
                Netlink::open()
            })
            .expect("run")
            .expect("container netlink");
        let name = format!("cnmv{i:011x}");
        let start = Instant::now();
        nl.create_veth(&veth(&name, bridge, host_link_local, &ns))
            .expect("veth");
        let eth0 = cnl.link_by_name("eth0").expect("lookup").expect("eth0");
        cnl.set_up(eth0.index).expect("eth0 up");
        batch += start.elapsed();
        containers.push(Container { _ns: ns });
        if (i + 1) % 100 == 0 {
            eprintln!(
                "  containers {:4}: {:7.1} µs/container",
                i + 1,
                per_call(batch, 100)
            );
            batch = Duration::ZERO;
        }
    }
    // Let DAD/MLD timers fire, then count what the ports carried.
    std::thread::sleep(Duration::from_secs(2));
    let tx = host.run(bridge_tx_packets).expect("run");
    let start = Instant::now();
    let routes = nl.routes().expect("routes");
    let dump = start.elapsed();
    let v6 = routes.iter().filter(|r| r.dst.is_ipv6()).count();
    eprintln!("  packets the host-side veths sent: {tx}");
    eprintln!(
        "  host IPv6 unicast routes: {v6}; routes() took {:.1} ms",
        dump.as_secs_f64() * 1e3
    );
    drop(containers);
    // Namespace cleanup runs in the background; let it finish before the
    // next run so it does not inflate that run's first batch.
    std::thread::sleep(Duration::from_secs(4));
}

/// Sum of tx packets of all veths in the calling thread's namespace.
fn bridge_tx_packets() -> u64 {
    let dev = std::fs::read_to_string("/proc/thread-self/net/dev").unwrap_or_default();
    dev.lines()
        .filter(|l| l.trim_start().starts_with("cnmv"))
        .filter_map(|l| {
            l.split_whitespace()
                .nth(10)
                .and_then(|v| v.parse::<u64>().ok())
        })
        .sum()
}

#[test]
#[ignore = "experiment: a few seconds of kernel work; run by hand"]
fn measure_addr_gen_mode() {
    require_root!();
    let n = std::env::var("CNM_SCALE_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    for container_ipv6 in [false, true] {
        for host_link_local in [true, false] {
            scale_run(n, host_link_local, container_ipv6);
        }
    }
}
