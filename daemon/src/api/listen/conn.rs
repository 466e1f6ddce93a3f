//! One accepted connection, unix or TLS, as the gRPC server sees it. It
//! holds its listener's connection slot until it closes, and fails reads
//! with `TimedOut` when the client has not sent the HTTP/2 preface within
//! [`PREFACE_TIMEOUT`] (once the preface is in, HTTP/2 pings find silent
//! peers).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Sleep;
use tokio_rustls::server::TlsStream;
use tonic::transport::server::Connected;

use crate::api::limits::PREFACE_TIMEOUT;

/// Length of the HTTP/2 client preface, `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`.
const PREFACE_LEN: usize = 24;

/// Who is on the other end; in each request's extensions.
#[derive(Debug, Clone)]
pub enum ConnInfo {
    Unix,
    Tls { peer: SocketAddr },
}

enum Io {
    Unix(UnixStream),
    // Boxed: the TLS state is large and the unix variant is common.
    Tls(Box<TlsStream<TcpStream>>),
}

pub struct Conn {
    io: Io,
    info: ConnInfo,
    /// Armed until the preface has arrived.
    preface_deadline: Option<Pin<Box<Sleep>>>,
    bytes_read: usize,
    _slot: OwnedSemaphorePermit,
}

impl Conn {
    pub fn unix(stream: UnixStream, slot: OwnedSemaphorePermit) -> Conn {
        Conn::new(Io::Unix(stream), ConnInfo::Unix, slot)
    }

    pub fn tls(stream: TlsStream<TcpStream>, peer: SocketAddr, slot: OwnedSemaphorePermit) -> Conn {
        Conn::new(Io::Tls(Box::new(stream)), ConnInfo::Tls { peer }, slot)
    }

    fn new(io: Io, info: ConnInfo, slot: OwnedSemaphorePermit) -> Conn {
        Conn {
            io,
            info,
            preface_deadline: Some(Box::pin(tokio::time::sleep(PREFACE_TIMEOUT))),
            bytes_read: 0,
            _slot: slot,
        }
    }
}

/// The span of one call: remote calls carry the client's address, so what
/// they change is logged with who asked. Local calls get none.
pub fn call_span(request: &tonic::codegen::http::Request<()>) -> tracing::Span {
    match request.extensions().get::<ConnInfo>() {
        Some(ConnInfo::Tls { peer }) => {
            tracing::info_span!("remote", %peer, call = %request.uri().path())
        }
        _ => tracing::Span::none(),
    }
}

impl Connected for Conn {
    type ConnectInfo = ConnInfo;

    fn connect_info(&self) -> ConnInfo {
        self.info.clone()
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = match &mut this.io {
            Io::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        };
        if let Some(deadline) = &mut this.preface_deadline {
            match polled {
                Poll::Ready(Ok(())) => {
                    this.bytes_read += buf.filled().len() - before;
                    if this.bytes_read >= PREFACE_LEN {
                        this.preface_deadline = None;
                    }
                }
                Poll::Pending if deadline.as_mut().poll(cx).is_ready() => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("no HTTP/2 preface within {PREFACE_TIMEOUT:?}"),
                    )));
                }
                _ => {}
            }
        }
        polled
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().io {
            Io::Unix(s) => Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().io {
            Io::Unix(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.io {
            Io::Unix(s) => s.is_write_vectored(),
            Io::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Unix(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Unix(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
