//! Where cnmd finds a plugin by the name users give (`-d NAME`,
//! `--ipam-driver NAME`): the socket `<sockets>/NAME.sock` (default
//! /run/cnm/plugins), else the address in `<specs>/NAME.spec` (default
//! /etc/cnm/plugins), one line `unix:///path/to/socket`.

use std::io;
use std::path::{Path, PathBuf};

/// The two directories plugins are looked up in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginDirs {
    /// Holds `NAME.sock` sockets.
    pub sockets: PathBuf,
    /// Holds `NAME.spec` files.
    pub specs: PathBuf,
}

/// Why no plugin socket was found for a name.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("no plugin socket at {} or spec in {}", .socket.display(), .spec.display())]
    NotFound { socket: PathBuf, spec: PathBuf },
    #[error("invalid plugin name {0:?}: use letters, digits, '.', '_' and '-'")]
    InvalidName(String),
    #[error("cannot read plugin spec {}", .path.display())]
    ReadSpec {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "plugin spec {} must hold one line `unix:///path/to/socket`, not {found:?}",
        .path.display()
    )]
    InvalidSpec { path: PathBuf, found: String },
}

impl PluginDirs {
    /// `/run/cnm/plugins` under cnmd's run root, and `specs`.
    pub fn new(sockets: PathBuf, specs: PathBuf) -> PluginDirs {
        PluginDirs { sockets, specs }
    }

    /// The socket of plugin `name`.
    pub fn find(&self, name: &str) -> Result<PathBuf, DiscoveryError> {
        check_name(name)?;
        let socket = self.sockets.join(format!("{name}.sock"));
        if socket.exists() {
            return Ok(socket);
        }
        let spec = self.specs.join(format!("{name}.spec"));
        match std::fs::read_to_string(&spec) {
            Ok(text) => parse_spec(&spec, &text),
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                Err(DiscoveryError::NotFound { socket, spec })
            }
            Err(source) => Err(DiscoveryError::ReadSpec { path: spec, source }),
        }
    }
}

fn check_name(name: &str) -> Result<(), DiscoveryError> {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    match ok {
        true => Ok(()),
        false => Err(DiscoveryError::InvalidName(name.to_owned())),
    }
}

fn parse_spec(path: &Path, text: &str) -> Result<PathBuf, DiscoveryError> {
    let line = text.trim();
    match line.strip_prefix("unix://") {
        Some(socket) if socket.starts_with('/') && !line.contains('\n') => Ok(socket.into()),
        _ => Err(DiscoveryError::InvalidSpec {
            path: path.to_owned(),
            found: line.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs(tmp: &Path) -> PluginDirs {
        let dirs = PluginDirs::new(tmp.join("sockets"), tmp.join("specs"));
        std::fs::create_dir_all(&dirs.sockets).expect("mkdir");
        std::fs::create_dir_all(&dirs.specs).expect("mkdir");
        dirs
    }

    #[test]
    fn socket_first_then_spec() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dirs = dirs(tmp.path());
        std::fs::write(dirs.specs.join("a.spec"), "unix:///elsewhere/a.sock\n").expect("write");
        assert_eq!(
            dirs.find("a").expect("spec"),
            PathBuf::from("/elsewhere/a.sock")
        );
        std::fs::write(dirs.sockets.join("a.sock"), "").expect("write");
        assert_eq!(dirs.find("a").expect("socket"), dirs.sockets.join("a.sock"));
    }

    #[test]
    fn missing_plugin_says_where_it_looked() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dirs = dirs(tmp.path());
        let err = dirs.find("nope").expect_err("missing").to_string();
        assert_eq!(
            err,
            format!(
                "no plugin socket at {}/sockets/nope.sock or spec in {}/specs/nope.spec",
                tmp.path().display(),
                tmp.path().display()
            )
        );
    }

    #[test]
    fn bad_names_and_specs_are_refused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dirs = dirs(tmp.path());
        for name in ["", "..", "a/b", "a b"] {
            assert!(
                matches!(dirs.find(name), Err(DiscoveryError::InvalidName(_))),
                "{name:?}"
            );
        }
        for text in [
            "tcp://1.2.3.4:5",
            "unix://relative.sock",
            "/abs.sock",
            "unix:///a\nunix:///b",
        ] {
            std::fs::write(dirs.specs.join("bad.spec"), text).expect("write");
            assert!(
                matches!(dirs.find("bad"), Err(DiscoveryError::InvalidSpec { .. })),
                "{text:?}"
            );
        }
    }
}
