//! Docker's detach keys: Ctrl-P Ctrl-Q typed in a `-it` session detaches
//! the client and leaves the container running. A Ctrl-P is held back until
//! the next byte shows whether the sequence goes on; if it does not, both
//! bytes are forwarded, so the container still gets every other key.

/// Ctrl-P, Ctrl-Q.
pub const DEFAULT: [u8; 2] = [0x10, 0x11];

/// Scans input for the detach sequence, across reads.
#[derive(Debug)]
pub struct DetachKeys {
    keys: Vec<u8>,
    /// How many bytes of `keys` the input ended with (held back).
    matched: usize,
}

/// What to do with one read of input.
#[derive(Debug, PartialEq, Eq)]
pub struct Scan {
    /// Send these bytes on (possibly empty).
    pub forward: Vec<u8>,
    /// The sequence completed: detach after forwarding. Input after the
    /// sequence is dropped, as Docker drops it.
    pub detach: bool,
}

impl Default for DetachKeys {
    fn default() -> Self {
        Self::new(&DEFAULT)
    }
}

impl DetachKeys {
    /// A scanner for `keys` (not empty). A sequence that repeats its own
    /// beginning (`a a b`) is not recognised after a partial match; the
    /// default has no such repeat.
    pub fn new(keys: &[u8]) -> Self {
        Self {
            keys: keys.to_vec(),
            matched: 0,
        }
    }

    pub fn scan(&mut self, input: &[u8]) -> Scan {
        let mut forward = Vec::with_capacity(input.len() + self.matched);
        for &byte in input {
            if self.keys.get(self.matched) != Some(&byte) {
                // Not the sequence after all: what was held goes out.
                forward.extend_from_slice(&self.keys[..self.matched]);
                self.matched = 0;
                if self.keys.first() != Some(&byte) {
                    forward.push(byte);
                    continue;
                }
            }
            self.matched += 1;
            if self.matched == self.keys.len() {
                self.matched = 0;
                return Scan {
                    forward,
                    detach: true,
                };
            }
        }
        Scan {
            forward,
            detach: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: u8 = 0x10;
    const Q: u8 = 0x11;

    fn scan(keys: &mut DetachKeys, input: &[u8]) -> (Vec<u8>, bool) {
        let s = keys.scan(input);
        (s.forward, s.detach)
    }

    #[test]
    fn plain_input_passes_through() {
        let mut k = DetachKeys::default();
        assert_eq!(scan(&mut k, b"ls -l\r"), (b"ls -l\r".to_vec(), false));
        assert_eq!(scan(&mut k, &[Q]), (vec![Q], false), "a lone Ctrl-Q");
    }

    #[test]
    fn ctrl_p_ctrl_q_detaches_in_one_read_or_two() {
        let mut k = DetachKeys::default();
        assert_eq!(scan(&mut k, &[b'a', P, Q, b'z']), (vec![b'a'], true));
        let mut k = DetachKeys::default();
        assert_eq!(scan(&mut k, &[b'a', P]), (vec![b'a'], false), "P held");
        assert_eq!(scan(&mut k, &[Q]), (vec![], true));
    }

    #[test]
    fn ctrl_p_then_another_key_forwards_both() {
        let mut k = DetachKeys::default();
        assert_eq!(scan(&mut k, &[P]), (vec![], false));
        assert_eq!(scan(&mut k, b"x"), (vec![P, b'x'], false));
        assert_eq!(scan(&mut k, &[P, b'y', Q]), (vec![P, b'y', Q], false));
    }

    #[test]
    fn a_second_ctrl_p_can_start_the_sequence() {
        let mut k = DetachKeys::default();
        assert_eq!(scan(&mut k, &[P, P]), (vec![P], false));
        assert_eq!(scan(&mut k, &[Q]), (vec![], true));
        // The scanner starts afresh after a detach.
        assert_eq!(scan(&mut k, b"ok"), (b"ok".to_vec(), false));
    }

    #[test]
    fn other_sequences() {
        let mut k = DetachKeys::new(&[0x01]);
        assert_eq!(scan(&mut k, &[b'a', 0x01]), (vec![b'a'], true));
        let mut k = DetachKeys::new(b"xyz");
        assert_eq!(scan(&mut k, b"xyxyz"), (b"xy".to_vec(), true));
    }
}
