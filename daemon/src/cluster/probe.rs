//! The start-up check of the etcd members: one TCP connection to each, the
//! TLS handshake for `etcds://`, and the opening of HTTP/2 (etcd's gRPC),
//! all within the connect deadline. It exists for its errors: the etcd
//! client's balanced channel retries a member it cannot use (wrong CA,
//! expired certificate, client certificate required, plain HTTP to a TLS
//! port) without saying why, so cnmd would only report "no answer".

use std::io::ErrorKind;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::tls::EtcdTls;

/// What an HTTP/2 client sends first: the preface and an empty SETTINGS.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0";

/// HTTP/2's SETTINGS frame type: a server's first frame.
const SETTINGS: u8 = 4;

/// Checks every member at once within `deadline`; Ok when at least one
/// speaks etcd's protocol (the others are logged: the client balances
/// over the members that work). Otherwise why: the one member's reason,
/// or each member's.
pub(super) async fn members(
    endpoints: &[String],
    tls: Option<&EtcdTls>,
    deadline: Duration,
) -> Result<(), String> {
    let mut checks = tokio::task::JoinSet::new();
    for endpoint in endpoints {
        let member = endpoint
            .split_once("://")
            .map_or(endpoint.as_str(), |(_, m)| m)
            .to_owned();
        let tls = tls.cloned().map(Arc::new);
        checks.spawn(async move {
            let verdict = tokio::time::timeout(deadline, member_speaks(&member, tls.as_deref()))
                .await
                .unwrap_or_else(|_| Err(format!("no answer within {deadline:?}")));
            (member, verdict)
        });
    }
    let mut failures = Vec::new();
    let mut working = 0;
    while let Some(joined) = checks.join_next().await {
        match joined {
            Ok((_, Ok(()))) => working += 1,
            Ok((member, Err(reason))) => failures.push((member, reason)),
            Err(err) => failures.push(("?".to_owned(), format!("probe failed: {err}"))),
        }
    }
    failures.sort();
    if working > 0 {
        for (member, reason) in failures {
            tracing::warn!(member = %member, "etcd member unusable, using the others: {reason}");
        }
        return Ok(());
    }
    if let [(_, reason)] = &failures[..] {
        return Err(reason.clone());
    }
    let each: Vec<String> = failures
        .iter()
        .map(|(member, reason)| format!("{member}: {reason}"))
        .collect();
    Err(each.join("; "))
}

/// Connects to `member` (`HOST:PORT`) and opens HTTP/2 on it, over TLS
/// when given; the reason it is unusable otherwise.
async fn member_speaks(member: &str, tls: Option<&EtcdTls>) -> Result<(), String> {
    let tcp = TcpStream::connect(member)
        .await
        .map_err(|err| format!("cannot connect: {err}"))?;
    let Some(tls) = tls else {
        return opens_http2(tcp).await.map_err(|err| {
            if err.kind() == ErrorKind::UnexpectedEof || err.kind() == ErrorKind::ConnectionReset {
                // A TLS server drops a client whose first bytes are not a
                // TLS handshake, without a word.
                format!(
                    "closed the connection when spoken to in plain HTTP/2; if etcd serves TLS \
                     (--cert-file), use --cluster-store etcds://{member} with --cluster-cacert"
                )
            } else {
                err.to_string()
            }
        });
    };
    let host = host_of(member);
    let name = ServerName::try_from(host.to_owned())
        .map_err(|_| format!("{host:?} is not a valid host name or address"))?;
    let explain = |err: std::io::Error| match err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    {
        Some(tls_error) => tls.explain(host, tls_error),
        None if err.kind() == ErrorKind::UnexpectedEof => {
            "closed the connection during the TLS handshake".to_owned()
        }
        None => format!("the TLS handshake failed: {err}"),
    };
    let stream = TlsConnector::from(tls.probe.clone())
        .connect(name, tcp)
        .await
        .map_err(explain)?;
    // In TLS 1.3 etcd checks the client certificate after the client's
    // handshake is done: its verdict (an alert) arrives on the first read.
    opens_http2(stream).await.map_err(explain)
}

/// Sends the HTTP/2 preface and reads the server's first frame header,
/// which must be SETTINGS.
async fn opens_http2(mut stream: impl AsyncRead + AsyncWrite + Unpin) -> std::io::Result<()> {
    stream.write_all(PREFACE).await?;
    stream.flush().await?;
    let mut header = [0u8; 9];
    stream.read_exact(&mut header).await?;
    if header[3] != SETTINGS {
        return Err(std::io::Error::other(format!(
            "answered, but not in HTTP/2 (first bytes {:?}); is this etcd's client port?",
            String::from_utf8_lossy(&header)
        )));
    }
    Ok(())
}

/// The host of `HOST:PORT` or `[V6]:PORT`, for the certificate check.
fn host_of(member: &str) -> &str {
    let host = member.rsplit_once(':').map_or(member, |(host, _)| host);
    host.trim_start_matches('[').trim_end_matches(']')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_is_the_member_without_its_port() {
        assert_eq!(host_of("10.0.0.1:2379"), "10.0.0.1");
        assert_eq!(host_of("etcd.example:2379"), "etcd.example");
        assert_eq!(host_of("[fd00::1]:2379"), "fd00::1");
    }

    /// A member that takes one connection, sends `answer`, reads what the
    /// client sends and hangs up.
    async fn member_answering(answer: &'static [u8]) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            if let Ok((mut conn, _)) = listener.accept().await {
                let _ = conn.write_all(answer).await;
                let mut buf = [0u8; 64];
                let _ = conn.read(&mut buf).await;
            }
        });
        addr
    }

    #[tokio::test]
    async fn a_plain_server_that_hangs_up_is_suspected_of_tls() {
        // Reads the preface and hangs up without a word, as a TLS server does.
        let addr = member_answering(&[]).await;
        let endpoints = [format!("http://{addr}")];
        let err = members(&endpoints, None, Duration::from_secs(4))
            .await
            .expect_err("not etcd");
        assert!(err.contains(&format!("etcds://{addr}")), "{err}");
    }

    #[tokio::test]
    async fn a_member_that_answers_http2_is_usable() {
        let addr = member_answering(&[0, 0, 0, SETTINGS, 0, 0, 0, 0, 0]).await;
        // A dead member next to it is only logged.
        let endpoints = [format!("http://{addr}"), "http://127.0.0.1:1".to_owned()];
        members(&endpoints, None, Duration::from_secs(4))
            .await
            .expect("one member works");
    }
}
