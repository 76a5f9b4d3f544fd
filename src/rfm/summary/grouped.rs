//! The grouped stream: a log whose customers come in ascending key order, each one's
//! transactions together (a log sorted by customer, as CDNOW's).

use super::customer::CustomerSummary;
use super::pass::{Key, Pass};
use super::rows::row;
use super::runs::{run, Runs};
use super::table::Summary;
use crate::error::Result;

/// The pass for a log whose customers come in ascending key order, each one's transactions
/// together (a log sorted by customer, as CDNOW's): each run is a whole customer, whose row is
/// built as soon as the run ends, already in key order; no hashing, no sort, no intermediate
/// storage. `None` as soon as a customer comes out of order.
pub(super) fn summarize<K: Key, F: Fn(&K) -> bool, S>(
    pass: &Pass<'_, K, F, S>,
) -> Result<Option<Summary<K>>> {
    let (transactions, keep) = (pass.log, pass.keep);
    let (as_of, options) = (pass.span.as_of, *pass.span.options);
    let mut runs = Runs::new::<K>(as_of, &options);
    let mut rows: Vec<CustomerSummary<K>> = Vec::new();
    let mut orders = 0u64;
    let mut i = 0;
    // Whether moving the rows so far to a finer scale failed: a row that no longer fits is
    // an error only once the log is known to be grouped (a later run of the same customer,
    // a refund, may bring its sum back), so the other passes decide.
    let mut unmoved = false;
    while i < transactions.len() {
        // `f` is a power of ten, so its digits count the step to the finer scale.
        let mut widen = |f: i128| {
            let moved = rows.iter_mut().try_for_each(|r| r.move_to_scale(r.scale() + f.ilog10()));
            unmoved |= moved.is_err();
            moved
        };
        let (j, acc) = match run(transactions, i, keep, &mut runs, &mut widen) {
            Err(_) if unmoved => return Ok(None),
            ran => ran?,
        };
        let key = &transactions[i].customer;
        i = j;
        let Some(mut acc) = acc else { continue };
        if rows.last().is_some_and(|last| last.customer >= *key) {
            return Ok(None);
        }
        runs.settle(&mut acc);
        orders += u64::from(acc.orders);
        // The same: a run's sum beyond `Decimal` may be the first of several runs.
        let Ok(r) = row(key.clone(), &acc, runs.window.end_p, &options, &runs.scale) else {
            return Ok(None);
        };
        rows.push(r);
    }
    Ok(Some(Summary {
        rows,
        as_of,
        options,
        transactions: orders,
        excluded_after_as_of: runs.window.excluded,
        negative_amounts: runs.window.negatives,
    }))
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    use super::super::keyhash::KeyHasher;
    use super::super::options::SummaryOptions;
    use super::super::testkit::{at, build, hashed_where, pass, same};
    use super::*;

    /// A customer's sum beyond `Decimal` at the finer scale a later customer brings, taken
    /// back by the first customer's refund further on: the log is not grouped, and its
    /// summary is that of the same log grouped, as for any order.
    #[test]
    fn a_row_beyond_decimal_in_a_log_that_is_not_grouped_is_no_error() {
        let day = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        let x = Decimal::from_i128_with_scale(79_228_162_514_264_337_593_543_950_335, 1);
        let tx = |c: u32, amount| crate::rfm::Transaction::on(c, day, amount);
        let log = [tx(1, -x), tx(0, Decimal::new(0, 2)), tx(1, x)];
        let grouped = [tx(0, Decimal::new(0, 2)), tx(1, -x), tx(1, x)];
        let o = SummaryOptions::default();
        let (keep, hasher) = (|_: &u32| true, KeyHasher::default());
        let p = pass(&log, &o, day.into(), &keep, &hasher);
        assert!(summarize(&p).unwrap().is_none());
        let (a, b) = (crate::rfm::summarize(&log, day, o), crate::rfm::summarize(&grouped, day, o));
        assert!(same(&a.unwrap(), &b.unwrap()));
        // A grouped log whose row is beyond `Decimal` at the finest scale is still refused.
        let over = [tx(1, x), tx(2, Decimal::new(1, 2))];
        assert!(crate::rfm::summarize(&over, day, o).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        /// Keys of 0 to 14 bytes, so that some are held as words and some compared as
        /// keys, some sharing their first eight bytes, some the prefix of another or equal
        /// but for trailing zero bytes: the
        /// grouped pass over the log sorted by key equals the hash partitions (the hash map
        /// takes runs as this pass does).
        #[test]
        fn byte_keys_of_any_length_equal_the_partitions(
            raw in prop::collection::vec(
                ((any::<bool>(), prop::collection::vec(prop_oneof![Just(0u8), Just(b'a'), Just(b'z')], 0..7)),
                 0i64..120, -300i64..90_000, 0u32..3),
                1..200),
        ) {
            // Half the keys begin with the same eight bytes.
            let key = |(long, tail): &(bool, Vec<u8>)| {
                let head: &[u8] = if *long { b"abcdefgh" } else { b"" };
                [head, tail].concat()
            };
            let keys: Vec<Vec<u8>> = raw.iter().map(|r| key(&r.0)).collect();
            let mut raw: Vec<_> =
                raw.iter().zip(&keys).map(|((_, d, m, s), k)| (k, *d, *m, *s)).collect();
            raw.sort_by(|a, b| a.0.cmp(b.0));
            let o = SummaryOptions::default();
            let (keep, hasher) = (|_: &_| true, KeyHasher::default());
            let bytes = build(&raw, |k: &Vec<u8>| k.clone());
            let p = pass(&bytes, &o, at(), &keep, &hasher);
            let got = summarize(&p).unwrap().expect("sorted by key");
            prop_assert!(same(&got, &hashed_where(&bytes, &o, &keep)));
            let text = build(&raw, |k: &Vec<u8>| String::from_utf8(k.clone()).unwrap());
            let p = pass(&text, &o, at(), &|_: &String| true, &hasher);
            let got = summarize(&p).unwrap().expect("sorted by key");
            prop_assert!(same(&got, &hashed_where(&text, &o, &|_: &String| true)));
        }
    }
}
