//! The hasher of customer keys: [`KeyHasher`], foldhash's quality hasher keyed by a seed the
//! host chooses.
//!
//! The summary's hash tables (the partitions' indexes, the hash map of the widest amounts)
//! probe linearly, so keys whose hashes collide make each lookup walk past all the others:
//! quadratic time in the number of such keys. With an unkeyed hasher (the crate used a copy
//! of `rustc-hash`'s multiply-rotate hasher) anyone can compute colliding keys offline, and
//! customer ids are not always the seller's own: e-mail addresses are chosen by whoever signs
//! up. A hasher keyed by a secret seed leaves an attacker nothing to compute collisions
//! against. The crate has no randomness of its own, so the seed comes from the host
//! ([`KeyHasher::with_seed`]); for a given seed every hash, hence every run, is the same.
//! The default seed is fixed and public: enough for ids the seller assigns.
//!
//! foldhash (Orson Peters, the default hasher of `hashbrown`) costs about a multiply and a
//! fold per word; its `quality` variant adds a final avalanche, so that the low bits the
//! indexes use and the high bits the partitions use are both well mixed.

use std::hash::BuildHasher;

/// Builds the hashers of customer keys: foldhash's quality hasher with a 64-bit seed.
///
/// Pass one to [`summarize_with_hasher`](crate::rfm::summarize_with_hasher) with a seed drawn
/// by the host (from the operating system, say) when customer ids may be chosen by an
/// attacker; the result does not depend on the seed, only the time it takes can. Any other
/// [`BuildHasher`] works too, such as the standard library's `RandomState`.
///
/// ```
/// use std::hash::BuildHasher;
///
/// use loyalty::rfm::KeyHasher;
///
/// let (a, b) = (KeyHasher::with_seed(7), KeyHasher::with_seed(8));
/// // Deterministic for a given seed, different across seeds.
/// assert_eq!(a.hash_one("ann@example.com"), KeyHasher::with_seed(7).hash_one("ann@example.com"));
/// assert_ne!(a.hash_one("ann@example.com"), b.hash_one("ann@example.com"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct KeyHasher {
    state: foldhash::quality::FixedState,
}

impl KeyHasher {
    /// A hasher keyed by `seed`.
    #[must_use]
    pub fn with_seed(seed: u64) -> KeyHasher {
        KeyHasher { state: foldhash::quality::FixedState::with_seed(seed) }
    }
}

impl BuildHasher for KeyHasher {
    type Hasher = foldhash::quality::FoldHasher<'static>;

    #[inline]
    fn build_hasher(&self) -> Self::Hasher {
        self.state.build_hasher()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h<T: std::hash::Hash>(t: &T) -> u64 {
        KeyHasher::default().hash_one(t)
    }

    #[test]
    fn deterministic_and_discriminating() {
        assert_eq!(h(&42u64), h(&42u64));
        assert_ne!(h(&1u64), h(&2u64));
        assert_ne!(h(&"a"), h(&"a\0"));
        assert_ne!(h(&"abcdefgh1"), h(&"abcdefgh2"));
        assert_eq!(KeyHasher::with_seed(0).hash_one(9u64), h(&9u64));
        assert_ne!(KeyHasher::with_seed(1).hash_one(9u64), h(&9u64));
        // Consecutive ids spread over the low bits the indexes use and the high bits the
        // partitions use.
        for bits in [|x: u64| x & 63, |x: u64| x >> 58] {
            let mut v: Vec<u64> = (0u64..64).map(|i| bits(h(&i))).collect();
            v.sort_unstable();
            v.dedup();
            assert!(v.len() > 32, "{}", v.len());
        }
    }
}
