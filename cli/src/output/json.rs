//! JSON as Docker prints it: four-space indentation and a trailing newline.

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::ser::PrettyFormatter;

/// Serializes `value` the way `docker … inspect` prints JSON.
pub fn to_docker_json<T: Serialize>(value: &T) -> Result<String> {
    let mut buf = Vec::new();
    let formatter = PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut buf, formatter);
    value
        .serialize(&mut serializer)
        .context("cannot encode JSON")?;
    buf.push(b'\n');
    String::from_utf8(buf).context("cannot encode JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indents_with_four_spaces() {
        let json = to_docker_json(&vec![("a", 1)]).expect("encodes");
        assert_eq!(json, "[\n    [\n        \"a\",\n        1\n    ]\n]\n");
        assert_eq!(to_docker_json(&Vec::<u8>::new()).expect("encodes"), "[]\n");
    }
}
