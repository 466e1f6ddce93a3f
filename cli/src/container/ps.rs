//! `cnm ps`: containers in `docker ps` layout (CONTAINER ID, IMAGE — the
//! rootfs here —, COMMAND, CREATED, STATUS, PORTS, NAMES), or through a
//! `--format` template.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Result;
use clap::Args;
use pb::v1::network_service_client::NetworkServiceClient;
use pb::v1::{Container, ListContainersRequest, ListNetworksRequest};
use serde_json::{json, Value};

use crate::error;
use crate::output::format::{go_time, ListFormat};
use crate::output::{self, table};
use crate::port::host_address;

/// The fields `--format` templates see, with Docker's column titles.
const FIELDS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("CreatedAt", "CREATED AT"),
    ("RunningFor", "CREATED"),
    ("Ports", "PORTS"),
    ("State", "STATE"),
    ("Status", "STATUS"),
    ("Names", "NAMES"),
    ("Labels", "LABELS"),
    ("Networks", "NETWORKS"),
];

/// Flags of `ps`.
#[derive(Debug, Args)]
pub struct PsArgs {
    /// Show all containers (default shows just running)
    #[arg(short, long)]
    all: bool,
    /// Only display container ids
    #[arg(short, long)]
    quiet: bool,
    /// Do not truncate output
    #[arg(long)]
    no_trunc: bool,
    /// Format output: 'table', 'table TEMPLATE' (with column titles),
    /// 'json', or a Go template, e.g. '{{.Names}}: {{.Status}}'
    #[arg(long, value_name = "FORMAT")]
    format: Option<String>,
}

pub async fn run(args: PsArgs, host: &str) -> Result<()> {
    let mut format = ListFormat::parse(args.format.as_deref())?;
    if args.quiet && !matches!(format, ListFormat::Default) {
        output::warn("Ignoring custom format, because both --format and --quiet are set.");
        format = ListFormat::Default;
    }
    let request = ListContainersRequest { all: args.all };
    let containers = super::client(host)
        .await?
        .list_containers(request)
        .await
        .map_err(error::from_status)?
        .into_inner()
        .containers;
    let id = |c: &Container| {
        if args.no_trunc {
            c.id.clone()
        } else {
            c.id.chars().take(12).collect()
        }
    };
    if args.quiet {
        let ids: String = containers.iter().map(|c| format!("{}\n", id(c))).collect();
        return output::print(&ids);
    }
    let now = now_nanos();
    if !matches!(format, ListFormat::Default) {
        let names = network_names(host).await?;
        let rows: Vec<Value> = containers
            .iter()
            .map(|c| fields(c, args.no_trunc, now, &names))
            .collect();
        return output::print(&format.render(&rows, FIELDS)?);
    }
    let mut rows = vec![[
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "CREATED",
        "STATUS",
        "PORTS",
        "NAMES",
    ]
    .map(String::from)
    .to_vec()];
    for c in &containers {
        rows.push(vec![
            id(c),
            c.rootfs.clone(),
            command(&c.args, args.no_trunc),
            format!("{} ago", human_duration(now - c.created_unix_nano)),
            status(c, now),
            ports(c),
            c.name.clone(),
        ]);
    }
    output::print(&table::render(&rows))
}

/// Network names by id: containers record the ids of their networks.
async fn network_names(host: &str) -> Result<HashMap<String, String>> {
    let networks = NetworkServiceClient::new(crate::client::connect(host).await?)
        .list_networks(ListNetworksRequest::default())
        .await
        .map_err(error::from_status)?
        .into_inner()
        .networks;
    Ok(networks.into_iter().map(|n| (n.id, n.name)).collect())
}

/// One container as Docker's `ps` templates see it: every field a string.
/// `names` maps network ids to names.
fn fields(c: &Container, no_trunc: bool, now: i64, names: &HashMap<String, String>) -> Value {
    let mut networks: Vec<String> = if c.networks.is_empty() {
        vec![c.network_mode.clone()]
    } else {
        c.networks
            .iter()
            .map(|id| {
                names
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| id.chars().take(12).collect())
            })
            .collect()
    };
    networks.sort();
    json!({
        "ID": if no_trunc { c.id.clone() } else { c.id.chars().take(12).collect() },
        "Image": c.rootfs,
        "Command": command(&c.args, no_trunc),
        "CreatedAt": go_time(&c.created, false),
        "RunningFor": format!("{} ago", human_duration(now - c.created_unix_nano)),
        "Ports": ports(c),
        "State": c.status,
        "Status": status(c, now),
        "Names": c.name,
        "Labels": "",
        "Networks": networks.join(","),
    })
}

fn now_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or_default()
}

/// `"sh -c 'exit 3'"`, cut to 20 characters as Docker does.
fn command(args: &[String], no_trunc: bool) -> String {
    let text = args.join(" ");
    if no_trunc || text.chars().count() <= 20 {
        return format!("\"{text}\"");
    }
    let cut: String = text.chars().take(19).collect();
    format!("\"{cut}…\"")
}

/// "Up 3 seconds", "Exited (137) 2 seconds ago", "Created".
pub fn status(c: &Container, now: i64) -> String {
    match c.status.as_str() {
        "running" => format!("Up {}", human_duration(now - c.started_unix_nano)),
        "exited" => format!(
            "Exited ({}) {} ago",
            c.exit_code,
            human_duration(now - c.finished_unix_nano)
        ),
        _ => "Created".to_string(),
    }
}

/// "0.0.0.0:8080->80/tcp, [::]:8080->80/tcp".
fn ports(c: &Container) -> String {
    let mut out: Vec<String> = c
        .endpoints
        .iter()
        .flat_map(|e| e.ports.iter())
        .map(|p| format!("{}->{}/{}", host_address(p), p.container_port, p.protocol))
        .collect();
    out.dedup();
    out.join(", ")
}

/// Docker's `units.HumanDuration`.
pub fn human_duration(nanos: i64) -> String {
    let seconds = nanos.max(0) / 1_000_000_000;
    let minutes = seconds / 60;
    let hours = (nanos.max(0) as f64 / 3.6e12).round() as i64;
    match () {
        _ if seconds < 1 => "Less than a second".into(),
        _ if seconds == 1 => "1 second".into(),
        _ if seconds < 60 => format!("{seconds} seconds"),
        _ if minutes == 1 => "About a minute".into(),
        _ if minutes < 60 => format!("{minutes} minutes"),
        _ if hours == 1 => "About an hour".into(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        _ => format!("{} years", hours / 24 / 365),
    }
}

#[cfg(test)]
mod tests {
    use pb::v1::{Endpoint, PortBinding};

    use super::*;

    const S: i64 = 1_000_000_000;

    #[test]
    fn durations_read_like_docker() {
        assert_eq!(human_duration(S / 2), "Less than a second");
        assert_eq!(human_duration(S), "1 second");
        assert_eq!(human_duration(3 * S), "3 seconds");
        assert_eq!(human_duration(61 * S), "About a minute");
        assert_eq!(human_duration(5 * 60 * S), "5 minutes");
        assert_eq!(human_duration(3600 * S), "About an hour");
        assert_eq!(human_duration(3 * 24 * 3600 * S), "3 days");
    }

    #[test]
    fn templates_see_dockers_fields() {
        let c = Container {
            id: "0123456789abcdef".into(),
            name: "web".into(),
            rootfs: "/r".into(),
            args: vec!["sleep".into(), "9".into()],
            created: "2026-11-29T06:40:01.500000000Z".into(),
            created_unix_nano: 0,
            started_unix_nano: S,
            status: "running".into(),
            networks: vec!["id-b".into(), "id-a".into(), "0123456789abcdef".into()],
            ..Default::default()
        };
        let names = HashMap::from([
            ("id-a".to_string(), "a".to_string()),
            ("id-b".to_string(), "b".to_string()),
        ]);
        let row = fields(&c, false, 4 * S, &names);
        assert_eq!(
            row,
            json!({
                "ID": "0123456789ab",
                "Image": "/r",
                "Command": "\"sleep 9\"",
                "CreatedAt": "2026-11-29 06:40:01 +0000 UTC",
                "RunningFor": "4 seconds ago",
                "Ports": "",
                "State": "running",
                "Status": "Up 3 seconds",
                "Names": "web",
                "Labels": "",
                "Networks": "0123456789ab,a,b",
            })
        );
        assert_eq!(fields(&c, true, 0, &names)["ID"], "0123456789abcdef");
        let host = Container {
            network_mode: "host".into(),
            ..Default::default()
        };
        assert_eq!(fields(&host, false, 0, &names)["Networks"], "host");
        assert_eq!(FIELDS.len(), row.as_object().map_or(0, |o| o.len()));
        let format = ListFormat::parse(Some(r"table {{.Names}}\t{{.State}}")).expect("parses");
        assert_eq!(
            format.render(&[row], FIELDS).expect("renders"),
            "NAMES     STATE\nweb       running\n"
        );
    }

    #[test]
    fn status_and_command_columns() {
        let c = Container {
            status: "exited".into(),
            exit_code: 137,
            finished_unix_nano: 0,
            ..Default::default()
        };
        assert_eq!(status(&c, 2 * S), "Exited (137) 2 seconds ago");
        let args = ["sleep".to_string(), "1000000000000000000".to_string()];
        assert_eq!(command(&args, false), "\"sleep 1000000000000…\"");
        assert_eq!(command(&args[..1], false), "\"sleep\"");
    }

    #[test]
    fn ports_column_brackets_ipv6_hosts() {
        let binding = |host_ip: &str| PortBinding {
            container_port: 80,
            protocol: "tcp".into(),
            host_ip: host_ip.into(),
            host_port: 8080,
        };
        let c = Container {
            endpoints: vec![Endpoint {
                ports: vec![binding("0.0.0.0"), binding("::")],
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(ports(&c), "0.0.0.0:8080->80/tcp, [::]:8080->80/tcp");
    }
}
