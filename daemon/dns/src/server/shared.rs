//! State shared by every listener task: the swapped record index and host
//! upstreams, the forwarder, and the shutdown plumbing.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::stats::Counters;
use super::ServerConfig;
use crate::answer::{answer, Outcome, Query};
use crate::records::RecordIndex;
use crate::upstream::Forwarder;
use crate::wire::{self, Rcode};

/// Read by every query, written by the watcher.
pub(crate) struct Shared {
    pub(crate) records: ArcSwap<RecordIndex>,
    pub(crate) host_upstreams: ArcSwap<Vec<SocketAddr>>,
    pub(crate) forwarder: Forwarder,
    pub(crate) tcp_slots: Arc<Semaphore>,
    pub(crate) tcp_idle: Duration,
    /// Forwards and TCP connections, waited for on shutdown.
    pub(crate) tasks: TaskTracker,
    /// Cancelled when the sockets close.
    pub(crate) stop: CancellationToken,
    /// Query counters for cnmd's `/metrics`.
    pub(crate) counters: Counters,
    rotation: AtomicUsize,
}

/// What a listener does with one packet.
pub(crate) enum Action {
    /// Send now.
    Reply(Vec<u8>),
    /// Forward to these upstreams holding this slot, then send.
    Forward(Vec<SocketAddr>, tokio::sync::OwnedSemaphorePermit),
    /// Nothing to send.
    Drop,
}

impl Shared {
    pub(crate) fn new(
        config: &ServerConfig,
        index: RecordIndex,
        upstreams: Vec<SocketAddr>,
    ) -> Shared {
        Shared {
            records: ArcSwap::from_pointee(index),
            host_upstreams: ArcSwap::from_pointee(upstreams),
            forwarder: Forwarder::new(config.max_forwards, config.forward_timeout),
            tcp_slots: Arc::new(Semaphore::new(config.max_tcp_connections)),
            tcp_idle: config.tcp_idle_timeout,
            tasks: TaskTracker::new(),
            stop: CancellationToken::new(),
            counters: Counters::default(),
            rotation: AtomicUsize::new(0),
        }
    }

    /// Decides what to do with one query; lock-free.
    pub(crate) fn decide(&self, query: Query<'_>) -> Action {
        let c = &self.counters;
        Counters::bump(&c.queries);
        let records = self.records.load();
        let rotation = self.rotation.fetch_add(1, Ordering::Relaxed);
        let upstreams = match answer(&records, query, rotation) {
            Outcome::Reply(bytes) => {
                let refused = wire::rcode(&bytes) == Some(Rcode::Refused as u8);
                Counters::bump(if refused {
                    &c.refused
                } else {
                    &c.local_answers
                });
                return Action::Reply(bytes);
            }
            Outcome::Drop => return Action::Drop,
            Outcome::Forward(Some(overrides)) => overrides.to_vec(),
            Outcome::Forward(None) => self.host_upstreams.load().as_ref().clone(),
        };
        // never forward to ourselves: a gateway listed as upstream would loop
        let upstreams: Vec<SocketAddr> = upstreams
            .into_iter()
            .filter(|u| !records.is_listen(u.ip()))
            .collect();
        if upstreams.is_empty() {
            Counters::bump(&c.servfail);
            return reply_or_drop(query.packet, Rcode::ServFail);
        }
        match self.forwarder.try_slot() {
            Some(slot) => {
                Counters::bump(&c.forwards);
                Action::Forward(upstreams, slot)
            }
            None => {
                tracing::debug!("forward cap reached, refusing");
                Counters::bump(&c.refused);
                reply_or_drop(query.packet, Rcode::Refused)
            }
        }
    }
}

fn reply_or_drop(packet: &[u8], rcode: Rcode) -> Action {
    wire::error_reply(packet, rcode).map_or(Action::Drop, Action::Reply)
}
