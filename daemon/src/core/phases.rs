//! Per-operation phase timings, logged at debug level, so a slow connect
//! says where its time went ("open=40 plan=12 join=480 configure=210 ...").

use std::fmt::Write;
use std::time::Instant;

pub(super) struct Phases {
    start: Instant,
    last: Instant,
    marks: String,
}

impl Phases {
    pub fn start() -> Self {
        let now = Instant::now();
        Phases {
            start: now,
            last: now,
            marks: String::new(),
        }
    }

    /// Ends the phase called `name`.
    pub fn mark(&mut self, name: &str) {
        let now = Instant::now();
        let _ = write!(self.marks, "{name}={} ", (now - self.last).as_micros());
        self.last = now;
    }

    pub fn log(&self, operation: &str) {
        tracing::debug!(
            operation,
            total_us = self.start.elapsed().as_micros() as u64,
            phases_us = self.marks.trim_end(),
            "timing"
        );
    }
}
