//! The shape the purchase models share: the [`PurchaseModel`] trait, whose provided methods
//! check their inputs, convert [`Span`]s to the model's period and call the model's own
//! formulas (each model's file), so that checking and unit handling are written once.

use crate::error::{Error, Result};
use crate::rfm::Period;

use super::histogram::Histogram;
use super::{finite, Customer, Problem};
use crate::rfm::Span;

pub(crate) mod sealed {
    use crate::clv::Customer;
    use crate::error::Result;

    /// A purchase model's formulas, with times in the model's period and inputs already
    /// checked. Public in a private module so that [`PurchaseModel`](super::PurchaseModel) can
    /// require it while no other crate implements it.
    pub trait Formulas: Copy {
        /// ln L of one customer.
        fn ll_at(&self, x: f64, tx: f64, t: f64) -> Result<f64>;
        /// `P(alive | x, t_x, T)`.
        fn p_alive_at(&self, x: f64, tx: f64, t: f64) -> Result<f64>;
        /// `E[X(t)]`.
        fn expected_at(&self, t: f64) -> Result<f64>;
        /// `E[Y(t) | x, t_x, T]`.
        fn conditional_expected_at(&self, c: &Customer, t: f64) -> Result<f64>;
        /// `P(X(t) = n)`.
        fn pmf_at(&self, n: u32, t: f64) -> Result<f64>;
        /// `P(Y(t) = n | x, t_x, T)`.
        fn conditional_pmf_at(&self, c: &Customer, n: u32, t: f64) -> Result<f64>;
    }
}

/// Implements [`sealed::Formulas`] for a model whose inherent impl has the formulas under the
/// trait's names.
macro_rules! formulas {
    ($t:ty) => {
        impl $crate::clv::purchase::sealed::Formulas for $t {
            fn ll_at(&self, x: f64, tx: f64, t: f64) -> Result<f64> {
                <$t>::ll_at(self, x, tx, t)
            }
            fn p_alive_at(&self, x: f64, tx: f64, t: f64) -> Result<f64> {
                <$t>::p_alive_at(self, x, tx, t)
            }
            fn expected_at(&self, t: f64) -> Result<f64> {
                <$t>::expected_at(self, t)
            }
            fn conditional_expected_at(&self, c: &Customer, t: f64) -> Result<f64> {
                <$t>::conditional_expected_at(self, c, t)
            }
            fn pmf_at(&self, n: u32, t: f64) -> Result<f64> {
                <$t>::pmf_at(self, n, t)
            }
            fn conditional_pmf_at(&self, c: &Customer, n: u32, t: f64) -> Result<f64> {
                <$t>::conditional_pmf_at(self, c, n, t)
            }
        }
    };
}
pub(crate) use formulas;

/// What BG/NBD, MBG/NBD and Pareto/NBD (and [`TransactionModel`](super::TransactionModel),
/// any of them) share: four parameters in a [`Period`], and the predictions of the purchase
/// process.
///
/// A model's time parameters (`α`, and Pareto/NBD's `β`) are per period of the summary it was
/// fitted on, and the model keeps that period ([`PurchaseModel::period`]). Customers carry their
/// period too ([`Customer::period`]): one in another period is refused rather than read in the
/// wrong unit. Time spans are [`Span`]s, converted to the model's period
/// ([`Span::in_periods`]: exactly between hours, days and weeks, lifetimes' periods per month
/// where a month is involved), so no method takes a bare count whose unit the caller must
/// remember:
///
/// ```compile_fail
/// use loyalty::clv::{BgNbd, PurchaseModel};
/// use loyalty::rfm::Period;
///
/// let daily = BgNbd::new(0.24, 30.0, 0.79, 2.4, Period::DAY).unwrap();
/// // A bare number is not a span: which unit would 52.0 be in?
/// let _ = daily.expected_purchases(52.0);
/// ```
///
/// # Example
///
/// ```
/// use loyalty::clv::{BgNbd, Customer, PurchaseModel, Span};
/// use loyalty::rfm::Period;
///
/// // BTYD's estimates on CDNOW, fitted in weeks; the same model with α in days.
/// let weekly = BgNbd::new(0.2425982, 4.4136842, 0.7929899, 2.4261667, Period::WEEK)?;
/// let daily = BgNbd::new(0.2425982, 7.0 * 4.4136842, 0.7929899, 2.4261667, Period::DAY)?;
/// let c1516 = Customer::new(26.0, 30.85714, 31.0, Period::WEEK)?;
/// let year = Span::weeks(52.0)?;
/// assert!((weekly.conditional_expected_purchases(&c1516, year)? - 25.75659).abs() < 1e-4);
/// // 52 weeks are 364 days to the daily model.
/// let c1516_days = Customer::new(26.0, 7.0 * 30.85714, 7.0 * 31.0, Period::DAY)?;
/// let by_day = daily.conditional_expected_purchases(&c1516_days, year)?;
/// assert!((by_day - 25.75659).abs() < 1e-4);
/// // A weekly customer is not read as days.
/// assert!(daily.probability_alive(&c1516).is_err());
/// # Ok::<(), loyalty::Error>(())
/// ```
pub trait PurchaseModel: sealed::Formulas {
    /// The four parameters, in the order of [`FitReport::standard_errors`] and
    /// [`PurchaseModel::parameter_names`].
    ///
    /// [`FitReport::standard_errors`]: super::FitReport::standard_errors
    fn parameters(&self) -> [f64; 4];

    /// The parameters' names, as lifetimes names them (`r, alpha, a, b` or `r, alpha, s,
    /// beta`).
    fn parameter_names(&self) -> [&'static str; 4];

    /// The period the time parameters are in: that of the summary the model was fitted on.
    fn period(&self) -> Period;

    /// Log-likelihood of one customer.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for an invalid customer or
    /// one in another period; numerical errors of the model.
    fn log_likelihood(&self, c: &Customer) -> Result<f64> {
        check(self.period(), c)?;
        finite("log-likelihood", self.ll_at(c.frequency, c.recency, c.t)?)
    }

    /// Total log-likelihood of a histogram (counts as weights).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming `period` for a
    /// histogram in another period; numerical errors of the model.
    fn total_log_likelihood(&self, h: &Histogram) -> Result<f64> {
        check_period(self.period(), h.period())?;
        let mut total = 0.0;
        for p in h.patterns() {
            total += p.count as f64 * self.ll_at(f64::from(p.frequency), p.recency, p.t)?;
        }
        finite("log-likelihood", total)
    }

    /// `P(alive | x, t_x, T)`. Under BG/NBD exactly 1 for a customer without repeat purchases
    /// (see [`BgNbd`](super::BgNbd)).
    ///
    /// # Errors
    ///
    /// As [`PurchaseModel::log_likelihood`].
    fn probability_alive(&self, c: &Customer) -> Result<f64> {
        check(self.period(), c)?;
        self.p_alive_at(c.frequency, c.recency, c.t)
    }

    /// Unconditional `E[X(t)]`: expected purchases in `(0, t]` of a customer just acquired.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a span that does not
    /// convert to the model's period; numerical errors of the model.
    fn expected_purchases(&self, span: impl Into<Span>) -> Result<f64> {
        let t = span.into().in_periods(self.period())?;
        self.expected_at(t)
    }

    /// `E[Y(t) | x, t_x, T]`: expected purchases in `(T, T+t]` (lifetimes'
    /// `conditional_expected_number_of_purchases_up_to_time`).
    ///
    /// # Errors
    ///
    /// As [`PurchaseModel::expected_purchases`], plus an invalid customer or one in another
    /// period.
    fn conditional_expected_purchases(&self, c: &Customer, span: impl Into<Span>) -> Result<f64> {
        check(self.period(), c)?;
        let t = span.into().in_periods(self.period())?;
        self.conditional_expected_at(c, t)
    }

    /// `P(X(t) = n)` for a customer just acquired (each model's formula and source are in its
    /// type's docs).
    ///
    /// # Errors
    ///
    /// As [`PurchaseModel::expected_purchases`].
    fn probability_of_purchases(&self, n: u32, span: impl Into<Span>) -> Result<f64> {
        let t = span.into().in_periods(self.period())?;
        self.pmf_at(n, t)
    }

    /// `P(Y(t) = n | x, t_x, T)`: probability of `n` purchases in `(T, T+t]`. A customer who
    /// has dropped out makes no more; given alive at `T`, the posterior parameters and the
    /// memorylessness of the model give the unconditional PMF at updated parameters, so
    /// `P = (1 − P(alive)) · 1[n=0] + P(alive) · P'(X(t)=n)`. Its mean is
    /// [`PurchaseModel::conditional_expected_purchases`].
    ///
    /// # Errors
    ///
    /// As [`PurchaseModel::conditional_expected_purchases`].
    fn conditional_probability_of_purchases(
        &self,
        c: &Customer,
        n: u32,
        span: impl Into<Span>,
    ) -> Result<f64> {
        check(self.period(), c)?;
        let t = span.into().in_periods(self.period())?;
        self.conditional_pmf_at(c, n, t)
    }
}

/// A purchase model stored by format version 1, which did not record the period of its
/// parameters: read it as `Version1<BgNbd>` (or `MbgNbd`, `ParetoNbd`) and give the period
/// with `in_period`.
///
/// # Example
///
/// ```
/// # #[cfg(feature = "serde")] {
/// use loyalty::clv::{BgNbd, PurchaseModel, Version1};
/// use loyalty::rfm::Period;
///
/// let old = r#"{"r": 0.2426, "alpha": 4.4135, "a": 0.7929, "b": 2.4258}"#;
/// // Without its period it does not read as a model...
/// assert!(serde_json::from_str::<BgNbd>(old).is_err());
/// // ...but does when the period is given.
/// let model = serde_json::from_str::<Version1<BgNbd>>(old).unwrap().in_period(Period::WEEK).unwrap();
/// assert_eq!(model.period(), Period::WEEK);
/// assert_eq!(model.alpha(), 4.4135);
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Version1<M> {
    parameters: [f64; 4],
    model: std::marker::PhantomData<M>,
}

impl<M> Version1<M> {
    #[cfg(feature = "serde")]
    pub(crate) fn new(parameters: [f64; 4]) -> Self {
        Version1 { parameters, model: std::marker::PhantomData }
    }

    /// The stored parameters, in the model's order.
    #[must_use]
    pub fn parameters(&self) -> [f64; 4] {
        self.parameters
    }
}

/// Checks a customer and that it is in `period`.
pub(crate) fn check(period: Period, c: &Customer) -> Result<()> {
    c.check_transactions().map_err(Problem::single)?;
    check_period(period, c.period)
}

/// Refuses data in `found` for a model in `model`.
pub(crate) fn check_period(model: Period, found: Period) -> Result<()> {
    if found == model {
        Ok(())
    } else {
        Err(Error::invalid(
            "period",
            found,
            format!("the data are in periods of {found}, the model in periods of {model}"),
        ))
    }
}
