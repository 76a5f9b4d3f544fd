//! Where a [`SummaryStream`](super::SummaryStream) keeps each customer's running totals: a
//! table addressed by the id for integer keys that fill a range, a hash map otherwise.
//!
//! A customer's totals and key sit together in one entry (64 bytes for a 64-bit key, one
//! cache line). Integer ids of a shop are mostly dense, so the entries are laid out by the
//! id (the key's [`view`](super::layout::view)), vacant where no customer has the id: a
//! key's entry is found with no load at all, and a host that knows the next customers can
//! have their entries fetched ahead ([`Slots::prefetch`]), which keeps that many fetches in
//! flight where a probe of an index would wait for memory first. Keys without a view, ids
//! too sparse for the table (more than four slots a customer), or two keys with one view
//! move the entries to a hash map (in the order the customers came). The first customers of
//! a log are few and their ids spread over the range, so the hash map looks again each time
//! its customers grow by an eighth whether their ids have become dense enough for the table
//! (keys without a view or sharing one keep the hash map for good).

use std::hash::{BuildHasher, Hash};

use super::acc::Acc;
use super::layout::view;
use super::pass::prefetch;
use crate::error::{Error, Result};

/// A customer's running totals and key, on a cache line of their own (two for keys over 8
/// bytes): unaligned, most entries straddled two lines, and the prefetch of the first left
/// the update waiting for the second. A vacant entry of the table has no orders.
#[derive(Clone)]
#[repr(align(64))]
pub(super) struct Entry<K> {
    pub(super) acc: Acc,
    pub(super) key: K,
}

impl<K> Entry<K> {
    /// An empty slot of the table (its key is any key: only held entries' keys are read).
    pub(super) fn vacant(key: K) -> Entry<K> {
        Entry { acc: Acc::vacant(), key }
    }

    /// Whether a customer holds the entry.
    #[inline(always)]
    pub(super) fn held(&self) -> bool {
        self.acc.orders > 0
    }
}

/// Slots of the table a customer count allows beyond four a customer: room for the ids of a
/// small shop's first days, when its customers are still few.
const SLACK: u64 = 1 << 16;

/// The most customers: positions are `u32`s.
const MOST: usize = u32::MAX as usize;

/// How entries are found by key.
enum Index<K, S> {
    /// `entries[v - lo]` is the entry of the key of view `v`.
    Table { lo: u64 },
    /// The entries in the order the customers came.
    Hashed(hashbrown::HashMap<K, u32, S>),
}

/// The entries of a stream's customers and how they are found.
pub(super) struct Slots<K, S> {
    /// Held entries, and in the table vacant ones.
    pub(super) entries: Vec<Entry<K>>,
    /// Held entries.
    len: usize,
    index: Index<K, S>,
    hasher: S,
    /// The least and greatest view of the keys so far; `None` once a key had none or two
    /// keys shared one, which keeps the hash map for good.
    views: Option<(u64, u64)>,
    /// The number of customers at which the hash map next looks whether the ids have
    /// become dense enough for the table.
    next_look: usize,
}

impl<K, S> Slots<K, S> {
    /// The number of customers.
    pub(super) fn len(&self) -> usize {
        self.len
    }
}

impl<K: Hash + Eq + Clone, S: BuildHasher + Clone> Slots<K, S> {
    pub(super) fn new(hasher: S) -> Slots<K, S> {
        let index = Index::Table { lo: 0 };
        Slots { entries: Vec::new(), len: 0, index, hasher, views: None, next_look: 0 }
    }

    /// Whether no customer can be added.
    pub(super) fn full(&self) -> bool {
        self.len >= MOST
    }

    /// The position of `key`'s entry, if it has one.
    #[inline(always)]
    pub(super) fn find(&self, key: &K) -> Option<usize> {
        match &self.index {
            Index::Table { lo } => {
                let j = view(key)?.wrapping_sub(*lo) as usize;
                let e = self.entries.get(j)?;
                (e.held() && e.key == *key).then_some(j)
            }
            Index::Hashed(map) => map.get(key).map(|&s| s as usize),
        }
    }

    /// Asks the memory for `key`'s entry, ahead of its use: a hint, which does nothing in the
    /// hash map.
    #[inline(always)]
    pub(super) fn prefetch(&self, key: &K) {
        if let (Index::Table { lo }, Some(v)) = (&self.index, view(key)) {
            if let Some(e) = self.entries.get(v.wrapping_sub(*lo) as usize) {
                prefetch(e);
            }
        }
    }

    /// Adds the entry of `key`, which has none.
    ///
    /// # Errors
    ///
    /// An overflow past `u32::MAX` customers; the slots are then as they were.
    pub(super) fn insert(&mut self, key: K, acc: Acc) -> Result<()> {
        if self.full() {
            return Err(Error::overflow("customer count"));
        }
        let v = view(&key);
        self.views = match (self.len, self.views, v) {
            (0, _, Some(v)) => Some((v, v)),
            (_, Some((lo, hi)), Some(v)) => Some((lo.min(v), hi.max(v))),
            _ => None,
        };
        let entry = Entry { acc, key };
        let entry = match v {
            Some(v) if matches!(self.index, Index::Table { .. }) => match self.place(v, entry) {
                Ok(()) => {
                    self.len += 1;
                    return Ok(());
                }
                Err(entry) => {
                    self.hash();
                    entry
                }
            },
            _ => {
                self.hash();
                entry
            }
        };
        if let Index::Hashed(map) = &mut self.index {
            map.insert(entry.key.clone(), self.entries.len() as u32);
        }
        self.entries.push(entry);
        self.len += 1;
        // Whether the ids have become dense enough for the table, each time the customers
        // grew by an eighth: soon after they are (at doublings, 400,000 customers in time
        // order kept the hash map until 131,072 where 84,000 fill the table), and a
        // constant number of moves a customer however ids far apart alternate with dense
        // ones (a table left for one id too far, taken again at the next customer, would
        // move every entry twice a customer).
        if self.len >= self.next_look {
            self.next_look = self.len + self.len / 8 + 1;
            self.tabulate();
        }
        Ok(())
    }

    /// Puts `entry` in the table at view `v`, growing the table; `Err` with it when the
    /// table cannot take it (too sparse, the view already held).
    fn place(&mut self, v: u64, entry: Entry<K>) -> std::result::Result<(), Entry<K>> {
        let limit = self.limit(1);
        let Index::Table { lo } = &mut self.index else { return Err(entry) };
        if self.entries.is_empty() {
            *lo = v;
        }
        let len = self.entries.len() as u64;
        if v < *lo || v - *lo >= len {
            // The last view the table covers, in 128 bits: a table may end at `u64::MAX`.
            let last = (u128::from(*lo) + u128::from(len)).saturating_sub(1);
            let (from, to) = (v.min(*lo), v.max(u64::try_from(last).unwrap_or(u64::MAX)));
            // Every view from 0 to `u64::MAX` is 2^64 slots, one more than a `u64` counts:
            // far too sparse, like any width past the limit.
            let Some(need) = (to - from).checked_add(1).filter(|&n| n <= limit) else {
                return Err(entry);
            };
            let vacant = Entry::vacant(entry.key.clone());
            if len == 0 || v > *lo {
                // The first id, or past the end: just as wide as the new id needs. `resize`
                // grows the capacity by doubling, so ids arriving in ascending order move
                // the table a logarithmic number of times, and only the slots up to the id
                // are written (twice the width here wrote, and kept, a table twice as large
                // as the ids' range for a customer one id past it).
                let room = (u64::MAX - *lo).saturating_add(1);
                self.entries.resize(need.max(1024).min(limit).min(room) as usize, vacant);
                return self.settle(v, entry);
            }
            // Before the start: an eighth of the width more below the new id (not below
            // view 0, nor beyond the limit), so that ids arriving in descending order move
            // the table a logarithmic number of times; doubling the width here made a
            // table of 800,000 slots for 400,000 customers whose range one lower id
            // extended.
            let spare = (len / 8).max(1024);
            let new_lo = from.saturating_sub(spare).max(to.saturating_sub(limit - 1));
            // `to` is the table's last view: the old slots fill the rest.
            let at = (*lo - new_lo) as usize;
            let old = std::mem::take(&mut self.entries);
            let mut grown = Vec::with_capacity(at + old.len());
            grown.resize(at, vacant);
            grown.extend(old);
            (*lo, self.entries) = (new_lo, grown);
        }
        self.settle(v, entry)
    }

    /// Puts `entry` in the table's slot of view `v`, which the table covers; `Err` with it
    /// when the slot is held (two keys with one view: the hash map for good).
    fn settle(&mut self, v: u64, entry: Entry<K>) -> std::result::Result<(), Entry<K>> {
        let Index::Table { lo } = self.index else { return Err(entry) };
        let slot = &mut self.entries[(v - lo) as usize];
        if slot.held() {
            self.views = None;
            return Err(entry);
        }
        *slot = entry;
        Ok(())
    }

    /// The most slots the table may have with `more` customers added: four a customer and
    /// [`SLACK`].
    fn limit(&self, more: u64) -> u64 {
        (self.len as u64 + more).saturating_mul(4).saturating_add(SLACK)
    }

    /// Moves the table's held entries, in view order, to a hash map.
    fn hash(&mut self) {
        if matches!(self.index, Index::Hashed(_)) {
            return;
        }
        self.entries.retain(Entry::held);
        let mut map = hashbrown::HashMap::with_capacity_and_hasher(self.len, self.hasher.clone());
        for (s, e) in self.entries.iter().enumerate() {
            map.insert(e.key.clone(), s as u32);
        }
        self.index = Index::Hashed(map);
    }

    /// Moves the entries from the hash map to a table, when their ids have views that now
    /// fill their range densely enough.
    #[cold]
    fn tabulate(&mut self) {
        let (Some((lo, hi)), Some(first)) = (self.views, self.entries.first()) else { return };
        let limit = self.limit(0);
        if hi - lo >= limit {
            return;
        }
        let vacant = Entry::vacant(first.key.clone());
        // Room for a sixteenth of the width more at each end (within the limit): the range
        // of the customers so far is not yet the log's, and a table that covered it exactly
        // was copied whole for the first id below it and again for the first above
        // (400,000 customers in time order: three tables of 26 MB written for one). Below,
        // vacant slots; above, capacity only, which costs no memory until it is written.
        let width = hi - lo + 1;
        let spare = (width / 16).min((limit - width) / 2);
        let lo = lo.saturating_sub(spare);
        let width = (hi - lo + 1) as usize;
        let mut table = Vec::with_capacity(width.saturating_add(spare as usize));
        table.resize(width, vacant);
        for e in &self.entries {
            let Some(slot) = view(&e.key).and_then(|v| table.get_mut((v - lo) as usize)) else {
                return;
            };
            if slot.held() {
                // Two keys with one view: the hash map for good.
                self.views = None;
                return;
            }
            *slot = e.clone();
        }
        (self.entries, self.index) = (table, Index::Table { lo });
    }

    /// Where `later`'s entries begin among these when both lie in tables and `later`'s
    /// (non-empty) begins no earlier than this one's and ends at most an eighth of its width
    /// past it: entry `k` of `later` then has the view of slot `offset + k` here.
    #[cfg(feature = "rayon")]
    pub(super) fn aligned(&self, later: &Slots<K, S>) -> Option<usize> {
        let (Index::Table { lo }, Index::Table { lo: theirs }) = (&self.index, &later.index) else {
            return None;
        };
        let offset = usize::try_from(theirs.checked_sub(*lo)?).ok()?;
        let end = offset.checked_add(later.entries.len())?;
        let reach = self.entries.len() + (self.entries.len() / 8).max(1024);
        (self.len > 0 && later.len > 0 && end <= reach).then_some(offset)
    }

    /// Vacant slots up to `end` (a table's end moved on), for [`Slots::aligned`] streams.
    #[cfg(feature = "rayon")]
    pub(super) fn cover(&mut self, end: usize) {
        if let Some(first) = self.entries.first() {
            if end > self.entries.len() {
                let vacant = Entry::vacant(first.key.clone());
                self.entries.resize(end, vacant);
            }
        }
    }

    /// Counts `fresh` customers that `later`'s entries brought into vacant slots of this
    /// table, with the views of `later`'s keys.
    #[cfg(feature = "rayon")]
    pub(super) fn took(&mut self, fresh: usize, later: &Slots<K, S>) {
        self.len += fresh;
        self.views = match (self.views, later.views) {
            (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
            _ => None,
        };
    }

    /// The positions of the held entries in the order of their keys' views (for the table,
    /// a walk of its slots) or in the order the customers came (for the hash map); `true`
    /// with the first.
    pub(super) fn order(&self) -> (Vec<u32>, bool) {
        let held = self.entries.iter().enumerate().filter(|(_, e)| e.held());
        let positions = held.map(|(s, _)| s as u32).collect();
        (positions, matches!(self.index, Index::Table { .. }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rfm::summary::keyhash::KeyHasher;

    fn acc(p: i32) -> Acc {
        Acc::new(p, 1)
    }

    fn tabled<K, S>(s: &Slots<K, S>) -> bool {
        matches!(s.index, Index::Table { .. })
    }

    /// Ids far apart at first take the hash map; once enough customers fill the range, the
    /// entries move to the table, and every key is found in both.
    #[test]
    fn spread_first_ids_take_the_hash_map_then_the_table() {
        let mut s: Slots<u64, KeyHasher> = Slots::new(KeyHasher::default());
        s.insert(0, acc(0)).unwrap();
        s.insert(300_000, acc(1)).unwrap();
        assert!(!tabled(&s));
        for id in 1..=120_000u64 {
            s.insert(id, acc(2)).unwrap();
        }
        assert!(tabled(&s), "300,001 ids for 120,002 customers fit the table");
        assert_eq!(s.len(), 120_002);
        for id in (0..=120_000).chain([300_000]) {
            let j = s.find(&id).unwrap_or_else(|| panic!("{id}"));
            assert_eq!(s.entries[j].key, id);
        }
        assert_eq!(s.find(&200_000), None);
        let (order, by_view) = s.order();
        assert!(by_view);
        let keys: Vec<u64> = order.iter().map(|&j| s.entries[j as usize].key).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]) && keys.len() == 120_002);
    }

    /// A customer one id past either end of a table widens it by about what the id needs,
    /// not to twice its width (which wrote, and kept, 51 MB tables for 26 MB of customers).
    #[test]
    fn ids_past_the_table_widen_it_by_what_they_need() {
        let mut s: Slots<u64, KeyHasher> = Slots::new(KeyHasher::default());
        for id in 1_000..=101_000u64 {
            s.insert(id, acc(0)).unwrap();
        }
        assert!(tabled(&s));
        let width = s.entries.len();
        assert!((100_001..=101_024).contains(&width), "{width}");
        // One past the end: one more slot.
        s.insert(101_001, acc(1)).unwrap();
        assert_eq!(s.entries.len(), width.max(100_002));
        // One before the start: an eighth more below, not a doubling.
        let width = s.entries.len();
        s.insert(999, acc(1)).unwrap();
        assert!(s.entries.len() <= width + width / 8 + 1, "{}", s.entries.len());
        assert!(s.entries.len() > width);
        for id in (999..=101_001).step_by(997) {
            assert_eq!(s.find(&id).map(|j| s.entries[j].key), Some(id));
        }
        // Down to view 0 the table never reaches below it.
        for id in (0..999).rev() {
            s.insert(id, acc(1)).unwrap();
        }
        assert!(tabled(&s) && s.entries.len() <= 101_002 + 101_002 / 8);
        assert_eq!(s.find(&0).map(|j| s.entries[j].key), Some(0));
    }

    /// Ids in random order over a range (a log in time order): the table is made once the
    /// ids fill it, with room at both ends, and the last customers at either end of the
    /// range need no copy of it.
    #[test]
    fn random_ids_take_the_table_once_with_room_at_the_ends() {
        let mut s: Slots<u64, KeyHasher> = Slots::new(KeyHasher::default());
        // 1..=200_000 shuffled (Fisher-Yates on an LCG's draws), but 1 and 200,000 first:
        // the first two ids then span the range.
        let n = 200_000u64;
        let mut ids: Vec<u64> = (1..=n).collect();
        let mut x = 99u64;
        for i in (3..ids.len()).rev() {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            ids.swap(i, 2 + (x >> 33) as usize % (i - 1));
        }
        ids.swap(1, n as usize - 1);
        let mut tabled_at = None;
        for (i, &id) in ids.iter().enumerate() {
            s.insert(id, acc(0)).unwrap();
            if i > 0 && tabled_at.is_none() && tabled(&s) {
                tabled_at = Some(i + 1);
            }
        }
        // Four slots a customer and the slack cover 200,000 ids from 33,616 customers: the
        // table comes within an eighth of that (doublings waited until 65,536).
        let at = tabled_at.expect("tabled");
        assert!((33_616..=33_616 * 9 / 8 + 1).contains(&at), "{at}");
        let before = s.entries.as_ptr();
        s.insert(0, acc(1)).unwrap();
        s.insert(n + 1, acc(1)).unwrap();
        assert_eq!(s.entries.as_ptr(), before, "the table was moved");
        assert_eq!(s.len(), n as usize + 2);
    }

    /// Ids at both ends of the views, 0 and `u64::MAX`: a width of 2^64 slots, which no
    /// `u64` counts, goes to the hash map (the width wrapped to 0 and the table was indexed
    /// past its end).
    #[test]
    fn ids_at_both_ends_of_the_views_take_the_hash_map() {
        let mut s: Slots<u64, KeyHasher> = Slots::new(KeyHasher::default());
        s.insert(0, acc(0)).unwrap();
        s.insert(u64::MAX, acc(1)).unwrap();
        assert!(!tabled(&s));
        assert_eq!(s.find(&u64::MAX).map(|j| s.entries[j].key), Some(u64::MAX));
        assert_eq!(s.find(&0).map(|j| s.entries[j].key), Some(0));
        let mut s: Slots<u64, KeyHasher> = Slots::new(KeyHasher::default());
        s.insert(u64::MAX, acc(0)).unwrap();
        s.insert(0, acc(1)).unwrap();
        assert_eq!(s.len(), 2);
        assert!(!tabled(&s));
    }

    /// Two keys with one view move the entries to the hash map for good.
    #[test]
    fn a_shared_view_keeps_the_hash_map() {
        #[derive(Clone, PartialEq, Eq)]
        struct Half(u64);
        impl Hash for Half {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                state.write_u64(self.0 / 2);
            }
        }
        let mut s: Slots<Half, KeyHasher> = Slots::new(KeyHasher::default());
        for id in 0..10_000u64 {
            s.insert(Half(id), acc(0)).unwrap();
            assert_eq!(tabled(&s), id == 0, "{id}");
        }
        for id in 0..10_000u64 {
            assert_eq!(s.find(&Half(id)).map(|j| s.entries[j].key.0), Some(id));
        }
    }
}
