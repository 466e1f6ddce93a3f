//! Notices when table `inet cnm` is deleted, flushed or edited by someone
//! else (`nft flush ruleset`, firewalld reloads) and reports it, so the
//! daemon can `restore()` within a second or two.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::FirewallError;
use crate::names::TABLE;
use crate::netlink::{is_our_table, Message, NfSocket, NftMsg};
use crate::Firewall;

/// How long the watcher blocks before looking at its stop flag.
const POLL: Duration = Duration::from_millis(250);
/// A full check this often even without notifications (lost multicast,
/// ENOBUFS); also the minimum gap between two `on_lost` calls.
const RECHECK: Duration = Duration::from_secs(1);

/// The running watcher; dropping it stops the thread (within 250 ms).
#[derive(Debug)]
pub struct Watcher {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Subscribes to nf_tables notifications (NFNLGRP_NFTABLES) in the calling
/// thread's network namespace and starts a thread that calls `on_lost` when
/// `firewall.is_intact()` turns false: at once after a change to our table's
/// chains, rules or sets, and at least every second as a fallback. Start it
/// after `init`/`restore`; `on_lost` should trigger `restore` (it is called
/// again, at most once a second, while the table stays broken).
pub fn watch<F>(firewall: Arc<dyn Firewall>, on_lost: F) -> Result<Watcher, FirewallError>
where
    F: Fn() + Send + 'static,
{
    let socket = NfSocket::subscribe(POLL).map_err(FirewallError::Watch)?;
    let stop = Arc::new(AtomicBool::new(false));
    let thread = std::thread::Builder::new()
        .name("cnm-fw-watch".into())
        .spawn({
            let stop = stop.clone();
            move || run(socket, firewall.as_ref(), &on_lost, &stop)
        })
        .map_err(FirewallError::Watch)?;
    Ok(Watcher {
        stop,
        thread: Some(thread),
    })
}

fn run(mut socket: NfSocket, firewall: &dyn Firewall, on_lost: &dyn Fn(), stop: &AtomicBool) {
    let mut last_check = Instant::now();
    let mut last_report: Option<Instant> = None;
    while !stop.load(Ordering::Relaxed) {
        let mut touched = false;
        match socket.recv_notifications(|m| touched |= touches_table(m)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => {
                // ENOBUFS: notifications were lost; check to be sure.
                tracing::debug!(error = %e, "nf_tables notification socket");
                touched = true;
            }
        }
        if !touched && last_check.elapsed() < RECHECK {
            continue;
        }
        last_check = Instant::now();
        match firewall.is_intact() {
            Ok(true) => {}
            Ok(false) if last_report.is_some_and(|t| t.elapsed() < RECHECK) => {}
            Ok(false) => {
                tracing::warn!(
                    table = TABLE,
                    "table inet cnm was changed or removed by someone else"
                );
                last_report = Some(Instant::now());
                on_lost();
            }
            Err(e) => tracing::warn!(error = %e, "checking table inet cnm"),
        }
    }
}

/// A table, chain, rule or set notification for `inet cnm`. Element changes
/// are ignored: they are cnmd's own hot path.
fn touches_table(m: &Message<'_>) -> bool {
    use NftMsg::*;
    let structural = matches!(
        NftMsg::from_nlmsg_type(m.ty),
        Some(NewTable | DelTable | NewChain | DelChain | NewRule | DelRule | NewSet | DelSet)
    );
    structural && is_our_table(m)
}
