//! Reproducible randomness for the crash tests: a seed printed on stderr
//! and replayable with `CNM_TEST_SEED`.

use std::time::{SystemTime, UNIX_EPOCH};

/// xorshift64*: enough randomness for kill timing, reproducible by seed.
pub struct Rng(pub u64);

impl Rng {
    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// `CNM_TEST_SEED` if set, else the clock; never 0 (xorshift's fixed point).
pub fn seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    std::env::var("CNM_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(nanos)
        | 1
}
