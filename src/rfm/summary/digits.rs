//! Text ids of decimal digits read as numbers, so that the dense strategies take them.
//!
//! Many shops' text ids are numbers written out: order and account numbers, zero-padded
//! (`"0000123"`) or not (`"123"`), as a CSV or a database hands them over. As bytes they go
//! to the partitioned passes of byte strings, which write every transaction out as a record
//! and read it back; as numbers they are dense, and the [`direct`](super::direct) table and
//! the [`narrow`](super::narrow) range partitions take them as they take integer ids.
//!
//! A string of `n` digits (`1 <= n <= 16`) with decimal value `d` has the view
//! `(10 + 100 + ... + 10^(n-1)) + d`: the strings of one length fill a block of `10^n`
//! views in the strings' own order, and the blocks follow each other by length. So two
//! different strings never share a view (`"7"`, `"07"` and `"007"` have three), and ids of
//! one length, padded or not, are ordered by their views as by their bytes. Ids of several
//! lengths (`"9"` and `"10"`) are not: a pass that builds its rows in view order then has
//! them sorted ([`Rows`](super::rows::Rows) notices). Any other byte (a sign, a space, a
//! letter), an empty id or one of more than 16 digits has no view (ids that long are
//! rarely dense).
//!
//! Ids that all begin with the same bytes other than digits (`"C0004711"`, `"ORD-4711"`:
//! a [`Prefix`] of up to eight bytes, taken from the log's first sampled id) are read as the
//! number after it, when the whole id has at most 16 bytes: one prefix for all keys keeps
//! the views distinct and in the ids' order as above. An id with another prefix has no
//! view.

use std::hash::{Hash, Hasher};

use super::bytekey::be_word;

/// Digits an id may have to have a view.
const MAX_DIGITS: usize = 16;

/// The bytes before the digits that every id of a log begins with (none, or up to eight
/// bytes that are not digits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Prefix {
    /// The bytes as a big-endian integer.
    bytes: u64,
    len: u8,
}

impl Prefix {
    /// The prefix of byte-string key `key`: its bytes before the first digit, when there are
    /// at most eight of them and a digit follows; `None` otherwise.
    pub(super) fn of<K: Hash>(key: &K) -> Option<Prefix> {
        let (word, n) = bytes_of(key)?;
        let byte = |i: usize| (word >> (8 * (n - 1 - i))) as u8;
        let len = (0..n).find(|&i| byte(i).is_ascii_digit())?;
        let bytes = (0..len).fold(0u64, |b, i| b << 8 | u64::from(byte(i)));
        (len <= 8).then_some(Prefix { bytes, len: len as u8 })
    }
}

/// The view of a byte-string key (a type for which
/// [`is_byte_string`](super::bytekey::is_byte_string) holds) made of `prefix` and decimal
/// digits, or `None`.
#[inline(always)]
pub(super) fn digits<K: Hash>(key: &K, prefix: Prefix) -> Option<u64> {
    let (word, n) = bytes_of(key)?;
    let p = usize::from(prefix.len);
    let rest = n.checked_sub(p)?;
    if p > 0 {
        // `rest < n <= MAX_DIGITS`: the shifts stay below 128 bits.
        if (word >> (8 * rest)) as u64 != prefix.bytes {
            return None;
        }
        return view_of_word(word & ((1u128 << (8 * rest)) - 1), rest);
    }
    view_of_word(word, rest)
}

/// The bytes of a byte-string key as a big-endian integer, and their number, or `None`
/// when there are more than [`MAX_DIGITS`] or its `Hash` is not one write of bytes.
#[inline(always)]
fn bytes_of<K: Hash>(key: &K) -> Option<(u128, usize)> {
    let mut d = Digits { word: 0, len: 0, writes: 0 };
    key.hash(&mut d);
    (d.writes == 1 && d.len <= MAX_DIGITS).then_some((d.word, d.len))
}

/// What a byte string's `Hash` writes: its bytes once (up to [`MAX_DIGITS`] of them, as a
/// big-endian integer), after a length prefix (`[u8]`) or before a terminator (`str`),
/// which are left out. Only the bytes are taken here, in two loads, and read as digits
/// after: with the digits read inside `write`, the key's `Hash` grew too large to be
/// inlined, and its call took a fifth of the direct pass.
struct Digits {
    word: u128,
    len: usize,
    writes: u32,
}

impl Hasher for Digits {
    fn finish(&self) -> u64 {
        0
    }

    #[inline(always)]
    fn write(&mut self, bytes: &[u8]) {
        self.writes += 1;
        self.len = bytes.len();
        self.word = sixteen(bytes);
    }

    /// The terminator `str` writes after its bytes.
    #[inline]
    fn write_u8(&mut self, _: u8) {}

    /// The length prefix of a slice.
    #[inline]
    fn write_usize(&mut self, _: usize) {}
}

/// `10^8`: the value of eight digits' place.
const E8: u64 = 100_000_000;

/// Up to [`MAX_DIGITS`] bytes as a big-endian integer (0 for more): two loads.
#[inline(always)]
fn sixteen(bytes: &[u8]) -> u128 {
    let n = bytes.len();
    match (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
        (Some(head), Some(tail)) if n <= MAX_DIGITS => {
            // The last `n - 8` bytes from the last eight (which may overlap the first).
            let k = 8 * (n - 8) as u32;
            let low = u128::from(u64::from_be_bytes(*tail)) & ((1u128 << k) - 1);
            (u128::from(u64::from_be_bytes(*head)) << k) | low
        }
        (None, _) => be_word(bytes),
        _ => 0,
    }
}

/// The view of `bytes` (see the module docs), or `None` unless they are 1 to
/// [`MAX_DIGITS`] ASCII digits.
#[cfg(test)]
pub(super) fn view(bytes: &[u8]) -> Option<u64> {
    view_of_word(sixteen(bytes), bytes.len())
}

/// The view of the `n` bytes of big-endian `word`, or `None` unless they are 1 to
/// [`MAX_DIGITS`] ASCII digits.
#[inline(always)]
fn view_of_word(word: u128, n: usize) -> Option<u64> {
    let d = match n {
        1..=8 => eight(word as u64, n)?,
        9..=MAX_DIGITS => eight((word >> 64) as u64, n - 8)? * E8 + eight(word as u64, 8)?,
        _ => return None,
    };
    // 16 digits: at most 1,111,111,111,111,110 + 9,999,999,999,999,999 < 2^64.
    Some(BLOCK[n - 1] + d)
}

/// The number of digits of the id with view `v` (16 for any view beyond those of 16 digits).
fn length(v: u64) -> usize {
    BLOCK.partition_point(|&b| b <= v)
}

/// Whether the views `lo..=hi` are all views of ids of one length.
pub(super) fn one_length(lo: u64, hi: u64) -> bool {
    lo <= hi && length(lo) == length(hi)
}

/// The first and the last view of the ids as long as the id with view `v` (the views
/// beyond those of 16 digits, for a larger `v`).
pub(super) fn block(v: u64) -> (u64, u64) {
    let n = length(v);
    let first = BLOCK[n - 1];
    (first, BLOCK.get(n).map_or(u64::MAX, |next| next - 1))
}

/// The first view of the strings of `n + 1` digits: `10 + 100 + ... + 10^n`.
const BLOCK: [u64; MAX_DIGITS] = {
    let mut b = [0u64; MAX_DIGITS];
    let mut i = 1;
    let mut p = 10u64;
    while i < MAX_DIGITS {
        b[i] = b[i - 1] + p;
        p *= 10;
        i += 1;
    }
    b
};

/// Every byte of a word.
const BYTES: u64 = 0x0101_0101_0101_0101;

/// The decimal value of the 1 to 8 ASCII digits in the low `n` bytes of big-endian
/// `word`, or `None` when a byte is not one: left-padded with `'0'`, checked and combined a
/// lane at a time (pairs of digits, then fours, then the eight) instead of a multiply per
/// digit.
#[inline(always)]
fn eight(word: u64, n: usize) -> Option<u64> {
    debug_assert!((1..=8).contains(&n));
    let pad = if n < 8 { (b'0' as u64 * BYTES) << (8 * n) } else { 0 };
    let w = word | pad;
    // A digit's high nibble is 3, and adding 6 to its low nibble then carries into no
    // other byte.
    let (high, zeros) = (0xf0 * BYTES, b'0' as u64 * BYTES);
    if w & high != zeros || w.wrapping_add(6 * BYTES) & high != zeros {
        return None;
    }
    let d = w - b'0' as u64 * BYTES;
    // Byte `i` from the low end holds the digit of `10^i`.
    let lanes = |d: u64, bits: u32, mask: u64, scale: u64| (d >> bits & mask) * scale + (d & mask);
    let d = lanes(d, 8, 0x00ff_00ff_00ff_00ff, 10);
    let d = lanes(d, 16, 0x0000_ffff_0000_ffff, 100);
    Some(lanes(d, 32, 0xffff_ffff, 10_000))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The view by definition: the strings of fewer digits, then the value.
    fn naive(bytes: &[u8]) -> Option<u64> {
        if bytes.is_empty() || bytes.len() > 16 || !bytes.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let shorter: u128 = (1..bytes.len() as u32).map(|k| 10u128.pow(k)).sum();
        let value: u128 = bytes.iter().fold(0, |v, &b| v * 10 + u128::from(b - b'0'));
        u64::try_from(shorter + value).ok()
    }

    #[test]
    fn blocks_follow_each_other_by_length() {
        assert_eq!(view(b"0"), Some(0));
        assert_eq!(view(b"9"), Some(9));
        assert_eq!(view(b"00"), Some(10));
        assert_eq!(view(b"99"), Some(109));
        assert_eq!(view(b"000"), Some(110));
        assert_eq!(view(b"0000123"), Some(1_111_110 + 123));
        assert_eq!(view(b"12345678"), Some(11_111_110 + 12_345_678));
        assert_eq!(view(b"9999999999999999"), Some(11_111_111_111_111_109));
        assert_eq!(view(b"0000000000000000"), Some(1_111_111_111_111_110));
        for bad in [&b""[..], b"-1", b"1 ", b" 1", b"12a4", b"1.5", b"12345678/", b":"] {
            assert_eq!(view(bad), None, "{bad:?}");
        }
        assert_eq!(view(b"12345678901234567"), None);
        assert!(one_length(110, 1109) && one_length(0, 0) && one_length(109, 109));
        assert!(!one_length(109, 110) && !one_length(9, 10) && !one_length(5, 4));
        assert!(!one_length(0, u64::MAX) && one_length(11_111_111_111_111_109, u64::MAX));
        assert_eq!(block(0), (0, 9));
        assert_eq!(block(109), (10, 109));
        assert_eq!(block(view(b"0000123").unwrap()), (1_111_110, 11_111_109));
        assert_eq!(block(u64::MAX), (1_111_111_111_111_110, u64::MAX));
        assert_eq!(digits(&"12345678901234567", Prefix::of(&"1").unwrap()), None);
        // Through the keys' `Hash`: `str` writes a terminator, `[u8]` a length prefix.
        let none = Prefix::of(&"1").unwrap();
        assert_eq!(digits(&"042", none), Some(110 + 42));
        assert_eq!(digits(&String::from("042"), none), Some(110 + 42));
        assert_eq!(digits(&b"042".to_vec(), none), Some(110 + 42));
        assert_eq!(digits(&"4x2", none), None);
    }

    /// Every length, with each position in turn replaced by each byte that is not a digit
    /// (the bytes next to `'0'` and `'9'` among them): the lane checks miss none.
    #[test]
    fn every_non_digit_at_every_position_is_refused() {
        for n in 1..=17usize {
            let good: Vec<u8> = (0..n).map(|i| b'0' + (i * 7 % 10) as u8).collect();
            assert_eq!(view(&good), naive(&good), "{n}");
            for at in 0..n {
                for b in (0..=255u8).filter(|b| !b.is_ascii_digit()) {
                    let mut bad = good.clone();
                    bad[at] = b;
                    assert_eq!(view(&bad), None, "{n} {at} {b}");
                }
            }
        }
    }

    #[test]
    fn a_prefix_is_read_past() {
        let c = Prefix::of(&"C0004711").unwrap();
        assert_eq!(c, Prefix { bytes: u64::from(b'C'), len: 1 });
        assert_eq!(digits(&"C0004711", c), view(b"0004711"));
        assert_eq!(digits(&"C7", c), Some(7));
        for other in ["D0004711", "0004711", "C", "", "CC1", "C1x", "C1234567890123456", "c1"] {
            assert_eq!(digits(&other, c), None, "{other}");
        }
        // The longest: fifteen digits after one byte, eight bytes before eight digits.
        assert_eq!(digits(&"C999999999999999", c), view(b"999999999999999"));
        let long = Prefix::of(&"CUSTOMER00000042").unwrap();
        assert_eq!(usize::from(long.len), 8);
        assert_eq!(digits(&"CUSTOMER00000042".as_bytes().to_vec(), long), view(b"00000042"));
        assert_eq!(digits(&"CUSTOMEX00000042", long), None);
        // Nine bytes before the digits, or none at all, is no prefix.
        assert_eq!(Prefix::of(&"CUSTOMERS1"), None);
        assert_eq!(Prefix::of(&"C-X"), None);
        assert_eq!(Prefix::of(&""), None);
        assert_eq!(Prefix::of(&"0042").map(|p| p.len), Some(0));
        // More than 16 bytes in all have no view.
        assert_eq!(
            digits(&"ORD-000000000042", Prefix::of(&"ORD-1").unwrap()),
            view(b"000000000042")
        );
        assert_eq!(digits(&"ORD-0000000000042", Prefix::of(&"ORD-1").unwrap()), None);
    }

    proptest! {
        /// Ids with one prefix are told apart and ordered as their digits are; ids with
        /// another prefix have no view.
        #[test]
        fn prefixed_ids_are_their_digits(p in "[A-Z_-]{0,8}", q in "[A-Z_-]{0,8}", a in "[0-9]{1,8}") {
            let prefix = Prefix::of(&format!("{p}1")).unwrap();
            let id = format!("{q}{a}");
            let want = if p == q { view(a.as_bytes()) } else { None };
            prop_assert_eq!(digits(&id, prefix), want);
        }

        #[test]
        fn the_view_is_the_definition(bytes in prop::collection::vec(
            prop_oneof![10 => b'0'..=b'9', 1 => any::<u8>()], 0..22)) {
            prop_assert_eq!(view(&bytes), naive(&bytes));
        }

        #[test]
        fn ids_of_one_length_keep_their_order(a in "[0-9]{1,16}", b in "[0-9]{1,16}") {
            let (va, vb) = (view(a.as_bytes()).unwrap(), view(b.as_bytes()).unwrap());
            prop_assert_eq!(va == vb, a == b);
            if a.len() == b.len() {
                prop_assert_eq!(va.cmp(&vb), a.cmp(&b));
            } else {
                prop_assert_eq!(va < vb, a.len() < b.len());
            }
        }
    }
}
