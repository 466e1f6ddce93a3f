//! Crash safety of network create/remove: cnmd is SIGKILLed at random
//! instants while a background loop creates and removes networks; after
//! each restart, every listed network has its bridge with its gateway
//! address, no other bridge exists, and no two networks share a subnet.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use cnm_tests::cli::Cli;
use cnm_tests::exec::eventually;
use cnm_tests::{case, kernel, Case, Host, KERNEL};

use crate::random::{seed, Rng};

const ROUNDS: usize = 5;
const NAMES: u64 = 8;

pub fn cases() -> Vec<Case> {
    vec![case(
        "kill9_during_create_rm_stays_consistent",
        KERNEL,
        kill9_during_create_rm,
    )]
}

fn kill9_during_create_rm() {
    let seed = seed();
    eprintln!("network crash test: seed {seed} (rerun with CNM_TEST_SEED={seed})");
    let mut rng = Rng(seed);
    let mut host = Host::start();
    for round in 0..ROUNDS {
        let ops = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let churner = {
            let (cli, ops, stop) = (host.cli(), ops.clone(), stop.clone());
            let rng = Rng(rng.below(u64::MAX) | 1);
            thread::spawn(move || churn(&cli, rng, &ops, &stop))
        };
        let warm_up = 1 + rng.below(10) as usize;
        let deadline = Instant::now() + Duration::from_secs(30);
        while ops.load(Ordering::SeqCst) < warm_up && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(1));
        }
        thread::sleep(Duration::from_millis(rng.below(31)));
        host.kill9();
        stop.store(true, Ordering::SeqCst);
        let _ = churner.join();

        host.restart();
        let context = format!("round {round}, seed {seed}");
        eventually(Duration::from_secs(1), || check_bridges(&host))
            .unwrap_or_else(|e| panic!("{context}: {e}\n{}", host.log_tail()));
        // A name that is free now can be created, and gets its own bridge.
        let free = (0..NAMES)
            .map(|i| format!("w{i}"))
            .find(|n| !host.ls().iter().any(|r| &r.name == n));
        if let Some(name) = free {
            host.cnm_ok(&["net", "create", &name]);
            check_bridges(&host).unwrap_or_else(|e| panic!("{context}: after create: {e}"));
        }
    }
}

/// Creates or removes a random `wN` until told to stop; counts attempts.
fn churn(cli: &Cli, mut rng: Rng, ops: &AtomicUsize, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        let name = format!("w{}", rng.below(NAMES));
        if rng.below(2) == 0 {
            cli.run(&["net", "create", &name]);
        } else {
            cli.run(&["net", "rm", &name]);
        }
        ops.fetch_add(1, Ordering::SeqCst);
    }
}

/// Listed networks and kernel bridges match one to one, with gateways;
/// subnets are distinct.
fn check_bridges(host: &Host) -> Result<(), String> {
    let rows = host.ls();
    let mut expected = BTreeSet::from(["cnm0".to_string()]);
    let mut subnets = BTreeSet::new();
    for row in rows.iter().filter(|r| r.name.starts_with('w')) {
        let net = host.inspect(&row.name);
        let config = net
            .ipv4_config()
            .ok_or(format!("{} has no IPv4 config", net.name))?;
        if !subnets.insert(config.subnet.clone()) {
            return Err(format!("subnet {} used twice", config.subnet));
        }
        let bridge = format!("cnm{}", &net.id[..12]);
        let prefix = config.subnet.split('/').nth(1).unwrap_or_default();
        let want = format!("{}/{prefix}", config.gateway);
        let have = kernel::ipv4_addrs(host.ns(), &bridge);
        if have != [want.clone()] {
            return Err(format!(
                "{}: bridge {bridge} has {have:?}, want {want}",
                net.name
            ));
        }
        expected.insert(bridge);
    }
    let bridges: BTreeSet<String> = kernel::links(host.ns())
        .into_iter()
        .filter(|l| l.kind == "bridge")
        .map(|l| l.name)
        .collect();
    if bridges != expected {
        return Err(format!("bridges {bridges:?}, networks want {expected:?}"));
    }
    Ok(())
}
