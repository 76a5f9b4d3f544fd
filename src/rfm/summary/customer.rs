//! One customer's row of a summary: its period counts and two amounts, kept as mantissas at
//! one scale, from which the lifetimes columns are derived on demand.

use std::fmt;

use chrono::NaiveDateTime;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use super::mantissa::{Scale, Wide, POW10};
#[cfg(doc)]
use super::options::{FirstPurchase, FrequencyCount, MonetaryMeasure, SummaryOptions};
#[cfg(feature = "serde")]
use crate::error::ErrorKind;
use crate::error::{Error, Result};
use crate::rfm::period::{MonthLength, Period};

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
    /// The period recency and `T` are counted in: the summary's.
    pub period: Period,
}

/// One customer's summary: a row of [`Summary`](crate::rfm::Summary).
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
    pub(super) customer: K,
    /// Total spend and the first period's spend, as mantissas at `scale`. The spend of the
    /// repeat periods (their difference) is within `Decimal`'s range too when `spend` is
    /// [`Spend::Repeat`].
    pub(super) total: Wide,
    pub(super) first: Wide,
    pub(super) first_period: i32,
    pub(super) recency_periods: u32,
    pub(super) t_periods: u32,
    pub(super) frequency: u32,
    /// Monetary value is the spend divided by this (0 when it is 0), computed on demand:
    /// the division is the costly part of a row.
    pub(super) divisor: u32,
    pub(super) purchase_periods: u32,
    pub(super) orders: u32,
    pub(super) period: Period,
    /// At most 28, as a `Decimal`'s.
    pub(super) scale: u8,
    pub(super) spend: Spend,
    pub(super) months: MonthLength,
}

/// The spend a row's monetary value divides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Spend {
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

    /// The period recency and `T` are counted in (the summary's).
    #[must_use]
    pub fn period(&self) -> Period {
        self.period
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
            period: self.period,
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

impl<K> CustomerSummary<K> {
    /// The scale of the row's amounts.
    pub(super) fn scale(&self) -> u32 {
        u32::from(self.scale)
    }

    /// Moves the row's amounts to `scale`, at least as fine as theirs (a later transaction
    /// had a finer scale than any before, or rows of two summaries are combined). On error
    /// the row is left as it was.
    pub(super) fn move_to_scale(&mut self, scale: u32) -> Result<()> {
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
pub(super) fn fits_decimal(m: i128) -> bool {
    m.unsigned_abs() >> 96 == 0
}

/// Whether every amount a row's accessors make a `Decimal` of fits one: its total, its first
/// period's spend and, when monetary value divides the repeat spend, their difference (which
/// cannot overflow once both fit).
pub(super) fn amounts_fit(total: i128, first: i128, spend: Spend) -> bool {
    fits_decimal(total)
        && fits_decimal(first)
        && (spend == Spend::Total || fits_decimal(total - first))
}

pub(super) fn beyond_decimal() -> Error {
    Error::overflow("spend sum beyond the range of Decimal")
}

/// Moves every row's amounts to the finest scale among them, as one pass over the combined
/// logs would have summed them: the rows of summaries made apart are then the rows of the
/// summary made at once, down to the scale of each amount.
pub(super) fn align_scales<K>(rows: &mut [CustomerSummary<K>]) -> Result<()> {
    let Some(scale) = rows.iter().map(CustomerSummary::scale).max() else { return Ok(()) };
    for r in rows.iter_mut().filter(|r| r.scale() != scale) {
        r.move_to_scale(scale)?;
    }
    Ok(())
}
