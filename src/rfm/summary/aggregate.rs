//! One partition's aggregation: a small linear-probing index over the partition's customers,
//! which stays in cache, and the exact recount of customers whose periods came out of order.

use std::hash::{BuildHasher, Hash};
use std::mem;

use super::acc::{distinct, Acc};
use super::records::{unpack, Handle, Record};
use crate::error::{Error, Result};

/// The slots of a partition's accumulators by key: open addressing with linear probing over
/// slot numbers only. The key is compared in the accumulator itself, whose cache line the
/// update touches next anyway, so a lookup that hits costs one load of the index and no more.
pub(super) struct Index {
    slots: Vec<u32>,
    mask: usize,
    len: usize,
}

const EMPTY: u32 = u32::MAX;

impl Index {
    pub(super) fn new() -> Index {
        Index { slots: vec![EMPTY; 16], mask: 15, len: 0 }
    }

    fn clear(&mut self) {
        self.slots.fill(EMPTY);
        self.len = 0;
    }

    /// The slot of `key` (hash `hash`) among `accs`, or `Err(position)` where it goes.
    #[inline(always)]
    fn find<H: Eq, A>(
        &self,
        hash: u64,
        key: &H,
        accs: &[(H, A)],
    ) -> std::result::Result<u32, usize> {
        let mut at = hash as usize & self.mask;
        loop {
            let s = self.slots[at];
            if s == EMPTY {
                return Err(at);
            }
            if accs[s as usize].0 == *key {
                return Ok(s);
            }
            at = (at + 1) & self.mask;
        }
    }

    /// Puts `slot` at `at` (from [`Index::find`]); doubles the table past half full.
    #[inline]
    fn insert<H: Hash, A, S: BuildHasher>(
        &mut self,
        at: usize,
        slot: u32,
        accs: &[(H, A)],
        hasher: &S,
    ) {
        self.slots[at] = slot;
        self.len += 1;
        if 2 * self.len > self.slots.len() {
            let size = self.slots.len() * 2;
            self.slots.clear();
            self.slots.resize(size, EMPTY);
            self.mask = size - 1;
            for (s, (h, _)) in accs.iter().enumerate() {
                let mut at = hasher.hash_one(h) as usize & self.mask;
                while self.slots[at] != EMPTY {
                    at = (at + 1) & self.mask;
                }
                self.slots[at] = s as u32;
            }
        }
    }
}

/// The scratch of a partition's aggregation, kept from one partition to the next, and the
/// hasher of its keys.
pub(super) struct Aggregator<'s, S> {
    hasher: &'s S,
    index: Index,
    /// The accumulator of each record.
    slots: Vec<u32>,
    starts: Vec<usize>,
    backs: Vec<u32>,
}

impl<'s, S: BuildHasher> Aggregator<'s, S> {
    pub(super) fn new(hasher: &'s S) -> Aggregator<'s, S> {
        let (slots, starts, backs) = (Vec::new(), Vec::new(), Vec::new());
        Aggregator { hasher, index: Index::new(), slots, starts, backs }
    }

    /// One exact accumulator per customer of the partition `recs` (its records from each
    /// piece of the log, in order), in first-arrival order.
    pub(super) fn aggregate<'a, K, H, R>(
        &mut self,
        recs: &[&[R]],
        scale: u32,
        end_p: i64,
        accs: &mut Vec<(H, Acc)>,
    ) -> Result<()>
    where
        K: 'a,
        H: Handle<'a, K>,
        R: Record<H>,
    {
        let Aggregator { hasher, index, slots, .. } = self;
        slots.clear();
        accs.clear();
        index.clear();
        for r in recs.iter().flat_map(|p| p.iter()) {
            let (period, amount) = unpack(r, scale, end_p)?;
            let slot = match index.find(hasher.hash_one(r.key()), r.key(), accs) {
                Ok(slot) => {
                    accs[slot as usize].1.add(period, amount)?;
                    slot
                }
                Err(at) => {
                    let slot =
                        u32::try_from(accs.len()).map_err(|_| Error::overflow("customers"))?;
                    accs.push((r.key().dup(), Acc::new(period, amount)));
                    index.insert(at, slot, accs, *hasher);
                    slot
                }
            };
            slots.push(slot);
        }
        if accs.iter().any(|(_, a)| a.out_of_order) {
            let slots = mem::take(&mut self.slots);
            let back = |r: &R| r.fields().2;
            self.recount(recs, end_p, (|i, _: &R| slots[i] as usize, back), accs);
            self.slots = slots;
        }
        Ok(())
    }

    /// Exact distinct-period counts for the customers among `accs` whose transactions arrived
    /// out of time order (`slot` gives the accumulator of record `i`): their periods (as
    /// distances back from the end) are grouped by customer with a counting sort (the orders
    /// of each customer are known), and each small group's distinct values are counted
    /// ([`distinct`]). `back` gives a record's periods back from the end.
    pub(super) fn recount<T, R>(
        &mut self,
        recs: &[&[R]],
        end_p: i64,
        (slot, back): (impl Fn(usize, &R) -> usize, impl Fn(&R) -> u32),
        accs: &mut [(T, Acc)],
    ) {
        let Aggregator { starts, backs, .. } = self;
        starts.clear();
        let mut total = 0usize;
        for (_, a) in accs.iter() {
            starts.push(total);
            if a.out_of_order {
                total += a.orders as usize;
            }
        }
        backs.clear();
        backs.resize(total, 0);
        // `starts` becomes each group's end as the group fills.
        for (i, r) in recs.iter().flat_map(|p| p.iter()).enumerate() {
            let s = slot(i, r);
            if accs[s].1.out_of_order {
                backs[starts[s]] = back(r);
                starts[s] += 1;
            }
        }
        for ((_, a), &end) in accs.iter_mut().zip(starts.iter()) {
            if a.out_of_order {
                let group = &mut backs[end - a.orders as usize..end];
                // The distances back from the end lie between those of the last and the first
                // period.
                let (lo, hi) = (end_p - i64::from(a.last_p), end_p - i64::from(a.first_p));
                a.runs = distinct(group, |&b| i64::from(b) - lo, hi - lo);
            }
        }
    }
}
