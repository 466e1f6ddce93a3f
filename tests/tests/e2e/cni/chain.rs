//! cnm-cni as the first plugin of a chain: the VERSION probe, results in
//! each spec version, `tuning` and `bandwidth` working from its
//! prevResult, CHECK through the chain, DEL in reverse.

use cnm_tests::addr::cidr_contains;
use cnm_tests::exec::run;
use serde_json::{json, Value};

use super::{result_host_interface, result_ipv4, sysctl_in, CniHost};

pub fn version_probe_and_validate() {
    let t = CniHost::start();
    let info = t.cni.version_info("cnm-cni").expect("VERSION");
    assert_eq!(
        info["supportedVersions"],
        json!(["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]),
        "{info}"
    );
    assert_eq!(info["cniVersion"], json!("1.1.0"));

    // libcni's ValidateNetworkList probes every plugin of the chain.
    let tuning = json!({"type": "tuning"});
    let good = t.list("n1", "1.0.0", vec![t.plugin(json!({})), tuning.clone()]);
    t.cni
        .validate(&good)
        .expect("cnm-cni + tuning validate at 1.0.0");
    let old = t.list("n1", "0.2.0", vec![t.plugin(json!({}))]);
    let err = t.cni.validate(&old).expect_err("0.2.0 is not supported");
    assert!(err.msg.contains("cnm-cni"), "{err}");

    // A runtime that does not validate gets error 1 from ADD itself.
    let c1 = t.host.container("c1");
    let err = t.cni.add(&old, &t.rt(&c1)).expect_err("ADD at 0.2.0");
    assert_eq!(err.code, 1, "{err}");
    assert!(
        t.network("n1").is_none(),
        "a refused ADD created the network"
    );
}

pub fn chain_with_tuning_add_check_del() {
    let t = CniHost::start();
    let tuning = json!({"type": "tuning", "sysctl": {"net.core.somaxconn": "500"}});
    let list = t.list(
        "n1",
        "1.0.0",
        vec![t.plugin(json!({"subnet": "10.77.0.0/24"})), tuning],
    );
    t.cni.validate(&list).expect("validate");
    let c1 = t.host.container("c1");
    let rt = t.rt(&c1);
    let result = t.add_ok(&list, &rt);

    // tuning ran after cnm-cni (it fails without a prevResult) and passed
    // our result on.
    assert_eq!(sysctl_in(&c1, "net.core.somaxconn"), "500");
    assert_eq!(result["cniVersion"], json!("1.0.0"));
    let address = result_ipv4(&result);
    assert!(cidr_contains("10.77.0.0/24", &address), "{result}");
    assert!(
        result["ips"][0].get("version").is_none(),
        "1.0.0 has no ip version: {result}"
    );
    assert_eq!(c1.ipv4_addrs("eth0"), vec![address.clone()]);
    let sandbox_if = result["interfaces"]
        .as_array()
        .and_then(|l| l.iter().find(|i| i["name"] == "eth0"))
        .unwrap_or_else(|| panic!("no eth0 in {result}"));
    assert_eq!(sandbox_if["sandbox"], json!(c1.path_str()));
    assert_eq!(t.attached("n1"), vec!["c1".to_string()]);
    assert_eq!(t.cni.cache.result("n1", &rt), Some(result.clone()));

    t.cni.check(&list, &rt).expect("CHECK right after ADD");
    // Take the address away: CHECK must notice.
    c1.ip(&["addr", "del", &address, "dev", "eth0"]);
    let err = t
        .cni
        .check(&list, &rt)
        .expect_err("CHECK without the address");
    assert_eq!((err.plugin.as_str(), err.code), ("cnm-cni", 101), "{err}");
    assert!(err.msg.contains(&address), "{err}");

    t.del_ok(&list, &rt);
    assert!(t.attached("n1").is_empty(), "DEL left the endpoint");
    assert!(c1.link("eth0").is_none(), "DEL left eth0");
    assert_eq!(t.cni.cache.result("n1", &rt), None, "DEL left the cache");
    // After DEL, CHECK has no record to find.
    let err = t.cni.check(&list, &rt).expect_err("CHECK after DEL");
    assert_eq!(err.plugin, "cnm-cni", "{err}");
}

pub fn bandwidth_shapes_the_host_veth() {
    let t = CniHost::start();
    let bandwidth = json!({"type": "bandwidth", "capabilities": {"bandwidth": true}});
    let list = t.list("n1", "1.0.0", vec![t.plugin(json!({})), bandwidth]);
    let c1 = t.host.container("c1");
    let rt = t.rt(&c1).capability(
        "bandwidth",
        json!({"ingressRate": 1_000_000, "ingressBurst": 100_000,
               "egressRate": 2_000_000, "egressBurst": 100_000}),
    );
    let result = t.add_ok(&list, &rt);
    // bandwidth finds the host end of the veth in prevResult and shapes it.
    let veth = result_host_interface(&result);
    let qdiscs = run(std::process::Command::new("tc").args([
        "-n",
        t.host.ns().name(),
        "qdisc",
        "show",
        "dev",
        &veth,
    ]));
    assert!(
        qdiscs.success() && qdiscs.stdout.contains("tbf"),
        "{qdiscs}"
    );
    t.cni.check(&list, &rt).expect("CHECK with bandwidth");
    t.del_ok(&list, &rt);
    assert!(t.attached("n1").is_empty());
    assert!(
        t.host
            .ip(&["link", "show", &veth])
            .stderr
            .contains("does not exist"),
        "host veth {veth} left behind"
    );
}

pub fn results_in_every_version() {
    let t = CniHost::start();
    let c1 = t.host.container("c1");
    for version in ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] {
        let list = t.list(
            "n1",
            version,
            vec![t.plugin(json!({"subnet": "10.78.0.0/24"}))],
        );
        let rt = t.rt(&c1);
        let result = t.add_ok(&list, &rt);
        assert_eq!(result["cniVersion"], json!(version), "{result}");
        let ip = &result["ips"][0];
        let has_version = ip.get("version").is_some();
        assert_eq!(has_version, version < "1.0.0", "{version}: {result}");
        if has_version {
            assert_eq!(ip["version"], json!("4"));
        }
        assert_eq!(ip["gateway"], json!("10.78.0.1"));
        assert_eq!(
            result["routes"],
            json!([{"dst": "0.0.0.0/0", "gw": "10.78.0.1"}])
        );
        assert_eq!(
            result["dns"]["nameservers"],
            json!(["10.78.0.1"]),
            "{result}"
        );
        let index = ip["interface"].as_u64().expect("interface index") as usize;
        assert_eq!(result["interfaces"][index]["name"], json!("eth0"));
        if version >= "0.4.0" {
            t.cni.check(&list, &rt).expect("CHECK");
        } else {
            // libcni refuses, and the plugin too when asked directly.
            assert!(t.cni.check(&list, &rt).is_err());
            let conf = with_prev(&t.plugin(json!({})), "n1", version, &result);
            let err = call_check(&t, &rt, &conf);
            assert_eq!(err["code"], json!(1), "{version}: {err}");
        }
        t.del_ok(&list, &rt);
        assert!(
            t.attached("n1").is_empty(),
            "{version}: DEL left the endpoint"
        );
    }
}

/// A plugin config with name, version and prevResult, as a runtime builds it.
fn with_prev(plugin: &Value, name: &str, version: &str, prev: &Value) -> Value {
    let mut conf = plugin.clone();
    conf["name"] = json!(name);
    conf["cniVersion"] = json!(version);
    conf["prevResult"] = prev.clone();
    conf
}

/// CHECK straight to the plugin; its error JSON.
fn call_check(t: &CniHost, rt: &cnm_tests::libcni::RuntimeConf, conf: &Value) -> Value {
    let plugin = t.cni.invoker.find("cnm-cni").expect("cnm-cni built");
    let env = cnm_tests::libcni::CallEnv {
        command: "CHECK".into(),
        container_id: rt.container_id.clone(),
        netns: rt.netns.clone(),
        ifname: rt.ifname.clone(),
        args: String::new(),
    };
    let out = t
        .cni
        .invoker
        .exec(&plugin, &env, conf.to_string().as_bytes());
    assert!(!out.success(), "CHECK should fail: {out}");
    serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("error JSON: {e}: {out}"))
}
