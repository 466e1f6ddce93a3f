//! Batched datagram I/O: `recvmmsg` fills up to [`BATCH`] preallocated slots
//! in one system call and `sendmmsg` sends the replies gathered meanwhile in
//! one more, so a burst of queries costs two syscalls instead of two each.
//! Nothing here allocates per datagram once the buffers exist.

use std::io;
use std::mem::size_of;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsRawFd;

use socket2::SockAddr;

/// Datagrams moved per system call at most.
pub(crate) const BATCH: usize = 32;
/// Largest query accepted over UDP (EDNS payloads beyond this are rare).
pub(crate) const MAX_QUERY: usize = 4096;

/// Receive slots, reused for every batch.
pub(crate) struct Inbox {
    /// `BATCH` slots of `MAX_QUERY` bytes; only pages the kernel writes to
    /// become resident, so an idle listener costs little.
    data: Box<[u8]>,
    names: Box<[libc::sockaddr_storage]>,
    lens: [usize; BATCH],
    name_lens: [libc::socklen_t; BATCH],
    count: usize,
}

impl Inbox {
    pub(crate) fn new() -> Inbox {
        Inbox {
            data: vec![0; BATCH * MAX_QUERY].into_boxed_slice(),
            // SAFETY: sockaddr_storage is plain integers; all zeros is valid.
            names: vec![unsafe { std::mem::zeroed::<libc::sockaddr_storage>() }; BATCH]
                .into_boxed_slice(),
            lens: [0; BATCH],
            name_lens: [0; BATCH],
            count: 0,
        }
    }

    /// Waits for at least one datagram (unless the socket is non-blocking or
    /// times out), then takes whatever else is queued, up to [`BATCH`].
    pub(crate) fn recv(&mut self, socket: &impl AsRawFd) -> io::Result<usize> {
        self.count = 0;
        let mut iovecs = [libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        }; BATCH];
        // SAFETY: mmsghdr is plain integers and raw pointers; all zeros is a
        // valid value (null pointers, zero lengths).
        let mut headers: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
        let slots = self.data.chunks_exact_mut(MAX_QUERY);
        for (((iov, hdr), slot), name) in iovecs
            .iter_mut()
            .zip(headers.iter_mut())
            .zip(slots)
            .zip(self.names.iter_mut())
        {
            iov.iov_base = slot.as_mut_ptr().cast();
            iov.iov_len = slot.len();
            hdr.msg_hdr.msg_iov = iov;
            hdr.msg_hdr.msg_iovlen = 1;
            hdr.msg_hdr.msg_name = std::ptr::from_mut(name).cast();
            hdr.msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        }
        // SAFETY: every header points to one iovec and one address buffer in
        // this frame or in `self`, each sized as the header says and borrowed
        // mutably for the whole call; the kernel writes at most those sizes
        // and keeps no pointer after returning.
        let n = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                headers.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
        for (i, hdr) in headers[..n].iter().enumerate() {
            self.lens[i] = hdr.msg_len as usize;
            self.name_lens[i] = hdr.msg_hdr.msg_namelen;
        }
        self.count = n;
        Ok(n)
    }

    /// The datagrams of the last batch with their senders; slots without a
    /// usable sender (the empty read a shut-down socket returns) are skipped.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8], SocketAddr)> + '_ {
        (0..self.count).filter_map(move |i| {
            let peer = peer_of(&self.names[i], self.name_lens[i])?;
            let start = i * MAX_QUERY;
            Some((&self.data[start..start + self.lens[i]], peer))
        })
    }
}

/// The sender's address as the kernel wrote it, if IPv4 or IPv6.
fn peer_of(name: &libc::sockaddr_storage, len: libc::socklen_t) -> Option<SocketAddr> {
    let len = len as usize;
    match i32::from(name.ss_family) {
        libc::AF_INET if len >= size_of::<libc::sockaddr_in>() => {
            // SAFETY: the kernel stored a sockaddr_in (family and length
            // checked); sockaddr_storage is larger than it and aligned for it.
            let sin = unsafe { &*std::ptr::from_ref(name).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
            Some(SocketAddrV4::new(ip, u16::from_be(sin.sin_port)).into())
        }
        libc::AF_INET6 if len >= size_of::<libc::sockaddr_in6>() => {
            // SAFETY: as above, for sockaddr_in6.
            let sin6 = unsafe { &*std::ptr::from_ref(name).cast::<libc::sockaddr_in6>() };
            let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            let port = u16::from_be(sin6.sin6_port);
            Some(SocketAddrV6::new(ip, port, sin6.sin6_flowinfo, sin6.sin6_scope_id).into())
        }
        _ => None,
    }
}

/// Replies gathered while a batch is answered, sent together.
pub(crate) struct Outbox {
    replies: Vec<(Vec<u8>, SockAddr)>,
}

impl Outbox {
    pub(crate) fn new() -> Outbox {
        Outbox {
            replies: Vec::with_capacity(BATCH),
        }
    }

    pub(crate) fn push(&mut self, reply: Vec<u8>, peer: SocketAddr) {
        self.replies.push((reply, SockAddr::from(peer)));
    }

    /// Sends every reply gathered (blocking while the send buffer is full,
    /// as a blocking `sendto` would), then empties the box. A reply the
    /// kernel rejects is skipped and reported; the others still go out.
    pub(crate) fn flush(&mut self, socket: &impl AsRawFd) {
        let mut sent = 0;
        while sent < self.replies.len() {
            match self.send_from(socket, sent) {
                Ok(n) => sent += n.max(1),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let peer = self.replies[sent].1.as_socket();
                    tracing::debug!(?peer, error = %e, "UDP send failed");
                    sent += 1;
                }
            }
        }
        self.replies.clear();
    }

    /// One `sendmmsg` of the replies from `first` on (at most [`BATCH`]).
    fn send_from(&self, socket: &impl AsRawFd, first: usize) -> io::Result<usize> {
        let pending = &self.replies[first..];
        let count = pending.len().min(BATCH);
        let mut iovecs = [libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        }; BATCH];
        // SAFETY: as in `Inbox::recv`, all zeros is a valid mmsghdr.
        let mut headers: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
        for ((iov, hdr), (reply, peer)) in iovecs.iter_mut().zip(headers.iter_mut()).zip(pending) {
            // the kernel only reads through these pointers (sendmmsg)
            iov.iov_base = reply.as_ptr().cast_mut().cast();
            iov.iov_len = reply.len();
            hdr.msg_hdr.msg_iov = iov;
            hdr.msg_hdr.msg_iovlen = 1;
            hdr.msg_hdr.msg_name = peer.as_ptr().cast_mut().cast();
            hdr.msg_hdr.msg_namelen = peer.len();
        }
        // SAFETY: the first `count` headers point to iovecs in this frame and
        // to replies and addresses in `self`, all alive and unchanged for the
        // call, with their true lengths; sendmmsg only reads them (and writes
        // `msg_len` into the headers, which we own mutably).
        let n = unsafe {
            libc::sendmmsg(
                socket.as_raw_fd(),
                headers.as_mut_ptr(),
                count as libc::c_uint,
                0,
            )
        };
        usize::try_from(n).map_err(|_| io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;

    fn pair() -> (UdpSocket, UdpSocket) {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        (a, b)
    }

    #[test]
    fn a_burst_arrives_in_one_batch_and_replies_go_back_to_each_sender() {
        let (server, client) = pair();
        let to = server.local_addr().unwrap();
        for i in 0..5u8 {
            client.send_to(&[i; 20], to).unwrap();
        }
        let mut inbox = Inbox::new();
        let mut got = 0;
        while got < 5 {
            got += inbox.recv(&server).unwrap();
        }
        let mut outbox = Outbox::new();
        let received: Vec<(Vec<u8>, SocketAddr)> =
            inbox.iter().map(|(p, peer)| (p.to_vec(), peer)).collect();
        assert!(received
            .iter()
            .all(|(_, peer)| *peer == client.local_addr().unwrap()));
        for (packet, peer) in received {
            outbox.push(packet.iter().map(|b| b + 100).collect(), peer);
        }
        outbox.flush(&server);
        let mut buf = [0u8; 64];
        let mut firsts = Vec::new();
        for _ in 0..5 {
            let (n, from) = client.recv_from(&mut buf).unwrap();
            assert_eq!((n, from), (20, to));
            firsts.push(buf[0]);
        }
        firsts.sort_unstable();
        assert_eq!(firsts, [100, 101, 102, 103, 104]);
    }

    #[test]
    fn a_rejected_reply_does_not_stop_the_others() {
        let (server, client) = pair();
        let mut outbox = Outbox::new();
        outbox.push(vec![1; 8], client.local_addr().unwrap());
        // too big for a UDP datagram: EMSGSIZE
        outbox.push(vec![2; 70_000], client.local_addr().unwrap());
        outbox.push(vec![3; 8], client.local_addr().unwrap());
        outbox.flush(&server);
        let mut buf = [0u8; 16];
        assert_eq!(client.recv(&mut buf).unwrap(), 8);
        assert_eq!(buf[0], 1);
        assert_eq!(client.recv(&mut buf).unwrap(), 8);
        assert_eq!(buf[0], 3);
    }

    #[test]
    fn ipv6_senders_keep_their_address() {
        let Ok(server) = UdpSocket::bind("[::1]:0") else {
            panic!("no IPv6 loopback here: cannot test IPv6 senders");
        };
        let client = UdpSocket::bind("[::1]:0").unwrap();
        client
            .send_to(b"hello", server.local_addr().unwrap())
            .unwrap();
        let mut inbox = Inbox::new();
        assert_eq!(inbox.recv(&server).unwrap(), 1);
        let (packet, peer) = inbox.iter().next().unwrap();
        assert_eq!(
            (packet, peer),
            (&b"hello"[..], client.local_addr().unwrap())
        );
    }
}
