//! A minimal HTTP/1 responder for `GET /metrics`: one request per
//! connection, then close. Scrapers need nothing more, and it keeps a web
//! framework out of the daemon.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{Gauges, METRICS};
use crate::containers::Containers;
use crate::core::Core;

/// Longest request head accepted, and time a client has to send it.
const MAX_HEAD: usize = 8 << 10;
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);

/// Binds `addr` (an error if it cannot) and serves in the background.
pub async fn serve(
    addr: SocketAddr,
    core: Arc<Core>,
    containers: Arc<Containers>,
) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("listen for metrics on {addr}"))?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let (core, containers) = (core.clone(), containers.clone());
                    tokio::spawn(async move {
                        if let Err(err) = answer(stream, core, containers).await {
                            tracing::debug!(error = %err, "metrics request");
                        }
                    });
                }
                Err(err) => {
                    tracing::warn!(error = %err, "metrics listener: accept");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    });
    Ok(bound)
}

async fn answer(
    mut stream: TcpStream,
    core: Arc<Core>,
    containers: Arc<Containers>,
) -> anyhow::Result<()> {
    let head = tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut stream))
        .await
        .context("request head timed out")??;
    let mut words = head.split_ascii_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    let (status, body) = match (method, path) {
        ("GET", "/metrics") => {
            let gauges = tokio::task::spawn_blocking(move || gauges(&core, &containers)).await?;
            let text = METRICS.render(&gauges, cnm_firewall::transaction_stats());
            ("200 OK", text)
        }
        ("GET", _) => (
            "404 Not Found",
            "not found; metrics are at /metrics\n".to_owned(),
        ),
        _ => ("405 Method Not Allowed", "only GET\n".to_owned()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await?;
    Ok(())
}

/// Reads up to the blank line that ends the request head.
async fn read_head(stream: &mut TcpStream) -> anyhow::Result<String> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        anyhow::ensure!(head.len() < MAX_HEAD, "request head too large");
        let n = stream.read(&mut buf).await?;
        anyhow::ensure!(n > 0, "connection closed before the request ended");
        head.extend_from_slice(&buf[..n]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

fn gauges(core: &Core, containers: &Containers) -> Gauges {
    let objects = core.object_counts();
    let (running, stopped) = containers.counts();
    Gauges {
        networks: objects.networks,
        endpoints: objects.endpoints,
        sandboxes: objects.sandboxes,
        containers_running: running,
        containers_stopped: stopped,
        dns: core.dns_stats(),
    }
}
