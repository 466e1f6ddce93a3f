//! Listening sockets: SO_REUSEPORT so a new resolver binds next to the old
//! one, IP_FREEBIND so a gateway address may appear after we bind (or vanish
//! and come back) without a rebind, and a one-instruction reuseport BPF
//! program that steers new packets and connections to the newest socket.

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;

const TCP_BACKLOG: i32 = 1024;
/// Room for bursts while the listener thread is busy.
const UDP_RECV_BUFFER: usize = 1 << 20;

/// Binds the UDP socket for one listen address, in blocking mode: its
/// listener thread waits in `recvmmsg` (see `udp.rs`).
pub(crate) fn bind_udp(addr: SocketAddr) -> io::Result<UdpSocket> {
    let socket = new_socket(addr, Type::DGRAM, Protocol::UDP)?;
    socket.set_nonblocking(false)?;
    // best effort: the kernel caps it at net.core.rmem_max
    let _ = socket.set_recv_buffer_size(UDP_RECV_BUFFER);
    socket.bind(&addr.into())?;
    steer_to_newest(&socket)?;
    Ok(socket.into())
}

/// Binds and listens on the TCP socket for one listen address.
pub(crate) fn bind_tcp(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = new_socket(addr, Type::STREAM, Protocol::TCP)?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(TCP_BACKLOG)?;
    steer_to_newest(&socket)?;
    TcpListener::from_std(socket.into())
}

fn new_socket(addr: SocketAddr, ty: Type, proto: Protocol) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), ty, Some(proto))?;
    socket.set_reuse_port(true)?;
    match addr.ip() {
        IpAddr::V4(_) => socket.set_freebind_v4(true)?,
        IpAddr::V6(_) => {
            socket.set_only_v6(true)?;
            socket.set_freebind_v6(true)?;
        }
    }
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// Attaches `return 1` as the reuseport selector of the socket's group.
///
/// A group lists its sockets in bind order. While an upgrade is under way it
/// is `[old, new]`, and index 1 sends every new datagram and connection to
/// the new resolver, so the old one only drains what it already queued and
/// can exit without dropping a query. When the group holds one socket the
/// index is out of range and the kernel falls back to its hash (= the only
/// socket). The program belongs to the group, so each new resolver attaches
/// it again after it has bound.
fn steer_to_newest(socket: &Socket) -> io::Result<()> {
    const BPF_RET_K: u16 = 0x06; // BPF_RET | BPF_K
    let mut filter = [libc::sock_filter {
        code: BPF_RET_K,
        jt: 0,
        jf: 0,
        k: 1,
    }];
    let program = libc::sock_fprog {
        len: 1,
        filter: filter.as_mut_ptr(),
    };
    // SAFETY: `program` points to `filter`, both alive for the call; the
    // kernel copies the program and keeps no pointer to it.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_REUSEPORT_CBPF,
            std::ptr::from_ref(&program).cast(),
            std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
