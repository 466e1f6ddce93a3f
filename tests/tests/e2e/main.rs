//! The `e2e` test binary: every end-to-end test, registered by module.
//! Run with `cargo build --workspace && cargo test -p cnm-tests --test e2e`
//! (or `cargo nextest run -p cnm-tests`). Tests whose needs are unmet
//! (not root, a tool missing) are reported as ignored/skipped.

mod bad_input;
mod builtin;
mod cni;
mod connect;
mod containers;
mod crash;
mod crash_networks;
mod create;
mod disconnect;
mod dns;
mod docker;
mod firewall;
mod format;
mod harness_selftest;
mod inspection;
mod lifecycle;
mod limits;
mod macvlan;
mod observability;
mod overlay;
mod overlay_dns;
mod overlay_tls;
mod persistence;
mod plugin_ports;
mod plugins;
mod ports;
mod random;
mod tls;
mod vm;

use std::process::ExitCode;

use cnm_tests::suite::run_groups;
use cnm_tests::Group;

fn main() -> ExitCode {
    let group = |module, cases| Group { module, cases };
    run_groups(vec![
        group("harness_selftest", harness_selftest::cases()),
        group("builtin", builtin::cases()),
        group("create", create::cases()),
        group("connect", connect::cases()),
        group("disconnect", disconnect::cases()),
        group("docker", docker::cases()),
        group("bad_input", bad_input::cases()),
        group("persistence", persistence::cases()),
        group("crash", crash::cases()),
        group("crash_networks", crash_networks::cases()),
        group("lifecycle", lifecycle::cases()),
        group("dns", dns::cases()),
        group("ports", ports::cases()),
        group("firewall", firewall::cases()),
        group("containers", containers::cases()),
        group("inspection", inspection::cases()),
        group("observability", observability::cases()),
        group("format", format::cases()),
        group("macvlan", macvlan::cases()),
        group("vm", vm::cases()),
        group("cni", cni::cases()),
        group("tls", tls::cases()),
        group("limits", limits::cases()),
        group("plugins", plugins::cases()),
        group("plugin_ports", plugin_ports::cases()),
        group("overlay", overlay::cases()),
        group("overlay_dns", overlay_dns::cases()),
        group("overlay_tls", overlay_tls::cases()),
    ])
}
