//! Seeing what is going on: `cnm bridge show|showstp|showmacs` compared
//! byte for byte with bridge-utils' `brctl` run in the same namespace,
//! `cnm system events` as a live stream (container events in
//! `inspection/container_events.rs`), `cnm completion` and `cnm man`.

mod container_events;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use cnm_tests::binaries;
use cnm_tests::cli::assert_stderr_mentions;
use cnm_tests::exec::{eventually, run, CmdOutput};
use cnm_tests::{case, kernel_and, Case, Host, Need};

use crate::create::create;

/// [`cnm_tests::KERNEL`] plus bridge-utils' `brctl`, the reference.
const BRCTL: &[Need] = kernel_and![Need::Tool("brctl")];

pub fn cases() -> Vec<Case> {
    vec![
        case(
            "bridge_show_matches_brctl",
            BRCTL,
            bridge_show_matches_brctl,
        ),
        case(
            "bridge_showstp_and_showmacs_match_brctl",
            BRCTL,
            bridge_showstp_and_showmacs_match_brctl,
        ),
        case(
            "bridge_errors_name_the_bridge",
            BRCTL,
            bridge_errors_name_the_bridge,
        ),
        case(
            "events_stream_network_lifecycle_in_order",
            cnm_tests::KERNEL,
            events_stream_network_lifecycle_in_order,
        ),
        case(
            "events_stream_container_lifecycle_in_order",
            crate::containers::RUNTIME,
            container_events::events_stream_container_lifecycle_in_order,
        ),
        case(
            "events_bad_filters_fail",
            cnm_tests::KERNEL,
            events_bad_filters_fail,
        ),
        case(
            "completion_scripts_cover_the_cli",
            &[],
            completion_scripts_cover_the_cli,
        ),
    ]
}

/// `brctl ARGS…` inside the host namespace. `ip netns exec`, not nsenter:
/// brctl reads /sys, which shows the namespace it was mounted in, and only
/// `ip netns exec` mounts a fresh one.
fn brctl(host: &Host, args: &[&str]) -> CmdOutput {
    run(Command::new("ip")
        .args(["netns", "exec", host.ns().name(), "brctl"])
        .args(args))
}

/// A bridge nobody told cnm about, with one port (`fa`, its peer down).
fn foreign_bridge(host: &Host) {
    for args in [
        &["link", "add", "br-foreign", "type", "bridge"][..],
        &["link", "add", "fa", "type", "veth", "peer", "name", "fb"],
        &["link", "set", "fa", "master", "br-foreign"],
        &["link", "set", "br-foreign", "up"],
    ] {
        let out = host.ip(args);
        assert!(out.success(), "{out}");
    }
}

/// The bridge of cnm network `net`, as `cnm net inspect` names it.
fn bridge_of(host: &Host, net: &str) -> String {
    let out = host.cnm_ok(&["bridge", "show", "-v"]);
    out.lines()
        .find_map(|line| {
            let cells: Vec<&str> = line.split('\t').filter(|c| !c.is_empty()).collect();
            (cells.len() >= 4 && cells[3] == net).then(|| cells[0].to_string())
        })
        .unwrap_or_else(|| panic!("no bridge of network {net} in:\n{out}"))
}

/// Compares `cnm ARGS` with `brctl BRCTL_ARGS` after `mask`, retrying for a
/// moment: the kernel may change state (a port going to forwarding, an
/// address learned) between the two reads.
fn assert_same_as_brctl(host: &Host, cnm: &[&str], brctl_args: &[&str], mask: fn(&str) -> String) {
    let compared = eventually(Duration::from_secs(3), || {
        let ours = host.cnm(cnm);
        let theirs = brctl(host, brctl_args);
        if !ours.success() || !theirs.success() {
            return Err(format!("{ours}\n{theirs}"));
        }
        let (ours, theirs) = (mask(&ours.stdout), mask(&theirs.stdout));
        if ours == theirs {
            Ok(ours)
        } else {
            Err(format!(
                "`cnm {}` differs from `brctl {}`:\n--- cnm ---\n{ours:?}\n--- brctl ---\n{theirs:?}",
                cnm.join(" "),
                brctl_args.join(" ")
            ))
        }
    });
    if let Err(diff) = compared {
        panic!("{diff}\n{}", host.log_tail());
    }
}

fn unmasked(text: &str) -> String {
    text.to_string()
}

fn bridge_show_matches_brctl() {
    let host = Host::start();
    create(&host, &["empty"]);
    create(&host, &["one"]);
    create(
        &host,
        &["many", "-o", "com.docker.network.bridge.name=br-many"],
    );
    let c1 = host.container("c1");
    host.connect_named("one", &c1, &[]);
    let workers: Vec<_> = ["w1", "w2", "w3"].map(|w| host.container(w)).into();
    for w in &workers {
        host.connect_named("many", w, &[]);
    }
    foreign_bridge(&host);

    assert_same_as_brctl(&host, &["bridge", "show"], &["show"], unmasked);
    let one = bridge_of(&host, "one");
    let args = ["br-many", "br-foreign", one.as_str()];
    let mut cnm = vec!["bridge", "show"];
    let mut theirs = vec!["show"];
    cnm.extend(args);
    theirs.extend(args);
    assert_same_as_brctl(&host, &cnm, &theirs, unmasked);

    // The kernel's view, not cnm's: three ports on br-many, one with a
    // continuation line per extra port, and the foreign bridge listed too.
    let show = host.cnm_ok(&["bridge", "show"]);
    let many_at = show.find("br-many\t\t").expect("br-many listed");
    let continuations = show[many_at..]
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("\t\t\t\t\t\t\t"))
        .count();
    assert_eq!(continuations, 2, "{show}");
    assert!(show.contains("br-foreign\t\t"), "{show}");

    let verbose = host.cnm_ok(&["bridge", "show", "-v"]);
    assert!(
        verbose.starts_with("bridge name\tbridge id\t\tSTP enabled\tcnm network\tinterfaces\n"),
        "{verbose}"
    );
    assert!(verbose.contains("\tno\t\tmany\t\tcnmv"), "{verbose}");
    assert!(verbose.contains("br-foreign\t\t"), "{verbose}");
    assert!(verbose.contains("\tno\t\t-\t\tfa\n"), "{verbose}");
    assert!(bridge_of(&host, "empty").starts_with("cnm"));
}

/// Replaces each timer's value (they tick between two reads) with `T`.
fn mask_timers(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut after_timer = false;
        let cells: Vec<String> = line
            .split('\t')
            .map(|cell| {
                if after_timer && !cell.is_empty() {
                    after_timer = false;
                    return "T".to_string();
                }
                if cell.trim_end().ends_with("timer") {
                    after_timer = true;
                }
                cell.to_string()
            })
            .collect();
        out.push_str(&cells.join("\t"));
        out.push('\n');
    }
    out
}

/// Masks the last cell (the ageing timer) of each `showmacs` row.
fn mask_ageing(text: &str) -> String {
    text.lines()
        .map(|line| match line.rsplit_once('\t') {
            Some((head, _)) if !line.starts_with("port no") => format!("{head}\tT\n"),
            _ => format!("{line}\n"),
        })
        .collect()
}

fn bridge_showstp_and_showmacs_match_brctl() {
    let host = Host::start();
    create(&host, &["web"]);
    let (c1, c2) = (host.container("c1"), host.container("c2"));
    host.connect_named("web", &c1, &[]);
    host.connect_named("web", &c2, &[]);
    foreign_bridge(&host);
    let web = bridge_of(&host, "web");

    for bridge in [web.as_str(), "br-foreign"] {
        assert_same_as_brctl(
            &host,
            &["bridge", "showstp", bridge],
            &["showstp", bridge],
            mask_timers,
        );
        assert_same_as_brctl(
            &host,
            &["bridge", "showmacs", bridge],
            &["showmacs", bridge],
            mask_ageing,
        );
    }

    // cnm's ports: hairpin on (published ports reach their own container),
    // forwarding; a local entry for each host-side veth.
    let stp = host.cnm_ok(&["bridge", "showstp", &web]);
    assert_eq!(stp.matches(" hairpin mode\t\t   1\n").count(), 2, "{stp}");
    assert_eq!(stp.matches("     forwarding\n").count(), 2, "{stp}");
    let macs = host.cnm_ok(&["bridge", "showmacs", &web]);
    assert_eq!(macs.matches("\tyes\t\t   0.00\n").count(), 2, "{macs}");
}

fn bridge_errors_name_the_bridge() {
    let host = Host::start();
    create(&host, &["web"]);
    let web = bridge_of(&host, "web");

    for args in [
        &["bridge", "show", "nope"][..],
        &["bridge", "showstp", "nope"],
        &["bridge", "showmacs", "nope"],
    ] {
        let out = host.cnm_err(args);
        assert_eq!(out.stderr, "Error: bridge `nope` does not exist\n", "{out}");
        assert_eq!(out.stdout, "", "{out}");
    }
    let out = host.cnm_err(&["bridge", "showstp", "lo"]);
    assert_eq!(out.stderr, "Error: device `lo` is not a bridge\n", "{out}");

    // Like brctl: the bridges that exist are shown, the missing one is
    // reported, and the exit status says something failed.
    let ours = host.cnm_err(&["bridge", "show", "nope", &web]);
    let theirs = brctl(&host, &["show", "nope", &web]);
    assert!(!theirs.success(), "{theirs}");
    assert_eq!(ours.stdout, theirs.stdout, "{ours}\n{theirs}");
    assert_stderr_mentions(&ours, &["bridge `nope` does not exist"]);
}

/// `cnm system events ARGS…` running in the background, its lines on a
/// channel. Killed on drop.
struct EventsProcess {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl EventsProcess {
    fn start(host: &Host, filters: &[&str]) -> EventsProcess {
        let mut child = Command::new(binaries::cnm())
            .arg("-H")
            .arg(format!("unix://{}", host.socket().display()))
            .args(["system", "events"])
            .args(filters)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start cnm system events");
        let stdout = child.stdout.take().expect("stdout piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        EventsProcess {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The next line, waiting up to `timeout`.
    fn next(&mut self, timeout: Duration) -> Option<String> {
        let line = self.lines.recv_timeout(timeout).ok()?;
        self.seen.push(line.clone());
        Some(line)
    }

    /// Reads lines until one contains `needle`; false after `timeout`.
    fn wait_for(&mut self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.next(left) {
                Some(line) if line.contains(needle) => return true,
                Some(_) => {}
                None => return false,
            }
        }
        false
    }
}

impl Drop for EventsProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Makes sure both streams are subscribed before the test acts: cnmd only
/// sends what happens after a client subscribed, and nothing says when that
/// is. Creates `warmN` networks until both have printed one.
fn warm_up(host: &Host, streams: &mut [&mut EventsProcess]) {
    for n in 0..50 {
        let name = format!("warm{n}");
        create(host, &[&name]);
        let needle = format!("(name={name}, type=bridge)");
        let all = streams
            .iter_mut()
            .all(|s| s.wait_for(&needle, Duration::from_millis(300)));
        host.cnm_ok(&["net", "rm", &name]);
        if all {
            for s in streams.iter_mut() {
                let destroyed = s.wait_for("network destroy ", Duration::from_secs(5));
                assert!(destroyed, "{:?}", s.seen);
            }
            return;
        }
    }
    panic!(
        "`cnm system events` printed nothing in 15 s\n{}",
        host.log_tail()
    );
}

/// "2026-11-29T08:00:00.123456789Z network create ID (attrs)" → its parts.
fn parse_event(line: &str) -> (String, String, String, String, String) {
    let (head, attrs) = line.split_once(" (").unwrap_or((line, ")"));
    let mut words = head.splitn(4, ' ').map(String::from);
    let mut next = || words.next().unwrap_or_default();
    let (time, kind, action, id) = (next(), next(), next(), next());
    let bytes = time.as_bytes();
    assert!(
        time.len() == 30 && bytes[10] == b'T' && bytes[19] == b'.' && time.ends_with('Z'),
        "not an RFC 3339 time with nanoseconds: {line}"
    );
    let attrs = attrs.strip_suffix(')').unwrap_or(attrs).to_string();
    (time, kind, action, id, attrs)
}

fn events_stream_network_lifecycle_in_order() {
    let host = Host::start();
    let mut all = EventsProcess::start(&host, &[]);
    let mut lifecycle = EventsProcess::start(
        &host,
        &[
            "--filter",
            "event=create",
            "--filter",
            "event=destroy",
            "-f",
            "type=network",
        ],
    );
    warm_up(&host, &mut [&mut all, &mut lifecycle]);

    let id = create(&host, &["ev"]);
    let c1 = host.container("c1");
    host.connect_named("ev", &c1, &[]);
    let net = host.inspect("ev");
    let sandbox = net.containers.keys().next().expect("one sandbox").clone();
    host.disconnect_ok("ev", &c1);
    host.cnm_ok(&["net", "rm", "ev"]);

    let expected = [
        ("create", "name=ev, type=bridge".to_string()),
        (
            "connect",
            format!("container={sandbox}, name=ev, type=bridge"),
        ),
        (
            "disconnect",
            format!("container={sandbox}, name=ev, type=bridge"),
        ),
        ("destroy", "name=ev, type=bridge".to_string()),
    ];
    let mut last_time = String::new();
    for (action, attrs) in &expected {
        let line = all
            .next(Duration::from_secs(5))
            .unwrap_or_else(|| panic!("no `{action}` event; saw {:?}", all.seen));
        let got = parse_event(&line);
        assert_eq!(
            (
                got.1.as_str(),
                got.2.as_str(),
                got.3.as_str(),
                got.4.as_str()
            ),
            ("network", *action, id.as_str(), attrs.as_str()),
            "{line}"
        );
        assert!(
            got.0 >= last_time,
            "time went back: {line} after {last_time}"
        );
        last_time = got.0;
    }

    // The filtered stream saw create and destroy only.
    for action in ["create", "destroy"] {
        let line = lifecycle
            .next(Duration::from_secs(5))
            .unwrap_or_else(|| panic!("no filtered `{action}`; saw {:?}", lifecycle.seen));
        let (_, kind, got, actor, _) = parse_event(&line);
        assert_eq!(
            (kind.as_str(), got.as_str(), actor.as_str()),
            ("network", action, id.as_str())
        );
    }
    assert_eq!(all.next(Duration::from_millis(300)), None, "{:?}", all.seen);
    assert_eq!(
        lifecycle.next(Duration::from_millis(300)),
        None,
        "{:?}",
        lifecycle.seen
    );

    // Killing the client must not disturb cnmd.
    drop(all);
    drop(lifecycle);
    create(&host, &["after"]);
}

fn events_bad_filters_fail() {
    let host = Host::start();
    let out = host.cnm_err(&["system", "events", "--filter", "label=x"]);
    assert_stderr_mentions(&out, &["invalid filter 'label'"]);
    let out = host.cnm_err(&["system", "events", "--filter", "type=volume"]);
    assert_stderr_mentions(&out, &["type is network or container"]);
}

fn completion_scripts_cover_the_cli() {
    let cnm = |shell: &str| run(Command::new(binaries::cnm()).args(["completion", shell]));
    let bash = cnm("bash");
    assert!(bash.success(), "{bash}");
    for word in [
        "network",
        "bridge",
        "showmacs",
        "showstp",
        "system",
        "events",
        "completion",
    ] {
        assert!(
            bash.stdout.contains(word),
            "bash completion lacks {word}: {bash}"
        );
    }
    assert!(
        bash.stdout.contains("complete -F"),
        "not a bash script: {bash}"
    );
    let zsh = cnm("zsh");
    assert!(zsh.stdout.starts_with("#compdef cnm"), "{zsh}");
    let fish = cnm("fish");
    assert!(fish.stdout.contains("complete -c cnm"), "{fish}");
    let bad = cnm("tcsh");
    assert!(!bad.success(), "{bad}");
}
