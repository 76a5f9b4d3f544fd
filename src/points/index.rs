//! The account's indexes: spendable lots in spend order, and idempotency keys.

use std::collections::{BTreeSet, VecDeque};

use hashbrown::HashTable;

use super::entry::Entry;
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
/// comparison, and recording it touches only the array's end. Other keys (random UUIDs) go
/// to a hash table ([`hashbrown::HashTable`]) whose slots hold a 32-bit tag of the key's
/// hash and the 4-byte entry position (8 bytes, where a map holding the keys took 24): a
/// probe reads the entry (a cache miss once the history outgrows the cache) only when the
/// tag matches, which for a new key happens about once in 2^32 probes, and growing the table
/// rehashes from the tags without touching the entries. Since the split
/// depends only on the order of insertion, an account rebuilt from its entries gets the
/// same index.
///
/// The hash is fixed and deterministic (the crate has no randomness of its own), so keys
/// chosen to collide can slow one account's index down (never make it wrong). Idempotency
/// keys should come from the host (random UUIDs); a host that accepts keys from clients
/// should map them through its own keyed hash (an HMAC with a server secret) first.
#[derive(Clone, Debug, Default)]
pub(crate) struct KeyIndex {
    ordered: Vec<(OpKey, u32)>,
    /// (tag, entry position).
    other: HashTable<(u32, u32)>,
}

impl PartialEq for KeyIndex {
    // A derived cache: equal when it maps the same keys to the same entries. The accounts
    // compared hold the same entries, so the same positions mean the same keys.
    fn eq(&self, other: &KeyIndex) -> bool {
        let positions = |t: &HashTable<(u32, u32)>| {
            let mut v: Vec<(u32, u32)> = t.iter().copied().collect();
            v.sort_unstable();
            v
        };
        self.ordered == other.ordered && positions(&self.other) == positions(&other.other)
    }
}

/// One multiply-fold per half: keys are random or increasing, so little mixing is needed.
fn hash(key: OpKey) -> u64 {
    let v = key.value();
    let m = |x: u64, k: u64| {
        let p = u128::from(x) * u128::from(k);
        (p as u64) ^ ((p >> 64) as u64)
    };
    m(m(v as u64, 0x9e37_79b9_7f4a_7c15) ^ (v >> 64) as u64, 0xbf58_476d_1ce4_e5b9)
}

/// A key's tag: 32 bits of its hash.
fn tag(key: OpKey) -> u32 {
    (hash(key) >> 32) as u32
}

/// The table's hash of a slot, from its tag alone (the tag is already well mixed: one
/// multiply spreads it over the 64 bits hashbrown takes its bucket and control byte from).
fn slot_hash(&(tag, _): &(u32, u32)) -> u64 {
    u64::from(tag).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// The key of the entry at `i` (none for entries without one, which are never indexed).
fn key_at(entries: &[Entry], i: u32) -> Option<OpKey> {
    entries.get(i as usize).and_then(|e| e.key)
}

impl KeyIndex {
    /// The position of the entry recorded under `key` in `entries`.
    pub(crate) fn get(&self, key: &OpKey, entries: &[Entry]) -> Option<u32> {
        match self.ordered.last() {
            // Every key in either part is at most the last ordered key.
            Some((last, _)) if key > last => None,
            _ => {
                if let Ok(i) = self.ordered.binary_search_by(|(k, _)| k.cmp(key)) {
                    return self.ordered.get(i).map(|(_, v)| *v);
                }
                let t = tag(*key);
                self.other
                    .find(slot_hash(&(t, 0)), |&(s, i)| s == t && key_at(entries, i) == Some(*key))
                    .map(|&(_, i)| i)
            }
        }
    }

    /// Records that `entries[entry]` (not pushed yet, or already there) holds `key`;
    /// returns `false` (and changes nothing) when the key is already present.
    pub(crate) fn insert(&mut self, key: OpKey, entry: u32, entries: &[Entry]) -> bool {
        if self.ordered.last().is_none_or(|(last, _)| key > *last) {
            self.ordered.push((key, entry));
            return true;
        }
        if self.ordered.binary_search_by(|(k, _)| k.cmp(&key)).is_ok() {
            return false;
        }
        let t = tag(key);
        // One probe sequence, not a `find` then an `insert`.
        let same = |&(s, i): &(u32, u32)| s == t && key_at(entries, i) == Some(key);
        match self.other.entry(slot_hash(&(t, 0)), same, slot_hash) {
            hashbrown::hash_table::Entry::Occupied(_) => false,
            hashbrown::hash_table::Entry::Vacant(v) => {
                v.insert((t, entry));
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
        // in the table too, so a bulk run does not rehash midway. Accounts with increasing
        // keys never allocate the table.
        if !self.other.is_empty() {
            self.other.reserve(additional, slot_hash);
        }
    }
}

#[cfg(test)]
mod key_tests {
    use super::*;
    use crate::points::EntryKind;
    use chrono::NaiveDate;
    use proptest::prelude::*;

    fn entry(key: OpKey) -> Entry {
        let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        Entry {
            key: Some(key),
            at: day,
            kind: EntryKind::Expire { points: crate::points::Points::ZERO },
            draws_start: 0,
            draws_len: 0,
        }
    }

    proptest! {
        #[test]
        fn behaves_like_a_map(keys in proptest::collection::vec(0u128..50, 0..200), wide in any::<bool>()) {
            let mut index = KeyIndex::default();
            let mut entries = Vec::new();
            let mut model = std::collections::BTreeMap::new();
            // `wide` spreads the keys over both halves of the 128 bits.
            let k = |x: u128| OpKey::new(if wide { x.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835) } else { x });
            for key in keys.into_iter().map(k) {
                let fresh = !model.contains_key(&key);
                let at = entries.len() as u32;
                prop_assert_eq!(index.insert(key, at, &entries), fresh);
                if fresh {
                    model.insert(key, at);
                    entries.push(entry(key));
                }
                prop_assert_eq!(index.len(), model.len());
                for probe in (0u128..52).map(k) {
                    prop_assert_eq!(index.get(&probe, &entries), model.get(&probe).copied());
                }
            }
        }
    }
}
