//! `/etc/cnm/daemon.json`: every cnmd flag as a JSON key, spelled as in
//! Docker's daemon.json where Docker has the same setting. The file is
//! turned into flags and parsed by the one clap definition in `config.rs`,
//! so a new flag is a new key with no second list to keep, and values are
//! checked by the same parsers. Flags given on the command line win.

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context};
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, Command, CommandFactory, FromArgMatches, Parser};
use serde_json::Value;

use crate::config::Config;

pub const DEFAULT_PATH: &str = "/etc/cnm/daemon.json";

/// Flags whose key is Docker's daemon.json spelling, not the flag's name.
const DOCKER_KEYS: &[(&str, &str)] = &[
    ("host", "hosts"),
    ("root", "data-root"),
    ("run-root", "exec-root"),
    ("default-address-pool", "default-address-pools"),
    ("default-host-ip", "ip"),
];

/// cnmd's settings: the command line, with what it leaves unset taken from
/// the config file. Exits on `--help`, `--version` and bad flags.
pub fn load() -> anyhow::Result<Config> {
    load_from(std::env::args_os().collect())
}

pub fn load_from(argv: Vec<OsString>) -> anyhow::Result<Config> {
    let command = Config::command();
    let cli = command.clone().get_matches_from(argv.iter().cloned());
    let path: PathBuf = cli
        .get_one::<PathBuf>("config_file")
        .cloned()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_PATH));
    let explicit = given(cli.value_source("config_file"));
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        // Only the default may be missing: a named file must exist.
        Err(err) if err.kind() == std::io::ErrorKind::NotFound && !explicit => {
            return Ok(Config::from_arg_matches(&cli)?);
        }
        Err(err) => {
            return Err(err).with_context(|| format!("read config file {}", path.display()))
        }
    };
    let settings =
        file_flags(&command, &text).with_context(|| format!("config file {}", path.display()))?;
    let mut merged: Vec<OsString> = argv.first().cloned().into_iter().collect();
    for (id, flags) in settings {
        if !given(cli.value_source(&id)) {
            merged.extend(flags.into_iter().map(OsString::from));
        }
    }
    merged.extend(argv.into_iter().skip(1));
    Config::try_parse_from(merged)
        .map_err(|e| anyhow!(clap_message(&e)))
        .with_context(|| format!("combine config file {} with the flags", path.display()))
}

/// Set by the user (a flag or its environment variable), not a default.
fn given(source: Option<ValueSource>) -> bool {
    matches!(
        source,
        Some(ValueSource::CommandLine | ValueSource::EnvVariable)
    )
}

/// The flags that can be keys: not help, version, hidden actions or the
/// file's own path.
fn settings(command: &Command) -> impl Iterator<Item = &Arg> {
    command.get_arguments().filter(|arg| {
        !arg.is_hide_set()
            && arg
                .get_long()
                .is_some_and(|l| !matches!(l, "config-file" | "help" | "version"))
    })
}

/// The daemon.json key of a flag.
pub fn key_of(arg: &Arg) -> Option<&str> {
    let long = arg.get_long()?;
    Some(
        DOCKER_KEYS
            .iter()
            .find(|(flag, _)| *flag == long)
            .map_or(long, |(_, key)| *key),
    )
}

/// Every key the file may hold, sorted.
pub fn keys(command: &Command) -> Vec<&str> {
    let mut keys: Vec<&str> = settings(command).filter_map(key_of).collect();
    keys.sort_unstable();
    keys
}

/// (arg id, flags) for each key of the file. Each key goes through clap on
/// its own first, so a bad value is reported with the key that holds it.
fn file_flags(command: &Command, text: &str) -> anyhow::Result<Vec<(String, Vec<String>)>> {
    // An empty file (e.g. made by `touch`) holds no settings.
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let json: Value = serde_json::from_str(text).context("not valid JSON")?;
    let Value::Object(map) = json else {
        bail!("expected a JSON object of settings");
    };
    let mut out = Vec::new();
    for (key, value) in &map {
        let Some(arg) = settings(command).find(|a| key_of(a) == Some(key.as_str())) else {
            bail!("{}", unknown_key(command, key));
        };
        let flags = to_flags(arg, value).with_context(|| format!("key \"{key}\""))?;
        let probe = std::iter::once("cnmd".to_owned()).chain(flags.iter().cloned());
        command
            .clone()
            .try_get_matches_from(probe)
            .map_err(|e| anyhow!("key \"{key}\": {}", clap_message(&e)))?;
        out.push((arg.get_id().to_string(), flags));
    }
    Ok(out)
}

fn unknown_key(command: &Command, key: &str) -> String {
    let docker = DOCKER_KEYS.iter().find(|(flag, _)| *flag == key);
    match docker {
        Some((_, spelled)) => format!("unknown key \"{key}\"; the key is \"{spelled}\""),
        None => format!(
            "unknown key \"{key}\" (known keys: {})",
            keys(command).join(", ")
        ),
    }
}

/// The command-line flags that say what `value` says.
fn to_flags(arg: &Arg, value: &Value) -> anyhow::Result<Vec<String>> {
    let long = arg.get_long().unwrap_or_default();
    match arg.get_action() {
        ArgAction::SetTrue => match value {
            Value::Bool(true) => Ok(vec![format!("--{long}")]),
            Value::Bool(false) => Ok(Vec::new()),
            other => bail!("expected true or false, got {other}"),
        },
        ArgAction::Append => match value {
            Value::Array(items) => items
                .iter()
                .map(|item| text(item).map(|t| format!("--{long}={t}")))
                .collect(),
            other => bail!("expected a list, got {other}"),
        },
        _ => Ok(vec![format!("--{long}={}", text(value)?)]),
    }
}

/// A JSON value as flag text: strings and numbers as they are, objects as
/// `key=value,…` (Docker's `{"base": "10.10.0.0/16", "size": 24}` pools).
fn text(value: &Value) -> anyhow::Result<String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Object(fields) => {
            let pairs = fields
                .iter()
                .map(|(k, v)| match v {
                    Value::String(_) | Value::Number(_) => Ok(format!("{k}={}", text(v)?)),
                    other => bail!("field \"{k}\": expected a string or number, got {other}"),
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            Ok(pairs.join(","))
        }
        other => bail!("expected a string, got {other}"),
    }
}

/// clap's message without its "error: " prefix and usage tips.
fn clap_message(err: &clap::Error) -> String {
    let rendered = err.to_string();
    let first = rendered.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_with(json: &str, flags: &[&str]) -> anyhow::Result<Config> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("daemon.json");
        std::fs::write(&path, json).expect("write daemon.json");
        let mut argv: Vec<OsString> = vec!["cnmd".into(), "--config-file".into(), path.into()];
        argv.extend(flags.iter().map(OsString::from));
        load_from(argv)
    }

    #[test]
    fn every_flag_has_one_key() {
        let command = Config::command();
        let keys = keys(&command);
        let mut unique = keys.clone();
        unique.dedup();
        assert_eq!(keys, unique, "two flags share a key");
        for key in [
            "hosts",
            "tlsverify",
            "default-address-pools",
            "data-root",
            "metrics-addr",
        ] {
            assert!(keys.contains(&key), "{key} missing from {keys:?}");
        }
        assert!(!keys.contains(&"config-file") && !keys.contains(&"generate-man"));
        // Every mapped flag exists (a renamed flag must not orphan its key).
        for (flag, _) in DOCKER_KEYS {
            assert!(
                command.get_arguments().any(|a| a.get_long() == Some(*flag)),
                "{flag}"
            );
        }
    }

    #[test]
    fn file_values_apply_and_flags_win() {
        let json = r#"{"hosts": ["unix:///tmp/a.sock"], "tlsverify": true, "log-level": "warn",
            "default-address-pools": [{"base": "10.10.0.0/16", "size": 24}],
            "metrics-addr": "127.0.0.1:9323", "ip": "127.0.0.1"}"#;
        let config = load_with(json, &[]).expect("loads");
        assert_eq!(config.hosts, ["unix:///tmp/a.sock"]);
        assert!(config.tlsverify);
        assert_eq!(config.log_level, "warn");
        assert_eq!(config.default_address_pools, ["base=10.10.0.0/16,size=24"]);
        assert_eq!(
            config.metrics_addr,
            Some("127.0.0.1:9323".parse().expect("addr"))
        );
        assert_eq!(
            config.default_host_ip,
            Some("127.0.0.1".parse().expect("ip"))
        );

        let config = load_with(
            json,
            &[
                "--log-level",
                "debug",
                "-H",
                "unix:///tmp/b.sock",
                "--default-address-pool",
                "base=10.20.0.0/16,size=24",
            ],
        )
        .expect("loads");
        assert_eq!(config.log_level, "debug");
        assert_eq!(config.hosts, ["unix:///tmp/b.sock"]);
        assert_eq!(config.default_address_pools, ["base=10.20.0.0/16,size=24"]);
        assert!(config.tlsverify, "keys without a flag still apply");
    }

    #[test]
    fn cluster_tls_keys_apply_and_flags_win() {
        let json = r#"{"cluster-store": "etcds://10.0.0.1:2379",
            "cluster-cacert": "/etc/cnm/etcd/ca.pem", "cluster-cert": "/etc/cnm/etcd/cert.pem",
            "cluster-key": "/etc/cnm/etcd/key.pem"}"#;
        let config = load_with(json, &[]).expect("loads");
        assert_eq!(
            config.cluster_store.as_deref(),
            Some("etcds://10.0.0.1:2379")
        );
        assert_eq!(
            config.cluster_cacert,
            Some(PathBuf::from("/etc/cnm/etcd/ca.pem"))
        );
        assert_eq!(
            config.cluster_cert,
            Some(PathBuf::from("/etc/cnm/etcd/cert.pem"))
        );
        assert_eq!(
            config.cluster_key,
            Some(PathBuf::from("/etc/cnm/etcd/key.pem"))
        );
        let config = load_with(json, &["--cluster-cacert", "/tmp/other-ca.pem"]).expect("loads");
        assert_eq!(
            config.cluster_cacert,
            Some(PathBuf::from("/tmp/other-ca.pem"))
        );
        assert_eq!(
            config.cluster_key,
            Some(PathBuf::from("/etc/cnm/etcd/key.pem"))
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_key() {
        let err = load_with(r#"{"log-level": "info", "bogus-key": 1}"#, &[]).expect_err("unknown");
        assert!(
            format!("{err:#}").contains("unknown key \"bogus-key\""),
            "{err:#}"
        );
        let err = load_with(r#"{"host": ["unix:///x"]}"#, &[]).expect_err("flag name");
        assert!(
            format!("{err:#}").contains("the key is \"hosts\""),
            "{err:#}"
        );
        let err = load_with(r#"{"metrics-addr": "nowhere"}"#, &[]).expect_err("bad addr");
        assert!(
            format!("{err:#}").contains("key \"metrics-addr\""),
            "{err:#}"
        );
        let err = load_with(r#"{"tlsverify": "yes"}"#, &[]).expect_err("bool");
        assert!(
            format!("{err:#}").contains("expected true or false"),
            "{err:#}"
        );
        let err = load_with(r#"{"hosts": "unix:///x"}"#, &[]).expect_err("list");
        assert!(format!("{err:#}").contains("expected a list"), "{err:#}");
    }

    #[test]
    fn malformed_json_and_missing_named_file_are_refused() {
        let err = load_with("{\"log-level\": \"info\",\n", &[]).expect_err("malformed");
        let msg = format!("{err:#}");
        assert!(
            msg.contains("not valid JSON") && msg.contains("line 2"),
            "{msg}"
        );
        let config = load_with(" \n", &[]).expect("an empty file is no settings");
        assert_eq!(config.log_level, "info");
        let err = load_from(vec![
            "cnmd".into(),
            "--config-file".into(),
            "/nonexistent/daemon.json".into(),
        ])
        .expect_err("missing named file");
        assert!(
            format!("{err:#}").contains("/nonexistent/daemon.json"),
            "{err:#}"
        );
    }
}
