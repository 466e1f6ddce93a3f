//! Tiny TCP/UDP servers that answer with the client's address, and clients
//! that return that answer: enough to see DNAT, masquerade and drops.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::netns::Netns;

/// Long enough for ARP/ND inside namespaces, short enough for negative checks.
const TIMEOUT: Duration = Duration::from_millis(700);
/// Servers stop by themselves after this, whatever happens to the test.
const SERVER_LIFETIME: Duration = Duration::from_secs(60);

/// Stops its server threads when dropped.
pub struct Server(Arc<AtomicBool>);

impl Drop for Server {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// TCP and UDP on `addr` in `ns`; each answers with the peer's IP address.
pub fn serve(ns: &Netns, addr: &str) -> Server {
    let addr: SocketAddr = addr.parse().expect("socket address");
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ns.run(move || {
        let tcp = TcpListener::bind(addr).expect("bind tcp");
        tcp.set_nonblocking(true).expect("nonblocking");
        let udp = UdpSocket::bind(addr).expect("bind udp");
        udp.set_read_timeout(Some(Duration::from_millis(20)))
            .expect("timeout");
        let started = Instant::now();
        let running = move || !flag.load(Ordering::Relaxed) && started.elapsed() < SERVER_LIFETIME;
        let tcp_running = running.clone();
        thread::spawn(move || {
            while tcp_running() {
                match tcp.accept() {
                    Ok((mut conn, peer)) => {
                        let _ = conn.write_all(format!("{}\n", peer.ip()).as_bytes());
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        thread::spawn(move || {
            let mut buf = [0u8; 64];
            while running() {
                if let Ok((_, peer)) = udp.recv_from(&mut buf) {
                    let _ = udp.send_to(format!("{}\n", peer.ip()).as_bytes(), peer);
                }
            }
        });
    });
    Server(stop)
}

/// Connects over TCP from `ns`; returns the address the server saw.
pub fn tcp(ns: &Netns, to: &str) -> Result<String, String> {
    let to: SocketAddr = to.parse().expect("socket address");
    ns.run(move || {
        let mut conn = TcpStream::connect_timeout(&to, TIMEOUT).map_err(|e| e.to_string())?;
        conn.set_read_timeout(Some(TIMEOUT))
            .map_err(|e| e.to_string())?;
        let mut answer = String::new();
        conn.read_to_string(&mut answer)
            .map_err(|e| e.to_string())?;
        Ok(answer.trim().to_owned())
    })
}

/// Sends one UDP datagram from `ns`; returns the address the server saw.
pub fn udp(ns: &Netns, to: &str) -> Result<String, String> {
    let to: SocketAddr = to.parse().expect("socket address");
    ns.run(move || {
        let local = if to.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
        let sock = UdpSocket::bind(local).map_err(|e| e.to_string())?;
        sock.set_read_timeout(Some(TIMEOUT))
            .map_err(|e| e.to_string())?;
        sock.send_to(b"ping", to).map_err(|e| e.to_string())?;
        let mut buf = [0u8; 64];
        let (n, _) = sock.recv_from(&mut buf).map_err(|e| e.to_string())?;
        Ok(String::from_utf8_lossy(&buf[..n]).trim().to_owned())
    })
}
