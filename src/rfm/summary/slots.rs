//! Where a [`SummaryStream`](super::SummaryStream) keeps each customer's running totals: a
//! table addressed by the id for integer keys that fill a range, a hash map otherwise.
//!
//! A customer's totals and key sit together in one entry (64 bytes for a 64-bit key, one
//! cache line), in the order the customers first came. Integer ids of a shop are mostly
//! dense, so a table of 4-byte entry numbers addressed by the id (the key's
//! [`view`](super::layout::view)) finds an entry with one load of a table that stays in
//! cache, and a host that knows the next customers can have their entries fetched ahead
//! ([`Slots::prefetch`]); the hash map's probe would wait for memory instead. Keys without a
//! view, ids too sparse for the table (more than four slots per customer), or two keys with
//! one view move every entry to the hash map. The first customers of a log are few and
//! their ids spread over the range, so the hash map looks again each time the customers
//! double whether their ids have become dense enough for the table (keys without a view or
//! sharing one keep it for good).

use std::hash::{BuildHasher, Hash};

use super::acc::Acc;
use super::layout::view;
use super::pass::prefetch;
use crate::error::{Error, Result};

/// A customer's running totals and key, on a cache line of their own (two for keys over 8
/// bytes): unaligned, most entries straddled two lines, and the prefetch of the first left
/// the update waiting for the second.
#[derive(Clone)]
#[repr(align(64))]
pub(super) struct Entry<K> {
    pub(super) acc: Acc,
    pub(super) key: K,
}

const EMPTY: u32 = u32::MAX;

/// Slots of the table a customer count allows beyond four a customer: room for the ids of a
/// small shop's first days, when its customers are still few.
const SLACK: u64 = 1 << 16;

/// How entries are found by key.
enum Index<K, S> {
    /// `slots[v - lo]` is the entry of the key of view `v`.
    Table {
        lo: u64,
        slots: Vec<u32>,
    },
    Hashed(hashbrown::HashMap<K, u32, S>),
}

/// The entries of a stream's customers and how they are found.
pub(super) struct Slots<K, S> {
    pub(super) entries: Vec<Entry<K>>,
    index: Index<K, S>,
    hasher: S,
    /// The least and greatest view of the keys so far; `None` once a key had none or two
    /// keys shared one, which keeps the hash map for good.
    views: Option<(u64, u64)>,
    /// The number of customers at which the hash map next looks whether the ids have
    /// become dense enough for the table (the first customers of a log are few, and their
    /// ids spread over the whole range).
    next_look: usize,
}

impl<K: Hash + Eq + Clone, S: BuildHasher + Clone> Slots<K, S> {
    pub(super) fn new(hasher: S) -> Slots<K, S> {
        let index = Index::Table { lo: 0, slots: Vec::new() };
        Slots { entries: Vec::new(), index, hasher, views: None, next_look: 0 }
    }

    /// The entry of `key`, if it has one.
    #[inline(always)]
    pub(super) fn find(&self, key: &K) -> Option<usize> {
        match &self.index {
            Index::Table { lo, slots } => {
                let s = *slots.get(view(key)?.wrapping_sub(*lo) as usize)?;
                let e = self.entries.get(s as usize)?;
                (e.key == *key).then_some(s as usize)
            }
            Index::Hashed(map) => map.get(key).map(|&s| s as usize),
        }
    }

    /// Asks the memory for `key`'s entry, ahead of its use: a hint, which does nothing in the
    /// hash map.
    #[inline(always)]
    pub(super) fn prefetch(&self, key: &K) {
        if let Index::Table { lo, slots } = &self.index {
            let s = view(key).and_then(|v| slots.get(v.wrapping_sub(*lo) as usize));
            if let Some(e) = s.and_then(|&s| self.entries.get(s as usize)) {
                prefetch(e);
            }
        }
    }

    /// Whether no customer can be added.
    pub(super) fn full(&self) -> bool {
        self.entries.len() >= EMPTY as usize
    }

    /// Adds the entry of `key`, which has none.
    ///
    /// # Errors
    ///
    /// An overflow past `u32::MAX - 1` customers; the slots are then as they were.
    pub(super) fn insert(&mut self, key: K, acc: Acc) -> Result<()> {
        let s = u32::try_from(self.entries.len())
            .ok()
            .filter(|&s| s != EMPTY)
            .ok_or_else(|| Error::overflow("customer count"))?;
        let view = view(&key);
        self.views = match (self.entries.is_empty(), self.views, view) {
            (true, _, Some(v)) => Some((v, v)),
            (false, Some((lo, hi)), Some(v)) => Some((lo.min(v), hi.max(v))),
            _ => None,
        };
        if !self.place(&key, s) {
            self.hash();
            if let Index::Hashed(map) = &mut self.index {
                map.insert(key.clone(), s);
            }
        }
        self.entries.push(Entry { acc, key });
        if matches!(self.index, Index::Hashed(_)) && self.entries.len() >= self.next_look {
            self.next_look = self.entries.len() * 2;
            self.tabulate();
        }
        Ok(())
    }

    /// Moves the entries from the hash map to a table, when their ids have views that now
    /// fill their range densely enough.
    #[cold]
    fn tabulate(&mut self) {
        let Some((lo, hi)) = self.views else { return };
        let limit = (self.entries.len() as u64).saturating_mul(4).saturating_add(SLACK);
        if hi - lo >= limit {
            return;
        }
        let mut slots = vec![EMPTY; (hi - lo + 1) as usize];
        for (s, e) in self.entries.iter().enumerate() {
            let Some(slot) = view(&e.key).and_then(|v| slots.get_mut((v - lo) as usize)) else {
                return;
            };
            if *slot != EMPTY {
                // Two keys with one view: the hash map for good.
                self.views = None;
                return;
            }
            *slot = s as u32;
        }
        self.index = Index::Table { lo, slots };
    }

    /// Puts entry `s` in the table at `key`'s view, growing the table; `false` when the
    /// table cannot take it (no view, too sparse, a view already taken) or is a hash map.
    fn place(&mut self, key: &K, s: u32) -> bool {
        let limit = (self.entries.len() as u64 + 1).saturating_mul(4).saturating_add(SLACK);
        let (Index::Table { lo, slots }, Some(v)) = (&mut self.index, view(key)) else {
            return false;
        };
        if slots.is_empty() {
            *lo = v;
        }
        let len = slots.len() as u64;
        if v < *lo || v - *lo >= len {
            // The last view the table covers, in 128 bits: a table may end at `u64::MAX`.
            let last = (u128::from(*lo) + u128::from(len)).saturating_sub(1);
            let (from, to) = (v.min(*lo), v.max(u64::try_from(last).unwrap_or(u64::MAX)));
            let need = to - from + 1;
            if need > limit {
                return false;
            }
            // Twice the width (within the limit) towards the side that grew, so that ids
            // arriving in ascending order move the table a logarithmic number of times.
            let width = need.max(len * 2).max(1024).min(limit);
            let new_lo = if v < *lo { to.saturating_sub(width - 1) } else { from };
            let width = width.min((u64::MAX - new_lo).saturating_add(1));
            let mut grown = vec![EMPTY; width as usize];
            let at = (*lo - new_lo) as usize;
            grown[at..at + slots.len()].copy_from_slice(slots);
            (*lo, *slots) = (new_lo, grown);
        }
        let slot = &mut slots[(v - *lo) as usize];
        if *slot != EMPTY {
            // Two keys with one view: the hash map for good.
            self.views = None;
            return false;
        }
        *slot = s;
        true
    }

    /// Moves every entry's key into a hash map.
    fn hash(&mut self) {
        if matches!(self.index, Index::Hashed(_)) {
            return;
        }
        let hasher = self.hasher.clone();
        let mut map = hashbrown::HashMap::with_capacity_and_hasher(self.entries.len(), hasher);
        for (s, e) in self.entries.iter().enumerate() {
            map.insert(e.key.clone(), s as u32);
        }
        self.index = Index::Hashed(map);
    }

    /// The entries' positions in the order of their keys' views (for the table, a walk of
    /// its slots) or in no order (for the hash map); `true` with the first.
    pub(super) fn order(&self) -> (Vec<u32>, bool) {
        match &self.index {
            Index::Table { slots, .. } => {
                (slots.iter().copied().filter(|&s| s != EMPTY).collect(), true)
            }
            Index::Hashed(_) => ((0..self.entries.len() as u32).collect(), false),
        }
    }
}
