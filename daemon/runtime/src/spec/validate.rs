//! Validation of a `ContainerSpec` into a `ValidSpec`: every check that can
//! be made before anything exists on the host, so that bad input leaves
//! nothing behind. Only `validate` builds a `ValidSpec`, and setup takes
//! nothing else, so unvalidated input cannot reach the kernel.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{BindMount, ContainerSpec, Limits, DEFAULT_PATH};
use crate::capabilities::{self, CapSet};
use crate::cgroups;
use crate::error::SpecError;
use crate::rootfs;

/// A spec that passed validation, with defaults filled in. The shim reads
/// it back from the state dir's config.json.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ValidSpec {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) rootfs: PathBuf,
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<String>,
    pub(crate) cwd: String,
    pub(crate) hostname: String,
    pub(crate) netns: Option<PathBuf>,
    pub(crate) hosts_file: PathBuf,
    pub(crate) resolv_conf: PathBuf,
    pub(crate) mounts: Vec<BindMount>,
    pub(crate) limits: Limits,
    pub(crate) caps: CapSet,
    pub(crate) tty: bool,
    pub(crate) stdin: bool,
    pub(crate) state_dir: PathBuf,
    /// Absent in the config of containers started before logs could live
    /// outside the state dir.
    #[serde(default)]
    pub(crate) log: Option<PathBuf>,
}

impl ValidSpec {
    /// The json-file log this container appends to.
    pub(crate) fn log_path(&self) -> PathBuf {
        self.log
            .clone()
            .unwrap_or_else(|| crate::state::Layout::new(&self.state_dir).log())
    }
}

impl ContainerSpec {
    /// Checks the spec against the host without changing anything.
    pub fn check(&self) -> Result<(), SpecError> {
        self.validate().map(drop)
    }

    pub(crate) fn validate(&self) -> Result<ValidSpec, SpecError> {
        check_id(&self.id)?;
        let rootfs = absolute(&self.rootfs);
        if !rootfs.is_dir() {
            return Err(SpecError::RootfsNotDirectory { path: rootfs });
        }
        let state_dir = absolute(&self.state_dir);
        overlay_safe("rootfs", &rootfs)?;
        overlay_safe("state dir", &state_dir)?;
        let hostname = valid_hostname(&self.hostname, &self.id)?;
        let env = container_env(&self.env, &hostname, self.tty)?;
        let cwd = match &self.cwd {
            Some(c) if !c.starts_with('/') => return Err(SpecError::BadCwd(c.clone())),
            Some(c) => c.clone(),
            None => "/".to_string(),
        };
        let command = self.args.first().ok_or(SpecError::NoCommand)?;
        for arg in &self.args {
            if arg.contains('\0') {
                return Err(SpecError::NulInArgument(arg.clone()));
            }
        }
        let mounts = self.mounts.clone();
        for m in &mounts {
            must_exist("volume source", &m.source)?;
        }
        let path_env = env
            .iter()
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or(DEFAULT_PATH);
        rootfs::check_command(&rootfs, command, path_env, &cwd, &mounts)?;
        if let Some(netns) = &self.netns {
            must_exist("network namespace", netns)?;
        }
        must_exist("hosts file", &self.hosts_file)?;
        must_exist("resolv.conf file", &self.resolv_conf)?;
        if let Some(dir) = self.log.as_deref().and_then(Path::parent) {
            must_exist("log directory", dir)?;
        }
        let caps = CapSet::resolve(self.cap_add, self.cap_drop);
        check_caps_available(caps)?;
        cgroups::check_available(&self.limits)?;
        Ok(ValidSpec {
            id: self.id.clone(),
            name: self.name.clone(),
            rootfs,
            args: self.args.clone(),
            env,
            cwd,
            hostname,
            netns: self.netns.as_deref().map(absolute),
            hosts_file: absolute(&self.hosts_file),
            resolv_conf: absolute(&self.resolv_conf),
            mounts,
            limits: self.limits,
            caps,
            tty: self.tty,
            stdin: self.stdin,
            state_dir,
            log: self.log.as_deref().map(absolute),
        })
    }
}

fn check_id(id: &str) -> Result<(), SpecError> {
    let ok = id.len() == 64
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if ok {
        Ok(())
    } else {
        Err(SpecError::BadId(id.to_string()))
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// overlayfs splits its options on `,` and lower dirs on `:`.
fn overlay_safe(what: &'static str, path: &Path) -> Result<(), SpecError> {
    let text = path.to_string_lossy();
    if text.contains(',') || text.contains(':') {
        return Err(SpecError::UnsafePath {
            what,
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

fn must_exist(what: &'static str, path: &Path) -> Result<(), SpecError> {
    if path.exists() {
        Ok(())
    } else {
        Err(SpecError::MissingFile {
            what,
            path: path.to_path_buf(),
        })
    }
}

/// An empty hostname becomes the short id, as in Docker.
fn valid_hostname(hostname: &str, id: &str) -> Result<String, SpecError> {
    if hostname.is_empty() {
        return Ok(id.chars().take(12).collect());
    }
    let ok = hostname.len() <= 64
        && hostname
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !hostname.starts_with(['-', '.']);
    if ok {
        Ok(hostname.to_string())
    } else {
        Err(SpecError::BadHostname(hostname.to_string()))
    }
}

/// The caller's entries plus Docker's defaults for PATH, HOSTNAME, HOME and
/// (with a tty) TERM.
fn container_env(env: &[String], hostname: &str, tty: bool) -> Result<Vec<String>, SpecError> {
    for entry in env {
        if !entry.contains('=') || entry.starts_with('=') || entry.contains('\0') {
            return Err(SpecError::BadEnv(entry.clone()));
        }
    }
    let has = |key: &str| env.iter().any(|e| e.split('=').next() == Some(key));
    let mut out = Vec::new();
    if !has("PATH") {
        out.push(format!("PATH={DEFAULT_PATH}"));
    }
    if !has("HOSTNAME") {
        out.push(format!("HOSTNAME={hostname}"));
    }
    out.extend(env.iter().cloned());
    if tty && !has("TERM") {
        out.push("TERM=xterm".to_string());
    }
    if !has("HOME") {
        out.push("HOME=/root".to_string());
    }
    Ok(out)
}

fn check_caps_available(caps: CapSet) -> Result<(), SpecError> {
    // A capability outside the runtime's own bounding set can never be
    // granted; say so now instead of failing in capset inside the container.
    let Ok(bounding) = capabilities::current_bounding_set() else {
        return Ok(());
    };
    match caps.missing_from(bounding).next() {
        Some(cap) => Err(SpecError::CapabilityUnavailable(cap.name().to_string())),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_hostnames() {
        assert!(check_id(&"a".repeat(64)).is_ok());
        assert!(check_id(&"A".repeat(64)).is_err());
        assert!(check_id("abc").is_err());
        assert_eq!(
            valid_hostname("", &"ab".repeat(32)).expect("short id"),
            "abababababab"
        );
        assert!(valid_hostname("web-1.local", "x").is_ok());
        assert!(valid_hostname("bad host", "x").is_err());
    }

    #[test]
    fn env_defaults() {
        let env = container_env(&["A=1".into(), "HOME=/home/a".into()], "h", true).expect("env");
        assert_eq!(
            env,
            [
                format!("PATH={DEFAULT_PATH}"),
                "HOSTNAME=h".into(),
                "A=1".into(),
                "HOME=/home/a".into(),
                "TERM=xterm".into()
            ]
        );
        assert!(container_env(&["NOVALUE".into()], "h", false).is_err());
    }
}
