//! Calibration/holdout split (lifetimes' `calibration_and_holdout_data`).

use std::hash::Hash;

use chrono::NaiveDateTime;
use rust_decimal::Decimal;

use super::span::Span;
use super::summary::{summarize, CustomerSummary, Cutoff, SummaryOptions, Transaction};
use crate::error::{Error, Result};

/// One customer of a [`CalibrationHoldout`]: the calibration summary and what the customer
/// did in the holdout window.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(bound(
        serialize = "K: Clone + serde::Serialize",
        deserialize = "K: serde::Deserialize<'de>"
    ))
)]
pub struct HoldoutRow<K> {
    /// The summary of the calibration window (lifetimes' `*_cal` columns).
    pub calibration: CustomerSummary<K>,
    /// Distinct purchase periods in the holdout window (`frequency_holdout`), 0 if none.
    pub frequency_holdout: u32,
    /// Plain mean of the raw holdout transaction amounts, not of per-period sums
    /// (`monetary_value_holdout`), 0 if none.
    pub monetary_value_holdout: Decimal,
}

/// The calibration/holdout split of a log: one row per calibration customer.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(bound(
        serialize = "K: Clone + serde::Serialize",
        deserialize = "K: serde::Deserialize<'de>"
    ))
)]
pub struct CalibrationHoldout<K> {
    /// Rows in customer key order.
    pub rows: Vec<HoldoutRow<K>>,
    /// The holdout's length in the summary's period: unit periods between the periods of the
    /// calibration end and the observation end, divided by the multiple (lifetimes'
    /// `duration_holdout`).
    pub duration_holdout: Span,
    /// Transactions in the holdout window (`calibration_end < at <= observation_end`).
    pub holdout_transactions: u64,
    /// Of those, the transactions of customers first seen in the holdout, who are dropped
    /// (lifetimes' left join on calibration customers).
    pub holdout_only_transactions: u64,
    /// Transactions after the observation end, left out.
    pub excluded_after_observation_end: u64,
}

/// Splits a log at `calibration_end` into a calibration summary and holdout counts, as
/// lifetimes' `calibration_and_holdout_data` does.
///
/// - Calibration: transactions at or before `calibration_end` (compared as instants),
///   summarised as by [`summarize`] with `as_of = calibration_end`.
/// - Holdout: transactions with `calibration_end < at <= observation_end`; per calibration
///   customer the number of distinct purchase periods and the plain mean of the raw amounts.
///   Customers first seen in the holdout are dropped and counted.
/// - `duration_holdout`: unit periods between the two ends' periods, divided by the multiple
///   (whole calendar months for monthly periods, as pandas counts them).
///
/// The [`Cutoff`] of `options` is ignored: both windows are cut at the instants.
///
/// # Errors
///
/// - [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when `observation_end` is not
///   after `calibration_end`.
/// - [`ErrorKind::EmptyInput`](crate::ErrorKind::EmptyInput) for an empty log or an empty
///   holdout window (lifetimes raises there too).
/// - The errors of [`summarize`].
///
/// # Example
///
/// ```
/// use chrono::NaiveDate;
/// use loyalty::rfm::{calibration_and_holdout, Span, SummaryOptions, Transaction};
/// use rust_decimal::Decimal;
///
/// let d = |m, day| NaiveDate::from_ymd_opt(2024, m, day).unwrap();
/// let log = [
///     Transaction::on(1, d(1, 2), Decimal::from(10)),
///     Transaction::on(1, d(2, 5), Decimal::from(20)),
///     Transaction::on(1, d(2, 6), Decimal::from(40)),
///     Transaction::on(2, d(2, 7), Decimal::from(5)), // first seen in the holdout: dropped
/// ];
/// let split = calibration_and_holdout(&log, d(1, 31), d(2, 29), SummaryOptions::default())?;
/// assert_eq!(split.rows.len(), 1);
/// assert_eq!(split.rows[0].frequency_holdout, 2);
/// assert_eq!(split.rows[0].monetary_value_holdout, Decimal::from(30));
/// assert_eq!(split.duration_holdout, Span::days(29.0)?);
/// assert_eq!(split.holdout_only_transactions, 1);
/// # Ok::<(), loyalty::Error>(())
/// ```
pub fn calibration_and_holdout<K>(
    transactions: &[Transaction<K>],
    calibration_end: impl Into<NaiveDateTime>,
    observation_end: impl Into<NaiveDateTime>,
    options: SummaryOptions,
) -> Result<CalibrationHoldout<K>>
where
    K: Ord + Hash + Clone,
{
    let calibration_end = calibration_end.into();
    let observation_end = observation_end.into();
    if observation_end <= calibration_end {
        return Err(Error::invalid(
            "observation_end",
            observation_end,
            format!("must be after the calibration end {calibration_end}"),
        ));
    }
    let calibration =
        summarize(transactions, calibration_end, options.cutoff(Cutoff::Instant))?.into_rows();
    let period = options.period;

    let mut pairs: Vec<(u32, i64)> = Vec::new();
    let mut sums = vec![Decimal::ZERO; calibration.len()];
    let mut counts = vec![0u32; calibration.len()];
    let (mut holdout, mut holdout_only, mut after) = (0u64, 0u64, 0u64);
    for tx in transactions {
        if tx.at <= calibration_end {
            continue;
        }
        if tx.at > observation_end {
            after += 1;
            continue;
        }
        holdout += 1;
        match calibration.binary_search_by(|r| r.customer().cmp(&tx.customer)) {
            Ok(i) => {
                sums[i] = sums[i]
                    .checked_add(tx.amount)
                    .ok_or_else(|| Error::overflow("holdout spend"))?;
                counts[i] += 1;
                // `i` < the number of calibration customers, itself < 2^32.
                pairs.push((i as u32, period.index(tx.at)));
            }
            Err(_) => holdout_only += 1,
        }
    }
    if holdout == 0 {
        return Err(Error::empty("holdout window (no transactions after the calibration end)"));
    }
    pairs.sort_unstable();
    pairs.dedup();
    let mut frequency = vec![0u32; calibration.len()];
    for (i, _) in &pairs {
        frequency[*i as usize] += 1;
    }
    let rows = calibration
        .into_iter()
        .enumerate()
        .map(|(i, calibration)| {
            let monetary_value_holdout = match counts[i] {
                0 => Decimal::ZERO,
                // Dividing by n >= 1 cannot overflow.
                n => sums[i] / Decimal::from(n),
            };
            HoldoutRow { calibration, frequency_holdout: frequency[i], monetary_value_holdout }
        })
        .collect();
    let units = period.index(observation_end) - period.index(calibration_end);
    Ok(CalibrationHoldout {
        rows,
        duration_holdout: Span::new(units as f64 / f64::from(period.multiple()), period)?,
        holdout_transactions: holdout,
        holdout_only_transactions: holdout_only,
        excluded_after_observation_end: after,
    })
}
