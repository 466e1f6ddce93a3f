//! `Runtime::start`: validate, create the state dir, run `cnm-shim start`
//! and read its report. On any failure the state dir is removed; the shim
//! has already undone its own work (cgroups, socket, init process) before
//! reporting, so nothing is left behind.

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::process::{Command, Stdio};

use super::{Container, Runtime};
use crate::error::RuntimeError;
use crate::shim::LaunchReport;
use crate::spec::{ContainerSpec, ValidSpec};
use crate::state::{write_json_atomic, Layout};

impl Runtime {
    /// Creates and starts a container. Returns once its command exec'd as
    /// PID 1 of the new pid namespace, or with the reason it could not.
    ///
    /// Blocking (it waits for the short-lived launcher); call it from
    /// `spawn_blocking` in async code. No namespace is entered in the
    /// calling process.
    pub fn start(&self, spec: &ContainerSpec) -> Result<Container, RuntimeError> {
        let valid = spec.validate()?;
        let layout = Layout::new(&valid.state_dir);
        create_state_dir(&layout)?;
        let result = self.launch(&valid, &layout);
        if result.is_err() {
            let _ = fs::remove_dir_all(layout.dir());
        }
        result
    }

    fn launch(&self, spec: &ValidSpec, layout: &Layout) -> Result<Container, RuntimeError> {
        let write = |path: std::path::PathBuf, result: std::io::Result<()>| {
            result.map_err(|source| RuntimeError::WriteState { path, source })
        };
        write(layout.config(), write_json_atomic(&layout.config(), spec))?;
        write(
            layout.hostname(),
            fs::write(layout.hostname(), format!("{}\n", spec.hostname)),
        )?;
        let output = Command::new(&self.shim)
            .arg("start")
            .arg(layout.dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .map_err(|source| RuntimeError::SpawnShim {
                path: self.shim.clone(),
                source,
            })?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let report = stdout
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str::<LaunchReport>(l).ok());
        match report {
            Some(LaunchReport::Started { .. }) => Container::open(layout.dir()),
            Some(LaunchReport::Failed { message }) => Err(RuntimeError::Start {
                id: spec.id.clone(),
                message,
            }),
            None => Err(RuntimeError::Start {
                id: spec.id.clone(),
                message: format!(
                    "cnm-shim exited with {} without a report: {}",
                    output.status,
                    String::from_utf8_lossy(&output.stderr).trim()
                ),
            }),
        }
    }
}

fn create_state_dir(layout: &Layout) -> Result<(), RuntimeError> {
    let dir = layout.dir();
    if dir.exists() {
        return Err(RuntimeError::StateDirExists {
            path: dir.to_path_buf(),
        });
    }
    if let Some(parent) = dir.parent() {
        fs::create_dir_all(parent).map_err(|source| RuntimeError::CreateStateDir {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    // Private: it holds the container's writable layer and its stdio.
    fs::DirBuilder::new()
        .mode(0o700)
        .create(dir)
        .map_err(|source| RuntimeError::CreateStateDir {
            path: dir.to_path_buf(),
            source,
        })
}
