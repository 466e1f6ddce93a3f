//! The set of bound listen addresses, reconciled against the snapshot:
//! new gateways are bound, removed ones closed, failed binds retried.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use tokio::task::AbortHandle;

use super::bind::{bind_tcp, bind_udp};
use super::shared::Shared;
use super::tcp::serve_tcp;
use super::udp::UdpListener;

/// The UDP thread and TCP task of one listen address; dropping it stops both.
struct Bound {
    _udp: UdpListener,
    tcp: AbortHandle,
}

impl Drop for Bound {
    fn drop(&mut self) {
        self.tcp.abort();
    }
}

/// Listen addresses currently served.
pub(crate) struct ListenerSet {
    port: u16,
    active: HashMap<IpAddr, Bound>,
    failed: HashSet<IpAddr>,
}

impl ListenerSet {
    pub(crate) fn new(port: u16) -> Self {
        ListenerSet {
            port,
            active: HashMap::new(),
            failed: HashSet::new(),
        }
    }

    /// Addresses bound.
    pub(crate) fn active(&self) -> usize {
        self.active.len()
    }

    /// Addresses wanted but not bound.
    pub(crate) fn failed(&self) -> usize {
        self.failed.len()
    }

    /// Binds what the current snapshot lists and closes what it no longer does.
    pub(crate) fn reconcile(&mut self, shared: &Arc<Shared>) {
        let wanted: HashSet<IpAddr> = shared.records.load().listen_addrs().collect();
        self.active.retain(|addr, _| {
            let keep = wanted.contains(addr);
            if !keep {
                tracing::info!(%addr, "closing listener");
            }
            keep
        });
        self.failed.retain(|addr| wanted.contains(addr));
        for addr in wanted {
            if self.active.contains_key(&addr) {
                continue;
            }
            match self.bind(addr, shared) {
                Ok(bound) => {
                    tracing::info!(%addr, port = self.port, "listening");
                    self.failed.remove(&addr);
                    self.active.insert(addr, bound);
                }
                Err(e) => {
                    if self.failed.insert(addr) {
                        tracing::error!(%addr, port = self.port, error = %e, "cannot listen, retrying every second");
                    }
                }
            }
        }
    }

    fn bind(&self, addr: IpAddr, shared: &Arc<Shared>) -> io::Result<Bound> {
        let sockaddr = SocketAddr::new(addr, self.port);
        let udp = bind_udp(sockaddr)?;
        let tcp = bind_tcp(sockaddr)?;
        Ok(Bound {
            _udp: UdpListener::start(udp, addr, shared.clone())?,
            tcp: tokio::spawn(serve_tcp(tcp, addr, shared.clone())).abort_handle(),
        })
    }
}
