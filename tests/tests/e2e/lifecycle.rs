//! The daemon process itself: prompt clean exit on SIGTERM, the socket's
//! mode, and several daemons side by side.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::time::{Duration, Instant};

use cnm_tests::{case, Case, Host, KERNEL};

use crate::create::create;

pub fn cases() -> Vec<Case> {
    vec![
        case("sigterm_exits_promptly", KERNEL, sigterm_exits_promptly),
        case("socket_mode_0660", KERNEL, socket_mode_0660),
        case(
            "parallel_hosts_are_isolated",
            KERNEL,
            parallel_hosts_are_isolated,
        ),
    ]
}

fn sigterm_exits_promptly() {
    let mut host = Host::start();
    create(&host, &["n1"]);
    let c1 = host.container("c1");
    host.connect_named("n1", &c1, &[]);
    let started = Instant::now();
    let status = host.stop();
    let took = started.elapsed();
    assert_eq!(
        status.code(),
        Some(0),
        "exit status on SIGTERM: {status}\n{}",
        host.log_tail()
    );
    assert!(
        took < Duration::from_secs(5),
        "took {took:?} to exit on SIGTERM"
    );
    assert!(!host.socket().exists(), "socket left behind after SIGTERM");
}

fn socket_mode_0660() {
    let host = Host::start();
    let meta = std::fs::metadata(host.socket()).expect("stat socket");
    assert!(meta.file_type().is_socket(), "not a socket");
    assert_eq!(meta.permissions().mode() & 0o7777, 0o660, "socket mode");
}

/// Three hosts at once, each with the same network name, subnet and static
/// address: each daemon sees only its own.
fn parallel_hosts_are_isolated() {
    let workers: Vec<_> = (0..3)
        .map(|_| {
            // Each host is started and dropped on its own thread (see Host).
            std::thread::spawn(|| {
                let host = Host::start();
                create(&host, &["--subnet", "10.91.0.0/24", "same"]);
                let c1 = host.container("c1");
                host.connect_named("same", &c1, &["--ip", "10.91.0.10"]);
                assert_eq!(c1.ipv4_addrs("eth0"), vec!["10.91.0.10/24"]);
                assert_eq!(host.inspect("same").containers.len(), 1);
            })
        })
        .collect();
    for w in workers {
        if let Err(panic) = w.join() {
            std::panic::resume_unwind(panic);
        }
    }
}
