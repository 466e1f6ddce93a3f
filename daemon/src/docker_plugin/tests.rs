//! Golden tests of the plugin's JSON: requests as Docker 20.10 sends them,
//! replies as it decodes them.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::network::{endpoint_reply, join_reply, network_request, port_binding, port_requests};
use super::wire;
use super::{decode, static_reply, Failure, Protocol, Reply};
use crate::model::{Attachment, EndpointRecord};
use crate::ports::{HostAddr, Protocol as Proto, PublishedPort};

fn body(reply: &Reply) -> Value {
    serde_json::from_slice(&reply.body).expect("reply is JSON")
}

#[test]
fn activate_and_capabilities() {
    let reply = static_reply("Plugin.Activate").expect("static");
    assert_eq!(reply.status, 200);
    assert_eq!(
        body(&reply),
        json!({"Implements": ["NetworkDriver", "IpamDriver"]})
    );
    assert_eq!(
        body(&static_reply("NetworkDriver.GetCapabilities").expect("static")),
        json!({"Scope": "local", "ConnectivityScope": "local"})
    );
    assert_eq!(
        body(&static_reply("IpamDriver.GetCapabilities").expect("static")),
        json!({"RequiresMACAddress": false, "RequiresRequestReplay": false})
    );
    assert_eq!(
        body(&static_reply("IpamDriver.GetDefaultAddressSpaces").expect("static")),
        json!({"LocalDefaultAddressSpace": "cnm-local", "GlobalDefaultAddressSpace": "cnm-global"})
    );
    assert_eq!(
        body(&static_reply("NetworkDriver.DiscoverNew").expect("static")),
        json!({})
    );
    assert!(static_reply("NetworkDriver.Bogus").is_none());
}

#[test]
fn errors_take_each_protocols_shape() {
    let refused = Failure::Refused("no".into());
    assert_eq!(body(&refused.reply(Protocol::Driver)), json!({"Err": "no"}));
    let refused = Failure::Refused("no".into()).reply(Protocol::Ipam);
    assert_eq!(
        (refused.status, body(&refused)),
        (200, json!({"Error": "no"}))
    );
    let bad = Failure::BadRequest("bad".into()).reply(Protocol::Driver);
    assert_eq!(bad.status, 400);
    assert_eq!(Reply::not_found("X.Y").status, 404);
    assert!(decode::<wire::EndpointRequest>(b"{").is_err());
    // An empty body is an empty request (Activate has none).
    assert!(decode::<wire::EndpointRequest>(b"").is_ok());
}

#[test]
fn create_network_request_maps_to_a_cnm_network() {
    let raw = json!({
        "NetworkID": "2b5a0c6f5e0c8c1f0e4f5a0c6f5e0c8c1f0e4f5a0c6f5e0c8c1f0e4f5a0c6f5e",
        "Options": {
            "com.docker.network.enable_ipv6": false,
            "com.docker.network.generic": {"com.docker.network.bridge.name": "br-test", "mtu": 1400}
        },
        "IPv4Data": [{"AddressSpace": "cnm-local", "Pool": "10.77.0.0/24", "Gateway": "10.77.0.1/24",
                      "AuxAddresses": {"router": "10.77.0.5/24"}}],
        "IPv6Data": []
    });
    let req: wire::CreateNetworkRequest = serde_json::from_value(raw).expect("decodes");
    let create = network_request(&req).expect("valid");
    assert_eq!(create.name, "docker-2b5a0c6f5e0c");
    assert_eq!(create.driver, "bridge");
    assert!(!create.enable_ipv6 && !create.internal);
    assert_eq!(create.options["com.docker.network.bridge.name"], "br-test");
    assert_eq!(create.options["mtu"], "1400");
    assert_eq!(create.labels["com.docker.network.id"], req.network_id);
    let subnet = &create.subnets[0];
    assert_eq!(subnet.subnet, Some("10.77.0.0/24".parse().expect("cidr")));
    assert_eq!(subnet.gateway, Some("10.77.0.1".parse().expect("ip")));
    assert_eq!(
        subnet.aux_addresses["router"],
        "10.77.0.5".parse::<std::net::IpAddr>().expect("ip")
    );
    let bad: wire::CreateNetworkRequest =
        serde_json::from_value(json!({"NetworkID": "x"})).expect("decodes");
    assert!(network_request(&bad).is_err());
}

fn endpoint() -> EndpointRecord {
    EndpointRecord {
        id: "ab".repeat(32),
        network_id: "cd".repeat(32),
        sandbox_id: "ef".repeat(32),
        ifname: "cnmxababababab".into(),
        mac: [2, 0x42, 10, 77, 0, 2],
        ipv4: Some("10.77.0.2/24".parse().expect("cidr")),
        ipv6: None,
        static_ipv4: true,
        static_ipv6: false,
        aliases: Vec::new(),
        gateway_v4: Some("10.77.0.1".parse().expect("ip")),
        gateway_v6: None,
        default_route: true,
        created: String::new(),
        ports: vec![PublishedPort {
            protocol: Proto::Tcp,
            host: HostAddr::AnyV4,
            host_port: 8080,
            container_ip: "10.77.0.2".parse().expect("ip"),
            container_port: 80,
        }],
        attachment: Some(Attachment {
            container_id: "ab".repeat(32),
            owner: "docker".into(),
        }),
        host_ifname: Some("cnmvababababab".into()),
    }
}

#[test]
fn join_hands_docker_the_waiting_interface() {
    let reply = serde_json::to_value(join_reply(&endpoint())).expect("json");
    assert_eq!(
        reply,
        json!({
            "InterfaceName": {"SrcName": "cnmxababababab", "DstPrefix": "eth"},
            "Gateway": "10.77.0.1",
            "GatewayIPv6": "",
            "StaticRoutes": [],
            "DisableGatewayService": true
        })
    );
    let internal = EndpointRecord {
        default_route: false,
        ..endpoint()
    };
    assert_eq!(
        serde_json::to_value(join_reply(&internal)).expect("json")["Gateway"],
        ""
    );
}

#[test]
fn create_endpoint_reply_names_only_what_docker_left_open() {
    let given = wire::EndpointInterface {
        address: "10.77.0.2/24".into(),
        ..Default::default()
    };
    let reply = serde_json::to_value(endpoint_reply(&given, &endpoint())).expect("json");
    assert_eq!(
        reply,
        json!({"Interface": {"MacAddress": "02:42:0a:4d:00:02"}})
    );
    let all = wire::EndpointInterface {
        address: "10.77.0.2/24".into(),
        mac_address: "02:42:0a:4d:00:02".into(),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_value(endpoint_reply(&all, &endpoint())).expect("json"),
        json!({})
    );
}

#[test]
fn port_map_becomes_port_requests() {
    let bindings: Vec<wire::PortBinding> = serde_json::from_value(json!([
        {"Proto": 6, "IP": "", "Port": 80, "HostIP": "0.0.0.0", "HostPort": 8080, "HostPortEnd": 8080},
        {"Proto": 6, "IP": "", "Port": 80, "HostIP": "::", "HostPort": 8080, "HostPortEnd": 8080},
        {"Proto": 17, "Port": 53, "HostPort": 0},
        {"Proto": 6, "Port": 81, "HostPort": 9000, "HostPortEnd": 9010}
    ]))
    .expect("decodes");
    let requests = port_requests(&bindings, false).expect("valid");
    assert_eq!(requests.len(), 3, "the :: copy is dropped without IPv6");
    assert_eq!(requests[0].host_ports, Some(8080..=8080));
    assert_eq!(requests[0].host_ip, Some("0.0.0.0".parse().expect("ip")));
    assert_eq!(
        (requests[1].protocol, requests[1].host_ports.clone()),
        (Proto::Udp, None)
    );
    assert_eq!(requests[2].host_ports, Some(9000..=9010));
    assert_eq!(port_requests(&bindings, true).expect("valid").len(), 4);
    let bad: Vec<wire::PortBinding> =
        serde_json::from_value(json!([{"Proto": 1, "Port": 80}])).expect("decodes");
    assert!(port_requests(&bad, false).is_err());
}

#[test]
fn published_ports_read_back_as_docker_bindings() {
    let ep = endpoint();
    let binding = serde_json::to_value(port_binding(&ep.ports[0])).expect("json");
    assert_eq!(
        binding,
        json!({"Proto": 6, "IP": "10.77.0.2", "Port": 80, "HostIP": "0.0.0.0", "HostPort": 8080, "HostPortEnd": 8080})
    );
}

#[test]
fn ipam_requests_decode() {
    let pool: wire::RequestPoolRequest = serde_json::from_value(json!({
        "AddressSpace": "cnm-local", "Pool": "10.77.0.0/24", "SubPool": "", "Options": {}, "V6": false
    }))
    .expect("decodes");
    assert_eq!(pool.pool, "10.77.0.0/24");
    let addr: wire::AddressRequest = serde_json::from_value(json!({
        "PoolID": "10.77.0.0/24", "Address": "",
        "Options": {"RequestAddressType": "com.docker.network.gateway"}
    }))
    .expect("decodes");
    assert_eq!(
        addr.options[wire::REQUEST_ADDRESS_TYPE],
        wire::GATEWAY_ADDRESS
    );
    let gw =
        super::ipam::gateway_address("10.77.0.0/24".parse().expect("cidr"), None).expect("gateway");
    assert_eq!(gw.to_string(), "10.77.0.1/24");
    assert!(super::ipam::gateway_address(
        "10.77.0.0/24".parse().expect("cidr"),
        Some("10.78.0.1".parse().expect("ip"))
    )
    .is_err());
    assert!(super::ipam::pool_subnet("nope").is_err());
    // Go sends nil maps and slices as null.
    let nulls: wire::AddressRequest =
        serde_json::from_value(json!({"PoolID": "10.77.0.0/24", "Address": "", "Options": null}))
            .expect("decodes");
    assert_eq!(nulls.options, BTreeMap::new());
    let nulls: wire::CreateNetworkRequest = serde_json::from_value(
        json!({"NetworkID": "ab", "Options": null, "IPv4Data": null, "IPv6Data": null}),
    )
    .expect("decodes");
    assert!(nulls.ipv4_data.is_empty());
}
