//! `cnm bridge show [BRIDGE…]`: brctl's bridge list, byte for byte; `-v`
//! adds the cnm network that owns each bridge.

use anyhow::Result;
use clap::Args;
use pb::v1::{Bridge, ListBridgesRequest};

use crate::error::{self, Failures};
use crate::output;

const HEADER: &str = "bridge name\tbridge id\t\tSTP enabled\tinterfaces\n";
const HEADER_VERBOSE: &str = "bridge name\tbridge id\t\tSTP enabled\tcnm network\tinterfaces\n";
/// Column (in tab stops of 8) where the network column starts with `-v`;
/// interfaces follow two stops later.
const NETWORK_COLUMN: usize = 7;

/// Flags of `bridge show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Also show the cnm network of each bridge ("-" for other bridges)
    #[arg(short, long)]
    verbose: bool,
    /// Bridges to show (default: all)
    #[arg(value_name = "BRIDGE")]
    bridges: Vec<String>,
}

/// Prints every bridge, or the named ones in the order given. As brctl does,
/// a missing name is reported and the others are still shown.
pub async fn run(args: ShowArgs, host: &str) -> Result<()> {
    let mut client = super::client(host).await?;
    if args.bridges.is_empty() {
        let bridges = client
            .list_bridges(ListBridgesRequest { names: Vec::new() })
            .await
            .map_err(error::from_status)?
            .into_inner()
            .bridges;
        return output::print(&render(&bridges, args.verbose));
    }
    let mut header_printed = false;
    let mut failures = Failures::default();
    for name in args.bridges {
        let request = ListBridgesRequest { names: vec![name] };
        match client.list_bridges(request).await {
            Ok(reply) => {
                let mut text = render(&reply.into_inner().bridges, args.verbose);
                if header_printed {
                    text = text
                        .split_once('\n')
                        .map_or(text.clone(), |(_, rows)| rows.to_string());
                }
                header_printed = true;
                output::print(&text)?;
            }
            Err(status) => failures.print(&status),
        }
    }
    failures.into_result()
}

/// The header and one row per bridge; nothing at all without bridges (as
/// brctl, which prints its header with the first bridge).
fn render(bridges: &[Bridge], verbose: bool) -> String {
    if bridges.is_empty() {
        return String::new();
    }
    let mut out = String::from(if verbose { HEADER_VERBOSE } else { HEADER });
    for bridge in bridges {
        out.push_str(&row(bridge, verbose));
    }
    out
}

/// `NAME\t\tID\tSTP\t\tIF1\n\t\t\t\t\t\t\tIF2\n…`, as brctl's `show_bridge`.
fn row(bridge: &Bridge, verbose: bool) -> String {
    let stp = if bridge.stp_state != 0 { "yes" } else { "no" };
    let mut out = format!("{}\t\t{}\t{stp}\t\t", bridge.name, bridge.bridge_id);
    let mut indent = NETWORK_COLUMN;
    if verbose {
        let network = match bridge.network_name.as_str() {
            "" => "-",
            name => name,
        };
        out.push_str(network);
        out.push_str(&tabs_after(network, 2));
        indent += 2;
    }
    let continuation = format!("\n{}", "\t".repeat(indent));
    let ports: Vec<&str> = bridge.ports.iter().map(|p| p.name.as_str()).collect();
    out.push_str(&ports.join(&continuation));
    out.push('\n');
    out
}

/// Tabs that take a cell of `text` to the next `stops` tab stops (at least
/// one tab, so a long cell still ends in a separator).
fn tabs_after(text: &str, stops: usize) -> String {
    let used = text.chars().count() / 8;
    "\t".repeat(stops.saturating_sub(used).max(1))
}

#[cfg(test)]
mod tests {
    use pb::v1::BridgePort;

    use super::*;

    fn bridge(name: &str, id: &str, ports: &[&str]) -> Bridge {
        Bridge {
            name: name.into(),
            bridge_id: id.into(),
            ports: ports
                .iter()
                .map(|p| BridgePort {
                    name: (*p).into(),
                    ..BridgePort::default()
                })
                .collect(),
            ..Bridge::default()
        }
    }

    /// `brctl show` (bridge-utils 1.7.1) on the same two bridges.
    #[test]
    fn matches_brctl_byte_for_byte() {
        let bridges = [
            bridge("br0", "8000.000000000000", &[]),
            bridge("br1", "8000.6e550fe8e6cc", &["Zeth", "vethA"]),
        ];
        assert_eq!(
            render(&bridges, false),
            "bridge name\tbridge id\t\tSTP enabled\tinterfaces\n\
             br0\t\t8000.000000000000\tno\t\t\n\
             br1\t\t8000.6e550fe8e6cc\tno\t\tZeth\n\
             \t\t\t\t\t\t\tvethA\n"
        );
        assert_eq!(render(&[], false), "");
    }

    #[test]
    fn verbose_adds_the_network_column_aligned() {
        let mut web = bridge("cnm0123456789ab", "8000.020123456789", &["cnmv1", "cnmv2"]);
        web.stp_state = 1;
        web.network_name = "web".into();
        let mut long = bridge("br-x", "8000.020000000001", &["a"]);
        long.network_name = "frontend".into();
        let foreign = bridge("br0", "8000.000000000000", &[]);
        assert_eq!(
            render(&[web, long, foreign], true),
            "bridge name\tbridge id\t\tSTP enabled\tcnm network\tinterfaces\n\
             cnm0123456789ab\t\t8000.020123456789\tyes\t\tweb\t\tcnmv1\n\
             \t\t\t\t\t\t\t\t\tcnmv2\n\
             br-x\t\t8000.020000000001\tno\t\tfrontend\ta\n\
             br0\t\t8000.000000000000\tno\t\t-\t\t\n"
        );
    }
}
