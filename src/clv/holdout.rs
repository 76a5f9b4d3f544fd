//! Calibration/holdout evaluation: how well a model fitted on the calibration window predicted
//! each customer's repeat purchases in the holdout window (Fader & Hardie's practice; lifetimes'
//! `plot_calibration_purchases_vs_holdout_purchases`), as data a host can plot.

use crate::error::{Error, Result};
use crate::rfm::CalibrationHoldout;

use super::{ClvModel, Customer, PurchaseModel};

/// One customer's holdout prediction.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HoldoutPrediction<K> {
    /// The customer key.
    pub customer: K,
    /// Repeat purchases in the calibration window.
    pub calibration_frequency: u32,
    /// Repeat purchase periods in the holdout window.
    pub actual: u32,
    /// The model's expected purchases over the holdout window, given the calibration summary.
    pub predicted: f64,
}

/// Mean actual and predicted holdout purchases of the customers with one calibration
/// frequency: a point of the "calibration purchases vs holdout purchases" plot.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FrequencyGroup {
    /// Repeat purchases in the calibration window.
    pub calibration_frequency: u32,
    /// Customers with that frequency.
    pub customers: u64,
    /// Their mean actual holdout purchases.
    pub actual: f64,
    /// Their mean predicted holdout purchases.
    pub predicted: f64,
}

/// Predicted vs actual holdout purchases: per customer, grouped by calibration frequency, and
/// error measures over customers.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HoldoutEvaluation<K> {
    /// One row per calibration customer, in customer key order.
    pub customers: Vec<HoldoutPrediction<K>>,
    /// Groups by calibration frequency, ascending (lifetimes plots the first seven).
    pub by_frequency: Vec<FrequencyGroup>,
    /// Mean absolute error per customer.
    pub mae: f64,
    /// Root mean squared error per customer.
    pub rmse: f64,
    /// Total actual holdout purchases.
    pub total_actual: u64,
    /// Total predicted holdout purchases.
    pub total_predicted: f64,
    /// Pearson correlation of actual and predicted per customer; `None` when either is
    /// constant.
    pub correlation: Option<f64>,
}

/// Evaluates `model`, fitted on the calibration window of `split`, on its holdout window.
///
/// Each customer's prediction is `E[Y(d) | x, t_x, T]` with `d` the holdout duration
/// ([`CalibrationHoldout::duration_holdout`]) and the calibration summary, as lifetimes'
/// `plot_calibration_purchases_vs_holdout_purchases` computes it.
///
/// # Errors
///
/// [`ErrorKind::EmptyInput`](crate::ErrorKind::EmptyInput) for a split without customers or
/// a holdout window 0 periods long (both ends in one period of the model);
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming `period` when the split
/// is not in the model's period; numerical errors of the model.
///
/// # Example
///
/// ```
/// use chrono::NaiveDate;
/// use loyalty::clv::{evaluate_holdout, BgNbd, ClvModel, GammaGamma};
/// use loyalty::rfm::{calibration_and_holdout, Period, SummaryOptions, Transaction};
/// use rust_decimal::Decimal;
///
/// let day = |m, d| NaiveDate::from_ymd_opt(2024, m, d).unwrap();
/// let log = [
///     Transaction::on(1, day(1, 5), Decimal::from(10)),
///     Transaction::on(1, day(3, 9), Decimal::from(12)),
///     Transaction::on(1, day(10, 2), Decimal::from(11)),
///     Transaction::on(2, day(2, 1), Decimal::from(30)),
///     Transaction::on(2, day(11, 20), Decimal::from(25)),
/// ];
/// let split = calibration_and_holdout(&log, day(6, 30), day(12, 31), SummaryOptions::default())?;
/// // A daily model (in practice fitted on the calibration summary).
/// let bg = BgNbd::new(0.27, 41.9, 0.48, 2.11, Period::DAY)?;
/// let model = ClvModel::new(bg, GammaGamma::new(5.1, 4.0, 21.3)?);
/// let eval = evaluate_holdout(&model, &split)?;
/// assert_eq!(eval.total_actual, 2);
/// assert_eq!(eval.by_frequency.len(), 2); // calibration frequencies 0 and 1
/// assert!(eval.total_predicted > 0.0 && eval.mae > 0.0);
/// # Ok::<(), loyalty::Error>(())
/// ```
pub fn evaluate_holdout<K: Clone>(
    model: &ClvModel,
    split: &CalibrationHoldout<K>,
) -> Result<HoldoutEvaluation<K>> {
    let Some(first) = split.rows.first() else {
        return Err(Error::empty("calibration customers"));
    };
    let period = first.calibration.period();
    if period != model.period() {
        return Err(Error::invalid(
            "period",
            period,
            format!(
                "the split is in periods of {period}, the model in periods of {}",
                model.period()
            ),
        ));
    }
    let d = split.duration_holdout;
    // The calibration and observation ends in one period of the model (a week ending on
    // Wednesday and the Sunday after, say) leave holdout purchases but no time to predict
    // them in: every prediction would be 0 and the errors would only measure that.
    if d.in_periods(period)? == 0.0 {
        return Err(Error::empty("holdout window (0 periods of the model long)"));
    }
    let mut customers = Vec::with_capacity(split.rows.len());
    for r in &split.rows {
        let c = Customer::from(r.calibration.clv_inputs());
        let predicted = model.purchases().conditional_expected_purchases(&c, d)?;
        customers.push(HoldoutPrediction {
            customer: r.calibration.customer().clone(),
            calibration_frequency: r.calibration.frequency(),
            actual: r.frequency_holdout,
            predicted,
        });
    }
    let by_frequency = by_calibration_frequency(&customers);
    let n = customers.len() as f64;
    let total_actual: u64 = customers.iter().map(|c| u64::from(c.actual)).sum();
    let total_predicted: f64 = customers.iter().map(|c| c.predicted).sum();
    let mae = customers.iter().map(|c| (c.predicted - f64::from(c.actual)).abs()).sum::<f64>() / n;
    let mse =
        customers.iter().map(|c| (c.predicted - f64::from(c.actual)).powi(2)).sum::<f64>() / n;
    let (ma, mp) = (total_actual as f64 / n, total_predicted / n);
    let (mut sap, mut saa, mut spp) = (0.0, 0.0, 0.0);
    for c in &customers {
        let (a, p) = (f64::from(c.actual) - ma, c.predicted - mp);
        sap += a * p;
        saa += a * a;
        spp += p * p;
    }
    let correlation = (saa > 0.0 && spp > 0.0).then(|| sap / (saa * spp).sqrt());
    Ok(HoldoutEvaluation {
        customers,
        by_frequency,
        mae,
        rmse: mse.sqrt(),
        total_actual,
        total_predicted,
        correlation,
    })
}

/// Mean actual and predicted holdout purchases per calibration frequency, in ascending
/// frequency (lifetimes' `plot_calibration_purchases_vs_holdout_purchases` table).
fn by_calibration_frequency<K>(customers: &[HoldoutPrediction<K>]) -> Vec<FrequencyGroup> {
    let mut order: Vec<(u32, u32, f64)> =
        customers.iter().map(|c| (c.calibration_frequency, c.actual, c.predicted)).collect();
    order.sort_by_key(|o| o.0);
    let mut by_frequency: Vec<FrequencyGroup> = Vec::new();
    for (x, actual, predicted) in order {
        match by_frequency.last_mut() {
            Some(g) if g.calibration_frequency == x => {
                g.customers += 1;
                g.actual += f64::from(actual);
                g.predicted += predicted;
            }
            _ => by_frequency.push(FrequencyGroup {
                calibration_frequency: x,
                customers: 1,
                actual: f64::from(actual),
                predicted,
            }),
        }
    }
    for g in &mut by_frequency {
        g.actual /= g.customers as f64;
        g.predicted /= g.customers as f64;
    }
    by_frequency
}
