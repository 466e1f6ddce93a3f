//! TCP: length-prefixed queries, one task per connection, answered in
//! order; idle connections are closed, and so are connections beyond the cap.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

use super::shared::{Action, Shared};
use crate::answer::{Query, Transport};

/// Accepts connections on one listener until aborted or stopped.
pub(crate) async fn serve_tcp(listener: TcpListener, listen: IpAddr, shared: Arc<Shared>) {
    loop {
        let accepted = tokio::select! {
            () = shared.stop.cancelled() => return,
            r = listener.accept() => r,
        };
        let (stream, peer) = match accepted {
            Ok(r) => r,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning
                tracing::warn!(%listen, error = %e, "TCP accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = shared.tcp_slots.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "TCP connection cap reached, closing");
            continue;
        };
        let shared2 = shared.clone();
        shared.tasks.spawn(async move {
            if let Err(e) = connection(stream, peer, listen, &shared2).await {
                tracing::debug!(%peer, error = %e, "TCP connection ended");
            }
            drop(slot);
        });
    }
}

async fn connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    listen: IpAddr,
    shared: &Shared,
) -> io::Result<()> {
    let _ = stream.set_nodelay(true);
    loop {
        let len = tokio::select! {
            () = shared.stop.cancelled() => return Ok(()),
            r = timeout(shared.tcp_idle, stream.read_u16()) => match r {
                Ok(Ok(len)) => len,
                // the client closed between messages: a normal end
                Ok(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(()), // idle
            },
        };
        let mut packet = vec![0u8; usize::from(len)];
        timeout(shared.tcp_idle, stream.read_exact(&mut packet))
            .await
            .map_err(|_| io::ErrorKind::TimedOut)??;
        let query = Query {
            listen,
            src: peer.ip(),
            packet: &packet,
            transport: Transport::Tcp,
        };
        let reply = match shared.decide(query) {
            Action::Reply(reply) => reply,
            Action::Forward(upstreams, _slot) => {
                match shared
                    .forwarder
                    .forward(&packet, &upstreams, Transport::Tcp)
                    .await
                {
                    Some(reply) => reply,
                    None => continue,
                }
            }
            Action::Drop => continue,
        };
        let len = u16::try_from(reply.len()).map_err(|_| io::ErrorKind::InvalidData)?;
        let mut framed = Vec::with_capacity(reply.len() + 2);
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(&reply);
        stream.write_all(&framed).await?;
    }
}
