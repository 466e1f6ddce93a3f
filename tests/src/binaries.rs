//! Finds the workspace-built `cnmd` and `cnm`. The tests never build them:
//! `cargo build --workspace` does, into the same target dir as this test.

use std::path::{Path, PathBuf};

/// The directory holding the debug binaries: `CNM_BIN_DIR` if set, else the
/// profile dir of the running test executable (`target/debug/deps/..`), else
/// `CARGO_TARGET_DIR/debug`, else `<workspace>/target/debug`.
pub fn bin_dir() -> PathBuf {
    candidates()
        .into_iter()
        .find(|d| d.join("cnmd").is_file())
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug"))
}

fn candidates() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = std::env::var_os("CNM_BIN_DIR") {
        dirs.push(PathBuf::from(d));
    }
    if let Ok(exe) = std::env::current_exe() {
        // target/debug/deps/e2e-HASH -> target/debug
        if let Some(profile) = exe.parent().and_then(Path::parent) {
            dirs.push(profile.to_path_buf());
        }
    }
    if let Some(d) = std::env::var_os("CARGO_TARGET_DIR") {
        dirs.push(PathBuf::from(d).join("debug"));
    }
    dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug"));
    dirs
}

/// Path of a workspace binary; panics with what to do when it is missing.
pub fn binary(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.is_file(),
        "{} not found: run `cargo build --workspace` first (or set CNM_BIN_DIR)",
        path.display()
    );
    path
}

/// `target/debug/cnmd`.
pub fn cnmd() -> PathBuf {
    binary("cnmd")
}

/// `target/debug/cnm`.
pub fn cnm() -> PathBuf {
    binary("cnm")
}
