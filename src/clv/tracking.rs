//! Tracking: expected vs actual repeat transactions per period across the calibration and
//! holdout windows (Fader, Hardie & Lee's tracking plots; Fader & Hardie note 008; lifetimes'
//! `expected_cumulative_transactions`), as data a host can plot.

use chrono::NaiveDateTime;

use crate::error::{Error, Result};
use crate::rfm::Transaction;

use super::{ClvModel, PurchaseModel, Span};

/// Repeat transactions in one period of a [`tracking`] series.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TrackingPoint {
    /// The first instant of the period.
    pub period_start: NaiveDateTime,
    /// Repeat transactions (distinct customer-periods after each customer's first) in the
    /// period.
    pub actual: u64,
    /// The model's expected repeat transactions in the period.
    pub expected: f64,
    /// Actual repeat transactions from the first period of the log to this one.
    pub actual_cumulative: u64,
    /// Expected repeat transactions from the first period of the log to the end of this one.
    pub expected_cumulative: f64,
}

/// Expected and actual repeat transactions per period of the model, from the period of the
/// log's first transaction to the period of `until`.
///
/// The customers who made their first purchase in period `c` (a cohort of `n_c`) are expected
/// to have made `n_c · E[X(k + 1 − c)]` repeat purchases by the end of period `k`, with
/// `E[X(t)]` the model's unconditional expectation for a new customer; the expected curve sums
/// the cohorts. The actual curve counts each customer's distinct purchase periods after the
/// first. This is lifetimes' `expected_cumulative_transactions(model, log, ..., t, freq)` with
/// `t` the number of periods returned; fit the model on the calibration window and track
/// through the holdout to see how the model predicts beyond it.
///
/// # Errors
///
/// - [`ErrorKind::EmptyInput`](crate::ErrorKind::EmptyInput) when no transaction is at or
///   before `until`.
/// - [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming `period` when the
///   model's period has a multiple other than 1 (lifetimes' `freq_multiplier` series is not
///   reproduced); numerical errors of the model.
///
/// # Example
///
/// ```
/// use chrono::NaiveDate;
/// use loyalty::clv::{tracking, BgNbd, ClvModel, GammaGamma, PurchaseModel, Span};
/// use loyalty::rfm::{Period, Transaction};
/// use rust_decimal::Decimal;
///
/// let day = |d| NaiveDate::from_ymd_opt(2024, 1, d).unwrap();
/// let log = [
///     Transaction::on("a", day(1), Decimal::ONE),
///     Transaction::on("a", day(3), Decimal::ONE),
///     Transaction::on("b", day(2), Decimal::ONE),
///     Transaction::on("a", day(3), Decimal::ONE), // same day: one repeat purchase
/// ];
/// let bg = BgNbd::new(0.27, 41.9, 0.48, 2.11, Period::DAY)?;
/// let model = ClvModel::new(bg, GammaGamma::new(5.1, 4.0, 21.3)?);
/// let points = tracking(&model, &log, day(4))?;
/// assert_eq!(points.len(), 4);
/// assert_eq!(points.iter().map(|p| p.actual).collect::<Vec<_>>(), [0, 0, 1, 0]);
/// assert_eq!(points[3].actual_cumulative, 1);
/// // One customer is expected to repeat E[X(1)] times by the end of the first day.
/// assert_eq!(points[0].expected, bg.expected_purchases(Span::days(1.0)?)?);
/// # Ok::<(), loyalty::Error>(())
/// ```
pub fn tracking<K: Ord>(
    model: &ClvModel,
    transactions: &[Transaction<K>],
    until: impl Into<NaiveDateTime>,
) -> Result<Vec<TrackingPoint>> {
    let period = model.period();
    if period.multiple() != 1 {
        return Err(Error::invalid("period", period, "tracking needs a period of one unit"));
    }
    let end = period.index(until.into());
    let mut pairs: Vec<(&K, i64)> = transactions
        .iter()
        .map(|t| (&t.customer, period.index(t.at)))
        .filter(|p| p.1 <= end)
        .collect();
    let Some(start) = pairs.iter().map(|p| p.1).min() else {
        return Err(Error::empty("transactions at or before the tracking end"));
    };
    // Periods from the first transaction's through `until`'s; the log's own span bounds it.
    let n = usize::try_from(end - start + 1)
        .map_err(|_| Error::invalid("until", end - start, "too many periods to track"))?;
    pairs.sort_unstable();
    pairs.dedup();
    let mut cohorts = vec![0u64; n];
    let mut actual = vec![0u64; n];
    let mut previous: Option<&K> = None;
    for (k, p) in pairs {
        let i = (p - start) as usize;
        if previous == Some(k) {
            actual[i] += 1;
        } else {
            cohorts[i] += 1;
            previous = Some(k);
        }
    }
    // E[X(τ)] for τ = 1..=n periods after a cohort's first period.
    let mut expected_new = Vec::with_capacity(n);
    for tau in 1..=n {
        expected_new.push(model.purchases().expected_purchases(Span::new(tau as f64, period)?)?);
    }
    let mut points = Vec::with_capacity(n);
    let (mut actual_cumulative, mut previous_expected) = (0u64, 0.0);
    for k in 0..n {
        let expected_cumulative: f64 =
            (0..=k).map(|c| cohorts[c] as f64 * expected_new[k - c]).sum();
        actual_cumulative += actual[k];
        let period_start = period
            .start(start + k as i64)
            .ok_or_else(|| Error::invalid("until", end, "outside the calendar"))?;
        points.push(TrackingPoint {
            period_start,
            actual: actual[k],
            expected: expected_cumulative - previous_expected,
            actual_cumulative,
            expected_cumulative,
        });
        previous_expected = expected_cumulative;
    }
    Ok(points)
}
