//! The long-lived NETLINK_NETFILTER socket: one nf_tables transaction per
//! call (BATCH_BEGIN … BATCH_END, an ack per request) and dumps. The socket
//! lives in the network namespace of the thread that opened it.

use std::collections::HashSet;
use std::io;
use std::os::fd::AsFd;
use std::time::Duration;

use netlink_sys::{protocols::NETLINK_NETFILTER, Socket, SocketAddr};
use nix::sys::socket::{setsockopt, sockopt};
use nix::sys::time::TimeVal;

use super::message::{
    messages, Message, MessageBuilder, NFNL_MSG_BATCH_BEGIN, NFNL_MSG_BATCH_END,
    NFNL_SUBSYS_NFTABLES, NFPROTO_UNSPEC, NLMSG_DONE, NLM_F_REQUEST,
};

/// `NFNLGRP_NFTABLES`: the multicast group of ruleset change notifications.
const NFNLGRP_NFTABLES: u32 = 7;
/// Large enough for a batch of a few thousand elements in one datagram.
const SEND_BUFFER: usize = 8 << 20;
const RECV_BUFFER: usize = 128 << 10;
/// A reply that does not come within this time means the kernel is wedged.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub(crate) struct NfSocket {
    socket: Socket,
    seq: u32,
    buf: Vec<u8>,
}

impl NfSocket {
    /// A request socket in the calling thread's network namespace.
    pub(crate) fn open() -> io::Result<Self> {
        let socket = Self::raw()?;
        // Large batches go in one datagram; SNDBUFFORCE ignores wmem_max (root).
        if setsockopt(&socket.as_fd(), sockopt::SndBufForce, &SEND_BUFFER).is_err() {
            setsockopt(&socket.as_fd(), sockopt::SndBuf, &SEND_BUFFER).map_err(io::Error::from)?;
        }
        socket.set_cap_ack(true)?;
        Self::set_timeout(&socket, REPLY_TIMEOUT)?;
        Ok(NfSocket {
            socket,
            seq: 0,
            buf: Vec::with_capacity(RECV_BUFFER),
        })
    }

    /// A socket subscribed to nf_tables change notifications; `recv_batch`
    /// returns after at most `poll` without a notification.
    pub(crate) fn subscribe(poll: Duration) -> io::Result<Self> {
        let socket = Self::raw()?;
        socket.add_membership(NFNLGRP_NFTABLES)?;
        setsockopt(&socket.as_fd(), sockopt::RcvBuf, &(4usize << 20)).map_err(io::Error::from)?;
        Self::set_timeout(&socket, poll)?;
        Ok(NfSocket {
            socket,
            seq: 0,
            buf: Vec::with_capacity(RECV_BUFFER),
        })
    }

    fn raw() -> io::Result<Socket> {
        let mut socket = Socket::new(NETLINK_NETFILTER)?;
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        Ok(socket)
    }

    fn set_timeout(socket: &Socket, timeout: Duration) -> io::Result<()> {
        let tv = TimeVal::new(timeout.as_secs() as _, timeout.subsec_micros() as _);
        setsockopt(&socket.as_fd(), sockopt::ReceiveTimeout, &tv).map_err(io::Error::from)
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Sends the requests (each built with `NLM_F_ACK`) as ONE transaction:
    /// the kernel applies all of them or none. Returns the first error.
    pub(crate) fn transact(&mut self, requests: Vec<MessageBuilder>) -> io::Result<()> {
        if requests.is_empty() {
            return Ok(());
        }
        let result = self.transact_batch(requests);
        crate::stats::record(&result);
        result
    }

    fn transact_batch(&mut self, requests: Vec<MessageBuilder>) -> io::Result<()> {
        let delimiter =
            |ty| MessageBuilder::new(ty, NLM_F_REQUEST, NFPROTO_UNSPEC, NFNL_SUBSYS_NFTABLES);
        let begin = self.next_seq();
        let mut out = delimiter(NFNL_MSG_BATCH_BEGIN).finish(begin);
        let mut pending = HashSet::with_capacity(requests.len());
        for request in requests {
            let seq = self.next_seq();
            pending.insert(seq);
            out.extend_from_slice(&request.finish(seq));
        }
        let end = self.next_seq();
        out.extend_from_slice(&delimiter(NFNL_MSG_BATCH_END).finish(end));
        self.socket.send(&out, 0)?;

        let mut first_error = None;
        while !pending.is_empty() {
            for (code, seq) in self.recv_acks()? {
                // An error on BATCH_BEGIN is the commit failing as a whole.
                if seq == begin && code != 0 {
                    return Err(io::Error::from_raw_os_error(-code));
                }
                if pending.remove(&seq) && code != 0 && first_error.is_none() {
                    first_error = Some(io::Error::from_raw_os_error(-code));
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn recv_acks(&mut self) -> io::Result<Vec<(i32, u32)>> {
        self.recv()?;
        Ok(messages(&self.buf)?
            .iter()
            .filter_map(Message::error)
            .collect())
    }

    /// Runs a dump request and calls `each` for every reply message.
    pub(crate) fn dump(
        &mut self,
        request: MessageBuilder,
        mut each: impl FnMut(&Message<'_>),
    ) -> io::Result<()> {
        let seq = self.next_seq();
        self.socket.send(&request.finish(seq), 0)?;
        loop {
            self.recv()?;
            for msg in messages(&self.buf)? {
                if msg.seq != seq {
                    continue; // a late ack of an earlier transaction
                }
                if msg.ty == NLMSG_DONE {
                    return Ok(());
                }
                if let Some((code, _)) = msg.error() {
                    if code != 0 {
                        return Err(io::Error::from_raw_os_error(-code));
                    }
                    continue;
                }
                each(&msg);
            }
        }
    }

    /// Receives one datagram into the internal buffer.
    fn recv(&mut self) -> io::Result<()> {
        self.buf.clear();
        self.buf.reserve(RECV_BUFFER);
        self.socket.recv(&mut self.buf, 0)?;
        Ok(())
    }

    /// Receives one datagram of notifications and calls `each` per message.
    pub(crate) fn recv_notifications(
        &mut self,
        mut each: impl FnMut(&Message<'_>),
    ) -> io::Result<()> {
        self.recv()?;
        for msg in messages(&self.buf)? {
            each(&msg);
        }
        Ok(())
    }
}
