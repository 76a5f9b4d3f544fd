//! What the strategies' tests share: a log builder, the end of observation they summarise
//! to, the hash partitions as the reference, and equality down to the scale of each amount.

use std::hash::Hash;

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;

use super::hashed;
use super::keyhash::KeyHasher;
use super::options::{SummaryOptions, Transaction};
use super::pass::Pass;
use super::table::Summary;
use super::window::Span;
use crate::rfm::Period;

/// The log of `(customer, day from 2024-01-01, mantissa, scale)` tuples, keys made by `key`.
pub(super) fn build<C: Copy, K>(
    raw: &[(C, i64, i64, u32)],
    key: impl Fn(C) -> K,
) -> Vec<Transaction<K>> {
    let base = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    raw.iter()
        .map(|&(c, day, m, s)| {
            Transaction::on(key(c), base + chrono::Duration::days(day), Decimal::new(m, s))
        })
        .collect()
}

/// The default options with daily or weekly periods.
pub(super) fn daily_or_weekly(weekly: bool) -> SummaryOptions {
    SummaryOptions::default().period(if weekly { Period::WEEK } else { Period::DAY })
}

/// The end of observation of the strategies' tests.
pub(super) fn at() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2024, 4, 1).unwrap().into()
}

/// The hash partitions of what `keep` accepts (checked against a naive reference in their
/// own tests), as of [`at`].
pub(super) fn hashed_where<K: Ord + Hash + Clone>(
    log: &[Transaction<K>],
    o: &SummaryOptions,
    keep: &impl Fn(&K) -> bool,
) -> Summary<K> {
    hashed::summarize(&pass(log, o, at(), keep, &KeyHasher::default()), 3).unwrap().unwrap()
}

/// The input of a strategy.
pub(super) fn pass<'a, K, F, S>(
    log: &'a [Transaction<K>],
    o: &'a SummaryOptions,
    as_of: NaiveDateTime,
    keep: &'a F,
    hasher: &'a S,
) -> Pass<'a, K, F, S> {
    Pass { log, span: Span::new(o, as_of), keep, hasher }
}

/// Equal, amount scales included (`Decimal` equality ignores them, `Debug` does not).
pub(super) fn same<K: std::fmt::Debug>(a: &Summary<K>, b: &Summary<K>) -> bool {
    format!("{a:?}") == format!("{b:?}")
}
