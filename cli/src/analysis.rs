//! The per-customer analysis shared by `summary`, `score`, `fit` and `report`: the library's
//! summary, R/F/M scores and segments, and the fitted CLV models.

use chrono::{NaiveDate, NaiveDateTime};
use clap::ValueEnum;
use loyalty::clv::{
    self, BgNbd, ClvOptions, FitOptions, FitReport, GammaGamma, Histogram, MbgNbd, ParetoNbd,
    TransactionModel,
};
use loyalty::rfm::{
    summarize_par, Cutoff, Period, RfmMeasures, RfmScore, RfmScorer, ScoreOptions, SegmentId,
    SegmentMap, Summary, SummaryOptions,
};

use crate::error::{Failure, Result};
use crate::ids::Id;
use crate::input::Log;

/// The time unit of recency, `T` and the models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum PeriodArg {
    /// Days (lifetimes' default `freq="D"`).
    #[default]
    Day,
    /// Weeks.
    Week,
    /// Calendar months.
    Month,
}

impl PeriodArg {
    /// The summary's period.
    pub fn period(self) -> Period {
        match self {
            PeriodArg::Day => Period::DAY,
            PeriodArg::Week => Period::WEEK,
            PeriodArg::Month => Period::MONTH,
        }
    }

    /// The unit's name, singular.
    pub fn name(self) -> &'static str {
        match self {
            PeriodArg::Day => "day",
            PeriodArg::Week => "week",
            PeriodArg::Month => "month",
        }
    }
}

/// The purchase-process model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ModelArg {
    /// BG/NBD (Fader, Hardie & Lee 2005), lifetimes' `BetaGeoFitter`.
    #[default]
    Bgnbd,
    /// MBG/NBD (Batislam et al. 2007), lifetimes' `ModifiedBetaGeoFitter`.
    Mbgnbd,
    /// Pareto/NBD (Schmittlein et al. 1987), lifetimes' `ParetoNBDFitter`.
    ParetoNbd,
}

impl ModelArg {
    /// The model's name in the library's messages.
    pub fn key(self) -> &'static str {
        match self {
            ModelArg::Bgnbd => "bg/nbd",
            ModelArg::Mbgnbd => "mbg/nbd",
            ModelArg::ParetoNbd => "pareto/nbd",
        }
    }

    /// The model's name in outputs.
    pub fn name(self) -> &'static str {
        match self {
            ModelArg::Bgnbd => "BG/NBD",
            ModelArg::Mbgnbd => "MBG/NBD",
            ModelArg::ParetoNbd => "Pareto/NBD",
        }
    }
}

/// The observation end: `as_of` (the whole day) or, by default, the last purchase's day, as
/// lifetimes' `observation_period_end` defaults to the last date.
///
/// # Errors
///
/// An `as_of` before the first purchase.
pub fn observation_end(log: &Log, as_of: Option<NaiveDate>, input: &str) -> Result<NaiveDateTime> {
    let first = log.first().ok_or_else(|| Failure::in_file(input, "no transactions"))?;
    match as_of {
        None => log.last().ok_or_else(|| Failure::in_file(input, "no transactions")),
        Some(d) if d < first.date() => Err(Failure::new(format!(
            "--as-of {d} is before the first transaction in {input} ({})",
            first.date()
        ))),
        Some(d) => Ok(d.into()),
    }
}

/// The library's summary of `log` at `end` in `period`s.
///
/// # Errors
///
/// The library's (a spend overflow, say).
pub fn summary(log: &Log, end: NaiveDateTime, period: PeriodArg) -> Result<Summary<Id>> {
    summarized(log, end, SummaryOptions::default().period(period.period()))
}

/// The library's summary of the purchases at or before the instant `end` (not the rest of
/// its week or month), in `period`s: the calibration summary of lifetimes'
/// `calibration_and_holdout_data`, which keeps `transactions[date] <= calibration_period_end`
/// before it summarises with `freq`. Recency and `T` keep the period arithmetic.
///
/// # Errors
///
/// As [`summary`].
pub fn summary_to(log: &Log, end: NaiveDateTime, period: PeriodArg) -> Result<Summary<Id>> {
    let options = SummaryOptions::default().period(period.period()).cutoff(Cutoff::Instant);
    summarized(log, end, options)
}

/// The library's summary; a spend sum beyond `Decimal` is reported with the file and the
/// customer (the library's error names neither).
fn summarized(log: &Log, end: NaiveDateTime, options: SummaryOptions) -> Result<Summary<Id>> {
    summarize_par(&log.transactions, end, options).map_err(|e| match e.kind() {
        loyalty::ErrorKind::Overflow { .. } => overflowing(log, end, options, &e),
        _ => e.into(),
    })
}

/// The library's overflow `e` with the file and the first customer (in file order) whose
/// spend in the summary's window cannot be added up in a `Decimal`. Only on that error
/// path: a second pass over the log is no cost there.
pub fn overflowing(
    log: &Log,
    end: NaiveDateTime,
    options: SummaryOptions,
    e: &loyalty::Error,
) -> Failure {
    let window_end = options.window_end(end);
    let mut sums: std::collections::HashMap<Id, rust_decimal::Decimal> =
        std::collections::HashMap::new();
    for t in &log.transactions {
        if window_end.is_some_and(|w| t.at >= w) {
            continue;
        }
        let sum = sums.entry(t.customer).or_default();
        match sum.checked_add(t.amount) {
            Some(s) => *sum = s,
            None => {
                let id = log.ids.text(t.customer);
                return Failure::in_file(&log.source, format!("customer {id}: {e}"));
            }
        }
    }
    // The library added in another order (refunds first, say): the file at least.
    Failure::in_file(&log.source, e.to_string())
}

/// R/F/M scores (R `rfm`'s quantile bins on the RFM measures) and the eleven named segments.
///
/// # Errors
///
/// The library's.
pub fn segments(summary: &Summary<Id>) -> Result<(Vec<RfmScore>, Vec<SegmentId>, SegmentMap)> {
    let scored =
        RfmScorer::new(ScoreOptions::default())?.score_summary(summary, RfmMeasures::default())?;
    let map = SegmentMap::eleven_segments();
    let ids = map.assign(&scored)?;
    Ok((scored.scores().to_vec(), ids, map))
}

/// The fitted models of a summary and what they predict per customer.
pub struct Models {
    /// The purchase model.
    pub model: TransactionModel,
    /// The spend model.
    pub spend: GammaGamma,
    /// The model inputs per customer (summary order), the population mean spend standing in
    /// for repeat buyers with no positive repeat spend.
    pub customers: Vec<clv::Customer>,
    /// Scores per customer.
    pub scores: Vec<clv::Score>,
    /// Expected mean spend per purchase per customer (Gamma-Gamma).
    pub expected_spend: Vec<f64>,
    /// Repeat buyers valued at the mean spend (refunds netted their spend to zero or less).
    pub stand_ins: usize,
    /// Months of the CLV horizon.
    pub horizon_months: u32,
    /// Monthly discount rate.
    pub discount: f64,
}

/// Fits `model` on the customers' inputs and refuses a fit at the boundary of the parameter
/// space: what the commands that score customers use.
///
/// # Errors
///
/// As [`fit_model`], and a fit at the boundary, naming the parameters the data do not
/// identify.
pub fn fit_model_interior(
    model: ModelArg,
    customers: &[clv::Customer],
) -> Result<(TransactionModel, FitReport)> {
    let (m, report) = fit_model(model, customers)?;
    report.ensure_interior(model.key())?;
    Ok((m, report))
}

/// Fits `model` on the customers' inputs; the report says whether the optimum is at the
/// boundary of the parameter space.
///
/// # Errors
///
/// No repeat buyer, a likelihood with no maximum.
pub fn fit_model(
    model: ModelArg,
    customers: &[clv::Customer],
) -> Result<(TransactionModel, FitReport)> {
    let h = Histogram::from_customers(customers)?;
    let o = FitOptions::default();
    Ok(match model {
        ModelArg::Bgnbd => {
            let f = BgNbd::fit(&h, &o)?;
            (f.params.into(), f.report)
        }
        ModelArg::Mbgnbd => {
            let f = MbgNbd::fit(&h, &o)?;
            (f.params.into(), f.report)
        }
        ModelArg::ParetoNbd => {
            let f = ParetoNbd::fit(&h, &o)?;
            (f.params.into(), f.report)
        }
    })
}

/// Fits the spend model on the repeat buyers with a positive mean repeat spend.
///
/// # Errors
///
/// Fewer repeat buyers than the model needs, no maximum.
pub fn fit_spend(customers: &[clv::Customer]) -> Result<clv::Fit<GammaGamma>> {
    let chosen = spender_indices(customers);
    let spenders: Vec<clv::Customer> = chosen.iter().map(|&i| customers[i]).collect();
    // A refused record is named by its place in `customers`, not among the spenders.
    fit_spenders(&spenders).map_err(|f| f.reindex(|i| chosen.get(i).copied()))
}

/// The positions in `customers` of the repeat buyers with a positive mean repeat spend: what
/// the spend model is fitted on.
pub fn spender_indices(customers: &[clv::Customer]) -> Vec<usize> {
    (0..customers.len())
        .filter(|&i| customers[i].frequency > 0.0 && customers[i].monetary_value > 0.0)
        .collect()
}

/// Fits the spend model on the customers [`spender_indices`] chooses.
///
/// # Errors
///
/// As [`fit_spend`].
pub fn fit_spenders(spenders: &[clv::Customer]) -> Result<clv::Fit<GammaGamma>> {
    GammaGamma::fit(spenders, &FitOptions::default())
        .map_err(|e| Failure::from(e).context("spend model"))
}

/// The models' inputs of a summary.
pub fn customers(summary: &Summary<Id>) -> Vec<clv::Customer> {
    summary.rows().iter().map(|r| clv::Customer::from(r.clv_inputs())).collect()
}

/// Fits both models and scores every customer over `horizon_months` at the monthly
/// `discount` rate.
///
/// # Errors
///
/// A model that cannot be fitted, a bad option.
pub fn models(
    summary: &Summary<Id>,
    model: ModelArg,
    horizon_months: u32,
    discount: f64,
) -> Result<Models> {
    models_of(customers(summary), model, horizon_months, discount)
}

/// [`models`] on the models' inputs directly (a summary read from a file).
///
/// # Errors
///
/// As [`models`].
pub fn models_of(
    mut customers: Vec<clv::Customer>,
    model: ModelArg,
    horizon_months: u32,
    discount: f64,
) -> Result<Models> {
    // A fit at the boundary leaves the model columns empty, with the reason on stderr, as a
    // fit that fails does: its predictions would rest on parameters the data do not identify.
    let (m, _) = fit_model_interior(model, &customers)?;
    let spend_fit = fit_spend(&customers)?;
    spend_fit
        .report
        .ensure_interior("gamma-gamma")
        .map_err(|e| Failure::from(e).context("spend model"))?;
    let spend = spend_fit.params;
    let mean = spend.mean_spend();
    let mut stand_ins = 0;
    for c in customers.iter_mut().filter(|c| c.frequency > 0.0 && c.monetary_value <= 0.0) {
        c.monetary_value = mean;
        stand_ins += 1;
    }
    let options = ClvOptions::default()
        .with_horizon(clv::Horizon::months(horizon_months)?)
        .with_monthly_discount_rate(discount)?;
    let scores = clv::ClvModel::new(m, spend).score(&customers, &options)?;
    let expected_spend = customers
        .iter()
        .map(|c| spend.conditional_expected_average_spend(c))
        .collect::<loyalty::Result<Vec<f64>>>()?;
    Ok(Models {
        model: m,
        spend,
        customers,
        scores,
        expected_spend,
        stand_ins,
        horizon_months,
        discount,
    })
}
