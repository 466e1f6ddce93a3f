//! `cnm ps`: containers in `docker ps` layout (CONTAINER ID, IMAGE — the
//! rootfs here —, COMMAND, CREATED, STATUS, PORTS, NAMES).

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Result;
use clap::Args;
use pb::v1::{Container, ListContainersRequest};

use crate::error;
use crate::output::{self, table};

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
}

pub async fn run(args: PsArgs, host: &str) -> Result<()> {
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
        .map(|p| {
            let host = if p.host_ip.contains(':') {
                format!("[{}]", p.host_ip)
            } else {
                p.host_ip.clone()
            };
            format!(
                "{host}:{}->{}/{}",
                p.host_port, p.container_port, p.protocol
            )
        })
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
}
