//! `KEY=VALUE` flag values (`--opt`, `--label`, `--ipam-opt`): split at the
//! first `=`; a missing `=` or an empty key is an error naming the flag.

use std::collections::HashMap;

use anyhow::{bail, Result};

/// Splits one `KEY=VALUE` given to `flag` (as in `--opt`).
pub fn parse_pair<'a>(flag: &str, raw: &'a str) -> Result<(&'a str, &'a str)> {
    match raw.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key, value)),
        _ => bail!("invalid {flag} {raw:?}: expected KEY=VALUE"),
    }
}

/// Collects every value of `flag` into a map; a repeated key keeps the last value,
/// as Docker does.
pub fn parse_map(flag: &str, raws: &[String]) -> Result<HashMap<String, String>> {
    raws.iter()
        .map(|raw| {
            let (key, value) = parse_pair(flag, raw)?;
            Ok((key.to_string(), value.to_string()))
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
    fn splits_at_the_first_equals_sign() {
        let map = parse_map("--opt", &strings(&["a=1", "b=x=y", "c=", "a=2"])).expect("valid");
        assert_eq!(map["a"], "2");
        assert_eq!(map["b"], "x=y");
        assert_eq!(map["c"], "");
    }

    #[test]
    fn errors_name_the_flag() {
        let err = parse_map("--opt", &strings(&["mtu"])).expect_err("no =");
        assert_eq!(err.to_string(), "invalid --opt \"mtu\": expected KEY=VALUE");
        let err = parse_map("--label", &strings(&["=x"])).expect_err("empty key");
        assert_eq!(
            err.to_string(),
            "invalid --label \"=x\": expected KEY=VALUE"
        );
    }
}
