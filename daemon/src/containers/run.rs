//! `cnm run`: validate the whole request (nothing exists yet), record the
//! container, then launch it; any failure removes everything again.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use cnm_runtime::{BindMount, CapSet, ContainerSpec, Limits};

use super::record::{Attachment, ContainerRecord, NetworkMode, RunConfig, RunState};
use super::{lock, ContainerError, Containers, Slot};
use crate::model::{new_id, now_rfc3339, short_id, Record, SandboxName};

/// What `cnm run` asks for, as the user wrote it.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    pub name: String,
    pub rootfs: String,
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub workdir: String,
    pub hostname: String,
    pub networks: Vec<String>,
    pub publish: Vec<String>,
    pub ip: String,
    pub aliases: Vec<String>,
    pub memory: String,
    pub cpus: String,
    pub pids_limit: String,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub volumes: Vec<String>,
    pub auto_remove: bool,
    pub tty: bool,
    pub interactive: bool,
}

impl Containers {
    /// Creates and starts a container; returns its record once its command
    /// runs. Blocking.
    pub fn run(self: &Arc<Self>, req: RunRequest) -> Result<ContainerRecord, ContainerError> {
        self.runtime()?;
        let id = new_id();
        let (name, config) = self.validate(&req, &id)?;
        let record = ContainerRecord {
            id: id.clone(),
            name: name.clone(),
            created: now_rfc3339(),
            dir: self.container_dir(&id),
            netns: None,
            config,
            state: RunState::Created,
            started_at: None,
            finished_at: None,
            exit_code: 0,
            oom_killed: false,
            pid: 0,
        };
        let slot = self.reserve(&record)?;
        let _op = lock(&slot.op);
        let created = self
            .store
            .commit(&[record.put()])
            .map_err(ContainerError::from);
        if created.is_ok() {
            self.emit("create", &record, &[]);
        }
        if let Err(err) = created.and_then(|()| self.launch(&slot, record.clone())) {
            lock(&self.slots).remove(&id);
            if let Err(e) = self.store.commit(&[record.delete()]) {
                tracing::warn!(container = %name, error = %e, "rollback: delete record");
            }
            let _ = std::fs::remove_dir_all(&record.dir);
            // Subscribers saw `create` (if the record was made): close it.
            self.emit("destroy", &record, &[]);
            return Err(err);
        }
        tracing::info!(container = %name, id = %short_id(&id), "container started");
        Ok(slot.record())
    }

    /// Holds the name (checked again under the lock: two runs may race).
    fn reserve(&self, record: &ContainerRecord) -> Result<Arc<Slot>, ContainerError> {
        let mut slots = lock(&self.slots);
        if let Some(other) = slots
            .values()
            .map(|s| s.record())
            .find(|r| r.name == record.name)
        {
            return Err(name_in_use(&record.name, &other.id));
        }
        let slot = Arc::new(Slot {
            op: Mutex::new(()),
            record: Mutex::new(record.clone()),
            generation: AtomicU64::new(0),
        });
        slots.insert(record.id.clone(), slot.clone());
        Ok(slot)
    }

    /// Every check that can be made before anything exists.
    fn validate(&self, req: &RunRequest, id: &str) -> Result<(String, RunConfig), ContainerError> {
        let name = self.valid_name(&req.name, id)?;
        let network = self.network_mode(req)?;
        let limits = Limits {
            memory: optional(&req.memory).map(str::parse).transpose()?,
            cpus: optional(&req.cpus).map(str::parse).transpose()?,
            pids: optional(&req.pids_limit).map(str::parse).transpose()?,
        };
        let hostname = if !req.hostname.is_empty() {
            req.hostname.clone()
        } else if name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            name.clone()
        } else {
            String::new()
        };
        let config = RunConfig {
            rootfs: PathBuf::from(&req.rootfs),
            args: req.args.clone(),
            env: req.env.clone(),
            workdir: optional(&req.workdir).map(str::to_string),
            hostname,
            network,
            limits,
            cap_add: req.cap_add.clone(),
            cap_drop: req.cap_drop.clone(),
            volumes: req.volumes.clone(),
            auto_remove: req.auto_remove,
            tty: req.tty,
            interactive: req.interactive,
        };
        // The runtime's own checks (rootfs, command, limits, caps, mounts)
        // against placeholder files: the real ones do not exist yet.
        let placeholder = PathBuf::from("/dev/null");
        let mut spec = runtime_spec(&config, id, &name, self.container_dir(id).join("runtime"))?;
        spec.hosts_file = placeholder.clone();
        spec.resolv_conf = placeholder;
        spec.netns = None;
        spec.check().map_err(cnm_runtime::RuntimeError::from)?;
        Ok((name, config))
    }

    fn valid_name(&self, raw: &str, id: &str) -> Result<String, ContainerError> {
        let name = if raw.is_empty() {
            format!("cnm_{}", &id[..8])
        } else {
            let raw = raw.strip_prefix('/').unwrap_or(raw);
            SandboxName::parse(raw)
                .map_err(|msg| {
                    ContainerError::InvalidArgument(msg.replace("sandbox", "container"))
                })?
                .as_str()
                .to_string()
        };
        if let Some(other) = lock(&self.slots)
            .values()
            .map(|s| s.record())
            .find(|r| r.name == name)
        {
            return Err(name_in_use(&name, &other.id));
        }
        if let Some(sandbox) = self.core.sandbox_named(&name) {
            return Err(ContainerError::AlreadyExists(format!(
                "the name {name} is already in use by sandbox {} ({}); choose another --name",
                short_id(&sandbox.id),
                sandbox.netns_path
            )));
        }
        Ok(name)
    }

    /// `--network`, `--ip`, `--alias`, `-p`, checked against the core.
    fn network_mode(&self, req: &RunRequest) -> Result<NetworkMode, ContainerError> {
        let mut names = req.networks.clone();
        if names.is_empty() {
            names.push("bridge".into());
        }
        names.dedup();
        let special = names.iter().find(|n| *n == "host" || *n == "none");
        if let Some(mode) = special {
            if names.len() > 1 {
                return Err(ContainerError::InvalidArgument(format!(
                    "--network {mode} cannot be combined with other networks"
                )));
            }
            if !req.publish.is_empty() || !req.ip.is_empty() || !req.aliases.is_empty() {
                return Err(ContainerError::InvalidArgument(format!(
                    "-p, --ip and --alias need a network with addresses, not --network {mode}"
                )));
            }
            return Ok(if mode == "host" {
                NetworkMode::Host
            } else {
                NetworkMode::None
            });
        }
        for spec in &req.publish {
            crate::ports::parse_publish(spec).map_err(ContainerError::InvalidArgument)?;
        }
        let ip = optional(&req.ip)
            .map(|raw| {
                raw.parse::<IpAddr>().map_err(|_| {
                    ContainerError::InvalidArgument(format!(
                        "invalid --ip {raw:?}: expected an IPv4 address"
                    ))
                })
            })
            .transpose()?;
        let mut attachments = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let view = self.core.inspect_network(name)?;
            let first = i == 0;
            attachments.push(Attachment {
                network: view.network.id.clone(),
                ipv4: ip.filter(|_| first),
                aliases: if first {
                    req.aliases.clone()
                } else {
                    Vec::new()
                },
                publish: if first {
                    req.publish.clone()
                } else {
                    Vec::new()
                },
            });
        }
        Ok(NetworkMode::Networks(attachments))
    }
}

fn name_in_use(name: &str, holder: &str) -> ContainerError {
    ContainerError::AlreadyExists(format!(
        "the container name \"/{name}\" is already in use by container {}; remove it or choose another --name",
        short_id(holder)
    ))
}

fn optional(raw: &str) -> Option<&str> {
    let raw = raw.trim();
    (!raw.is_empty()).then_some(raw)
}

/// The runtime's spec for `config`; netns and files are filled by the
/// caller.
pub(super) fn runtime_spec(
    config: &RunConfig,
    id: &str,
    name: &str,
    state_dir: PathBuf,
) -> Result<ContainerSpec, ContainerError> {
    let mounts = config
        .volumes
        .iter()
        .map(|v| v.parse::<BindMount>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(cnm_runtime::RuntimeError::from)?;
    let caps = |names: &[String]| {
        CapSet::parse_names(names.iter().map(String::as_str))
            .map_err(cnm_runtime::RuntimeError::from)
    };
    Ok(ContainerSpec {
        id: id.to_string(),
        name: name.to_string(),
        rootfs: config.rootfs.clone(),
        args: config.args.clone(),
        env: config.env.clone(),
        cwd: config.workdir.clone(),
        hostname: config.hostname.clone(),
        netns: None,
        hosts_file: PathBuf::new(),
        resolv_conf: PathBuf::new(),
        mounts,
        limits: config.limits,
        cap_add: caps(&config.cap_add)?,
        cap_drop: caps(&config.cap_drop)?,
        tty: config.tty,
        stdin: config.interactive,
        state_dir,
        log: None,
    })
}
