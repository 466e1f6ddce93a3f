//! What the drivers' `-o key=value` parsers share: one wording for a
//! refusal (the key, the value and what would be accepted), and the values
//! several drivers read the same way.

use crate::DriverError;

/// A key the driver does not know, refused with the keys it does.
pub(crate) fn unknown_option(driver: &'static str, key: &str, accepted: &[&str]) -> DriverError {
    DriverError::InvalidOption {
        driver,
        message: format!(
            "unknown option `{key}`; accepted options: {}",
            accepted.join(", ")
        ),
    }
}

/// A known key with a value the driver cannot use; `expected` says what it
/// can.
pub(crate) fn invalid_value(
    driver: &'static str,
    key: &str,
    value: &str,
    expected: &str,
) -> DriverError {
    DriverError::InvalidOption {
        driver,
        message: format!("option `{key}` has invalid value `{value}`: expected {expected}"),
    }
}

/// Booleans as Go's `strconv.ParseBool` reads them, since users copy
/// values from Docker setups.
pub(crate) fn parse_bool(
    driver: &'static str,
    key: &str,
    value: &str,
) -> Result<bool, DriverError> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(invalid_value(driver, key, value, "true or false")),
    }
}

/// Whether `name` is a valid Linux interface name (the kernel's
/// `dev_valid_name`): 1 to 15 bytes, no '/', ':' or whitespace, not "." or "..".
pub fn is_valid_ifname(name: &str) -> bool {
    (1..=15).contains(&name.len())
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace())
}

/// An interface name given as an option value (a bridge, a parent).
pub(crate) fn parse_ifname(
    driver: &'static str,
    key: &str,
    value: &str,
) -> Result<String, DriverError> {
    if is_valid_ifname(value) {
        Ok(value.to_owned())
    } else {
        Err(invalid_value(
            driver,
            key,
            value,
            "an interface name of 1 to 15 characters without '/', ':' or spaces",
        ))
    }
}

/// Raw options as a `NetworkSpec` carries them, for tests.
#[cfg(test)]
pub(crate) fn option_map(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
