//! 32 containers added and deleted at once, as a node starting a burst of
//! pods does: the first ADDs race to create the network, every container
//! gets its own address, and every DEL gives it back.

use std::collections::BTreeSet;
use std::thread;

use cnm_tests::addr::cidr_contains;
use serde_json::json;

use super::{result_ipv4, CniHost};

const CONTAINERS: usize = 32;

pub fn parallel_add_del_32() {
    let t = CniHost::start();
    let list = t.list(
        "burst",
        "1.1.0",
        vec![t.plugin(json!({"subnet": "10.88.0.0/24"}))],
    );
    let containers: Vec<_> = (0..CONTAINERS)
        .map(|i| t.host.container(&format!("p{i}")))
        .collect();
    let results: Vec<String> = thread::scope(|s| {
        let handles: Vec<_> = containers
            .iter()
            .map(|c| {
                let (t, list) = (&t, &list);
                s.spawn(move || result_ipv4(&t.add_ok(list, &t.rt(c))))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let distinct: BTreeSet<&String> = results.iter().collect();
    assert_eq!(
        distinct.len(),
        CONTAINERS,
        "duplicate addresses: {results:?}"
    );
    assert!(
        results.iter().all(|a| cidr_contains("10.88.0.0/24", a)),
        "{results:?}"
    );
    for (c, address) in containers.iter().zip(&results) {
        assert_eq!(c.ipv4_addrs("eth0"), vec![address.clone()], "{}", c.label());
    }
    assert_eq!(t.attached("burst").len(), CONTAINERS);

    thread::scope(|s| {
        for c in &containers {
            let (t, list) = (&t, &list);
            s.spawn(move || t.del_ok(list, &t.rt(c)));
        }
    });
    assert!(t.attached("burst").is_empty(), "DELs left endpoints");
    let veths = t.host.ip(&["-o", "link", "show", "type", "veth"]).stdout;
    assert!(veths.trim().is_empty(), "host veths left: {veths}");
    assert!(containers.iter().all(|c| c.link("eth0").is_none()));
}
