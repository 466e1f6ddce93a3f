//! How many nf_tables transactions this process made (through `nft` and
//! over netlink) and how many the kernel or `nft` refused, for cnmd's
//! metrics. Process-wide: one firewall per daemon.

use std::sync::atomic::{AtomicU64, Ordering};

static TRANSACTIONS: AtomicU64 = AtomicU64::new(0);
static FAILURES: AtomicU64 = AtomicU64::new(0);

/// Counters since the process started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransactionStats {
    pub transactions: u64,
    pub failures: u64,
}

/// The counters so far.
pub fn transaction_stats() -> TransactionStats {
    TransactionStats {
        transactions: TRANSACTIONS.load(Ordering::Relaxed),
        failures: FAILURES.load(Ordering::Relaxed),
    }
}

/// Counts one transaction and, if it failed, one failure.
pub(crate) fn record<T, E>(result: &Result<T, E>) {
    TRANSACTIONS.fetch_add(1, Ordering::Relaxed);
    if result.is_err() {
        FAILURES.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_counted_with_transactions() {
        let before = transaction_stats();
        record::<(), ()>(&Ok(()));
        record::<(), ()>(&Err(()));
        let after = transaction_stats();
        // Other tests may count too (shared statics): at least ours.
        assert!(after.transactions >= before.transactions + 2);
        assert!(after.failures > before.failures);
    }
}
