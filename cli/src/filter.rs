//! `--filter KEY=VALUE` values: keys are checked against what a command
//! supports, then sent to cnmd, which does the filtering (as Docker's daemon does).

use anyhow::{anyhow, bail, Result};
use pb::v1::Filter;

/// Filter keys of `network ls`.
pub const NETWORK_LIST_KEYS: &[&str] = &["driver", "id", "label", "name", "scope", "type"];
/// Filter keys of `network prune`.
pub const NETWORK_PRUNE_KEYS: &[&str] = &["label", "label!", "until"];
/// Filter keys of `system events`.
pub const EVENT_KEYS: &[&str] = &["container", "event", "network", "type"];

/// Parses every `--filter` value; like Docker, keys are trimmed and lowercased.
pub fn parse(raws: &[String], keys: &[&str]) -> Result<Vec<Filter>> {
    raws.iter()
        .map(|raw| {
            let (key, value) = raw
                .split_once('=')
                .ok_or_else(|| anyhow!("bad format of filter {raw:?} (expected name=value)"))?;
            let key = key.trim().to_lowercase();
            if !keys.contains(&key.as_str()) {
                bail!("invalid filter '{key}'");
            }
            Ok(Filter {
                key,
                value: value.trim().to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn keeps_repeated_keys_for_the_daemon_to_or() {
        let filters = parse(
            &strings(&[
                "driver=bridge",
                " Name = web ",
                "driver=macvlan",
                "label=a=b",
            ]),
            NETWORK_LIST_KEYS,
        )
        .expect("valid filters");
        let pairs: Vec<_> = filters
            .iter()
            .map(|f| (f.key.as_str(), f.value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("driver", "bridge"),
                ("name", "web"),
                ("driver", "macvlan"),
                ("label", "a=b")
            ]
        );
    }

    #[test]
    fn rejects_unknown_keys() {
        let err = parse(&strings(&["foo=bar"]), NETWORK_LIST_KEYS).expect_err("unknown key");
        assert_eq!(err.to_string(), "invalid filter 'foo'");
        let err = parse(&strings(&["until=1h"]), NETWORK_LIST_KEYS).expect_err("prune only");
        assert_eq!(err.to_string(), "invalid filter 'until'");
        assert!(parse(&strings(&["label!=x", "until=24h"]), NETWORK_PRUNE_KEYS).is_ok());
    }

    #[test]
    fn rejects_values_without_equals() {
        let err = parse(&strings(&["dangling"]), NETWORK_LIST_KEYS).expect_err("no =");
        assert_eq!(
            err.to_string(),
            "bad format of filter \"dangling\" (expected name=value)"
        );
    }
}
