//! The account's indexes: spendable lots in spend order, and idempotency keys.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use super::lot::SpendKey;
use super::OpKey;

/// Spendable lots ordered by [`SpendKey`], split in two sorted parts: `tail`, a queue that
/// takes every key larger than its last one (the usual case: a rolling expiry counted from
/// nondecreasing activation dates makes each new lot sort after the others), and `rest`, a
/// B-tree for keys that arrive out of order (fixed dates mixed with non-expiring lots,
/// transferred lots keeping their source dates, released reservations). The smallest key
/// is the smaller of the two fronts. In the usual case an insert is a push and a spend a
/// pop, both O(1), whatever the number of lots.
#[derive(Clone, Debug, Default)]
pub(crate) struct SpendIndex {
    tail: VecDeque<SpendKey>,
    rest: BTreeSet<SpendKey>,
}

impl PartialEq for SpendIndex {
    // Two indexes are equal when they hold the same keys, however they are split.
    fn eq(&self, other: &SpendIndex) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl SpendIndex {
    pub(crate) fn len(&self) -> usize {
        self.tail.len() + self.rest.len()
    }

    pub(crate) fn insert(&mut self, key: SpendKey) {
        if self.tail.back().is_none_or(|b| key > *b) {
            self.tail.push_back(key);
        } else {
            self.rest.insert(key);
        }
    }

    pub(crate) fn first(&self) -> Option<SpendKey> {
        match (self.tail.front(), self.rest.first()) {
            (Some(t), Some(r)) => Some(*t.min(r)),
            (Some(t), None) => Some(*t),
            (None, r) => r.copied(),
        }
    }

    pub(crate) fn pop_first(&mut self) -> Option<SpendKey> {
        match (self.tail.front(), self.rest.first()) {
            (Some(t), Some(r)) if r < t => self.rest.pop_first(),
            (Some(_), _) => self.tail.pop_front(),
            (None, _) => self.rest.pop_first(),
        }
    }

    pub(crate) fn remove(&mut self, key: &SpendKey) -> bool {
        if self.rest.remove(key) {
            return true;
        }
        if self.tail.front() == Some(key) {
            self.tail.pop_front();
            return true;
        }
        match self.tail.binary_search(key) {
            Ok(i) => self.tail.remove(i).is_some(),
            Err(_) => false,
        }
    }

    pub(crate) fn contains(&self, key: &SpendKey) -> bool {
        self.rest.contains(key) || self.tail.binary_search(key).is_ok()
    }

    /// All keys in spend order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = SpendKey> + '_ {
        let mut tail = self.tail.iter().copied().peekable();
        let mut rest = self.rest.iter().copied().peekable();
        std::iter::from_fn(move || match (tail.peek(), rest.peek()) {
            (Some(t), Some(r)) if r < t => rest.next(),
            (Some(_), _) => tail.next(),
            (None, _) => rest.next(),
        })
    }

    pub(crate) fn reserve(&mut self, additional: usize) {
        self.tail.reserve(additional);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn behaves_like_a_sorted_set(ops in proptest::collection::vec((0u8..4, 0u32..64), 0..200)) {
            let mut index = SpendIndex::default();
            let mut model = BTreeSet::new();
            for (op, k) in ops {
                let key = SpendKey::from_raw(u128::from(k));
                match op {
                    0 | 1 => {
                        if !model.contains(&key) {
                            index.insert(key);
                            model.insert(key);
                        }
                    }
                    2 => prop_assert_eq!(index.pop_first(), model.pop_first()),
                    _ => prop_assert_eq!(index.remove(&key), model.remove(&key)),
                }
                prop_assert_eq!(index.first(), model.first().copied());
                prop_assert_eq!(index.len(), model.len());
                prop_assert!(index.iter().eq(model.iter().copied()));
                prop_assert_eq!(index.contains(&key), model.contains(&key));
            }
        }
    }
}

/// The idempotency-key index: key to entry position.
///
/// Keys larger than every key seen so far (hosts often use increasing ids or time-ordered
/// UUIDs) are appended to a sorted array: deciding that such a key is new is one
/// comparison, and recording it touches only the array's end, so the cost stays flat and
/// cache-friendly however long the history. Other keys go to a hash map with a fixed,
/// deterministic hasher. Since the split depends only on the order of insertion, an account
/// rebuilt from its entries gets the same index.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct KeyIndex {
    ordered: Vec<(OpKey, u32)>,
    other: HashMap<OpKey, u32, BuildHasherDefault<KeyHasher>>,
}

impl KeyIndex {
    pub(crate) fn get(&self, key: &OpKey) -> Option<u32> {
        match self.ordered.last() {
            // Every key in either part is at most the last ordered key.
            Some((last, _)) if key > last => None,
            None => self.other.get(key).copied(),
            Some(_) => match self.ordered.binary_search_by(|(k, _)| k.cmp(key)) {
                Ok(i) => self.ordered.get(i).map(|(_, v)| *v),
                Err(_) => self.other.get(key).copied(),
            },
        }
    }

    /// Records a key; returns `false` (and changes nothing) when it is already present.
    pub(crate) fn insert(&mut self, key: OpKey, entry: u32) -> bool {
        if self.ordered.last().is_none_or(|(last, _)| key > *last) {
            self.ordered.push((key, entry));
            return true;
        }
        if self.ordered.binary_search_by(|(k, _)| k.cmp(&key)).is_ok() {
            return false;
        }
        // One hash lookup, not a `get` then an `insert`.
        match self.other.entry(key) {
            Entry::Occupied(_) => false,
            Entry::Vacant(v) => {
                v.insert(entry);
                true
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.ordered.len() + self.other.len()
    }

    pub(crate) fn reserve(&mut self, additional: usize) {
        self.ordered.reserve(additional);
        // An account that has seen unordered keys (random UUIDs) will likely see more: room
        // in the map too, so a bulk run does not rehash midway. Accounts with increasing
        // keys never allocate the map.
        if !self.other.is_empty() {
            self.other.reserve(additional);
        }
    }
}

/// A deterministic hasher for keys: no random seed (the crate uses no randomness), one
/// multiply per word.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }

    fn write_u64(&mut self, n: u64) {
        let h = (self.0.rotate_left(26) ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = h ^ (h >> 29);
    }
}

#[cfg(test)]
mod key_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn behaves_like_a_map(keys in proptest::collection::vec(0u128..50, 0..200)) {
            let mut index = KeyIndex::default();
            let mut model = std::collections::BTreeMap::new();
            for (i, k) in keys.into_iter().enumerate() {
                let key = OpKey::new(k);
                let fresh = !model.contains_key(&key);
                prop_assert_eq!(index.insert(key, i as u32), fresh);
                if fresh {
                    model.insert(key, i as u32);
                }
                prop_assert_eq!(index.len(), model.len());
                for probe in 0u128..52 {
                    let p = OpKey::new(probe);
                    prop_assert_eq!(index.get(&p), model.get(&p).copied());
                }
            }
        }
    }
}
