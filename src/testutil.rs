//! Helpers shared by the unit tests.

/// Marsaglia's xorshift64 (shifts 13, 7, 17): a small deterministic generator for the random
/// landscapes of property tests (proptest draws the seed, so a failing case replays).
pub(crate) struct XorShift(u64);

impl XorShift {
    /// A generator from any seed (made odd: the state must not be 0).
    pub(crate) fn new(seed: u64) -> XorShift {
        XorShift(seed | 1)
    }

    /// The next 64 random bits.
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
