//! Checking a purchase model on data it was not fitted on, as lifetimes' plots do: the
//! model is fitted on the purchases up to a calibration end and compared with what followed.
//!
//! - Holdout: customers grouped by their calibration repeat purchases (0 to 6, then "7+");
//!   per group the mean repeat purchases in the holdout window, actual and predicted
//!   (`conditional_expected_purchases` over the holdout length), as
//!   `plot_calibration_purchases_vs_holdout_purchases`.
//! - Tracking: cumulative repeat purchases (distinct purchase periods after each customer's
//!   first) per period, actual and expected; the expectation sums, over the customers first
//!   seen up to each period, the model's unconditional `E[X(t)]` at their age then, as
//!   `expected_cumulative_transactions`.
//! - Period transactions: customers by calibration repeat purchases, actual and
//!   expected (`Σ_i P(X(T_i) = k)` over the calibration customers), as
//!   `plot_period_transactions` (exact rather than simulated).

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use loyalty::clv::{self, PurchaseModel, Span, TransactionModel};
use loyalty::rfm::{calibration_and_holdout, SummaryOptions};
use serde_json::{json, Value};

use crate::analysis::{self, ModelArg, PeriodArg};
use crate::cli::InputArgs;
use crate::error::{Failure, Result};
use crate::input::Log;

/// Repeat-purchase groups: 0 to `GROUPS - 2`, and the last for the rest.
const GROUPS: u32 = 8;

/// One holdout group.
#[derive(Debug, Clone, PartialEq)]
pub struct HoldoutGroup {
    /// Calibration repeat purchases (the last group holds this many and more).
    pub frequency_cal: u32,
    /// Customers in the group.
    pub customers: u64,
    /// Mean repeat purchases in the holdout, actual.
    pub actual: f64,
    /// Mean predicted.
    pub predicted: f64,
}

/// One period of the tracking table.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    /// The period's first day.
    pub start: NaiveDate,
    /// Cumulative repeat purchases, actual.
    pub actual: f64,
    /// Cumulative repeat purchases, expected.
    pub expected: f64,
}

/// One repeat-purchase count of the period-transactions table.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodCount {
    /// Repeat purchases in calibration (the last holds this many and more).
    pub repeat: u32,
    /// Customers, actual.
    pub actual: u64,
    /// Customers, expected.
    pub expected: f64,
}

/// The model check.
#[derive(Debug, Clone)]
pub struct Validation {
    /// Calibration end.
    pub calibration_end: NaiveDate,
    /// Observation end.
    pub observation_end: NaiveDate,
    /// The holdout window's length in periods.
    pub holdout_periods: f64,
    /// Its name.
    pub model_name: &'static str,
    /// Holdout groups.
    pub holdout: Vec<HoldoutGroup>,
    /// Tracking, per period.
    pub tracking: Vec<Track>,
    /// Period transactions.
    pub period_counts: Vec<PeriodCount>,
    /// Mean absolute error of the per-customer holdout predictions.
    pub mae: f64,
    /// Total holdout repeat purchases, actual and predicted.
    pub totals: (f64, f64),
}

/// The period index of `at` (days from the common era, Monday weeks, calendar months), as
/// the library floors.
fn index(at: NaiveDateTime, period: PeriodArg) -> i64 {
    let days = i64::from(at.date().num_days_from_ce());
    match period {
        PeriodArg::Day => days,
        PeriodArg::Week => (days - 1).div_euclid(7),
        PeriodArg::Month => i64::from(at.year()) * 12 + i64::from(at.month0()),
    }
}

/// The first day of period `i`.
fn start(i: i64, period: PeriodArg) -> Option<NaiveDate> {
    let date = |d: i64| NaiveDate::from_num_days_from_ce_opt(i32::try_from(d).ok()?);
    match period {
        PeriodArg::Day => date(i),
        PeriodArg::Week => date(i * 7 + 1),
        PeriodArg::Month => NaiveDate::from_ymd_opt(
            i32::try_from(i.div_euclid(12)).ok()?,
            u32::try_from(i.rem_euclid(12)).ok()? + 1,
            1,
        ),
    }
}

/// Fits `model` on the log up to `calibration_end` and checks it on the rest up to `end`.
///
/// # Errors
///
/// A calibration end outside the data, an empty holdout, a model that cannot be fitted.
pub fn validate(
    log: &Log,
    calibration_end: NaiveDate,
    end: NaiveDateTime,
    period: PeriodArg,
    model: ModelArg,
) -> Result<Validation> {
    // The whole calibration end day is calibration.
    let cal_end = calibration_end.and_hms_opt(23, 59, 59).map_or(end, |t| t);
    if cal_end >= end {
        return Err(Failure::new(format!(
            "--calibration-end {calibration_end} leaves no holdout: the data end on {}",
            end.date()
        )));
    }
    let options = SummaryOptions::default().period(period.period());
    let split = calibration_and_holdout(&log.transactions, cal_end, end, options)?;
    let customers: Vec<clv::Customer> =
        split.rows.iter().map(|r| clv::Customer::from(r.calibration.clv_inputs())).collect();
    let (m, _) = analysis::fit_model(model, &customers)?;
    let h = Span::new(split.duration_holdout, period.period())?;

    let mut groups = vec![(0u64, 0.0f64, 0.0f64); GROUPS as usize];
    let mut counts = vec![0u64; GROUPS as usize];
    let (mut abs, mut total_actual, mut total_pred) = (0.0, 0.0, 0.0);
    for (r, c) in split.rows.iter().zip(&customers) {
        let g = r.calibration.frequency().min(GROUPS - 1) as usize;
        let predicted = m.conditional_expected_purchases(c, h)?;
        let actual = f64::from(r.frequency_holdout);
        groups[g].0 += 1;
        groups[g].1 += actual;
        groups[g].2 += predicted;
        counts[g] += 1;
        abs += (actual - predicted).abs();
        total_actual += actual;
        total_pred += predicted;
    }
    let holdout = groups
        .iter()
        .enumerate()
        .filter(|(_, g)| g.0 > 0)
        .map(|(k, &(n, a, p))| HoldoutGroup {
            frequency_cal: k as u32,
            customers: n,
            actual: a / n as f64,
            predicted: p / n as f64,
        })
        .collect();

    // Period transactions: Σ_i P(X(T_i) = k), the last group taking the rest, with customers
    // of equal T counted once.
    let mut ts: Vec<f64> = customers.iter().map(|c| c.t).collect();
    ts.sort_by(f64::total_cmp);
    let mut expected = vec![0.0; GROUPS as usize];
    let mut i = 0;
    while i < ts.len() {
        let mut j = i;
        while j < ts.len() && ts[j] == ts[i] {
            j += 1;
        }
        let n = (j - i) as f64;
        let mut below = 0.0;
        for (k, e) in expected.iter_mut().enumerate().take(GROUPS as usize - 1) {
            let p = m.probability_of_purchases(k as u32, Span::new(ts[i], period.period())?)?;
            below += p;
            *e += n * p;
        }
        expected[GROUPS as usize - 1] += n * (1.0 - below).max(0.0);
        i = j;
    }
    let period_counts = (0..GROUPS)
        .map(|k| PeriodCount {
            repeat: k,
            actual: counts[k as usize],
            expected: expected[k as usize],
        })
        .collect();

    let tracking = tracking(log, &m, end, period)?;
    Ok(Validation {
        calibration_end,
        observation_end: end.date(),
        holdout_periods: h.count(),
        model_name: model.name(),
        holdout,
        tracking,
        period_counts,
        mae: abs / customers.len().max(1) as f64,
        totals: (total_actual, total_pred),
    })
}

/// Cumulative repeat purchases per period, actual and expected, up to `end`.
fn tracking(
    log: &Log,
    m: &TransactionModel,
    end: NaiveDateTime,
    period: PeriodArg,
) -> Result<Vec<Track>> {
    let last = index(end, period);
    let mut pairs: Vec<(u64, i64)> = log
        .transactions
        .iter()
        .filter(|t| t.at <= end)
        .map(|t| (t.customer.0, index(t.at, period)))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    let Some(first) = pairs.iter().map(|p| p.1).min() else { return Ok(Vec::new()) };
    let len = usize::try_from(last - first + 1).unwrap_or(0);
    let mut repeats = vec![0u64; len];
    let mut births = vec![0u64; len];
    let mut prev = None;
    for &(c, p) in &pairs {
        let slot = (p - first) as usize;
        if prev == Some(c) {
            repeats[slot] += 1;
        } else {
            births[slot] += 1;
        }
        prev = Some(c);
    }
    // E[X(a)] by age a in periods, once per age.
    let ex = (0..len)
        .map(|a| m.expected_purchases(Span::new(a as f64, period.period())?))
        .collect::<loyalty::Result<Vec<f64>>>()?;
    let born: Vec<(usize, f64)> =
        births.iter().enumerate().filter(|(_, &n)| n > 0).map(|(s, &n)| (s, n as f64)).collect();
    let mut out = Vec::with_capacity(len);
    let mut actual = 0.0;
    for (t, &r) in repeats.iter().enumerate() {
        actual += r as f64;
        // Purchases by the end of period t: age t + 1 - s periods at its end.
        let expected: f64 = born
            .iter()
            .take_while(|(s, _)| *s <= t)
            .map(|&(s, n)| {
                n * ex.get(t - s + 1).copied().unwrap_or_else(|| {
                    Span::new((t - s + 1) as f64, period.period())
                        .and_then(|a| m.expected_purchases(a))
                        .unwrap_or(0.0)
                })
            })
            .sum();
        let Some(day) = start(first + t as i64, period) else { continue };
        out.push(Track { start: day, actual, expected });
    }
    Ok(out)
}

impl Validation {
    /// The check as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "model": self.model_name,
            "calibration_end": self.calibration_end.to_string(),
            "observation_end": self.observation_end.to_string(),
            "holdout_periods": self.holdout_periods,
            "holdout": {
                "mean_absolute_error": self.mae,
                "actual_total": self.totals.0,
                "predicted_total": self.totals.1,
                "by_calibration_frequency": self.holdout.iter().map(|g| json!({
                    "frequency_cal": g.frequency_cal,
                    "customers": g.customers,
                    "actual_mean": g.actual,
                    "predicted_mean": g.predicted,
                })).collect::<Vec<_>>(),
            },
            "tracking": self.tracking.iter().map(|t| json!({
                "period_start": t.start.to_string(),
                "actual_cumulative": t.actual,
                "expected_cumulative": t.expected,
            })).collect::<Vec<_>>(),
            "period_transactions": self.period_counts.iter().map(|p| json!({
                "repeat_purchases": p.repeat,
                "actual_customers": p.actual,
                "expected_customers": p.expected,
            })).collect::<Vec<_>>(),
        })
    }
}

/// `loyalty validate`.
pub fn command(calibration_end: NaiveDate, model: ModelArg, input: &InputArgs) -> Result<()> {
    let log = crate::commands::read(input)?;
    let end = analysis::observation_end(&log, input.as_of, &input.input)?;
    let v = validate(&log, calibration_end, end, input.period, model)?;
    crate::output::stdout_result({
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &v.to_json())
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out))
            .and_then(|()| out.flush())
    })
}
