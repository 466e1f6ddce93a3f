//! How the synchronous traits reach the async gRPC client.
//!
//! The core calls driver and IPAM verbs on blocking threads (tokio's
//! blocking pool, or threads of its own), never on the async workers. A
//! remote verb hands its future to one small tokio runtime owned by this
//! crate (one worker, started on first use, shared by every plugin) and
//! waits for the answer on a plain channel.
//!
//! Why not `Handle::block_on` on the caller's runtime: it panics on an async
//! worker and would tie plugin I/O to whichever runtime the caller has; and
//! a runtime per call or per plugin costs threads for nothing. Every future
//! sent here is bounded by the deadlines in `link`, so the wait ends.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};

fn runtime() -> Result<&'static Runtime, String> {
    static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("cnm-plugin-io")
                .enable_all()
                .build()
                .map_err(|err| format!("cannot start the plugin client runtime: {err}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Runs `future` on the plugin runtime and blocks the calling thread until
/// it completes. Err only if the runtime cannot start or the task panicked.
pub(crate) fn block_on<F>(future: F) -> Result<F::Output, String>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    runtime()?.spawn(async move {
        // The receiver waits for this send; it cannot be gone.
        let _ = tx.send(future.await);
    });
    rx.recv()
        .map_err(|_| "the plugin client task panicked".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn works_from_inside_another_runtime() {
        let outer = Builder::new_current_thread()
            .build()
            .expect("outer runtime");
        let value = outer.block_on(async {
            tokio::task::spawn_blocking(|| block_on(async { 7 }))
                .await
                .expect("join")
        });
        assert_eq!(value, Ok(7));
        // Even on an async worker (blocking it, which callers avoid).
        assert_eq!(outer.block_on(async { block_on(async { 8 }) }), Ok(8));
    }
}
