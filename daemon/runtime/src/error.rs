//! Errors of the runtime library: `SpecError` for input rejected before
//! anything is created, `RuntimeError` for operations on a container.

use std::io;
use std::path::PathBuf;

use nix::errno::Errno;

/// A container spec value that cannot be used. Nothing has been created on
/// the host when one of these is returned.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("container id `{0}` is not 64 lowercase hex characters")]
    BadId(String),
    #[error("rootfs {path} is not a directory")]
    RootfsNotDirectory { path: PathBuf },
    #[error("no command given")]
    NoCommand,
    #[error("command not found in rootfs: {command}")]
    CommandNotFound { command: String },
    #[error("command `{command}` in rootfs is not executable")]
    CommandNotExecutable { command: String },
    #[error("memory limit `{value}`: {reason}")]
    BadMemory { value: String, reason: String },
    #[error("cpus value `{value}`: {reason}")]
    BadCpus { value: String, reason: String },
    #[error("pids limit `{value}`: {reason}")]
    BadPids { value: String, reason: String },
    #[error("unknown capability `{0}` (expected a name like NET_ADMIN, CAP_NET_ADMIN or ALL)")]
    UnknownCapability(String),
    #[error("capability {0} is not in the runtime's own bounding set, so no container can get it")]
    CapabilityUnavailable(String),
    #[error("volume `{spec}`: {reason}")]
    BadMount { spec: String, reason: String },
    #[error("{what} {path} does not exist")]
    MissingFile { what: &'static str, path: PathBuf },
    #[error("{what} {path} contains `,` or `:`, which overlayfs mount options cannot carry")]
    UnsafePath { what: &'static str, path: PathBuf },
    #[error("hostname `{0}` is not a valid host name (1-63 letters, digits, `-` or `.`)")]
    BadHostname(String),
    #[error("working directory `{0}` is not an absolute path")]
    BadCwd(String),
    #[error("environment entry `{0}` is not KEY=VALUE")]
    BadEnv(String),
    #[error("argument `{0}` contains a NUL byte")]
    NulInArgument(String),
    #[error("no {controller} cgroup controller on this host, so the {controller} limit cannot be applied")]
    NoController { controller: &'static str },
    #[error("detecting cgroup hierarchies")]
    DetectCgroups(#[source] io::Error),
}

/// An operation on a container failed.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("cnm-shim binary not found at {path}")]
    ShimNotFound { path: PathBuf },
    #[error("locating the current executable to find cnm-shim beside it")]
    CurrentExe(#[source] io::Error),
    #[error("state dir {path} already exists (container ids must be unique)")]
    StateDirExists { path: PathBuf },
    #[error("creating state dir {path}")]
    CreateStateDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("writing {path}")]
    WriteState {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("reading {path}")]
    ReadState {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path} is corrupt")]
    CorruptState {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("running cnm-shim {path}")]
    SpawnShim {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("starting container {id}: {message}")]
    Start { id: String, message: String },
    #[error("container {id} is not running")]
    NotRunning { id: String },
    #[error("container {id} is still running; stop it first or delete with force")]
    StillRunning { id: String },
    #[error("sending {signal} to container {id}")]
    Signal {
        id: String,
        signal: String,
        #[source]
        source: Errno,
    },
    #[error("container {id} did not exit within {seconds} s of SIGKILL")]
    KillTimeout { id: String, seconds: u64 },
    #[error("deleting container {id}: {}", errors.join("; "))]
    Delete { id: String, errors: Vec<String> },
    #[error("attaching to container {id} on {path}")]
    Attach {
        id: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("bad frame from attach socket of container {id}: {reason}")]
    AttachProtocol { id: String, reason: String },
}

/// An error and its causes on one line (for messages that cross a process
/// boundary as text: the shim's start report, delete's error list).
pub(crate) fn describe(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
