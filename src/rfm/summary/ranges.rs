//! Range partitions: dense integer ids (auto-increment ids, as most shops' keys are) in any
//! order, with accumulator tables addressed by the id itself.
//!
//! When the keys are dense ([`layout`](super::layout)) but the log is not in time order (so
//! the [`direct`](super::direct) pass declined it), the log is scattered as in the
//! [`hashed`](super::hashed) partitions, but into partitions by range of view, and within a
//! partition a customer's accumulator sits at its view's offset: no hash table, no probing,
//! no sort of keys. Each partition's rows are built while its table is in cache, by one scan
//! of the table, in view order, which is key order for integer keys (for a key whose `Ord`
//! disagrees, the rows are sorted at the end). Every record's key is compared with its slot's
//! key, so a `Hash` that writes one integer for two different keys sends the log to the hash
//! partitions instead. Keys outside the sampled range (widened by an eighth on each side) go
//! to two side partitions, which are aggregated by hashing and sorted. Text ids of digits
//! take the one-word records of [`narrow`](super::narrow) or none: a 16-byte record would
//! hold a clone of the text.

use std::hash::{BuildHasher, Hash};
use std::ops::Range;

use super::acc::Acc;
use super::aggregate::Aggregator;
#[cfg(test)]
use super::layout::view;
use super::layout::Layout;
use super::narrow;
use super::pass::{Key, Pass};
#[cfg(feature = "rayon")]
use super::pass::{SharedHasher, SharedKeep, SharedKey};
#[cfg(feature = "rayon")]
use super::records::scatter_par;
use super::records::{part, scatter, unpack, Handle, Owned, Packed, Record, Scatter};
use super::rows::Rows;
#[cfg(feature = "rayon")]
use super::table::join;
use super::table::Summary;
use super::window::Span;
use crate::error::Result;

/// The range partitions of the keys in `layout`. `None` when a record does not fit, or two
/// different keys share a view: the hash partitions take the log then.
pub(super) fn summarize<K: Key, F: Fn(&K) -> bool, S: BuildHasher>(
    pass: &Pass<'_, K, F, S>,
    layout: &Layout,
) -> Result<Option<Summary<K>>> {
    if let Some(summary) = narrow::summarize(pass, layout)? {
        return Ok(Some(summary));
    }
    if layout.ids.digits() {
        // A record would hold a clone of the text.
        return Ok(None);
    }
    let route = |k: &K, _: &Owned<K>| layout.view(k).map(|v| layout.part(v));
    let parts = (layout.parts + 2, layout.cap);
    let all = 0..pass.log.len();
    match scatter::<K, Owned<K>, Packed<Owned<K>>, F, S, _>(pass, all, parts, &route)? {
        Scatter::Done(buckets, scale, excluded, negatives) => {
            let chunks = [buckets];
            let span = &pass.span;
            let Some(rows) =
                reduce(&chunks, 0..layout.parts + 2, layout, scale, span, pass.hasher)?
            else {
                return Ok(None);
            };
            Ok(Some(rows.into_summary(span.as_of, excluded, negatives)))
        }
        Scatter::Unfit => Ok(None),
    }
}

/// [`summarize`] on `threads` threads: each scatters a piece of the log into range
/// partitions of its own, then aggregates a contiguous share of the partitions (the records
/// of every piece) into rows, and the shares' rows, in ascending key ranges, are
/// concatenated.
#[cfg(feature = "rayon")]
pub(super) fn summarize_par<K: SharedKey, F: SharedKeep<K>, S: SharedHasher>(
    pass: &Pass<'_, K, F, S>,
    layout: &Layout,
    threads: usize,
) -> Result<Option<Summary<K>>> {
    use rayon::prelude::*;

    if let Some(summary) = narrow::summarize_par((pass, layout), threads)? {
        return Ok(Some(summary));
    }
    if layout.ids.digits() {
        return Ok(None);
    }
    let route = |k: &K, _: &Owned<K>| layout.view(k).map(|v| layout.part(v));
    let parts = (layout.parts + 2, layout.cap);
    let Scatter::Done(chunks, scale, excluded, negatives) =
        scatter_par::<K, Owned<K>, Packed<Owned<K>>, F, S, _>(pass, threads, parts, &route)?
    else {
        return Ok(None);
    };
    let (p, span) = (layout.parts + 2, &pass.span);
    let shares: Vec<Result<Option<Rows<K>>>> = (0..threads)
        .into_par_iter()
        .map(|t| {
            reduce(
                &chunks,
                p * t / threads..p * (t + 1) / threads,
                layout,
                scale,
                span,
                pass.hasher,
            )
        })
        .collect();
    drop(chunks);
    let mut pieces = Vec::with_capacity(threads);
    for (t, share) in shares.into_iter().enumerate() {
        let Some(rows) = share? else { return Ok(None) };
        // The counts of the whole log go with the first piece.
        let counts = if t == 0 { (excluded, negatives) } else { (0, 0) };
        pieces.push(rows.into_summary(span.as_of, counts.0, counts.1));
    }
    let mut summary = join(pieces, span.as_of, *span.options)?;
    // Each piece is in key order; their concatenation too unless a key's order disagrees
    // with its view's.
    if !summary.rows.windows(2).all(|w| w[0].customer < w[1].customer) {
        summary.rows.sort_unstable_by(|a, b| a.customer.cmp(&b.customer));
    }
    Ok(Some(summary))
}

/// Aggregates the partitions `parts` (their records from every piece of the log in
/// `chunks`) in key order and builds their rows. `None` when two different keys share a
/// view.
fn reduce<K, S: BuildHasher>(
    chunks: &[Vec<Vec<Packed<Owned<K>>>>],
    parts: Range<usize>,
    layout: &Layout,
    scale: u32,
    span: &Span<'_>,
    hasher: &S,
) -> Result<Option<Rows<K>>>
where
    K: Ord + Hash + Clone,
{
    let end_p = span.end_p;
    let size = 1usize << layout.shift;
    let last = layout.parts + 1;
    // A partition holds at most as many customers as records, and as slots.
    let most = |p: usize| {
        let recs = chunks.iter().map(|c| c[p].len()).sum::<usize>();
        if p == 0 || p == last {
            recs
        } else {
            recs.min(size)
        }
    };
    let customers = parts.clone().map(most).sum();
    let mut rows = Rows::new(customers, scale, end_p, *span.options);
    let mut table: Vec<(Owned<K>, Acc)> = Vec::new();
    let (mut aggregator, mut accs) = (Aggregator::new(hasher), Vec::new());
    let mut recs = Vec::with_capacity(chunks.len());
    for p in parts {
        part(chunks, p, &mut recs);
        if p == 0 || p == last {
            // Keys outside the range, by hashing; they sort before and after the others.
            aggregator.aggregate(&recs, scale, end_p, &mut accs)?;
            accs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            for (h, acc) in accs.drain(..) {
                rows.push(h.into_key(), &acc)?;
            }
            continue;
        }
        let Some(first) = recs.iter().find_map(|r| r.first()) else { continue };
        if table.is_empty() {
            // Empty slots hold a placeholder key and no orders.
            table = vec![(first.key().dup(), Acc::vacant()); size];
        }
        // The view of the partition's first slot.
        let base = layout.lo + (((p - 1) as u64) << layout.shift);
        let offset = |r: &Packed<Owned<K>>| {
            layout.view(&r.key().0).map_or(usize::MAX, |v| v.wrapping_sub(base) as usize)
        };
        let mut out_of_order = false;
        for r in recs.iter().flat_map(|r| r.iter()) {
            let (period, amount) = unpack(r, scale, end_p)?;
            // Routed here, so the offset is below `size`.
            let Some(e) = table.get_mut(offset(r)) else { return Ok(None) };
            if e.1.orders == 0 {
                *e = (r.key().dup(), Acc::new(period, amount));
            } else if e.0 == *r.key() {
                e.1.add_unordered(period, amount)?;
                out_of_order |= e.1.out_of_order;
            } else {
                return Ok(None);
            }
        }
        if out_of_order {
            let back = |r: &Packed<Owned<K>>| r.fields().2;
            aggregator.recount(
                &recs,
                end_p,
                (|_, r: &Packed<Owned<K>>| offset(r), back),
                &mut table,
            );
        }
        for e in table.iter_mut().filter(|e| e.1.orders != 0) {
            rows.push(e.0.dup().into_key(), &e.1)?;
            e.1 = Acc::vacant();
        }
    }
    Ok(Some(rows))
}

#[cfg(test)]
mod tests {
    use std::cmp::Reverse;

    use chrono::NaiveDate;
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    use std::hash::Hasher;

    use super::super::hashed;
    use super::super::keyhash::KeyHasher;
    use super::super::options::SummaryOptions;
    use super::super::options::Transaction;
    use super::super::testkit::{at, build, daily_or_weekly, hashed_where, pass, same};
    use super::*;

    /// The range partitions alone (small logs would take the direct pass).
    fn dense<K: Ord + Hash + Clone>(
        log: &[Transaction<K>],
        o: &SummaryOptions,
    ) -> Option<Summary<K>> {
        let keep = |_: &K| true;
        let layout = Layout::sample(log, &keep)?;
        summarize(&pass(log, o, at(), &keep, &KeyHasher::default()), &layout).unwrap()
    }

    fn hash_partitions<K: Ord + Hash + Clone>(
        log: &[Transaction<K>],
        o: &SummaryOptions,
    ) -> Summary<K> {
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
            let o = daily_or_weekly(weekly);
            let log = build(&raw, |c| base + c);
            prop_assert!(same(&dense(&log, &o).unwrap(), &hash_partitions(&log, &o)));
            let log = build(&raw, |c| (base + c) as i16);
            prop_assert!(same(&dense(&log, &o).unwrap(), &hash_partitions(&log, &o)));
            let log = build(&raw, |c| Id((base + 1000 + c) as u32));
            prop_assert!(same(&dense(&log, &o).unwrap(), &hash_partitions(&log, &o)));
            // Keys whose order is not their view's order: the rows are sorted at the end.
            let log = build(&raw, |c| Reverse((base + 1000 + c) as u64));
            let d = dense(&log, &o).unwrap();
            prop_assert!(d.rows().windows(2).all(|w| w[0].customer() < w[1].customer()));
            prop_assert!(same(&d, &hash_partitions(&log, &o)));
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
            prop_assert!(same(&d, &hash_partitions(&log, &o)));
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
        assert!(same(&d, &hash_partitions(&log, &o)));
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
        // Text that is not digits after one prefix (`"c7"` is: the prefix `c`).
        let text = |f: &dyn Fn(i32) -> String| -> Vec<_> {
            (0..100).map(|i| Transaction::on(f(i), day, Decimal::ONE)).collect()
        };
        let all = |_: &String| true;
        // A letter after the digits; prefixes that alternate (`"a0"`, `"b1"`).
        assert!(Layout::sample(&text(&|i| format!("c{i}x")), &all).is_none());
        let letter = |i: i32| if i % 2 == 0 { 'a' } else { 'b' };
        assert!(Layout::sample(&text(&|i| format!("{}{i}", letter(i))), &all).is_none());
        assert!(Layout::sample(&text(&|i| format!("c{i}")), &all).is_some_and(|l| l.ids.digits()));
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
        let (all, hasher) = (|_: &u64| true, KeyHasher::default());
        let d = summarize(&pass(&log, &o, day.into(), &all, &hasher), &layout).unwrap().unwrap();
        assert_eq!(d.len(), 60_000);
        assert!(same(
            &d,
            &hashed::summarize(&pass(&log, &o, day.into(), &all, &hasher), 4).unwrap().unwrap()
        ));
    }
}
