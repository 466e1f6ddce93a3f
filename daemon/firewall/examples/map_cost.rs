//! Cost of one publish and one unpublish (one mapping = two map elements, one
//! netlink transaction) with 1, 100, 1,000 and 10,000 mappings already in
//! the maps; plus `is_intact` and a full `restore`. Runs in a fresh network
//! namespace: `cargo run -p cnm-firewall --example map_cost` as root.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use cnm_firewall::{Firewall, NetworkRules, NftFirewall, PortMapping, Protocol};

const ROUNDS: usize = 300;

fn mapping(port: u16) -> PortMapping {
    PortMapping {
        protocol: Protocol::Tcp,
        host_ip: None,
        host_port: port,
        container_ip: IpAddr::from([10, 88, (port >> 8) as u8, port as u8]),
        container_port: 80,
    }
}

fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    samples.sort();
    let i = ((samples.len() - 1) as f64 * p).round() as usize;
    samples[i].as_secs_f64() * 1e3
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if !nix::unistd::geteuid().is_root() {
        println!("SKIPPED: map_cost needs root (network namespace, nf_tables)");
        return Ok(());
    }
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)?;
    let fw = NftFirewall::new()?;
    fw.init()?;
    let probe = [mapping(60000)];
    let mut filled = 0u16;
    println!("mappings | publish p50 / p90 ms | unpublish p50 / p90 ms | is_intact p50 ms");
    for target in [1u16, 100, 1000, 10000] {
        let batch: Vec<PortMapping> = (filled + 1..=target).map(mapping).collect();
        for chunk in batch.chunks(1000) {
            fw.publish(chunk)?;
        }
        filled = target;
        let (mut add, mut del, mut check) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            let t = Instant::now();
            fw.publish(&probe)?;
            add.push(t.elapsed());
            let t = Instant::now();
            fw.unpublish(&probe)?;
            del.push(t.elapsed());
            let t = Instant::now();
            assert!(fw.is_intact()?);
            check.push(t.elapsed());
        }
        println!(
            "{target:>8} | {:.3} / {:.3} | {:.3} / {:.3} | {:.3}",
            percentile(&mut add, 0.5),
            percentile(&mut add, 0.9),
            percentile(&mut del, 0.5),
            percentile(&mut del, 0.9),
            percentile(&mut check, 0.5),
        );
    }
    let all: Vec<PortMapping> = (1..=filled).map(mapping).collect();
    let net = NetworkRules {
        id: "a".repeat(64),
        bridge: "cnm0".into(),
        subnets: vec!["10.88.0.0/16".parse()?],
        internal: true, // no bridge device here: internal skips route_localnet
        masquerade: false,
        icc: true,
    };
    let t = Instant::now();
    fw.restore(&[net], &all)?;
    println!(
        "restore of the whole table with {filled} mappings (one nft -j run): {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}
