//! A faster path than polling for cnmd's changes: after writing a snapshot,
//! cnmd sends one datagram to `nudge.sock` beside it, and the resolver looks
//! at once instead of at its next poll (records then follow a connect in a
//! few milliseconds instead of up to a poll interval later).
//!
//! Polling stays the ground truth: it covers a resolver that could not bind
//! the socket, one whose path a replacement took over, and changes nobody
//! announces (resolv.conf edits). A datagram socket because the sender
//! never blocks or waits for an answer, and a resolver without the socket
//! (an older version still running) only makes the send fail.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use tokio::net::UnixDatagram;

/// Where the resolver serving `snapshot` listens for nudges.
pub fn nudge_path(snapshot: &Path) -> PathBuf {
    snapshot.with_file_name("nudge.sock")
}

/// Tells the resolver serving `snapshot` to look now. Best effort: with no
/// resolver listening, or its queue full, the next poll finds the change.
pub fn nudge(snapshot: &Path) {
    if let Ok(socket) = std::os::unix::net::UnixDatagram::unbound() {
        let _ = socket.set_nonblocking(true);
        let _ = socket.send_to(&[1], nudge_path(snapshot));
    }
}

/// The resolver's end.
pub(crate) struct NudgeListener {
    /// None when the socket could not be bound: polling alone then.
    socket: Option<UnixDatagram>,
    path: PathBuf,
    /// (dev, inode) of the socket file we bound, so that on exit we remove
    /// only our own, never a replacement's.
    bound: Option<(u64, u64)>,
}

impl NudgeListener {
    /// Binds `nudge.sock` beside `snapshot`, taking the path over from a
    /// resolver this one replaces (that one keeps polling while it drains).
    pub(crate) fn bind(snapshot: &Path) -> NudgeListener {
        let path = nudge_path(snapshot);
        let _ = std::fs::remove_file(&path);
        let socket = UnixDatagram::bind(&path)
            .inspect_err(|e| {
                tracing::warn!(path = %path.display(), error = %e,
                    "cannot listen for snapshot nudges; changes are seen at the next poll");
            })
            .ok();
        let bound = socket
            .as_ref()
            .and_then(|_| std::fs::metadata(&path).ok())
            .map(|m| (m.dev(), m.ino()));
        NudgeListener {
            socket,
            path,
            bound,
        }
    }

    /// Completes at the next nudge (never without a socket); nudges that
    /// queued up meanwhile are taken with it, as one look covers them all.
    pub(crate) async fn nudged(&self) {
        let Some(socket) = &self.socket else {
            return std::future::pending().await;
        };
        let mut buf = [0u8; 1];
        if socket.recv(&mut buf).await.is_ok() {
            while socket.try_recv(&mut buf).is_ok() {}
        }
    }
}

impl Drop for NudgeListener {
    fn drop(&mut self) {
        let ours = std::fs::metadata(&self.path)
            .ok()
            .map(|m| (m.dev(), m.ino()));
        if ours.is_some() && ours == self.bound {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_nudge_wakes_the_listener_and_queued_ones_go_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let snapshot = dir.path().join("snapshot.json");
        let listener = NudgeListener::bind(&snapshot);
        assert!(listener.socket.is_some(), "not bound");
        nudge(&snapshot);
        nudge(&snapshot);
        tokio::time::timeout(std::time::Duration::from_secs(2), listener.nudged())
            .await
            .expect("the nudge did not wake the listener");
        let second = tokio::time::timeout(std::time::Duration::from_millis(50), listener.nudged());
        assert!(second.await.is_err(), "a queued nudge was left over");
    }

    #[tokio::test]
    async fn nudging_nobody_is_harmless_and_dropping_removes_only_our_socket() {
        let dir = tempfile::tempdir().unwrap();
        let snapshot = dir.path().join("snapshot.json");
        nudge(&snapshot); // no socket at all
        let old = NudgeListener::bind(&snapshot);
        let new = NudgeListener::bind(&snapshot); // a replacement takes the path
        drop(old);
        assert!(
            nudge_path(&snapshot).exists(),
            "the old resolver removed the new one's socket"
        );
        drop(new);
        assert!(!nudge_path(&snapshot).exists(), "socket left behind");
    }
}
