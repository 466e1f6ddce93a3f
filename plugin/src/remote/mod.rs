//! The client ends: a plugin behind a unix socket, seen through the
//! synchronous `Driver` and `IpamDriver` traits, so the core calls a plugin
//! as it calls a built-in.

mod driver;
mod ipam;

pub use driver::{DriverReplay, RemoteDriver, ReplayEndpoint};
pub use ipam::{IpamReplay, RemoteIpam};

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tonic::transport::Channel;
use tonic::Status;

use crate::link::Link;
use crate::runtime::block_on;

/// What a client end keeps behind its `Arc`: the link to the plugin, and
/// the set-up every new connection gets before any call.
trait Remote: Send + Sync + 'static {
    fn link(&self) -> &Link;

    /// The handshake and replay (see `Link::ready`).
    fn setup(&self, channel: Channel) -> impl Future<Output = Result<(), Status>> + Send + '_;
}

/// A generated client method's future, boxed so that a verb can be passed
/// as a plain `fn` (`|client, req| Box::pin(client.join(req))`).
type Reply<'a, T> = Pin<Box<dyn Future<Output = Result<tonic::Response<T>, Status>> + Send + 'a>>;

/// Runs one RPC from a blocking thread: `verb` gets a client (`client`
/// makes it) on a ready connection, and may run twice (see `Link::call`),
/// so each run gets its own copy of `req`. The outer Err says the plugin
/// runtime failed, the inner one what the call answered.
fn call_blocking<R, K, Req, T>(
    remote: &Arc<R>,
    client: fn(Channel) -> K,
    req: Req,
    verb: fn(&mut K, Req) -> Reply<'_, T>,
) -> Result<Result<T, Status>, String>
where
    R: Remote,
    K: Send + 'static,
    Req: Clone + Send + Sync + 'static,
    T: Send + 'static,
{
    let remote = remote.clone();
    block_on(async move {
        let setup = |channel| remote.setup(channel);
        let call = |channel| {
            let mut client = client(channel);
            let req = req.clone();
            async move { verb(&mut client, req).await }
        };
        remote
            .link()
            .call(&setup, call)
            .await
            .map(tonic::Response::into_inner)
    })
}

/// Replays one item; a refusal is logged and the replay goes on (the
/// plugin decides what it can take), a transport failure ends it.
fn replayed(result: Result<(), Status>, plugin: &str, what: &str) -> Result<(), Status> {
    match result {
        Err(status) if crate::link::is_transport(&status) => Err(status),
        Err(status) => {
            tracing::warn!(plugin, object = what, error = %status.message(), "plugin refused replayed state");
            Ok(())
        }
        Ok(()) => Ok(()),
    }
}
