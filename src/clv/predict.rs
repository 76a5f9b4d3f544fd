//! The one-call path from a transaction log to per-customer predictions: summarize, fit the
//! chosen purchase model and Gamma-Gamma, score.

use std::hash::Hash;

use chrono::NaiveDateTime;

use crate::error::{Error, Result};
use crate::rfm::{
    summarize, FirstPurchase, FrequencyCount, MonetaryMeasure, Summary, SummaryOptions, Transaction,
};

use super::{
    BgNbd, ClvModel, ClvOptions, Customer, FitOptions, FitReport, GammaGamma, Histogram, MbgNbd,
    ParetoNbd, TransactionModel,
};

/// Checks that a summary counts what the models assume: repeat purchase periods as frequency
/// and their mean spend as monetary value (lifetimes' summary).
pub(crate) fn check_summary_options(so: &SummaryOptions) -> Result<()> {
    if so.first_purchase != FirstPurchase::Excluded
        || so.frequency != FrequencyCount::Periods
        || so.monetary != MonetaryMeasure::Mean
    {
        return Err(Error::invalid(
            "summary options",
            format!("{:?}, {:?}, {:?}", so.first_purchase, so.frequency, so.monetary),
            "the models need repeat purchase periods and their mean spend \
             (FirstPurchase::Excluded, FrequencyCount::Periods, MonetaryMeasure::Mean)",
        ));
    }
    Ok(())
}

/// Which purchase-process model [`predict`] fits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum ModelKind {
    /// BG/NBD (lifetimes' `BetaGeoFitter`, its usual choice). P(alive) is 1 for every customer
    /// without a repeat purchase (see [`Score::p_alive`](super::Score::p_alive)).
    #[default]
    BgNbd,
    /// MBG/NBD (`ModifiedBetaGeoFitter`): BG/NBD with a drop-out chance at time 0 too, so
    /// one-time buyers who have been away long get a P(alive) below 1.
    MbgNbd,
    /// Pareto/NBD (`ParetoNBDFitter`): drop-out at any time.
    ParetoNbd,
}

/// Options of [`predict`]: how the log is summarized, which model is fitted and how, and the
/// CLV horizon and discount. The defaults are lifetimes' defaults: daily periods
/// (`freq="D"`), BG/NBD and Gamma-Gamma fitted without penalty, 12 months, 1 % monthly discount.
///
/// # Example
///
/// ```
/// use loyalty::clv::{ClvOptions, Horizon, ModelKind, PredictOptions};
/// use loyalty::rfm::{Period, SummaryOptions};
///
/// let options = PredictOptions::default()
///     .with_summary(SummaryOptions::default().period(Period::WEEK))
///     .with_model(ModelKind::ParetoNbd)
///     .with_clv(ClvOptions::default().with_horizon(Horizon::months(6)?));
/// assert_eq!(options.model(), ModelKind::ParetoNbd);
/// # Ok::<(), loyalty::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PredictOptions {
    summary: SummaryOptions,
    model: ModelKind,
    fit: FitOptions,
    clv: ClvOptions,
}

impl PredictOptions {
    /// How the log is summarized (default: lifetimes' `summary_data_from_transaction_data`,
    /// daily). The models need its defaults for what frequency and monetary value count; only
    /// the period and cutoff are free.
    #[must_use]
    pub fn with_summary(self, summary: SummaryOptions) -> Self {
        PredictOptions { summary, ..self }
    }

    /// The purchase model (default BG/NBD).
    #[must_use]
    pub fn with_model(self, model: ModelKind) -> Self {
        PredictOptions { model, ..self }
    }

    /// Options of both fits (purchase and spend model).
    #[must_use]
    pub fn with_fit(self, fit: FitOptions) -> Self {
        PredictOptions { fit, ..self }
    }

    /// CLV horizon and discount.
    #[must_use]
    pub fn with_clv(self, clv: ClvOptions) -> Self {
        PredictOptions { clv, ..self }
    }

    /// The summary options.
    #[must_use]
    pub fn summary(&self) -> SummaryOptions {
        self.summary
    }

    /// The purchase model.
    #[must_use]
    pub fn model(&self) -> ModelKind {
        self.model
    }

    /// The fit options.
    #[must_use]
    pub fn fit(&self) -> FitOptions {
        self.fit
    }

    /// The CLV options.
    #[must_use]
    pub fn clv(&self) -> ClvOptions {
        self.clv
    }
}

/// One customer's prediction.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PredictionRow<K> {
    /// The customer key.
    pub customer: K,
    /// Probability the customer is still active at the end of the log (`as_of`). Under BG/NBD
    /// 1 for every customer without a repeat purchase (see
    /// [`Score::p_alive`](super::Score::p_alive)).
    pub p_alive: f64,
    /// Expected purchases over the CLV horizon.
    pub expected_purchases: f64,
    /// Expected mean spend per future purchase (Gamma-Gamma; the population mean for a
    /// customer without repeat purchases, as lifetimes).
    pub expected_spend: f64,
    /// Discounted value over the horizon (lifetimes' `customer_lifetime_value`).
    pub clv: f64,
}

/// What [`predict`] returns: the fitted models with their reports, the options used and one
/// row per customer in customer key order.
///
/// Stored with a format version (see [`crate::version`]): a `version` field (3) first;
/// version 2 had no [`FitReport::status`] in its fit reports (they read as converged), and a
/// prediction without the field, as written before versions were recorded, reads as version
/// 1 (the fields of version 2).
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction<K> {
    /// The fitted purchase and spend models, in the summary's period.
    pub model: ClvModel,
    /// The purchase model's fit.
    pub purchase_fit: FitReport,
    /// The Gamma-Gamma fit, on the repeat buyers with a positive mean spend (lifetimes fits
    /// the repeat buyers; a mean spend of 0 has no Gamma density).
    pub spend_fit: FitReport,
    /// The CLV options the rows were scored with.
    pub clv: ClvOptions,
    /// One row per customer, in customer key order.
    pub rows: Vec<PredictionRow<K>>,
}

versioned_serde!(Prediction<K>, "clv prediction", 3, {
    model: ClvModel,
    purchase_fit: FitReport,
    spend_fit: FitReport,
    clv: ClvOptions,
    rows: Vec<PredictionRow<K>>,
});

/// Summarizes `transactions` as of `as_of`, fits the chosen purchase model and Gamma-Gamma, and
/// scores every customer: lifetimes' whole CLV workflow in one call.
///
/// With the default options the rows equal lifetimes 0.11.3's
/// `summary_data_from_transaction_data(freq="D")`, `BetaGeoFitter().fit`,
/// `GammaGammaFitter().fit` on the repeat buyers, then `conditional_probability_alive`,
/// `conditional_expected_number_of_purchases_up_to_time(360)` and
/// `customer_lifetime_value(time=12, discount_rate=0.01, freq="D")`.
///
/// The parts stay public for other paths: [`summarize`], [`Histogram`], the models' `fit`,
/// [`ClvModel`].
///
/// # Errors
///
/// - The errors of [`summarize`] (an empty log is [`ErrorKind::EmptyInput`]).
/// - [`ErrorKind::InvalidInput`] when the summary options are not the models' (see
///   [`predict_summary`]).
/// - The errors of the fits ([`ErrorKind::NoConvergence`], or [`ErrorKind::InvalidInput`] when no
///   customer is a repeat buyer) and of scoring (for example a negative mean spend).
/// - [`ErrorKind::AtBoundary`] when either fit's optimum lies at the boundary of the parameter
///   space ([`FitStatus::AtBoundary`](super::FitStatus::AtBoundary)): values computed from
///   parameters the data do not identify are not returned as predictions. Fit the models
///   directly ([`BgNbd::fit`], [`GammaGamma::fit`], ...) to see such a fit's report.
///
/// [`ErrorKind::AtBoundary`]: crate::ErrorKind::AtBoundary
/// [`ErrorKind::EmptyInput`]: crate::ErrorKind::EmptyInput
/// [`ErrorKind::InvalidInput`]: crate::ErrorKind::InvalidInput
/// [`ErrorKind::NoConvergence`]: crate::ErrorKind::NoConvergence
///
/// # Example
///
/// ```
/// use chrono::NaiveDate;
/// use loyalty::clv::{predict, PredictOptions};
/// use loyalty::rfm::Transaction;
///
/// // The CDNOW 1/10 sample: sample id, date and dollar value of each purchase.
/// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/CDNOW_sample.txt");
/// let log: Vec<Transaction<u32>> = std::fs::read_to_string(path)?
///     .lines()
///     .map(|line| {
///         let f: Vec<&str> = line.split_whitespace().collect();
///         let date = NaiveDate::parse_from_str(f[2], "%Y%m%d")?;
///         Ok(Transaction::on(f[1].parse()?, date, f[4].parse()?))
///     })
///     .collect::<Result<_, Box<dyn std::error::Error>>>()?;
/// let end = NaiveDate::from_ymd_opt(1998, 6, 30).unwrap();
/// let prediction = predict(&log, end, &PredictOptions::default())?;
/// assert_eq!(prediction.rows.len(), 2357);
/// let best = prediction.rows.iter().max_by(|a, b| a.clv.total_cmp(&b.clv)).unwrap();
/// assert!(best.clv > 0.0 && prediction.purchase_fit.customers == 2357);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn predict<K>(
    transactions: &[Transaction<K>],
    as_of: impl Into<NaiveDateTime>,
    options: &PredictOptions,
) -> Result<Prediction<K>>
where
    K: Ord + Hash + Clone,
{
    let summary = summarize(transactions, as_of, options.summary)?;
    predict_summary(&summary, options)
}

/// [`predict`] from a summary already made; the summary's own options and period are used
/// (`options`' summary options are ignored).
///
/// # Errors
///
/// [`ErrorKind::EmptyInput`](crate::ErrorKind::EmptyInput) for an empty summary;
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming `summary options` when
/// the summary does not count what the models assume (repeat purchase periods as frequency,
/// [`FirstPurchase::Excluded`], [`FrequencyCount::Periods`], [`MonetaryMeasure::Mean`]);
/// otherwise as [`predict`].
pub fn predict_summary<K>(summary: &Summary<K>, options: &PredictOptions) -> Result<Prediction<K>>
where
    K: Clone,
{
    let so = summary.options();
    check_summary_options(&so)?;
    if summary.is_empty() {
        return Err(Error::empty("summary"));
    }
    let customers: Vec<Customer> =
        summary.rows().iter().map(|r| Customer::from(r.clv_inputs())).collect();
    let histogram = Histogram::from_customers(&customers)?;
    let (purchases, purchase_fit): (TransactionModel, FitReport) = match options.model {
        ModelKind::BgNbd => {
            let f = BgNbd::fit(&histogram, &options.fit)?;
            f.report.ensure_interior("bg/nbd")?;
            (f.params.into(), f.report)
        }
        ModelKind::MbgNbd => {
            let f = MbgNbd::fit(&histogram, &options.fit)?;
            f.report.ensure_interior("mbg/nbd")?;
            (f.params.into(), f.report)
        }
        ModelKind::ParetoNbd => {
            let f = ParetoNbd::fit(&histogram, &options.fit)?;
            f.report.ensure_interior("pareto/nbd")?;
            (f.params.into(), f.report)
        }
    };
    // lifetimes fits Gamma-Gamma on the repeat buyers; one whose repeat purchases sum to 0
    // (free items, refunds) has no Gamma density and is left out of the fit, but scored.
    let spenders: Vec<Customer> =
        customers.iter().filter(|c| c.frequency > 0.0 && c.monetary_value > 0.0).copied().collect();
    if spenders.is_empty() {
        return Err(Error::invalid(
            "frequency",
            0,
            "no repeat buyer with a positive spend: the spend model has nothing to fit",
        ));
    }
    let spend = GammaGamma::fit(&spenders, &options.fit)?;
    spend.report.ensure_interior("gamma-gamma")?;
    let model = ClvModel::new(purchases, spend.params);
    let scores = model.score(&customers, &options.clv)?;
    let rows = summary
        .rows()
        .iter()
        .zip(scores)
        .map(|(r, s)| PredictionRow {
            customer: r.customer().clone(),
            p_alive: s.p_alive,
            expected_purchases: s.expected_purchases,
            expected_spend: s.expected_spend,
            clv: s.clv,
        })
        .collect();
    Ok(Prediction { model, purchase_fit, spend_fit: spend.report, clv: options.clv, rows })
}
