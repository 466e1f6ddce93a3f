//! `Runtime::exec_command`: a `Command` that runs `cnm-shim exec`, which
//! joins the container's namespaces and cgroups in its own fresh process.
//! The caller picks stdio (pipes for `cnm exec`, the tty relay uses the
//! helper's stdin/stdout) and may turn it into a tokio `Command`.

use std::process::{Command, Stdio};

use super::{Container, ContainerState, Runtime};
use crate::error::{RuntimeError, SpecError};
use crate::spec::ExecSpec;

impl Runtime {
    /// The helper command for `spec` in `container`. Its exit code is the
    /// process's (128 + signal when killed), 127 when the command is not
    /// in the container, 126 when it could not be started; the reason is
    /// on its stderr.
    pub fn exec_command(
        &self,
        container: &Container,
        spec: &ExecSpec,
    ) -> Result<Command, RuntimeError> {
        if spec.args.is_empty() {
            return Err(SpecError::NoCommand.into());
        }
        for entry in &spec.env {
            if !entry.contains('=') || entry.starts_with('=') {
                return Err(SpecError::BadEnv(entry.clone()).into());
            }
        }
        if let Some(cwd) = spec.cwd.as_ref().filter(|c| !c.starts_with('/')) {
            return Err(SpecError::BadCwd(cwd.clone()).into());
        }
        if !matches!(container.state()?, ContainerState::Running { .. }) {
            return Err(RuntimeError::NotRunning {
                id: container.id().to_string(),
            });
        }
        // Serializing a plain struct of strings cannot fail.
        let json = serde_json::to_string(spec).unwrap_or_default();
        let mut command = Command::new(&self.shim);
        command.arg("exec").arg(container.state_dir()).arg(json);
        if spec.detach {
            command
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
        }
        Ok(command)
    }
}
