//! Rows from accumulators: the one place a customer's running totals become its
//! [`CustomerSummary`], and rows become a [`Summary`].

use chrono::NaiveDateTime;

use super::acc::Acc;
use super::customer::{amounts_fit, beyond_decimal, CustomerSummary, Spend};
use super::mantissa::Scale;
use super::options::{FirstPurchase, FrequencyCount, MonetaryMeasure, SummaryOptions};
#[cfg(feature = "rayon")]
use super::table::join;
use super::table::Summary;
#[cfg(feature = "rayon")]
use super::window::Span;
use crate::error::{Error, Result};

/// The rows of the `len` accumulators `keyed` yields in key order (sums at `scale`) and the
/// summary.
#[allow(clippy::too_many_arguments)]
pub(super) fn finish<K: Ord>(
    keyed: impl IntoIterator<Item = (K, Acc)>,
    len: usize,
    scale: u32,
    as_of: NaiveDateTime,
    end_p: i64,
    options: SummaryOptions,
    excluded: u64,
    negatives: u64,
) -> Result<Summary<K>> {
    let mut rows = Rows::new(len, scale, end_p, options);
    for (customer, acc) in keyed {
        rows.push(customer, &acc)?;
    }
    Ok(rows.into_summary(as_of, excluded, negatives))
}

/// The summary of the rows of each thread's share of the partitions (ascending key ranges,
/// at one scale), the counts of the whole log (`excluded`, `negatives`) going with the first
/// share; the first share's error, if any.
#[cfg(feature = "rayon")]
pub(super) fn join_shares<K: Ord + Send>(
    shares: Vec<Result<Rows<K>>>,
    span: &Span<'_>,
    (excluded, negatives): (u64, u64),
) -> Result<Summary<K>> {
    let mut out = Vec::with_capacity(shares.len());
    for (t, share) in shares.into_iter().enumerate() {
        let counts = if t == 0 { (excluded, negatives) } else { (0, 0) };
        out.push(share?.into_summary(span.as_of, counts.0, counts.1));
    }
    join(out, span.as_of, *span.options)
}

/// The rows of a summary as a pass builds them, one customer at a time, meant to arrive in
/// ascending key order (they are sorted at the end if they did not).
pub(super) struct Rows<K> {
    rows: Vec<CustomerSummary<K>>,
    scale: Scale,
    end_p: i64,
    options: SummaryOptions,
    orders: u64,
    ascending: bool,
}

impl<K: Ord> Rows<K> {
    pub(super) fn new(capacity: usize, scale: u32, end_p: i64, options: SummaryOptions) -> Self {
        let rows = Vec::with_capacity(capacity);
        Rows { rows, scale: Scale { scale }, end_p, options, orders: 0, ascending: true }
    }

    /// The number of rows.
    #[cfg(feature = "rayon")]
    pub(super) fn len(&self) -> usize {
        self.rows.len()
    }

    /// Room for `more` rows (a pass that learns its number of customers as it goes).
    pub(super) fn reserve(&mut self, more: usize) {
        self.rows.reserve(more);
    }

    /// Adds the row of `customer` from its accumulator.
    #[inline]
    pub(super) fn push(&mut self, customer: K, acc: &Acc) -> Result<()> {
        if let Some(last) = self.rows.last() {
            self.ascending &= last.customer < customer;
        }
        self.append(customer, acc)
    }

    /// [`Rows::push`] for a caller whose keys arrive strictly ascending by construction (the
    /// prefix partitions, ordered by the keys' bytes), without comparing each key with the
    /// last: for `String` keys the comparisons were a call of `memcmp` per row.
    /// A caller that broke the order would get unsorted rows in a release build (the check
    /// runs in debug builds, and the prefix partitions' tests check the order).
    #[inline]
    pub(super) fn push_ascending(&mut self, customer: K, acc: &Acc) -> Result<()> {
        debug_assert!(self.rows.last().is_none_or(|last| last.customer < customer));
        self.append(customer, acc)
    }

    /// The row of `customer` appended, whatever its order.
    #[inline(always)]
    fn append(&mut self, customer: K, acc: &Acc) -> Result<()> {
        self.orders += u64::from(acc.orders);
        let row = row(customer, acc, self.end_p, &self.options, &self.scale)?;
        self.rows.push(row);
        Ok(())
    }

    pub(super) fn into_summary(
        self,
        as_of: NaiveDateTime,
        excluded: u64,
        negatives: u64,
    ) -> Summary<K> {
        let mut rows = self.rows;
        if !self.ascending {
            // One row per customer: no two keys are equal.
            rows.sort_unstable_by(|a, b| a.customer.cmp(&b.customer));
        }
        Summary {
            rows,
            as_of,
            options: self.options,
            transactions: self.orders,
            excluded_after_as_of: excluded,
            negative_amounts: negatives,
        }
    }
}

/// The row of `customer` from its accumulator. Inlined into its callers: returned through
/// memory, the row's last bytes (written one at a time) were read back as one word, which
/// stalls on store forwarding.
#[inline(always)]
pub(super) fn row<K>(
    customer: K,
    acc: &Acc,
    end_p: i64,
    options: &SummaryOptions,
    scale: &Scale,
) -> Result<CustomerSummary<K>> {
    let period = options.period;
    let (first_p, last_p) = (i64::from(acc.first_p), i64::from(acc.last_p));
    let span = |from: i64, to: i64| -> Result<u32> {
        u32::try_from(to - from).map_err(|_| Error::overflow("duration in periods"))
    };
    let recency_periods = span(first_p, last_p)?;
    let t_periods = span(first_p, end_p)?;
    let periods = acc.runs;
    let (count, spend) = match (options.frequency, options.first_purchase) {
        (FrequencyCount::Periods, FirstPurchase::Excluded) => (periods - 1, Spend::Repeat),
        (FrequencyCount::Periods, FirstPurchase::Included) => (periods, Spend::Total),
        (FrequencyCount::Orders, FirstPurchase::Excluded) => {
            (acc.orders - acc.first_orders, Spend::Repeat)
        }
        (FrequencyCount::Orders, FirstPurchase::Included) => (acc.orders, Spend::Total),
    };
    let divisor = match (options.monetary, count) {
        (MonetaryMeasure::Total, _) => 1,
        (MonetaryMeasure::Mean, n) => n,
    };
    if !amounts_fit(acc.total.get(), acc.first_sum.get(), spend) {
        return Err(beyond_decimal());
    }
    // The period starts must be dates, so the accessors cannot fail. Only the first and last
    // period of chrono's calendar can start outside it (a week starting before its first day).
    let edge =
        |p: i64| p <= period.index(NaiveDateTime::MIN) || p >= period.index(NaiveDateTime::MAX);
    if (edge(first_p) || edge(last_p))
        && (period.start(first_p).is_none() || period.start(last_p).is_none())
    {
        return Err(Error::overflow("period start outside the calendar"));
    }
    Ok(CustomerSummary {
        customer,
        total: acc.total,
        first: acc.first_sum,
        first_period: acc.first_p,
        recency_periods,
        t_periods,
        frequency: count,
        divisor,
        purchase_periods: periods,
        orders: acc.orders,
        period,
        // At most 28, the largest scale of a `Decimal` seen.
        scale: scale.scale as u8,
        spend,
        months: options.month_length,
    })
}
