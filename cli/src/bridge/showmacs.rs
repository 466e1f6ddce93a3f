//! `cnm bridge showmacs BRIDGE`: the bridge's forwarding database, laid out
//! as `brctl showmacs` prints it.

use std::fmt::Write as _;

use anyhow::Result;
use clap::Args;
use pb::v1::{BridgeMac, ListBridgeMacsRequest};

use super::timer;
use crate::{error, output};

/// Arguments of `bridge showmacs`.
#[derive(Debug, Args)]
pub struct ShowmacsArgs {
    /// The bridge
    #[arg(value_name = "BRIDGE")]
    bridge: String,
}

/// Prints the MAC addresses behind the bridge's ports, sorted by address.
pub async fn run(args: ShowmacsArgs, host: &str) -> Result<()> {
    let macs = super::client(host)
        .await?
        .list_bridge_macs(ListBridgeMacsRequest {
            bridge: args.bridge,
        })
        .await
        .map_err(error::from_status)?
        .into_inner()
        .macs;
    output::print(&render(&macs))
}

fn render(macs: &[BridgeMac]) -> String {
    let mut out = String::from("port no\tmac addr\t\tis local?\tageing timer\n");
    for m in macs {
        let local = if m.is_local { "yes" } else { "no" };
        let age = timer(m.ageing_timer.into());
        let _ = writeln!(out, "{:3}\t{}\t{local}\t\t{age}", m.port_no, m.mac);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mac(port_no: u32, mac: &str, is_local: bool, ageing_timer: u32) -> BridgeMac {
        BridgeMac {
            port_no,
            mac: mac.into(),
            is_local,
            ageing_timer,
            ..BridgeMac::default()
        }
    }

    /// `brctl showmacs` (bridge-utils 1.7.1) on the same entries.
    #[test]
    fn matches_brctl_byte_for_byte() {
        let macs = [
            mac(2, "6e:55:0f:e8:e6:cc", true, 0),
            mac(1, "de:90:d7:0f:28:96", false, 1234),
            mac(1, "ee:22:ba:48:a4:a3", true, 0),
        ];
        assert_eq!(
            render(&macs),
            "port no\tmac addr\t\tis local?\tageing timer\n  \
             2\t6e:55:0f:e8:e6:cc\tyes\t\t   0.00\n  \
             1\tde:90:d7:0f:28:96\tno\t\t  12.34\n  \
             1\tee:22:ba:48:a4:a3\tyes\t\t   0.00\n"
        );
    }
}
