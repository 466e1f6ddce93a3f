//! A set of addresses (as `u128`) kept as runs of consecutive values. Addresses are mostly taken
//! in order, so 60,000 endpoints on a /16 are a handful of map entries, and "first free address
//! from here" is one tree lookup however many addresses are taken.

use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Runs {
    /// First value of a run -> last value (inclusive). Runs never overlap nor touch, so the value
    /// right after a run is always outside the set: `first_free` relies on that.
    runs: BTreeMap<u128, u128>,
}

impl Runs {
    fn run_containing(&self, value: u128) -> Option<(u128, u128)> {
        let (&first, &last) = self.runs.range(..=value).next_back()?;
        (last >= value).then_some((first, last))
    }

    pub(super) fn contains(&self, value: u128) -> bool {
        self.run_containing(value).is_some()
    }

    /// Adds `value`; false if it was already in the set.
    pub(super) fn insert(&mut self, value: u128) -> bool {
        if self.contains(value) {
            return false;
        }
        let mut first = value;
        let mut last = value;
        if let Some((before, _)) = value.checked_sub(1).and_then(|v| self.run_containing(v)) {
            self.runs.remove(&before);
            first = before;
        }
        if let Some(after) = value.checked_add(1).and_then(|v| self.runs.remove(&v)) {
            last = after;
        }
        self.runs.insert(first, last);
        true
    }

    /// Removes `value`; false if it was not in the set.
    pub(super) fn remove(&mut self, value: u128) -> bool {
        let Some((first, last)) = self.run_containing(value) else {
            return false;
        };
        self.runs.remove(&first);
        if first < value {
            self.runs.insert(first, value - 1);
        }
        if value < last {
            self.runs.insert(value + 1, last);
        }
        true
    }

    /// Smallest value in `from..=last` that is not in the set.
    pub(super) fn first_free(&self, from: u128, last: u128) -> Option<u128> {
        let candidate = match self.run_containing(from) {
            Some((_, run_last)) => run_last.checked_add(1)?,
            None => from,
        };
        (candidate <= last).then_some(candidate)
    }

    #[cfg(test)]
    pub(super) fn run_count(&self) -> usize {
        self.runs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_merge_into_one_run() {
        let mut runs = Runs::default();
        assert!(runs.insert(10));
        assert!(runs.insert(12));
        assert_eq!(runs.run_count(), 2);
        assert!(runs.insert(11), "11 bridges 10 and 12");
        assert_eq!(runs.run_count(), 1);
        assert!(!runs.insert(11), "already present");
        assert!((10..=12).all(|v| runs.contains(v)));
        assert!(!runs.contains(9) && !runs.contains(13));
    }

    #[test]
    fn removing_from_the_middle_splits_a_run() {
        let mut runs = Runs::default();
        for value in 1..=5 {
            runs.insert(value);
        }
        assert!(runs.remove(3));
        assert!(!runs.remove(3), "already gone");
        assert_eq!(runs.run_count(), 2);
        assert!(runs.contains(2) && !runs.contains(3) && runs.contains(4));
        assert!(runs.remove(1) && runs.remove(5));
        assert_eq!(runs.run_count(), 2, "runs 2..=2 and 4..=4 remain");
    }

    #[test]
    fn first_free_jumps_over_a_run_and_respects_the_end() {
        let mut runs = Runs::default();
        for value in 100..1100 {
            runs.insert(value);
        }
        assert_eq!(runs.first_free(100, 2000), Some(1100));
        assert_eq!(runs.first_free(500, 2000), Some(1100));
        assert_eq!(runs.first_free(50, 2000), Some(50));
        assert_eq!(
            runs.first_free(500, 1099),
            None,
            "everything up to the end is taken"
        );
        assert_eq!(runs.first_free(1200, 1100), None, "empty window");
    }

    #[test]
    fn extremes_of_u128_do_not_overflow() {
        let mut runs = Runs::default();
        assert!(runs.insert(u128::MAX));
        assert!(runs.insert(0));
        assert!(runs.insert(u128::MAX - 1));
        assert_eq!(runs.run_count(), 2);
        assert_eq!(runs.first_free(u128::MAX - 1, u128::MAX), None);
        assert_eq!(runs.first_free(0, u128::MAX), Some(1));
        assert!(runs.remove(u128::MAX) && runs.remove(0));
        assert_eq!(runs.first_free(u128::MAX - 1, u128::MAX), Some(u128::MAX));
    }
}
