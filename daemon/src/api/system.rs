//! cnm.v1.SystemService: info, version, and the live event stream.

use std::pin::Pin;
use std::sync::Arc;

use ::pb::v1 as pb;
use pb::system_service_server::SystemService;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use crate::containers::Containers;
use crate::core::{Core, Event, EventFilter};
use crate::model::rfc3339;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const API_VERSION: &str = "cnm.v1";

pub struct SystemApi {
    core: Arc<Core>,
    containers: Arc<Containers>,
    root_dir: String,
    run_root: String,
}

impl SystemApi {
    pub fn new(
        core: Arc<Core>,
        containers: Arc<Containers>,
        root_dir: String,
        run_root: String,
    ) -> Self {
        SystemApi {
            core,
            containers,
            root_dir,
            run_root,
        }
    }
}

/// Link kinds cnm's drivers create, probed once: a kernel built without
/// one of them is worth saying in `system info` before a create fails.
const PROBED_LINK_KINDS: [(&str, &str); 4] = [
    ("macvlan", "macvlan links (CONFIG_MACVLAN)"),
    ("ipvlan", "ipvlan links (CONFIG_IPVLAN)"),
    ("vlan", "802.1Q VLAN links (CONFIG_VLAN_8021Q)"),
    ("vxlan", "VXLAN links (CONFIG_VXLAN)"),
];

/// The probed features this kernel lacks (probes that fail are skipped).
fn missing_kernel_features() -> Vec<String> {
    static MISSING: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    MISSING
        .get_or_init(|| {
            let Ok(mut nl) = cnm_drivers::sys::Netlink::open() else {
                return Vec::new();
            };
            PROBED_LINK_KINDS
                .iter()
                .filter(|(kind, _)| matches!(nl.supports_link_kind(kind), Ok(false)))
                .map(|(_, what)| (*what).to_string())
                .collect()
        })
        .clone()
}

type EventStream = Pin<Box<dyn Stream<Item = Result<pb::Event, Status>> + Send>>;

#[tonic::async_trait]
impl SystemService for SystemApi {
    async fn info(
        &self,
        _request: Request<pb::InfoRequest>,
    ) -> Result<Response<pb::InfoResponse>, Status> {
        let (networks, endpoints, sandboxes) = self.core.counts();
        let (running, stopped) = self.containers.counts();
        let (cgroup_version, missing) = tokio::task::spawn_blocking(|| {
            (cnm_runtime::cgroup_summary(), missing_kernel_features())
        })
        .await
        .map_err(|e| Status::internal(format!("system info: {e}")))?;
        Ok(Response::new(pb::InfoResponse {
            version: VERSION.into(),
            networks: networks as u32,
            endpoints: endpoints as u32,
            sandboxes: sandboxes as u32,
            root_dir: self.root_dir.clone(),
            run_root: self.run_root.clone(),
            drivers: self.core.driver_names(),
            kernel_version: kernel_version(),
            warnings: self.core.firewall_warnings(),
            store: self.core.store_description(),
            firewall: format!("nftables (table {})", cnm_firewall::TABLE),
            cgroup_version,
            missing_kernel_features: missing,
            containers_running: running as u32,
            containers_stopped: stopped as u32,
        }))
    }

    async fn version(
        &self,
        _request: Request<pb::VersionRequest>,
    ) -> Result<Response<pb::VersionResponse>, Status> {
        Ok(Response::new(pb::VersionResponse {
            version: VERSION.into(),
            api_version: API_VERSION.into(),
            os: std::env::consts::OS.into(),
            arch: std::env::consts::ARCH.into(),
        }))
    }

    type EventsStream = EventStream;

    async fn events(
        &self,
        request: Request<pb::EventsRequest>,
    ) -> Result<Response<EventStream>, Status> {
        let filters = request.into_inner().filters;
        let filter =
            EventFilter::parse(filters.iter().map(|f| (f.key.as_str(), f.value.as_str())))?;
        let stream =
            BroadcastStream::new(self.core.subscribe()).filter_map(move |item| match item {
                Ok(event) if filter.matches(&event) => Some(Ok(to_pb(event))),
                Ok(_) => None,
                // A slow reader missed events: say so instead of silently
                // skipping them.
                Err(BroadcastStreamRecvError::Lagged(n)) => Some(Err(Status::data_loss(format!(
                    "event stream fell behind and lost {n} events"
                )))),
            });
        Ok(Response::new(Box::pin(stream)))
    }
}

fn to_pb(event: Event) -> pb::Event {
    pb::Event {
        r#type: event.kind.into(),
        action: event.action.into(),
        actor_id: event.actor_id,
        attributes: event.attributes.into_iter().collect(),
        time: rfc3339(
            event.time_nano.div_euclid(1_000_000_000),
            event.time_nano.rem_euclid(1_000_000_000) as u32,
        ),
        time_nano: event.time_nano,
    }
}

fn kernel_version() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default()
}
