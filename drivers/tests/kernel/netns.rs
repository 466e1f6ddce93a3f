//! `Netns` and sysctl wrappers.

use std::path::Path;

use cnm_drivers::sys::{netns_id_of, read_sysctl, write_sysctl, Netns};

use crate::common::require_root;

/// The whole error chain, as a user would read it.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

#[test]
fn open_refuses_what_is_not_a_network_namespace() {
    let dir = std::env::temp_dir().join(format!("cnm-netns-test-{}", std::process::id()));
    std::fs::write(&dir, b"x").expect("temp file");
    let err = Netns::open(&dir).expect_err("a regular file");
    std::fs::remove_file(&dir).expect("remove temp file");
    let text = chain(&err);
    assert!(
        text.contains(&format!("{} is not a network namespace", dir.display())),
        "{text}"
    );

    let err = Netns::open(Path::new("/proc/thread-self/ns/mnt")).expect_err("a mount namespace");
    assert!(
        chain(&err).contains("is not a network namespace (another kind"),
        "{err:?}"
    );

    let err = Netns::open(Path::new("/run/netns/cnm-does-not-exist")).expect_err("missing");
    assert!(err.is_not_found(), "{err:?}");
}

#[test]
fn current_matches_its_path_id() {
    let ns = Netns::current().expect("current netns");
    let id = netns_id_of(Path::new("/proc/thread-self/ns/net")).expect("stat");
    assert_eq!(ns.id(), id);
    assert_eq!(id.to_string(), format!("{}:{}", id.dev, id.ino));
}

#[test]
fn run_enters_a_new_namespace_without_moving_the_caller() {
    require_root!();
    let before = Netns::current().expect("current").id();
    let ns = Netns::new_anonymous().expect("new netns");
    assert_ne!(ns.id(), before);
    let inside = ns.run(|| Netns::current().map(|n| n.id())).expect("run");
    assert_eq!(inside.expect("current inside"), ns.id());
    assert_eq!(Netns::current().expect("current").id(), before);
}

#[test]
fn sysctls_are_per_namespace() {
    require_root!();
    let ns = Netns::new_anonymous().expect("new netns");
    let key = "net/ipv4/conf/lo/arp_ignore";
    let host_before = read_sysctl(key).expect("read host");
    let inside = ns
        .run(|| {
            write_sysctl(key, "2")?;
            read_sysctl(key)
        })
        .expect("run");
    assert_eq!(inside.expect("sysctl inside"), "2");
    assert_eq!(read_sysctl(key).expect("read host"), host_before);
    let err = ns
        .run(|| read_sysctl("net/ipv4/conf/nope0/forwarding"))
        .expect("run");
    assert!(err.is_err_and(|e| e.is_not_found()));
}
