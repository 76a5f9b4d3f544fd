//! Partitions by key prefix: short byte-string keys (held in the records, see
//! [`bytekey`](super::bytekey)) partitioned in key order.
//!
//! The [`hashed`](super::hashed) partitions route a key by its hash, so each partition's
//! customers come out in an order of their own, and putting the rows in key order takes a
//! merge of every partition's sorted run and a gather of the accumulators from all over
//! memory. Here a key is routed by its first eight bytes against splitters taken from an
//! evenly spaced sample of the log's keys, so the partitions hold ascending, disjoint key
//! ranges: each partition's customers are sorted while they are in cache and their rows
//! built there, and the partitions' rows are already in key order, one after the other.
//! The route is a table lookup on the bits of the prefix below the sample's common ones,
//! then a binary search among the few splitters of that bucket.
//!
//! A key's partition depends on the key alone, never on the hasher, so colliding hashes
//! only reach the small index of one partition (its [`Aggregator`]), keyed as everywhere.
//! A log whose keys share their first eight bytes in large groups (longer ids with a common
//! prefix) has few distinct prefixes to split at: partitions would be few and large, and
//! the hash partitions take it instead.

use std::hash::{BuildHasher, Hash};
use std::ops::Range;

use super::acc::Acc;
use super::aggregate::Aggregator;
use super::bytekey::{prefetch_bytes, Inline};
use super::options::Transaction;
use super::pass::{prefetch, Key, Pass};
#[cfg(feature = "rayon")]
use super::pass::{SharedHasher, SharedKeep, SharedKey};
#[cfg(feature = "rayon")]
use super::records::scatter_par;
use super::records::{part, scatter, Handle, Packed, Scatter};
#[cfg(feature = "rayon")]
use super::rows::join_shares;
use super::rows::Rows;
use super::table::Summary;
use super::window::Span;
use crate::error::{Error, Result};

/// Keys sampled per partition for the splitters.
const SAMPLE_PER_PART: usize = 16;

/// Bits of the prefix (below the sample's common ones) that index the route's table.
const TABLE_BITS: u32 = 12;

/// Rows whose keys are asked for at a time before they are cloned: enough loads in flight
/// to hide the misses of keys scattered over the log.
const BLOCK: usize = 32;

/// Where a key's first eight bytes send it: the splitters (ascending, distinct), and for
/// each bucket of prefixes the first splitter at or above it.
struct Router {
    /// The smallest and largest sampled prefix.
    lo: u64,
    hi: u64,
    /// Prefixes in `lo..=hi` fall in bucket `(prefix - lo) >> shift`.
    shift: u32,
    /// For each bucket, the number of splitters in the buckets before it (one entry more
    /// than the buckets).
    first: Vec<u32>,
    splitters: Vec<u64>,
}

impl Router {
    /// The router into about `parts` partitions from an evenly spaced sample of the keys,
    /// or `None` when the sample's prefixes are too few and repeated to split into that
    /// many balanced partitions (or a sampled key does not fit inline).
    fn sample<K: Hash + Clone>(log: &[Transaction<K>], parts: usize) -> Option<Router> {
        let want = (parts * SAMPLE_PER_PART).min(log.len()).max(1);
        let step = (log.len() / want).max(1);
        let mut sample = Vec::with_capacity(want + 1);
        for t in log.iter().step_by(step) {
            sample.push(<Inline as Handle<'_, K>>::of(&t.customer, 0)?.prefix());
        }
        sample.sort_unstable();
        let (lo, hi) = (*sample.first()?, *sample.last()?);
        let mut splitters: Vec<u64> =
            (1..parts).map(|i| sample[i * sample.len() / parts]).collect();
        splitters.dedup();
        // Too few distinct prefixes: the partitions would be few and large.
        if parts > 1 && splitters.len() < parts / 2 {
            return None;
        }
        let shift = (u64::BITS - (hi - lo).leading_zeros()).saturating_sub(TABLE_BITS);
        let buckets = ((hi - lo) >> shift) as usize + 1;
        let bucket = |s: u64| ((s.max(lo).min(hi) - lo) >> shift) as usize;
        let mut first = Vec::with_capacity(buckets + 1);
        for b in 0..=buckets {
            // At most `parts` splitters, which the partitions count in `usize` anyway.
            first.push(splitters.partition_point(|&s| bucket(s) < b) as u32);
        }
        Some(Router { lo, hi, shift, first, splitters })
    }

    /// The number of partitions: one more than the splitters.
    fn parts(&self) -> usize {
        self.splitters.len() + 1
    }

    /// The partition of a key with first eight bytes `prefix`: the number of splitters at
    /// or below it, which never decreases as the key grows.
    #[inline(always)]
    fn route(&self, prefix: u64) -> usize {
        let b = ((prefix.max(self.lo).min(self.hi) - self.lo) >> self.shift) as usize;
        match (self.first.get(b), self.first.get(b + 1)) {
            (Some(&from), Some(&to)) => {
                let (from, to) = (from as usize, to as usize);
                from + self.splitters[from..to].partition_point(|&s| s <= prefix)
            }
            // Unreachable: `b` is at most the last bucket.
            _ => self.splitters.partition_point(|&s| s <= prefix),
        }
    }
}

/// The partitions by key prefix of a log of short byte-string keys. `None` when the keys
/// do not split, or a record does not fit (the hash partitions take the log).
pub(super) fn summarize<'a, K: Key + 'a, F: Fn(&K) -> bool, S: BuildHasher>(
    pass: &Pass<'a, K, F, S>,
    bits: u32,
) -> Result<Option<Summary<K>>> {
    let Some(router) = Router::sample(pass.log, 1 << bits) else { return Ok(None) };
    let route = |_: &K, h: &Inline| Some(router.route(h.prefix()));
    let (n, parts) = (pass.log.len(), router.parts());
    let cap = n / parts + n / parts / 8 + 16;
    let all = 0..n;
    match scatter::<K, Inline, Packed<Inline>, F, S, _>(pass, all, (parts, cap), &route)? {
        Scatter::Done(buckets, scale, excluded, negatives) => {
            let chunks = [buckets];
            let rows = reduce(&chunks, 0..parts, (scale, &pass.span), pass.hasher, pass.log)?;
            Ok(Some(rows.into_summary(pass.span.as_of, excluded, negatives)))
        }
        Scatter::Unfit => Ok(None),
    }
}

/// [`summarize`] on `threads` threads: each scatters a piece of the log, then builds the
/// rows of a contiguous share of the partitions (the records of every piece); the shares'
/// rows, in ascending key ranges, are joined.
#[cfg(feature = "rayon")]
pub(super) fn summarize_par<'a, K: SharedKey + 'a, F: SharedKeep<K>, S: SharedHasher>(
    pass: &Pass<'a, K, F, S>,
    bits: u32,
    threads: usize,
) -> Result<Option<Summary<K>>> {
    use rayon::prelude::*;

    let Some(router) = Router::sample(pass.log, 1 << bits) else { return Ok(None) };
    let route = |_: &K, h: &Inline| Some(router.route(h.prefix()));
    let (n, parts) = (pass.log.len(), router.parts());
    let cap = n / parts + n / parts / 8 + 16;
    let Scatter::Done(chunks, scale, excluded, negatives) =
        scatter_par::<K, Inline, Packed<Inline>, F, S, _>(pass, threads, (parts, cap), &route)?
    else {
        return Ok(None);
    };
    let span = &pass.span;
    let shares: Vec<Result<Rows<K>>> = (0..threads)
        .into_par_iter()
        .map(|t| {
            let share = parts * t / threads..parts * (t + 1) / threads;
            reduce(&chunks, share, (scale, span), pass.hasher, pass.log)
        })
        .collect();
    drop(chunks);
    join_shares(shares, span, (excluded, negatives)).map(Some)
}

/// The rows of the partitions `parts` (their records from every piece of the log in
/// `chunks`), in key order: each partition aggregated in cache, its customers sorted there,
/// and their keys cloned from the log.
fn reduce<K: Key, S: BuildHasher>(
    chunks: &[Vec<Vec<Packed<Inline>>>],
    parts: Range<usize>,
    (scale, span): (u32, &Span<'_>),
    hasher: &S,
    log: &[Transaction<K>],
) -> Result<Rows<K>> {
    let end_p = span.end_p;
    let mut rows = Rows::new(0, scale, end_p, *span.options);
    let mut aggregator = Aggregator::new(hasher);
    let mut accs: Vec<(Inline, Acc)> = Vec::new();
    let mut order: Vec<((u64, u32), u32)> = Vec::new();
    let mut recs = Vec::with_capacity(chunks.len());
    let count = parts.len();
    for (i, p) in parts.enumerate() {
        part(chunks, p, &mut recs);
        aggregator.aggregate::<K, Inline, Packed<Inline>>(&recs, scale, end_p, &mut accs)?;
        if i == 0 {
            // Partitions hold about equally many customers: size the rows once.
            rows.reserve(accs.len().saturating_mul(count + count / 8).saturating_add(64));
        }
        order.clear();
        for (j, (h, _)) in accs.iter().enumerate() {
            let j = u32::try_from(j).map_err(|_| Error::overflow("customers"))?;
            order.push((h.words(), j));
        }
        order.sort_unstable_by_key(|e| e.0);
        for block in order.chunks(BLOCK) {
            let at = |j: u32| accs[j as usize].0.at();
            // The transactions first, then the keys' bytes they point to, then the clones.
            block.iter().for_each(|e| prefetch(&log[at(e.1)]));
            block.iter().for_each(|e| prefetch_bytes(&log[at(e.1)].customer));
            for e in block {
                let (h, acc) = &accs[e.1 as usize];
                // Sorted by their bytes, which is the keys' order.
                rows.push_ascending(log[h.at()].customer.clone(), acc)?;
            }
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::keyhash::KeyHasher;
    use super::super::map;
    use super::super::options::SummaryOptions;
    use super::super::testkit::{at, build, daily_or_weekly, pass, same};
    use super::*;

    /// The partitions by prefix alone, and the hash map (which shares none of their code
    /// but the accumulator) as the reference.
    fn both<K: Ord + Hash + Clone>(
        log: &[Transaction<K>],
        o: &SummaryOptions,
        bits: u32,
    ) -> (Option<Summary<K>>, Summary<K>) {
        let (keep, hasher) = (|_: &K| true, KeyHasher::default());
        let p = pass(log, o, at(), &keep, &hasher);
        (summarize(&p, bits).unwrap(), map::summarize(&p).unwrap())
    }

    fn arb_log() -> impl Strategy<Value = Vec<(Vec<u8>, i64, i64, u32)>> {
        // Keys of up to 11 bytes from four byte values, so that many share their first
        // bytes, some all eight of them, and some are prefixes of others; days in any
        // order, amounts of both signs at mixed scales.
        let key =
            prop::collection::vec(prop_oneof![Just(0u8), Just(1), Just(b'a'), Just(0xff)], 0..12);
        prop::collection::vec((key, 0i64..150, -300i64..90_000, 0u32..3), 1..400)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn equal_the_hash_map(raw in arb_log(), bits in 0u32..6, weekly in any::<bool>()) {
            let o = daily_or_weekly(weekly);
            let raw: Vec<_> = raw.iter().map(|(k, d, m, s)| (k, *d, *m, *s)).collect();
            let log = build(&raw, |k: &Vec<u8>| k.clone());
            let (got, want) = both(&log, &o, bits);
            if let Some(got) = got {
                prop_assert!(got.rows().windows(2).all(|w| w[0].customer() < w[1].customer()));
                prop_assert!(same(&got, &want));
            }
            // As text: the same bytes, ordered as text.
            let text = build(&raw, |k: &Vec<u8>| k.iter().map(|&b| char::from(b % 128)).collect::<String>());
            let (got, want) = both(&text, &o, bits);
            if let Some(got) = got {
                prop_assert!(same(&got, &want));
            }
        }

        #[test]
        fn a_route_counts_the_splitters_at_or_below(prefixes in prop::collection::vec(any::<u64>(), 1..300), probes in prop::collection::vec(any::<u64>(), 1..50), parts in 1usize..40) {
            let log: Vec<_> = prefixes
                .iter()
                .map(|p| Transaction::on(p.to_be_bytes().to_vec(), chrono::NaiveDate::MIN, 1.into()))
                .collect();
            if let Some(router) = Router::sample(&log, parts) {
                prop_assert!(router.splitters.windows(2).all(|w| w[0] < w[1]));
                for p in probes.iter().chain(&prefixes).chain(&[0, u64::MAX]) {
                    let count = router.splitters.iter().filter(|&&s| s <= *p).count();
                    prop_assert_eq!(router.route(*p), count);
                }
            }
        }
    }

    #[test]
    fn the_bench_ids_split_evenly_and_repeated_prefixes_decline() {
        let day = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        let ids: Vec<_> = (0..40_000u32)
            .map(|i| Transaction::on(format!("{:07}", i * 7919 % 40_000), day, 1.into()))
            .collect();
        let router = Router::sample(&ids, 64).unwrap();
        assert_eq!(router.parts(), 64);
        let mut counts = vec![0usize; router.parts()];
        for t in &ids {
            let key = <Inline as Handle<'_, String>>::of(&t.customer, 0).unwrap();
            counts[router.route(key.prefix())] += 1;
        }
        let (least, most) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
        assert!(*most < 2 * *least, "{least} to {most}");
        // Ids that differ only after their eighth byte have one prefix.
        let long: Vec<_> = (0..5_000u32)
            .map(|i| Transaction::on(format!("account{:04}", i), day, 1.into()))
            .collect();
        assert!(Router::sample(&long, 16).is_none());
    }
}
