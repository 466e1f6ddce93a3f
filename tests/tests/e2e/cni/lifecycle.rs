//! DEL after a failed ADD, DEL idempotence, GC against the runtime's valid
//! attachments, STATUS following cnmd.

use serde_json::json;

use super::CniHost;

pub fn del_after_failed_add() {
    let t = CniHost::start();
    // tuning fails on a sysctl that does not exist, after cnm-cni wired c1.
    let tuning = json!({"type": "tuning", "sysctl": {"net.core.no_such_key": "1"}});
    let list = t.list("n1", "1.0.0", vec![t.plugin(json!({})), tuning]);
    let c1 = t.host.container("c1");
    let rt = t.rt(&c1);
    let err = t.cni.add(&list, &rt).expect_err("tuning fails");
    assert_eq!(err.plugin, "tuning", "{err}");
    assert_eq!(
        t.cni.cache.result("n1", &rt),
        None,
        "a failed ADD is not cached"
    );
    assert_eq!(
        t.attached("n1"),
        vec!["c1".to_string()],
        "cnm-cni's part did run"
    );

    // The runtime cleans up with a DEL that has no cached result.
    t.del_ok(&list, &rt);
    assert!(
        t.attached("n1").is_empty(),
        "DEL after failed ADD left the endpoint"
    );
    assert!(c1.link("eth0").is_none());

    // cnm-cni failing itself (a static address outside the subnet) leaves
    // nothing, and the DEL that follows succeeds.
    let list = t.list(
        "n2",
        "1.1.0",
        vec![t.plugin(json!({"subnet": "10.79.0.0/24", "capabilities": {"ips": true}}))],
    );
    let rt = t.rt(&c1).capability("ips", json!(["10.80.0.5/24"]));
    let err = t
        .cni
        .add(&list, &rt)
        .expect_err("address outside the subnet");
    assert_eq!((err.plugin.as_str(), err.code), ("cnm-cni", 7), "{err}");
    assert!(err.msg.contains("10.80.0.5"), "{err}");
    t.del_ok(&list, &rt);
    assert!(t.attached("n2").is_empty());
    assert!(c1.link("eth0").is_none(), "failed ADD left eth0");
}

pub fn del_is_idempotent() {
    let t = CniHost::start();
    let list = t.list(
        "n1",
        "1.1.0",
        vec![t.plugin(json!({"capabilities": {"ips": true}}))],
    );
    let mut c1 = t.host.container("c1");
    let rt = t.rt(&c1);
    t.add_ok(&list, &rt);
    // The namespace goes first, as when a container dies.
    c1.delete();
    t.del_ok(&list, &rt);
    assert!(
        t.attached("n1").is_empty(),
        "record kept after DEL of a gone netns"
    );
    let veths = t.host.ip(&["-o", "link", "show", "type", "veth"]).stdout;
    assert!(veths.trim().is_empty(), "host veths left: {veths}");
    // Record gone: DEL again, and DEL without CNI_NETNS, still succeed.
    t.del_ok(&list, &rt);
    let mut no_netns = rt.clone();
    no_netns.netns = String::new();
    t.del_ok(&list, &no_netns);
    // A network cnmd never had.
    let ghost = t.list("ghost", "1.1.0", vec![t.plugin(json!({}))]);
    t.del_ok(&ghost, &rt);

    // Interface removed behind cnmd's back: DEL still releases the record.
    let c2 = t.host.container("c2");
    let rt2 = t.rt(&c2);
    let first = super::result_ipv4(&t.add_ok(&list, &rt2));
    c2.ip(&["link", "del", "eth0"]);
    t.del_ok(&list, &rt2);
    assert!(t.attached("n1").is_empty());
    // The address is free again: asking for it exactly succeeds.
    let same = rt2.capability("ips", json!([first]));
    assert_eq!(super::result_ipv4(&t.add_ok(&list, &same)), first);
}

pub fn gc_removes_unlisted_attachments() {
    let t = CniHost::start();
    let list = t.list("n1", "1.1.0", vec![t.plugin(json!({}))]);
    let (c1, c2, c3, c4) = (
        t.host.container("c1"),
        t.host.container("c2"),
        t.host.container("c3"),
        t.host.container("c4"),
    );
    for c in [&c1, &c2, &c3] {
        t.add_ok(&list, &t.rt(c));
    }
    // c4 is cnm's own (CLI) attachment on the same network: not GC's.
    t.host.connect_named("n1", &c4, &[]);
    // A GC without the list of valid attachments removes nothing.
    let plugin = t.cni.invoker.find("cnm-cni").expect("cnm-cni");
    let env = cnm_tests::libcni::CallEnv {
        command: "GC".into(),
        ..Default::default()
    };
    let conf = t.plugin(json!({"cniVersion": "1.1.0", "name": "n1"}));
    let out = t
        .cni
        .invoker
        .exec(&plugin, &env, conf.to_string().as_bytes());
    assert!(!out.success() && out.stdout.contains("\"code\":7"), "{out}");
    assert_eq!(t.attached("n1").len(), 4);
    // libcni only knows c3 through its cache; without it only the plugin's
    // GC can find the attachment.
    std::fs::remove_file(t.cni.cache.path("n1", &t.rt(&c3))).expect("drop c3's cache entry");

    let valid = vec![("c1".to_string(), "eth0".to_string())];
    let errors = t.cni.gc(&list, &valid);
    assert!(
        errors.is_empty(),
        "GC errors: {errors:?}\n{}",
        t.host.log_tail()
    );
    assert_eq!(t.attached("n1"), vec!["c1".to_string(), "c4".to_string()]);
    assert!(c3.link("eth0").is_none(), "GC left c3's interface");
    assert!(c1.link("eth0").is_some(), "GC removed a valid attachment");

    // A second GC has nothing left to do; an empty list removes c1 too.
    assert!(t.cni.gc(&list, &valid).is_empty());
    assert!(t.cni.gc(&list, &[]).is_empty());
    assert_eq!(t.attached("n1"), vec!["c4".to_string()]);
}

pub fn status_follows_cnmd() {
    let mut t = CniHost::start();
    let list = t.list("n1", "1.1.0", vec![t.plugin(json!({}))]);
    t.cni.status(&list).expect("STATUS with cnmd up");
    let c1 = t.host.container("c1");
    let rt = t.rt(&c1);
    t.add_ok(&list, &rt);

    t.host.stop();
    let err = t.cni.status(&list).expect_err("STATUS with cnmd down");
    assert_eq!(err.code, 50, "{err}");
    assert!(
        err.msg.contains(&t.host.socket().display().to_string()),
        "{err}"
    );
    let c2 = t.host.container("c2");
    let err = t
        .cni
        .add(&list, &t.rt(&c2))
        .expect_err("ADD with cnmd down");
    assert_eq!(err.code, 11, "try again later: {err}");
    let err = t.cni.del(&list, &rt).expect_err("DEL with cnmd down");
    assert_eq!(err.code, 11, "{err}");

    t.host.restart();
    t.cni.status(&list).expect("STATUS after restart");
    t.del_ok(&list, &rt);
    assert!(t.attached("n1").is_empty());
    // Before 1.1.0 there is no STATUS: libcni skips it, the plugin refuses.
    let old = t.list("n1", "1.0.0", vec![t.plugin(json!({}))]);
    t.cni
        .status(&old)
        .expect("libcni skips STATUS before 1.1.0");
    let plugin = t.cni.invoker.find("cnm-cni").expect("cnm-cni");
    let env = cnm_tests::libcni::CallEnv {
        command: "STATUS".into(),
        ..Default::default()
    };
    let conf = json!({"cniVersion": "1.0.0", "name": "n1", "type": "cnm-cni"});
    let out = t
        .cni
        .invoker
        .exec(&plugin, &env, conf.to_string().as_bytes());
    assert!(!out.success() && out.stdout.contains("\"code\":1"), "{out}");
}
