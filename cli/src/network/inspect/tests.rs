//! Golden tests: `network inspect` output must be byte-for-byte Docker's shape.

use std::collections::HashMap;

use pb::v1::Ipam;

use super::*;

fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn web_with_one_container() -> Network {
    let container = EndpointResource {
        name: "web-1".into(),
        endpoint_id: "e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2".into(),
        mac_address: "02:42:ac:12:00:02".into(),
        ipv4_address: "172.18.0.2/16".into(),
        ipv6_address: String::new(),
    };
    Network {
        name: "web".into(),
        id: "5e7c7e4bfa3bd8a4c1c7b2b54c0a3a6d5b1b6f0c1d2e3f405162738495a6b7c8".into(),
        created: "2026-11-29T06:30:00.123456789Z".into(),
        scope: "local".into(),
        driver: "bridge".into(),
        ipam: Some(Ipam {
            driver: "default".into(),
            config: vec![IpamConfig {
                subnet: "172.18.0.0/16".into(),
                gateway: "172.18.0.1".into(),
                ..IpamConfig::default()
            }],
            options: HashMap::new(),
        }),
        containers: HashMap::from([(
            "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2".to_string(),
            container,
        )]),
        labels: map(&[("team", "net")]),
        ..Network::default()
    }
}

fn lan_with_aux_addresses() -> Network {
    Network {
        name: "lan".into(),
        id: "9f904ee27bf5c1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5e6f708192a3b4".into(),
        created: "2026-11-29T06:31:00.5Z".into(),
        scope: "local".into(),
        driver: "macvlan".into(),
        enable_ipv6: true,
        internal: true,
        ipam: Some(Ipam {
            driver: "default".into(),
            config: vec![
                IpamConfig {
                    subnet: "10.5.0.0/16".into(),
                    ip_range: "10.5.1.0/24".into(),
                    gateway: "10.5.0.1".into(),
                    auxiliary_addresses: map(&[("router", "10.5.0.2"), ("dns", "10.5.0.3")]),
                },
                IpamConfig {
                    subnet: "fd00:5::/64".into(),
                    ..IpamConfig::default()
                },
            ],
            options: map(&[("opt", "1")]),
        }),
        options: map(&[("parent", "eth0"), ("macvlan_mode", "bridge")]),
        ..Network::default()
    }
}

const GOLDEN: &str = r#"[
    {
        "Name": "web",
        "Id": "5e7c7e4bfa3bd8a4c1c7b2b54c0a3a6d5b1b6f0c1d2e3f405162738495a6b7c8",
        "Created": "2026-11-29T06:30:00.123456789Z",
        "Scope": "local",
        "Driver": "bridge",
        "EnableIPv6": false,
        "IPAM": {
            "Driver": "default",
            "Options": null,
            "Config": [
                {
                    "Subnet": "172.18.0.0/16",
                    "Gateway": "172.18.0.1"
                }
            ]
        },
        "Internal": false,
        "Attachable": false,
        "Ingress": false,
        "ConfigFrom": {
            "Network": ""
        },
        "ConfigOnly": false,
        "Containers": {
            "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2": {
                "Name": "web-1",
                "EndpointID": "e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2",
                "MacAddress": "02:42:ac:12:00:02",
                "IPv4Address": "172.18.0.2/16",
                "IPv6Address": ""
            }
        },
        "Options": {},
        "Labels": {
            "team": "net"
        }
    },
    {
        "Name": "lan",
        "Id": "9f904ee27bf5c1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5e6f708192a3b4",
        "Created": "2026-11-29T06:31:00.5Z",
        "Scope": "local",
        "Driver": "macvlan",
        "EnableIPv6": true,
        "IPAM": {
            "Driver": "default",
            "Options": {
                "opt": "1"
            },
            "Config": [
                {
                    "Subnet": "10.5.0.0/16",
                    "IPRange": "10.5.1.0/24",
                    "Gateway": "10.5.0.1",
                    "AuxiliaryAddresses": {
                        "dns": "10.5.0.3",
                        "router": "10.5.0.2"
                    }
                },
                {
                    "Subnet": "fd00:5::/64"
                }
            ]
        },
        "Internal": true,
        "Attachable": false,
        "Ingress": false,
        "ConfigFrom": {
            "Network": ""
        },
        "ConfigOnly": false,
        "Containers": {},
        "Options": {
            "macvlan_mode": "bridge",
            "parent": "eth0"
        },
        "Labels": {}
    }
]
"#;

#[test]
fn matches_docker_network_inspect() {
    let json =
        render(&[web_with_one_container(), lan_with_aux_addresses()], None).expect("renders");
    assert_eq!(json, GOLDEN);
}

#[test]
fn nothing_found_prints_an_empty_array() {
    assert_eq!(render(&[], None).expect("renders"), "[]\n");
}

#[test]
fn a_network_without_ipam_still_has_every_key() {
    let json = render(&[Network::default()], None).expect("renders");
    let value: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    let ipam = &value[0]["IPAM"];
    assert_eq!(ipam["Options"], serde_json::Value::Null);
    assert_eq!(ipam["Config"], serde_json::json!([]));
    assert_eq!(value[0]["Containers"], serde_json::json!({}));
}

fn formatted(src: &str) -> String {
    let template = format::inspect_template(Some(src))
        .expect("parses")
        .expect("a template");
    render(
        &[web_with_one_container(), lan_with_aux_addresses()],
        Some(&template),
    )
    .expect("renders")
}

#[test]
fn format_runs_over_the_docker_json() {
    assert_eq!(
        formatted("{{.Name}} {{.Driver}}"),
        "web bridge\nlan macvlan\n"
    );
    assert_eq!(
        formatted("{{range $id, $c := .Containers}}{{$c.Name}}={{$c.IPv4Address}}{{end}}"),
        "web-1=172.18.0.2/16\n\n"
    );
    assert_eq!(
        formatted("{{(index .IPAM.Config 0).Subnet}}"),
        "172.18.0.0/16\n10.5.0.0/16\n"
    );
    assert_eq!(
        formatted(r#"{{index .Options "parent"}}|{{.Labels}}"#),
        "<no value>|map[team:net]\neth0|map[]\n"
    );
    assert_eq!(
        formatted("{{json .Containers}}"),
        "{\"a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2\":\
         {\"EndpointID\":\"e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2\",\
         \"IPv4Address\":\"172.18.0.2/16\",\"IPv6Address\":\"\",\
         \"MacAddress\":\"02:42:ac:12:00:02\",\"Name\":\"web-1\"}}\n{}\n"
    );
    assert_eq!(
        formatted("{{.EnableIPv6}} {{.IPAM.Options}}"),
        "false <no value>\ntrue map[opt:1]\n"
    );
}

#[test]
fn format_errors_name_the_field() {
    let template = format::inspect_template(Some("{{.Nope}}"))
        .expect("parses")
        .expect("a template");
    let error = render(&[Network::default()], Some(&template)).expect_err("no such field");
    assert_eq!(
        error.to_string(),
        "template parsing error: template: :1:2: executing \"\" at <.Nope>: \
         map has no entry for key \"Nope\""
    );
}
