//! Which ids are dense, and over what range: a key whose `Hash` writes one integer has that
//! integer as its *view*, and so has a byte-string key of decimal digits
//! ([`digits`](super::digits)); a sample of the log gives the range of the views.

use std::hash::{Hash, Hasher};
use std::mem;

use super::bytekey::is_byte_string;
use super::digits::{block, digits, one_length, Prefix};
use super::options::Transaction;

/// Transactions sampled for the range of the keys.
const SAMPLE: usize = 1024;

/// A partition's table has at least `2^MIN_SHIFT` slots: 2,048 accumulators of 64 bytes
/// (for a 64-bit key) take 128 KiB, which stays in the L2 cache while the partition is read.
const MIN_SHIFT: u32 = 11;

/// At most `2^MAX_BITS` range partitions (as for the hash partitions: more write streams
/// than that defeat the write-combining of the scatter pass).
const MAX_BITS: u32 = 10;

/// What the views of a log's keys are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ids {
    /// The one integer the key's `Hash` writes. Two different keys may share one (a type
    /// whose `Hash` leaves a field out), so the strategies compare keys.
    Integers,
    /// The number a byte string of decimal digits spells after a prefix all keys share
    /// ([`digits`]): never shared by two different keys, and in the keys' order among keys
    /// of one length.
    Digits(Prefix),
}

impl Ids {
    /// The views of keys of type `K` like `first`, or `None` for a type that owns memory and
    /// is not a byte string (the strategies would clone it into their records), or a byte
    /// string that is not digits after a short prefix.
    fn of<K: Hash>(first: &K) -> Option<Ids> {
        if is_byte_string::<K>() {
            Prefix::of(first).map(Ids::Digits)
        } else if mem::needs_drop::<K>() {
            None
        } else {
            Some(Ids::Integers)
        }
    }

    /// Whether the views are those of text ids of digits.
    pub(super) fn digits(self) -> bool {
        matches!(self, Ids::Digits(_))
    }

    /// The view of `key`, or `None` when it has none.
    #[inline(always)]
    pub(super) fn view<K: Hash>(self, key: &K) -> Option<u64> {
        match self {
            Ids::Integers => view(key),
            Ids::Digits(prefix) => digits(key, prefix),
        }
    }

    /// The first and last view of the ids of one length, when `lo..=hi` are views of ids of
    /// digits of one length.
    fn block(self, lo: u64, hi: u64) -> Option<(u64, u64)> {
        match self {
            Ids::Integers => None,
            Ids::Digits(_) => one_length(lo, hi).then(|| block(lo)),
        }
    }

    /// Whether the keys with views in `lo..=hi` are known to be in the order of their views:
    /// ids of digits of one length (an integer type's `Ord` may disagree with its view).
    pub(super) fn in_key_order(self, lo: u64, hi: u64) -> bool {
        match self {
            Ids::Integers => false,
            Ids::Digits(_) => one_length(lo, hi),
        }
    }
}

/// The range partitions: views `lo..=hi` in `parts` partitions of `2^shift` ids (numbered
/// from 1), with partition 0 for views below `lo` and `parts + 1` for views above `hi`, each
/// made with room for `cap` records; `ids` says what the views are.
pub(super) struct Layout {
    pub(super) ids: Ids,
    pub(super) lo: u64,
    pub(super) hi: u64,
    pub(super) shift: u32,
    pub(super) parts: usize,
    pub(super) cap: usize,
}

impl Layout {
    /// The layout for the range of an evenly spaced sample of the keys `keep` accepts (the
    /// first and the last included), or `None` when the key type owns memory and is not a
    /// byte string, a sampled key has no view, the keys are sparse, or none sampled is kept.
    pub(super) fn sample<K: Hash>(
        transactions: &[Transaction<K>],
        keep: &impl Fn(&K) -> bool,
    ) -> Option<Layout> {
        // Every key must have the first one's prefix, if they are text.
        let ids = Ids::of(&transactions.first()?.customer)?;
        let n = transactions.len();
        let m = n.min(SAMPLE);
        let (mut lo, mut hi) = (u64::MAX, u64::MIN);
        for j in 0..m {
            let i =
                if m < 2 { 0 } else { (j as u128 * (n - 1) as u128 / (m - 1) as u128) as usize };
            let key = &transactions.get(i)?.customer;
            if keep(key) {
                let v = ids.view(key)?;
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
        let (lo, hi) = match ids.block(lo, hi) {
            // Sampled ids of digits of one length: the margins stay among ids of that length,
            // so that the range is in key order ([`Ids::in_key_order`]).
            Some((first, last)) => {
                (lo.saturating_sub(margin).max(first), hi.saturating_add(margin).min(last))
            }
            None => (lo.saturating_sub(margin), hi.saturating_add(margin)),
        };
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
        Some(Layout { ids, lo, hi, shift, parts: (width >> shift) as usize + 1, cap })
    }

    /// The view of `key`, or `None` when it has none.
    #[inline(always)]
    pub(super) fn view<K: Hash>(&self, key: &K) -> Option<u64> {
        self.ids.view(key)
    }

    #[inline]
    pub(super) fn part(&self, v: u64) -> usize {
        if v < self.lo {
            0
        } else if v > self.hi {
            self.parts + 1
        } else {
            1 + ((v - self.lo) >> self.shift) as usize
        }
    }
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
