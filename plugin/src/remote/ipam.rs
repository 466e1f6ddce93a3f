//! `RemoteIpam`: an IPAM plugin speaking `cnm.ipam.v1`.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use ::pb::ipam::v1 as pb;
use cnm_drivers::ipam::{
    AddressFamily, IpamDriver, IpamDriverError, Pool, PoolsRequest, PoolsRestore,
};
use ipnetwork::IpNetwork;
use pb::ipam_client::IpamClient;
use tonic::transport::Channel;
use tonic::Status;

use super::{call_blocking, replayed, Remote, Reply};
use crate::link::Link;
use crate::wire::ipam::{
    error_of, family_to_wire, pool_from_wire, pools_request_to_wire, restore_to_wire,
};

/// What a (re)connected IPAM plugin is told again, read from cnmd's store.
pub trait IpamReplay: Send + Sync {
    /// Every network that uses IPAM driver `name`, with its pools and the
    /// addresses its endpoints hold.
    fn networks(&self, name: &str) -> Vec<PoolsRestore>;
}

/// An IPAM plugin, called through the [`IpamDriver`] trait.
pub struct RemoteIpam {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    link: Link,
    replay: Option<Arc<dyn IpamReplay>>,
}

impl RemoteIpam {
    /// The plugin users call `name`, listening on `socket`; `replay` (if
    /// any) is told again on every new connection.
    pub fn new(name: &str, socket: PathBuf, replay: Option<Arc<dyn IpamReplay>>) -> RemoteIpam {
        RemoteIpam {
            inner: Arc::new(Inner {
                name: name.to_owned(),
                link: Link::new(socket),
                replay,
            }),
        }
    }

    /// Runs one RPC: `verb` with `req` on a ready connection.
    fn call<Req, T>(
        &self,
        req: Req,
        verb: fn(&mut IpamClient<Channel>, Req) -> Reply<'_, T>,
    ) -> Result<T, IpamDriverError>
    where
        Req: Clone + Send + Sync + 'static,
        T: Send + 'static,
    {
        let result = call_blocking(&self.inner, IpamClient::new, req, verb);
        match result {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(status)) => Err(error_of(&self.inner.name, &status)),
            Err(message) => Err(IpamDriverError::Failed(format!(
                "IPAM driver {}: {message}",
                self.inner.name
            ))),
        }
    }

    fn invalid_answer(&self, what: &str, status: &Status) -> IpamDriverError {
        IpamDriverError::Failed(format!(
            "IPAM driver {}: invalid answer to {what}: {}",
            self.inner.name,
            status.message()
        ))
    }
}

impl Remote for Inner {
    fn link(&self) -> &Link {
        &self.link
    }

    /// Every new connection: replay the pools and addresses in use.
    async fn setup(&self, channel: Channel) -> Result<(), Status> {
        let Some(replay) = self.replay.clone() else {
            return Ok(());
        };
        let mut client = IpamClient::new(channel);
        let name = self.name.clone();
        let networks = tokio::task::spawn_blocking(move || replay.networks(&name))
            .await
            .map_err(|err| Status::internal(format!("read the state to replay: {err}")))?;
        for net in &networks {
            let done = client.restore_pools(restore_to_wire(net)).await.map(drop);
            replayed(done, &self.name, &format!("network {}", net.network_name))?;
        }
        tracing::info!(ipam = %self.name, socket = %self.link.socket().display(),
            networks = networks.len(), "connected to IPAM plugin and replayed its pools");
        Ok(())
    }
}

impl IpamDriver for RemoteIpam {
    fn name(&self) -> &str {
        &self.inner.name
    }

    fn request_pools(&self, req: &PoolsRequest) -> Result<Vec<Pool>, IpamDriverError> {
        let req = pools_request_to_wire(req);
        let resp = self.call(req, |c, r| Box::pin(c.request_pools(r)))?;
        resp.pools
            .iter()
            .map(pool_from_wire)
            .collect::<Result<_, _>>()
            .map_err(|status| self.invalid_answer("RequestPools", &status))
    }

    fn restore_pools(&self, net: &PoolsRestore) -> Result<(), IpamDriverError> {
        let req = restore_to_wire(net);
        self.call(req, |c, r| Box::pin(c.restore_pools(r)))
            .map(drop)
    }

    fn release_pools(&self, network_id: &str) -> Result<(), IpamDriverError> {
        let req = pb::ReleasePoolsRequest {
            network_id: network_id.to_owned(),
        };
        self.call(req, |c, r| Box::pin(c.release_pools(r)))
            .map(drop)
    }

    fn request_address(
        &self,
        network_id: &str,
        family: AddressFamily,
        preferred: Option<IpAddr>,
    ) -> Result<IpNetwork, IpamDriverError> {
        let req = pb::RequestAddressRequest {
            network_id: network_id.to_owned(),
            family: family_to_wire(family).into(),
            preferred: crate::wire::text(preferred),
        };
        let resp = self.call(req, |c, r| Box::pin(c.request_address(r)))?;
        let addr = crate::wire::cidr("address", &resp.address)
            .map_err(|status| self.invalid_answer("RequestAddress", &status))?;
        if AddressFamily::of(addr.ip()) != family {
            return Err(IpamDriverError::Failed(format!(
                "IPAM driver {}: asked for an {family} address, got {addr}",
                self.inner.name
            )));
        }
        Ok(addr)
    }

    fn release_address(&self, network_id: &str, addr: IpAddr) -> Result<(), IpamDriverError> {
        let req = pb::ReleaseAddressRequest {
            network_id: network_id.to_owned(),
            address: addr.to_string(),
        };
        self.call(req, |c, r| Box::pin(c.release_address(r)))
            .map(drop)
    }
}
