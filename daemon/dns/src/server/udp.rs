//! UDP: one thread per listen address blocks in `recvmmsg`, answers local
//! names inline from the snapshot and sends the replies with one `sendmmsg`;
//! queries that need an upstream go to the tokio runtime so the socket keeps
//! reading.
//!
//! Why (measured with `bench/dns-bench.sh`): ~85% of the resolver's time is
//! the kernel's socket path, so the syscall count is what matters. Batching
//! cut server CPU per query by a quarter (7.3 -> 5.4 us) under 100 queries
//! in flight. The thread, unlike a tokio task, sleeps in `recvmmsg` itself
//! instead of `epoll_wait` + `recvfrom`, which cut the one-in-flight round
//! trip (p50 21.6 -> 19 us).

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use socket2::{SockAddr, SockRef};
use tokio::runtime::Handle;
use tokio::sync::OwnedSemaphorePermit;

use super::mmsg::{Inbox, Outbox};
use super::shared::{Action, Shared};
use crate::answer::{Query, Transport};

/// A reply to a forwarded query that meets a full send buffer is retried
/// this often, this many times, before it is dropped (the client retries).
const SEND_RETRY: Duration = Duration::from_millis(2);
const SEND_ATTEMPTS: u32 = 50;

/// The serving thread of one UDP socket; dropping this stops it.
pub(crate) struct UdpListener {
    socket: Arc<UdpSocket>,
    stop: Arc<AtomicBool>,
}

impl UdpListener {
    /// Starts serving `socket` (blocking mode) on a new thread. Must be
    /// called inside the runtime that runs the forwards.
    pub(crate) fn start(
        socket: UdpSocket,
        listen: IpAddr,
        shared: Arc<Shared>,
    ) -> io::Result<UdpListener> {
        let socket = Arc::new(socket);
        let stop = Arc::new(AtomicBool::new(false));
        let worker = Worker {
            socket: socket.clone(),
            listen,
            shared,
            runtime: Handle::current(),
            stop: stop.clone(),
        };
        std::thread::Builder::new()
            .name("cnm-dns-udp".into())
            .spawn(move || worker.run())?;
        Ok(UdpListener { socket, stop })
    }
}

impl Drop for UdpListener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wakes the thread if it is blocked in recvmmsg: on Linux, shutdown
        // of an unconnected UDP socket fails with ENOTCONN but still marks
        // the receive side shut and wakes every reader, and later reads
        // return at once. Sends (forward replies in flight) keep working.
        let _ = SockRef::from(&*self.socket).shutdown(std::net::Shutdown::Read);
    }
}

struct Worker {
    socket: Arc<UdpSocket>,
    listen: IpAddr,
    shared: Arc<Shared>,
    runtime: Handle,
    stop: Arc<AtomicBool>,
}

impl Worker {
    fn run(self) {
        let mut inbox = Inbox::new();
        let mut outbox = Outbox::new();
        while !self.stopped() {
            if let Err(e) = inbox.recv(&*self.socket) {
                if e.kind() != io::ErrorKind::Interrupted && !self.stopped() {
                    // e.g. ENOMEM under pressure; do not spin
                    tracing::warn!(listen = %self.listen, error = %e, "UDP receive failed");
                    std::thread::sleep(Duration::from_millis(10));
                }
                continue;
            }
            for (packet, peer) in inbox.iter() {
                let query = Query {
                    listen: self.listen,
                    src: peer.ip(),
                    packet,
                    transport: Transport::Udp,
                };
                match self.shared.decide(query) {
                    Action::Reply(reply) => outbox.push(reply, peer),
                    Action::Forward(upstreams, slot) => {
                        self.forward(packet.to_vec(), upstreams, slot, peer);
                    }
                    Action::Drop => {}
                }
            }
            outbox.flush(&*self.socket);
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire) || self.shared.stop.is_cancelled()
    }

    /// Runs one forward on the runtime; its reply is sent from there.
    fn forward(
        &self,
        packet: Vec<u8>,
        upstreams: Vec<SocketAddr>,
        slot: OwnedSemaphorePermit,
        peer: SocketAddr,
    ) {
        let (socket, shared) = (self.socket.clone(), self.shared.clone());
        self.shared.tasks.spawn_on(
            async move {
                let reply = shared
                    .forwarder
                    .forward(&packet, &upstreams, Transport::Udp)
                    .await;
                drop(slot);
                if let Some(reply) = reply {
                    send_reply(&socket, &reply, peer).await;
                }
            },
            &self.runtime,
        );
    }
}

/// Sends without blocking the runtime thread (the socket itself is in
/// blocking mode for the listener thread).
async fn send_reply(socket: &UdpSocket, reply: &[u8], peer: SocketAddr) {
    let to = SockAddr::from(peer);
    for _ in 0..SEND_ATTEMPTS {
        match SockRef::from(socket).send_to_with_flags(reply, &to, libc::MSG_DONTWAIT) {
            Ok(_) => return,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                tokio::time::sleep(SEND_RETRY).await;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                tracing::debug!(%peer, error = %e, "UDP send failed");
                return;
            }
        }
    }
    tracing::debug!(%peer, "UDP send buffer full, dropping a forwarded reply");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::RecordIndex;
    use crate::server::ServerConfig;

    #[tokio::test]
    async fn dropping_the_listener_ends_its_thread_and_closes_the_socket() {
        let shared = Arc::new(Shared::new(
            &ServerConfig::default(),
            RecordIndex::default(),
            Vec::new(),
        ));
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = socket.local_addr().unwrap();
        let listener = UdpListener::start(socket, addr.ip(), shared).unwrap();
        // a query from a stranger is REFUSED: the thread serves
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01a\x00\x00\x01\x00\x01";
        client.send_to(query, addr).unwrap();
        let mut buf = [0u8; 512];
        let n = client.recv(&mut buf).unwrap();
        assert_eq!(crate::wire::rcode(&buf[..n]), Some(5));

        // let the thread block in recvmmsg again, the case the drop must wake
        std::thread::sleep(Duration::from_millis(50));
        // the thread holds the other reference until it ends
        let socket = Arc::downgrade(&listener.socket);
        drop(listener);
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while socket.strong_count() > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the listener thread is still running"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}
