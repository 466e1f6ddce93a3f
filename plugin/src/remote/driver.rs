//! `RemoteDriver`: a network driver plugin speaking `cnm.driver.v1`.

use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use ::pb::driver::v1 as pb;
use cnm_drivers::{
    Capabilities, Driver, DriverError, EndpointSpec, JoinInfo, NetworkSpec, PluginFailure,
    PortBinding, SandboxSpec,
};
use pb::driver_client::DriverClient;
use tonic::transport::Channel;
use tonic::Status;

use super::{call_blocking, replayed, Remote, Reply};
use crate::link::Link;
use crate::runtime::block_on;
use crate::wire::driver::{
    capabilities_from_wire, endpoint_to_wire, error_of, join_from_wire, network_to_wire,
    ports_to_wire,
};

/// What a (re)connected driver plugin is told again, read from cnmd's store.
pub trait DriverReplay: Send + Sync {
    /// The networks of driver `name`, each with its endpoints.
    fn networks(&self, name: &str) -> Vec<(NetworkSpec, Vec<ReplayEndpoint>)>;
}

/// An endpoint as a reconnected plugin is told it again.
#[derive(Debug, Clone)]
pub struct ReplayEndpoint {
    pub spec: EndpointSpec,
    /// Its published ports (ProgramExternalConnectivity is replayed too).
    pub ports: Vec<PortBinding>,
}

/// Capabilities assumed while a plugin cannot be asked: the usual kind
/// (one host, interfaces of its own). Calls that matter fail meanwhile.
const ASSUMED: Capabilities = Capabilities {
    scope: "local",
    creates_interfaces: true,
};

/// A driver plugin, called through the [`Driver`] trait.
pub struct RemoteDriver {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    link: Link,
    replay: Option<Arc<dyn DriverReplay>>,
    capabilities: Mutex<Option<Capabilities>>,
}

impl RemoteDriver {
    /// The plugin that users call `name`, listening on `socket`; `replay`
    /// (if any) is told again on every new connection. Nothing is sent
    /// until the first verb.
    pub fn new(name: &str, socket: PathBuf, replay: Option<Arc<dyn DriverReplay>>) -> RemoteDriver {
        RemoteDriver {
            inner: Arc::new(Inner {
                name: name.to_owned(),
                link: Link::new(socket),
                replay,
                capabilities: Mutex::new(None),
            }),
        }
    }

    /// Connects now (handshake and replay) unless connected already.
    pub fn connect(&self) -> Result<(), DriverError> {
        let inner = self.inner.clone();
        let result = block_on(async move {
            let setup = |channel| inner.setup(channel);
            inner.link.ready(&setup).await.map(drop)
        });
        self.settle(result)
    }

    /// Runs one RPC: `verb` with `req` on a ready connection.
    fn call<Req, T>(
        &self,
        req: Req,
        verb: fn(&mut DriverClient<Channel>, Req) -> Reply<'_, T>,
    ) -> Result<T, DriverError>
    where
        Req: Clone + Send + Sync + 'static,
        T: Send + 'static,
    {
        self.settle(call_blocking(&self.inner, DriverClient::new, req, verb))
    }

    fn settle<T>(&self, result: Result<Result<T, Status>, String>) -> Result<T, DriverError> {
        match result {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(status)) => Err(error_of(&self.inner.name, &status)),
            Err(message) => Err(DriverError::Plugin {
                driver: self.inner.name.clone(),
                failure: PluginFailure::Failed,
                message,
            }),
        }
    }

    fn network_call(
        &self,
        verb: fn(&mut DriverClient<Channel>, pb::NetworkRequest) -> Reply<'_, pb::Ack>,
        net: &NetworkSpec,
    ) -> Result<(), DriverError> {
        self.call(network_request(net, false), verb).map(drop)
    }

    fn endpoint_call(
        &self,
        verb: fn(&mut DriverClient<Channel>, pb::EndpointRequest) -> Reply<'_, pb::Ack>,
        net: &NetworkSpec,
        ep: &EndpointSpec,
    ) -> Result<(), DriverError> {
        self.call(endpoint_request(net, ep, false), verb).map(drop)
    }
}

// Live verbs and the replay build their requests here alike, so a replayed
// request differs from the live one only in `replay`.
fn network_request(net: &NetworkSpec, replay: bool) -> pb::NetworkRequest {
    pb::NetworkRequest {
        network: Some(network_to_wire(net)),
        replay,
    }
}

fn endpoint_request(net: &NetworkSpec, ep: &EndpointSpec, replay: bool) -> pb::EndpointRequest {
    pb::EndpointRequest {
        network: Some(network_to_wire(net)),
        endpoint: Some(endpoint_to_wire(ep)),
        replay,
    }
}

fn connectivity_request(
    net: &NetworkSpec,
    ep: &EndpointSpec,
    ports: &[PortBinding],
) -> pb::ExternalConnectivityRequest {
    pb::ExternalConnectivityRequest {
        network: Some(network_to_wire(net)),
        endpoint: Some(endpoint_to_wire(ep)),
        ports: ports_to_wire(ports),
    }
}

impl Remote for Inner {
    fn link(&self) -> &Link {
        &self.link
    }

    /// Every new connection: capabilities, then the replay of what the
    /// plugin should know.
    async fn setup(&self, channel: Channel) -> Result<(), Status> {
        let mut client = DriverClient::new(channel);
        let caps = client
            .get_capabilities(pb::GetCapabilitiesRequest {})
            .await?
            .into_inner();
        *self.capabilities.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(capabilities_from_wire(&caps));
        let Some(replay) = self.replay.clone() else {
            return Ok(());
        };
        let name = self.name.clone();
        let state = tokio::task::spawn_blocking(move || replay.networks(&name))
            .await
            .map_err(|err| Status::internal(format!("read the state to replay: {err}")))?;
        let endpoints: usize = state.iter().map(|(_, eps)| eps.len()).sum();
        for (net, eps) in &state {
            let done = client
                .create_network(network_request(net, true))
                .await
                .map(drop);
            replayed(done, &self.name, &format!("network {}", net.name))?;
            for ep in eps {
                let what = format!("endpoint {}", ep.spec.id);
                let done = client
                    .create_endpoint(endpoint_request(net, &ep.spec, true))
                    .await
                    .map(drop);
                replayed(done, &self.name, &what)?;
                if ep.ports.is_empty() {
                    continue;
                }
                let done = client
                    .program_external_connectivity(connectivity_request(net, &ep.spec, &ep.ports))
                    .await
                    .map(drop);
                replayed(done, &self.name, &format!("ports of {what}"))?;
            }
        }
        tracing::info!(driver = %self.name, socket = %self.link.socket().display(),
            networks = state.len(), endpoints, "connected to driver plugin and replayed its state");
        Ok(())
    }
}

impl Driver for RemoteDriver {
    fn name(&self) -> &str {
        &self.inner.name
    }

    /// As the plugin said on the last connection; asks now if never
    /// connected, and assumes [`ASSUMED`] if the plugin cannot be reached.
    fn capabilities(&self) -> Capabilities {
        let cached = || {
            self.inner
                .capabilities
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
        };
        if let Some(caps) = cached() {
            return caps;
        }
        if let Err(err) = self.connect() {
            tracing::warn!(driver = %self.inner.name, error = %err, "cannot ask the plugin for its capabilities");
        }
        cached().unwrap_or(ASSUMED)
    }

    fn validate_network(&self, net: &NetworkSpec) -> Result<(), DriverError> {
        self.network_call(|c, r| Box::pin(c.validate_network(r)), net)
    }

    fn create_network(&self, net: &NetworkSpec) -> Result<(), DriverError> {
        self.network_call(|c, r| Box::pin(c.create_network(r)), net)
    }

    fn delete_network(&self, net: &NetworkSpec) -> Result<(), DriverError> {
        self.network_call(|c, r| Box::pin(c.delete_network(r)), net)
    }

    fn create_endpoint(&self, net: &NetworkSpec, ep: &EndpointSpec) -> Result<(), DriverError> {
        self.endpoint_call(|c, r| Box::pin(c.create_endpoint(r)), net, ep)
    }

    fn delete_endpoint(&self, net: &NetworkSpec, ep: &EndpointSpec) -> Result<(), DriverError> {
        self.endpoint_call(|c, r| Box::pin(c.delete_endpoint(r)), net, ep)
    }

    /// The sandbox goes over as a path the plugin can open while the call
    /// lasts: this process's descriptor of it under /proc, which names the
    /// very namespace the core checked (a netns path could have been
    /// remounted meanwhile).
    fn join(
        &self,
        net: &NetworkSpec,
        ep: &EndpointSpec,
        sandbox: SandboxSpec<'_>,
    ) -> Result<JoinInfo, DriverError> {
        let req = pb::JoinRequest {
            network: Some(network_to_wire(net)),
            endpoint: Some(endpoint_to_wire(ep)),
            sandbox_key: format!(
                "/proc/{}/fd/{}",
                std::process::id(),
                sandbox.netns.as_raw_fd()
            ),
            ifname: sandbox.ifname.to_owned(),
        };
        let resp = self.call(req, |c, r| Box::pin(c.join(r)))?;
        join_from_wire(&resp).map_err(|status| DriverError::Plugin {
            driver: self.inner.name.clone(),
            failure: PluginFailure::Failed,
            message: format!("invalid answer to Join: {}", status.message()),
        })
    }

    fn leave(&self, net: &NetworkSpec, ep: &EndpointSpec) -> Result<(), DriverError> {
        self.endpoint_call(|c, r| Box::pin(c.leave(r)), net, ep)
    }

    fn program_external_connectivity(
        &self,
        net: &NetworkSpec,
        ep: &EndpointSpec,
        ports: &[PortBinding],
    ) -> Result<(), DriverError> {
        let req = connectivity_request(net, ep, ports);
        self.call(req, |c, r| Box::pin(c.program_external_connectivity(r)))
            .map(drop)
    }

    fn revoke_external_connectivity(
        &self,
        net: &NetworkSpec,
        ep: &EndpointSpec,
    ) -> Result<(), DriverError> {
        self.endpoint_call(|c, r| Box::pin(c.revoke_external_connectivity(r)), net, ep)
    }

    // `reconcile` keeps the default, nothing: a plugin owns its objects,
    // and is told what exists on every new connection instead (the replay).
}
