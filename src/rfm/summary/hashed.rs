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
//! sequential pass would. Short byte-string keys try the [`prefixes`](super::prefixes)
//! partitions first, which route by key instead of hash and need no merge.

use std::hash::BuildHasher;
use std::mem;
use std::ops::Range;

use super::acc::Acc;
use super::aggregate::Aggregator;
use super::bytekey::{self, Inline};
use super::options::Transaction;
use super::pass::{Key, Pass};
#[cfg(feature = "rayon")]
use super::pass::{SharedHasher, SharedKeep, SharedKey};
use super::prefixes;
#[cfg(feature = "rayon")]
use super::records::scatter_par;
use super::records::{part, scatter, Borrowed, Handle, Owned, Packed, Record, Scatter, Wide};
use super::rows::finish;
#[cfg(feature = "rayon")]
use super::table::join;
use super::table::Summary;
use super::window::Span;
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

/// Summarises the transactions `keep` accepts by radix partitions. `None` when an amount's
/// mantissa does not fit an `i64` (the caller then takes the hash-map path).
pub(super) fn summarize<K: Key, F: Fn(&K) -> bool, S: BuildHasher>(
    pass: &Pass<'_, K, F, S>,
    bits: u32,
) -> Result<Option<Summary<K>>> {
    if bytekey::fits(pass.log) {
        if let Some(summary) = prefixes::summarize(pass, bits)? {
            return Ok(Some(summary));
        }
        if let Some(summary) = summarize_with::<K, Inline, F, S>(pass, bits)? {
            return Ok(Some(summary));
        }
    }
    if mem::needs_drop::<K>() {
        summarize_with::<K, Borrowed<'_, K>, F, S>(pass, bits)
    } else {
        summarize_with::<K, Owned<K>, F, S>(pass, bits)
    }
}

/// [`summarize`] with keys held in records as `H`.
fn summarize_with<'a, K: Key + 'a, H: Handle<'a, K>, F: Fn(&K) -> bool, S: BuildHasher>(
    pass: &Pass<'a, K, F, S>,
    bits: u32,
) -> Result<Option<Summary<K>>> {
    let (transactions, span, hasher) = (pass.log, &pass.span, pass.hasher);
    let route = router::<K, H, S>(hasher, bits);
    let all = 0..transactions.len();
    let parts = sizes(transactions.len(), bits);
    let scattered = match scatter::<K, H, Packed<H>, F, S, _>(pass, all.clone(), parts, &route)? {
        Scatter::Done(buckets, scale, excluded, negatives) => {
            let sorted = sorted_runs(&[buckets], 0..1 << bits, scale, span.end_p, hasher)?;
            (sorted, scale, excluded, negatives)
        }
        Scatter::Unfit => match scatter::<K, H, Wide<H>, F, S, _>(pass, all, parts, &route)? {
            Scatter::Done(buckets, scale, excluded, negatives) => {
                let sorted = sorted_runs(&[buckets], 0..1 << bits, scale, span.end_p, hasher)?;
                (sorted, scale, excluded, negatives)
            }
            Scatter::Unfit => return Ok(None),
        },
    };
    let ((all, mut order), scale, excluded, negatives) = scattered;
    // The stable sort finds the sorted runs and merges them.
    order.sort_by(|a, b| a.0.cmp(&b.0));
    let len = order.len();
    let keyed = Gathered::<K, H> {
        order: order.into_iter(),
        all: &all,
        block: Vec::new(),
        log: transactions,
    };
    let Span { options, as_of, end_p } = *span;
    finish(keyed, len, scale, as_of, end_p, *options, excluded, negatives).map(Some)
}

/// The partition of a key: the high half of its hash, not the bits a partition's index uses
/// (the low bits), so that its table stays well spread.
fn router<'a, K: 'a, H: Handle<'a, K>, S: BuildHasher>(
    hasher: &S,
    bits: u32,
) -> impl Fn(&K, &H) -> Option<usize> + '_ {
    let mask = (1usize << bits) - 1;
    move |_: &K, h: &H| Some(((hasher.hash_one(h) >> 32) as usize) & mask)
}

/// The partitions of `n` transactions and the records each is made with room for: sized
/// once, only a very skewed log (one customer holding a large share) grows a partition.
fn sizes(n: usize, bits: u32) -> (usize, usize) {
    let parts = 1usize << bits;
    let per = n / parts;
    (parts, per + per / 16 + 16)
}

/// Every customer's accumulator of the partitions `parts`, partition after partition, and its
/// `(key, index)` entry (the key or its stand-in in the same order), sorted within each
/// partition: 16 bytes for an integer key, so ordering moves a quarter of what sorting the
/// accumulators would.
type Runs<S> = (Vec<Acc>, Vec<(S, u32)>);

/// Aggregates each partition of `parts` in cache (its records from every piece of the log
/// in `chunks`) and sorts its customers by key while they are there.
fn sorted_runs<'a, K, H, R, S>(
    chunks: &[Vec<Vec<R>>],
    parts: Range<usize>,
    scale: u32,
    end_p: i64,
    hasher: &S,
) -> Result<Runs<H::Sorted>>
where
    K: 'a,
    H: Handle<'a, K>,
    R: Record<H>,
    S: BuildHasher,
{
    let mut aggregator = Aggregator::new(hasher);
    let mut accs: Vec<(H, Acc)> = Vec::new();
    let mut all: Vec<Acc> = Vec::new();
    let mut order: Vec<(H::Sorted, u32)> = Vec::new();
    let count = parts.len();
    let mut recs = Vec::with_capacity(chunks.len());
    for (i, p) in parts.enumerate() {
        part(chunks, p, &mut recs);
        aggregator.aggregate(&recs, scale, end_p, &mut accs)?;
        if i == 0 {
            // Partitions hold about equally many customers: size the outputs once.
            let expect = accs.len().saturating_mul(count + count / 8).saturating_add(64);
            all.reserve(expect);
            order.reserve(expect);
        }
        let start = order.len();
        for (h, acc) in accs.drain(..) {
            let index = u32::try_from(all.len()).map_err(|_| Error::overflow("customers"))?;
            all.push(acc);
            order.push((h.sorted(), index));
        }
        order[start..].sort_unstable_by(|a, b| a.0.cmp(&b.0));
    }
    Ok((all, order))
}

/// [`summarize`] on `threads` threads: each scatters a piece of the log into partitions of
/// its own, then aggregates a share of the partitions (the records of every piece), the
/// sorted runs are merged, and the rows built, on all threads. `None` when a record does not
/// fit (the caller takes the sequential passes).
#[cfg(feature = "rayon")]
pub(super) fn summarize_par<K: SharedKey, F: SharedKeep<K>, S: SharedHasher>(
    pass: &Pass<'_, K, F, S>,
    bits: u32,
    threads: usize,
) -> Result<Option<Summary<K>>> {
    if bytekey::fits(pass.log) {
        if let Some(summary) = prefixes::summarize_par(pass, bits, threads)? {
            return Ok(Some(summary));
        }
        if let Some(summary) = par_with::<K, Inline, F, S>(pass, bits, threads)? {
            return Ok(Some(summary));
        }
    }
    if mem::needs_drop::<K>() {
        par_with::<K, Borrowed<'_, K>, F, S>(pass, bits, threads)
    } else {
        par_with::<K, Owned<K>, F, S>(pass, bits, threads)
    }
}

/// [`summarize_par`] with keys held in records as `H`.
#[cfg(feature = "rayon")]
fn par_with<'a, K, H, F, S>(
    pass: &Pass<'a, K, F, S>,
    bits: u32,
    threads: usize,
) -> Result<Option<Summary<K>>>
where
    K: SharedKey + 'a,
    H: Handle<'a, K> + Send + Sync,
    H::Sorted: Send,
    F: SharedKeep<K>,
    S: SharedHasher,
{
    use rayon::prelude::*;

    let (transactions, span, hasher) = (pass.log, &pass.span, pass.hasher);
    let route = router::<K, H, S>(hasher, bits);
    let parts = sizes(transactions.len(), bits);
    let Scatter::Done(chunks, scale, excluded, negatives) =
        scatter_par::<K, H, Packed<H>, F, S, _>(pass, threads, parts, &route)?
    else {
        return Ok(None);
    };
    let p = 1usize << bits;
    let runs: Vec<Result<Runs<H::Sorted>>> = (0..threads)
        .into_par_iter()
        .map(|t| {
            sorted_runs(&chunks, p * t / threads..p * (t + 1) / threads, scale, span.end_p, hasher)
        })
        .collect();
    drop(chunks);
    let (mut all, mut order) = (Vec::new(), Vec::new());
    for run in runs {
        let (a, o) = run?;
        let base = u32::try_from(all.len()).map_err(|_| Error::overflow("customers"))?;
        order.extend(o.into_iter().map(|(k, i)| (k, i + base)));
        all.extend(a);
    }
    order.par_sort_by(|a, b| a.0.cmp(&b.0));
    // The rows of each share of the order on a thread of its own, concatenated.
    let len = order.len();
    let mut shares = Vec::with_capacity(threads);
    for t in (1..threads).rev() {
        shares.push(order.split_off(len * t / threads));
    }
    shares.push(order);
    shares.reverse();
    let Span { options, as_of, end_p } = *span;
    let pieces: Vec<Result<Summary<K>>> = shares
        .into_par_iter()
        .enumerate()
        .map(|(t, share)| {
            let n = share.len();
            let keyed = Gathered::<K, H> {
                order: share.into_iter(),
                all: &all,
                block: Vec::new(),
                log: transactions,
            };
            // The counts of the whole log go with the first piece.
            let counts = if t == 0 { (excluded, negatives) } else { (0, 0) };
            finish(keyed, n, scale, as_of, end_p, *options, counts.0, counts.1)
        })
        .collect();
    let pieces = pieces.into_iter().collect::<Result<Vec<_>>>()?;
    join(pieces, as_of, *options).map(Some)
}

/// The accumulators in the order of `order`, loaded [`GATHER`] at a time: a short loop of
/// independent loads keeps many cache misses in flight, where loading each one as its row is
/// built would wait for them one by one.
struct Gathered<'s, 'a, K, H: Handle<'a, K>> {
    order: std::vec::IntoIter<(H::Sorted, u32)>,
    all: &'s [Acc],
    block: Vec<(K, Acc)>,
    log: &'a [Transaction<K>],
}

impl<'a, K: 'a, H: Handle<'a, K>> Iterator for Gathered<'_, 'a, K, H> {
    type Item = (K, Acc);

    fn next(&mut self) -> Option<(K, Acc)> {
        if self.block.is_empty() {
            let (all, log) = (self.all, self.log);
            // The indices were assigned from `all`'s own positions.
            let keyed = |(k, i): (H::Sorted, u32)| (H::key(k, log), all[i as usize]);
            self.block.extend(self.order.by_ref().take(GATHER).map(keyed));
            // Handed out from the back.
            self.block.reverse();
        }
        self.block.pop()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::hash::Hash;

    use chrono::{NaiveDate, NaiveDateTime};
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    use super::super::keyhash::KeyHasher;
    use super::super::options::{SummaryOptions, Transaction};
    use super::super::testkit::{build, daily_or_weekly, pass};
    use super::*;

    /// Per customer: orders, distinct periods, periods from first to last and from first to
    /// the end, total spend and the spend of the first period.
    type Naive = (u32, u32, u32, u32, Decimal, Decimal);

    fn naive<K: Ord + Clone>(
        log: &[Transaction<K>],
        as_of: NaiveDateTime,
        options: &SummaryOptions,
    ) -> BTreeMap<K, Naive> {
        let period = options.period;
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

    fn run<K: Ord + Hash + Clone>(
        log: &[Transaction<K>],
        as_of: NaiveDateTime,
        options: &SummaryOptions,
        bits: u32,
    ) -> Option<Summary<K>> {
        summarize(&pass(log, options, as_of, &|_: &K| true, &KeyHasher::default()), bits).unwrap()
    }

    fn check<K: Ord + Hash + Clone + std::fmt::Debug>(
        log: &[Transaction<K>],
        bits: u32,
        weekly: bool,
    ) -> std::result::Result<(), TestCaseError> {
        let as_of = NaiveDate::from_ymd_opt(2024, 4, 1).unwrap().into();
        let options = daily_or_weekly(weekly);
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
        let end = options.period.index(as_of);
        let inside = log.iter().filter(|t| options.period.index(t.at) <= end).count();
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
