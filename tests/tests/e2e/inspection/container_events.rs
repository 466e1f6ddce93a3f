//! Container events of the bundled runtime: `create`, `start`, `die` (with
//! the real exit code), `stop`, `destroy`, in order, and the `type=`,
//! `container=` and `event=` filters.

use std::time::{Duration, Instant};

use super::{parse_event, EventsProcess};
use crate::containers::Ctr;

/// Runs and removes a container `warm` until every stream has printed its
/// destroy: cnmd sends only what happens after a client subscribed.
fn warm_up(ctr: &Ctr, streams: &mut [&mut EventsProcess]) {
    for _ in 0..20 {
        let out = ctr.run(&["--name", "warm"], &["true"]);
        assert!(out.success(), "run warm: {out}\n{}", ctr.host.log_tail());
        ctr.host.cnm_ok(&["rm", "warm"]);
        if streams.iter_mut().all(|s| saw_destroy(s, "warm")) {
            return;
        }
    }
    panic!("`cnm system events` printed no container event");
}

/// Reads lines until `name`'s destroy; false after 3 s without it.
fn saw_destroy(stream: &mut EventsProcess, name: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(3);
    let tail = format!("name={name})");
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match stream.next(left) {
            Some(line) if line.contains(" container destroy ") && line.ends_with(&tail) => {
                return true
            }
            Some(_) => {}
            None => return false,
        }
    }
    false
}

/// The next container event of `stream` as (action, actor id, attributes);
/// network events (the default bridge's connects) are skipped.
fn next_container_event(stream: &mut EventsProcess) -> (String, String, String) {
    loop {
        let line = stream
            .next(Duration::from_secs(15))
            .unwrap_or_else(|| panic!("no more events; saw {:?}", stream.seen));
        let (_, kind, action, id, attrs) = parse_event(&line);
        if kind == "container" {
            return (action, id, attrs);
        }
    }
}

pub(crate) fn events_stream_container_lifecycle_in_order() {
    let ctr = Ctr::start();
    let host = &ctr.host;
    let mut all = EventsProcess::start(host, &[]);
    let mut web_only = EventsProcess::start(
        host,
        &[
            "--filter",
            "type=container",
            "--filter",
            "container=web",
            "--filter",
            "container=warm",
            "--filter",
            "event=die",
            "--filter",
            "event=destroy",
        ],
    );
    warm_up(&ctr, &mut [&mut all, &mut web_only]);
    let rootfs = crate::containers::rootfs();

    // A container that exits by itself, then one taken through its life.
    let out = ctr.run(&["--name", "other"], &["sh", "-c", "exit 7"]);
    assert_eq!(out.status.and_then(|s| s.code()), Some(7), "{out}");
    host.cnm_ok(&["rm", "other"]);
    let script = "trap 'exit 3' TERM; while true; do sleep 1; done";
    let out = ctr.run(&["-d", "--name", "web"], &["sh", "-c", script]);
    assert!(out.success(), "{out}\n{}", host.log_tail());
    let web = out.stdout.trim().to_string();
    host.cnm_ok(&["stop", "-t", "10", "web"]);
    host.cnm_ok(&["start", "web"]);
    host.cnm_ok(&["rm", "-f", "web"]);

    let attrs = |name: &str| format!("image={rootfs}, name={name}");
    let die = |code: i32, name: &str| format!("exitCode={code}, image={rootfs}, name={name}");
    let expected = [
        ("create", "other", attrs("other")),
        ("start", "other", attrs("other")),
        ("die", "other", die(7, "other")),
        ("destroy", "other", attrs("other")),
        ("create", "web", attrs("web")),
        ("start", "web", attrs("web")),
        ("die", "web", die(3, "web")),
        ("stop", "web", attrs("web")),
        ("start", "web", attrs("web")),
        ("die", "web", die(137, "web")),
        ("destroy", "web", attrs("web")),
    ];
    let mut other = String::new();
    for (action, name, want) in &expected {
        let (got_action, id, got) = next_container_event(&mut all);
        assert_eq!(
            (got_action.as_str(), got.as_str()),
            (*action, want.as_str()),
            "saw {:?}",
            all.seen
        );
        match *name {
            "web" => assert_eq!(id, web, "web's events carry its id"),
            _ if other.is_empty() => other = id,
            _ => assert_eq!(id, other, "one id for one container"),
        }
        assert_ne!(other, web);
    }

    // Filtered: web's die and destroy only (not its create/start/stop,
    // not the other container's, no network events).
    for (action, want) in [
        ("die", die(3, "web")),
        ("die", die(137, "web")),
        ("destroy", attrs("web")),
    ] {
        let line = web_only
            .next(Duration::from_secs(5))
            .unwrap_or_else(|| panic!("no filtered `{action}`; saw {:?}", web_only.seen));
        let (_, kind, got, actor, got_attrs) = parse_event(&line);
        assert_eq!(
            (
                kind.as_str(),
                got.as_str(),
                actor.as_str(),
                got_attrs.as_str()
            ),
            ("container", action, web.as_str(), want.as_str()),
            "{line}"
        );
    }
    assert_eq!(
        web_only.next(Duration::from_millis(300)),
        None,
        "{:?}",
        web_only.seen
    );
}
