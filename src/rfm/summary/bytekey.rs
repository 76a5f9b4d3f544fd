//! Short byte-string keys held in the records themselves: [`Inline`].
//!
//! A record that refers to a `String` key in the log sends every hash and comparison of the
//! aggregation to two places far from the last (the transaction, then the string's heap
//! bytes): two cache misses per transaction, which made `String` ids ten to thirty times
//! slower than integer ids. Most text ids are short (order numbers, zero-padded account
//! numbers, short codes), so their bytes fit in the record, and the aggregation and the sort
//! never leave the partition.
//!
//! A key's bytes are taken from what its `Hash` writes, which is exact, and in the key's
//! order, only for the standard byte-string types ([`is_byte_string`]): their `Hash` writes
//! the bytes (after a length prefix, or before a terminator, which are left out here), and
//! their `Ord` compares the bytes. For any other type two different keys could write the
//! same bytes, so they keep referring to the log.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::hash::{Hash, Hasher};
use std::rc::Rc;
use std::sync::Arc;

use super::options::Transaction;
use super::pass::prefetch;
use super::records::Handle;

/// Bytes a key may have to be held inline.
const CAPACITY: usize = 11;

/// Keys sampled to decide whether a log's keys fit ([`fits`]).
const SAMPLE: usize = 1024;

/// A short byte-string key as a record holds it: its bytes, zero-padded, as a big-endian
/// integer (so that comparing the integers compares the bytes), its length, and the
/// position in the log of a transaction of that customer (to clone the key from when the
/// row is built). Equality, order and hash ignore the position.
#[derive(Clone, Copy, Debug)]
pub(super) struct Inline {
    /// Bytes 0 to 7.
    hi: u64,
    /// Bytes 8 to 10, then the length.
    lo: u32,
    at: u32,
}

impl Inline {
    /// The inline form of `key`'s bytes, or `None` beyond [`CAPACITY`] bytes.
    #[inline]
    fn new<K: Hash>(key: &K, at: u32) -> Option<Inline> {
        let mut bytes = Bytes { word: 0, len: 0 };
        key.hash(&mut bytes);
        let len = u8::try_from(bytes.len).ok().filter(|&n| usize::from(n) <= CAPACITY)?;
        // The bytes as a big-endian integer of `CAPACITY` bytes, zero-padded.
        let word = bytes.word << (8 * (CAPACITY - usize::from(len)));
        let (hi, lo) = ((word >> 24) as u64, (word as u32) << 8 | u32::from(len));
        Some(Inline { hi, lo, at })
    }

    /// The key's bytes and length, in the key's order.
    #[inline]
    pub(super) fn words(&self) -> (u64, u32) {
        (self.hi, self.lo)
    }

    /// The key's first eight bytes, as a big-endian integer (zero-padded).
    #[inline]
    pub(super) fn prefix(&self) -> u64 {
        self.hi
    }

    /// The position in the log of a transaction of this customer.
    #[inline]
    pub(super) fn at(&self) -> usize {
        self.at as usize
    }
}

/// Asks for the bytes of a byte-string key (what its `Hash` writes), ahead of a clone: the
/// clone of a key far away in memory otherwise waits for the key, then for its bytes.
#[inline]
pub(super) fn prefetch_bytes<K: Hash>(key: &K) {
    key.hash(&mut Prefetch);
}

/// A hasher that only asks for the cache line of the bytes it is given.
struct Prefetch;

impl Hasher for Prefetch {
    fn finish(&self) -> u64 {
        0
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        if let Some(b) = bytes.first() {
            prefetch(b);
        }
    }
}

impl PartialEq for Inline {
    #[inline]
    fn eq(&self, other: &Inline) -> bool {
        self.words() == other.words()
    }
}

impl Eq for Inline {}

impl PartialOrd for Inline {
    fn partial_cmp(&self, other: &Inline) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Byte order, a shorter key before a longer one it begins (zero padding, then the length):
/// the order of `str` and `[u8]`.
impl Ord for Inline {
    #[inline]
    fn cmp(&self, other: &Inline) -> Ordering {
        self.words().cmp(&other.words())
    }
}

impl Hash for Inline {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hi);
        state.write_u32(self.lo);
    }
}

impl<'a, K: Hash + Clone + 'a> Handle<'a, K> for Inline {
    type Sorted = Inline;

    #[inline]
    fn of(key: &'a K, at: usize) -> Option<Inline> {
        Inline::new(key, u32::try_from(at).ok()?)
    }

    #[inline]
    fn dup(&self) -> Inline {
        *self
    }

    fn sorted(self) -> Inline {
        self
    }

    fn key(sorted: Inline, log: &'a [Transaction<K>]) -> K {
        // `at` is the position of a transaction of this customer in the same log.
        log[sorted.at as usize].customer.clone()
    }
}

/// The bytes a byte-string key's `Hash` writes, without its length prefix or terminator, as
/// a big-endian integer (in a register: a buffer on the stack written byte by byte and read
/// as words stalled the pass); `len` counts past [`CAPACITY`] when they do not fit.
struct Bytes {
    word: u128,
    len: usize,
}

impl Hasher for Bytes {
    fn finish(&self) -> u64 {
        0
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let n = bytes.len();
        if self.len == 0 && n <= CAPACITY {
            // The usual case, one write: two overlapping loads instead of a loop over bytes.
            self.len = n;
            self.word = be_word(bytes);
            return;
        }
        self.len = self.len.saturating_add(n);
        if self.len <= CAPACITY {
            for &b in bytes {
                self.word = self.word << 8 | u128::from(b);
            }
        }
    }

    /// The terminator `str` writes after its bytes.
    #[inline]
    fn write_u8(&mut self, _: u8) {}

    /// The length prefix of a slice.
    #[inline]
    fn write_usize(&mut self, _: usize) {}
}

/// Up to [`CAPACITY`] bytes as a big-endian integer: a load of the leading four or eight
/// bytes and one of the last four (which may overlap the first), instead of a loop, which
/// took a shift and a branch per byte.
#[inline(always)]
pub(super) fn be_word(bytes: &[u8]) -> u128 {
    // Up to 16 bytes would fit the result; the caller passes at most `CAPACITY`.
    debug_assert!(bytes.len() <= CAPACITY);
    let n = bytes.len();
    let tail = |k: usize| -> u64 {
        // The last `k < 4` bytes, from the last four (there are at least four).
        let last = bytes.last_chunk::<4>().map_or(0, |w| u32::from_be_bytes(*w));
        u64::from(last) & ((1u64 << (8 * k)) - 1)
    };
    if let (Some(head), true) = (bytes.first_chunk::<8>(), n >= 8) {
        let k = n - 8;
        (u128::from(u64::from_be_bytes(*head)) << (8 * k)) | u128::from(tail(k))
    } else if let (Some(head), true) = (bytes.first_chunk::<4>(), n >= 4) {
        let k = n - 4;
        u128::from((u64::from(u32::from_be_bytes(*head)) << (8 * k)) | tail(k))
    } else {
        bytes.iter().fold(0u128, |w, &b| w << 8 | u128::from(b))
    }
}

/// How a run of one customer's transactions tells its key: a byte string short enough to be
/// held inline compares as two words; any other key by its `PartialEq` (for `String` ids a
/// call of `memcmp` per transaction was a third of the grouped pass).
pub(super) enum Matcher<'k, K> {
    /// The key's bytes.
    Words(Inline),
    /// The key itself.
    Key(&'k K),
}

impl<'k, K: Hash + PartialEq> Matcher<'k, K> {
    /// The matcher of `key`; `byte_string` is [`is_byte_string`] of `K`.
    #[inline]
    pub(super) fn new(key: &'k K, byte_string: bool) -> Matcher<'k, K> {
        // Other keys are not read as bytes at all.
        match byte_string.then(|| Inline::new(key, 0)).flatten() {
            Some(words) => Matcher::Words(words),
            None => Matcher::Key(key),
        }
    }

    /// Whether `other` is the key.
    #[inline(always)]
    pub(super) fn matches(&self, other: &K) -> bool {
        match self {
            // A longer key has no inline form, and differs.
            Matcher::Words(words) => Inline::new(other, 0).is_some_and(|o| o == *words),
            Matcher::Key(key) => other == *key,
        }
    }
}

/// Whether `K` is one of the standard byte-string types, whose `Hash` writes their bytes and
/// nothing else than a length prefix or a terminator, and whose `Ord` is the order of the
/// bytes.
pub(super) fn is_byte_string<K>() -> bool {
    let k = typeid::of::<K>();
    [
        typeid::of::<String>(),
        typeid::of::<&str>(),
        typeid::of::<Box<str>>(),
        typeid::of::<Rc<str>>(),
        typeid::of::<Arc<str>>(),
        typeid::of::<Cow<'_, str>>(),
        typeid::of::<Vec<u8>>(),
        typeid::of::<&[u8]>(),
        typeid::of::<Box<[u8]>>(),
        typeid::of::<Rc<[u8]>>(),
        typeid::of::<Arc<[u8]>>(),
        typeid::of::<Cow<'_, [u8]>>(),
    ]
    .contains(&k)
}

/// Whether the log's keys are byte strings that an evenly spaced sample shows short enough
/// to be held inline (a longer key met later makes the pass start over with references).
pub(super) fn fits<K: Hash>(transactions: &[Transaction<K>]) -> bool {
    if !is_byte_string::<K>() || u32::try_from(transactions.len()).is_err() {
        return false;
    }
    let step = (transactions.len() / SAMPLE).max(1);
    transactions.iter().step_by(step).all(|t| Inline::new(&t.customer, 0).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inline<K: Hash>(k: &K) -> Option<Inline> {
        Inline::new(k, 0)
    }

    #[test]
    fn the_standard_byte_strings_are_recognised() {
        assert!(is_byte_string::<String>());
        assert!(is_byte_string::<&str>());
        assert!(is_byte_string::<Vec<u8>>());
        assert!(is_byte_string::<&[u8]>());
        assert!(is_byte_string::<Arc<str>>());
        assert!(!is_byte_string::<u64>());
        assert!(!is_byte_string::<(String, u8)>());
        assert!(!is_byte_string::<Vec<u16>>());
        assert!(!is_byte_string::<[u8; 4]>());
    }

    #[test]
    fn inline_keys_keep_equality_and_order() {
        let keys = ["", "\0", "a", "a\0", "a\0\0", "ab", "abcdefghijk", "b", "\u{7f}", "é", "zz"];
        for a in keys {
            for b in keys {
                let (x, y) = (inline(&a.to_owned()).unwrap(), inline(&b.to_owned()).unwrap());
                assert_eq!(x.cmp(&y), a.cmp(b), "{a:?} {b:?}");
                assert_eq!(x == y, a == b);
                let (v, w) = (inline(&a.as_bytes().to_vec()).unwrap(), inline(&b.as_bytes()));
                assert_eq!(v.cmp(&w.unwrap()), a.as_bytes().cmp(b.as_bytes()));
                // A `String` and its bytes are the same inline key.
                assert_eq!(x, v);
            }
        }
    }

    #[test]
    fn words_of_every_length_are_the_bytes_big_endian() {
        let all: Vec<u8> = (1..=CAPACITY as u8).map(|b| b.wrapping_mul(37) ^ 0xa5).collect();
        for n in 0..=CAPACITY {
            let want = all[..n].iter().fold(0u128, |w, &b| w << 8 | u128::from(b));
            assert_eq!(be_word(&all[..n]), want, "{n} bytes");
            // Two writes take the loop, with the same result.
            let mut two = Bytes { word: 0, len: 0 };
            let (a, b) = all[..n].split_at(n / 2);
            if !a.is_empty() {
                two.write(a);
            }
            two.write(b);
            assert_eq!((two.word, two.len), (want, n));
        }
    }

    #[test]
    fn long_keys_do_not_fit() {
        assert!(inline(&"abcdefghijk").is_some());
        assert!(inline(&"abcdefghijkl").is_none());
        assert!(inline(&vec![7u8; 12]).is_none());
        let log = |id: &str| vec![Transaction::on(id.to_owned(), chrono::NaiveDate::MIN, 1.into())];
        assert!(fits(&log("0000001")));
        assert!(!fits(&log("customer-000001")));
        let ints = vec![Transaction::on(1u64, chrono::NaiveDate::MIN, 1.into())];
        assert!(!fits(&ints));
    }
}
