//! Per-customer summaries of a transaction log (lifetimes-compatible by default).

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use super::dense;
use super::hash::FxBuild;
use super::partition::{self, partition_bits};
use super::period::{MonthLength, Period};
#[cfg(any(feature = "serde", feature = "rayon"))]
use crate::error::ErrorKind;
use crate::error::{Error, Result};

/// One purchase (or refund) of a customer: a passive input record.
///
/// `K` is the host's customer id type (`u64`, `&str`, a UUID, ...). Borrowed or integer keys
/// avoid an allocation per customer in the summary.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Transaction<K> {
    /// Who bought.
    pub customer: K,
    /// When (civil time of the seller; time zones are the host's business).
    pub at: NaiveDateTime,
    /// The amount. Negative amounts are refunds; see [`NegativeAmounts`].
    pub amount: Decimal,
}

impl<K> Transaction<K> {
    /// A transaction at an instant.
    #[must_use]
    pub fn new(customer: K, at: NaiveDateTime, amount: Decimal) -> Transaction<K> {
        Transaction { customer, at, amount }
    }

    /// A transaction on a date (at midnight), for logs that carry dates only.
    #[must_use]
    pub fn on(customer: K, date: NaiveDate, amount: Decimal) -> Transaction<K> {
        Transaction { customer, at: date.into(), amount }
    }
}

/// Whether the first purchase period counts towards frequency and monetary value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum FirstPurchase {
    /// Frequency counts repeat purchases only and monetary value averages them (lifetimes'
    /// default, the input of the BG/NBD and Gamma-Gamma models).
    #[default]
    Excluded,
    /// The first purchase counts too (lifetimes' `include_first_transaction=True`, the usual
    /// RFM convention).
    Included,
}

/// What frequency counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum FrequencyCount {
    /// Distinct purchase periods: several purchases in one period are one (lifetimes).
    #[default]
    Periods,
    /// Transactions (rows of the log), as R's `rfm` package counts orders. With
    /// [`FirstPurchase::Excluded`] the rows of the first purchase period are left out.
    Orders,
}

/// What monetary value measures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum MonetaryMeasure {
    /// Mean spend per counted period (or order); 0 when nothing is counted (lifetimes).
    #[default]
    Mean,
    /// Total spend of the counted periods (or orders), as RFM segmentation usually uses.
    Total,
}

/// What to do with negative amounts (refunds).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum NegativeAmounts {
    /// Add them like any amount, so a refund reduces its period's spend (what lifetimes does);
    /// the refund still counts as activity in its period. [`Summary::negative_amounts`] says
    /// how many there were.
    #[default]
    Subtract,
    /// Reject the log with an [`ErrorKind::InvalidRecord`](crate::ErrorKind::InvalidRecord) naming the first one.
    Reject,
}

/// Which transactions are inside the observation window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Cutoff {
    /// Every transaction whose period is not after the period of `as_of` (lifetimes floors both
    /// sides before comparing): with weekly periods and `as_of` on a Wednesday, the Thursday of
    /// the same week is inside.
    #[default]
    EndOfPeriod,
    /// Only transactions at or before the instant `as_of` (pass the end of a day to keep it
    /// whole).
    Instant,
}

/// Options of [`summarize`]; the default reproduces lifetimes'
/// `summary_data_from_transaction_data` with daily periods.
///
/// # Example
///
/// ```
/// use loyalty::rfm::{FirstPurchase, MonetaryMeasure, Period, SummaryOptions};
///
/// // The usual RFM convention: every purchase week counts, monetary = total spend.
/// let rfm = SummaryOptions::default()
///     .period(Period::WEEK)
///     .first_purchase(FirstPurchase::Included)
///     .monetary(MonetaryMeasure::Total);
/// assert_eq!(rfm.period_value(), Period::WEEK);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SummaryOptions {
    period: Period,
    month_length: MonthLength,
    first_purchase: FirstPurchase,
    frequency: FrequencyCount,
    monetary: MonetaryMeasure,
    negative: NegativeAmounts,
    cutoff: Cutoff,
}

impl SummaryOptions {
    /// The period grid (default: one day).
    #[must_use]
    pub fn period(mut self, period: Period) -> Self {
        self.period = period;
        self
    }

    /// How month durations are measured (default: lifetimes' mean Gregorian month).
    #[must_use]
    pub fn month_length(mut self, month_length: MonthLength) -> Self {
        self.month_length = month_length;
        self
    }

    /// Whether the first purchase counts (default: excluded, as lifetimes).
    #[must_use]
    pub fn first_purchase(mut self, first_purchase: FirstPurchase) -> Self {
        self.first_purchase = first_purchase;
        self
    }

    /// What frequency counts (default: distinct periods).
    #[must_use]
    pub fn frequency(mut self, frequency: FrequencyCount) -> Self {
        self.frequency = frequency;
        self
    }

    /// What monetary value measures (default: mean).
    #[must_use]
    pub fn monetary(mut self, monetary: MonetaryMeasure) -> Self {
        self.monetary = monetary;
        self
    }

    /// What to do with refunds (default: subtract).
    #[must_use]
    pub fn negative_amounts(mut self, negative: NegativeAmounts) -> Self {
        self.negative = negative;
        self
    }

    /// Which transactions are inside the window (default: by period, as lifetimes).
    #[must_use]
    pub fn cutoff(mut self, cutoff: Cutoff) -> Self {
        self.cutoff = cutoff;
        self
    }

    /// The period grid.
    #[must_use]
    pub fn period_value(&self) -> Period {
        self.period
    }

    /// The month-length convention.
    #[must_use]
    pub fn month_length_value(&self) -> MonthLength {
        self.month_length
    }

    /// The first-purchase convention.
    #[must_use]
    pub fn first_purchase_value(&self) -> FirstPurchase {
        self.first_purchase
    }

    /// The frequency convention.
    #[must_use]
    pub fn frequency_value(&self) -> FrequencyCount {
        self.frequency
    }

    /// The monetary convention.
    #[must_use]
    pub fn monetary_value(&self) -> MonetaryMeasure {
        self.monetary
    }

    /// The refund policy.
    #[must_use]
    pub fn negative_amounts_value(&self) -> NegativeAmounts {
        self.negative
    }

    /// The window policy.
    #[must_use]
    pub fn cutoff_value(&self) -> Cutoff {
        self.cutoff
    }
}

/// The four inputs of the CLV models, as `f64` (see [`CustomerSummary::clv_inputs`]).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ClvInputs {
    /// `x`: repeat purchase periods (or whatever [`SummaryOptions`] counted).
    pub frequency: f64,
    /// `t_x`: first to last purchase, in periods.
    pub recency: f64,
    /// `T`: first purchase to the end of observation, in periods.
    pub t: f64,
    /// `m_x`: monetary value.
    pub monetary_value: f64,
}

/// One customer's summary: a row of [`Summary`].
///
/// The lifetimes columns are [`frequency`](Self::frequency), [`recency`](Self::recency),
/// [`t`](Self::t) and [`monetary_value`](Self::monetary_value); the rest describe the
/// customer's purchases in the window whatever the options.
///
/// A row keeps what it cannot derive: its period counts and two amounts. Recency and `T` come
/// from the periods, the spend monetary value divides from the two amounts, so that a row
/// takes 80 bytes for a 64-bit key (every summary writes one per customer).
#[derive(Clone)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(
        try_from = "CustomerSummaryRepr<K>",
        into = "CustomerSummaryRepr<K>",
        bound(
            serialize = "K: Clone + serde::Serialize",
            deserialize = "K: serde::Deserialize<'de>"
        )
    )
)]
pub struct CustomerSummary<K> {
    customer: K,
    /// Total spend and the first period's spend, as mantissas at `scale`. The spend of the
    /// repeat periods (their difference) is within `Decimal`'s range too when `spend` is
    /// [`Spend::Repeat`].
    total: Wide,
    first: Wide,
    first_period: i32,
    recency_periods: u32,
    t_periods: u32,
    frequency: u32,
    /// Monetary value is the spend divided by this (0 when it is 0), computed on demand:
    /// the division is the costly part of a row.
    divisor: u32,
    purchase_periods: u32,
    orders: u32,
    period: Period,
    /// At most 28, as a `Decimal`'s.
    scale: u8,
    spend: Spend,
    months: MonthLength,
}

/// The spend a row's monetary value divides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Spend {
    /// Total spend less the first period's (lifetimes' convention).
    Repeat,
    /// Total spend.
    Total,
}

impl<K: fmt::Debug> fmt::Debug for CustomerSummary<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomerSummary")
            .field("customer", &self.customer)
            .field("frequency", &self.frequency)
            .field("recency", &self.recency())
            .field("t", &self.t())
            .field("recency_periods", &self.recency_periods)
            .field("t_periods", &self.t_periods)
            .field("spend", &self.spend())
            .field("divisor", &self.divisor)
            .field("purchase_periods", &self.purchase_periods)
            .field("orders", &self.orders)
            .field("total_spend", &self.total_spend())
            .field("first_purchase_amount", &self.first_purchase_amount())
            .field("period", &self.period)
            .field("first_period", &self.first_period)
            .field("last_period", &self.last_period())
            .finish()
    }
}

/// Equal rows describe the same purchases: amounts compare as numbers (`1.0 == 1.00`), as
/// `Decimal`s do.
impl<K: PartialEq> PartialEq for CustomerSummary<K> {
    fn eq(&self, o: &Self) -> bool {
        self.customer == o.customer
            && (self.frequency, self.recency_periods, self.t_periods, self.divisor)
                == (o.frequency, o.recency_periods, o.t_periods, o.divisor)
            && (self.purchase_periods, self.orders, self.first_period)
                == (o.purchase_periods, o.orders, o.first_period)
            && self.period == o.period
            && self.recency() == o.recency()
            && self.t() == o.t()
            && self.spend() == o.spend()
            && self.total_spend() == o.total_spend()
            && self.first_purchase_amount() == o.first_purchase_amount()
    }
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct CustomerSummaryRepr<K> {
    customer: K,
    frequency: u32,
    recency: f64,
    #[serde(rename = "T")]
    t: f64,
    recency_periods: u32,
    t_periods: u32,
    spend: Decimal,
    divisor: u32,
    purchase_periods: u32,
    orders: u32,
    total_spend: Decimal,
    first_purchase_amount: Decimal,
    period: Period,
    first_period: i32,
    last_period: i32,
}

#[cfg(feature = "serde")]
impl<K> TryFrom<CustomerSummaryRepr<K>> for CustomerSummary<K> {
    type Error = Error;
    fn try_from(r: CustomerSummaryRepr<K>) -> Result<Self> {
        let bad = |reason: &str| -> Error {
            ErrorKind::InvalidState { reason: format!("customer summary: {reason}") }.into()
        };
        if r.recency_periods > r.t_periods
            || i64::from(r.last_period) - i64::from(r.first_period) != i64::from(r.recency_periods)
        {
            return Err(bad("periods must satisfy first + recency = last and recency <= T"));
        }
        if r.purchase_periods == 0 || r.orders < r.purchase_periods {
            return Err(bad("needs at least one purchase period and one order per period"));
        }
        if r.frequency > r.orders || r.divisor > r.frequency.max(1) {
            return Err(bad("frequency exceeds orders, or divisor exceeds frequency"));
        }
        if r.period.start(i64::from(r.first_period)).is_none()
            || r.period.start(i64::from(r.last_period)).is_none()
        {
            return Err(bad("purchase periods outside the calendar"));
        }
        // The three amounts at the finest of their scales.
        let scale = r.spend.scale().max(r.total_spend.scale()).max(r.first_purchase_amount.scale());
        let at = |d: Decimal| {
            d.mantissa()
                .checked_mul(POW10[(scale - d.scale()) as usize])
                .filter(|&m| fits_decimal(m))
                .ok_or_else(|| bad("amounts beyond the range of Decimal at their finest scale"))
        };
        let (total, first) = (at(r.total_spend)?, at(r.first_purchase_amount)?);
        let spend = match at(r.spend)? {
            m if m == total - first => Spend::Repeat,
            m if m == total => Spend::Total,
            _ => return Err(bad("spend must be the total spend, or the total less the first")),
        };
        // Recency and `T` are derived from the periods; the serialized ones pick the month
        // length (which only monthly periods depend on): the one whose durations are nearest,
        // as both can lie within the tolerance of tiny durations (a huge multiple). They must
        // then agree with it, up to the last bits a text format may lose.
        let first_p = i64::from(r.first_period);
        let [mean, calendar] = [MonthLength::MeanGregorian, MonthLength::Calendar].map(|m| {
            let d = |units| r.period.duration(first_p, units, m);
            (m, d(r.recency_periods), d(r.t_periods))
        });
        let off = |(_, recency, t): (MonthLength, f64, f64)| {
            (r.recency - recency).abs() + (r.t - t).abs()
        };
        // NaN distances lose the comparison and then fail the check below.
        let (months, recency, t) = if off(calendar) < off(mean) { calendar } else { mean };
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1.0);
        if !(close(r.recency, recency) && close(r.t, t)) {
            return Err(bad("recency and T must be the durations of their periods"));
        }
        Ok(CustomerSummary {
            customer: r.customer,
            total: Wide::of(total),
            first: Wide::of(first),
            first_period: r.first_period,
            recency_periods: r.recency_periods,
            t_periods: r.t_periods,
            frequency: r.frequency,
            divisor: r.divisor,
            purchase_periods: r.purchase_periods,
            orders: r.orders,
            period: r.period,
            // At most 28, a `Decimal`'s scale.
            scale: scale as u8,
            spend,
            months,
        })
    }
}

#[cfg(feature = "serde")]
impl<K> From<CustomerSummary<K>> for CustomerSummaryRepr<K> {
    fn from(s: CustomerSummary<K>) -> Self {
        CustomerSummaryRepr {
            frequency: s.frequency,
            recency: s.recency(),
            t: s.t(),
            recency_periods: s.recency_periods,
            t_periods: s.t_periods,
            spend: s.spend(),
            divisor: s.divisor,
            purchase_periods: s.purchase_periods,
            orders: s.orders,
            total_spend: s.total_spend(),
            first_purchase_amount: s.first_purchase_amount(),
            period: s.period,
            first_period: s.first_period,
            last_period: s.last_period(),
            customer: s.customer,
        }
    }
}

impl<K> CustomerSummary<K> {
    /// The customer.
    #[must_use]
    pub fn customer(&self) -> &K {
        &self.customer
    }

    /// Frequency: repeat purchase periods by default (distinct periods − 1); see
    /// [`FrequencyCount`] and [`FirstPurchase`].
    #[must_use]
    pub fn frequency(&self) -> u32 {
        self.frequency
    }

    /// Recency (lifetimes' meaning): first to last purchase period, in periods (unit periods
    /// divided by the multiple). 0 with a single purchase period.
    #[must_use]
    pub fn recency(&self) -> f64 {
        self.period.duration(i64::from(self.first_period), self.recency_periods, self.months)
    }

    /// `T`: first purchase period to the period of `as_of`, in periods.
    #[must_use]
    pub fn t(&self) -> f64 {
        self.period.duration(i64::from(self.first_period), self.t_periods, self.months)
    }

    /// Recency in whole unit periods (hours, days, weeks or calendar months).
    #[must_use]
    pub fn recency_periods(&self) -> u32 {
        self.recency_periods
    }

    /// `T` in whole unit periods.
    #[must_use]
    pub fn t_periods(&self) -> u32 {
        self.t_periods
    }

    /// Unit periods from the last purchase to `as_of` (`T − recency`): the RFM recency,
    /// "how long ago", where smaller is more recent.
    #[must_use]
    pub fn periods_since_last_purchase(&self) -> u32 {
        self.t_periods - self.recency_periods
    }

    /// Monetary value: by default the mean of the repeat periods' spend, 0 without a repeat;
    /// see [`MonetaryMeasure`]. Computed on each call from the exact sum (one decimal
    /// division).
    #[must_use]
    pub fn monetary_value(&self) -> Decimal {
        match self.divisor {
            0 => Decimal::ZERO,
            1 => self.spend(),
            // Dividing by n >= 2 cannot overflow.
            n => self.spend() / Decimal::from(n),
        }
    }

    /// Distinct purchase periods, first included.
    #[must_use]
    pub fn purchase_periods(&self) -> u32 {
        self.purchase_periods
    }

    /// Transactions (rows) in the window, first included.
    #[must_use]
    pub fn orders(&self) -> u32 {
        self.orders
    }

    /// Sum of all amounts in the window, first purchase included, refunds subtracted.
    #[must_use]
    pub fn total_spend(&self) -> Decimal {
        self.amount(self.total.get())
    }

    /// Spend of the first purchase period (the part lifetimes' monetary value leaves out).
    #[must_use]
    pub fn first_purchase_amount(&self) -> Decimal {
        self.amount(self.first.get())
    }

    /// Start of the first purchase period (the date, for daily periods).
    #[must_use]
    pub fn first_purchase(&self) -> NaiveDateTime {
        // Checked when the row was made (or deserialized).
        self.period.start(i64::from(self.first_period)).unwrap_or_default()
    }

    /// Start of the last purchase period.
    #[must_use]
    pub fn last_purchase(&self) -> NaiveDateTime {
        self.period.start(i64::from(self.last_period())).unwrap_or_default()
    }

    /// `(frequency, recency, T, monetary_value)` as `f64`: the input of the CLV models
    /// (BG/NBD, Pareto/NBD use the first three; Gamma-Gamma uses frequency and monetary
    /// value). Cheap: integer-to-float conversions and one decimal-to-float conversion.
    #[must_use]
    pub fn clv_inputs(&self) -> ClvInputs {
        ClvInputs {
            frequency: f64::from(self.frequency),
            recency: self.recency(),
            t: self.t(),
            // A `Decimal` is at most 7.9e28, always finite as f64.
            monetary_value: match self.divisor {
                0 => 0.0,
                n => self.spend().to_f64().unwrap_or(0.0) / f64::from(n),
            },
        }
    }

    /// The spend monetary value divides.
    fn spend(&self) -> Decimal {
        match self.spend {
            // Both below 2^96 in magnitude: the difference cannot overflow, and it was
            // checked to fit a `Decimal` when the row was made.
            Spend::Repeat => self.amount(self.total.get() - self.first.get()),
            Spend::Total => self.amount(self.total.get()),
        }
    }

    /// The `Decimal` of a mantissa at the row's scale (one within range: see the fields).
    fn amount(&self, m: i128) -> Decimal {
        Scale { scale: u32::from(self.scale) }.decimal(m)
    }

    /// The last purchase period: an `i32` when the row was made (or deserialized).
    fn last_period(&self) -> i32 {
        (i64::from(self.first_period) + i64::from(self.recency_periods)) as i32
    }
}

/// The summary of a transaction log: one row per customer, sorted by customer key, and an
/// account of what was left out.
///
/// Made by [`summarize`]; summaries of disjoint groups of customers combine with
/// [`Summary::merge`] into exactly the summary of the whole log.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(
        try_from = "SummaryRepr<K>",
        into = "SummaryRepr<K>",
        bound(
            serialize = "K: Clone + serde::Serialize",
            deserialize = "K: Ord + serde::Deserialize<'de>"
        )
    )
)]
pub struct Summary<K> {
    rows: Vec<CustomerSummary<K>>,
    as_of: NaiveDateTime,
    options: SummaryOptions,
    transactions: u64,
    excluded_after_as_of: u64,
    negative_amounts: u64,
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(bound(
    serialize = "K: Clone + serde::Serialize",
    deserialize = "K: serde::Deserialize<'de>"
))]
struct SummaryRepr<K> {
    #[serde(default = "crate::version::v1")]
    version: u32,
    rows: Vec<CustomerSummary<K>>,
    as_of: NaiveDateTime,
    options: SummaryOptions,
    transactions: u64,
    excluded_after_as_of: u64,
    negative_amounts: u64,
}

#[cfg(feature = "serde")]
impl<K: Ord> TryFrom<SummaryRepr<K>> for Summary<K> {
    type Error = Error;
    fn try_from(r: SummaryRepr<K>) -> Result<Self> {
        crate::version::check("rfm summary", r.version, 1)?;
        if r.rows.windows(2).any(|w| w[0].customer >= w[1].customer) {
            return Err(ErrorKind::InvalidState {
                reason: "summary rows must be sorted by customer with no duplicates".into(),
            }
            .into());
        }
        let orders: u64 = r.rows.iter().map(|row| u64::from(row.orders)).sum();
        if orders != r.transactions {
            return Err(ErrorKind::InvalidState {
                reason: "summary transaction count does not match its rows".into(),
            }
            .into());
        }
        Ok(Summary {
            rows: r.rows,
            as_of: r.as_of,
            options: r.options,
            transactions: r.transactions,
            excluded_after_as_of: r.excluded_after_as_of,
            negative_amounts: r.negative_amounts,
        })
    }
}

#[cfg(feature = "serde")]
impl<K> From<Summary<K>> for SummaryRepr<K> {
    fn from(s: Summary<K>) -> Self {
        SummaryRepr {
            version: 1,
            rows: s.rows,
            as_of: s.as_of,
            options: s.options,
            transactions: s.transactions,
            excluded_after_as_of: s.excluded_after_as_of,
            negative_amounts: s.negative_amounts,
        }
    }
}

impl<K> Summary<K> {
    /// The rows, sorted by customer key.
    #[must_use]
    pub fn rows(&self) -> &[CustomerSummary<K>] {
        &self.rows
    }

    /// Consumes the summary, returning its rows.
    #[must_use]
    pub fn into_rows(self) -> Vec<CustomerSummary<K>> {
        self.rows
    }

    /// Number of customers.
    #[must_use]
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no customer bought in the window (for example `as_of` before all data).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The end of observation the summary was made for.
    #[must_use]
    pub fn as_of(&self) -> NaiveDateTime {
        self.as_of
    }

    /// The options the summary was made with.
    #[must_use]
    pub fn options(&self) -> SummaryOptions {
        self.options
    }

    /// Transactions inside the window (summarised).
    #[must_use]
    pub fn transactions(&self) -> u64 {
        self.transactions
    }

    /// Transactions after `as_of` (see [`Cutoff`]), left out of every row.
    #[must_use]
    pub fn excluded_after_as_of(&self) -> u64 {
        self.excluded_after_as_of
    }

    /// Transactions inside the window with a negative amount (refunds), subtracted.
    #[must_use]
    pub fn negative_amounts(&self) -> u64 {
        self.negative_amounts
    }

    /// The summary of no transactions as of `as_of`: where a pipeline that summarises a log
    /// split by customer starts folding the parts with [`Summary::merge`] (a part may be
    /// empty, and [`summarize`] refuses an empty log).
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use loyalty::rfm::{summarize, Summary, SummaryOptions, Transaction};
    /// use rust_decimal::Decimal;
    ///
    /// let day = |d| NaiveDate::from_ymd_opt(2024, 1, d).unwrap();
    /// let log: Vec<Transaction<u32>> = [(7, 2), (2, 3), (7, 9)]
    ///     .map(|(c, d)| Transaction::on(c, day(d), Decimal::TEN))
    ///     .to_vec();
    /// let (o, as_of) = (SummaryOptions::default(), day(31));
    /// // Customers split three ways by id: the first part is empty.
    /// let mut whole = Summary::empty(as_of, o);
    /// for r in 0..3 {
    ///     let part: Vec<_> = log.iter().filter(|t| t.customer % 3 == r).cloned().collect();
    ///     if !part.is_empty() {
    ///         whole = whole.merge(summarize(&part, as_of, o)?)?;
    ///     }
    /// }
    /// assert_eq!(whole, summarize(&log, as_of, o)?);
    /// # Ok::<(), loyalty::Error>(())
    /// ```
    #[must_use]
    pub fn empty(as_of: impl Into<NaiveDateTime>, options: SummaryOptions) -> Summary<K> {
        Summary {
            rows: Vec::new(),
            as_of: as_of.into(),
            options,
            transactions: 0,
            excluded_after_as_of: 0,
            negative_amounts: 0,
        }
    }

    /// The row of one customer.
    #[must_use]
    pub fn get(&self, customer: &K) -> Option<&CustomerSummary<K>>
    where
        K: Ord,
    {
        self.rows.binary_search_by(|r| r.customer.cmp(customer)).ok().map(|i| &self.rows[i])
    }

    /// Combines the summaries of two disjoint groups of customers (for example two partitions
    /// of a log split by customer) into the summary of both: rows merged in key order, counts
    /// added, amounts moved to the finer scale of the two. The result equals the summary of the
    /// concatenated logs, down to the scale of each amount.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when the two were made with different `as_of` or options,
    /// or when a customer appears in both (the inputs were not a partition of customers);
    /// [`ErrorKind::Overflow`](crate::ErrorKind::Overflow) when an amount does not fit
    /// `Decimal` at the finer scale.
    pub fn merge(self, other: Summary<K>) -> Result<Summary<K>>
    where
        K: Ord + fmt::Debug,
    {
        if self.as_of != other.as_of {
            return Err(Error::invalid(
                "as_of",
                other.as_of,
                format!("summaries to merge must share as_of {}", self.as_of),
            ));
        }
        if self.options != other.options {
            return Err(Error::invalid(
                "options",
                format!("{:?}", other.options),
                "summaries to merge must share their options",
            ));
        }
        let mut rows = Vec::with_capacity(self.rows.len() + other.rows.len());
        let mut a = self.rows.into_iter().peekable();
        let mut b = other.rows.into_iter().peekable();
        loop {
            let take_a = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) => match x.customer.cmp(&y.customer) {
                    std::cmp::Ordering::Less => true,
                    std::cmp::Ordering::Greater => false,
                    std::cmp::Ordering::Equal => {
                        return Err(Error::invalid(
                            "customer",
                            format!("{:?}", x.customer),
                            "appears in both summaries; partitions must be disjoint by customer",
                        ));
                    }
                },
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            let next = if take_a { a.next() } else { b.next() };
            rows.extend(next);
        }
        align_scales(&mut rows)?;
        Ok(Summary {
            rows,
            as_of: self.as_of,
            options: self.options,
            transactions: self.transactions + other.transactions,
            excluded_after_as_of: self.excluded_after_as_of + other.excluded_after_as_of,
            negative_amounts: self.negative_amounts + other.negative_amounts,
        })
    }
}

/// `10^k` for the scale differences of `Decimal` (at most 28).
pub(super) const POW10: [i128; 29] = {
    let mut t = [1i128; 29];
    let mut k = 1;
    while k < 29 {
        t[k] = t[k - 1] * 10;
        k += 1;
    }
    t
};

/// Amounts as `i128` mantissas at one scale shared by the whole pass (the largest scale seen
/// so far). Adding `Decimal`s directly is several times slower: each addition goes through
/// 32-bit limbs and a scale check, and this runs once per transaction.
struct Scale {
    scale: u32,
}

impl Scale {
    /// The mantissa of `d` at the shared scale, or `None` when `d` has a finer scale (the
    /// caller then rescales every running sum with [`Scale::widen`]).
    #[inline]
    fn mantissa(&self, d: Decimal) -> Option<Result<i128>> {
        let s = d.scale();
        if s == self.scale {
            Some(Ok(d.mantissa()))
        } else if s < self.scale {
            let f = POW10[(self.scale - s) as usize];
            Some(d.mantissa().checked_mul(f).ok_or_else(|| Error::overflow("spend sum")))
        } else {
            None
        }
    }

    /// Moves to the finer scale of `d`, returning the factor running sums must be multiplied
    /// by.
    fn widen(&mut self, d: Decimal) -> i128 {
        let f = POW10[(d.scale() - self.scale) as usize];
        self.scale = d.scale();
        f
    }

    /// The `Decimal` of mantissa `m` at the shared scale (at most 28: the largest scale of a
    /// `Decimal` seen), for `m` below 2^96 in magnitude (a larger one loses its high bits;
    /// callers check the range first). Built from its parts: the generic conversion's call
    /// and checks were most of the cost of building a row.
    #[inline(always)]
    fn decimal(&self, m: i128) -> Decimal {
        let abs = m.unsigned_abs();
        // The three 32-bit words of the mantissa.
        let (lo, mid, hi) = (abs as u32, (abs >> 32) as u32, (abs >> 64) as u32);
        Decimal::from_parts(lo, mid, hi, m < 0, self.scale)
    }
}

/// An `i128` stored as two words, so that it needs only 8-byte alignment: [`Acc`] then takes
/// 56 bytes and an entry keyed by a `u64` 64, where 16-byte alignment would pad it to 80.
#[derive(Clone, Copy)]
pub(super) struct Wide([u64; 2]);

impl Wide {
    #[inline]
    pub(super) fn get(self) -> i128 {
        ((u128::from(self.0[1]) << 64) | u128::from(self.0[0])) as i128
    }

    #[inline]
    fn set(&mut self, v: i128) {
        self.0 = [v as u64, ((v as u128) >> 64) as u64];
    }

    #[inline]
    pub(super) fn of(v: i128) -> Wide {
        let mut w = Wide([0; 2]);
        w.set(v);
        w
    }
}

/// A running sum of amount mantissas: exact in 128 bits ([`Wide`]) in general, an `i64` in
/// the direct table of [`direct`](super::direct), where a smaller slot means fewer cache lines
/// per transaction.
pub(super) trait Sum: Copy {
    /// The amount a transaction adds.
    type Amount: Copy;
    fn start(amount: Self::Amount) -> Self;
    /// `None` on overflow.
    fn plus(self, amount: Self::Amount) -> Option<Self>;
}

impl Sum for Wide {
    type Amount = i128;

    #[inline]
    fn start(amount: i128) -> Wide {
        Wide::of(amount)
    }

    #[inline]
    fn plus(self, amount: i128) -> Option<Wide> {
        self.get().checked_add(amount).map(Wide::of)
    }
}

impl Sum for i64 {
    type Amount = i64;

    #[inline]
    fn start(amount: i64) -> i64 {
        amount
    }

    #[inline]
    fn plus(self, amount: i64) -> Option<i64> {
        self.checked_add(amount)
    }
}

/// Running totals of one customer (or of one run of consecutive transactions of a customer).
#[derive(Clone, Copy)]
pub(super) struct Acc<S = Wide> {
    /// Sum of all amounts (mantissa at the pass's scale).
    pub(super) total: S,
    /// Sum of the amounts in the first period.
    pub(super) first_sum: S,
    pub(super) first_p: i32,
    /// Latest period so far; while periods arrive in order it is also the latest arrival.
    pub(super) last_p: i32,
    /// Distinct periods, exact unless `out_of_order`.
    pub(super) runs: u32,
    pub(super) orders: u32,
    pub(super) first_orders: u32,
    pub(super) out_of_order: bool,
}

/// `sum + amount`, or the overflow error of a spend sum.
#[inline]
fn add_sum<S: Sum>(sum: S, amount: S::Amount) -> Result<S> {
    sum.plus(amount).ok_or_else(|| Error::overflow("spend sum"))
}

impl<S: Sum> Acc<S> {
    #[inline]
    pub(super) fn new(p: i32, amount: S::Amount) -> Acc<S> {
        Acc {
            total: S::start(amount),
            first_sum: S::start(amount),
            first_p: p,
            last_p: p,
            runs: 1,
            orders: 1,
            first_orders: 1,
            out_of_order: false,
        }
    }

    #[inline]
    pub(super) fn add(&mut self, p: i32, amount: S::Amount) -> Result<()> {
        self.orders = self.orders.checked_add(1).ok_or_else(|| Error::overflow("order count"))?;
        self.total = add_sum(self.total, amount)?;
        if p > self.last_p {
            self.runs += 1;
            self.last_p = p;
        } else if p < self.last_p {
            // Counted again exactly by `recount_out_of_order`.
            self.out_of_order = true;
            self.runs += 1;
        }
        if p <= self.first_p {
            if p < self.first_p {
                self.first_p = p;
                self.first_sum = S::start(amount);
                self.first_orders = 1;
            } else {
                self.first_sum = add_sum(self.first_sum, amount)?;
                self.first_orders += 1;
            }
        }
        Ok(())
    }
}

impl Acc<i64> {
    /// The exact accumulator, its sums multiplied by `factor` (a move to a finer scale).
    #[inline]
    pub(super) fn widen(&self, factor: i128) -> Result<Acc> {
        let mul = |m: i64| {
            i128::from(m)
                .checked_mul(factor)
                .map(Wide::of)
                .ok_or_else(|| Error::overflow("spend sum"))
        };
        let Acc { first_p, last_p, runs, orders, first_orders, out_of_order, .. } = *self;
        let (total, first_sum) = (mul(self.total)?, mul(self.first_sum)?);
        Ok(Acc { total, first_sum, first_p, last_p, runs, orders, first_orders, out_of_order })
    }
}

impl Acc {
    /// Appends a later run of the same customer.
    fn absorb(&mut self, o: &Acc) -> Result<()> {
        self.orders =
            self.orders.checked_add(o.orders).ok_or_else(|| Error::overflow("order count"))?;
        self.total = add_sum(self.total, o.total.get())?;
        // Exact when the run starts no earlier than everything before it: the periods then
        // overlap in at most the one shared boundary period.
        if o.out_of_order || o.first_p < self.last_p {
            self.out_of_order = true;
            self.runs = self.runs.saturating_add(o.runs);
        } else {
            self.runs += o.runs - u32::from(o.first_p == self.last_p);
        }
        if o.first_p < self.first_p {
            self.first_p = o.first_p;
            self.first_sum = o.first_sum;
            self.first_orders = o.first_orders;
        } else if o.first_p == self.first_p {
            self.first_sum = add_sum(self.first_sum, o.first_sum.get())?;
            self.first_orders += o.first_orders;
        }
        self.last_p = self.last_p.max(o.last_p);
        Ok(())
    }

    fn rescale(&mut self, factor: i128) -> Result<()> {
        let mul = |m: i128| m.checked_mul(factor).ok_or_else(|| Error::overflow("spend sum"));
        self.total.set(mul(self.total.get())?);
        self.first_sum.set(mul(self.first_sum.get())?);
        Ok(())
    }
}

/// Maps timestamps to unit-period indices, remembering the last date (logs come in runs of
/// equal dates, and the calendar arithmetic is the costly part).
pub(super) struct Indexer {
    period: Period,
    date: NaiveDate,
    days: i64,
}

impl Indexer {
    pub(super) fn new(period: Period) -> Indexer {
        let date = NaiveDate::MIN;
        Indexer { period, date, days: period.day_index(date) }
    }

    #[inline]
    pub(super) fn index(&mut self, at: NaiveDateTime) -> Result<i32> {
        let date = at.date();
        if date != self.date {
            self.date = date;
            self.days = self.period.day_index(date);
        }
        let p = self.period.index_from_days(self.days, at);
        i32::try_from(p)
            .map_err(|_| Error::invalid("timestamp", at, "too far from year 0 for hourly periods"))
    }
}

/// Summarises a transaction log per customer as of `as_of`.
///
/// With the default options this is lifetimes' `summary_data_from_transaction_data`
/// (Fader, Hardie & Lee 2005 input conventions): timestamps are floored to their period,
/// purchases in one period merge (amounts summed), and per customer
/// `frequency = distinct periods − 1`, `recency = last − first`, `T = as_of − first` (periods,
/// divided by the multiple) and `monetary_value` = mean spend of the repeat periods (0
/// without one). Transactions after `as_of` are left out and counted
/// ([`Summary::excluded_after_as_of`]). The input need not be sorted; the output does not
/// depend on its order.
///
/// # Performance
///
/// One thread, and no allocation per customer unless cloning `K` allocates. Which pass runs
/// depends on the order of the log:
///
/// - **Grouped by customer, keys ascending** (a log sorted by customer, as CDNOW's): one
///   streaming pass accumulates each customer in registers and builds its row as soon as its
///   transactions end, so the rows come out in key order with no hashing, no sort and no
///   intermediate storage. A customer whose transactions are not in time order within the
///   group has its distinct periods counted on the spot.
/// - **Dense integer ids in time order** (an append-only log of a shop with auto-increment
///   ids: a key whose `Hash` writes one integer, as the primitive integers and their newtypes
///   do, a sampled range of at most one id per four transactions, and few transactions
///   arriving after a later one of the same customer): one pass updates each customer's
///   running totals in a table addressed by the id (48 bytes a slot for a 64-bit key),
///   prefetching the slots of the transactions 32 positions ahead, so the table's cache
///   misses overlap instead of being waited for one by one. The rows are built by one scan
///   of the table, in id order (sorted afterwards for a key whose `Ord` disagrees).
///   Customers whose periods arrived out of order are counted again by a second read of the
///   log for them alone; keys outside the sampled range are aggregated by hashing. Every
///   transaction's key is compared with its slot's, so a `Hash` that writes one integer for
///   two different keys takes the hash partitions instead. Amounts whose scales lie more
///   than 18 digits apart, or sums beyond an `i64`, take the range partitions. Scratch
///   memory: the table, plus 16 bytes per transaction of a key outside the sampled range and
///   4 bytes per transaction of a customer counted again.
/// - **Any other order** (shuffled, newest first, or keys that are not dense integers): a
///   partitioned aggregation. One pass appends a 16-byte record per transaction for an
///   integer key (the key, and one word packing a 39-bit amount, its scale and the periods
///   back from `as_of`) to one of up to 1,024 partitions; each partition is then aggregated
///   while it fits in cache, and the rows are built in key order. A plain hash map over all
///   customers would pay a cache miss per transaction instead (0.66 s on the time-ordered log
///   below). How keys are partitioned:
///   - **Dense integer ids** (as above, up to about two ids per transaction): partitions by
///     key range, and within one a table addressed by the id itself, so there is no hashing,
///     no probing and no sort, and each partition's rows are built from its table while it
///     is in cache. Keys outside the sampled range take two side partitions. Scratch memory:
///     the records, and one table of 2,048 or more slots.
///   - **Other keys** (strings, sparse ids): partitions by hash bits (a deterministic
///     multiply-rotate hasher), a small linear-probing index per partition, the partition's
///     keys sorted in cache, and the sorted `(key, index)` runs merged. Scratch memory: the
///     records, plus 72 bytes per customer. Sparse 64-bit ids in time order take 0.12 to
///     0.2 s on the log below. Keys that own heap memory (`String`) are much slower: a
///     record refers to its key in the log, so each hash and comparison of the aggregation
///     reads memory far from the last (1.25 s for the log below with 8-character `String`
///     ids). Mapping such ids to integers first, or to an inline key type, avoids that.
///
///   Customers whose transactions arrive out of time order have their distinct periods
///   counted again within their partition, with a bitset over their span (most customers of
///   a shuffled log, hence its extra cost). Amounts beyond 39 bits (token amounts with 18
///   decimals, say) take 24-byte records, and mantissas beyond an `i64` fall back to a hash
///   map.
///
/// Measured with `benches/rfm.rs` (5,000,000 transactions, 400,000 customers with ids
/// `0..400_000`; criterion medians on the 2-core machine, each layout in a process of its
/// own):
///
/// | layout | seconds | `summarize_par`, 2 threads |
/// |---|---|---|
/// | grouped by customer | 0.055 | 0.051 |
/// | grouped, no time order within a customer | 0.078 | |
/// | time order | 0.061 | 0.069 (one thread: the direct pass) |
/// | shuffled | 0.184 | |
///
/// The passes are bound by memory. In time order about 40 ms go to the table's updates while
/// the 200 MB log streams by (80 to 100 ms without the prefetch), and the rest to writing
/// the table and the 32 MB of rows (80 bytes per customer for a 64-bit key) into fresh
/// pages: a fresh process takes about 0.08 s, as its first call pays for every page, where
/// the bench's repeated calls reuse pages the allocator kept. A shuffled log writes 80 MB of
/// records as well, and most of its customers have their periods counted again.
///
/// # Errors
///
/// - [`ErrorKind::EmptyInput`](crate::ErrorKind::EmptyInput) for an empty log.
/// - [`ErrorKind::InvalidRecord`](crate::ErrorKind::InvalidRecord) for the first negative amount under
///   [`NegativeAmounts::Reject`].
/// - [`ErrorKind::Overflow`](crate::ErrorKind::Overflow) if a customer's spend overflows `Decimal` or its order count
///   `u32`, or a duration exceeds `u32` periods.
/// - [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for timestamps beyond year ±245,000 with hourly periods.
///
/// An `as_of` before all data is not an error: the summary is empty and every transaction is
/// counted in [`Summary::excluded_after_as_of`].
///
/// # Example
///
/// The first pinned case of lifetimes' tests:
///
/// ```
/// use chrono::NaiveDate;
/// use loyalty::rfm::{summarize, SummaryOptions, Transaction};
/// use rust_decimal::Decimal;
///
/// let d = |m, day| NaiveDate::from_ymd_opt(2015, m, day).unwrap();
/// let one = Decimal::ONE;
/// let log = [
///     Transaction::on(1, d(2, 1), one),
///     Transaction::on(1, d(2, 6), one),
///     Transaction::on(2, d(1, 1), one),
///     Transaction::on(3, d(1, 1), one),
///     Transaction::on(3, d(1, 2), one),
///     Transaction::on(3, d(1, 5), one),
/// ];
/// let s = summarize(&log, d(2, 7), SummaryOptions::default())?;
/// let rows: Vec<_> =
///     s.rows().iter().map(|r| (*r.customer(), r.frequency(), r.recency(), r.t())).collect();
/// assert_eq!(rows, [(1, 1, 5.0, 6.0), (2, 0, 0.0, 37.0), (3, 2, 4.0, 37.0)]);
/// # Ok::<(), loyalty::Error>(())
/// ```
pub fn summarize<K>(
    transactions: &[Transaction<K>],
    as_of: impl Into<NaiveDateTime>,
    options: SummaryOptions,
) -> Result<Summary<K>>
where
    K: Ord + Hash + Clone,
{
    summarize_where(transactions, as_of.into(), options, |_| true)
}

/// [`summarize`] restricted to the customers `keep` accepts (the shards of the parallel
/// version).
pub(crate) fn summarize_where<K, F>(
    transactions: &[Transaction<K>],
    as_of: NaiveDateTime,
    options: SummaryOptions,
    keep: F,
) -> Result<Summary<K>>
where
    K: Ord + Hash + Clone,
    F: Fn(&K) -> bool,
{
    if transactions.is_empty() {
        return Err(Error::empty("transaction log"));
    }
    if let Some(summary) = grouped(transactions, as_of, options, &keep)? {
        return Ok(summary);
    }
    // Not grouped by customer: aggregate by partitions, from the start; by key range for
    // dense integer ids, by hash otherwise.
    if let Some(summary) = dense::summarize(transactions, as_of, &options, &keep)? {
        return Ok(summary);
    }
    let bits = partition_bits(transactions.len());
    if let Some(summary) = partition::summarize(transactions, as_of, &options, &keep, bits)? {
        return Ok(summary);
    }
    hashed(transactions, as_of, options, &keep)
}

/// The checks every pass makes of a transaction, in one order (so that every pass reports the
/// same error), and the counts of what they leave out.
pub(super) struct Window {
    as_of: NaiveDateTime,
    pub(super) end_p: i64,
    reject: bool,
    cutoff: Cutoff,
    indexer: Indexer,
    /// Transactions after the window.
    pub(super) excluded: u64,
    /// Transactions inside the window with a negative amount.
    pub(super) negatives: u64,
}

impl Window {
    pub(super) fn new(as_of: NaiveDateTime, options: &SummaryOptions) -> Window {
        Window {
            as_of,
            end_p: options.period.index(as_of),
            reject: options.negative == NegativeAmounts::Reject,
            cutoff: options.cutoff,
            indexer: Indexer::new(options.period),
            excluded: 0,
            negatives: 0,
        }
    }

    /// The period of transaction `i` when it lies inside the window, `None` (and counted)
    /// when it lies after it.
    #[inline(always)]
    pub(super) fn admit<K>(&mut self, i: usize, tx: &Transaction<K>) -> Result<Option<i32>> {
        let negative = tx.amount.is_sign_negative() && !tx.amount.is_zero();
        if negative && self.reject {
            return Err(Error::invalid_record(
                i,
                "amount",
                tx.amount,
                "negative amounts are rejected by the options",
            ));
        }
        let p = self.indexer.index(tx.at)?;
        let inside = match self.cutoff {
            Cutoff::EndOfPeriod => i64::from(p) <= self.end_p,
            Cutoff::Instant => tx.at <= self.as_of,
        };
        if inside {
            self.negatives += u64::from(negative);
            Ok(Some(p))
        } else {
            self.excluded += 1;
            Ok(None)
        }
    }
}

/// The accumulator of the run (consecutive transactions of one customer) that starts at `i`,
/// and where the run ends. `None` when `keep` refuses the customer or no transaction of the
/// run lies in the window. `periods` receives the run's periods. A finer scale than any so far
/// rescales the run, and `widen` is called with the factor for every other running sum.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn run<K: PartialEq, F: Fn(&K) -> bool>(
    transactions: &[Transaction<K>],
    i: usize,
    keep: &F,
    window: &mut Window,
    scale: &mut Scale,
    periods: &mut Vec<i32>,
    widen: &mut impl FnMut(i128) -> Result<()>,
) -> Result<(usize, Option<Acc>)> {
    let key = &transactions[i].customer;
    let take = keep(key);
    let mut acc: Option<Acc> = None;
    periods.clear();
    let mut j = i;
    while let Some(tx) = transactions.get(j).filter(|tx| tx.customer == *key) {
        j += 1;
        if !take {
            continue;
        }
        let Some(p) = window.admit(j - 1, tx)? else { continue };
        let amount = match scale.mantissa(tx.amount) {
            Some(m) => m?,
            None => {
                // A finer scale than any so far: rescale every running sum (rare).
                let f = scale.widen(tx.amount);
                widen(f)?;
                if let Some(a) = &mut acc {
                    a.rescale(f)?;
                }
                tx.amount.mantissa()
            }
        };
        periods.push(p);
        match &mut acc {
            Some(a) => a.add(p, amount)?,
            None => acc = Some(Acc::new(p, amount)),
        }
    }
    Ok((j, acc))
}

/// Makes the distinct-period count of a run exact when its periods came out of order.
fn settle(acc: &mut Acc, periods: &mut [i32]) {
    if acc.out_of_order {
        let (lo, hi) = (i64::from(acc.first_p), i64::from(acc.last_p));
        acc.runs = distinct(periods, |&p| i64::from(p) - lo, hi - lo);
        acc.out_of_order = false;
    }
}

/// Periods a stack bitset covers: over 5 years of days.
const BITSET_SPAN: usize = 2048;

/// The number of distinct values among `values`, whose offsets (`offset`) lie in
/// `0..=max_offset`. A customer's periods usually span a few years of days, so a bitset over
/// that span counts them in a few operations per value; a longer span (or an offset outside
/// it) falls back to sorting.
pub(super) fn distinct<T: Ord>(
    values: &mut [T],
    offset: impl Fn(&T) -> i64,
    max_offset: i64,
) -> u32 {
    if usize::try_from(max_offset).is_ok_and(|m| m < BITSET_SPAN) {
        let mut bits = [0u64; BITSET_SPAN / 64];
        let mut inside = true;
        for v in values.iter() {
            match usize::try_from(offset(v)).ok().and_then(|o| bits.get_mut(o >> 6).map(|w| (w, o)))
            {
                Some((w, o)) => *w |= 1 << (o & 63),
                None => inside = false,
            }
        }
        if inside {
            // At most `values.len()`, which callers count in `u32`.
            return bits.iter().map(|w| w.count_ones()).sum();
        }
    }
    values.sort_unstable();
    // At most `values.len()`, which callers count in `u32`.
    (1 + values.windows(2).filter(|w| w[0] != w[1]).count()) as u32
}

/// The pass for a log whose customers come in ascending key order, each one's transactions
/// together (a log sorted by customer, as CDNOW's): each run is a whole customer, whose row is
/// built as soon as the run ends, already in key order; no hashing, no sort, no intermediate
/// storage. `None` as soon as a customer comes out of order.
fn grouped<K, F>(
    transactions: &[Transaction<K>],
    as_of: NaiveDateTime,
    options: SummaryOptions,
    keep: &F,
) -> Result<Option<Summary<K>>>
where
    K: Ord + Clone,
    F: Fn(&K) -> bool,
{
    let mut window = Window::new(as_of, &options);
    let mut scale = Scale { scale: 0 };
    let mut rows: Vec<CustomerSummary<K>> = Vec::new();
    let mut periods: Vec<i32> = Vec::new();
    let mut orders = 0u64;
    let mut i = 0;
    while i < transactions.len() {
        // `f` is a power of ten, so its digits count the step to the finer scale.
        let mut widen =
            |f: i128| rows.iter_mut().try_for_each(|r| r.move_to_scale(r.scale() + f.ilog10()));
        let (j, acc) =
            run(transactions, i, keep, &mut window, &mut scale, &mut periods, &mut widen)?;
        let key = &transactions[i].customer;
        i = j;
        let Some(mut acc) = acc else { continue };
        if rows.last().is_some_and(|last| last.customer >= *key) {
            return Ok(None);
        }
        settle(&mut acc, &mut periods);
        orders += u64::from(acc.orders);
        rows.push(row(key.clone(), &acc, window.end_p, &options, &scale)?);
    }
    Ok(Some(Summary {
        rows,
        as_of,
        options,
        transactions: orders,
        excluded_after_as_of: window.excluded,
        negative_amounts: window.negatives,
    }))
}

/// The pass with a hash map of accumulators, for amounts whose mantissa does not fit the
/// partitioned path's records. Runs are accumulated locally and merged into the map.
fn hashed<K, F>(
    transactions: &[Transaction<K>],
    as_of: NaiveDateTime,
    options: SummaryOptions,
    keep: &F,
) -> Result<Summary<K>>
where
    K: Ord + Hash + Clone,
    F: Fn(&K) -> bool,
{
    let mut window = Window::new(as_of, &options);
    let mut scale = Scale { scale: 0 };
    let mut accs: HashMap<K, Acc, FxBuild> = HashMap::default();
    let mut periods: Vec<i32> = Vec::new();
    let mut out_of_order = false;
    let mut i = 0;
    while i < transactions.len() {
        let mut widen = |f: i128| accs.values_mut().try_for_each(|a| a.rescale(f));
        let (j, acc) =
            run(transactions, i, keep, &mut window, &mut scale, &mut periods, &mut widen)?;
        let key = &transactions[i].customer;
        i = j;
        let Some(mut acc) = acc else { continue };
        settle(&mut acc, &mut periods);
        match accs.get_mut(key) {
            Some(a) => {
                a.absorb(&acc)?;
                out_of_order |= a.out_of_order;
            }
            None => {
                accs.insert(key.clone(), acc);
            }
        }
    }
    if out_of_order {
        recount_out_of_order(transactions, &mut accs, keep, &options, as_of)?;
    }
    let mut keyed: Vec<(K, Acc)> = accs.into_iter().collect();
    keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let len = keyed.len();
    let (excluded, negatives) = (window.excluded, window.negatives);
    finish(keyed, len, scale.scale, as_of, window.end_p, options, excluded, negatives)
}

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

    /// Adds the row of `customer` from its accumulator.
    #[inline]
    pub(super) fn push(&mut self, customer: K, acc: &Acc) -> Result<()> {
        if let Some(last) = self.rows.last() {
            self.ascending &= last.customer < customer;
        }
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

/// Exact distinct-period counts for customers whose transactions arrived out of time order:
/// number those customers densely, collect their `(number, period)` pairs, sort them and count
/// the distinct ones.
fn recount_out_of_order<K, F>(
    transactions: &[Transaction<K>],
    accs: &mut HashMap<K, Acc, FxBuild>,
    keep: &F,
    options: &SummaryOptions,
    as_of: NaiveDateTime,
) -> Result<()>
where
    K: Ord + Hash,
    F: Fn(&K) -> bool,
{
    // `runs` is meaningless for these customers until recounted: it holds the number.
    let mut out_of_order = 0u32;
    for acc in accs.values_mut().filter(|a| a.out_of_order) {
        acc.runs = out_of_order;
        out_of_order += 1;
    }
    // The first pass's checks; they passed for every transaction of a kept customer then.
    let mut window = Window::new(as_of, options);
    let mut pairs: Vec<(u32, i32)> = Vec::new();
    for (i, tx) in transactions.iter().enumerate() {
        let number = match accs.get(&tx.customer) {
            Some(a) if a.out_of_order && keep(&tx.customer) => a.runs,
            _ => continue,
        };
        if let Some(p) = window.admit(i, tx)? {
            pairs.push((number, p));
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    let mut distinct = vec![0u32; out_of_order as usize];
    for (number, _) in &pairs {
        distinct[*number as usize] += 1;
    }
    // The same iteration order as the numbering: the map was not changed in between.
    for acc in accs.values_mut().filter(|a| a.out_of_order) {
        acc.runs = distinct[acc.runs as usize];
    }
    Ok(())
}

impl<K> CustomerSummary<K> {
    /// The scale of the row's amounts.
    fn scale(&self) -> u32 {
        u32::from(self.scale)
    }

    /// Moves the row's amounts to `scale`, at least as fine as theirs (a later transaction
    /// had a finer scale than any before, or rows of two summaries are combined). On error
    /// the row is left as it was.
    fn move_to_scale(&mut self, scale: u32) -> Result<()> {
        // `self.scale <= scale <= 28`.
        let f = POW10[(scale - self.scale()) as usize];
        let finer = |m: i128| m.checked_mul(f).ok_or_else(beyond_decimal);
        let (total, first) = (finer(self.total.get())?, finer(self.first.get())?);
        if !amounts_fit(total, first, self.spend) {
            return Err(beyond_decimal());
        }
        self.total = Wide::of(total);
        self.first = Wide::of(first);
        // At most 28.
        self.scale = scale as u8;
        Ok(())
    }
}

/// Whether a mantissa is within the 96 bits of a `Decimal`'s.
fn fits_decimal(m: i128) -> bool {
    m.unsigned_abs() >> 96 == 0
}

/// Whether every amount a row's accessors make a `Decimal` of fits one: its total, its first
/// period's spend and, when monetary value divides the repeat spend, their difference (which
/// cannot overflow once both fit).
fn amounts_fit(total: i128, first: i128, spend: Spend) -> bool {
    fits_decimal(total)
        && fits_decimal(first)
        && (spend == Spend::Total || fits_decimal(total - first))
}

fn beyond_decimal() -> Error {
    Error::overflow("spend sum beyond the range of Decimal")
}

/// Moves every row's amounts to the finest scale among them, as one pass over the combined
/// logs would have summed them: the rows of summaries made apart are then the rows of the
/// summary made at once, down to the scale of each amount.
fn align_scales<K>(rows: &mut [CustomerSummary<K>]) -> Result<()> {
    let Some(scale) = rows.iter().map(CustomerSummary::scale).max() else { return Ok(()) };
    for r in rows.iter_mut().filter(|r| r.scale() != scale) {
        r.move_to_scale(scale)?;
    }
    Ok(())
}

/// The row of `customer` from its accumulator. Inlined into its callers: returned through
/// memory, the row's last bytes (written one at a time) were read back as one word, which
/// stalls on store forwarding.
#[inline(always)]
fn row<K>(
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

/// Multi-core [`summarize`], with the same result.
///
/// A log grouped by customer (keys ascending) is cut into one contiguous piece per rayon
/// thread at customer boundaries; each piece takes the grouped pass, and the pieces' rows are
/// concatenated. A log of dense integer ids in time order takes the direct pass of
/// [`summarize`] on one thread (shards were slower there). Any other log is split by key
/// ranges instead, from splitters picked out of an evenly spaced sample of the keys: each
/// shard reads the whole log, takes the transactions of its own customers (two key
/// comparisons each) through the radix-partitioned path, and the shards' rows, in ascending
/// key ranges, are concatenated. Either way no sort follows, and
/// amounts are brought to the finest scale among the pieces. Logs of fewer than 65,536
/// transactions, or a pool of one thread, take [`summarize`]. Timings are in the
/// `# Performance` section of [`summarize`].
///
/// # Errors
///
/// As [`summarize`]; with several bad rows the first one is reported, as in the sequential
/// version.
#[cfg(feature = "rayon")]
pub fn summarize_par<K>(
    transactions: &[Transaction<K>],
    as_of: impl Into<NaiveDateTime>,
    options: SummaryOptions,
) -> Result<Summary<K>>
where
    K: Ord + Hash + Clone + Send + Sync,
{
    use rayon::prelude::*;

    let as_of = as_of.into();
    let threads = rayon::current_num_threads().max(1);
    if threads == 1 || transactions.len() < PAR_MIN {
        return summarize_where(transactions, as_of, options, |_| true);
    }

    // Grouped: contiguous pieces, cut where the customer changes.
    let n = transactions.len();
    let mut cuts = vec![0];
    for t in 1..threads {
        let mut at = (n * t / threads).max(*cuts.last().unwrap_or(&0));
        while at < n && at > 0 && transactions[at].customer == transactions[at - 1].customer {
            at += 1;
        }
        cuts.push(at);
    }
    cuts.push(n);
    let pieces: Vec<Result<Option<Summary<K>>>> = cuts
        .par_windows(2)
        .map(|w| {
            let piece = &transactions[w[0]..w[1]];
            grouped(piece, as_of, options, &|_: &K| true).map_err(|e| shift(e, w[0]))
        })
        .collect();
    let mut done = Vec::with_capacity(pieces.len());
    let mut grouped_all = true;
    for piece in pieces {
        match piece {
            Ok(Some(s)) => done.push(s),
            Ok(None) => {
                grouped_all = false;
                break;
            }
            // The first bad row of the first piece with one: the sequential pass, grouped up
            // to there, stops at the same row.
            Err(e) => return Err(e),
        }
    }
    // Each piece is in key order; so is their concatenation when every piece with rows ends
    // below where the next one with rows starts.
    let mut ranges = done.iter().filter_map(|s| Some((s.rows.first()?, s.rows.last()?)));
    let ascending = ranges.next().is_none_or(|first| {
        ranges
            .try_fold(first.1, |last, (lo, hi)| (last.customer < lo.customer).then_some(hi))
            .is_some()
    });
    if grouped_all && ascending {
        return concatenate(done, as_of, options);
    }

    // Dense ids in time order: the direct pass, on one thread. Shards would each read the
    // whole log and fault in the pages of their tables in one address space, which made two
    // threads slower than one (0.081 s against 0.061 s on the bench's time-ordered log).
    if dense::direct(transactions, as_of, &options) {
        return summarize_where(transactions, as_of, options, |_| true);
    }

    // Any other order: key-range shards.
    let splitters = splitters(transactions, threads);
    let parts: Vec<Result<Summary<K>>> = (0..=splitters.len())
        .into_par_iter()
        .map(|i| {
            let lo = i.checked_sub(1).map(|j| splitters[j]);
            let hi = splitters.get(i).copied();
            summarize_where(transactions, as_of, options, |k| {
                lo.is_none_or(|lo| lo <= k) && hi.is_none_or(|hi| k < hi)
            })
        })
        .collect();
    let mut first_error: Option<Error> = None;
    let mut ok = Vec::with_capacity(parts.len());
    for part in parts {
        match part {
            Ok(s) => ok.push(s),
            Err(e) => {
                let index = |e: &Error| match e.kind() {
                    ErrorKind::InvalidRecord { index, .. } => *index,
                    _ => usize::MAX,
                };
                if first_error.as_ref().is_none_or(|f| index(&e) < index(f)) {
                    first_error = Some(e);
                }
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => concatenate(ok, as_of, options),
    }
}

/// Logs shorter than this are summarised on one thread: splitting them costs more than it
/// saves.
#[cfg(feature = "rayon")]
const PAR_MIN: usize = 1 << 16;

/// An error of a piece of the log, with its row index moved to the whole log's.
#[cfg(feature = "rayon")]
fn shift(e: Error, offset: usize) -> Error {
    match e.kind() {
        ErrorKind::InvalidRecord { index, field, value, reason } => {
            Error::invalid_record(index + offset, field, value, reason.clone())
        }
        _ => e,
    }
}

/// Up to `shards - 1` distinct keys that cut an evenly spaced sample of the log's keys into
/// `shards` parts of about equal size, ascending.
#[cfg(feature = "rayon")]
fn splitters<K: Ord>(transactions: &[Transaction<K>], shards: usize) -> Vec<&K> {
    const SAMPLE_PER_SHARD: usize = 256;
    let step = (transactions.len() / (SAMPLE_PER_SHARD * shards)).max(1);
    let mut sample: Vec<&K> = transactions.iter().step_by(step).map(|t| &t.customer).collect();
    sample.sort_unstable();
    let mut out: Vec<&K> = (1..shards).map(|i| sample[i * sample.len() / shards]).collect();
    out.dedup();
    // The first key of the sample would leave the first shard empty.
    out.retain(|k| *k > sample[0]);
    out
}

/// The summary of pieces holding ascending, disjoint ranges of customers.
#[cfg(feature = "rayon")]
fn concatenate<K>(
    pieces: Vec<Summary<K>>,
    as_of: NaiveDateTime,
    options: SummaryOptions,
) -> Result<Summary<K>> {
    let mut pieces = pieces.into_iter();
    let mut whole = match pieces.next() {
        Some(first) => first,
        None => return Err(Error::empty("transaction log")),
    };
    for p in pieces {
        whole.rows.extend(p.rows);
        whole.transactions += p.transactions;
        whole.excluded_after_as_of += p.excluded_after_as_of;
        whole.negative_amounts += p.negative_amounts;
    }
    align_scales(&mut whole.rows)?;
    whole.as_of = as_of;
    whole.options = options;
    Ok(whole)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_round_trips_extremes() {
        for v in [0i128, 1, -1, i128::MAX, i128::MIN, 79_228_162_514_264_337_593_543_950_335] {
            assert_eq!(Wide::of(v).get(), v);
        }
        assert_eq!(std::mem::size_of::<Acc>(), 56);
    }

    #[test]
    fn shared_scale_widens_and_converts_back() {
        let mut scale = Scale { scale: 0 };
        assert_eq!(scale.mantissa(Decimal::new(7, 0)).unwrap().unwrap(), 7);
        // 1.25 has a finer scale: the caller must rescale, by 100.
        assert!(scale.mantissa(Decimal::new(125, 2)).is_none());
        assert_eq!(scale.widen(Decimal::new(125, 2)), 100);
        assert_eq!(scale.mantissa(Decimal::new(3, 1)).unwrap().unwrap(), 30);
        assert_eq!(scale.decimal(700 + 125 + 30), Decimal::new(855, 2));
        assert_eq!(scale.decimal(-(1 << 95)), Decimal::from_i128_with_scale(-(1 << 95), 2));
    }

    #[test]
    fn runs_merge_exactly_when_in_order() {
        // Periods 1, 2 | 2, 5: three distinct periods.
        let mut a = Acc::new(1, 10);
        a.add(2, 20).unwrap();
        let mut b = Acc::new(2, 5);
        b.add(5, 1).unwrap();
        a.absorb(&b).unwrap();
        assert_eq!((a.runs, a.orders, a.first_p, a.last_p, a.out_of_order), (3, 4, 1, 5, false));
        assert_eq!((a.total.get(), a.first_sum.get()), (36, 10));
        // A run starting before the last period seen is flagged for the exact recount.
        let mut c = Acc::new(3, 1);
        c.absorb(&Acc::new(1, 1)).unwrap();
        assert!(c.out_of_order);
        assert_eq!((c.first_p, c.first_sum.get(), c.first_orders), (1, 1, 1));
    }

    #[test]
    fn distinct_counts_by_bitset_or_by_sort() {
        let off = |v: &i64| *v - 100;
        // A short span: the bitset, including both ends of the range.
        let mut v = vec![105, 100, 105, 2147, 100, 120];
        assert_eq!(distinct(&mut v, off, 2047), 4);
        // A span beyond the bitset: sorted and counted.
        let mut v = vec![100, 5000, 100, 2148, 3000];
        assert_eq!(distinct(&mut v, off, 4900), 4);
        // An offset outside the stated range falls back to sorting rather than miscount.
        let mut v = vec![100, 99, 100, 101];
        assert_eq!(distinct(&mut v, off, 10), 3);
        let mut one = vec![7];
        assert_eq!(distinct(&mut one, |v: &i64| *v - 7, 0), 1);
    }

    #[test]
    fn out_of_order_customers_are_recounted() {
        let day = |d| NaiveDate::from_ymd_opt(2024, 1, d).unwrap();
        // Customer 1 arrives as days 5, 1, 5, 3: three distinct days.
        let log = [
            Transaction::on(1u8, day(5), Decimal::ONE),
            Transaction::on(1, day(1), Decimal::ONE),
            Transaction::on(1, day(5), Decimal::ONE),
            Transaction::on(2, day(2), Decimal::ONE),
            Transaction::on(1, day(3), Decimal::ONE),
        ];
        let s = summarize(&log, day(10), SummaryOptions::default()).unwrap();
        let r = s.get(&1).unwrap();
        assert_eq!((r.purchase_periods(), r.frequency(), r.recency(), r.t()), (3, 2, 4.0, 9.0));
        assert_eq!(r.first_purchase_amount(), Decimal::ONE);
        assert_eq!(r.monetary_value(), Decimal::new(15, 1)); // days 3 and 5: 1 and 2
    }
}
