//! Network configuration lists as libcni loads them (`ConfListFromBytes`)
//! and the per-plugin config it builds for each call (`buildOneConfig`:
//! `name`, `cniVersion`, `prevResult` and the `runtimeConfig` of the
//! capabilities the plugin declares).

use serde_json::{Map, Value};

/// The versions this driver speaks, as libcni 1.2 (spec 1.1.0).
pub const LIBCNI_VERSIONS: [&str; 7] = [
    "0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0",
];

/// A loaded conflist.
#[derive(Debug, Clone)]
pub struct NetworkList {
    pub name: String,
    /// After negotiation with `cniVersions`.
    pub cni_version: String,
    pub disable_check: bool,
    pub disable_gc: bool,
    pub plugins: Vec<Map<String, Value>>,
    /// The list as loaded (cached with results, as libcni does).
    pub bytes: Vec<u8>,
}

impl NetworkList {
    /// libcni's checks: a name, plugins, each with a type; `cniVersions`
    /// picks the highest version libcni speaks.
    pub fn from_json(text: &str) -> Result<NetworkList, String> {
        let raw: Map<String, Value> = serde_json::from_str(text)
            .map_err(|e| format!("error parsing configuration list: {e}"))?;
        let name = raw
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or("error parsing configuration list: no name")?
            .to_owned();
        let mut cni_version = raw
            .get("cniVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if let Some(Value::Array(versions)) = raw.get("cniVersions") {
            let best = versions
                .iter()
                .filter_map(Value::as_str)
                .filter(|v| LIBCNI_VERSIONS.contains(v))
                .max_by_key(|v| version_key(v));
            if let Some(best) = best {
                cni_version = best.to_owned();
            }
        }
        let flag = |key: &str| raw.get(key).and_then(Value::as_bool).unwrap_or(false);
        let plugins: Vec<Map<String, Value>> = match raw.get("plugins") {
            Some(Value::Array(list)) if !list.is_empty() => list
                .iter()
                .map(|p| {
                    p.as_object()
                        .cloned()
                        .ok_or("plugin entry is not an object")
                })
                .collect::<Result<_, _>>()?,
            _ => {
                return Err(format!(
                    "error parsing configuration list: no 'plugins' key in {name}"
                ))
            }
        };
        if plugins
            .iter()
            .any(|p| p.get("type").and_then(Value::as_str).is_none())
        {
            return Err("a plugin has no type".into());
        }
        Ok(NetworkList {
            name,
            cni_version,
            disable_check: flag("disableCheck"),
            disable_gc: flag("disableGC"),
            plugins,
            bytes: text.as_bytes().to_vec(),
        })
    }

    /// Whether the list's version is at least `min`.
    pub fn at_least(&self, min: &str) -> bool {
        version_key(&self.cni_version) >= version_key(min)
    }
}

/// Orders versions numerically ("0.10.0" > "0.4.0").
pub fn version_key(v: &str) -> Vec<u32> {
    v.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

/// The type (executable name) of a plugin entry.
pub fn plugin_type(plugin: &Map<String, Value>) -> &str {
    plugin
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// `buildOneConfig`: the plugin entry with the list's name and version,
/// the previous result and the runtime config of its declared capabilities.
pub fn build_one_config(
    list: &NetworkList,
    plugin: &Map<String, Value>,
    prev_result: Option<&Value>,
    capability_args: &Map<String, Value>,
) -> Value {
    let mut conf = plugin.clone();
    conf.insert("name".into(), Value::String(list.name.clone()));
    conf.insert("cniVersion".into(), Value::String(list.cni_version.clone()));
    if let Some(prev) = prev_result {
        conf.insert("prevResult".into(), prev.clone());
    }
    let declared = plugin.get("capabilities").and_then(Value::as_object);
    let runtime: Map<String, Value> = declared
        .into_iter()
        .flatten()
        .filter(|(_, on)| on.as_bool() == Some(true))
        .filter_map(|(cap, _)| Some((cap.clone(), capability_args.get(cap)?.clone())))
        .collect();
    if !runtime.is_empty() {
        conf.insert("runtimeConfig".into(), Value::Object(runtime));
    }
    Value::Object(conf)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn negotiates_the_highest_known_version() {
        let list = NetworkList::from_json(
            r#"{"name":"n","cniVersion":"1.0.0","cniVersions":["0.4.0","1.1.0","9.0.0"],"plugins":[{"type":"x"}]}"#,
        )
        .expect("valid");
        assert_eq!(list.cni_version, "1.1.0");
        assert!(list.at_least("1.0.0"));
        assert!(NetworkList::from_json(r#"{"name":"n","plugins":[]}"#).is_err());
        assert!(NetworkList::from_json(r#"{"plugins":[{"type":"x"}]}"#).is_err());
    }

    #[test]
    fn runtime_config_only_for_declared_capabilities() {
        let list = NetworkList::from_json(
            r#"{"name":"n","cniVersion":"1.0.0","plugins":[{"type":"x","capabilities":{"ips":true,"mac":false}}]}"#,
        )
        .expect("valid");
        let caps = json!({"ips":["10.0.0.2"],"mac":"02:00:00:00:00:01","portMappings":[]});
        let conf = build_one_config(
            &list,
            &list.plugins[0],
            None,
            caps.as_object().expect("map"),
        );
        assert_eq!(conf["runtimeConfig"], json!({"ips":["10.0.0.2"]}));
        assert_eq!(conf["name"], json!("n"));
        assert!(conf.get("prevResult").is_none());
    }
}
