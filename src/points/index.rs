//! The spend index: spendable lots in spend order.

use std::collections::{BTreeSet, VecDeque};

use super::lot::SpendKey;

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
