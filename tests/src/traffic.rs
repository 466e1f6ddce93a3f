//! Real traffic between namespaces: echo servers that answer with who they
//! are and whom they saw (the peer's source address), and one-shot TCP/UDP
//! clients. Sockets are opened on a thread that has entered the namespace;
//! a socket keeps its namespace, so the work after that runs anywhere.

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use nix::sched::{setns, CloneFlags};

use crate::host::Host;
use crate::netns::NetNs;

/// How long a client waits for a connection or an answer.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(2);

/// How often a server thread checks whether it should stop.
const POLL: Duration = Duration::from_millis(20);

/// Runs `f` on a fresh thread that has entered `ns`; the caller's thread
/// never changes namespace.
pub fn in_netns<T: Send>(ns: &NetNs, f: impl FnOnce() -> T + Send) -> T {
    in_netns_path(&ns.path(), f)
}

/// [`in_netns`] for a namespace known by its path.
pub fn in_netns_path<T: Send>(path: &std::path::Path, f: impl FnOnce() -> T + Send) -> T {
    let path = path.to_owned();
    thread::scope(|s| {
        s.spawn(move || {
            let file =
                File::open(&path).unwrap_or_else(|e| panic!("open netns {}: {e}", path.display()));
            setns(&file, CloneFlags::CLONE_NEWNET)
                .unwrap_or_else(|e| panic!("setns {}: {e}", path.display()));
            f()
        })
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
    })
}

/// Transport of a server or request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
}

/// What an [`EchoServer`] answered: its tag and the source address it saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub tag: String,
    pub peer: IpAddr,
}

impl Reply {
    fn parse(text: &str) -> Result<Reply, String> {
        let (tag, peer) = text
            .trim()
            .rsplit_once(' ')
            .ok_or_else(|| format!("malformed echo reply {text:?}"))?;
        let peer = peer
            .parse()
            .map_err(|e| format!("malformed peer in echo reply {text:?}: {e}"))?;
        Ok(Reply {
            tag: tag.to_string(),
            peer,
        })
    }
}

/// A TCP or UDP server on `[::]:PORT` (IPv4 too) inside a namespace that
/// answers every connection or datagram with `TAG PEER-IP`. Stops on drop.
pub struct EchoServer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EchoServer {
    /// Starts serving `proto` on `port` in `ns`; `tag` names this server in
    /// replies (e.g. `c1:80`).
    pub fn start(ns: &NetNs, proto: Proto, port: u16, tag: &str) -> EchoServer {
        let stop = Arc::new(AtomicBool::new(false));
        let (tag, flag) = (tag.to_string(), stop.clone());
        let thread = match proto {
            Proto::Tcp => {
                let listener = in_netns(ns, || bind_any(port, TcpListener::bind))
                    .unwrap_or_else(|e| panic!("bind tcp port {port} in {}: {e}", ns.name()));
                listener
                    .set_nonblocking(true)
                    .expect("nonblocking listener");
                thread::spawn(move || serve_tcp(&listener, &tag, &flag))
            }
            Proto::Udp => {
                let socket = in_netns(ns, || bind_any(port, UdpSocket::bind))
                    .unwrap_or_else(|e| panic!("bind udp port {port} in {}: {e}", ns.name()));
                socket.set_read_timeout(Some(POLL)).expect("udp timeout");
                thread::spawn(move || serve_udp(&socket, &tag, &flag))
            }
        };
        EchoServer {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Binds `[::]:port` (dual stack), or `0.0.0.0:port` where IPv6 is off.
fn bind_any<S>(port: u16, bind: fn(SocketAddr) -> std::io::Result<S>) -> std::io::Result<S> {
    bind(SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)))
        .or_else(|_| bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port))))
}

fn serve_tcp(listener: &TcpListener, tag: &str, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((mut stream, peer)) => {
                let _ = stream.set_nonblocking(false);
                let _ = writeln!(stream, "{tag} {}", peer.ip().to_canonical());
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => thread::sleep(POLL),
            Err(e) => eprintln!("cnm-tests: echo server {tag}: accept: {e}"),
        }
    }
}

fn serve_udp(socket: &UdpSocket, tag: &str, stop: &AtomicBool) {
    let mut buf = [0u8; 1500];
    while !stop.load(Ordering::SeqCst) {
        if let Ok((_, peer)) = socket.recv_from(&mut buf) {
            let reply = format!("{tag} {}\n", peer.ip().to_canonical());
            let _ = socket.send_to(reply.as_bytes(), peer);
        }
    }
}

/// Connects from `ns` to `to` and reads the echo reply. `Err` carries the
/// socket error (refused, timed out, unreachable) for messages.
pub fn tcp_request(ns: &NetNs, to: SocketAddr) -> Result<Reply, String> {
    in_netns(ns, || {
        let mut stream = TcpStream::connect_timeout(&to, CLIENT_TIMEOUT)
            .map_err(|e| format!("tcp connect to {to}: {e} ({:?})", e.kind()))?;
        stream
            .set_read_timeout(Some(CLIENT_TIMEOUT))
            .map_err(|e| e.to_string())?;
        let mut text = String::new();
        stream
            .read_to_string(&mut text)
            .map_err(|e| format!("tcp read from {to}: {e}"))?;
        Reply::parse(&text)
    })
}

/// Sends a datagram from `ns` to `to` and waits for the echo reply; tries
/// three times, as a UDP client would.
pub fn udp_request(ns: &NetNs, to: SocketAddr) -> Result<Reply, String> {
    in_netns(ns, || {
        let any: SocketAddr = if to.is_ipv4() {
            "0.0.0.0:0".parse().expect("literal")
        } else {
            "[::]:0".parse().expect("literal")
        };
        let socket = UdpSocket::bind(any).map_err(|e| format!("udp bind: {e}"))?;
        socket
            .set_read_timeout(Some(CLIENT_TIMEOUT / 2))
            .map_err(|e| e.to_string())?;
        let mut buf = [0u8; 1500];
        let mut last = String::new();
        for _ in 0..3 {
            socket
                .send_to(b"ping\n", to)
                .map_err(|e| format!("udp send to {to}: {e}"))?;
            match socket.recv_from(&mut buf) {
                Ok((n, _)) => return Reply::parse(&String::from_utf8_lossy(&buf[..n])),
                Err(e) => last = format!("no udp reply from {to}: {e}"),
            }
        }
        Err(last)
    })
}

/// Sends `proto` request from `ns` to `to`.
pub fn request(ns: &NetNs, proto: Proto, to: SocketAddr) -> Result<Reply, String> {
    match proto {
        Proto::Tcp => tcp_request(ns, to),
        Proto::Udp => udp_request(ns, to),
    }
}

/// Sends a `proto` request from `from` to `to`; panics (with the daemon
/// log) unless the server tagged `tag` answers.
pub fn expect_served(host: &Host, from: &NetNs, proto: Proto, to: SocketAddr, tag: &str) -> Reply {
    let reply = request(from, proto, to).unwrap_or_else(|e| {
        panic!(
            "{} -> {to} ({proto:?}) should be served by {tag}: {e}\n{}",
            from.name(),
            host.log_tail()
        )
    });
    assert_eq!(
        reply.tag,
        tag,
        "{} -> {to} ({proto:?}) answered by the wrong server",
        from.name()
    );
    reply
}

/// Sends a `proto` request from `from` to `to`; panics (naming who
/// answered) unless it fails. Returns the error for further checks.
pub fn expect_not_served(host: &Host, from: &NetNs, proto: Proto, to: SocketAddr) -> String {
    match request(from, proto, to) {
        Ok(reply) => panic!(
            "{} -> {to} ({proto:?}) should fail but {} answered (saw peer {})\n{}",
            from.name(),
            reply.tag,
            reply.peer,
            host.log_tail()
        ),
        Err(e) => e,
    }
}

/// `ip:port` as a socket address; panics on a malformed literal.
pub fn sock(ip: &str, port: u16) -> SocketAddr {
    let ip: IpAddr = ip
        .parse()
        .unwrap_or_else(|e| panic!("bad IP literal {ip:?}: {e}"));
    SocketAddr::new(ip, port)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_echo_reply() {
        let r = Reply::parse("c1:80 198.51.100.2\n").unwrap();
        assert_eq!(r.tag, "c1:80");
        assert_eq!(r.peer, "198.51.100.2".parse::<IpAddr>().unwrap());
        assert!(Reply::parse("garbage").is_err());
    }
}
