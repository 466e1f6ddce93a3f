//! A CNI runtime for tests that follows libcni (containernetworking/cni
//! v1.2, spec 1.1) step by step, so the plugin is driven the way
//! containerd, CRI-O and Podman drive it: conflists with version
//! negotiation, the VERSION probe of `ValidateNetworkList`, chained ADD
//! with `prevResult`, the result cache, DEL in reverse order with the
//! cached result, CHECK, GC (a synthesized DEL for stale cached
//! attachments, then the GC verb) and STATUS.

mod cache;
mod conflist;
mod invoke;

pub use cache::{Cache, CachedAttachment};
pub use conflist::{build_one_config, plugin_type, NetworkList};
pub use invoke::{CallEnv, Invoker, PluginError};

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

/// libcni's `RuntimeConf`.
#[derive(Debug, Clone, Default)]
pub struct RuntimeConf {
    pub container_id: String,
    pub netns: String,
    pub ifname: String,
    /// CNI_ARGS pairs.
    pub args: Vec<(String, String)>,
    /// Capability name to value; passed as `runtimeConfig` to plugins that
    /// declare the capability.
    pub capability_args: Map<String, Value>,
}

impl RuntimeConf {
    pub fn new(container_id: &str, netns: &Path, ifname: &str) -> RuntimeConf {
        RuntimeConf {
            container_id: container_id.into(),
            netns: netns.display().to_string(),
            ifname: ifname.into(),
            ..RuntimeConf::default()
        }
    }

    /// Adds a capability argument (`portMappings`, `ips`, …).
    pub fn capability(mut self, name: &str, value: Value) -> RuntimeConf {
        self.capability_args.insert(name.into(), value);
        self
    }

    /// Adds a CNI_ARGS pair.
    pub fn arg(mut self, key: &str, value: &str) -> RuntimeConf {
        self.args.push((key.into(), value.into()));
        self
    }

    fn env(&self, command: &str) -> CallEnv {
        CallEnv {
            command: command.into(),
            container_id: self.container_id.clone(),
            netns: self.netns.clone(),
            ifname: self.ifname.clone(),
            args: self
                .args
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(";"),
        }
    }
}

/// libcni's `CNIConfig` with a cache dir.
#[derive(Debug, Clone)]
pub struct Libcni {
    pub invoker: Invoker,
    pub cache: Cache,
}

/// Debian's plugins (`containernetworking-plugins`).
pub const SYSTEM_PLUGIN_DIR: &str = "/usr/lib/cni";

fn libcni_error(verb: &str, msg: String) -> PluginError {
    PluginError {
        plugin: "libcni".into(),
        code: 0,
        msg,
        details: String::new(),
        output: format!("libcni {verb}"),
    }
}

impl Libcni {
    /// Plugins from the workspace build dir (cnm-cni) and Debian's dir, run
    /// inside `host_netns`; results cached under `cache_dir`.
    pub fn new(cache_dir: &Path, host_netns: &Path) -> Libcni {
        Libcni {
            invoker: Invoker {
                plugin_dirs: vec![crate::binaries::bin_dir(), PathBuf::from(SYSTEM_PLUGIN_DIR)],
                host_netns: Some(host_netns.to_path_buf()),
            },
            cache: Cache::new(cache_dir),
        }
    }

    /// `GetVersionInfo`: VERSION with libcni's dummy variables.
    pub fn version_info(&self, plugin: &str) -> Result<Value, PluginError> {
        let env = CallEnv {
            command: "VERSION".into(),
            netns: "dummy".into(),
            ifname: "dummy".into(),
            ..CallEnv::default()
        };
        self.invoker
            .call(plugin, &env, &json!({"cniVersion": "1.1.0"}))
    }

    /// `ValidateNetworkList`: every plugin exists and supports the list's
    /// version (asked with VERSION).
    pub fn validate(&self, list: &NetworkList) -> Result<(), PluginError> {
        for plugin in &list.plugins {
            let name = plugin_type(plugin);
            let info = self.version_info(name)?;
            let supported = info["supportedVersions"]
                .as_array()
                .is_some_and(|v| v.iter().any(|s| s == list.cni_version.as_str()));
            if !supported {
                return Err(libcni_error(
                    "VALIDATE",
                    format!(
                        "plugin {name} does not support config version {:?}",
                        list.cni_version
                    ),
                ));
            }
        }
        Ok(())
    }

    /// `AddNetworkList`: each plugin in order with the previous result; the
    /// last result is cached and returned.
    pub fn add(&self, list: &NetworkList, rt: &RuntimeConf) -> Result<Value, PluginError> {
        check_names(list, rt)?;
        let mut result: Option<Value> = None;
        for plugin in &list.plugins {
            let conf = build_one_config(list, plugin, result.as_ref(), &rt.capability_args);
            result = Some(
                self.invoker
                    .call(plugin_type(plugin), &rt.env("ADD"), &conf)?,
            );
        }
        let result = result.unwrap_or(Value::Null);
        self.cache.put(&list.name, &list.bytes, rt, &result);
        Ok(result)
    }

    /// `DelNetworkList`: plugins in reverse order with the cached result
    /// (0.4.0 and later); the cache entry goes on success.
    pub fn del(&self, list: &NetworkList, rt: &RuntimeConf) -> Result<(), PluginError> {
        let cached = if list.at_least("0.4.0") {
            self.cache.result(&list.name, rt)
        } else {
            None
        };
        for plugin in list.plugins.iter().rev() {
            let conf = build_one_config(list, plugin, cached.as_ref(), &rt.capability_args);
            self.invoker
                .call(plugin_type(plugin), &rt.env("DEL"), &conf)?;
        }
        self.cache.remove(&list.name, rt);
        Ok(())
    }

    /// `CheckNetworkList`: 0.4.0 and later, unless disabled; every plugin
    /// with the cached result.
    pub fn check(&self, list: &NetworkList, rt: &RuntimeConf) -> Result<(), PluginError> {
        if !list.at_least("0.4.0") {
            return Err(libcni_error(
                "CHECK",
                format!(
                    "configuration version {:?} does not support the CHECK command",
                    list.cni_version
                ),
            ));
        }
        if list.disable_check {
            return Ok(());
        }
        let cached = self.cache.result(&list.name, rt);
        for plugin in &list.plugins {
            let conf = build_one_config(list, plugin, cached.as_ref(), &rt.capability_args);
            self.invoker
                .call(plugin_type(plugin), &rt.env("CHECK"), &conf)?;
        }
        Ok(())
    }

    /// `GCNetworkList`: a DEL for each cached attachment of this network
    /// not in `valid`, then (1.1.0 and later, unless disabled) GC to every
    /// plugin with the valid attachments under both keys. All errors.
    pub fn gc(&self, list: &NetworkList, valid: &[(String, String)]) -> Vec<PluginError> {
        let mut errors = Vec::new();
        for cached in self.cache.attachments() {
            let key = (cached.rt.container_id.clone(), cached.rt.ifname.clone());
            if cached.network != list.name || valid.contains(&key) {
                continue;
            }
            if let Err(err) = self.del(list, &cached.rt) {
                errors.push(err);
            }
        }
        if !list.at_least("1.1.0") || list.disable_gc {
            return errors;
        }
        // Go marshals an empty (nil) slice as null, and so does libcni.
        let attachments = match valid {
            [] => Value::Null,
            some => some
                .iter()
                .map(|(id, ifname)| json!({"containerID": id, "ifname": ifname}))
                .collect(),
        };
        for plugin in &list.plugins {
            let mut conf = build_one_config(list, plugin, None, &Map::new());
            conf["cni.dev/valid-attachments"] = attachments.clone();
            conf["cni.dev/attachments"] = attachments.clone();
            let env = CallEnv {
                command: "GC".into(),
                ..CallEnv::default()
            };
            if let Err(err) = self.invoker.call(plugin_type(plugin), &env, &conf) {
                errors.push(err);
            }
        }
        errors
    }

    /// `GetStatusNetworkList`: nothing before 1.1.0; else STATUS to each.
    pub fn status(&self, list: &NetworkList) -> Result<(), PluginError> {
        if !list.at_least("1.1.0") {
            return Ok(());
        }
        for plugin in &list.plugins {
            let conf = build_one_config(list, plugin, None, &Map::new());
            let env = CallEnv {
                command: "STATUS".into(),
                ..CallEnv::default()
            };
            self.invoker.call(plugin_type(plugin), &env, &conf)?;
        }
        Ok(())
    }
}

/// libcni's `validateContainerID`, `validateNetworkName` and
/// `validateInterfaceName`, run before ADD.
fn check_names(list: &NetworkList, rt: &RuntimeConf) -> Result<(), PluginError> {
    let word = |s: &str| {
        let mut c = s.chars();
        c.next().is_some_and(|c| c.is_ascii_alphanumeric())
            && c.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    };
    let ifname_ok = (1..16).contains(&rt.ifname.len())
        && rt.ifname != "."
        && rt.ifname != ".."
        && !rt
            .ifname
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace());
    let problem = if !word(&rt.container_id) {
        "invalid container id"
    } else if !word(&list.name) {
        "invalid network name"
    } else if !ifname_ok {
        "invalid interface name"
    } else {
        return Ok(());
    };
    Err(libcni_error("ADD", problem.into()))
}
