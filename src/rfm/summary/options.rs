//! The inputs of a summary: a [`Transaction`] and the [`SummaryOptions`] that say how to
//! count it.

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;

use crate::rfm::period::{MonthLength, Period};

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
    /// the refund still counts as activity in its period. [`Summary::negative_amounts`](crate::rfm::Summary::negative_amounts) says
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

/// Options of [`summarize`](crate::rfm::summarize); the default reproduces lifetimes'
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
    pub(super) period: Period,
    pub(super) month_length: MonthLength,
    pub(super) first_purchase: FirstPurchase,
    pub(super) frequency: FrequencyCount,
    pub(super) monetary: MonetaryMeasure,
    pub(super) negative: NegativeAmounts,
    pub(super) cutoff: Cutoff,
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
