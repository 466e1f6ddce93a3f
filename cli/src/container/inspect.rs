//! `cnm inspect`: Docker-shaped JSON of containers, or each through a
//! `--format` template.

use std::collections::BTreeMap;

use anyhow::Result;
use clap::Args;
use pb::v1::{Container, ContainerRef, Endpoint};
use serde::Serialize;

use crate::error::Failures;
use crate::output::{self, format, json::to_docker_json};

/// Docker's zero time, for instants that never happened.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Flags of `inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Container names or ids
    #[arg(value_name = "CONTAINER", required = true)]
    containers: Vec<String>,
    /// Format output: 'json', or a Go template run over each container's
    /// JSON, e.g. '{{.State.Status}} {{.NetworkSettings.IPAddress}}'
    #[arg(short, long, value_name = "FORMAT")]
    format: Option<String>,
}

pub async fn run(args: InspectArgs, host: &str) -> Result<()> {
    let template = format::inspect_template(args.format.as_deref())?;
    let mut client = super::client(host).await?;
    let mut found = Vec::new();
    let mut failures = Failures::default();
    for name in args.containers {
        match client
            .inspect_container(ContainerRef { container: name })
            .await
        {
            Ok(reply) => found.push(reply.into_inner()),
            Err(status) => failures.print(&status),
        }
    }
    let ports: Vec<PortMap<'_>> = found.iter().map(port_map).collect();
    let docker: Vec<DockerContainer<'_>> = found
        .iter()
        .zip(&ports)
        .map(|(c, p)| docker_json(c, p))
        .collect();
    let text = match &template {
        Some(template) => format::render_each(template, &docker)?,
        None => to_docker_json(&docker)?,
    };
    output::print(&text)?;
    failures.into_result()
}

fn or_zero(time: &str) -> &str {
    if time.is_empty() {
        ZERO_TIME
    } else {
        time
    }
}

/// One container as `docker inspect` prints it; field order is Docker's
/// key order (maps of ports and networks are sorted, as Go prints maps).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct DockerContainer<'a> {
    #[serde(rename = "Id")]
    id: &'a str,
    created: &'a str,
    path: &'a str,
    args: &'a [String],
    state: DockerState<'a>,
    image: &'a str,
    name: String,
    host_config: DockerHostConfig<'a>,
    config: DockerConfig<'a>,
    network_settings: DockerNetworkSettings<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct DockerState<'a> {
    status: &'a str,
    running: bool,
    paused: bool,
    restarting: bool,
    #[serde(rename = "OOMKilled")]
    oom_killed: bool,
    dead: bool,
    pid: i32,
    exit_code: i32,
    error: &'a str,
    started_at: &'a str,
    finished_at: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct DockerHostConfig<'a> {
    binds: &'a [String],
    network_mode: &'a str,
    port_bindings: &'a PortMap<'a>,
    auto_remove: bool,
    cap_add: &'a [String],
    cap_drop: &'a [String],
    memory: i64,
    nano_cpus: i64,
    pids_limit: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct DockerConfig<'a> {
    hostname: String,
    tty: bool,
    open_stdin: bool,
    env: &'a [String],
    cmd: &'a [String],
    image: &'a str,
    working_dir: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct DockerNetworkSettings<'a> {
    sandbox_key: &'a str,
    ports: &'a PortMap<'a>,
    gateway: &'a str,
    #[serde(rename = "IPAddress")]
    ip_address: &'a str,
    mac_address: &'a str,
    networks: BTreeMap<&'a str, DockerEndpoint<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct DockerEndpoint<'a> {
    aliases: &'a [String],
    mac_address: &'a str,
    #[serde(rename = "NetworkID")]
    network_id: &'a str,
    #[serde(rename = "EndpointID")]
    endpoint_id: &'a str,
    gateway: &'a str,
    #[serde(rename = "IPAddress")]
    ip_address: &'a str,
    #[serde(rename = "IPPrefixLen")]
    ip_prefix_len: u32,
    #[serde(rename = "IPv6Gateway")]
    ipv6_gateway: &'a str,
    #[serde(rename = "GlobalIPv6Address")]
    global_ipv6_address: &'a str,
    #[serde(rename = "GlobalIPv6PrefixLen")]
    global_ipv6_prefix_len: u32,
}

/// `{"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}`.
type PortMap<'a> = BTreeMap<String, Vec<DockerPortBinding<'a>>>;

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct DockerPortBinding<'a> {
    host_ip: &'a str,
    host_port: String,
}

/// One container as `docker inspect` prints it.
fn docker_json<'a>(c: &'a Container, ports: &'a PortMap<'a>) -> DockerContainer<'a> {
    let first = c.endpoints.first();
    DockerContainer {
        id: &c.id,
        created: &c.created,
        path: c.args.first().map_or("", String::as_str),
        args: c.args.get(1..).unwrap_or_default(),
        state: DockerState {
            status: &c.status,
            running: c.status == "running",
            paused: false,
            restarting: false,
            oom_killed: c.oom_killed,
            dead: false,
            pid: c.pid,
            exit_code: c.exit_code,
            error: "",
            started_at: or_zero(&c.started_at),
            finished_at: or_zero(&c.finished_at),
        },
        image: &c.rootfs,
        name: format!("/{}", c.name),
        host_config: DockerHostConfig {
            binds: &c.binds,
            network_mode: &c.network_mode,
            port_bindings: ports,
            auto_remove: c.auto_remove,
            cap_add: &c.cap_add,
            cap_drop: &c.cap_drop,
            memory: c.memory,
            nano_cpus: c.nano_cpus,
            pids_limit: (c.pids_limit > 0).then_some(c.pids_limit),
        },
        config: DockerConfig {
            hostname: if c.hostname.is_empty() {
                c.id.chars().take(12).collect()
            } else {
                c.hostname.clone()
            },
            tty: c.tty,
            open_stdin: c.interactive,
            env: &c.env,
            cmd: &c.args,
            image: &c.rootfs,
            working_dir: &c.workdir,
        },
        network_settings: DockerNetworkSettings {
            sandbox_key: "",
            ports,
            gateway: first.map_or("", |e| e.gateway.as_str()),
            ip_address: first.map_or("", |e| split_cidr(&e.ipv4_address).0),
            mac_address: first.map_or("", |e| e.mac_address.as_str()),
            networks: c
                .endpoints
                .iter()
                .map(|ep| (ep.network_name.as_str(), endpoint(ep)))
                .collect(),
        },
    }
}

fn endpoint(ep: &Endpoint) -> DockerEndpoint<'_> {
    let (ip, prefix) = split_cidr(&ep.ipv4_address);
    let (ip6, prefix6) = split_cidr(&ep.ipv6_address);
    DockerEndpoint {
        aliases: &ep.aliases,
        mac_address: &ep.mac_address,
        network_id: &ep.network_id,
        endpoint_id: &ep.id,
        gateway: &ep.gateway,
        ip_address: ip,
        ip_prefix_len: prefix,
        ipv6_gateway: &ep.ipv6_gateway,
        global_ipv6_address: ip6,
        global_ipv6_prefix_len: prefix6,
    }
}

/// The published ports of all endpoints, by `PORT/PROTO`.
fn port_map(c: &Container) -> PortMap<'_> {
    let mut map = PortMap::new();
    for p in c.endpoints.iter().flat_map(|e| e.ports.iter()) {
        map.entry(format!("{}/{}", p.container_port, p.protocol))
            .or_default()
            .push(DockerPortBinding {
                host_ip: &p.host_ip,
                host_port: p.host_port.to_string(),
            });
    }
    map
}

/// "172.18.0.2/16" → ("172.18.0.2", 16); "" → ("", 0).
fn split_cidr(cidr: &str) -> (&str, u32) {
    match cidr.split_once('/') {
        Some((ip, len)) => (ip, len.parse().unwrap_or(0)),
        None => (cidr, 0),
    }
}

#[cfg(test)]
mod tests {
    use pb::v1::PortBinding;
    use serde_json::{json, Value};

    use super::*;

    fn to_value(c: &Container) -> Value {
        let ports = port_map(c);
        serde_json::to_value(docker_json(c, &ports)).expect("json")
    }

    /// `web`, which ran `sh -c true` and exited with 3.
    fn exited_web() -> Container {
        Container {
            id: "abc".into(),
            name: "web".into(),
            args: vec!["sh".into(), "-c".into(), "true".into()],
            status: "exited".into(),
            exit_code: 3,
            ..Default::default()
        }
    }

    #[test]
    fn docker_shape() {
        let c = Container {
            tty: true,
            ..exited_web()
        };
        let v = to_value(&c);
        assert_eq!(v["Name"], "/web");
        assert_eq!(v["Path"], "sh");
        assert_eq!(v["Args"], json!(["-c", "true"]));
        assert_eq!(v["State"]["ExitCode"], 3);
        assert_eq!(v["State"]["StartedAt"], ZERO_TIME);
        assert_eq!(v["Config"]["Tty"], true);
        assert_eq!(v["Config"]["OpenStdin"], false);
        assert_eq!(v["HostConfig"]["PidsLimit"], Value::Null);
        assert_eq!(split_cidr("10.0.0.2/24"), ("10.0.0.2", 24));
    }

    #[test]
    fn format_runs_over_the_docker_json() {
        let c = Container {
            endpoints: vec![Endpoint {
                network_name: "front".into(),
                ipv4_address: "10.0.0.2/24".into(),
                ..Default::default()
            }],
            ..exited_web()
        };
        let ports = port_map(&c);
        let template = format::inspect_template(Some(
            "{{.Name}} {{.State.ExitCode}} {{.State.Running}} \
             {{range $n, $e := .NetworkSettings.Networks}}{{$n}}={{$e.IPAddress}}/{{$e.IPPrefixLen}}{{end}} \
             {{json .Args}} {{.HostConfig.PidsLimit}}",
        ))
        .expect("parses")
        .expect("a template");
        assert_eq!(
            format::render_each(&template, &[docker_json(&c, &ports)]).expect("renders"),
            "/web 3 false front=10.0.0.2/24 [\"-c\",\"true\"] <no value>\n"
        );
    }

    /// Asserts that the first appearances of `keys` in `text` come in that
    /// order (a key of a nested object counts where it appears).
    fn assert_keys_in_order(text: &str, keys: &[&str]) {
        let positions: Vec<usize> = keys
            .iter()
            .map(|k| {
                text.find(&format!("\"{k}\":"))
                    .unwrap_or_else(|| panic!("{k} missing in {text}"))
            })
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
    }

    #[test]
    fn keys_come_in_dockers_order() {
        let c = Container {
            id: "abc".into(),
            status: "running".into(),
            endpoints: vec![Endpoint {
                network_name: "bridge".into(),
                ipv4_address: "172.17.0.2/16".into(),
                ports: vec![PortBinding {
                    container_port: 80,
                    protocol: "tcp".into(),
                    host_ip: "0.0.0.0".into(),
                    host_port: 8080,
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let ports = port_map(&c);
        let text = to_docker_json(&docker_json(&c, &ports)).expect("json");
        let top = [
            "Id",
            "Created",
            "Path",
            "Args",
            "State",
            "Image",
            "Name",
            "HostConfig",
            "Config",
            "NetworkSettings",
        ];
        assert_keys_in_order(&text, &top);
        let state = [
            "Status",
            "Running",
            "Paused",
            "Restarting",
            "OOMKilled",
            "Dead",
            "Pid",
            "ExitCode",
            "Error",
            "StartedAt",
            "FinishedAt",
        ];
        assert_keys_in_order(&text, &state);
        let v: Value = serde_json::from_str(&text).expect("parse");
        assert_eq!(
            v["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"],
            "8080"
        );
        assert_eq!(v["NetworkSettings"]["IPAddress"], "172.17.0.2");
        assert_eq!(
            v["NetworkSettings"]["Networks"]["bridge"]["IPPrefixLen"],
            16
        );
    }
}
