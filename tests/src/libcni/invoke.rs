//! Running one plugin as libcni's `invoke` package does: found by type in
//! the plugin dirs, CNI_* variables ahead of the inherited environment, the
//! config on stdin, a result or the spec's error JSON on stdout.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::exec::{run_with_input, CmdOutput};

/// A failed plugin call: the spec's error JSON when the plugin printed one.
#[derive(Debug, Clone)]
pub struct PluginError {
    /// The plugin's type, or "libcni" for the runtime's own checks.
    pub plugin: String,
    /// The error code (0 when the output was not the spec's error JSON).
    pub code: u64,
    pub msg: String,
    pub details: String,
    /// The whole invocation, for messages.
    pub output: String,
}

impl std::fmt::Display for PluginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} failed: code {}: {} ({})\n{}",
            self.plugin, self.code, self.msg, self.details, self.output
        )
    }
}

/// The CNI_* variables of one call (`RuntimeConf` plus the verb).
#[derive(Debug, Clone, Default)]
pub struct CallEnv {
    pub command: String,
    pub container_id: String,
    pub netns: String,
    pub ifname: String,
    pub args: String,
}

/// Where plugins are found and which namespace they run in (the runtime's
/// "host": the test's cnmd namespace).
#[derive(Debug, Clone)]
pub struct Invoker {
    pub plugin_dirs: Vec<PathBuf>,
    pub host_netns: Option<PathBuf>,
}

impl Invoker {
    /// `FindInPath`: the first dir holding an executable of that name.
    pub fn find(&self, plugin: &str) -> Result<PathBuf, String> {
        self.plugin_dirs
            .iter()
            .map(|d| d.join(plugin))
            .find(|p| p.is_file())
            .ok_or_else(|| {
                format!(
                    "failed to find plugin {plugin:?} in path {:?}",
                    self.plugin_dirs
                )
            })
    }

    fn cni_path(&self) -> String {
        self.plugin_dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(":")
    }

    /// Runs `plugin` with `stdin`; the raw output, whatever it was.
    pub fn exec(&self, plugin: &Path, env: &CallEnv, stdin: &[u8]) -> CmdOutput {
        let mut cmd = match &self.host_netns {
            Some(ns) => {
                let mut c = Command::new("nsenter");
                c.arg(format!("--net={}", ns.display()))
                    .arg("--")
                    .arg(plugin);
                c
            }
            None => Command::new(plugin),
        };
        cmd.env("CNI_COMMAND", &env.command)
            .env("CNI_CONTAINERID", &env.container_id)
            .env("CNI_NETNS", &env.netns)
            .env("CNI_IFNAME", &env.ifname)
            .env("CNI_ARGS", &env.args)
            .env("CNI_PATH", self.cni_path());
        run_with_input(&mut cmd, stdin)
    }

    /// `ExecPluginWithResult` / `WithoutResult`: the parsed stdout on exit
    /// 0 (Null when empty), the decoded error otherwise.
    pub fn call(&self, plugin: &str, env: &CallEnv, conf: &Value) -> Result<Value, PluginError> {
        let path = self.find(plugin).map_err(|msg| PluginError {
            plugin: plugin.into(),
            code: 0,
            msg,
            details: String::new(),
            output: format!("{} with CNI_COMMAND={}", plugin, env.command),
        })?;
        let out = self.exec(&path, env, conf.to_string().as_bytes());
        if out.success() {
            let text = out.stdout.trim();
            if text.is_empty() {
                return Ok(Value::Null);
            }
            return serde_json::from_str(text).map_err(|e| PluginError {
                plugin: plugin.into(),
                code: 0,
                msg: format!("unparsable result: {e}"),
                details: String::new(),
                output: out.to_string(),
            });
        }
        let parsed: Value = serde_json::from_str(out.stdout.trim()).unwrap_or(Value::Null);
        let text = |k: &str| {
            parsed
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        Err(PluginError {
            plugin: plugin.into(),
            code: parsed.get("code").and_then(Value::as_u64).unwrap_or(0),
            msg: if parsed.is_null() {
                out.stderr.trim().to_owned()
            } else {
                text("msg")
            },
            details: text("details"),
            output: out.to_string(),
        })
    }
}
