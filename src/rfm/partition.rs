//! Radix-partitioned aggregation of a transaction log that is not grouped by customer.
//!
//! A log in time order (or shuffled) touches its customers' running totals in random order;
//! with hundreds of thousands of customers those totals are far larger than the cache, so a
//! plain hash map pays a cache miss per transaction. Here one sequential pass hashes each key
//! once and appends a compact record (the key and one packed word of amount, scale and period)
//! to one of `2^b` partitions chosen by hash bits; each partition is then aggregated with a
//! hash table small enough to stay in cache, and its keys are sorted while they are there.
//! The sorted runs of `(key, index)` entries are merged, and the rows are built in key order
//! from the accumulators, gathered a block at a time. The records of a partition keep the
//! log's order, so the accumulators see the same sequence of transactions per customer as a
//! sequential pass would.

use std::hash::{BuildHasher, Hash};
use std::mem;

use chrono::NaiveDateTime;

use super::hash::FxBuild;
use super::summary::{distinct, finish, Acc, Summary, SummaryOptions, Transaction, Window, POW10};
use crate::error::{Error, Result};

/// Records per partition aimed at: the partition's records and its customers' accumulators
/// then fit in the L2 cache of common CPUs.
const TARGET_PER_PARTITION: usize = 1 << 14;

/// At most `2^MAX_BITS` partitions: more write streams than that defeat the write-combining
/// of the scatter pass.
const MAX_BITS: u32 = 10;

/// Accumulators gathered at a time when the rows are built: enough independent loads in flight
/// to hide the cache misses of the random order.
const GATHER: usize = 64;

/// The partition bits for a log of `n` transactions.
pub(super) fn partition_bits(n: usize) -> u32 {
    let per = n / TARGET_PER_PARTITION;
    if per < 2 {
        0
    } else {
        per.ilog2().min(MAX_BITS)
    }
}

/// How a record refers to its customer: a copy of the key when copying it is cheap (no drop
/// glue, so no heap allocation to duplicate), a reference into the log otherwise.
pub(super) trait Handle<'a, K: 'a>: Hash + Eq + Ord {
    fn of(key: &'a K) -> Self;
    /// A second handle to the same key (cheap for both kinds).
    fn dup(&self) -> Self;
    fn into_key(self) -> K;
}

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct Owned<K>(pub(super) K);

impl<'a, K: Ord + Hash + Clone + 'a> Handle<'a, K> for Owned<K> {
    #[inline]
    fn of(key: &'a K) -> Self {
        Owned(key.clone())
    }
    #[inline]
    fn dup(&self) -> Self {
        Owned(self.0.clone())
    }
    fn into_key(self) -> K {
        self.0
    }
}

#[derive(PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Borrowed<'a, K>(&'a K);

impl<'a, K: Ord + Hash + Clone + 'a> Handle<'a, K> for Borrowed<'a, K> {
    #[inline]
    fn of(key: &'a K) -> Self {
        Borrowed(key)
    }
    #[inline]
    fn dup(&self) -> Self {
        Borrowed(self.0)
    }
    fn into_key(self) -> K {
        self.0.clone()
    }
}

/// One transaction inside the window, as a partition holds it.
pub(super) trait Record<H>: Sized {
    /// The record of a transaction `back` periods before the end of the window, or `None`
    /// when its fields do not fit.
    fn pack(key: H, amount: i64, scale: u32, back: u32) -> Option<Self>;
    fn key(&self) -> &H;
    /// The amount's mantissa and its scale, and the periods back from the end.
    fn fields(&self) -> (i64, u32, u32);
}

/// The common record: the key and one word holding a 39-bit amount mantissa, its scale (5
/// bits) and the periods back from the end of the window (20 bits). 16 bytes for an integer
/// key instead of 24, so the scatter moves a third less memory.
pub(super) struct Packed<H> {
    key: H,
    word: u64,
}

const BACK_BITS: u32 = 20;
const SCALE_BITS: u32 = 5;
const AMOUNT_SHIFT: u32 = BACK_BITS + SCALE_BITS;
/// The amount takes the remaining 39 bits: up to 274,877,906,943 in units of its scale.
const AMOUNT_LIMIT: i64 = 1 << (63 - AMOUNT_SHIFT);

impl<H> Record<H> for Packed<H> {
    #[inline]
    fn pack(key: H, amount: i64, scale: u32, back: u32) -> Option<Self> {
        // A `Decimal` scale is at most 28 < 2^5.
        let fits = (-AMOUNT_LIMIT..AMOUNT_LIMIT).contains(&amount) && back < (1 << BACK_BITS);
        let word = ((amount as u64) << AMOUNT_SHIFT) | (u64::from(scale) << BACK_BITS);
        fits.then_some(Packed { key, word: word | u64::from(back) })
    }

    #[inline]
    fn key(&self) -> &H {
        &self.key
    }

    #[inline]
    fn fields(&self) -> (i64, u32, u32) {
        // The arithmetic shift restores the amount's sign.
        let amount = (self.word as i64) >> AMOUNT_SHIFT;
        let scale = (self.word >> BACK_BITS) as u32 & ((1 << SCALE_BITS) - 1);
        (amount, scale, self.word as u32 & ((1 << BACK_BITS) - 1))
    }
}

/// The record for what [`Packed`] cannot hold (amounts beyond 39 bits, such as token amounts
/// with 18 decimals, or windows longer than a million periods).
struct Wide<H> {
    key: H,
    amount: i64,
    back: u32,
    scale: u8,
}

impl<H> Record<H> for Wide<H> {
    #[inline]
    fn pack(key: H, amount: i64, scale: u32, back: u32) -> Option<Self> {
        // A `Decimal` scale is at most 28.
        Some(Wide { key, amount, back, scale: scale as u8 })
    }

    #[inline]
    fn key(&self) -> &H {
        &self.key
    }

    #[inline]
    fn fields(&self) -> (i64, u32, u32) {
        (self.amount, u32::from(self.scale), self.back)
    }
}

/// Summarises the transactions `keep` accepts by radix partitions. `None` when an amount's
/// mantissa does not fit an `i64` (the caller then takes the hash-map path).
pub(super) fn summarize<K, F>(
    transactions: &[Transaction<K>],
    as_of: NaiveDateTime,
    options: &SummaryOptions,
    keep: &F,
    bits: u32,
) -> Result<Option<Summary<K>>>
where
    K: Ord + Hash + Clone,
    F: Fn(&K) -> bool,
{
    let span = Span::new(options, as_of);
    if mem::needs_drop::<K>() {
        summarize_with::<K, Borrowed<'_, K>, F>(transactions, &span, keep, bits)
    } else {
        summarize_with::<K, Owned<K>, F>(transactions, &span, keep, bits)
    }
}

/// The summary's options and end of observation, which the passes share.
pub(super) struct Span<'o> {
    pub(super) options: &'o SummaryOptions,
    pub(super) as_of: NaiveDateTime,
    pub(super) end_p: i64,
}

impl<'o> Span<'o> {
    pub(super) fn new(options: &'o SummaryOptions, as_of: NaiveDateTime) -> Self {
        Span { options, as_of, end_p: options.period_value().index(as_of) }
    }
}

/// The outcome of a scatter pass.
pub(super) enum Scatter<R> {
    /// The partitions' records, the largest scale among them, and the transactions after the
    /// window and with a negative amount.
    Done(Vec<Vec<R>>, u32, u64, u64),
    /// A transaction does not fit the record type, or its key has no partition.
    Unfit,
}

fn summarize_with<'a, K, H, F>(
    transactions: &'a [Transaction<K>],
    span: &Span<'_>,
    keep: &F,
    bits: u32,
) -> Result<Option<Summary<K>>>
where
    K: Ord + Hash + Clone + 'a,
    H: Handle<'a, K>,
    F: Fn(&K) -> bool,
{
    let (hasher, mask) = (FxBuild::default(), (1usize << bits) - 1);
    // Hash bits 16.. are product bits 54.. of the multiply-rotate hasher: the best mixed ones,
    // and not the bits a partition's index uses (the low bits), so its table stays well spread.
    let route = |k: &K| Some(((hasher.hash_one(k) >> 16) as usize) & mask);
    let parts = 1usize << bits;
    // Sized once; only a very skewed log (one customer holding a large share) grows a partition.
    let per = transactions.len() / parts;
    let parts = (parts, per + per / 16 + 16);
    match scatter::<K, H, Packed<H>, F, _>(transactions, span, keep, parts, &route)? {
        Scatter::Done(buckets, scale, excluded, negatives) => {
            reduce(buckets, scale, excluded, negatives, span).map(Some)
        }
        Scatter::Unfit => {
            match scatter::<K, H, Wide<H>, F, _>(transactions, span, keep, parts, &route)? {
                Scatter::Done(buckets, scale, excluded, negatives) => {
                    reduce(buckets, scale, excluded, negatives, span).map(Some)
                }
                Scatter::Unfit => Ok(None),
            }
        }
    }
}

/// The pass over the log: the checks of the sequential pass in the same order (so errors are
/// the same), then a record appended to the partition `route` gives the key (below `parts`,
/// each made with room for `cap` records).
pub(super) fn scatter<'a, K, H, R, F, P>(
    transactions: &'a [Transaction<K>],
    span: &Span<'_>,
    keep: &F,
    (parts, cap): (usize, usize),
    route: &P,
) -> Result<Scatter<R>>
where
    K: Ord + Hash + Clone + 'a,
    H: Handle<'a, K>,
    R: Record<H>,
    F: Fn(&K) -> bool,
    P: Fn(&K) -> Option<usize>,
{
    let mut buckets: Vec<Vec<R>> = (0..parts).map(|_| Vec::with_capacity(cap)).collect();

    let mut filter = Window::new(span.as_of, span.options);
    let end_p = span.end_p;
    let mut scale = 0u32;
    for (i, tx) in transactions.iter().enumerate() {
        if !keep(&tx.customer) {
            continue;
        }
        let Some(p) = filter.admit(i, tx)? else { continue };
        let Ok(amount) = i64::try_from(tx.amount.mantissa()) else {
            return Ok(Scatter::Unfit);
        };
        let s = tx.amount.scale();
        scale = scale.max(s);
        // Inside the window `p <= end_p`; a distance beyond `u32` does not fit either record.
        let Ok(back) = u32::try_from(end_p - i64::from(p)) else {
            return Ok(Scatter::Unfit);
        };
        let (Some(bucket), Some(record)) = (
            route(&tx.customer).and_then(|part| buckets.get_mut(part)),
            R::pack(H::of(&tx.customer), amount, s, back),
        ) else {
            return Ok(Scatter::Unfit);
        };
        bucket.push(record);
    }
    Ok(Scatter::Done(buckets, scale, filter.excluded, filter.negatives))
}

/// Aggregates each partition in cache, orders the customers by key and builds the summary.
fn reduce<'a, K, H, R>(
    buckets: Vec<Vec<R>>,
    scale: u32,
    excluded: u64,
    negatives: u64,
    span: &Span<'_>,
) -> Result<Summary<K>>
where
    K: Ord + Hash + Clone + 'a,
    H: Handle<'a, K>,
    R: Record<H>,
{
    let end_p = span.end_p;
    let mut aggregator = Aggregator::new();
    let mut accs: Vec<(H, Acc)> = Vec::new();
    // Every customer's accumulator, partition after partition, and its `(key, index)` entry:
    // 16 bytes for an integer key, so ordering moves a quarter of what sorting the
    // accumulators would.
    let mut all: Vec<Acc> = Vec::new();
    // Owned keys: a borrowed one (a `String` in the log, say) would send every comparison of
    // the sort to its place in the log, while the clones the rows need anyway sit together.
    let mut order: Vec<(K, u32)> = Vec::new();
    let parts = buckets.len();
    for (i, recs) in buckets.into_iter().enumerate() {
        aggregator.aggregate(&recs, scale, end_p, &mut accs)?;
        drop(recs);
        if i == 0 {
            // Partitions hold about equally many customers: size the outputs once.
            let expect = accs.len().saturating_mul(parts + parts / 8).saturating_add(64);
            all.reserve(expect);
            order.reserve(expect);
        }
        let start = order.len();
        for (h, acc) in accs.drain(..) {
            let index = u32::try_from(all.len()).map_err(|_| Error::overflow("customers"))?;
            all.push(acc);
            order.push((h.into_key(), index));
        }
        order[start..].sort_unstable_by(|a, b| a.0.cmp(&b.0));
    }
    // The stable sort finds the sorted runs and merges them.
    order.sort_by(|a, b| a.0.cmp(&b.0));
    let len = order.len();
    let block = Vec::with_capacity(GATHER);
    let keyed = Gathered { order: order.into_iter(), all: &all, block };
    let Span { options, as_of, .. } = *span;
    finish(keyed, len, scale, as_of, end_p, *options, excluded, negatives)
}

/// The accumulators in the order of `order`, loaded [`GATHER`] at a time: a short loop of
/// independent loads keeps many cache misses in flight, where loading each one as its row is
/// built would wait for them one by one.
struct Gathered<'s, K> {
    order: std::vec::IntoIter<(K, u32)>,
    all: &'s [Acc],
    block: Vec<(K, Acc)>,
}

impl<K> Iterator for Gathered<'_, K> {
    type Item = (K, Acc);

    fn next(&mut self) -> Option<(K, Acc)> {
        if self.block.is_empty() {
            let all = self.all;
            // The indices were assigned from `all`'s own positions.
            self.block.extend(self.order.by_ref().take(GATHER).map(|(k, i)| (k, all[i as usize])));
            // Handed out from the back.
            self.block.reverse();
        }
        self.block.pop()
    }
}

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
    fn insert<H: Hash, A>(&mut self, at: usize, slot: u32, accs: &[(H, A)], hasher: &FxBuild) {
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

/// A record's period and its amount's mantissa at the pass's `scale`.
#[inline(always)]
pub(super) fn unpack<H, R: Record<H>>(r: &R, scale: u32, end_p: i64) -> Result<(i32, i128)> {
    let (amount, s, back) = r.fields();
    let amount = if s == scale {
        i128::from(amount)
    } else {
        // `s <= scale <= 28`: the pass's scale is the largest seen.
        let f = POW10[(scale - s) as usize];
        i128::from(amount).checked_mul(f).ok_or_else(|| Error::overflow("spend sum"))?
    };
    // `back` was `end_p - p` for a period `p` that fits an `i32`.
    Ok(((end_p - i64::from(back)) as i32, amount))
}

/// The scratch of a partition's aggregation, kept from one partition to the next.
pub(super) struct Aggregator {
    index: Index,
    /// The accumulator of each record.
    slots: Vec<u32>,
    starts: Vec<usize>,
    backs: Vec<u32>,
}

impl Aggregator {
    pub(super) fn new() -> Aggregator {
        Aggregator { index: Index::new(), slots: Vec::new(), starts: Vec::new(), backs: Vec::new() }
    }

    /// One exact accumulator per customer of the partition `recs`, in first-arrival order.
    pub(super) fn aggregate<'a, K, H, R>(
        &mut self,
        recs: &[R],
        scale: u32,
        end_p: i64,
        accs: &mut Vec<(H, Acc)>,
    ) -> Result<()>
    where
        K: 'a,
        H: Handle<'a, K>,
        R: Record<H>,
    {
        let Aggregator { index, slots, .. } = self;
        slots.clear();
        accs.clear();
        index.clear();
        let hasher = FxBuild::default();
        for r in recs {
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
                    index.insert(at, slot, accs, &hasher);
                    slot
                }
            };
            slots.push(slot);
        }
        if accs.iter().any(|(_, a)| a.out_of_order) {
            let slots = mem::take(&mut self.slots);
            self.recount(recs, end_p, |i, _| slots[i] as usize, accs);
            self.slots = slots;
        }
        Ok(())
    }

    /// Exact distinct-period counts for the customers among `accs` whose transactions arrived
    /// out of time order (`slot` gives the accumulator of record `i`): their periods (as
    /// distances back from the end) are grouped by customer with a counting sort (the orders
    /// of each customer are known), and each small group's distinct values are counted
    /// ([`distinct`]).
    pub(super) fn recount<H, R: Record<H>>(
        &mut self,
        recs: &[R],
        end_p: i64,
        slot: impl Fn(usize, &R) -> usize,
        accs: &mut [(H, Acc)],
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
        for (i, r) in recs.iter().enumerate() {
            let s = slot(i, r);
            if accs[s].1.out_of_order {
                backs[starts[s]] = r.fields().2;
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

#[cfg(test)]
pub(super) mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use chrono::NaiveDate;
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    use super::*;
    use crate::rfm::Period;

    /// Per customer: orders, distinct periods, periods from first to last and from first to
    /// the end, total spend and the spend of the first period.
    type Naive = (u32, u32, u32, u32, Decimal, Decimal);

    fn naive<K: Ord + Clone>(
        log: &[Transaction<K>],
        as_of: NaiveDateTime,
        options: &SummaryOptions,
    ) -> BTreeMap<K, Naive> {
        let period = options.period_value();
        let end = period.index(as_of);
        let mut by: BTreeMap<K, Vec<(i64, Decimal)>> = BTreeMap::new();
        for t in log {
            let p = period.index(t.at);
            if p <= end {
                by.entry(t.customer.clone()).or_default().push((p, t.amount));
            }
        }
        by.into_iter()
            .map(|(k, v)| {
                let distinct: BTreeSet<i64> = v.iter().map(|x| x.0).collect();
                let first = *distinct.first().unwrap();
                let last = *distinct.last().unwrap();
                let total = v.iter().map(|x| x.1).sum();
                let first_sum = v.iter().filter(|x| x.0 == first).map(|x| x.1).sum();
                let span = |a: i64, b: i64| u32::try_from(b - a).unwrap();
                let row = (v.len() as u32, distinct.len() as u32, span(first, last));
                (k, (row.0, row.1, row.2, span(first, end), total, first_sum))
            })
            .collect()
    }

    fn arb_log() -> impl Strategy<Value = Vec<(u8, i64, i64, u32)>> {
        // Few customers (many collisions within a partition), days in any order, amounts
        // at mixed scales and of both signs, some beyond what a packed record holds.
        let amount = prop_oneof![8 => -300i64..90_000, 1 => (1i64 << 38) - 3..(1i64 << 38) + 3];
        prop::collection::vec((0u8..24, 0i64..120, amount, 0u32..3), 1..300)
    }

    /// The log of `(customer, day from 2024-01-01, mantissa, scale)` tuples, keys made by
    /// `key` (the dense-id tests use it too).
    pub(in crate::rfm) fn build<C: Copy, K>(
        raw: &[(C, i64, i64, u32)],
        key: impl Fn(C) -> K,
    ) -> Vec<Transaction<K>> {
        let base = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        raw.iter()
            .map(|&(c, day, m, s)| {
                Transaction::on(key(c), base + chrono::Duration::days(day), Decimal::new(m, s))
            })
            .collect()
    }

    /// The end of observation of the dense and direct tests.
    pub(in crate::rfm) fn at() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2024, 4, 1).unwrap().into()
    }

    /// The hash partitions of what `keep` accepts (checked here against a naive reference),
    /// as of [`at`].
    pub(in crate::rfm) fn hashed_where<K: Ord + Hash + Clone>(
        log: &[Transaction<K>],
        o: &SummaryOptions,
        keep: &impl Fn(&K) -> bool,
    ) -> Summary<K> {
        summarize(log, at(), o, keep, 3).unwrap().unwrap()
    }

    /// Equal, amount scales included (`Decimal` equality ignores them, `Debug` does not).
    pub(in crate::rfm) fn same<K: std::fmt::Debug>(a: &Summary<K>, b: &Summary<K>) -> bool {
        format!("{a:?}") == format!("{b:?}")
    }

    fn run<K: Ord + Hash + Clone>(
        log: &[Transaction<K>],
        as_of: NaiveDateTime,
        options: &SummaryOptions,
        bits: u32,
    ) -> Option<Summary<K>> {
        summarize(log, as_of, options, &|_: &K| true, bits).unwrap()
    }

    fn check<K: Ord + Hash + Clone + std::fmt::Debug>(
        log: &[Transaction<K>],
        bits: u32,
        weekly: bool,
    ) -> std::result::Result<(), TestCaseError> {
        let as_of = NaiveDate::from_ymd_opt(2024, 4, 1).unwrap().into();
        let options =
            SummaryOptions::default().period(if weekly { Period::WEEK } else { Period::DAY });
        let summary = run(log, as_of, &options, bits).unwrap();
        let expected = naive(log, as_of, &options);
        let got: BTreeMap<K, Naive> = summary
            .rows()
            .iter()
            .map(|r| {
                let row = (r.orders(), r.purchase_periods(), r.recency_periods(), r.t_periods());
                let amounts = (r.total_spend(), r.first_purchase_amount());
                (r.customer().clone(), (row.0, row.1, row.2, row.3, amounts.0, amounts.1))
            })
            .collect();
        // Rows come out strictly ascending, one per customer.
        prop_assert!(summary.rows().windows(2).all(|w| w[0].customer() < w[1].customer()));
        prop_assert_eq!(summary.len(), got.len());
        prop_assert_eq!(got, expected);
        let end = options.period_value().index(as_of);
        let inside = log.iter().filter(|t| options.period_value().index(t.at) <= end).count();
        prop_assert_eq!(summary.transactions(), inside as u64);
        prop_assert_eq!(summary.excluded_after_as_of(), (log.len() - inside) as u64);
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn partitions_equal_a_naive_reference(raw in arb_log(), bits in 0u32..5, weekly in any::<bool>()) {
            // Integer keys are copied into the records, string keys referenced.
            check(&build(&raw, u32::from), bits, weekly)?;
            check(&build(&raw, |c| format!("customer-{c}")), bits, weekly)?;
        }

        #[test]
        fn packed_records_round_trip(amount in -(1i64 << 38)..(1i64 << 38), scale in 0u32..29, back in 0u32..(1 << 20)) {
            let r = Packed::pack(7u8, amount, scale, back).unwrap();
            prop_assert_eq!(r.fields(), (amount, scale, back));
        }
    }

    #[test]
    fn packed_records_refuse_what_they_cannot_hold() {
        assert!(Packed::pack(0u8, 1 << 38, 2, 0).is_none());
        assert!(Packed::pack(0u8, -(1 << 38) - 1, 2, 0).is_none());
        assert!(Packed::pack(0u8, 1, 2, 1 << 20).is_none());
        assert_eq!(
            Packed::pack(0u8, -(1 << 38), 28, (1 << 20) - 1).unwrap().fields().0,
            -(1 << 38)
        );
    }

    #[test]
    fn a_long_window_takes_the_wide_records() {
        // Two million days back does not fit a packed record.
        let early = NaiveDate::from_ymd_opt(-3000, 1, 1).unwrap();
        let late = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        let log = [
            Transaction::on(2u32, late, Decimal::ONE),
            Transaction::on(1, early, Decimal::TWO),
            Transaction::on(1, late, Decimal::TEN),
        ];
        let s = run(&log, late.into(), &SummaryOptions::default(), 1).unwrap();
        let r = s.get(&1).unwrap();
        assert_eq!(
            (r.orders(), r.purchase_periods(), r.first_purchase_amount()),
            (2, 2, Decimal::TWO)
        );
        assert_eq!(r.recency_periods(), u32::try_from((late - early).num_days()).unwrap());
    }

    #[test]
    fn partition_bits_grow_with_the_log_and_stop() {
        assert_eq!(partition_bits(0), 0);
        assert_eq!(partition_bits(3 * TARGET_PER_PARTITION), 1);
        assert_eq!(partition_bits(5_000_000), 8);
        assert_eq!(partition_bits(usize::MAX), MAX_BITS);
    }

    #[test]
    fn a_mantissa_beyond_i64_declines() {
        let day = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        let log = [Transaction::on(1u8, day, Decimal::from(u64::MAX))];
        assert!(run(&log, day.into(), &SummaryOptions::default(), 2).is_none());
    }
}
