//! Validated object names. Holding a `NetworkName` or `SandboxName` proves
//! the text passed Docker's rule for object names.

use std::fmt;

/// Longest name we accept for networks and sandboxes. Docker has no hard
/// limit; ours keeps names printable in tables and DNS labels sane.
pub const MAX_NAME_LEN: usize = 64;

/// Checks a user-given object name: 1–64 characters of `[a-zA-Z0-9_.-]`,
/// starting with a letter or digit. The error says what is wrong.
fn check_name(what: &str, raw: &str) -> Result<(), String> {
    if raw.is_empty() {
        return Err(format!("{what} name must not be empty"));
    }
    if raw.len() > MAX_NAME_LEN {
        return Err(format!(
            "{what} name is {} characters long; at most {MAX_NAME_LEN} are allowed",
            raw.len()
        ));
    }
    let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    let first_ok = raw
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    if !first_ok || !raw.chars().all(valid_char) {
        return Err(format!(
            "invalid {what} name {raw:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        ));
    }
    Ok(())
}

/// Defines a name newtype that is checked on construction and on
/// deserialization (a store written by hand cannot smuggle a bad name in).
macro_rules! object_name {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: &str) -> Result<Self, String> {
                check_name($what, raw).map(|()| $name(raw.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(raw: String) -> Result<Self, String> {
                $name::parse(&raw)
            }
        }

        impl From<$name> for String {
            fn from(name: $name) -> String {
                name.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

object_name!(
    /// A network name.
    NetworkName,
    "network"
);
object_name!(
    /// A sandbox (container) name.
    SandboxName,
    "sandbox"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_docker_rules() {
        assert!(NetworkName::parse("web").is_ok());
        assert!(NetworkName::parse("my_net-1.2").is_ok());
        assert!(NetworkName::parse("").unwrap_err().contains("empty"));
        assert!(NetworkName::parse("a/b").unwrap_err().contains("invalid"));
        assert!(NetworkName::parse("-x").is_err());
        assert!(NetworkName::parse(&"x".repeat(65))
            .unwrap_err()
            .contains("65 characters"));
        assert!(NetworkName::parse(&"x".repeat(64)).is_ok());
        assert!(SandboxName::parse("c 1").unwrap_err().contains("sandbox"));
    }

    #[test]
    fn deserializing_checks_the_name() {
        assert!(serde_json::from_str::<NetworkName>("\"ok\"").is_ok());
        assert!(serde_json::from_str::<NetworkName>("\"bad/name\"").is_err());
        assert!(serde_json::from_str::<SandboxName>("\"\"").is_err());
    }
}
