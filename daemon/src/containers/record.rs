//! What cnmd stores about a container: its configuration (everything `cnm
//! run` asked for, validated) and where it is in its life.

use std::net::IpAddr;
use std::path::PathBuf;

use cnm_runtime::Limits;
use serde::{Deserialize, Serialize};

use crate::model::Record;
use crate::store::Kind;

/// Where a container is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    /// Being set up (a crash leaves this; reconcile removes it).
    Created,
    Running,
    Exited,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Created => "created",
            RunState::Running => "running",
            RunState::Exited => "exited",
        }
    }
}

/// How the container's network is set up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    /// The host's stack, no sandbox.
    Host,
    /// A sandbox with loopback only.
    None,
    /// A sandbox connected to these networks, the first carrying eth0.
    Networks(Vec<Attachment>),
}

/// One network the container joins when it starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The network's id (names may be reused after a remove).
    pub network: String,
    /// Static IPv4 address (`--ip`), kept across restarts.
    pub ipv4: Option<IpAddr>,
    pub aliases: Vec<String>,
    /// `-p` specs as the user wrote them.
    pub publish: Vec<String>,
}

/// The validated `cnm run` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunConfig {
    pub rootfs: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub workdir: Option<String>,
    /// Empty: the runtime's default (the short id).
    pub hostname: String,
    pub network: NetworkMode,
    pub limits: Limits,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    /// `-v` specs as written.
    pub volumes: Vec<String>,
    pub auto_remove: bool,
    /// A pseudo-terminal for the command (`-t`).
    #[serde(default)]
    pub tty: bool,
    /// Stdin kept open for attach clients (`-i`).
    #[serde(default)]
    pub interactive: bool,
}

/// One container, as stored under `ctr/<id>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerRecord {
    pub id: String,
    pub name: String,
    pub created: String,
    pub config: RunConfig,
    /// `<root>/containers/<id>`: hosts, resolv.conf and the runtime's dir.
    pub dir: PathBuf,
    /// The sandbox's namespace file while it exists (None with `host`).
    pub netns: Option<PathBuf>,
    pub state: RunState,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub exit_code: i32,
    pub oom_killed: bool,
    pub pid: i32,
}

impl ContainerRecord {
    /// The runtime's state dir (made by `Runtime::start`, must not exist
    /// before).
    pub fn runtime_dir(&self) -> PathBuf {
        self.dir.join("runtime")
    }

    pub fn hosts_path(&self) -> PathBuf {
        self.dir.join("hosts")
    }

    pub fn resolv_path(&self) -> PathBuf {
        self.dir.join("resolv.conf")
    }

    /// The json-file log of every run (the runtime's dir is made anew on
    /// each start; the log stays beside it, as Docker keeps one per
    /// container).
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("container-json.log")
    }

    pub fn is_running(&self) -> bool {
        self.state == RunState::Running
    }
}

impl Record for ContainerRecord {
    const KIND: Kind = Kind::Container;
    fn id(&self) -> &str {
        &self.id
    }
}
