//! Labels and driver options: free text that cnmd stores and prints back,
//! so it is bounded in size and kept free of control characters (which
//! would let one user's label rewrite another user's terminal).

use std::collections::BTreeMap;

/// Most labels (or options) on one object.
pub const MAX_ENTRIES: usize = 64;
/// Longest key, in bytes.
pub const MAX_KEY_LEN: usize = 128;
/// Longest label value, in bytes.
pub const MAX_LABEL_VALUE_LEN: usize = 4096;
/// Longest driver option value, in bytes (they name interfaces, modes and
/// numbers).
pub const MAX_OPTION_VALUE_LEN: usize = 1024;

/// Checks `--label`s.
pub fn check_labels(labels: &BTreeMap<String, String>) -> Result<(), String> {
    check_entries("label", labels, MAX_LABEL_VALUE_LEN)
}

/// Checks `-o` driver options.
pub fn check_options(options: &BTreeMap<String, String>) -> Result<(), String> {
    check_entries("option", options, MAX_OPTION_VALUE_LEN)
}

fn check_entries(
    what: &str,
    entries: &BTreeMap<String, String>,
    max_value: usize,
) -> Result<(), String> {
    if entries.len() > MAX_ENTRIES {
        return Err(format!(
            "{} {what}s given; at most {MAX_ENTRIES} are allowed",
            entries.len()
        ));
    }
    for (key, value) in entries {
        check_key(what, key)?;
        if value.len() > max_value {
            return Err(format!(
                "{what} {key} is {} bytes long; at most {max_value} are allowed",
                value.len()
            ));
        }
        if let Some(c) = value.chars().find(|c| c.is_control()) {
            return Err(format!(
                "{what} {key} contains the control character U+{:04X}; use printable text",
                u32::from(c)
            ));
        }
    }
    Ok(())
}

/// Keys look like `com.example.key`, `example.com/key` or `parent`.
fn check_key(what: &str, key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err(format!("{what} key must not be empty"));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(format!(
            "{what} key is {} bytes long; at most {MAX_KEY_LEN} are allowed",
            key.len()
        ));
    }
    let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ':');
    if !key.chars().all(valid) {
        return Err(format!(
            "invalid {what} key {key:?}: use letters, digits and . _ - / :"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn ordinary_labels_and_options_pass() {
        assert!(check_labels(&map(&[("com.example.team", "web ops ✓"), ("a", "")])).is_ok());
        assert!(check_options(&map(&[("com.docker.network.bridge.name", "br-web")])).is_ok());
        assert!(check_labels(&map(&[("example.com/tier", "x".repeat(4096).as_str())])).is_ok());
    }

    #[test]
    fn keys_are_bounded_and_plain() {
        let err = check_labels(&map(&[("", "v")])).expect_err("empty key");
        assert!(err.contains("must not be empty"), "{err}");
        let err = check_labels(&map(&[("a b", "v")])).expect_err("space");
        assert!(err.contains("invalid label key \"a b\""), "{err}");
        let long = "k".repeat(129);
        let err = check_options(&map(&[(long.as_str(), "v")])).expect_err("long key");
        assert!(err.contains("129 bytes"), "{err}");
    }

    #[test]
    fn values_are_bounded_and_printable() {
        let err = check_labels(&map(&[("k", "x".repeat(4097).as_str())])).expect_err("long");
        assert!(err.contains("label k is 4097 bytes long"), "{err}");
        let err = check_options(&map(&[("mtu", "1".repeat(1025).as_str())])).expect_err("long");
        assert!(err.contains("at most 1024"), "{err}");
        let err = check_labels(&map(&[("k", "a\u{1b}[2J")])).expect_err("escape");
        assert!(err.contains("U+001B"), "{err}");
    }

    #[test]
    fn the_number_of_entries_is_bounded() {
        let many: BTreeMap<String, String> =
            (0..65).map(|i| (format!("k{i}"), String::new())).collect();
        let err = check_labels(&many).expect_err("too many");
        assert!(err.contains("65 labels"), "{err}");
    }
}
