//! Integer customer ids that fill a range (auto-increment ids, as most shops' keys are):
//! accumulator tables addressed by the id itself.
//!
//! A key whose `Hash` writes one integer (a primitive integer, `char`, or a newtype of one
//! with a derived `Hash`) has that integer as its *view*. A sample of the log gives the range
//! of the views; when the range holds at most about two ids per transaction, the keys are
//! dense. A log in time order then takes one pass with a table over the whole range
//! ([`direct`](super::direct)). Any other log is scattered as in
//! [`partition`](super::partition), but into partitions by range of view, and within a
//! partition a customer's accumulator sits at its view's offset: no hash table, no probing,
//! no sort of keys. Each partition's rows are built while its table is in cache, by one scan
//! of the table, in view order, which is key order for the types above (for a key whose `Ord`
//! disagrees, the rows are sorted at the end). Every record's key is compared with its slot's
//! key, so a `Hash` that writes one integer for two different keys sends the log to the hash
//! partitions instead. Keys outside the sampled range (widened by an eighth on each side) go
//! to two side partitions, which are aggregated by hashing and sorted.

use std::hash::{Hash, Hasher};
use std::mem;

use chrono::NaiveDateTime;

use super::direct::{self, Direct};
use super::partition::{scatter, unpack, Aggregator, Handle, Owned, Packed, Record, Scatter, Span};
use super::summary::{Acc, Rows, Summary, SummaryOptions, Transaction};
use crate::error::Result;

/// Transactions sampled for the range of the keys.
const SAMPLE: usize = 1024;

/// A partition's table has at least `2^MIN_SHIFT` slots: 2,048 accumulators of 64 bytes
/// (for a 64-bit key) take 128 KiB, which stays in the L2 cache while the partition is read.
const MIN_SHIFT: u32 = 11;

/// At most `2^MAX_BITS` range partitions (as for the hash partitions: more write streams
/// than that defeat the write-combining of the scatter pass).
const MAX_BITS: u32 = 10;

/// Summarises the transactions `keep` accepts when the keys are dense integers: by one pass
/// with a table addressed by id for a log in time order ([`direct`]), by range partitions
/// otherwise. `None` when the keys are not dense integers (or a record does not fit): the
/// caller then takes the hash partitions.
pub(super) fn summarize<K, F>(
    transactions: &[Transaction<K>],
    as_of: NaiveDateTime,
    options: &SummaryOptions,
    keep: &F,
) -> Result<Option<Summary<K>>>
where
    K: Ord + Hash + Clone,
    F: Fn(&K) -> bool,
{
    // Keys are copied into the records and the tables, which suits integers only.
    if mem::needs_drop::<K>() {
        return Ok(None);
    }
    let Some(layout) = Layout::sample(transactions, keep) else {
        return Ok(None);
    };
    let span = Span::new(options, as_of);
    match direct::summarize(transactions, &layout, &span, keep)? {
        Direct::Done(summary) => Ok(Some(summary)),
        Direct::Lossy => Ok(None),
        Direct::Declined => ranges(transactions, &layout, &span, keep),
    }
}

/// Whether [`summarize`] takes the direct pass for this log, as far as can be told before
/// running it (dense ids, a table of at most one slot per four transactions, few late
/// arrivals at the start).
#[cfg(feature = "rayon")]
pub(super) fn direct<K: Hash>(
    transactions: &[Transaction<K>],
    as_of: NaiveDateTime,
    options: &SummaryOptions,
) -> bool {
    let keep = |_: &K| true;
    !mem::needs_drop::<K>()
        && Layout::sample(transactions, &keep).is_some_and(|layout| {
            direct::width(transactions, &layout, &Span::new(options, as_of), &keep).is_some()
        })
}

/// The range partitions of the keys in `layout`.
fn ranges<K, F>(
    transactions: &[Transaction<K>],
    layout: &Layout,
    span: &Span<'_>,
    keep: &F,
) -> Result<Option<Summary<K>>>
where
    K: Ord + Hash + Clone,
    F: Fn(&K) -> bool,
{
    let route = |k: &K| view(k).map(|v| layout.part(v));
    let parts = (layout.parts + 2, layout.cap);
    match scatter::<K, Owned<K>, Packed<Owned<K>>, F, _>(transactions, span, keep, parts, &route)? {
        Scatter::Done(buckets, scale, excluded, negatives) => {
            reduce(buckets, layout, scale, (excluded, negatives), span)
        }
        Scatter::Unfit => Ok(None),
    }
}

/// The range partitions: views `lo..=hi` in `parts` partitions of `2^shift` ids (numbered
/// from 1), with partition 0 for views below `lo` and `parts + 1` for views above `hi`, each
/// made with room for `cap` records.
pub(super) struct Layout {
    pub(super) lo: u64,
    pub(super) hi: u64,
    shift: u32,
    parts: usize,
    cap: usize,
}

impl Layout {
    /// The layout for the range of an evenly spaced sample of the keys `keep` accepts (the
    /// first and the last included), or `None` when a sampled key has no view, the keys are
    /// sparse, or none sampled is kept.
    pub(super) fn sample<K: Hash>(
        transactions: &[Transaction<K>],
        keep: &impl Fn(&K) -> bool,
    ) -> Option<Layout> {
        let n = transactions.len();
        let m = n.min(SAMPLE);
        let (mut lo, mut hi) = (u64::MAX, u64::MIN);
        for j in 0..m {
            let i =
                if m < 2 { 0 } else { (j as u128 * (n - 1) as u128 / (m - 1) as u128) as usize };
            let key = &transactions.get(i)?.customer;
            if keep(key) {
                let v = view(key)?;
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
        if lo > hi {
            return None;
        }
        // Ids beyond the sample's extremes are likely (the newest customers, say): a margin
        // keeps most of them out of the side partitions.
        let sampled = hi - lo;
        let margin = sampled / 8 + 64;
        let (lo, hi) = (lo.saturating_sub(margin), hi.saturating_add(margin));
        let width = hi - lo;
        // Dense: about two ids or fewer per transaction, so the tables' empty slots cost
        // no more than the transactions.
        if width / 2 > n as u64 + 2048 {
            return None;
        }
        let shift = (u64::BITS - width.leading_zeros()).saturating_sub(MAX_BITS).max(MIN_SHIFT);
        // The transactions fall in the partitions the sampled range spans (not the margins'):
        // room for a fair share of them, and a little more, spares most partitions a copy
        // as they grow (capacity not written to is never touched).
        let per = n / ((sampled >> shift) as usize + 1);
        let cap = per + per / 8 + 16;
        Some(Layout { lo, hi, shift, parts: (width >> shift) as usize + 1, cap })
    }

    #[inline]
    fn part(&self, v: u64) -> usize {
        if v < self.lo {
            0
        } else if v > self.hi {
            self.parts + 1
        } else {
            1 + ((v - self.lo) >> self.shift) as usize
        }
    }
}

/// Aggregates the partitions in key order and builds their rows. `None` when two different
/// keys share a view.
fn reduce<K>(
    buckets: Vec<Vec<Packed<Owned<K>>>>,
    layout: &Layout,
    scale: u32,
    (excluded, negatives): (u64, u64),
    span: &Span<'_>,
) -> Result<Option<Summary<K>>>
where
    K: Ord + Hash + Clone,
{
    let end_p = span.end_p;
    let size = 1usize << layout.shift;
    let last = buckets.len() - 1;
    // A partition holds at most as many customers as records, and as slots.
    let most = |(p, recs): (usize, &Vec<_>)| {
        if p == 0 || p == last {
            recs.len()
        } else {
            recs.len().min(size)
        }
    };
    let customers = buckets.iter().enumerate().map(most).sum();
    let mut rows = Rows::new(customers, scale, end_p, *span.options);
    let mut table: Vec<(Owned<K>, Acc)> = Vec::new();
    let (mut aggregator, mut accs) = (Aggregator::new(), Vec::new());
    for (p, recs) in buckets.into_iter().enumerate() {
        if p == 0 || p == last {
            // Keys outside the range, by hashing; they sort before and after the others.
            aggregator.aggregate(&recs, scale, end_p, &mut accs)?;
            accs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            for (h, acc) in accs.drain(..) {
                rows.push(h.into_key(), &acc)?;
            }
            continue;
        }
        let Some(first) = recs.first() else { continue };
        if table.is_empty() {
            // Empty slots hold a placeholder key and no orders.
            table = vec![(first.key().dup(), vacant()); size];
        }
        // The view of the partition's first slot.
        let base = layout.lo + (((p - 1) as u64) << layout.shift);
        let offset = |r: &Packed<Owned<K>>| {
            view(&r.key().0).map_or(usize::MAX, |v| v.wrapping_sub(base) as usize)
        };
        let mut out_of_order = false;
        for r in &recs {
            let (period, amount) = unpack(r, scale, end_p)?;
            // Routed here, so the offset is below `size`.
            let Some(e) = table.get_mut(offset(r)) else { return Ok(None) };
            if e.1.orders == 0 {
                *e = (r.key().dup(), Acc::new(period, amount));
            } else if e.0 == *r.key() {
                e.1.add(period, amount)?;
                out_of_order |= e.1.out_of_order;
            } else {
                return Ok(None);
            }
        }
        if out_of_order {
            aggregator.recount(&recs, end_p, |_, r| offset(r), &mut table);
        }
        drop(recs);
        for e in table.iter_mut().filter(|e| e.1.orders != 0) {
            rows.push(e.0.dup().into_key(), &e.1)?;
            e.1 = vacant();
        }
    }
    Ok(Some(rows.into_summary(span.as_of, excluded, negatives)))
}

/// The accumulator of an empty slot.
fn vacant() -> Acc {
    Acc { orders: 0, ..Acc::new(0, 0) }
}

const SIGN: u64 = 1 << 63;

/// What a key's `Hash` writes, kept when it is a single integer.
#[derive(Default)]
struct Probe {
    value: u64,
    writes: u32,
}

impl Probe {
    #[inline]
    fn int(&mut self, v: u64) {
        self.value = v;
        self.writes += 1;
    }
}

impl Hasher for Probe {
    fn finish(&self) -> u64 {
        self.value
    }

    #[inline]
    fn write(&mut self, _: &[u8]) {
        // Bytes (a string, say) are not one integer.
        self.writes += 2;
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.int(u64::from(i));
    }

    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.int(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.int(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.int(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.int(i as u64);
    }

    #[inline]
    fn write_u128(&mut self, _: u128) {
        self.writes += 2;
    }

    // Signed integers have their sign bit flipped, so that their views keep their order.
    #[inline]
    fn write_i8(&mut self, i: i8) {
        self.int(i64::from(i) as u64 ^ SIGN);
    }

    #[inline]
    fn write_i16(&mut self, i: i16) {
        self.int(i64::from(i) as u64 ^ SIGN);
    }

    #[inline]
    fn write_i32(&mut self, i: i32) {
        self.int(i64::from(i) as u64 ^ SIGN);
    }

    #[inline]
    fn write_i64(&mut self, i: i64) {
        self.int(i as u64 ^ SIGN);
    }

    #[inline]
    fn write_isize(&mut self, i: isize) {
        self.int(i as i64 as u64 ^ SIGN);
    }

    #[inline]
    fn write_i128(&mut self, _: i128) {
        self.writes += 2;
    }
}

/// The key's view: the one integer its `Hash` writes, as a `u64` in the integer's order.
#[inline]
pub(super) fn view<K: Hash>(key: &K) -> Option<u64> {
    let mut probe = Probe::default();
    key.hash(&mut probe);
    (probe.writes == 1).then_some(probe.value)
}

#[cfg(test)]
mod tests {
    use std::cmp::Reverse;

    use chrono::NaiveDate;
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    use super::*;
    use crate::rfm::partition::tests::{at, build, hashed_where, same};
    use crate::rfm::{partition, Period};

    /// The range partitions alone (small logs would take the direct pass).
    fn dense<K: Ord + Hash + Clone>(
        log: &[Transaction<K>],
        o: &SummaryOptions,
    ) -> Option<Summary<K>> {
        let keep = |_: &K| true;
        if mem::needs_drop::<K>() {
            return None;
        }
        let layout = Layout::sample(log, &keep)?;
        ranges(log, &layout, &Span::new(o, at()), &keep).unwrap()
    }

    fn hashed<K: Ord + Hash + Clone>(log: &[Transaction<K>], o: &SummaryOptions) -> Summary<K> {
        hashed_where(log, o, &|_: &K| true)
    }

    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
    struct Id(u32);

    /// A legal but lossy `Hash`: the region is left out, so two keys can share a view.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
    struct Lossy {
        id: u16,
        region: u8,
    }

    impl Hash for Lossy {
        fn hash<S: Hasher>(&self, state: &mut S) {
            self.id.hash(state);
        }
    }

    fn arb_log() -> impl Strategy<Value = (i64, Vec<(i64, i64, i64, u32)>)> {
        // Keys in a narrow range anywhere (negative too), days in any order (after `as_of`
        // too), amounts at mixed scales and of both signs.
        let tx = (0i64..40, 0i64..120, -300i64..90_000, 0u32..3);
        (-1000i64..1000, prop::collection::vec(tx, 1..400))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn equals_the_hash_partitions((base, raw) in arb_log(), weekly in any::<bool>()) {
            let o = SummaryOptions::default().period(if weekly { Period::WEEK } else { Period::DAY });
            let log = build(&raw, |c| base + c);
            prop_assert!(same(&dense(&log, &o).unwrap(), &hashed(&log, &o)));
            let log = build(&raw, |c| (base + c) as i16);
            prop_assert!(same(&dense(&log, &o).unwrap(), &hashed(&log, &o)));
            let log = build(&raw, |c| Id((base + 1000 + c) as u32));
            prop_assert!(same(&dense(&log, &o).unwrap(), &hashed(&log, &o)));
            // Keys whose order is not their view's order: the rows are sorted at the end.
            let log = build(&raw, |c| Reverse((base + 1000 + c) as u64));
            let d = dense(&log, &o).unwrap();
            prop_assert!(d.rows().windows(2).all(|w| w[0].customer() < w[1].customer()));
            prop_assert!(same(&d, &hashed(&log, &o)));
        }
    }

    fn arb_long_log() -> impl Strategy<Value = Vec<(i64, i64, i64, u32)>> {
        // Longer than the sample, so rare ids far below or above the band of the others are
        // often not sampled (about a third of the cases put some in the side partitions),
        // days in any order.
        let id = prop_oneof![700 => 1000i64..1100, 1 => 0i64..50, 1 => 2900i64..3000];
        prop::collection::vec((id, 0i64..120, -300i64..90_000, 0u32..3), 1100..2500)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn long_logs_with_outlying_ids_equal_the_hash_partitions(raw in arb_long_log()) {
            let o = SummaryOptions::default();
            let log = build(&raw, |c| c as u32);
            let d = dense(&log, &o).unwrap();
            prop_assert!(same(&d, &hashed(&log, &o)));
        }
    }

    #[test]
    fn keys_outside_the_sample_take_the_side_partitions() {
        // 5,000 transactions, of which 1,024 are sampled (positions `j * 4999 / 1023`), not
        // those below. They carry ids below and above the sampled range.
        let mut raw: Vec<(i64, i64, i64, u32)> =
            (0..5000).map(|i| (1000 + i % 1000, (i * 7) % 100, 100 + i, 2)).collect();
        for (i, key) in [(2500, 3), (2503, 4000), (2505, 3), (2507, 5), (2509, 4000)] {
            raw[i] = (key, 60 - (i as i64 % 50), 7, 0);
        }
        let log = build(&raw, |c| c as u64);
        let layout = Layout::sample(&log, &|_: &u64| true).unwrap();
        assert!(layout.part(3) == 0 && layout.part(4000) == layout.parts + 1);
        let o = SummaryOptions::default();
        let d = dense(&log, &o).unwrap();
        assert!(same(&d, &hashed(&log, &o)));
        let r = d.get(&3).unwrap();
        assert_eq!((r.orders(), r.purchase_periods(), r.total_spend()), (2, 2, Decimal::from(14)));
        assert_eq!(d.rows().first().unwrap().customer(), &3);
        assert_eq!(d.rows().last().unwrap().customer(), &4000);
    }

    #[test]
    fn two_keys_with_one_view_decline() {
        let day = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        let key = |id, region| Lossy { id, region };
        let mut log: Vec<_> =
            (0..50u16).map(|i| Transaction::on(key(i, 0), day, Decimal::ONE)).collect();
        log.push(Transaction::on(key(7, 1), day, Decimal::TEN));
        assert!(dense(&log, &SummaryOptions::default()).is_none());
        // The summary still tells the two customers apart, through the hash partitions.
        let s = crate::rfm::summarize(&log, day, SummaryOptions::default()).unwrap();
        assert_eq!(s.len(), 51);
        assert_eq!(s.get(&key(7, 1)).unwrap().total_spend(), Decimal::TEN);
    }

    #[test]
    fn sparse_or_non_integer_keys_decline() {
        let day = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        let sparse: Vec<_> =
            (0..100u64).map(|i| Transaction::on(i << 40, day, Decimal::ONE)).collect();
        assert!(Layout::sample(&sparse, &|_: &u64| true).is_none());
        let text: Vec<_> =
            (0..100).map(|i| Transaction::on(format!("c{i}"), day, Decimal::ONE)).collect();
        assert!(Layout::sample(&text, &|_: &String| true).is_none());
        let wide: Vec<_> = (0..100u128).map(|i| Transaction::on(i, day, Decimal::ONE)).collect();
        assert!(Layout::sample(&wide, &|_: &u128| true).is_none());
    }

    #[test]
    fn views_keep_the_order_of_signed_and_unsigned_integers() {
        let signed = [i64::MIN, -5, -1, 0, 1, i64::MAX].map(|v| view(&v).unwrap());
        assert!(signed.windows(2).all(|w| w[0] < w[1]));
        assert!(view(&-1i8).unwrap() < view(&0i8).unwrap());
        assert_eq!(view(&7u8), Some(7));
        assert_eq!(view(&'a'), Some(97));
        assert_eq!(view(&Id(9)), Some(9));
        assert_eq!(view(&(1u32, 2u32)), None);
        assert_eq!(view(&"a"), None);
    }

    #[test]
    fn a_long_log_spreads_over_range_partitions() {
        let day = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        let log: Vec<_> = (0..200_000u64)
            .map(|i| {
                let key = (i * 7919) % 60_000;
                Transaction::on(
                    key,
                    day - chrono::Duration::days((i % 300) as i64),
                    Decimal::new(i as i64 % 997, 2),
                )
            })
            .collect();
        let layout = Layout::sample(&log, &|_: &u64| true).unwrap();
        assert!(layout.parts > 1, "{}", layout.parts);
        let o = SummaryOptions::default();
        let d = summarize(&log, day.into(), &o, &|_: &u64| true).unwrap().unwrap();
        assert_eq!(d.len(), 60_000);
        assert!(same(
            &d,
            &partition::summarize(&log, day.into(), &o, &|_: &u64| true, 4).unwrap().unwrap()
        ));
    }
}
