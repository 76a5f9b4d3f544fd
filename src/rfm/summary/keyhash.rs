//! A small deterministic hasher for customer keys.
//!
//! The standard `RandomState` seeds itself from the operating system, which the crate does not
//! do (no randomness in `src/`), and SipHash is slower than needed for integer and short string
//! keys. This is the multiply-rotate scheme of `rustc-hash` 2 (the hasher of the Rust
//! compiler): one add and one multiply per word, and a final rotation so that the low bits
//! hashbrown uses for bucket selection depend on every input bit. It is not resistant to
//! deliberately colliding keys; customer ids in a seller's own log are not chosen by an
//! attacker.

use std::hash::{BuildHasherDefault, Hasher};

/// The multiplier of `rustc-hash` 2 (an odd constant with well-spread bits).
const K: u64 = 0xf135_7aea_2e62_a9c5;

/// Multiply-rotate hasher; see the module docs.
#[derive(Clone, Copy, Default)]
pub(crate) struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = self.hash.wrapping_add(word).wrapping_mul(K);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            // The length keeps "a" and "a\0" apart.
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_u128(&mut self, i: u128) {
        self.add(i as u64);
        self.add((i >> 64) as u64);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash.rotate_left(26)
    }
}

/// `BuildHasher` for [`FxHasher`].
pub(crate) type FxBuild = BuildHasherDefault<FxHasher>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, Hash};

    fn h<T: Hash>(t: &T) -> u64 {
        FxBuild::default().hash_one(t)
    }

    #[test]
    fn deterministic_and_discriminating() {
        assert_eq!(h(&42u64), h(&42u64));
        assert_ne!(h(&1u64), h(&2u64));
        assert_ne!(h(&"a"), h(&"a\0"));
        assert_ne!(h(&"abcdefgh1"), h(&"abcdefgh2"));
        // Consecutive ids spread over the low bits used for bucket selection.
        let mut low: Vec<u64> = (0u64..64).map(|i| h(&i) & 63).collect();
        low.sort_unstable();
        low.dedup();
        assert!(low.len() > 32, "{}", low.len());
    }
}
