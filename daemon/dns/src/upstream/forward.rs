//! Forwarding: the original query bytes, with a fresh id, go to every
//! upstream at once over UDP (TCP when the client used TCP and the UDP
//! answer was truncated). The first NOERROR or NXDOMAIN wins, so a dead
//! upstream costs nothing; SERVFAIL/REFUSED are returned only if nobody
//! does better within the timeout.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{timeout, timeout_at, Instant};

use crate::answer::Transport;
use crate::wire::{self, Rcode};

/// Largest UDP answer read from an upstream; a full buffer means the answer
/// may have been cut, and it is fetched again over TCP.
const UDP_BUFFER: usize = 4096;
/// Without an answer by then, the UDP query is sent once more.
const RETRANSMIT_AFTER: Duration = Duration::from_millis(700);

/// Sends queries to upstream resolvers, with a cap on queries in flight.
#[derive(Debug, Clone)]
pub struct Forwarder {
    slots: Arc<Semaphore>,
    timeout: Duration,
}

impl Forwarder {
    /// At most `max_in_flight` forwards at once, each bounded by `timeout`.
    pub fn new(max_in_flight: usize, timeout: Duration) -> Self {
        Forwarder {
            slots: Arc::new(Semaphore::new(max_in_flight)),
            timeout,
        }
    }

    /// A slot for one forward, or `None` when the cap is reached (the caller
    /// answers REFUSED rather than queueing: a stub resolver retries anyway).
    pub fn try_slot(&self) -> Option<OwnedSemaphorePermit> {
        self.slots.clone().try_acquire_owned().ok()
    }

    /// Forwards `query` and returns the reply for the client (its own id
    /// restored). Never fails: without a usable answer the reply is SERVFAIL.
    pub async fn forward(
        &self,
        query: &[u8],
        upstreams: &[SocketAddr],
        transport: Transport,
    ) -> Option<Vec<u8>> {
        let client_id = wire::id(query)?;
        let mut fresh = query.to_vec();
        wire::set_id(&mut fresh, rand::random());
        let fresh: Arc<[u8]> = fresh.into();
        let deadline = Instant::now() + self.timeout;
        let mut attempts = JoinSet::new();
        for &server in upstreams {
            attempts.spawn(exchange(server, fresh.clone(), transport, deadline));
        }
        let mut fallback = None;
        let first_good = timeout_at(deadline, async {
            while let Some(joined) = attempts.join_next().await {
                match joined {
                    Ok(Ok(answer)) if matches!(wire::rcode(&answer), Some(0 | 3)) => {
                        return Some(answer)
                    }
                    Ok(Ok(answer)) => fallback = Some(answer),
                    Ok(Err(e)) => tracing::debug!(error = %e, "upstream failed"),
                    Err(e) => tracing::warn!(error = %e, "upstream task failed"),
                }
            }
            None
        })
        .await;
        // dropping `attempts` aborts the upstreams still running
        let mut reply = match first_good {
            Ok(Some(answer)) => answer,
            _ => fallback.or_else(|| wire::error_reply(query, Rcode::ServFail))?,
        };
        wire::set_id(&mut reply, client_id);
        Some(reply)
    }
}

/// One upstream: UDP, then TCP if the client is on TCP and UDP was truncated.
async fn exchange(
    server: SocketAddr,
    query: Arc<[u8]>,
    transport: Transport,
    deadline: Instant,
) -> io::Result<Vec<u8>> {
    let answer = timeout_at(deadline, udp_exchange(server, &query)).await??;
    let cut = answer.len() >= UDP_BUFFER;
    if cut || (wire::is_truncated(&answer) && transport == Transport::Tcp) {
        return timeout_at(deadline, tcp_exchange(server, &query)).await?;
    }
    Ok(answer)
}

async fn udp_exchange(server: SocketAddr, query: &[u8]) -> io::Result<Vec<u8>> {
    let local: SocketAddr = match server {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    // a connected socket on a random port: the kernel drops datagrams from
    // anyone but the upstream, and ICMP errors fail fast
    let socket = UdpSocket::bind(local).await?;
    socket.connect(server).await?;
    socket.send(query).await?;
    let mut buf = vec![0u8; UDP_BUFFER];
    if let Ok(answer) = timeout(RETRANSMIT_AFTER, recv_answer(&socket, query, &mut buf)).await {
        return answer;
    }
    socket.send(query).await?;
    recv_answer(&socket, query, &mut buf).await
}

async fn recv_answer(socket: &UdpSocket, query: &[u8], buf: &mut [u8]) -> io::Result<Vec<u8>> {
    loop {
        let n = socket.recv(buf).await?;
        if wire::answers(query, &buf[..n]) {
            return Ok(buf[..n].to_vec());
        }
    }
}

async fn tcp_exchange(server: SocketAddr, query: &[u8]) -> io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(server).await?;
    let len = u16::try_from(query.len()).map_err(|_| io::ErrorKind::InvalidInput)?;
    let mut framed = Vec::with_capacity(query.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(query);
    stream.write_all(&framed).await?;
    let len = stream.read_u16().await?;
    let mut answer = vec![0u8; usize::from(len)];
    stream.read_exact(&mut answer).await?;
    if wire::answers(query, &answer) {
        Ok(answer)
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "TCP answer does not match the query",
        ))
    }
}

#[cfg(test)]
#[path = "forward_tests.rs"]
mod tests;
