//! The multi-core summary: [`summarize_par`].

use std::hash::{BuildHasher, Hash};

use chrono::NaiveDateTime;

use super::keyhash::KeyHasher;
use super::layout::Layout;
use super::options::{SummaryOptions, Transaction};
use super::pass::{Key, Pass};
use super::summarize::summarize_where;
use super::table::{concatenate, Summary};
use super::window::Span;
use super::{direct, grouped, hashed, ranges};
use crate::error::{Error, ErrorKind, Result};

/// Multi-core [`summarize`](crate::rfm::summarize), with the same result.
///
/// A log grouped by customer (keys ascending) is cut into one contiguous piece per rayon
/// thread at customer boundaries; each piece takes the grouped pass, and the pieces' rows are
/// concatenated. A log of dense integer ids in time order takes the direct pass of
/// [`summarize`](crate::rfm::summarize) on one thread (shards were slower there). Any other
/// log takes the partitioned passes on every thread: each thread scatters a contiguous piece
/// of the log into partitions of its own (by key range for dense integer ids, by hash
/// otherwise), then aggregates a share of the partitions, reading each partition's records
/// from every piece in the log's order. Range partitions (and the prefix partitions of short
/// byte strings) build their rows in key order directly, and the shares' rows are
/// concatenated; hash partitions' sorted runs are merged by a parallel sort, and the rows
/// built a share per thread. When those passes decline (an
/// amount or a window their records cannot hold, two keys with one view), the log is split
/// by key ranges instead, from splitters picked out of an evenly spaced sample of the keys:
/// each shard reads the whole log and takes the transactions of its own customers. Amounts
/// are brought to the finest scale among the pieces. Logs of fewer than 65,536 transactions,
/// or a pool of one thread, take [`summarize`](crate::rfm::summarize). Timings are in the
/// `# Performance` section of [`summarize`](crate::rfm::summarize).
///
/// # Errors
///
/// As [`summarize`](crate::rfm::summarize); with several bad rows the first one is reported, as in the sequential
/// version.
pub fn summarize_par<K: Ord + Hash + Clone + Send + Sync>(
    transactions: &[Transaction<K>],
    as_of: impl Into<NaiveDateTime>,
    options: SummaryOptions,
) -> Result<Summary<K>> {
    summarize_par_with_hasher(transactions, as_of, options, &KeyHasher::default())
}

/// [`summarize_par`] with the hasher of customer keys given, as
/// [`summarize_with_hasher`](crate::rfm::summarize_with_hasher) is to
/// [`summarize`](crate::rfm::summarize).
///
/// # Errors
///
/// As [`summarize`](crate::rfm::summarize).
pub fn summarize_par_with_hasher<K, S: BuildHasher + Clone + Sync>(
    transactions: &[Transaction<K>],
    as_of: impl Into<NaiveDateTime>,
    options: SummaryOptions,
    hasher: &S,
) -> Result<Summary<K>>
where
    K: Ord + Hash + Clone + Send + Sync,
{
    let as_of = as_of.into();
    let threads = rayon::current_num_threads().max(1);
    if threads == 1 || transactions.len() < PAR_MIN {
        return summarize_where(transactions, (as_of, options), |_| true, hasher);
    }
    if let Some(summary) = grouped_pieces(transactions, as_of, options, threads)? {
        return Ok(summary);
    }
    // Dense ids in time order: the direct pass, on one thread. Shards would each read the
    // whole log and fault in the pages of their tables in one address space, which made two
    // threads slower than one (0.081 s against 0.061 s on the bench's time-ordered log).
    if direct::takes(transactions, as_of, &options) {
        return summarize_where(transactions, (as_of, options), |_| true, hasher);
    }
    if let Some(summary) = partitioned(transactions, (as_of, options), threads, hasher)? {
        return Ok(summary);
    }
    key_range_shards(transactions, (as_of, options), threads, hasher)
}

/// The partitioned passes on all threads: range partitions for dense integer ids, hash
/// partitions otherwise, each thread scattering a piece of the log and then aggregating a
/// share of the partitions. `None` when they decline (a record that does not fit, two keys
/// with one view).
fn partitioned<K: Key + Send + Sync, S: BuildHasher + Sync>(
    transactions: &[Transaction<K>],
    (as_of, options): (NaiveDateTime, SummaryOptions),
    threads: usize,
    hasher: &S,
) -> Result<Option<Summary<K>>> {
    let keep = |_: &K| true;
    let pass = Pass { log: transactions, span: Span::new(&options, as_of), keep: &keep, hasher };
    if let Some(layout) = Layout::sample(transactions, &keep) {
        if let Some(summary) = ranges::summarize_par(&pass, &layout, threads)? {
            return Ok(Some(summary));
        }
    }
    hashed::summarize_par(&pass, hashed::partition_bits(transactions.len()), threads)
}

/// The grouped pass on one contiguous piece per thread, cut where the customer changes;
/// `None` when a piece is not grouped by customer in ascending key order, or the pieces'
/// key ranges overlap.
fn grouped_pieces<K: Key + Send + Sync>(
    transactions: &[Transaction<K>],
    as_of: NaiveDateTime,
    options: SummaryOptions,
    threads: usize,
) -> Result<Option<Summary<K>>> {
    use rayon::prelude::*;

    let n = transactions.len();
    let mut cuts = vec![0];
    for t in 1..threads {
        let mut at = (n * t / threads).max(*cuts.last().unwrap_or(&0));
        while at < n && at > 0 && transactions[at].customer == transactions[at - 1].customer {
            at += 1;
        }
        cuts.push(at);
    }
    cuts.push(n);
    let pieces: Vec<Result<Option<Summary<K>>>> = cuts
        .par_windows(2)
        .map(|w| {
            let log = &transactions[w[0]..w[1]];
            let span = Span::new(&options, as_of);
            let pass = Pass { log, span, keep: &|_: &K| true, hasher: &() };
            grouped::summarize(&pass).map_err(|e| shift(e, w[0]))
        })
        .collect();
    let mut done = Vec::with_capacity(pieces.len());
    for piece in pieces {
        match piece {
            Ok(Some(s)) => done.push(s),
            Ok(None) => return Ok(None),
            // The first bad row of the first piece with one: the sequential pass, grouped up
            // to there, stops at the same row.
            Err(e) => return Err(e),
        }
    }
    // Each piece is in key order; so is their concatenation when every piece with rows ends
    // below where the next one with rows starts.
    let mut ranges = done.iter().filter_map(|s| Some((s.rows.first()?, s.rows.last()?)));
    let ascending = ranges.next().is_none_or(|first| {
        ranges
            .try_fold(first.1, |last, (lo, hi)| (last.customer < lo.customer).then_some(hi))
            .is_some()
    });
    if !ascending {
        return Ok(None);
    }
    concatenate(done, as_of, options).map(Some)
}

/// One shard per key range, each reading the whole log for its own customers; the first
/// bad row of the log is reported, whichever shard found it.
fn key_range_shards<K: Key + Send + Sync, S: BuildHasher + Clone + Sync>(
    transactions: &[Transaction<K>],
    (as_of, options): (NaiveDateTime, SummaryOptions),
    threads: usize,
    hasher: &S,
) -> Result<Summary<K>> {
    use rayon::prelude::*;

    let splitters = splitters(transactions, threads);
    let parts: Vec<Result<Summary<K>>> = (0..=splitters.len())
        .into_par_iter()
        .map(|i| {
            let lo = i.checked_sub(1).map(|j| splitters[j]);
            let hi = splitters.get(i).copied();
            let keep = |k: &K| lo.is_none_or(|lo| lo <= k) && hi.is_none_or(|hi| k < hi);
            summarize_where(transactions, (as_of, options), keep, hasher)
        })
        .collect();
    let mut first_error: Option<Error> = None;
    let mut ok = Vec::with_capacity(parts.len());
    for part in parts {
        match part {
            Ok(s) => ok.push(s),
            Err(e) => {
                let index = |e: &Error| match e.kind() {
                    ErrorKind::InvalidRecord { index, .. } => *index,
                    _ => usize::MAX,
                };
                if first_error.as_ref().is_none_or(|f| index(&e) < index(f)) {
                    first_error = Some(e);
                }
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => concatenate(ok, as_of, options),
    }
}

/// Logs shorter than this are summarised on one thread: splitting them costs more than it
/// saves.
const PAR_MIN: usize = 1 << 16;

/// An error of a piece of the log, with its row index moved to the whole log's.
fn shift(e: Error, offset: usize) -> Error {
    match e.kind() {
        ErrorKind::InvalidRecord { index, field, value, reason } => {
            Error::invalid_record(index + offset, field, value, reason.clone())
        }
        _ => e,
    }
}

/// Up to `shards - 1` distinct keys that cut an evenly spaced sample of the log's keys into
/// `shards` parts of about equal size, ascending.
fn splitters<K: Ord>(transactions: &[Transaction<K>], shards: usize) -> Vec<&K> {
    const SAMPLE_PER_SHARD: usize = 256;
    let step = (transactions.len() / (SAMPLE_PER_SHARD * shards)).max(1);
    let mut sample: Vec<&K> = transactions.iter().step_by(step).map(|t| &t.customer).collect();
    sample.sort_unstable();
    let mut out: Vec<&K> = (1..shards).map(|i| sample[i * sample.len() / shards]).collect();
    out.dedup();
    // The first key of the sample would leave the first shard empty.
    out.retain(|k| *k > sample[0]);
    out
}
