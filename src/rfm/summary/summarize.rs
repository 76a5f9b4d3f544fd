//! The entry point: [`summarize`] picks a strategy from the order and the keys of the log.

use std::hash::{BuildHasher, Hash};

use chrono::NaiveDateTime;

use super::keyhash::KeyHasher;
use super::layout::Layout;
#[cfg(doc)]
use super::options::{Cutoff, NegativeAmounts};
use super::options::{SummaryOptions, Transaction};
use super::pass::{Key, Pass};
use super::table::Summary;
use super::window::Span;
use super::{direct, grouped, hashed, map, ranges};
use crate::error::{Error, Result};

/// Summarises a transaction log per customer as of `as_of`.
///
/// With the default options this is lifetimes' `summary_data_from_transaction_data`
/// (Fader, Hardie & Lee 2005 input conventions): timestamps are floored to their period,
/// purchases in one period merge (amounts summed), and per customer
/// `frequency = distinct periods − 1`, `recency = last − first`, `T = as_of − first` (periods,
/// divided by the multiple) and `monetary_value` = mean spend of the repeat periods (0
/// without one). Transactions after `as_of` are left out and counted
/// ([`Summary::excluded_after_as_of`]). The input need not be sorted; the output does not
/// depend on its order.
///
/// # Performance
///
/// One thread, and no allocation per customer unless cloning `K` allocates. Which pass runs
/// depends on the order of the log:
///
/// - **Grouped by customer, keys ascending** (a log sorted by customer, as CDNOW's): one
///   streaming pass accumulates each customer in registers and builds its row as soon as its
///   transactions end, so the rows come out in key order with no hashing, no sort and no
///   intermediate storage. A customer whose transactions are not in time order within the
///   group has its distinct periods counted on the spot.
/// - **Dense integer ids in time order** (an append-only log of a shop with auto-increment
///   ids: a key whose `Hash` writes one integer, as the primitive integers and their newtypes
///   do, a sampled range of at most one id per four transactions, and few transactions
///   arriving after a later one of the same customer): one pass updates each customer's
///   running totals in a table addressed by the id (48 bytes a slot for a 64-bit key),
///   prefetching the slots of the transactions 32 positions ahead, so the table's cache
///   misses overlap instead of being waited for one by one. The rows are built by one scan
///   of the table, in id order (sorted afterwards for a key whose `Ord` disagrees).
///   Customers whose periods arrived out of order are counted again by a second read of the
///   log for them alone; keys outside the sampled range are aggregated by hashing. Every
///   transaction's key is compared with its slot's, so a `Hash` that writes one integer for
///   two different keys takes the hash partitions instead. Amounts whose scales lie more
///   than 18 digits apart, or sums beyond an `i64`, take the range partitions. Scratch
///   memory: the table, plus 16 bytes per transaction of a key outside the sampled range and
///   4 bytes per transaction of a customer counted again.
/// - **Text ids of decimal digits** (`"0004711"`, or `"4711"`: order and account numbers
///   as text, up to 16 digits), optionally after a prefix all ids share (`"C0004711"`,
///   `"ORD-4711"`: up to eight bytes that are not digits, 16 bytes in all), are read as
///   numbers: in time order they take the table above, and in any other order the range
///   partitions with one-word records below, as integer ids do. Each id is cloned once,
///   when it is first seen, for its row. Ids of one length keep their order as numbers; ids
///   of several lengths (`"9"`, `"10"`) have their rows sorted at the end. An id with any
///   other byte or another prefix, or a sampled range too wide, sends the log to the
///   partitions of short byte strings below.
/// - **Any other order** (shuffled, newest first, or keys that are not dense integers): a
///   partitioned aggregation. One pass appends a compact record per transaction to one of
///   up to 1,024 partitions; each partition is then aggregated while it fits in cache, and
///   the rows are built in key order. A plain hash map over all customers would pay a cache
///   miss per transaction instead (0.66 s on the time-ordered log below). How keys are
///   partitioned:
///   - **Dense integer ids** (as above, up to about two ids per transaction): partitions by
///     key range, and within one a table addressed by the id itself, so there is no hashing,
///     no probing and no sort, and each partition's rows are built from its table while it
///     is in cache. For a primitive integer type (`u64`, `i32`, `char`, ...) with at most
///     one id per four transactions a record is one 8-byte word (the customer's slot in its
///     partition, the periods back from `as_of`, the amount as an `i32` mantissa and its
///     scale; the keys are kept once per id) and each customer's distinct periods are counted
///     in a bitset of its slot while the partition is in cache; other keys, and what a word
///     cannot hold, take 16-byte records (the key, and one word packing a 39-bit amount, its
///     scale and the periods back). Keys outside the sampled range take two side
///     partitions. Scratch memory: the records, a table of 2,048 or more slots, and for
///     8-byte records the keys (one per id of the range, per thread).
///   - **Short byte strings** (`String`, `&str`, `Vec<u8>`, `Box<str>`, `Arc<str>`, ... of
///     up to 11 bytes): their bytes are held in the records themselves (24 bytes a record,
///     with the position of one of their transactions to clone the key from for the row),
///     and they are partitioned by their first eight bytes against splitters sampled from
///     the log, so the partitions hold ascending key ranges: each partition's customers are
///     indexed by hash (foldhash, keyed by a [`KeyHasher`]: see [`summarize_with_hasher`]),
///     sorted and made rows while in cache, and the partitions' rows follow each other in
///     key order. Keys that share their first eight bytes in large groups take the hash
///     partitions below.
///   - **Other keys** (longer strings, sparse ids): partitions by hash bits (the keyed
///     hasher), a small linear-probing index per partition, the partition's keys sorted in
///     cache, and the sorted `(key, index)` runs merged. Scratch memory: the records, plus
///     72 bytes per customer. Sparse 64-bit ids in time order take 0.12 to 0.2 s on the log
///     below. Keys of other types that own heap memory, and byte strings longer than 11
///     bytes, are referred to in the log, which sends each hash and comparison to memory far
///     from the last (1.25 s for the log below with 8-character `String` ids referred to
///     that way). Mapping such ids to integers first, or to an inline key type, avoids that.
///
///   Customers whose transactions arrive out of time order have their distinct periods
///   counted again within their partition, with a bitset over their span (most customers of
///   a shuffled log). Amounts beyond 39 bits (token amounts with 18 decimals, say) take
///   24-byte records, and mantissas beyond an `i64` fall back to a hash map.
///
/// Measured with `benches/rfm.rs` (5,000,000 transactions, 400,000 customers with ids
/// `0..400_000`; criterion medians on the 2-core machine, each layout in a process of its
/// own):
///
/// | layout | seconds | `summarize_par`, 2 threads |
/// |---|---|---|
/// | grouped by customer | 0.055 | 0.051 |
/// | grouped, no time order within a customer | 0.078 | |
/// | time order | 0.061 | 0.069 (one thread: the direct pass) |
/// | shuffled | 0.184 | |
///
/// The passes are bound by memory. In time order about 40 ms go to the table's updates while
/// the 200 MB log streams by (80 to 100 ms without the prefetch), and the rest to writing
/// the table and the 32 MB of rows (80 bytes per customer for a 64-bit key) into fresh
/// pages: a fresh process takes about 0.08 s, as its first call pays for every page, where
/// the bench's repeated calls reuse pages the allocator kept. A shuffled log writes 40 MB of
/// records as well (80 MB with 16-byte records), and most of its customers have their
/// periods counted in their slots' bitsets.
///
/// # Errors
///
/// - [`ErrorKind::EmptyInput`](crate::ErrorKind::EmptyInput) for an empty log.
/// - [`ErrorKind::InvalidRecord`](crate::ErrorKind::InvalidRecord) for the first negative amount under
///   [`NegativeAmounts::Reject`].
/// - [`ErrorKind::Overflow`](crate::ErrorKind::Overflow) if a customer's spend overflows `Decimal` or its order count
///   `u32`, or a duration exceeds `u32` periods.
/// - [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for timestamps beyond year ±245,000 with hourly periods.
///
/// An `as_of` before all data is not an error: the summary is empty and every transaction is
/// counted in [`Summary::excluded_after_as_of`].
///
/// # Example
///
/// The first pinned case of lifetimes' tests:
///
/// ```
/// use chrono::NaiveDate;
/// use loyalty::rfm::{summarize, SummaryOptions, Transaction};
/// use rust_decimal::Decimal;
///
/// let d = |m, day| NaiveDate::from_ymd_opt(2015, m, day).unwrap();
/// let one = Decimal::ONE;
/// let log = [
///     Transaction::on(1, d(2, 1), one),
///     Transaction::on(1, d(2, 6), one),
///     Transaction::on(2, d(1, 1), one),
///     Transaction::on(3, d(1, 1), one),
///     Transaction::on(3, d(1, 2), one),
///     Transaction::on(3, d(1, 5), one),
/// ];
/// let s = summarize(&log, d(2, 7), SummaryOptions::default())?;
/// let rows: Vec<_> =
///     s.rows().iter().map(|r| (*r.customer(), r.frequency(), r.recency(), r.t())).collect();
/// assert_eq!(rows, [(1, 1, 5.0, 6.0), (2, 0, 0.0, 37.0), (3, 2, 4.0, 37.0)]);
/// # Ok::<(), loyalty::Error>(())
/// ```
pub fn summarize<K>(
    transactions: &[Transaction<K>],
    as_of: impl Into<NaiveDateTime>,
    options: SummaryOptions,
) -> Result<Summary<K>>
where
    K: Ord + Hash + Clone,
{
    summarize_where(transactions, (as_of.into(), options), |_| true, &KeyHasher::default())
}

/// [`summarize`] with the hasher of customer keys given: a [`KeyHasher`] with a secret seed
/// drawn by the host, or any other [`BuildHasher`], for ids an attacker may choose (customer
/// e-mail addresses, say), which could otherwise be made to collide in the hash tables of
/// the partitioned passes and take them to quadratic time. The summary is the same whatever
/// the hasher; the default of [`summarize`] is a [`KeyHasher`] with a fixed, public seed.
///
/// # Errors
///
/// As [`summarize`].
///
/// # Example
///
/// ```
/// use chrono::NaiveDate;
/// use loyalty::rfm::{summarize, summarize_with_hasher, KeyHasher, SummaryOptions, Transaction};
/// use rust_decimal::Decimal;
///
/// let day = |d| NaiveDate::from_ymd_opt(2024, 1, d).unwrap();
/// let log: Vec<_> = [("eve@example.com", 3), ("ann@example.com", 1), ("eve@example.com", 9)]
///     .map(|(c, d)| Transaction::on(c, day(d), Decimal::TEN))
///     .to_vec();
/// // In a host: a seed from the operating system, drawn once per process or per call.
/// let seed = 0x5eed_1234_abcd_0042;
/// let o = SummaryOptions::default();
/// let s = summarize_with_hasher(&log, day(31), o, &KeyHasher::with_seed(seed))?;
/// assert_eq!(s, summarize(&log, day(31), o)?);
/// # Ok::<(), loyalty::Error>(())
/// ```
pub fn summarize_with_hasher<K: Ord + Hash + Clone, S: BuildHasher + Clone>(
    transactions: &[Transaction<K>],
    as_of: impl Into<NaiveDateTime>,
    options: SummaryOptions,
    hasher: &S,
) -> Result<Summary<K>> {
    summarize_where(transactions, (as_of.into(), options), |_| true, hasher)
}

/// [`summarize`] restricted to the customers `keep` accepts (the shards of the parallel
/// version), with keys hashed by `hasher`.
pub(super) fn summarize_where<K: Key, F: Fn(&K) -> bool, S: BuildHasher + Clone>(
    transactions: &[Transaction<K>],
    (as_of, options): (NaiveDateTime, SummaryOptions),
    keep: F,
    hasher: &S,
) -> Result<Summary<K>> {
    if transactions.is_empty() {
        return Err(Error::empty("transaction log"));
    }
    let pass = Pass { log: transactions, span: Span::new(&options, as_of), keep: &keep, hasher };
    if let Some(summary) = grouped::summarize(&pass)? {
        return Ok(summary);
    }
    // Not grouped by customer: by a table or range partitions for dense integer ids, by hash
    // partitions otherwise, by one hash map for amounts no record holds.
    if let Some(layout) = Layout::sample(transactions, &keep) {
        match direct::summarize(&pass, &layout)? {
            direct::Direct::Done(summary) => return Ok(summary),
            direct::Direct::Lossy => {}
            direct::Direct::Declined => {
                if let Some(summary) = ranges::summarize(&pass, &layout)? {
                    return Ok(summary);
                }
            }
        }
    }
    let bits = hashed::partition_bits(transactions.len());
    if let Some(summary) = hashed::summarize(&pass, bits)? {
        return Ok(summary);
    }
    map::summarize(&pass)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use rust_decimal::Decimal;

    use super::*;

    #[test]
    fn out_of_order_customers_are_recounted() {
        let day = |d| NaiveDate::from_ymd_opt(2024, 1, d).unwrap();
        // Customer 1 arrives as days 5, 1, 5, 3: three distinct days.
        let log = [
            Transaction::on(1u8, day(5), Decimal::ONE),
            Transaction::on(1, day(1), Decimal::ONE),
            Transaction::on(1, day(5), Decimal::ONE),
            Transaction::on(2, day(2), Decimal::ONE),
            Transaction::on(1, day(3), Decimal::ONE),
        ];
        let s = summarize(&log, day(10), SummaryOptions::default()).unwrap();
        let r = s.get(&1).unwrap();
        assert_eq!((r.purchase_periods(), r.frequency(), r.recency(), r.t()), (3, 2, 4.0, 9.0));
        assert_eq!(r.first_purchase_amount(), Decimal::ONE);
        assert_eq!(r.monetary_value(), Decimal::new(15, 1)); // days 3 and 5: 1 and 2
    }
}
