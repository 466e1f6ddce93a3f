//! The networks cnmd makes on first start: `bridge`, `host`, `none`, and
//! the `cnm0` bridge device behind `bridge`.

use cnm_tests::kernel;
use cnm_tests::snapshot::assert_refused_unchanged;
use cnm_tests::{case, Case, Host, KERNEL};

pub fn cases() -> Vec<Case> {
    vec![
        case("builtin_networks_listed", KERNEL, builtin_networks_listed),
        case("default_bridge_device", KERNEL, default_bridge_device),
        case(
            "builtin_networks_not_removable",
            KERNEL,
            builtin_networks_not_removable,
        ),
    ]
}

fn builtin_networks_listed() {
    let host = Host::start();
    let rows = host.ls();
    let summary: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| (r.name.as_str(), r.driver.as_str(), r.scope.as_str()))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("bridge", "bridge", "local"),
            ("host", "host", "local"),
            ("none", "null", "local"),
        ],
        "`net ls` on first start"
    );
    for row in &rows {
        let net = host.inspect(&row.name);
        assert!(
            net.id.starts_with(&row.id),
            "ls id {} is not a prefix of inspect id {}",
            row.id,
            net.id
        );
        assert_eq!(net.scope, "local");
        assert!(net.containers.is_empty(), "{} has containers", net.name);
    }
    let bridge = host.inspect("bridge");
    let config = bridge
        .ipv4_config()
        .expect("bridge network has an IPv4 config");
    assert_eq!(config.subnet, "172.17.0.0/16");
    assert_eq!(config.gateway, "172.17.0.1");
}

fn default_bridge_device() {
    let host = Host::start();
    let link = kernel::link(host.ns(), "cnm0").unwrap_or_else(|| {
        panic!(
            "no cnm0 in the host netns: {:?}\n{}",
            kernel::links(host.ns()),
            host.log_tail()
        )
    });
    assert_eq!(link.kind, "bridge", "cnm0 is not a bridge");
    assert!(link.up, "cnm0 is not up");
    assert_eq!(kernel::ipv4_addrs(host.ns(), "cnm0"), vec!["172.17.0.1/16"]);
}

fn builtin_networks_not_removable() {
    let host = Host::start();
    for name in ["bridge", "host", "none"] {
        assert_refused_unchanged(
            &host,
            &format!("net rm {name}"),
            &["net", "rm", name],
            &["built-in", "builtin", "pre-defined", "predefined"],
        );
    }
}
