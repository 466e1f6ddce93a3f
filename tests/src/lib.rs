//! End-to-end test harness for cnm: each test gets a fresh network
//! namespace as its "host", running the real `cnmd` binary with its own
//! state dir and socket, drives it with the real `cnm` CLI, and makes
//! "containers" as further namespaces. Everything is removed on drop, and
//! leftovers of crashed runs are swept at start (see [`sweep`]).
//!
//! Never touches the machine's own interfaces, routes or firewall: every
//! `ip` call names a namespace this harness made.

pub mod addr;
pub mod binaries;
pub mod cli;
pub mod client;
pub mod cluster;
pub mod conformance;
pub mod container;
pub mod daemon;
pub mod exec;
pub mod firewall;
pub mod host;
pub mod inspect;
pub mod kernel;
pub mod libcni;
pub mod needs;
pub mod netns;
pub mod pki;
pub mod plugin;
pub mod pty;
pub mod remote;
pub mod rootfs;
pub mod sctp;
pub mod snapshot;
pub mod suite;
pub mod sweep;
pub mod traffic;
pub mod vm;

pub use container::Container;
pub use host::Host;
pub use needs::{Need, FIREWALL, FIREWALL_IPV6, FIREWALL_PING, KERNEL, KERNEL_IPV6, KERNEL_PING};
pub use suite::{case, Case, Group};
