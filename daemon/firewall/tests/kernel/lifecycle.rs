//! The table as a whole: golden listing, self-healing after a flush,
//! duplicates, idempotent teardown, other tables left alone.

use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use cnm_firewall::Protocol::{Tcp, Udp};
use cnm_firewall::{watch, BlockReason, Firewall, FirewallError, NetworkRules, NftFirewall};

use super::golden::assert_golden;
use super::lab::{mapping, network, Lab, CLIENT_IP, HOST_IP};
use super::traffic::{serve, tcp};

#[test]
fn the_kernel_table_for_one_network_and_two_mappings_is_golden() {
    let Some(lab) = Lab::new("golden") else {
        return;
    };
    lab.bridge("cnm0", "10.88.0", "fd88:");
    lab.fw(|fw| {
        fw.init()?;
        fw.add_network(&NetworkRules {
            icc: false,
            ..network("4f1c", "cnm0")
        })?;
        fw.publish(&[
            mapping(Tcp, None, 8080, "10.88.0.2", 80),
            mapping(Udp, Some("fd00::1"), 5353, "fd88::2", 53),
        ])
    })
    .expect("program table");
    assert_golden("table.nft", &lab.listing());
}

#[test]
fn a_flushed_ruleset_is_noticed_and_restore_puts_it_back() {
    let Some(mut lab) = Lab::new("self_healing") else {
        return;
    };
    lab.bridge("cnm0", "10.88.0", "fd88:");
    let _c1 = serve(
        lab.container("c1", "cnm0", "10.88.0", "fd88:", 2),
        "10.88.0.2:80",
    );
    let nets = vec![network("a", "cnm0")];
    let maps = vec![mapping(Tcp, None, 8080, "10.88.0.2", 80)];
    let (n, m) = (nets.clone(), maps.clone());
    lab.fw(move |fw| {
        fw.init()?;
        fw.add_network(&n[0])?;
        fw.publish(&m)
    })
    .expect("program table");
    assert!(lab.fw(|fw| fw.is_intact()).expect("check"));

    let (lost_tx, lost) = mpsc::channel();
    let fw: Arc<dyn Firewall> = lab.fw.clone();
    let _watcher = lab
        .host
        .run(move || {
            watch(fw, move || {
                let _ = lost_tx.send(());
            })
        })
        .expect("watch");

    lab.host.cmd("nft", "flush ruleset");
    lost.recv_timeout(Duration::from_secs(2))
        .expect("on_lost within 2 s");
    assert!(!lab.fw(|fw| fw.is_intact()).expect("check"));
    assert!(tcp(&lab.client, &format!("{HOST_IP}:8080")).is_err());

    lab.fw(move |fw| fw.restore(&nets, &maps)).expect("restore");
    assert!(lab.fw(|fw| fw.is_intact()).expect("check"));
    assert_eq!(
        tcp(&lab.client, &format!("{HOST_IP}:8080")),
        Ok(CLIENT_IP.into())
    );
    while lost.try_recv().is_ok() {}
    assert!(
        lost.recv_timeout(Duration::from_millis(1500)).is_err(),
        "our own restore reported as a loss"
    );

    // Someone else adding a rule to our table is a change too.
    lab.host.cmd("nft", "add rule inet cnm forward drop");
    assert!(!lab.fw(|fw| fw.is_intact()).expect("check"));
}

#[test]
fn a_duplicate_publish_fails_and_adds_nothing() {
    let Some(lab) = Lab::new("duplicates") else {
        return;
    };
    lab.bridge("cnm0", "10.88.0", "fd88:");
    let m1 = mapping(Tcp, None, 8080, "10.88.0.2", 80);
    let m2 = mapping(Tcp, None, 8081, "10.88.0.2", 80);
    let m3 = mapping(Tcp, None, 8082, "10.88.0.2", 80);
    let (a, b, c) = (m1.clone(), m2.clone(), m3.clone());
    let result = lab.fw(move |fw| {
        fw.init()?;
        fw.publish(std::slice::from_ref(&a))?;
        Ok::<_, FirewallError>(fw.publish(&[b, a]))
    });
    assert!(
        matches!(result, Ok(Err(FirewallError::AlreadyPublished { .. }))),
        "{result:?}"
    );

    // A second instance knows nothing: the kernel's NLM_F_EXCL refuses.
    let other = lab.host.run(|| NftFirewall::new().expect("open"));
    let (a, b) = (m1.clone(), m3.clone());
    let (single, batch) = lab.host.run(move || {
        (
            other.publish(std::slice::from_ref(&a)),
            other.publish(&[b, a]),
        )
    });
    assert!(
        matches!(single, Err(FirewallError::AlreadyPublished { .. })),
        "{single:?}"
    );
    assert!(
        matches!(batch, Err(FirewallError::Publish { .. })),
        "{batch:?}"
    );
    // Neither m2 nor m3 got in: both can still be published.
    lab.fw(move |fw| fw.publish(&[m2, c]))
        .expect("nothing of the failed batches was added");
}

#[test]
fn teardown_is_idempotent() {
    let Some(lab) = Lab::new("teardown") else {
        return;
    };
    lab.bridge("cnm0", "10.88.0", "fd88:");
    let m = vec![mapping(Tcp, None, 8080, "10.88.0.2", 80)];
    lab.fw(move |fw| {
        fw.init()?;
        fw.add_network(&network("a", "cnm0"))?;
        fw.add_network(&network("a", "cnm0"))?;
        fw.publish(&m)?;
        fw.unpublish(&m)?;
        fw.unpublish(&m)?;
        fw.remove_network(&"a".repeat(64))?;
        fw.remove_network(&"a".repeat(64))?;
        fw.remove_network("unknown")
    })
    .expect("teardown twice");
    assert!(!lab.listing().contains("cnm0"));
}

#[test]
fn init_leaves_other_tables_alone_and_forward_drops_are_reported() {
    let Some(lab) = Lab::new("other_tables") else {
        return;
    };
    lab.bridge("cnm0", "10.88.0", "fd88:");
    lab.host.cmd("nft", "add table ip filter");
    lab.host.cmd(
        "nft",
        "add chain ip filter FORWARD { type filter hook forward priority 0 ; policy drop ; }",
    );
    lab.host
        .cmd("nft", "add rule ip filter FORWARD ct state invalid drop");
    let before = lab.host.cmd("nft", "list table ip filter");
    let blockers = lab
        .fw(|fw| {
            fw.init()?;
            fw.init()?;
            fw.restore(
                &[network("a", "cnm0")],
                &[mapping(Tcp, None, 8080, "10.88.0.2", 80)],
            )?;
            fw.forward_blockers()
        })
        .expect("init, restore, check");
    assert_eq!(lab.host.cmd("nft", "list table ip filter"), before);
    assert_eq!(blockers.len(), 1, "{blockers:?}");
    assert_eq!(
        (blockers[0].table.as_str(), &blockers[0].reason),
        ("filter", &BlockReason::PolicyDrop)
    );
}
