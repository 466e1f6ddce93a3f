//! Bringing a container up (`run`, `start`) and its sandbox down (exit,
//! `stop`, `rm`): netns, connects through the core, hosts/resolv.conf,
//! then the runtime. Setup is all or nothing.

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::sync::Arc;
use std::time::SystemTime;

use super::files;
use super::netns;
use super::record::{Attachment, ContainerRecord, NetworkMode, RunState};
use super::run::runtime_spec;
use super::{ContainerError, Containers, Slot};
use crate::core::{ConnectRequest, DisconnectRequest, SandboxSelector, SandboxView};
use crate::model::{rfc3339, short_id};

/// RFC 3339 of a `SystemTime`, as Docker prints `StartedAt`.
pub(super) fn timestamp(at: SystemTime) -> String {
    let since = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(since.as_secs() as i64, since.subsec_nanos())
}

impl Containers {
    /// Makes the sandbox, wires it and starts the command; `record` is
    /// Created (run) or Exited (start). On error everything made here is
    /// undone and the record is left as it was. The caller holds the
    /// container's operation lock.
    pub(super) fn launch(
        self: &Arc<Self>,
        slot: &Arc<Slot>,
        mut record: ContainerRecord,
    ) -> Result<(), ContainerError> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&record.dir)
            .map_err(ContainerError::io(format!(
                "create {}",
                record.dir.display()
            )))?;
        let netns = match record.config.network {
            NetworkMode::Host => None,
            _ => Some(self.netns_path(&record.id)),
        };
        if let Some(path) = &netns {
            netns::create(path, record.config.network == NetworkMode::None)?;
        }
        record.netns = netns;
        let started = self.wire_and_start(&record);
        let container = match started {
            Ok(container) => container,
            Err(err) => {
                self.unwire(&record);
                return Err(err);
            }
        };
        record.state = RunState::Running;
        record.pid = container.pid();
        record.started_at = Some(timestamp(container.started_at()));
        record.finished_at = None;
        record.exit_code = 0;
        record.oom_killed = false;
        if let Err(err) = self.save(slot, &record) {
            let _ = container.delete(true);
            self.unwire(&record);
            return Err(err);
        }
        self.watch(slot.clone());
        self.emit("start", &record, &[]);
        Ok(())
    }

    fn wire_and_start(
        &self,
        record: &ContainerRecord,
    ) -> Result<cnm_runtime::Container, ContainerError> {
        if let (NetworkMode::Networks(attachments), Some(path)) =
            (&record.config.network, &record.netns)
        {
            for att in attachments {
                let mut publish = Vec::new();
                for spec in &att.publish {
                    publish.extend(
                        crate::ports::parse_publish(spec)
                            .map_err(ContainerError::InvalidArgument)?,
                    );
                }
                self.core.connect(ConnectRequest {
                    network: att.network.clone(),
                    sandbox: SandboxSelector::NetnsPath(path.clone()),
                    name: Some(record.name.clone()),
                    ipv4: att.ipv4,
                    ipv6: None,
                    aliases: with_hostname(&att.aliases, &record.config.hostname, &record.name),
                    mac: None,
                    publish,
                    dns_servers: Vec::new(),
                    ifname: None,
                    attachment: None,
                })?;
            }
        }
        self.write_files(record)?;
        let runtime = self.runtime()?;
        let runtime_dir = record.runtime_dir();
        if runtime_dir.exists() {
            // A restart: the runtime wants a fresh state dir.
            match cnm_runtime::Container::open(&runtime_dir) {
                Ok(old) => {
                    keep_old_log(&old, record);
                    old.delete(false)?
                }
                Err(_) => fs::remove_dir_all(&runtime_dir).map_err(ContainerError::io(format!(
                    "remove {}",
                    runtime_dir.display()
                )))?,
            }
        }
        let mut spec = runtime_spec(&record.config, &record.id, &record.name, runtime_dir)?;
        spec.netns = record.netns.clone();
        spec.hosts_file = record.hosts_path();
        spec.resolv_conf = record.resolv_path();
        spec.log = Some(record.log_path());
        Ok(runtime.start(&spec)?)
    }

    /// (Re)writes hosts and resolv.conf from the sandbox's endpoints.
    pub(super) fn write_files(&self, record: &ContainerRecord) -> Result<(), ContainerError> {
        let view = self.sandbox_view(record);
        let hostname = match record.config.hostname.as_str() {
            "" => short_id(&record.id),
            name => name,
        };
        let hosts = match record.config.network {
            // The host's own names; the container shares its stack.
            NetworkMode::Host => fs::read_to_string("/etc/hosts").unwrap_or_default(),
            _ => files::hosts(&files::addresses(view.as_ref()), hostname, &record.name),
        };
        files::write_in_place(&record.hosts_path(), &hosts)?;
        let resolv = files::resolv_conf(view.as_ref(), self.host_resolv());
        files::write_in_place(&record.resolv_path(), &resolv)
    }

    /// Disconnects every network of the sandbox (also those connected
    /// live) and removes its namespace. Returns the networks it had, to be
    /// joined again on the next start. Best effort.
    pub(super) fn unwire(&self, record: &ContainerRecord) -> Option<Vec<Attachment>> {
        let path = record.netns.as_ref()?;
        let view = self.sandbox_view(record);
        let current = view.as_ref().map(|v| current_attachments(record, v));
        for (_, net) in view.iter().flat_map(|v| v.endpoints.iter()) {
            let disconnected = self.core.disconnect(DisconnectRequest {
                network: net.id.clone(),
                sandbox: SandboxSelector::NetnsPath(path.clone()),
                force: true,
            });
            if let Err(err) = disconnected {
                tracing::warn!(container = %record.name, network = %net.name,
                    error = %err.full_message(), "disconnect container");
            }
        }
        netns::remove(path);
        current.filter(|c| !c.is_empty())
    }
}

/// A container run before logs moved out of the runtime's dir has its log
/// in there: move it out before the dir goes, so its output stays.
fn keep_old_log(old: &cnm_runtime::Container, record: &ContainerRecord) {
    let (from, to) = (old.log_path(), record.log_path());
    if from != to && !to.exists() {
        if let Err(err) = fs::rename(&from, &to).or_else(ignore_missing) {
            tracing::warn!(container = %record.name, error = %err, "keep the log of the last run");
        }
    }
}

fn ignore_missing(err: std::io::Error) -> std::io::Result<()> {
    if err.kind() == std::io::ErrorKind::NotFound {
        Ok(())
    } else {
        Err(err)
    }
}

/// The sandbox's networks now, keeping what run asked for (static ip,
/// ports) on networks it still has.
fn current_attachments(record: &ContainerRecord, view: &SandboxView) -> Vec<Attachment> {
    let configured: &[Attachment] = match &record.config.network {
        NetworkMode::Networks(list) => list,
        _ => &[],
    };
    view.endpoints
        .iter()
        .map(|(ep, net)| {
            configured
                .iter()
                .find(|a| a.network == net.id)
                .cloned()
                .unwrap_or_else(|| Attachment {
                    network: net.id.clone(),
                    ipv4: ep.ipv4.filter(|_| ep.static_ipv4).map(|a| a.ip()),
                    aliases: ep.aliases.clone(),
                    publish: Vec::new(),
                })
        })
        .collect()
}

/// The aliases a container's endpoint gets: the user's, plus its hostname
/// when that differs from its name, so the embedded DNS answers for it too.
fn with_hostname(aliases: &[String], hostname: &str, name: &str) -> Vec<String> {
    let mut all = aliases.to_vec();
    if hostname != name && cnm_dns::is_valid_name(hostname) && !all.iter().any(|a| a == hostname) {
        all.push(hostname.to_owned());
    }
    all
}
