//! Predictive customer lifetime value: the "buy till you die" models BG/NBD, MBG/NBD and
//! Pareto/NBD for the purchase process and Gamma-Gamma for spend, fitted by maximum likelihood
//! and scored in batch.
//!
//! # Overview
//!
//! A customer who has not bought for a while may be gone for good or merely between
//! purchases. The models here read each customer's purchase history as three numbers (the
//! lifetimes "summary"): `frequency` `x`, the number of **repeat** purchases; `recency`
//! `t_x`, the time from the first to the last purchase; and `T`, the time from the first
//! purchase to the end of the observation window, all in one time unit, the [`Period`] of the
//! summary (a day by default, as lifetimes' `freq="D"`). From these they estimate how likely
//! each customer is to be still active, how many purchases each will make over a
//! [`Horizon`] and, with the average spend of the repeat purchases ([`GammaGamma`]), what each
//! is worth ([`ClvOptions`]).
//!
//! | Type | Model |
//! |---|---|
//! | [`BgNbd`] | BG/NBD, Fader, Hardie & Lee (2005) "Counting your customers the easy way" |
//! | [`MbgNbd`] | MBG/NBD, Batislam, Denizel & Filiztekin (2007) |
//! | [`ParetoNbd`] | Pareto/NBD, Schmittlein, Morrison & Colombo (1987); Fader & Hardie note 009 |
//! | [`GammaGamma`] | spend, Fader, Hardie & Lee (2005, JMR); Fader & Hardie (2013) note 025 |
//!
//! # From a log to values
//!
//! [`predict`] does the whole job in one call: [`summarize`](crate::rfm::summarize) the log as
//! of a date, fit the chosen purchase model ([`ModelKind`], BG/NBD by default) and
//! Gamma-Gamma, and score every customer (P(alive), expected purchases over the horizon,
//! expected spend, CLV), returning the fitted [`ClvModel`] with both [`FitReport`]s. Its
//! defaults are lifetimes' defaults, and its output equals lifetimes'.
//!
//! The parts stay public. Fits take a [`Histogram`] (identical `(x, t_x, T)` rows counted
//! once; mergeable across partitions) and [`FitOptions`] and return a [`Fit`]: the parameters
//! and a [`FitReport`] with the total log-likelihood, the iteration count, the optimiser and
//! standard errors. A fit that does not converge is an error, never a silently returned start
//! point. The fitted model keeps the [`Period`] of its histogram, so a horizon "in months"
//! means the same whatever the period, and [`ClvModel::score_summary`] refuses a summary in
//! another period. [`PurchaseModel`] is the one shape of the three purchase models: their
//! parameters, checks, fit report and predictions are written once over each model's own
//! formulas.
//!
//! # One-time buyers under BG/NBD
//!
//! BG/NBD lets a customer drop out only right after a repeat purchase, so a customer with no
//! repeat purchase has P(alive) = 1 however long ago the only purchase was (lifetimes gives the
//! same). On CDNOW this is nearly every customer a segment map calls "Lost". Their expected
//! purchases do fall with `T`, so CLV still ranks them sensibly, but do not read their
//! P(alive) as a churn signal: choose [`ModelKind::MbgNbd`] or [`ModelKind::ParetoNbd`], which
//! let customers drop out at any time, where that matters.
//!
//! # Units
//!
//! Every time in this module carries its unit. A [`Customer`]'s recency and `T` are counts of
//! its [`Period`]; a fitted model keeps the period of the histogram it was fitted on
//! ([`PurchaseModel::period`]) and refuses customers in another; predictions take a [`Span`]
//! (or a [`Horizon`]), converted to the model's period exactly between hours, days and weeks
//! and with lifetimes' periods per month where a month is involved. No function takes a bare
//! count whose unit the caller must remember, so a daily model cannot be asked about "52"
//! meaning weeks.
//!
//! # Example
//!
//! ```
//! use loyalty::clv::{BgNbd, ClvModel, ClvOptions, Customer, GammaGamma, PurchaseModel, Span};
//! use loyalty::rfm::Period;
//!
//! // Parameters published for the CDNOW data set, fitted in weeks.
//! let bg = BgNbd::new(0.2426, 4.4136, 0.7930, 2.4262, Period::WEEK)?;
//! let regular = Customer::new(26.0, 30.86, 31.0, Period::WEEK)?.with_monetary_value(32.0);
//! let lapsed = Customer::new(26.0, 5.0, 31.0, Period::WEEK)?.with_monetary_value(32.0);
//! assert!(bg.probability_alive(&regular)? > 0.9);
//! assert!(bg.probability_alive(&lapsed)? < 0.01);
//! // The next 28 days are 4 weeks to this model.
//! let four_weeks = bg.conditional_expected_purchases(&regular, Span::weeks(4.0)?)?;
//! assert_eq!(bg.conditional_expected_purchases(&regular, Span::days(28.0)?)?, four_weeks);
//!
//! // 12 months of value, 1 % monthly discount; the model is weekly (4.345 weeks a month).
//! let spend = GammaGamma::new(6.2488, 3.7446, 15.448)?;
//! let model = ClvModel::new(bg, spend);
//! let scores = model.score(&[regular, lapsed], &ClvOptions::default())?;
//! assert!(scores[0].clv > 100.0 * scores[1].clv);
//! // A customer counted in days is refused by the weekly model.
//! let in_days = Customer::new(26.0, 216.0, 217.0, Period::DAY)?;
//! assert!(model.score(&[in_days], &ClvOptions::default()).is_err());
//! # Ok::<(), loyalty::Error>(())
//! ```
//!
//! # Numerics
//!
//! Likelihoods are evaluated in log space (log-sum-exp, differences of `ln Γ`), predictions
//! use Euler-transformed Gauss hypergeometric functions ([`hyp2f1`]) whose series have small
//! parameters whatever the frequency, `P(alive)` is a logistic of a log-ratio (exactly 0 or 1
//! at the extremes), and removable singularities (`a = 1` in BG/NBD and MBG/NBD, `s = 1` in
//! Pareto/NBD) are handled. Nothing returns NaN or infinity: a computation that cannot be
//! carried out returns [`ErrorKind::Numerical`](crate::ErrorKind::Numerical) or
//! [`ErrorKind::NoConvergence`](crate::ErrorKind::NoConvergence).
//!
//! [`Period`]: crate::rfm::Period
//!
//! # References
//!
//! - Fader, Hardie & Lee (2005), "Counting your customers the easy way: an alternative to the
//!   Pareto/NBD model", *Marketing Science* 24(2).
//! - Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for customer base
//!   analysis", *JMR* 42(4).
//! - Schmittlein, Morrison & Colombo (1987), "Counting your customers: who are they and what
//!   will they do next?", *Management Science* 33(1).
//! - Batislam, Denizel & Filiztekin (2007), "Empirical validation and comparison of models for
//!   customer base analysis", *IJRM* 24(3); Wagner & Hoppe (2008) erratum.
//! - Fader & Hardie, technical notes 004, 008, 009, 021, 025, 027
//!   (<https://www.brucehardie.com/notes/>).
//! - lifetimes 0.11.3 (Python), whose API, parameter names and CLV convention are mirrored.

mod batch;
mod bg_family;
mod bgnbd;
mod checks;
mod fit;
mod gamma_gamma;
mod generate;
mod histogram;
mod holdout;
mod horizon;
mod mbgnbd;
mod model;
mod optim;
mod params;
mod pareto_nbd;
mod predict;
mod purchase;
mod special;
mod tracking;
mod value;

pub use crate::rfm::{periods_per_month, Span};
pub use batch::{Score, TransactionModel};
pub use bgnbd::BgNbd;
pub use checks::{
    frequency_recency_matrix, period_transactions, FrequencyRecencyMatrix, RepeatCount,
};
pub use fit::{Fit, FitOptions, FitReport, FitStatus, Method};
pub use gamma_gamma::GammaGamma;
pub use generate::generate;
pub use histogram::{Histogram, Pattern};
pub use holdout::{evaluate_holdout, FrequencyGroup, HoldoutEvaluation, HoldoutPrediction};
pub use horizon::Horizon;
pub use mbgnbd::MbgNbd;
pub use model::ClvModel;
pub use pareto_nbd::ParetoNbd;
pub use predict::{predict, predict_summary, ModelKind, PredictOptions, Prediction, PredictionRow};
pub use purchase::{PurchaseModel, Version1};
pub use special::hyp2f1;
pub use tracking::{tracking, TrackingPoint};
pub use value::ClvOptions;

use crate::error::{Error, Result};
use crate::rfm::Period;

/// One customer's purchase summary (lifetimes' `frequency, recency, T, monetary_value`).
///
/// A passive record: fields are public and checked where used. Recency and `T` are counts of
/// [`period`](Customer::period)s; a model refuses a customer in another period than its own
/// ([`PurchaseModel::period`]), so the two cannot be paired by mistake.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Customer {
    /// Number of repeat purchase periods `x` (a non-negative integer, stored as `f64` as in
    /// lifetimes' summaries).
    pub frequency: f64,
    /// Time from the first to the last purchase `t_x` (0 when `frequency` is 0).
    pub recency: f64,
    /// Time from the first purchase to the end of the observation window `T`.
    pub t: f64,
    /// Mean spend per repeat purchase period (0 when `frequency` is 0); used by
    /// [`GammaGamma`] and CLV only.
    pub monetary_value: f64,
    /// The period recency and `T` are counted in (that of the summary they come from).
    pub period: Period,
}

impl From<crate::rfm::ClvInputs> for Customer {
    /// The model inputs of an RFM summary row ([`CustomerSummary::clv_inputs`]), in the
    /// summary's period. Validation happens where the customer is used.
    ///
    /// [`CustomerSummary::clv_inputs`]: crate::rfm::CustomerSummary::clv_inputs
    fn from(c: crate::rfm::ClvInputs) -> Customer {
        Customer {
            frequency: c.frequency,
            recency: c.recency,
            t: c.t,
            monetary_value: c.monetary_value,
            period: c.period,
        }
    }
}

/// A problem found in a record: field, value, reason.
#[derive(Debug)]
pub(crate) struct Problem {
    field: &'static str,
    value: f64,
    reason: &'static str,
}

impl Problem {
    #[cold]
    pub(crate) fn at(self, index: usize) -> Error {
        Error::invalid_record(index, self.field, self.value, self.reason)
    }

    #[cold]
    pub(crate) fn single(self) -> Error {
        Error::invalid(self.field, self.value, self.reason)
    }
}

impl Customer {
    /// A customer without monetary value, with recency and `T` counted in `period`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) as [`Customer::validate`].
    pub fn new(frequency: f64, recency: f64, t: f64, period: Period) -> Result<Customer> {
        let c = Customer { frequency, recency, t, monetary_value: 0.0, period };
        c.check_transactions().map_err(Problem::single)?;
        Ok(c)
    }

    /// The same customer with a mean repeat spend.
    #[must_use]
    pub fn with_monetary_value(self, monetary_value: f64) -> Customer {
        Customer { monetary_value, ..self }
    }

    /// Checks the purchase summary: `frequency`, `recency` and `T` finite and non-negative,
    /// `frequency` an integer (at most `u32::MAX`) and `recency <= T`. The monetary value is
    /// checked only where it is used.
    ///
    /// Fitting ([`Histogram::from_customers`], [`GammaGamma::fit`]) also requires
    /// `recency = 0` when `frequency = 0`, as lifetimes does before a fit: such a row cannot
    /// come from a correct summary. Predictions accept it, as lifetimes' do (BG/NBD
    /// `P(alive | x = 0)` is 1 whatever the recency).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming the field.
    pub fn validate(&self) -> Result<()> {
        self.check_transactions().map_err(Problem::single)
    }

    pub(crate) fn check_transactions(&self) -> std::result::Result<(), Problem> {
        let p = |field, value, reason| Err(Problem { field, value, reason });
        for (field, v) in [("frequency", self.frequency), ("recency", self.recency), ("T", self.t)]
        {
            if !v.is_finite() {
                return p(field, v, "must be finite");
            }
            if v < 0.0 {
                return p(field, v, "must not be negative");
            }
        }
        if self.frequency.fract() != 0.0 || self.frequency > f64::from(u32::MAX) {
            return p("frequency", self.frequency, "must be a whole number of repeat purchases");
        }
        if self.recency > self.t {
            return p("recency", self.recency, "must not exceed T");
        }
        Ok(())
    }

    /// [`Customer::check_transactions`] plus the consistency a fit needs: `recency = 0` when
    /// `frequency = 0`.
    pub(crate) fn check_for_fit(&self) -> std::result::Result<(), Problem> {
        self.check_transactions()?;
        if self.frequency == 0.0 && self.recency != 0.0 {
            return Err(Problem {
                field: "recency",
                value: self.recency,
                reason: "must be 0 when frequency is 0",
            });
        }
        Ok(())
    }

    /// Checks the monetary value for scoring: finite and not negative. A repeat buyer whose
    /// repeat purchases sum to 0 is scored (Gamma-Gamma's expected spend is defined for
    /// `m_x = 0`, and lifetimes scores such a customer) but cannot be fitted on.
    pub(crate) fn check_monetary(&self) -> std::result::Result<(), Problem> {
        let m = self.monetary_value;
        if !m.is_finite() || m < 0.0 {
            return Err(Problem {
                field: "monetary_value",
                value: m,
                reason: "must be finite and not negative",
            });
        }
        Ok(())
    }

    /// [`Customer::check_monetary`] plus what the spend model's likelihood needs: a positive
    /// mean spend for a repeat buyer.
    pub(crate) fn check_monetary_for_fit(&self) -> std::result::Result<(), Problem> {
        self.check_monetary()?;
        let m = self.monetary_value;
        if self.frequency > 0.0 && m <= 0.0 {
            return Err(Problem {
                field: "monetary_value",
                value: m,
                reason: "must be positive for a repeat buyer",
            });
        }
        Ok(())
    }
}

/// Checks a model parameter.
pub(crate) fn check_param(name: &'static str, v: f64) -> Result<()> {
    if !(v.is_finite() && v > 0.0) {
        return Err(Error::invalid(name, v, "must be finite and positive"));
    }
    Ok(())
}

/// A probability: finite and within rounding (`1e-12`) of `[0, 1]`, which is then removed;
/// anything further out is a [`ErrorKind::Numerical`](crate::ErrorKind::Numerical) error, not a
/// clamp.
pub(crate) fn probability(what: &'static str, v: f64) -> Result<f64> {
    let v = finite(what, v)?;
    if (-1e-12..=1.0 + 1e-12).contains(&v) {
        Ok(v.clamp(0.0, 1.0))
    } else {
        Err(special::numerical(what, format!("{v} is not a probability")))
    }
}

/// A finite result or a numerical error.
pub(crate) fn finite(what: &'static str, v: f64) -> Result<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(special::numerical(what, format!("result is {v}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use crate::clv::{PurchaseModel, Span};
    #[allow(unused_imports)]
    use crate::rfm::Period;
    use crate::ErrorKind;

    #[test]
    fn customer_validation_names_the_field() {
        let cases = [
            (-1.0, 0.0, 1.0, "frequency"),
            (f64::NAN, 0.0, 1.0, "frequency"),
            (1.5, 0.5, 1.0, "frequency"),
            (1.0, -0.5, 1.0, "recency"),
            (1.0, 2.0, 1.0, "recency"),
            (1.0, 0.5, f64::INFINITY, "T"),
        ];
        for (x, tx, t, field) in cases {
            let e = Customer::new(x, tx, t, Period::WEEK).unwrap_err();
            match e.kind() {
                ErrorKind::InvalidInput { field: f, .. } => assert_eq!(*f, field, "{e}"),
                other => panic!("{other:?}"),
            }
        }
        assert!(Customer::new(0.0, 0.0, 0.0, Period::WEEK).is_ok());
        // A one-time buyer with a recency is accepted for predictions, refused for fits.
        let odd = Customer::new(0.0, 0.5, 1.0, Period::WEEK).unwrap();
        let e =
            Histogram::from_customers(&[Customer::new(1.0, 0.5, 1.0, Period::WEEK).unwrap(), odd])
                .unwrap_err();
        match e.kind() {
            ErrorKind::InvalidRecord { index: 1, field: "recency", .. } => {}
            other => panic!("{other:?}"),
        }
        let e = GammaGamma::fit(&[odd], &FitOptions::default()).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::InvalidRecord { index: 0, field: "recency", .. }));
    }

    #[test]
    fn monetary_checks() {
        let c = Customer::new(2.0, 1.0, 3.0, Period::WEEK).unwrap();
        assert!(c.with_monetary_value(0.0).check_monetary().is_ok());
        assert!(c.with_monetary_value(0.0).check_monetary_for_fit().is_err());
        assert!(c.with_monetary_value(-1.0).check_monetary().is_err());
        assert!(c.with_monetary_value(f64::NAN).check_monetary().is_err());
        assert!(c.with_monetary_value(3.0).check_monetary().is_ok());
        let new = Customer::new(0.0, 0.0, 3.0, Period::WEEK).unwrap();
        assert!(new.check_monetary().is_ok());
    }
}
