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

use super::acc::Acc;
use super::aggregate::Aggregator;
use super::pass::{Key, Pass};
use super::records::{scatter, Borrowed, Handle, Owned, Packed, Record, Scatter, Wide};
use super::rows::finish;
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
    let mask = (1usize << bits) - 1;
    // The high half of the hash: not the bits a partition's index uses (the low bits), so its
    // table stays well spread.
    let route = |k: &K| Some(((hasher.hash_one(k) >> 32) as usize) & mask);
    let parts = 1usize << bits;
    // Sized once; only a very skewed log (one customer holding a large share) grows a partition.
    let per = transactions.len() / parts;
    let parts = (parts, per + per / 16 + 16);
    match scatter::<K, H, Packed<H>, F, S, _>(pass, parts, &route)? {
        Scatter::Done(buckets, scale, excluded, negatives) => {
            reduce(buckets, scale, (excluded, negatives), span, hasher).map(Some)
        }
        Scatter::Unfit => match scatter::<K, H, Wide<H>, F, S, _>(pass, parts, &route)? {
            Scatter::Done(buckets, scale, excluded, negatives) => {
                reduce(buckets, scale, (excluded, negatives), span, hasher).map(Some)
            }
            Scatter::Unfit => Ok(None),
        },
    }
}

/// Aggregates each partition in cache, orders the customers by key and builds the summary.
fn reduce<'a, K, H, R, S>(
    buckets: Vec<Vec<R>>,
    scale: u32,
    (excluded, negatives): (u64, u64),
    span: &Span<'_>,
    hasher: &S,
) -> Result<Summary<K>>
where
    K: Ord + Hash + Clone + 'a,
    H: Handle<'a, K>,
    R: Record<H>,
    S: BuildHasher,
{
    let end_p = span.end_p;
    let mut aggregator = Aggregator::new(hasher);
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

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use chrono::{NaiveDate, NaiveDateTime};
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    use super::super::keyhash::KeyHasher;
    use super::super::options::{SummaryOptions, Transaction};
    use super::super::testkit::{build, pass};
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
