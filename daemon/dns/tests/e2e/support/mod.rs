//! Test harness: throwaway network namespaces (a "host" with one bridge and
//! several "containers"), the real cnm-dns binary, DNS clients and fake
//! upstream resolvers. Nothing touches the machine's own namespace.

pub mod answer_data;
pub mod client;
pub mod lab;
pub mod netns;
pub mod resolver;
pub mod upstream;

/// True if the e2e tests can run here; otherwise prints why and the test
/// returns early, counted as skipped by its output.
pub fn can_run(test: &str) -> bool {
    let reason = if !nix::unistd::geteuid().is_root() {
        Some("not root".to_string())
    } else {
        ["ip", "nsenter", "dig"]
            .iter()
            .find(|tool| which(tool).is_none())
            .map(|tool| format!("`{tool}` is not installed"))
    };
    match reason {
        // The standard test harness has no runtime skip, so an unmet need fails loudly instead of passing.
        Some(reason) => panic!("{test} cannot run here: {reason}"),
        None => true,
    }
}

fn which(tool: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| std::path::Path::new(dir).join(tool))
        .find(|p| p.is_file())
}
