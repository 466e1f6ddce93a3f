//! UDP: one task per listen address reads datagrams; local answers go out
//! inline, forwards run in their own tasks so the socket keeps reading.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;

use super::shared::{Action, Shared};
use crate::answer::{Query, Transport};

/// Largest query accepted over UDP (EDNS payloads beyond this are rare).
const MAX_QUERY: usize = 4096;

/// Serves one UDP socket until the task is aborted or the server stops.
pub(crate) async fn serve_udp(socket: UdpSocket, listen: IpAddr, shared: Arc<Shared>) {
    let socket = Arc::new(socket);
    let mut buf = vec![0u8; MAX_QUERY];
    loop {
        let received = tokio::select! {
            () = shared.stop.cancelled() => return,
            r = socket.recv_from(&mut buf) => r,
        };
        let (len, peer) = match received {
            Ok(r) => r,
            Err(e) => {
                // e.g. ENOMEM under pressure; do not spin
                tracing::warn!(%listen, error = %e, "UDP receive failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let packet = &buf[..len];
        let query = Query {
            listen,
            src: peer.ip(),
            packet,
            transport: Transport::Udp,
        };
        match shared.decide(query) {
            Action::Reply(reply) => {
                if let Err(e) = socket.send_to(&reply, peer).await {
                    tracing::debug!(%peer, error = %e, "UDP send failed");
                }
            }
            Action::Forward(upstreams, slot) => {
                let packet = packet.to_vec();
                let (socket, shared2) = (socket.clone(), shared.clone());
                shared.tasks.spawn(async move {
                    let reply = shared2
                        .forwarder
                        .forward(&packet, &upstreams, Transport::Udp)
                        .await;
                    drop(slot);
                    if let Some(reply) = reply {
                        let _ = socket.send_to(&reply, peer).await;
                    }
                });
            }
            Action::Drop => {}
        }
    }
}
