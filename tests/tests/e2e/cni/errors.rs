//! Bad configurations and environments get the spec's error JSON on
//! stdout, with its well-known codes, and change nothing in cnmd.

use cnm_tests::libcni::CallEnv;
use serde_json::{json, Value};

use super::CniHost;

/// Calls cnm-cni directly; asserts failure and returns the error JSON.
fn refused(t: &CniHost, env: &CallEnv, stdin: &str) -> Value {
    let plugin = t.cni.invoker.find("cnm-cni").expect("cnm-cni built");
    let out = t.cni.invoker.exec(&plugin, env, stdin.as_bytes());
    assert!(!out.success(), "should fail: {out}");
    let err: Value = serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("stdout is not the error JSON ({e}): {out}"));
    assert!(err["cniVersion"].is_string(), "{err}");
    assert!(err["msg"].as_str().is_some_and(|m| !m.is_empty()), "{err}");
    err
}

pub fn error_json_for_bad_config_and_env() {
    let t = CniHost::start();
    let c1 = t.host.container("c1");
    let add = CallEnv {
        command: "ADD".into(),
        container_id: "c1".into(),
        netns: c1.path_str(),
        ifname: "eth0".into(),
        args: String::new(),
    };
    let good = t.plugin(json!({"cniVersion": "1.1.0", "name": "n1"}));
    config_errors(&t, &add, &good);
    env_errors(&t, &add, &good.to_string());
    // A namespace path that leads nowhere: cnmd refuses, the config is bad.
    let gone = CallEnv {
        netns: "/run/netns/cnmt-no-such-namespace".into(),
        ..add.clone()
    };
    let err = refused(&t, &gone, &good.to_string());
    assert_eq!(err["code"], json!(7), "{err}");
    assert!(
        err["msg"]
            .as_str()
            .is_some_and(|m| m.contains("cnmt-no-such-namespace")),
        "{err}"
    );

    // None of it attached anything.
    assert!(t.attached("n1").is_empty());
    assert!(c1.link("eth0").is_none());
}

/// Decode (6), version (1), unknown key (2), invalid value (7).
fn config_errors(t: &CniHost, add: &CallEnv, good: &Value) {
    let with = |key: &str, value: Value| {
        let mut conf = good.clone();
        conf[key] = value;
        conf.to_string()
    };
    let without = |key: &str| {
        let mut conf = good.clone();
        conf.as_object_mut().map(|m| m.remove(key));
        conf.to_string()
    };
    let config_cases: Vec<(String, u64, &str)> = vec![
        ("{not json".into(), 6, "JSON"),
        (with("cniVersion", json!("0.2.0")), 1, "0.2.0"),
        (with("subent", json!("10.0.0.0/24")), 2, "subent"),
        (with("ipam", json!({"type": "host-local"})), 2, "ipam"),
        (without("name"), 7, "name"),
        (with("subnet", json!("10.0.0.0/33")), 7, "subnet"),
        (with("socket", json!("relative.sock")), 7, "socket"),
    ];
    for (stdin, code, mentions) in &config_cases {
        let err = refused(t, add, stdin);
        assert_eq!(err["code"], json!(code), "{stdin}: {err}");
        assert!(
            err["msg"].as_str().is_some_and(|m| m.contains(mentions)),
            "{stdin}: {err}"
        );
    }
    // The error speaks the caller's version when it could read it.
    let err = refused(
        t,
        add,
        &with("subnet", json!("nope")).replace("1.1.0", "0.4.0"),
    );
    assert_eq!(err["cniVersion"], json!("0.4.0"), "{err}");
}

/// Missing or invalid CNI_* variables: 4, naming the variable.
fn env_errors(t: &CniHost, add: &CallEnv, good: &str) {
    let env_cases: Vec<(CallEnv, &str)> = vec![
        (
            CallEnv {
                command: String::new(),
                ..add.clone()
            },
            "CNI_COMMAND",
        ),
        (
            CallEnv {
                command: "BOGUS".into(),
                ..add.clone()
            },
            "CNI_COMMAND",
        ),
        (
            CallEnv {
                container_id: String::new(),
                ..add.clone()
            },
            "CNI_CONTAINERID",
        ),
        (
            CallEnv {
                container_id: "-bad".into(),
                ..add.clone()
            },
            "CNI_CONTAINERID",
        ),
        (
            CallEnv {
                netns: String::new(),
                ..add.clone()
            },
            "CNI_NETNS",
        ),
        (
            CallEnv {
                ifname: "a/b".into(),
                ..add.clone()
            },
            "CNI_IFNAME",
        ),
        (
            CallEnv {
                ifname: "name-of-16-chars".into(),
                ..add.clone()
            },
            "CNI_IFNAME",
        ),
        (
            CallEnv {
                args: "IP=10.1.2.300".into(),
                ..add.clone()
            },
            "CNI_ARGS",
        ),
    ];
    for (env, mentions) in &env_cases {
        let err = refused(t, env, good);
        assert_eq!(err["code"], json!(4), "{env:?}: {err}");
        assert!(
            err["msg"].as_str().is_some_and(|m| m.contains(mentions)),
            "{env:?}: {err}"
        );
    }
}
