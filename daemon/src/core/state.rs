//! The in-memory state: every record plus what operations in flight have
//! reserved, with the lookups the operations need.

use std::collections::{BTreeMap, HashMap};

use cnm_drivers::sys::NetnsId;

use super::{CoreError, SandboxSelector};
use crate::model::{EndpointRecord, NetworkRecord, SandboxRecord};
use crate::ports::PortTable;

/// Where an object is in its life. Only `Ready` objects are visible to other
/// operations as usable; the others are reserved by one in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Creating,
    Ready,
    Removing,
}

pub struct Entry<T> {
    pub record: T,
    pub phase: Phase,
}

impl<T> Entry<T> {
    pub fn new(record: T, phase: Phase) -> Self {
        Entry { record, phase }
    }
}

pub struct State {
    pub networks: BTreeMap<String, Entry<NetworkRecord>>,
    pub endpoints: HashMap<String, Entry<EndpointRecord>>,
    /// Sandboxes live as long as one of their endpoints does (or is being
    /// made).
    pub sandboxes: HashMap<String, SandboxRecord>,
    /// Host ports held by endpoints (and by connects in flight).
    pub ports: PortTable,
}

/// A network with its endpoints and their sandboxes, for inspect and ls.
#[derive(Debug, Clone)]
pub struct NetworkView {
    pub network: NetworkRecord,
    pub endpoints: Vec<(EndpointRecord, SandboxRecord)>,
}

/// A sandbox with its endpoints and their networks.
#[derive(Debug, Clone)]
pub struct SandboxView {
    pub sandbox: SandboxRecord,
    pub endpoints: Vec<(EndpointRecord, NetworkRecord)>,
}

impl State {
    pub fn new(ports: PortTable) -> Self {
        State {
            networks: BTreeMap::new(),
            endpoints: HashMap::new(),
            sandboxes: HashMap::new(),
            ports,
        }
    }

    /// Docker's lookup order: exact id, exact name, then a unique id prefix.
    pub fn find_network(&self, key: &str) -> Result<&NetworkRecord, CoreError> {
        if let Some(entry) = self.networks.get(key) {
            return Ok(&entry.record);
        }
        if let Some(entry) = self
            .networks
            .values()
            .find(|e| e.record.name.as_str() == key)
        {
            return Ok(&entry.record);
        }
        let not_found = || CoreError::NotFound(format!("network {key} not found"));
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(not_found());
        }
        let mut matches = self
            .networks
            .range(key.to_owned()..)
            .take_while(|(id, _)| id.starts_with(key));
        match (matches.next(), matches.next()) {
            (Some((_, entry)), None) => Ok(&entry.record),
            (Some(_), Some(_)) => Err(CoreError::InvalidArgument(format!(
                "network id prefix {key} is ambiguous; give more digits or the name"
            ))),
            _ => Err(not_found()),
        }
    }

    pub fn network_phase(&self, id: &str) -> Option<Phase> {
        self.networks.get(id).map(|e| e.phase)
    }

    pub fn network_by_name(&self, name: &str) -> Option<&NetworkRecord> {
        self.networks
            .values()
            .map(|e| &e.record)
            .find(|n| n.name.as_str() == name)
    }

    pub fn sandbox_by_netns(&self, id: NetnsId) -> Option<&SandboxRecord> {
        self.sandboxes
            .values()
            .find(|s| s.netns_dev == id.dev && s.netns_ino == id.ino)
    }

    pub fn sandbox_by_path(&self, path: &str) -> Option<&SandboxRecord> {
        self.sandboxes.values().find(|s| s.netns_path == path)
    }

    /// A sandbox by id, unique id prefix or name.
    pub fn find_sandbox(&self, key: &str) -> Result<&SandboxRecord, CoreError> {
        if let Some(sb) = self.sandboxes.get(key) {
            return Ok(sb);
        }
        if let Some(sb) = self.sandboxes.values().find(|s| s.name.as_str() == key) {
            return Ok(sb);
        }
        let mut matches = self
            .sandboxes
            .values()
            .filter(|s| !key.is_empty() && s.id.starts_with(key));
        match (matches.next(), matches.next()) {
            (Some(sb), None) => Ok(sb),
            (Some(_), Some(_)) => Err(CoreError::InvalidArgument(format!(
                "sandbox id prefix {key} is ambiguous; give more digits or the name"
            ))),
            _ => Err(CoreError::NotFound(format!("sandbox {key} not found"))),
        }
    }

    /// A sandbox by id, prefix or name, or by an attachment of another
    /// runtime; a namespace path is looked up by the caller (it needs a stat).
    pub fn find_sandbox_by(&self, selector: &SandboxSelector) -> Result<&SandboxRecord, CoreError> {
        match selector {
            SandboxSelector::Known(key) => self.find_sandbox(key),
            SandboxSelector::Attachment {
                container_id,
                ifname,
            } => {
                let entry = self.find_attachment(container_id, ifname.as_deref(), None)?;
                self.sandboxes.get(&entry.record.sandbox_id).ok_or_else(|| {
                    CoreError::Internal(format!("endpoint {} has no sandbox", entry.record.id))
                })
            }
            SandboxSelector::NetnsPath(path) => Err(CoreError::Internal(format!(
                "sandbox of {} looked up without its namespace",
                path.display()
            ))),
        }
    }

    /// The endpoint another runtime attached as `container_id` (and
    /// `ifname`, when given), on `network_id` when given.
    pub fn find_attachment(
        &self,
        container_id: &str,
        ifname: Option<&str>,
        network_id: Option<&str>,
    ) -> Result<&Entry<EndpointRecord>, CoreError> {
        self.endpoints
            .values()
            .filter(|e| network_id.is_none_or(|id| e.record.network_id == id))
            .find(|e| e.record.is_attachment(container_id, ifname))
            .ok_or_else(|| {
                let iface = ifname.map(|n| format!(" as {n}")).unwrap_or_default();
                CoreError::NotFound(format!("container {container_id} is not attached{iface}"))
            })
    }

    pub fn sandbox_name_taken(&self, name: &str) -> Option<&SandboxRecord> {
        self.sandboxes.values().find(|s| s.name.as_str() == name)
    }

    pub fn endpoints_of_sandbox<'a>(
        &'a self,
        sandbox_id: &'a str,
    ) -> impl Iterator<Item = &'a Entry<EndpointRecord>> + 'a {
        self.endpoints
            .values()
            .filter(move |e| e.record.sandbox_id == sandbox_id)
    }

    pub fn endpoints_of_network<'a>(
        &'a self,
        network_id: &'a str,
    ) -> impl Iterator<Item = &'a Entry<EndpointRecord>> + 'a {
        self.endpoints
            .values()
            .filter(move |e| e.record.network_id == network_id)
    }

    pub fn endpoint_between<'a>(
        &'a self,
        sandbox_id: &'a str,
        network_id: &str,
    ) -> Option<&'a Entry<EndpointRecord>> {
        self.endpoints_of_sandbox(sandbox_id)
            .find(|e| e.record.network_id == network_id)
    }

    /// The first free `ethN` of a sandbox, counting endpoints in flight, so
    /// interfaces are named in connect order.
    pub fn next_ifname(&self, sandbox_id: &str) -> String {
        let taken: Vec<u32> = self
            .endpoints_of_sandbox(sandbox_id)
            .filter_map(|e| e.record.ifname.strip_prefix("eth")?.parse().ok())
            .collect();
        let n = (0..).find(|n| !taken.contains(n)).unwrap_or(0);
        format!("eth{n}")
    }

    pub fn network_view(&self, network: &NetworkRecord) -> NetworkView {
        let mut endpoints: Vec<_> = self
            .endpoints_of_network(&network.id)
            .filter(|e| e.phase == Phase::Ready)
            .filter_map(|e| {
                let sandbox = self.sandboxes.get(&e.record.sandbox_id)?;
                Some((e.record.clone(), sandbox.clone()))
            })
            .collect();
        endpoints.sort_by(|a, b| a.1.id.cmp(&b.1.id));
        NetworkView {
            network: network.clone(),
            endpoints,
        }
    }

    pub fn sandbox_view(&self, sandbox: &SandboxRecord) -> SandboxView {
        let mut endpoints: Vec<_> = self
            .endpoints_of_sandbox(&sandbox.id)
            .filter(|e| e.phase == Phase::Ready)
            .filter_map(|e| {
                let net = &self.networks.get(&e.record.network_id)?.record;
                Some((e.record.clone(), net.clone()))
            })
            .collect();
        endpoints.sort_by(|a, b| a.0.ifname.cmp(&b.0.ifname));
        SandboxView {
            sandbox: sandbox.clone(),
            endpoints,
        }
    }
}
