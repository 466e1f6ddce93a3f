//! `cnm network ls`: lists networks in Docker's table (or ids only with `-q`,
//! or through a `--format` template), sorted by name in natural order.

use anyhow::Result;
use clap::Args;
use pb::v1::{ListNetworksRequest, Network};
use serde_json::{json, Value};

use crate::output::format::{go_time, ListFormat};
use crate::output::{sort::natural_cmp, table};
use crate::{error, filter, output};

/// The fields `--format` templates see, with Docker's column titles.
const FIELDS: &[(&str, &str)] = &[
    ("ID", "NETWORK ID"),
    ("Name", "NAME"),
    ("Driver", "DRIVER"),
    ("Scope", "SCOPE"),
    ("IPv6", "IPV6"),
    ("Internal", "INTERNAL"),
    ("Labels", "LABELS"),
    ("CreatedAt", "CREATED AT"),
];

/// Flags of `network ls`.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// Only display network IDs
    #[arg(short, long)]
    quiet: bool,
    /// Do not truncate the output
    #[arg(long)]
    no_trunc: bool,
    /// Provide filter values (e.g. "driver=bridge")
    #[arg(short, long, value_name = "KEY=VALUE")]
    filter: Vec<String>,
    /// Format output: 'table', 'table TEMPLATE' (with column titles),
    /// 'json', or a Go template, e.g. '{{.ID}}: {{.Name}}'
    #[arg(long, value_name = "FORMAT")]
    format: Option<String>,
}

/// Lists the networks cnmd knows, filtered by cnmd.
pub async fn run(args: LsArgs, host: &str) -> Result<()> {
    let format = ListFormat::parse(args.format.as_deref())?;
    let filters = filter::parse(&args.filter, filter::NETWORK_LIST_KEYS)?;
    let mut networks = super::client(host)
        .await?
        .list_networks(ListNetworksRequest { filters })
        .await
        .map_err(error::from_status)?
        .into_inner()
        .networks;
    networks.sort_by(|a, b| natural_cmp(&a.name, &b.name));
    let text = match format {
        ListFormat::Default => render(&networks, args.quiet, args.no_trunc),
        custom => {
            let rows: Vec<Value> = networks.iter().map(|n| fields(n, args.no_trunc)).collect();
            custom.render(&rows, FIELDS)?
        }
    };
    output::print(&text)
}

/// One network as Docker's `network ls` templates see it: every field a
/// string.
fn fields(n: &Network, no_trunc: bool) -> Value {
    let mut labels: Vec<String> = n.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    labels.sort();
    json!({
        "ID": if no_trunc { n.id.as_str() } else { short_id(&n.id) },
        "Name": n.name,
        "Driver": n.driver,
        "Scope": n.scope,
        "IPv6": n.enable_ipv6.to_string(),
        "Internal": n.internal.to_string(),
        "Labels": labels.join(","),
        "CreatedAt": go_time(&n.created, true),
    })
}

/// The table (or the id list with `quiet`) for `networks`, already sorted.
fn render(networks: &[Network], quiet: bool, no_trunc: bool) -> String {
    let id = |network: &Network| {
        if no_trunc {
            network.id.clone()
        } else {
            short_id(&network.id).to_string()
        }
    };
    if quiet {
        return networks.iter().map(|n| id(n) + "\n").collect();
    }
    let header = ["NETWORK ID", "NAME", "DRIVER", "SCOPE"].map(String::from);
    let rows = networks
        .iter()
        .map(|n| [id(n), n.name.clone(), n.driver.clone(), n.scope.clone()]);
    table::render(&std::iter::once(header).chain(rows).collect::<Vec<_>>())
}

/// Docker's `TruncateID`: drop an algorithm prefix, keep 12 characters.
fn short_id(id: &str) -> &str {
    let id = id.split_once(':').map_or(id, |(_, hex)| hex);
    id.char_indices().nth(12).map_or(id, |(end, _)| &id[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network(name: &str, id: &str, driver: &str) -> Network {
        Network {
            name: name.into(),
            id: id.into(),
            driver: driver.into(),
            scope: "local".into(),
            ..Network::default()
        }
    }

    fn sample() -> Vec<Network> {
        let mut networks = vec![
            network(
                "my-long-network-name",
                "5e7c7e4bfa3bd8a4c1c7b2b54c0a3a6d5b1b6f0c1d2e3f405162738495a6b7c8",
                "macvlan",
            ),
            network(
                "bridge",
                "7fca4eb8c647e57e0f6a3e3d58aa5d04bc3a0b39c2b1a0f4d9e8c7b6a5f4e3d2",
                "bridge",
            ),
            network(
                "none",
                "9f904ee27bf5c1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5e6f708192a3b4",
                "null",
            ),
            network(
                "host",
                "cf03ee007fb4a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a",
                "host",
            ),
        ];
        networks.sort_by(|a, b| natural_cmp(&a.name, &b.name));
        networks
    }

    #[test]
    fn table_matches_docker_layout() {
        assert_eq!(
            render(&sample(), false, false),
            "NETWORK ID     NAME                   DRIVER    SCOPE\n\
             7fca4eb8c647   bridge                 bridge    local\n\
             cf03ee007fb4   host                   host      local\n\
             5e7c7e4bfa3b   my-long-network-name   macvlan   local\n\
             9f904ee27bf5   none                   null      local\n"
        );
    }

    #[test]
    fn short_names_keep_docker_minimum_widths() {
        let networks = &sample()[..2];
        assert_eq!(
            render(networks, false, false),
            "NETWORK ID     NAME      DRIVER    SCOPE\n\
             7fca4eb8c647   bridge    bridge    local\n\
             cf03ee007fb4   host      host      local\n"
        );
    }

    #[test]
    fn no_trunc_prints_full_ids() {
        let networks = &sample()[..1];
        assert_eq!(
            render(networks, false, true),
            "NETWORK ID                                                         NAME      DRIVER    SCOPE\n\
             7fca4eb8c647e57e0f6a3e3d58aa5d04bc3a0b39c2b1a0f4d9e8c7b6a5f4e3d2   bridge    bridge    local\n"
        );
    }

    #[test]
    fn quiet_prints_ids_only() {
        assert_eq!(
            render(&sample()[..2], true, false),
            "7fca4eb8c647\ncf03ee007fb4\n"
        );
        assert_eq!(render(&[], true, false), "");
        assert_eq!(
            render(&[], false, false),
            "NETWORK ID   NAME      DRIVER    SCOPE\n"
        );
    }

    #[test]
    fn templates_see_dockers_fields() {
        let mut n = sample().remove(0);
        n.labels.insert("b".into(), "2".into());
        n.labels.insert("a".into(), "1".into());
        n.created = "2026-11-29T06:40:01.500000000Z".into();
        n.internal = true;
        let row = fields(&n, false);
        assert_eq!(row["ID"], "7fca4eb8c647");
        assert_eq!(row["Labels"], "a=1,b=2");
        assert_eq!(row["Internal"], "true");
        assert_eq!(row["IPv6"], "false");
        assert_eq!(row["CreatedAt"], "2026-11-29 06:40:01.5 +0000 UTC");
        assert_eq!(fields(&n, true)["ID"], n.id.as_str());
        let keys: Vec<&str> = FIELDS.iter().map(|(k, _)| *k).collect();
        let mut row_keys: Vec<&str> = row
            .as_object()
            .expect("object")
            .keys()
            .map(|k| k.as_str())
            .collect();
        row_keys.sort();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(row_keys, sorted, "every field has a title");
    }

    #[test]
    fn custom_format_replaces_the_table() {
        let format = ListFormat::parse(Some(r"table {{.Name}}\t{{.Driver}}")).expect("parses");
        let rows: Vec<Value> = sample().iter().map(|n| fields(n, false)).collect();
        assert_eq!(
            format.render(&rows, FIELDS).expect("renders"),
            "NAME                   DRIVER\n\
             bridge                 bridge\n\
             host                   host\n\
             my-long-network-name   macvlan\n\
             none                   null\n"
        );
    }

    #[test]
    fn short_id_drops_the_algorithm() {
        assert_eq!(short_id("sha256:0123456789abcdef"), "0123456789ab");
        assert_eq!(short_id("abc"), "abc");
    }
}
