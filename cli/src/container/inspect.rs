//! `cnm inspect`: Docker-shaped JSON of containers.

use anyhow::Result;
use clap::Args;
use pb::v1::{Container, ContainerRef};
use serde_json::{json, Map, Value};

use crate::error::{self, Reported};
use crate::output::{self, json::to_docker_json};

/// Docker's zero time, for instants that never happened.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Flags of `inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Container names or ids
    #[arg(value_name = "CONTAINER", required = true)]
    containers: Vec<String>,
}

pub async fn run(args: InspectArgs, host: &str) -> Result<()> {
    let mut client = super::client(host).await?;
    let mut found = Vec::new();
    let mut failed = false;
    for name in args.containers {
        match client
            .inspect_container(ContainerRef { container: name })
            .await
        {
            Ok(reply) => found.push(docker_json(&reply.into_inner())),
            Err(status) => {
                error::print(&error::status_message(&status));
                failed = true;
            }
        }
    }
    output::print(&to_docker_json(&found)?)?;
    if failed {
        Err(Reported.into())
    } else {
        Ok(())
    }
}

fn or_zero(time: &str) -> &str {
    if time.is_empty() {
        ZERO_TIME
    } else {
        time
    }
}

/// One container as `docker inspect` prints it.
pub fn docker_json(c: &Container) -> Value {
    let running = c.status == "running";
    let ports = port_map(c);
    json!({
        "Id": c.id,
        "Created": c.created,
        "Path": c.args.first().cloned().unwrap_or_default(),
        "Args": c.args.iter().skip(1).collect::<Vec<_>>(),
        "State": {
            "Status": c.status,
            "Running": running,
            "Paused": false,
            "Restarting": false,
            "OOMKilled": c.oom_killed,
            "Dead": false,
            "Pid": c.pid,
            "ExitCode": c.exit_code,
            "Error": "",
            "StartedAt": or_zero(&c.started_at),
            "FinishedAt": or_zero(&c.finished_at),
        },
        "Image": c.rootfs,
        "Name": format!("/{}", c.name),
        "HostConfig": {
            "Binds": c.binds,
            "NetworkMode": c.network_mode,
            "PortBindings": ports,
            "AutoRemove": c.auto_remove,
            "CapAdd": c.cap_add,
            "CapDrop": c.cap_drop,
            "Memory": c.memory,
            "NanoCpus": c.nano_cpus,
            "PidsLimit": if c.pids_limit > 0 { json!(c.pids_limit) } else { Value::Null },
        },
        "Config": {
            "Hostname": if c.hostname.is_empty() { c.id.chars().take(12).collect() } else { c.hostname.clone() },
            "Env": c.env,
            "Cmd": c.args,
            "Image": c.rootfs,
            "WorkingDir": c.workdir,
        },
        "NetworkSettings": network_settings(c, ports.clone()),
    })
}

fn network_settings(c: &Container, ports: Value) -> Value {
    let mut networks = Map::new();
    for ep in &c.endpoints {
        let (ip, prefix) = split_cidr(&ep.ipv4_address);
        let (ip6, prefix6) = split_cidr(&ep.ipv6_address);
        networks.insert(
            ep.network_name.clone(),
            json!({
                "Aliases": ep.aliases,
                "NetworkID": ep.network_id,
                "EndpointID": ep.id,
                "Gateway": ep.gateway,
                "IPAddress": ip,
                "IPPrefixLen": prefix,
                "IPv6Gateway": ep.ipv6_gateway,
                "GlobalIPv6Address": ip6,
                "GlobalIPv6PrefixLen": prefix6,
                "MacAddress": ep.mac_address,
            }),
        );
    }
    let first = c.endpoints.first();
    json!({
        "Ports": ports,
        "SandboxKey": "",
        "IPAddress": first.map(|e| split_cidr(&e.ipv4_address).0).unwrap_or_default(),
        "Gateway": first.map(|e| e.gateway.clone()).unwrap_or_default(),
        "MacAddress": first.map(|e| e.mac_address.clone()).unwrap_or_default(),
        "Networks": networks,
    })
}

/// `{"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}`.
fn port_map(c: &Container) -> Value {
    let mut map = Map::new();
    for p in c.endpoints.iter().flat_map(|e| e.ports.iter()) {
        let key = format!("{}/{}", p.container_port, p.protocol);
        let entry = map.entry(key).or_insert_with(|| json!([]));
        if let Value::Array(list) = entry {
            list.push(json!({"HostIp": p.host_ip, "HostPort": p.host_port.to_string()}));
        }
    }
    Value::Object(map)
}

/// "172.18.0.2/16" → ("172.18.0.2", 16); "" → ("", 0).
fn split_cidr(cidr: &str) -> (String, u32) {
    match cidr.split_once('/') {
        Some((ip, len)) => (ip.to_string(), len.parse().unwrap_or(0)),
        None => (cidr.to_string(), 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_shape() {
        let c = Container {
            id: "abc".into(),
            name: "web".into(),
            args: vec!["sh".into(), "-c".into(), "true".into()],
            status: "exited".into(),
            exit_code: 3,
            ..Default::default()
        };
        let v = docker_json(&c);
        assert_eq!(v["Name"], "/web");
        assert_eq!(v["Path"], "sh");
        assert_eq!(v["Args"], json!(["-c", "true"]));
        assert_eq!(v["State"]["ExitCode"], 3);
        assert_eq!(v["State"]["StartedAt"], ZERO_TIME);
        assert_eq!(split_cidr("10.0.0.2/24"), ("10.0.0.2".into(), 24));
    }
}
