//! The golden-file check shared by the unit tests (`src/ruleset/tests.rs`)
//! and the kernel tests (`tests/kernel`), which include this file by path.

use std::path::PathBuf;

/// Compares `actual` with the golden file, or rewrites it when asked to.
pub(crate) fn assert_golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("CNM_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).expect("read golden file");
    assert_eq!(
        actual,
        expected,
        "{} differs; CNM_UPDATE_GOLDEN=1 rewrites it",
        path.display()
    );
}
