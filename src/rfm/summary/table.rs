//! The summary of a whole log: rows in key order, the counts of what was left out, and the
//! merge of summaries of disjoint groups of customers.

use std::fmt;

use chrono::NaiveDateTime;

use super::customer::{align_scales, CustomerSummary};
use super::options::SummaryOptions;
#[cfg(doc)]
use super::options::{Cutoff, Transaction};
#[cfg(feature = "serde")]
use crate::error::ErrorKind;
use crate::error::{Error, Result};

/// The summary of a transaction log: one row per customer, sorted by customer key, and an
/// account of what was left out.
///
/// Made by [`summarize`](crate::rfm::summarize); summaries of disjoint groups of customers combine with
/// [`Summary::merge`] into exactly the summary of the whole log.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize),
    serde(try_from = "SummaryRepr<Vec<CustomerSummary<K>>>"),
    serde(bound(deserialize = "K: Ord + serde::Deserialize<'de>"))
)]
pub struct Summary<K> {
    pub(super) rows: Vec<CustomerSummary<K>>,
    pub(super) as_of: NaiveDateTime,
    pub(super) options: SummaryOptions,
    pub(super) transactions: u64,
    pub(super) excluded_after_as_of: u64,
    pub(super) negative_amounts: u64,
}

/// The stored form: `R` is the rows, borrowed when writing (a summary is not copied to be
/// written) and owned when reading.
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct SummaryRepr<R> {
    #[serde(default = "crate::version::v1")]
    version: u32,
    rows: R,
    as_of: NaiveDateTime,
    options: SummaryOptions,
    transactions: u64,
    excluded_after_as_of: u64,
    negative_amounts: u64,
}

#[cfg(feature = "serde")]
impl<K: Ord> TryFrom<SummaryRepr<Vec<CustomerSummary<K>>>> for Summary<K> {
    type Error = Error;
    fn try_from(r: SummaryRepr<Vec<CustomerSummary<K>>>) -> Result<Self> {
        crate::version::check("rfm summary", r.version, 1)?;
        if r.rows.windows(2).any(|w| w[0].customer >= w[1].customer) {
            return Err(ErrorKind::InvalidState {
                reason: "summary rows must be sorted by customer with no duplicates".into(),
            }
            .into());
        }
        let orders: u64 = r.rows.iter().map(|row| u64::from(row.orders)).sum();
        if orders != r.transactions {
            return Err(ErrorKind::InvalidState {
                reason: "summary transaction count does not match its rows".into(),
            }
            .into());
        }
        Ok(Summary {
            rows: r.rows,
            as_of: r.as_of,
            options: r.options,
            transactions: r.transactions,
            excluded_after_as_of: r.excluded_after_as_of,
            negative_amounts: r.negative_amounts,
        })
    }
}

#[cfg(feature = "serde")]
impl<K: Clone + serde::Serialize> serde::Serialize for Summary<K> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        let repr = SummaryRepr {
            version: 1,
            rows: &self.rows[..],
            as_of: self.as_of,
            options: self.options,
            transactions: self.transactions,
            excluded_after_as_of: self.excluded_after_as_of,
            negative_amounts: self.negative_amounts,
        };
        serde::Serialize::serialize(&repr, serializer)
    }
}

impl<K> Summary<K> {
    /// The rows, sorted by customer key.
    #[must_use]
    pub fn rows(&self) -> &[CustomerSummary<K>] {
        &self.rows
    }

    /// Consumes the summary, returning its rows.
    #[must_use]
    pub fn into_rows(self) -> Vec<CustomerSummary<K>> {
        self.rows
    }

    /// Number of customers.
    #[must_use]
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no customer bought in the window (for example `as_of` before all data).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The end of observation the summary was made for.
    #[must_use]
    pub fn as_of(&self) -> NaiveDateTime {
        self.as_of
    }

    /// The options the summary was made with.
    #[must_use]
    pub fn options(&self) -> SummaryOptions {
        self.options
    }

    /// Transactions inside the window (summarised).
    #[must_use]
    pub fn transactions(&self) -> u64 {
        self.transactions
    }

    /// Transactions after `as_of` (see [`Cutoff`]), left out of every row.
    #[must_use]
    pub fn excluded_after_as_of(&self) -> u64 {
        self.excluded_after_as_of
    }

    /// Transactions inside the window with a negative amount (refunds), subtracted.
    #[must_use]
    pub fn negative_amounts(&self) -> u64 {
        self.negative_amounts
    }

    /// The summary of no transactions as of `as_of`: where a pipeline that summarises a log
    /// split by customer starts folding the parts with [`Summary::merge`] (a part may be
    /// empty, and [`summarize`](crate::rfm::summarize) refuses an empty log).
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use loyalty::rfm::{summarize, Summary, SummaryOptions, Transaction};
    /// use rust_decimal::Decimal;
    ///
    /// let day = |d| NaiveDate::from_ymd_opt(2024, 1, d).unwrap();
    /// let log: Vec<Transaction<u32>> = [(7, 2), (2, 3), (7, 9)]
    ///     .map(|(c, d)| Transaction::on(c, day(d), Decimal::TEN))
    ///     .to_vec();
    /// let (o, as_of) = (SummaryOptions::default(), day(31));
    /// // Customers split three ways by id: the first part is empty.
    /// let mut whole = Summary::empty(as_of, o);
    /// for r in 0..3 {
    ///     let part: Vec<_> = log.iter().filter(|t| t.customer % 3 == r).cloned().collect();
    ///     if !part.is_empty() {
    ///         whole = whole.merge(summarize(&part, as_of, o)?)?;
    ///     }
    /// }
    /// assert_eq!(whole, summarize(&log, as_of, o)?);
    /// # Ok::<(), loyalty::Error>(())
    /// ```
    #[must_use]
    pub fn empty(as_of: impl Into<NaiveDateTime>, options: SummaryOptions) -> Summary<K> {
        Summary {
            rows: Vec::new(),
            as_of: as_of.into(),
            options,
            transactions: 0,
            excluded_after_as_of: 0,
            negative_amounts: 0,
        }
    }

    /// The row of one customer.
    #[must_use]
    pub fn get(&self, customer: &K) -> Option<&CustomerSummary<K>>
    where
        K: Ord,
    {
        self.rows.binary_search_by(|r| r.customer.cmp(customer)).ok().map(|i| &self.rows[i])
    }

    /// Combines the summaries of two disjoint groups of customers (for example two partitions
    /// of a log split by customer) into the summary of both: rows merged in key order, counts
    /// added, amounts moved to the finer scale of the two. The result equals the summary of the
    /// concatenated logs, down to the scale of each amount.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when the two were made with different `as_of` or options,
    /// or when a customer appears in both (the inputs were not a partition of customers);
    /// [`ErrorKind::Overflow`](crate::ErrorKind::Overflow) when an amount does not fit
    /// `Decimal` at the finer scale.
    pub fn merge(self, other: Summary<K>) -> Result<Summary<K>>
    where
        K: Ord + fmt::Debug,
    {
        if self.as_of != other.as_of {
            return Err(Error::invalid(
                "as_of",
                other.as_of,
                format!("summaries to merge must share as_of {}", self.as_of),
            ));
        }
        if self.options != other.options {
            return Err(Error::invalid(
                "options",
                format!("{:?}", other.options),
                "summaries to merge must share their options",
            ));
        }
        let mut rows = Vec::with_capacity(self.rows.len() + other.rows.len());
        let mut a = self.rows.into_iter().peekable();
        let mut b = other.rows.into_iter().peekable();
        loop {
            let take_a = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) => match x.customer.cmp(&y.customer) {
                    std::cmp::Ordering::Less => true,
                    std::cmp::Ordering::Greater => false,
                    std::cmp::Ordering::Equal => {
                        return Err(Error::invalid(
                            "customer",
                            format!("{:?}", x.customer),
                            "appears in both summaries; partitions must be disjoint by customer",
                        ));
                    }
                },
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            let next = if take_a { a.next() } else { b.next() };
            rows.extend(next);
        }
        align_scales(&mut rows)?;
        Ok(Summary {
            rows,
            as_of: self.as_of,
            options: self.options,
            transactions: self.transactions + other.transactions,
            excluded_after_as_of: self.excluded_after_as_of + other.excluded_after_as_of,
            negative_amounts: self.negative_amounts + other.negative_amounts,
        })
    }
}

/// The summary of pieces holding ascending, disjoint ranges of customers.
#[cfg(feature = "rayon")]
pub(super) fn concatenate<K: Send>(
    pieces: Vec<Summary<K>>,
    as_of: NaiveDateTime,
    options: SummaryOptions,
) -> Result<Summary<K>> {
    let mut whole = join(pieces, as_of, options)?;
    align_scales(&mut whole.rows)?;
    Ok(whole)
}

/// [`concatenate`] for pieces whose amounts are at one scale already (the shares of one
/// partitioned pass): no pass over the rows to align them, which read every row's cache
/// line once more.
#[cfg(feature = "rayon")]
pub(super) fn join<K: Send>(
    pieces: Vec<Summary<K>>,
    as_of: NaiveDateTime,
    options: SummaryOptions,
) -> Result<Summary<K>> {
    use rayon::prelude::*;

    let total = pieces.iter().map(|p| p.rows.len()).sum::<usize>();
    let mut pieces = pieces.into_iter();
    let mut whole = match pieces.next() {
        Some(first) => first,
        None => return Err(Error::empty("transaction log")),
    };
    // One move of the first piece's rows at most, not one per piece.
    whole.rows.reserve(total - whole.rows.len());
    for p in pieces {
        // Moved on every thread into the room reserved: the rows are tens of megabytes of
        // fresh pages, each faulted in by whichever thread writes it first.
        whole.rows.par_extend(p.rows);
        whole.transactions += p.transactions;
        whole.excluded_after_as_of += p.excluded_after_as_of;
        whole.negative_amounts += p.negative_amounts;
    }
    whole.as_of = as_of;
    whole.options = options;
    Ok(whole)
}
