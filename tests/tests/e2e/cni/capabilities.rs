//! What the config and the runtime ask for reaches cnmd: the network the
//! first ADD creates, and the `portMappings`, `ips`, `mac`, `aliases`,
//! `dns` capabilities and Podman's `IP=`/`MAC=` CNI_ARGS.

use std::time::Duration;

use cnm_tests::addr::cidr_contains;
use cnm_tests::exec::eventually;
use cnm_tests::traffic::{expect_served, sock, EchoServer, Proto};
use serde_json::json;

use super::{result_ipv4, CniHost};

pub fn network_created_from_config() {
    let t = CniHost::start();
    let plugin = t.plugin(json!({
        "subnet": "10.55.0.0/24", "gateway": "10.55.0.254", "ipRange": "10.55.0.128/25",
        "driver": "bridge", "internal": true,
        "options": {"com.docker.network.bridge.name": "cnicfg0", "com.docker.network.driver.mtu": 1400},
        "dns": {"nameservers": ["192.0.2.1"], "search": ["example.test"]},
    }));
    let list = t.list("cfgnet", "1.1.0", vec![plugin]);
    assert!(t.network("cfgnet").is_none());
    let c1 = t.host.container("c1");
    let result = t.add_ok(&list, &t.rt(&c1));

    let net = t
        .network("cfgnet")
        .expect("the first ADD created the network");
    let config = net.ipv4_config().expect("an IPv4 subnet");
    assert_eq!(
        (
            config.subnet.as_str(),
            config.gateway.as_str(),
            config.ip_range.as_str()
        ),
        ("10.55.0.0/24", "10.55.0.254", "10.55.0.128/25")
    );
    assert!(net.internal, "internal not taken from the config");
    assert_eq!(net.driver, "bridge");
    assert_eq!(
        net.options
            .get("com.docker.network.bridge.name")
            .map(String::as_str),
        Some("cnicfg0")
    );
    assert!(
        t.host.ip(&["link", "show", "cnicfg0"]).success(),
        "bridge cnicfg0 missing"
    );
    assert_eq!(c1.link("eth0").map(|l| l.mtu), Some(1400));

    assert!(
        cidr_contains("10.55.0.128/25", &result_ipv4(&result)),
        "{result}"
    );
    // Internal: the bridge holds 10.55.0.254, but it routes nowhere.
    assert!(result["ips"][0].get("gateway").is_none(), "{result}");
    assert!(
        result.get("routes").is_none(),
        "an internal network has no default route: {result}"
    );
    assert_eq!(
        result["dns"]["nameservers"],
        json!(["10.55.0.254"]),
        "{result}"
    );
    assert_eq!(result["dns"]["search"], json!(["example.test"]));

    // Another conflist with the same name but another subnet is refused
    // rather than silently using the existing network.
    let other = t.list(
        "cfgnet",
        "1.1.0",
        vec![t.plugin(json!({"subnet": "10.56.0.0/24"}))],
    );
    let c2 = t.host.container("c2");
    let err = t.cni.add(&other, &t.rt(&c2)).expect_err("subnet mismatch");
    assert_eq!(err.code, 7, "{err}");
    assert!(
        err.msg.contains("10.55.0.0/24") && err.msg.contains("10.56.0.0/24"),
        "{err}"
    );
    assert_eq!(t.attached("cfgnet"), vec!["c1".to_string()]);
}

pub fn capabilities_and_podman_args() {
    let t = CniHost::start();
    let caps =
        json!({"portMappings": true, "ips": true, "mac": true, "aliases": true, "dns": true});
    let list = t.list(
        "n1",
        "1.1.0",
        vec![t.plugin(json!({"subnet": "10.66.0.0/24", "capabilities": caps}))],
    );
    let (c1, c2, c3) = (
        t.host.container("c1"),
        t.host.container("c2"),
        t.host.container("c3"),
    );
    let port = json!([{"hostPort": 18080, "containerPort": 80, "protocol": "tcp"}]);
    let rt1 = t
        .rt(&c1)
        .capability("ips", json!(["10.66.0.50/24"]))
        .capability("mac", json!("02:aa:bb:cc:dd:01"))
        .capability("aliases", json!({"n1": ["webalias"]}))
        .capability("dns", json!({"servers": ["192.0.2.53"]}))
        .capability("portMappings", port.clone());
    let result = t.add_ok(&list, &rt1);
    assert_eq!(result_ipv4(&result), "10.66.0.50/24");
    assert_eq!(c1.ipv4_addrs("eth0"), vec!["10.66.0.50/24".to_string()]);
    assert_eq!(
        c1.link("eth0").map(|l| l.mac),
        Some("02:aa:bb:cc:dd:01".to_string())
    );

    // The published port reaches c1.
    let _server = EchoServer::start(c1.ns(), Proto::Tcp, 80, "c1:80");
    expect_served(
        &t.host,
        t.host.ns(),
        Proto::Tcp,
        sock("127.0.0.1", 18080),
        "c1:80",
    );

    // Podman's way: IP= and MAC= in CNI_ARGS, with keys for other plugins.
    let rt2 = t
        .rt(&c2)
        .arg("IgnoreUnknown", "1")
        .arg("K8S_POD_NAME", "c2")
        .arg("IP", "10.66.0.60")
        .arg("MAC", "02:aa:bb:cc:dd:02");
    t.add_ok(&list, &rt2);
    assert_eq!(c2.ipv4_addrs("eth0"), vec!["10.66.0.60/24".to_string()]);
    assert_eq!(
        c2.link("eth0").map(|l| l.mac),
        Some("02:aa:bb:cc:dd:02".to_string())
    );

    // c1's alias answers in the network's DNS.
    let answer = eventually(Duration::from_secs(3), || {
        let out = c2.exec(&["dig", "+short", "+time=1", "@10.66.0.1", "webalias"]);
        match out.stdout.trim() {
            "10.66.0.50" => Ok(()),
            other => Err(format!("webalias -> {other:?}: {out}")),
        }
    });
    answer.unwrap_or_else(|e| panic!("{e}\n{}", t.host.log_tail()));

    // The host port is c1's: another container cannot have it until c1 goes.
    let rt3 = t.rt(&c3).capability("portMappings", port);
    let err = t.cni.add(&list, &rt3).expect_err("port taken");
    assert_eq!(err.code, 100, "{err}");
    assert!(err.msg.contains("18080"), "{err}");
    t.del_ok(&list, &rt1);
    t.add_ok(&list, &rt3);
    assert_eq!(t.attached("n1"), vec!["c2".to_string(), "c3".to_string()]);
}
