//! The resolver's life: snapshot swaps, gateways that appear late, surviving
//! the process that spawned it, and replacement without dropping a query.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cnm_dns::{find_running, MemberBuilder, NetworkBuilder, ResolverCommand, Snapshot};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use crate::support::can_run;
use crate::support::client::{encode, exchange, query, query_tcp, udp_socket};
use crate::support::lab::{back, front, ip, standard_lab, Lab, C1, FRONT_GW};
use crate::support::netns::{in_netns, ip_batch};
use crate::support::resolver::{alive, pid_of, read_ready, Resolver, BIN};

/// A replaced snapshot is served without a restart, found by polling. How
/// soon (cnm promises 100 ms from connect to answer) is measured by
/// bench/dns_follow.py, not by a timed test.
#[test]
fn snapshot_changes_are_visible() {
    let Some(lab) = standard_lab("swap", false, &[]) else {
        return;
    };
    let _resolver = Resolver::start(&lab, &[]);
    expect_swaps_served(&lab, |_| {});
}

/// With polling all but off, a nudge after each write (what cnmd sends)
/// is what gets the new snapshot served.
#[test]
fn nudged_snapshot_is_served_before_the_next_poll() {
    let Some(lab) = standard_lab("nudge", false, &[]) else {
        return;
    };
    let _resolver = Resolver::start(&lab, &["--poll-interval-ms", "600000"]);
    expect_swaps_served(&lab, |lab| cnm_dns::nudge(&lab.snapshot));
}

/// Writes three new generations, each with one new name, calls `after_write`
/// and waits (2 s at most) until the new name is answered.
fn expect_swaps_served(lab: &Lab, after_write: impl Fn(&Lab)) {
    assert_eq!(
        query(&lab.c1.name, FRONT_GW, "newbie", RecordType::A).rcode,
        ResponseCode::NXDomain
    );
    for generation in 2..5 {
        let name = format!("newbie{generation}");
        let snapshot = Snapshot::builder(generation)
            .network(front(&[&name]))
            .network(back(false))
            .build()
            .expect("build the snapshot");
        let written = Instant::now();
        lab.write(&snapshot);
        after_write(lab);
        loop {
            let reply = query(&lab.c1.name, FRONT_GW, &name, RecordType::A);
            if reply.data == ["10.88.0.2"] {
                break;
            }
            let waited = written.elapsed();
            assert!(
                waited < Duration::from_secs(2),
                "{name} not visible after {waited:?}"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

#[test]
fn gateway_addresses_may_appear_after_the_resolver_starts() {
    if !can_run("late") {
        return;
    }
    let lab = Lab::new("late");
    let late = NetworkBuilder::new("9".repeat(64), "late")
        .listen(ip("10.90.0.1"))
        .member(MemberBuilder::new(C1).name("web").addr(ip("10.90.0.2")));
    let snapshot = Snapshot::builder(1)
        .network(front(&[]))
        .network(back(false))
        .network(late)
        .build()
        .unwrap();
    lab.write(&snapshot);
    lab.write_resolv_conf(&[]);
    let resolver = Resolver::start(&lab, &[]);
    assert!(
        resolver.ready.contains("listening=4 failed=0"),
        "{}",
        resolver.ready
    );
    ip_batch(
        Some(&lab.host.name),
        &["addr add 10.90.0.1/24 dev br0".to_string()],
    );
    ip_batch(
        Some(&lab.c1.name),
        &["addr add 10.90.0.2/24 dev eth0 nodad".to_string()],
    );
    assert_eq!(
        query(&lab.c1.name, "10.90.0.1", "web", RecordType::A).data,
        vec!["10.90.0.2".to_string()]
    );
    // the address goes away and comes back: still served, no rebind needed
    ip_batch(
        Some(&lab.host.name),
        &["addr del 10.90.0.1/24 dev br0".to_string()],
    );
    ip_batch(
        Some(&lab.host.name),
        &["addr add 10.90.0.1/24 dev br0".to_string()],
    );
    assert_eq!(
        query(&lab.c1.name, "10.90.0.1", "web", RecordType::A).data,
        vec!["10.90.0.2".to_string()]
    );
}

#[test]
fn keeps_answering_after_its_spawner_is_killed() {
    let Some(lab) = standard_lab("orphan", false, &[]) else {
        return;
    };
    // a stand-in for cnmd: a shell that spawns the resolver and lives on
    let script =
        r#""$0" --detach --snapshot "$1" --pid-file "$2" --resolv-conf "$3"; exec sleep 600"#;
    let mut spawner = Command::new("nsenter")
        .arg(format!("--net=/run/netns/{}", lab.host.name))
        .args(["sh", "-c", script, BIN])
        .args([&lab.snapshot, &lab.pid_file, &lab.resolv_conf])
        .process_group(0)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = pid_of(&read_ready(spawner.stdout.take().unwrap()));
    lab.adopt(pid);
    let group = Pid::from_raw(spawner.id() as i32);
    killpg(group, Signal::SIGHUP).unwrap();
    killpg(group, Signal::SIGKILL).unwrap();
    spawner.wait().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert!(alive(pid), "the resolver died with its spawner");
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let session: u32 = stat
        .rsplit_once(") ")
        .unwrap()
        .1
        .split(' ')
        .nth(3)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(session, pid, "the resolver leads its own session");
    assert_eq!(
        query(&lab.c1.name, FRONT_GW, "both", RecordType::A).data,
        vec!["10.88.0.3".to_string()]
    );
    assert_eq!(find_running(&lab.pid_file), Some(pid));
}

/// Counts of a query loop.
#[derive(Default)]
struct Tally {
    sent: AtomicUsize,
    lost: AtomicUsize,
}

/// Sends queries one at a time from 32 sockets in turn (so the kernel's
/// reuseport hash spreads them over both resolvers) until `stop`.
fn query_loop(ns: &str, stop: Arc<AtomicBool>, tally: Arc<Tally>) -> std::thread::JoinHandle<()> {
    let sockets: Vec<_> = (0..32).map(|_| udp_socket(ns, false)).collect();
    std::thread::spawn(move || {
        let server = ip(FRONT_GW);
        let mut i = 0;
        while !stop.load(Ordering::Relaxed) {
            let socket = &sockets[i % sockets.len()];
            i += 1;
            tally.sent.fetch_add(1, Ordering::Relaxed);
            let ok = exchange(
                socket,
                server,
                &encode("web", RecordType::A),
                Duration::from_secs(1),
            )
            .map(|r| r.data == ["10.88.0.2"])
            .unwrap_or(false);
            if !ok {
                tally.lost.fetch_add(1, Ordering::Relaxed);
            }
        }
    })
}

#[test]
fn supervisor_spawns_finds_and_replaces_without_dropping_a_query() {
    let Some(lab) = standard_lab("upgrade", false, &[]) else {
        return;
    };
    let mut cmd =
        ResolverCommand::new(BIN.as_ref(), &lab.snapshot, &lab.pid_file, &lab.resolv_conf);
    cmd.log_level = "cnm_dns=debug".into();
    let spawn = cmd.clone();
    let old = in_netns(&lab.host.name, move || spawn.spawn()).expect("spawn_resolver");
    lab.adopt(old);
    assert_eq!(find_running(&lab.pid_file), Some(old));
    let ensure = cmd.clone();
    assert_eq!(
        in_netns(&lab.host.name, move || ensure.ensure_running()).unwrap(),
        old
    );

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let loops: Vec<_> = [&lab.c1.name, &lab.c3.name]
        .map(|ns| query_loop(ns, stop.clone(), tally.clone()))
        .into_iter()
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let replace = cmd.clone();
    let new = in_netns(&lab.host.name, move || replace.replace()).expect("replace");
    lab.adopt(new);
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    loops.into_iter().for_each(|l| l.join().unwrap());

    assert_ne!(new, old);
    assert!(!alive(old), "the old resolver exited");
    assert_eq!(find_running(&lab.pid_file), Some(new));
    let (sent, lost) = (
        tally.sent.load(Ordering::Relaxed),
        tally.lost.load(Ordering::Relaxed),
    );
    assert!(sent > 100, "only {sent} queries sent");
    assert_eq!(
        lost, 0,
        "{lost} of {sent} queries lost during the replacement"
    );
    assert_eq!(
        query_tcp(&lab.c1.name, FRONT_GW, "web", RecordType::A).data,
        vec!["10.88.0.2".to_string()]
    );
}
