//! Kernel tests for `sys` and the built-in drivers. Each test works only in
//! throwaway namespaces of its own (`Netns::new_anonymous`), so it never
//! touches this machine's interfaces and tests can run in parallel. Without
//! root each fails with "cannot run here: needs root" (no runtime skip in this harness).

mod bridge;
mod bridge_state;
mod common;
mod host_null;
mod netlink;
mod netns;
mod reconcile;
mod stacked;
mod timing;
