//! The scatter pass of the partitioned strategies: each transaction inside the window becomes
//! a compact record appended to the partition its key is routed to.

use std::hash::Hash;
use std::ops::Range;

use super::mantissa::POW10;
use super::options::Transaction;
use super::pass::{Key, Pass};
use super::window::Window;
use crate::error::{Error, Result};

/// How a record refers to its customer: a copy of the key when copying it is cheap (no drop
/// glue, so no heap allocation to duplicate), a reference into the log otherwise, or the
/// bytes of a short byte-string key ([`Inline`](super::bytekey::Inline)).
pub(super) trait Handle<'a, K: 'a>: Hash + Eq + Sized {
    /// What the rows are ordered by: the key itself, or a stand-in in the key's order.
    type Sorted: Ord;
    /// The handle of `key`, the customer of transaction `at` of the log, or `None` when the
    /// handle cannot hold it.
    fn of(key: &'a K, at: usize) -> Option<Self>;
    /// A second handle to the same key (cheap for every kind).
    fn dup(&self) -> Self;
    /// What the customer's row is ordered by.
    fn sorted(self) -> Self::Sorted;
    /// The key, from what [`Handle::sorted`] gave and the log.
    fn key(sorted: Self::Sorted, log: &'a [Transaction<K>]) -> K;
}

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct Owned<K>(pub(super) K);

impl<K> Owned<K> {
    pub(super) fn into_key(self) -> K {
        self.0
    }
}

impl<'a, K: Ord + Hash + Clone + 'a> Handle<'a, K> for Owned<K> {
    type Sorted = K;
    #[inline]
    fn of(key: &'a K, _: usize) -> Option<Self> {
        Some(Owned(key.clone()))
    }
    #[inline]
    fn dup(&self) -> Self {
        Owned(self.0.clone())
    }
    fn sorted(self) -> K {
        self.0
    }
    fn key(sorted: K, _: &'a [Transaction<K>]) -> K {
        sorted
    }
}

#[derive(PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct Borrowed<'a, K>(&'a K);

impl<'a, K: Ord + Hash + Clone + 'a> Handle<'a, K> for Borrowed<'a, K> {
    // Owned keys: a borrowed one (a `String` in the log, say) would send every comparison of
    // the sort to its place in the log, while the clones the rows need anyway sit together.
    type Sorted = K;
    #[inline]
    fn of(key: &'a K, _: usize) -> Option<Self> {
        Some(Borrowed(key))
    }
    #[inline]
    fn dup(&self) -> Self {
        Borrowed(self.0)
    }
    fn sorted(self) -> K {
        self.0.clone()
    }
    fn key(sorted: K, _: &'a [Transaction<K>]) -> K {
        sorted
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
pub(super) struct Wide<H> {
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

/// The outcome of a scatter pass: `B` is the partitions' records (per piece of the log, for
/// the parallel pass).
pub(super) enum Scatter<B> {
    /// The partitions' records, the largest scale among them, and the transactions after the
    /// window and with a negative amount.
    Done(B, u32, u64, u64),
    /// A transaction does not fit the record type, or its key has no partition.
    Unfit,
}

/// The pass over the log: the checks of the sequential pass in the same order (so errors are
/// the same), then a record appended to the partition `route` gives the key and its handle
/// (below `parts`, each made with room for `cap` records). Over the positions `rows` of the
/// log.
pub(super) fn scatter<'a, K, H, R, F, S, P>(
    pass: &Pass<'a, K, F, S>,
    rows: Range<usize>,
    (parts, cap): (usize, usize),
    route: &P,
) -> Result<Scatter<Vec<Vec<R>>>>
where
    K: Key + 'a,
    H: Handle<'a, K>,
    R: Record<H>,
    F: Fn(&K) -> bool,
    P: Fn(&K, &H) -> Option<usize>,
{
    let (transactions, span, keep) = (pass.log, &pass.span, pass.keep);
    let mut buckets: Vec<Vec<R>> = (0..parts).map(|_| Vec::with_capacity(cap)).collect();

    let mut filter = Window::new(span.as_of, span.options);
    let end_p = span.end_p;
    let mut scale = 0u32;
    let Some(piece) = transactions.get(rows.clone()) else { return Ok(Scatter::Unfit) };
    for (i, tx) in rows.zip(piece) {
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
        let Some(handle) = H::of(&tx.customer, i) else { return Ok(Scatter::Unfit) };
        let (Some(bucket), Some(record)) = (
            route(&tx.customer, &handle).and_then(|part| buckets.get_mut(part)),
            R::pack(handle, amount, s, back),
        ) else {
            return Ok(Scatter::Unfit);
        };
        bucket.push(record);
    }
    Ok(Scatter::Done(buckets, scale, filter.excluded, filter.negatives))
}

/// [`scatter`] on `pieces` threads, each over a contiguous piece of the log into partitions
/// of its own; the first error of the log is reported (a piece's error counts only when the
/// pieces before it were scattered whole), and the pass is unfit when the first piece that
/// is not done is unfit.
#[cfg(feature = "rayon")]
pub(super) fn scatter_par<'a, K, H, R, F, S, P>(
    pass: &Pass<'a, K, F, S>,
    pieces: usize,
    (parts, cap): (usize, usize),
    route: &P,
) -> Result<Scatter<Vec<Vec<Vec<R>>>>>
where
    K: Key + Sync + 'a,
    H: Handle<'a, K>,
    R: Record<H> + Send,
    F: Fn(&K) -> bool + Sync,
    S: Sync,
    P: Fn(&K, &H) -> Option<usize> + Sync,
{
    use rayon::prelude::*;

    let n = pass.log.len();
    let done: Vec<Result<Scatter<Vec<Vec<R>>>>> = (0..pieces)
        .into_par_iter()
        .map(|t| {
            let rows = n * t / pieces..n * (t + 1) / pieces;
            scatter::<K, H, R, F, S, P>(pass, rows, (parts, cap / pieces + 16), route)
        })
        .collect();
    let (mut chunks, mut scale, mut excluded, mut negatives) = (Vec::new(), 0, 0, 0);
    for piece in done {
        match piece? {
            Scatter::Done(buckets, s, e, neg) => {
                chunks.push(buckets);
                (scale, excluded, negatives) = (scale.max(s), excluded + e, negatives + neg);
            }
            Scatter::Unfit => return Ok(Scatter::Unfit),
        }
    }
    Ok(Scatter::Done(chunks, scale, excluded, negatives))
}

/// The records of partition `p` of every piece of the log, in the log's order, into `out`
/// (cleared first): one buffer reused for every partition, so a pass makes no allocation
/// per partition.
pub(super) fn part<'a, R>(chunks: &'a [Vec<Vec<R>>], p: usize, out: &mut Vec<&'a [R]>) {
    out.clear();
    out.extend(chunks.iter().map(|c| c[p].as_slice()));
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
