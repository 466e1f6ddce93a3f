//! Crash safety: cnmd is SIGKILLed at random instants while a background
//! loop connects and disconnects 20 containers; after each restart, what
//! `net inspect` reports and what the kernel has must match exactly, and
//! new connects must never reuse an address that is live elsewhere.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use cnm_tests::cli::Cli;
use cnm_tests::exec::eventually;
use cnm_tests::inspect::addr_of;
use cnm_tests::{case, kernel, Case, Container, Host, KERNEL};

use crate::create::create;
use crate::random::{seed, Rng};

const CONTAINERS: usize = 20;
const ROUNDS: usize = 8;
/// Background loops running at once, each over its own share of containers.
const CHURNERS: usize = 2;
const NET: &str = "n1";

pub fn cases() -> Vec<Case> {
    vec![case(
        "kill9_during_churn_stays_consistent",
        KERNEL,
        kill9_during_churn,
    )]
}

fn kill9_during_churn() {
    let seed = seed();
    eprintln!("crash test: seed {seed} (rerun with CNM_TEST_SEED={seed})");
    let mut rng = Rng(seed);
    let mut host = Host::start();
    create(&host, &["--subnet", "10.92.0.0/24", NET]);
    let cs: Vec<Container> = (0..CONTAINERS)
        .map(|i| host.container(&format!("k{i}")))
        .collect();

    for round in 0..ROUNDS {
        let ops = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let churners: Vec<_> = (0..CHURNERS)
            .map(|k| {
                let share: Vec<&Container> = cs.iter().skip(k).step_by(CHURNERS).collect();
                let connected = share.iter().map(|c| c.link("eth0").is_some()).collect();
                let targets: Vec<(String, String)> = share
                    .iter()
                    .map(|c| (c.label().to_string(), c.path_str()))
                    .collect();
                let (cli, ops, stop) = (host.cli(), ops.clone(), stop.clone());
                let rng = Rng(rng.below(u64::MAX) | 1);
                thread::spawn(move || churn(&cli, &targets, connected, rng, &ops, &stop))
            })
            .collect();

        let warm_up = 1 + rng.below(10) as usize;
        let deadline = Instant::now() + Duration::from_secs(30);
        while ops.load(Ordering::SeqCst) < warm_up && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(1));
        }
        let delay = rng.below(31);
        thread::sleep(Duration::from_millis(delay));
        host.kill9();
        stop.store(true, Ordering::SeqCst);
        for churner in churners {
            let _ = churner.join();
        }
        let done = ops.load(Ordering::SeqCst);
        eprintln!("crash test: round {round}: SIGKILL {delay} ms after op {warm_up}; {done} ops");

        host.restart();
        let context = format!("round {round}, seed {seed}");
        assert_consistent(&host, &cs, &context);
        connect_more_without_duplicates(&host, &cs, &context);
        assert_consistent(&host, &cs, &context);
        let endpoints = host.inspect(NET).containers.len();
        eprintln!("crash test: round {round}: consistent with {endpoints} endpoints");
    }
}

/// Toggles random containers between connected and disconnected until told
/// to stop; counts attempts in `ops`.
fn churn(
    cli: &Cli,
    targets: &[(String, String)],
    mut connected: Vec<bool>,
    mut rng: Rng,
    ops: &AtomicUsize,
    stop: &AtomicBool,
) {
    while !stop.load(Ordering::SeqCst) {
        let i = rng.below(targets.len() as u64) as usize;
        let (label, path) = (&targets[i].0, &targets[i].1);
        let out = if connected[i] {
            cli.run(&["net", "disconnect", NET, "--netns", path])
        } else {
            cli.run(&["net", "connect", NET, "--netns", path, "--name", label])
        };
        if out.success() {
            connected[i] = !connected[i];
        }
        ops.fetch_add(1, Ordering::SeqCst);
    }
}

/// Waits up to 1 s for store and kernel to agree; panics with the last
/// mismatch otherwise.
fn assert_consistent(host: &Host, cs: &[Container], context: &str) {
    eventually(Duration::from_secs(1), || check_consistent(host, cs)).unwrap_or_else(|e| {
        panic!(
            "{context}: store and kernel disagree: {e}\n{}",
            host.log_tail()
        )
    });
}

/// Every reported endpoint exists in the kernel with its address and MAC;
/// nothing unreported exists; no address is live twice.
fn check_consistent(host: &Host, cs: &[Container]) -> Result<(), String> {
    let net = host.inspect(NET);
    let recorded: BTreeMap<&str, _> = net
        .containers
        .values()
        .map(|e| (e.name.as_str(), e))
        .collect();
    if let Some(stray) = recorded
        .keys()
        .find(|n| !cs.iter().any(|c| c.label() == **n))
    {
        return Err(format!("record for unknown sandbox {stray}"));
    }
    let mut live: BTreeMap<String, &str> = BTreeMap::new();
    for c in cs {
        let eth0 = c.link("eth0");
        let addrs = c.ipv4_addrs("eth0");
        match (recorded.get(c.label()), &eth0) {
            (Some(ep), Some(link)) => {
                if addrs != [ep.ipv4_address.clone()] || link.mac != ep.mac_address.to_lowercase() {
                    return Err(format!(
                        "{}: reported {} {}, kernel has {addrs:?} {}",
                        c.label(),
                        ep.ipv4_address,
                        ep.mac_address,
                        link.mac
                    ));
                }
            }
            (Some(ep), None) => return Err(format!("{}: reported {ep:?} but no eth0", c.label())),
            (None, Some(_)) => {
                return Err(format!("{}: eth0 {addrs:?} without a record", c.label()))
            }
            (None, None) => {}
        }
        for a in addrs {
            if let Some(other) = live.insert(a.clone(), c.label()) {
                return Err(format!("{a} live on both {other} and {}", c.label()));
            }
        }
    }
    let veths = kernel::veth_names(host.ns());
    if veths.len() != recorded.len() {
        return Err(format!(
            "{} records but host veths {veths:?}",
            recorded.len()
        ));
    }
    let bridge = format!("cnm{}", &net.id[..12]);
    if kernel::ipv4_addrs(host.ns(), &bridge) != ["10.92.0.1/24"] {
        return Err(format!("bridge {bridge} lacks 10.92.0.1/24"));
    }
    Ok(())
}

/// Connects up to three idle containers; each must get an address that is
/// not live on any other container.
fn connect_more_without_duplicates(host: &Host, cs: &[Container], context: &str) {
    let idle: Vec<&Container> = cs
        .iter()
        .filter(|c| c.link("eth0").is_none())
        .take(3)
        .collect();
    for c in idle {
        let live: Vec<String> = cs.iter().flat_map(|o| o.ipv4_addrs("eth0")).collect();
        host.connect_named(NET, c, &[]);
        let got = host
            .inspect(NET)
            .expect_endpoint(c.label())
            .ipv4_address
            .clone();
        assert!(
            !live.iter().any(|a| addr_of(a) == addr_of(&got)),
            "{context}: {} got {got}, already live on another container ({live:?})",
            c.label()
        );
    }
}
