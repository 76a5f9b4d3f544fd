//! Radix-partitioned aggregation of a transaction log that is not grouped by customer.
//!
//! A log in time order (or shuffled) touches its customers' running totals in random order;
//! with hundreds of thousands of customers those totals are far larger than the cache, so a
//! plain hash map pays a cache miss per transaction. Here one sequential pass hashes each key
//! once and appends a compact record `(key, amount mantissa, period, scale)` to one of `2^b`
//! partitions chosen by hash bits; each partition is then aggregated with a hash table small
//! enough to stay in cache, sorted by key, and the sorted partitions are merged. The records
//! of a partition keep the log's order, so the accumulators see the same sequence of
//! transactions per customer as a sequential pass would.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::mem;

use chrono::NaiveDateTime;

use super::hash::FxBuild;
use super::summary::{Acc, Cutoff, Indexer, NegativeAmounts, SummaryOptions, Transaction, POW10};
use crate::error::{Error, Result};

/// Records per partition aimed at: the partition's records (24 bytes each for an integer key)
/// and its customers' accumulators then fit in the L2 cache of common CPUs.
const TARGET_PER_PARTITION: usize = 1 << 14;

/// At most `2^MAX_BITS` partitions: more write streams than that defeat the write-combining
/// of the scatter pass.
const MAX_BITS: u32 = 10;

/// The partition bits for a log of `n` transactions.
pub(super) fn partition_bits(n: usize) -> u32 {
    let per = n / TARGET_PER_PARTITION;
    if per < 2 {
        0
    } else {
        per.ilog2().min(MAX_BITS)
    }
}

/// What the aggregation hands back to [`summarize`](super::summarize).
pub(super) struct Aggregate<K> {
    /// One accumulator per customer, in key order.
    pub(super) keyed: Vec<(K, Acc)>,
    /// The scale every sum in `keyed` is at.
    pub(super) scale: u32,
    pub(super) excluded: u64,
    pub(super) negatives: u64,
}

/// How a record refers to its customer: a copy of the key when copying it is cheap (no drop
/// glue, so no heap allocation to duplicate), a reference into the log otherwise.
trait Handle<'a, K: 'a>: Hash + Eq + Ord {
    fn of(key: &'a K) -> Self;
    /// A second handle to the same key (cheap for both kinds).
    fn dup(&self) -> Self;
    fn into_key(self) -> K;
}

#[derive(PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Owned<K>(K);

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
struct Rec<H> {
    key: H,
    /// The amount's mantissa at its own scale.
    amount: i64,
    period: i32,
    scale: u8,
}

/// Aggregates the transactions `keep` accepts into `2^bits` partitions. `None` when an amount's
/// mantissa does not fit an `i64` (the caller then takes the hash-map path).
pub(super) fn aggregate<K, F>(
    transactions: &[Transaction<K>],
    as_of: NaiveDateTime,
    options: &SummaryOptions,
    keep: &F,
    bits: u32,
) -> Result<Option<Aggregate<K>>>
where
    K: Ord + Hash + Clone,
    F: Fn(&K) -> bool,
{
    if mem::needs_drop::<K>() {
        aggregate_with::<K, Borrowed<'_, K>, F>(transactions, as_of, options, keep, bits)
    } else {
        aggregate_with::<K, Owned<K>, F>(transactions, as_of, options, keep, bits)
    }
}

fn aggregate_with<'a, K, H, F>(
    transactions: &'a [Transaction<K>],
    as_of: NaiveDateTime,
    options: &SummaryOptions,
    keep: &F,
    bits: u32,
) -> Result<Option<Aggregate<K>>>
where
    K: Ord + Hash + Clone + 'a,
    H: Handle<'a, K>,
    F: Fn(&K) -> bool,
{
    let n = transactions.len();
    let parts = 1usize << bits;
    let mask = parts - 1;
    // Sized once; only a very skewed log (one customer holding a large share) grows a partition.
    let cap = n / parts + n / parts / 8 + 16;
    let mut buckets: Vec<Vec<Rec<H>>> = (0..parts).map(|_| Vec::with_capacity(cap)).collect();

    let period = options.period_value();
    let end_p = period.index(as_of);
    let reject = options.negative_amounts_value() == NegativeAmounts::Reject;
    let cutoff = options.cutoff_value();
    let hasher = FxBuild::default();
    let mut indexer = Indexer::new(period);
    let (mut excluded, mut negatives, mut scale) = (0u64, 0u64, 0u32);
    // The same checks in the same order as the sequential pass, so errors are the same.
    for (i, tx) in transactions.iter().enumerate() {
        if !keep(&tx.customer) {
            continue;
        }
        let negative = tx.amount.is_sign_negative() && !tx.amount.is_zero();
        if negative && reject {
            return Err(Error::invalid_record(
                i,
                "amount",
                tx.amount,
                "negative amounts are rejected by the options",
            ));
        }
        let p = indexer.index(tx.at)?;
        let inside = match cutoff {
            Cutoff::EndOfPeriod => i64::from(p) <= end_p,
            Cutoff::Instant => tx.at <= as_of,
        };
        if !inside {
            excluded += 1;
            continue;
        }
        negatives += u64::from(negative);
        let Ok(amount) = i64::try_from(tx.amount.mantissa()) else {
            return Ok(None);
        };
        let s = tx.amount.scale();
        scale = scale.max(s);
        // Hash bits 16.. are product bits 54.. of the multiply-rotate hasher: the best mixed
        // ones, and not the bits hashbrown uses inside a partition (the low bits for the
        // bucket, the top seven for the tag), so the per-partition tables stay well spread.
        let part = ((hasher.hash_one(&tx.customer) >> 16) as usize) & mask;
        // `part <= mask < buckets.len()`.
        buckets[part].push(Rec { key: H::of(&tx.customer), amount, period: p, scale: s as u8 });
    }

    let mut out: Vec<(H, Acc)> = Vec::new();
    let mut table: HashMap<H, u32, FxBuild> = HashMap::default();
    let mut slots: Vec<u32> = Vec::new();
    let mut accs: Vec<(H, Acc)> = Vec::new();
    let mut starts: Vec<u32> = Vec::new();
    let mut periods: Vec<i32> = Vec::new();
    for bucket in &mut buckets {
        let recs = mem::take(bucket);
        aggregate_partition(&recs, scale, &mut table, &mut slots, &mut accs)?;
        if accs.iter().any(|(_, a)| a.out_of_order) {
            recount(&recs, &slots, &mut accs, &mut starts, &mut periods);
        }
        drop(recs);
        accs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        if out.capacity() == 0 {
            // Partitions hold about equally many customers: size the output once from the first.
            out.reserve(accs.len().saturating_mul(parts + parts / 8).saturating_add(64).min(n));
        }
        out.append(&mut accs);
        table.clear();
    }
    drop(buckets);
    // The stable sort finds the sorted runs and merges them (a heap merge of the runs measured
    // slower: its comparisons go through two indirections).
    out.sort_by(|a, b| a.0.cmp(&b.0));
    let keyed = out.into_iter().map(|(h, a)| (h.into_key(), a)).collect();
    Ok(Some(Aggregate { keyed, scale, excluded, negatives }))
}

/// One accumulator per customer of a partition, in first-arrival order; `slots[i]` is the
/// accumulator of record `i`.
fn aggregate_partition<'a, K, H>(
    recs: &[Rec<H>],
    scale: u32,
    table: &mut HashMap<H, u32, FxBuild>,
    slots: &mut Vec<u32>,
    accs: &mut Vec<(H, Acc)>,
) -> Result<()>
where
    K: 'a,
    H: Handle<'a, K>,
{
    slots.clear();
    accs.clear();
    for r in recs {
        let amount = if u32::from(r.scale) == scale {
            i128::from(r.amount)
        } else {
            // `r.scale <= scale <= 28`: the pass's scale is the largest seen.
            let f = POW10[(scale - u32::from(r.scale)) as usize];
            i128::from(r.amount).checked_mul(f).ok_or_else(|| Error::overflow("spend sum"))?
        };
        let slot = match table.get(&r.key) {
            Some(&slot) => {
                accs[slot as usize].1.add(r.period, amount)?;
                slot
            }
            None => {
                let slot = u32::try_from(accs.len()).map_err(|_| Error::overflow("customers"))?;
                table.insert(r.key.dup(), slot);
                accs.push((r.key.dup(), Acc::new(r.period, amount)));
                slot
            }
        };
        slots.push(slot);
    }
    Ok(())
}

/// Exact distinct-period counts for the customers of a partition whose transactions arrived
/// out of time order: their periods are grouped by customer (a counting sort, the orders of
/// each customer are known) and each small group is sorted and counted.
fn recount<H>(
    recs: &[Rec<H>],
    slots: &[u32],
    accs: &mut [(H, Acc)],
    starts: &mut Vec<u32>,
    periods: &mut Vec<i32>,
) {
    starts.clear();
    let mut total = 0u32;
    for (_, a) in accs.iter() {
        starts.push(total);
        if a.out_of_order {
            total += a.orders;
        }
    }
    periods.clear();
    periods.resize(total as usize, 0);
    // `starts` becomes each group's end as the group fills.
    for (r, &slot) in recs.iter().zip(slots) {
        let s = slot as usize;
        if accs[s].1.out_of_order {
            periods[starts[s] as usize] = r.period;
            starts[s] += 1;
        }
    }
    for ((_, a), &end) in accs.iter_mut().zip(starts.iter()) {
        if a.out_of_order {
            let group = &mut periods[(end - a.orders) as usize..end as usize];
            group.sort_unstable();
            let distinct = 1 + group.windows(2).filter(|w| w[0] != w[1]).count();
            // At most `orders`, a `u32`.
            a.runs = distinct as u32;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use chrono::NaiveDate;
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    use super::*;
    use crate::rfm::Period;

    /// Per customer: orders, distinct periods, first and last period, total and first-period
    /// sums as mantissas at `scale`, orders in the first period.
    type Naive = (u32, u32, i32, i32, i128, i128, u32);

    fn naive<K: Ord + Clone>(
        log: &[Transaction<K>],
        as_of: NaiveDateTime,
        options: &SummaryOptions,
        scale: u32,
    ) -> BTreeMap<K, Naive> {
        let period = options.period_value();
        let end = period.index(as_of);
        let mut by: BTreeMap<K, Vec<(i32, i128)>> = BTreeMap::new();
        for t in log {
            let p = period.index(t.at);
            if p <= end {
                let m = t.amount.mantissa() * POW10[(scale - t.amount.scale()) as usize];
                by.entry(t.customer.clone()).or_default().push((p as i32, m));
            }
        }
        by.into_iter()
            .map(|(k, v)| {
                let distinct: BTreeSet<i32> = v.iter().map(|x| x.0).collect();
                let first = *distinct.first().unwrap();
                let last = *distinct.last().unwrap();
                let total = v.iter().map(|x| x.1).sum();
                let firsts: Vec<_> = v.iter().filter(|x| x.0 == first).collect();
                let first_sum = firsts.iter().map(|x| x.1).sum();
                let row = (v.len() as u32, distinct.len() as u32, first, last, total, first_sum);
                (k, (row.0, row.1, row.2, row.3, row.4, row.5, firsts.len() as u32))
            })
            .collect()
    }

    fn arb_log() -> impl Strategy<Value = Vec<(u8, i64, i64, u32)>> {
        // Few customers (many collisions within a partition), days in any order, amounts
        // at mixed scales and of both signs.
        prop::collection::vec((0u8..24, 0i64..120, -300i64..90_000, 0u32..3), 1..300)
    }

    fn build<K>(raw: &[(u8, i64, i64, u32)], key: impl Fn(u8) -> K) -> Vec<Transaction<K>> {
        let base = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        raw.iter()
            .map(|&(c, day, m, s)| {
                Transaction::on(key(c), base + chrono::Duration::days(day), Decimal::new(m, s))
            })
            .collect()
    }

    fn check<K: Ord + Hash + Clone + std::fmt::Debug>(
        log: &[Transaction<K>],
        bits: u32,
        weekly: bool,
    ) -> std::result::Result<(), TestCaseError> {
        let as_of = NaiveDate::from_ymd_opt(2024, 4, 1).unwrap().into();
        let options =
            SummaryOptions::default().period(if weekly { Period::WEEK } else { Period::DAY });
        let agg = aggregate(log, as_of, &options, &|_: &K| true, bits).unwrap().unwrap();
        let expected = naive(log, as_of, &options, agg.scale);
        let got: BTreeMap<K, Naive> = agg
            .keyed
            .iter()
            .map(|(k, a)| {
                let row = (a.orders, a.runs, a.first_p, a.last_p, a.total.get());
                (k.clone(), (row.0, row.1, row.2, row.3, row.4, a.first_sum.get(), a.first_orders))
            })
            .collect();
        // Keyed rows come out strictly ascending, one per customer.
        prop_assert!(agg.keyed.windows(2).all(|w| w[0].0 < w[1].0));
        prop_assert_eq!(agg.keyed.len(), got.len());
        prop_assert_eq!(got, expected);
        let max_scale = log.iter().map(|t| t.amount.scale()).max().unwrap();
        prop_assert!(agg.scale <= max_scale);
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
        let options = SummaryOptions::default();
        let agg = aggregate(&log, day.into(), &options, &|_: &u8| true, 2).unwrap();
        assert!(agg.is_none());
    }
}
