//! `cnm bridge showstp BRIDGE`: the STP state of a bridge and of each of its
//! ports, laid out as `brctl showstp` prints it.

use std::fmt::Write as _;

use anyhow::{anyhow, Result};
use clap::Args;
use pb::v1::{Bridge, BridgePort, ListBridgesRequest};

use super::timer;
use crate::{error, output};

/// Arguments of `bridge showstp`.
#[derive(Debug, Args)]
pub struct ShowstpArgs {
    /// The bridge
    #[arg(value_name = "BRIDGE")]
    bridge: String,
}

/// Prints the bridge's STP parameters and timers, then each port's.
pub async fn run(args: ShowstpArgs, host: &str) -> Result<()> {
    let bridges = super::client(host)
        .await?
        .list_bridges(ListBridgesRequest {
            names: vec![args.bridge.clone()],
        })
        .await
        .map_err(error::from_status)?
        .into_inner()
        .bridges;
    let bridge = bridges
        .first()
        .ok_or_else(|| anyhow!("cnmd did not return bridge `{}`", args.bridge))?;
    output::print(&render(bridge))
}

/// brctl's `br_dump_info`: two columns of parameters, then the ports.
fn render(b: &Bridge) -> String {
    let t = |centis: u32| timer(centis.into());
    let mut out = format!("{}\n", b.name);
    let _ = writeln!(out, " bridge id\t\t{}", b.bridge_id);
    let _ = writeln!(out, " designated root\t{}", b.designated_root);
    let _ = writeln!(
        out,
        " root port\t\t{:4}\t\t\tpath cost\t\t{:4}",
        b.root_port, b.root_path_cost
    );
    let _ = writeln!(
        out,
        " max age\t\t{}\t\t\tbridge max age\t\t{}",
        t(b.max_age),
        t(b.max_age)
    );
    let _ = writeln!(
        out,
        " hello time\t\t{}\t\t\tbridge hello time\t{}",
        t(b.hello_time),
        t(b.hello_time)
    );
    let _ = writeln!(
        out,
        " forward delay\t\t{}\t\t\tbridge forward delay\t{}",
        t(b.forward_delay),
        t(b.forward_delay)
    );
    let _ = writeln!(out, " ageing time\t\t{}", t(b.ageing_time));
    let _ = writeln!(
        out,
        " hello timer\t\t{}\t\t\ttcn timer\t\t{}",
        timer(b.hello_timer),
        timer(b.tcn_timer)
    );
    let _ = writeln!(
        out,
        " topology change timer\t{}\t\t\tgc timer\t\t{}",
        timer(b.topology_change_timer),
        timer(b.gc_timer)
    );
    out.push_str(" flags\t\t\t");
    if b.topology_change {
        out.push_str("TOPOLOGY_CHANGE ");
    }
    if b.topology_change_detected {
        out.push_str("TOPOLOGY_CHANGE_DETECTED ");
    }
    out.push_str("\n\n\n");
    for port in &b.ports {
        out.push_str(&render_port(port));
    }
    out
}

/// brctl's `dump_port_info`.
fn render_port(p: &BridgePort) -> String {
    let mut out = format!("{} ({})\n", p.name, p.port_no);
    let _ = writeln!(
        out,
        " port id\t\t{:04x}\t\t\tstate\t\t{:>15}",
        p.port_id, p.state
    );
    let _ = writeln!(
        out,
        " designated root\t{}\tpath cost\t\t{:4}",
        p.designated_root, p.path_cost
    );
    let _ = writeln!(
        out,
        " designated bridge\t{}\tmessage age timer\t{}",
        p.designated_bridge,
        timer(p.message_age_timer)
    );
    let _ = writeln!(
        out,
        " designated port\t{:04x}\t\t\tforward delay timer\t{}",
        p.designated_port,
        timer(p.forward_delay_timer)
    );
    let _ = writeln!(
        out,
        " designated cost\t{:4}\t\t\thold timer\t\t{}",
        p.designated_cost,
        timer(p.hold_timer)
    );
    out.push_str(" flags\t\t\t");
    if p.config_pending {
        out.push_str("CONFIG_PENDING ");
    }
    if p.topology_change_ack {
        out.push_str("TOPOLOGY_CHANGE_ACK ");
    }
    if p.hairpin {
        out.push_str("\n hairpin mode\t\t   1");
    }
    out.push_str("\n\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `brctl showstp br1` (bridge-utils 1.7.1) on a bridge with two ports,
    /// one with hairpin on.
    #[test]
    fn matches_brctl_byte_for_byte() {
        let id = "8000.6e550fe8e6cc".to_string();
        let port = |name: &str, no: u32, state: &str| BridgePort {
            name: name.into(),
            port_no: no,
            port_id: 0x8000 | no,
            state: state.into(),
            path_cost: 2,
            designated_root: id.clone(),
            designated_bridge: id.clone(),
            designated_port: 0x8000 | no,
            ..BridgePort::default()
        };
        let mut veth = port("vethA", 1, "forwarding");
        veth.forward_delay_timer = 1498;
        veth.hairpin = true;
        let bridge = Bridge {
            name: "br1".into(),
            bridge_id: id.clone(),
            designated_root: id.clone(),
            max_age: 2000,
            hello_time: 200,
            forward_delay: 1500,
            ageing_time: 30000,
            gc_timer: 7,
            ports: vec![port("Zeth", 2, "disabled"), veth],
            ..Bridge::default()
        };
        let expected = "br1\n \
bridge id\t\t8000.6e550fe8e6cc\n \
designated root\t8000.6e550fe8e6cc\n \
root port\t\t   0\t\t\tpath cost\t\t   0\n \
max age\t\t  20.00\t\t\tbridge max age\t\t  20.00\n \
hello time\t\t   2.00\t\t\tbridge hello time\t   2.00\n \
forward delay\t\t  15.00\t\t\tbridge forward delay\t  15.00\n \
ageing time\t\t 300.00\n \
hello timer\t\t   0.00\t\t\ttcn timer\t\t   0.00\n \
topology change timer\t   0.00\t\t\tgc timer\t\t   0.07\n \
flags\t\t\t\n\n\n\
Zeth (2)\n \
port id\t\t8002\t\t\tstate\t\t       disabled\n \
designated root\t8000.6e550fe8e6cc\tpath cost\t\t   2\n \
designated bridge\t8000.6e550fe8e6cc\tmessage age timer\t   0.00\n \
designated port\t8002\t\t\tforward delay timer\t   0.00\n \
designated cost\t   0\t\t\thold timer\t\t   0.00\n \
flags\t\t\t\n\n\
vethA (1)\n \
port id\t\t8001\t\t\tstate\t\t     forwarding\n \
designated root\t8000.6e550fe8e6cc\tpath cost\t\t   2\n \
designated bridge\t8000.6e550fe8e6cc\tmessage age timer\t   0.00\n \
designated port\t8001\t\t\tforward delay timer\t  14.98\n \
designated cost\t   0\t\t\thold timer\t\t   0.00\n \
flags\t\t\t\n \
hairpin mode\t\t   1\n\n";
        assert_eq!(render(&bridge), expected);
    }

    #[test]
    fn flags_are_listed_when_set() {
        let bridge = Bridge {
            name: "b".into(),
            topology_change: true,
            topology_change_detected: true,
            ports: vec![BridgePort {
                name: "p".into(),
                config_pending: true,
                topology_change_ack: true,
                ..BridgePort::default()
            }],
            ..Bridge::default()
        };
        let out = render(&bridge);
        assert!(
            out.contains(" flags\t\t\tTOPOLOGY_CHANGE TOPOLOGY_CHANGE_DETECTED \n\n\n"),
            "{out:?}"
        );
        assert!(
            out.contains(" flags\t\t\tCONFIG_PENDING TOPOLOGY_CHANGE_ACK \n\n"),
            "{out:?}"
        );
    }
}
