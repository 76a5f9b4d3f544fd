//! Checking a purchase model on data it was not fitted on, as lifetimes' plots do: the
//! model is fitted on the purchases up to a calibration end and compared with what followed.
//! Every number comes from the library's checks, which are tested against lifetimes 0.11.3:
//!
//! - holdout ([`loyalty::clv::evaluate_holdout`]): per customer the repeat purchases in the
//!   holdout window, actual and predicted, and their means by calibration repeat purchases
//!   (`plot_calibration_purchases_vs_holdout_purchases`);
//! - tracking ([`loyalty::clv::tracking`]): repeat purchases per period from the log's first
//!   to the observation end, actual and expected (`expected_cumulative_transactions`);
//! - period transactions ([`loyalty::clv::period_transactions`]): calibration customers by
//!   repeat purchases, 0 to 5 and 6 or more, actual and expected (`plot_period_transactions`,
//!   exact rather than simulated).

use chrono::{NaiveDate, NaiveDateTime};
use loyalty::clv::{
    evaluate_holdout, period_transactions, tracking, ClvModel, GammaGamma, HoldoutEvaluation,
    RepeatCount, TrackingPoint,
};
use loyalty::rfm::{calibration_and_holdout, Cutoff, SummaryOptions};
use serde_json::{json, Map, Value};

use crate::analysis::{self, ModelArg, PeriodArg};
use crate::cli::InputArgs;
use crate::error::{Failure, Result};
use crate::ids::Id;
use crate::input::Log;

/// The last bin of the period-transactions table: 0 to `LAST - 1` repeat purchases, then
/// `LAST` or more.
pub const LAST: u32 = 6;

/// The model check.
#[derive(Debug, Clone)]
pub struct Validation {
    /// Calibration end.
    pub calibration_end: NaiveDate,
    /// Observation end.
    pub observation_end: NaiveDate,
    /// The model's name.
    pub model_name: &'static str,
    /// Its parameters fitted on the calibration window.
    pub params: Vec<(&'static str, f64)>,
    /// The holdout window's length in periods.
    pub holdout_periods: f64,
    /// The library's holdout evaluation.
    pub holdout: HoldoutEvaluation<Id>,
    /// The library's tracking series, one point per period.
    pub tracking: Vec<TrackingPoint>,
    /// The library's period-transactions table.
    pub period_counts: Vec<RepeatCount>,
}

/// Fits `model` on the log up to `calibration_end` (the whole day) and checks it on the rest
/// up to `end` (the `--as-of` day when `as_of`, else the last purchase).
///
/// # Errors
///
/// A calibration end that leaves no calibration or no holdout, a model that cannot be fitted, the library's
/// errors.
pub fn validate(
    log: &Log,
    calibration_end: NaiveDate,
    end: NaiveDateTime,
    as_of: bool,
    period: PeriodArg,
    model: ModelArg,
) -> Result<Validation> {
    // The whole calibration end day is calibration.
    let cal_end = calibration_end.and_hms_opt(23, 59, 59).map_or(end, |t| t);
    if cal_end >= end {
        // The observation end is the --as-of day when one is given, not the data's end.
        let why = if as_of {
            format!("--as-of is {}", end.date())
        } else {
            format!("the data end on {}", end.date())
        };
        return Err(Failure::new(format!(
            "--calibration-end {calibration_end} leaves no holdout: {why}"
        )));
    }
    if let Some(first) = log.first().filter(|f| cal_end < *f) {
        return Err(Failure::new(format!(
            "--calibration-end {calibration_end} leaves no calibration: the data start on {}",
            first.date()
        )));
    }
    // The purchases up to the calibration end only, as `split` and lifetimes take them: the
    // default cutoff would also take the rest of a weekly or monthly period. First, so that
    // a spend overflow there names its customer.
    let calibration = analysis::summary_to(log, cal_end, period)?;
    let options = SummaryOptions::default().period(period.period());
    let split = calibration_and_holdout(&log.transactions, cal_end, end, options).map_err(|e| {
        match e.kind() {
            // A holdout spend: the customer whose spend up to the observation end overflows.
            loyalty::ErrorKind::Overflow { .. } => {
                analysis::overflowing(log, end, options.cutoff(Cutoff::Instant), &e)
            }
            _ => e.into(),
        }
    })?;
    let (purchases, _) = analysis::fit_model_interior(model, &analysis::customers(&calibration))?;
    // The checks read the purchase model only; `ClvModel` carries a spend model as well,
    // which they never consult, so any valid one does (fitting Gamma-Gamma here could only
    // make the check fail for a reason that is not the check's).
    let spend = GammaGamma::new(6.0, 4.0, 15.0)?;
    let m = ClvModel::new(purchases, spend);
    let holdout = evaluate_holdout(&m, &split)?;
    // Tracking stops at the observation end: a later transaction in the same period as
    // `end` (an `--as-of` inside the log) is not counted.
    let tracked = if log.transactions.iter().any(|t| t.at > end) {
        let kept: Vec<_> = log.transactions.iter().filter(|t| t.at <= end).cloned().collect();
        tracking(&m, &kept, end)?
    } else {
        tracking(&m, &log.transactions, end)?
    };
    let period_counts = period_transactions(&m, &calibration, LAST)?;
    Ok(Validation {
        calibration_end,
        observation_end: end.date(),
        model_name: model.name(),
        params: crate::commands::params(&purchases),
        holdout_periods: split.duration_holdout.count(),
        holdout,
        tracking: tracked,
        period_counts,
    })
}

impl Validation {
    /// The check as JSON.
    pub fn to_json(&self) -> Value {
        let h = &self.holdout;
        let params: Map<String, Value> =
            self.params.iter().map(|(k, v)| ((*k).to_string(), json!(v))).collect();
        json!({
            "model": self.model_name,
            "params": params,
            "calibration_end": self.calibration_end.to_string(),
            "observation_end": self.observation_end.to_string(),
            "holdout_periods": self.holdout_periods,
            "holdout": {
                "customers": h.customers.len(),
                "mean_absolute_error": h.mae,
                "root_mean_squared_error": h.rmse,
                "correlation": h.correlation,
                "actual_total": h.total_actual,
                "predicted_total": h.total_predicted,
                "by_calibration_frequency": h.by_frequency.iter().map(|g| json!({
                    "frequency_cal": g.calibration_frequency,
                    "customers": g.customers,
                    "actual_mean": g.actual,
                    "predicted_mean": g.predicted,
                })).collect::<Vec<_>>(),
            },
            "tracking": self.tracking.iter().map(|t| json!({
                "period_start": t.period_start.date().to_string(),
                "actual": t.actual,
                "expected": t.expected,
                "actual_cumulative": t.actual_cumulative,
                "expected_cumulative": t.expected_cumulative,
            })).collect::<Vec<_>>(),
            "period_transactions": self.period_counts.iter().map(|p| json!({
                "repeat_purchases": p.repeat_purchases,
                "or_more": p.or_more,
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
    let v = validate(&log, calibration_end, end, input.as_of.is_some(), input.period, model)?;
    // One write of the whole text: a reader that leaves early sees a broken pipe at most once.
    let mut text = serde_json::to_string_pretty(&v.to_json())
        .map_err(|e| Failure::new(format!("writing JSON: {e}")))?;
    text.push('\n');
    crate::output::print(&text)
}
