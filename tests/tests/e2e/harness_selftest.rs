//! Tests of the harness itself, needing no daemon: namespaces are made and
//! removed, the sweep removes dead owners' leftovers only, and unmet needs
//! turn into skips.

use std::path::Path;
use std::process::Command;

use cnm_tests::exec::run_ok;
use cnm_tests::needs::Need;
use cnm_tests::netns::{list_named, unique_base_name, NetNs, NETNS_DIR};
use cnm_tests::suite::trial;
use cnm_tests::sweep::{pid_alive, sweep_dead_owners};
use cnm_tests::{case, kernel, Case, KERNEL};

pub fn cases() -> Vec<Case> {
    vec![
        case(
            "netns_created_and_removed",
            KERNEL,
            netns_created_and_removed,
        ),
        case(
            "sweep_removes_dead_owner_only",
            KERNEL,
            sweep_removes_dead_owner_only,
        ),
        case(
            "unmet_need_marks_trial_ignored",
            &[],
            unmet_need_marks_trial_ignored,
        ),
        case("bare_netns_has_lo_down", KERNEL, bare_netns_has_lo_down),
    ]
}

fn netns_created_and_removed() {
    let name = unique_base_name();
    let path = Path::new(NETNS_DIR).join(&name);
    {
        let ns = NetNs::create(&name);
        assert!(path.exists(), "{} missing after create", path.display());
        assert!(kernel::link(&ns, "lo").is_some_and(|l| l.up), "lo not up");
        // A link made inside must not appear in our own namespace.
        ns.ip_ok(&["link", "add", "cnmtbr0", "type", "bridge"]);
        let ours = run_ok(Command::new("ip").args(["-j", "link", "show"]));
        assert!(
            !ours.contains("cnmtbr0"),
            "link leaked into the test's own netns"
        );
    }
    assert!(!path.exists(), "{} still there after drop", path.display());
    assert!(!list_named().contains(&name));
}

fn bare_netns_has_lo_down() {
    let ns = NetNs::create_bare(&unique_base_name());
    assert!(
        kernel::link(&ns, "lo").is_some_and(|l| !l.up),
        "lo should be down"
    );
}

/// A pid that existed a moment ago and has exited.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().expect("spawn true");
    let pid = child.id();
    child.wait().expect("wait true");
    assert!(!pid_alive(pid), "pid {pid} reused already");
    pid
}

fn sweep_removes_dead_owner_only() {
    let dead = dead_pid();
    let stale_name = format!("cnmt-{dead}-0-c1");
    // A process left inside the stale namespace, as a crashed cnmd would be.
    // It goes in before the namespace gets its stale name: the start-up
    // sweep of a test process running alongside may take the namespace at
    // any moment, and must then find the process in it too.
    let made = NetNs::create(&unique_base_name());
    let mut orphan = made
        .command(&["sleep", "600"])
        .spawn()
        .expect("spawn orphan");
    // nsenter joins the namespace after spawn returns; a sweep that scans
    // /proc before then would rightly find nobody in it.
    await_in_netns(orphan.id(), &made.path());
    let stale_path = Path::new(NETNS_DIR).join(&stale_name);
    std::fs::File::create(&stale_path).expect("create the stale netns file");
    run_ok(
        Command::new("mount")
            .arg("--bind")
            .arg(made.path())
            .arg(&stale_path),
    );
    drop(made); // its own name goes; the stale one is left behind, as a crashed run would
    let stale_dir = std::env::temp_dir().join(format!("cnmt-{dead}-0-selftest"));
    std::fs::create_dir_all(stale_dir.join("root")).expect("create stale dir");
    let live = NetNs::create(&unique_base_name());

    let report = sweep_dead_owners();

    // A sweep of a test process starting alongside may be the one that
    // takes the stale namespace, and may still be between its unmount and
    // its unlink when ours has finished.
    let gone = wait_until(|| !Path::new(NETNS_DIR).join(&stale_name).exists());
    let orphan_dead =
        cnm_tests::exec::wait_deadline(&mut orphan, std::time::Duration::from_secs(5));
    assert!(
        gone,
        "stale netns {stale_name} survived the sweep: {report:?}"
    );
    assert!(
        orphan_dead.is_some(),
        "process in the stale netns not killed"
    );
    assert!(!stale_dir.exists(), "stale temp dir survived the sweep");
    assert!(
        live.path().exists(),
        "sweep removed a live owner's namespace"
    );
}

/// Polls `done` every millisecond for up to 5 s; true once it holds.
fn wait_until(done: impl Fn() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !done() {
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    true
}

/// Waits (up to 5 s) until process `pid` is in the namespace at `ns_path`.
fn await_in_netns(pid: u32, ns_path: &Path) {
    use std::os::unix::fs::MetadataExt;
    let want = std::fs::metadata(ns_path).expect("stat the namespace");
    let entered = wait_until(|| {
        let now = std::fs::metadata(format!("/proc/{pid}/ns/net"));
        now.is_ok_and(|m| (m.dev(), m.ino()) == (want.dev(), want.ino()))
    });
    assert!(
        entered,
        "process {pid} did not enter {} within 5 s",
        ns_path.display()
    );
}

fn unmet_need_marks_trial_ignored() {
    const MISSING: &[Need] = &[Need::Tool("cnmt-no-such-tool")];
    let (t, reason) = trial("selftest", case("x", MISSING, || panic!("must not run")));
    assert!(t.has_ignored_flag(), "trial with unmet need is not ignored");
    assert!(reason.is_some_and(|r| r.contains("cnmt-no-such-tool")));
    let (t, reason) = trial("selftest", case("y", &[], || {}));
    assert!(!t.has_ignored_flag() && reason.is_none());
}
