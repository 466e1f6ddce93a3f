//! The SOCK_SEQPACKET channel between the shim and the container's init
//! (its forked child) during start. Messages keep their boundaries, and a
//! pty master travels as SCM_RIGHTS. The child's end is close-on-exec, so
//! after `ExecNow` an end of stream without `Error` means exec succeeded.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::cmsg_space;
use nix::errno::Errno;
use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
    SockFlag, SockType, UnixAddr,
};

/// A message on the start channel.
#[derive(Debug)]
pub(crate) enum SyncMessage {
    /// Shim → init: the init is in its cgroups; go on.
    Go,
    /// Init → shim: the pty master of the container's console.
    PtyMaster(OwnedFd),
    /// Init → shim: setup is done, exec comes next.
    ExecNow,
    /// Init → shim: setup or exec failed; the init exits.
    Error(String),
}

const GO: u8 = b'G';
const PTY: u8 = b'P';
const EXEC: u8 = b'X';
const ERROR: u8 = b'E';

/// A connected pair: (shim end, init end), both close-on-exec.
pub(crate) fn pair() -> Result<(OwnedFd, OwnedFd), Errno> {
    socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
}

pub(crate) fn send(fd: &OwnedFd, message: &SyncMessage) -> Result<(), Errno> {
    let (tag, text, passed): (u8, &[u8], Option<RawFd>) = match message {
        SyncMessage::Go => (GO, &[], None),
        SyncMessage::PtyMaster(master) => (PTY, &[], Some(master.as_raw_fd())),
        SyncMessage::ExecNow => (EXEC, &[], None),
        SyncMessage::Error(text) => (ERROR, text.as_bytes(), None),
    };
    let payload = [&[tag][..], text].concat();
    let iov = [IoSlice::new(&payload)];
    let fds: Vec<RawFd> = passed.into_iter().collect();
    let cmsgs: Vec<ControlMessage<'_>> = if fds.is_empty() {
        Vec::new()
    } else {
        vec![ControlMessage::ScmRights(&fds)]
    };
    loop {
        match sendmsg::<UnixAddr>(fd.as_raw_fd(), &iov, &cmsgs, MsgFlags::MSG_NOSIGNAL, None) {
            Err(Errno::EINTR) => continue,
            other => return other.map(drop),
        }
    }
}

/// The next message, or `None` at end of stream (the peer closed or exec'd).
pub(crate) fn recv(fd: &OwnedFd) -> Result<Option<SyncMessage>, Errno> {
    let mut buf = vec![0u8; 4096];
    let mut space = cmsg_space!([RawFd; 1]);
    let (len, received) = loop {
        let mut iov = [IoSliceMut::new(&mut buf)];
        match recvmsg::<UnixAddr>(
            fd.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
            Ok(msg) => {
                let mut received = None;
                for cmsg in msg.cmsgs()? {
                    if let ControlMessageOwned::ScmRights(fds) = cmsg {
                        // SAFETY: SCM_RIGHTS installed these fds in this
                        // process just now; nothing else owns them.
                        received = fds.first().map(|raw| unsafe { OwnedFd::from_raw_fd(*raw) });
                    }
                }
                break (msg.bytes, received);
            }
        }
    };
    if len == 0 {
        return Ok(None);
    }
    let message = match buf[0] {
        GO => SyncMessage::Go,
        EXEC => SyncMessage::ExecNow,
        PTY => SyncMessage::PtyMaster(received.ok_or(Errno::EBADMSG)?),
        ERROR => SyncMessage::Error(String::from_utf8_lossy(&buf[1..len]).into_owned()),
        _ => return Err(Errno::EBADMSG),
    };
    Ok(Some(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_fds_cross() {
        let (a, b) = pair().expect("pair");
        send(&a, &SyncMessage::Go).expect("go");
        assert!(matches!(recv(&b), Ok(Some(SyncMessage::Go))));
        send(&b, &SyncMessage::Error("mount failed".into())).expect("err");
        assert!(matches!(recv(&a), Ok(Some(SyncMessage::Error(t))) if t == "mount failed"));
        let file = std::fs::File::open("/dev/null").expect("null");
        send(&b, &SyncMessage::PtyMaster(OwnedFd::from(file))).expect("fd");
        assert!(matches!(recv(&a), Ok(Some(SyncMessage::PtyMaster(_)))));
        drop(b);
        assert!(matches!(recv(&a), Ok(None)));
    }
}
