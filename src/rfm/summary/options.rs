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
/// A plain record of choices with no invariant between them: each is set by the consuming
/// setter of the same name and read as a field.
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
/// assert_eq!(rfm.period, Period::WEEK);
/// assert_eq!(rfm.monetary, MonetaryMeasure::Total);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct SummaryOptions {
    /// The period grid (default: one day).
    pub period: Period,
    /// How month durations are measured (default: lifetimes' mean Gregorian month).
    pub month_length: MonthLength,
    /// Whether the first purchase counts (default: excluded, as lifetimes).
    pub first_purchase: FirstPurchase,
    /// What frequency counts (default: distinct periods).
    pub frequency: FrequencyCount,
    /// What monetary value measures (default: mean).
    pub monetary: MonetaryMeasure,
    /// What to do with refunds (default: subtract).
    // The name it has always been stored under.
    #[cfg_attr(feature = "serde", serde(rename = "negative"))]
    pub negative_amounts: NegativeAmounts,
    /// Which transactions are inside the window (default: by period, as lifetimes).
    pub cutoff: Cutoff,
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
        self.negative_amounts = negative;
        self
    }

    /// Which transactions are inside the window (default: by period, as lifetimes).
    #[must_use]
    pub fn cutoff(mut self, cutoff: Cutoff) -> Self {
        self.cutoff = cutoff;
        self
    }

    /// The first instant after the window of a summary at `as_of`: [`summarize`] counts a
    /// transaction at `at` when `at < window_end(as_of)` and leaves it out (counting it in
    /// [`Summary::excluded_after_as_of`]) otherwise. Under [`Cutoff::EndOfPeriod`] it is the
    /// start of the unit period after the one holding `as_of`; under [`Cutoff::Instant`], one
    /// nanosecond after `as_of`. `None` when that instant is beyond the calendar, so that
    /// every transaction is inside.
    ///
    /// For callers that aggregate in pieces (an engine's partial states): what lies after the
    /// window can be counted and dropped before it is held.
    ///
    /// [`summarize`]: crate::rfm::summarize
    /// [`Summary::excluded_after_as_of`]: crate::rfm::Summary::excluded_after_as_of
    ///
    /// # Example
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use loyalty::rfm::{Cutoff, Period, SummaryOptions};
    ///
    /// let as_of = NaiveDate::from_ymd_opt(2024, 6, 5).unwrap().and_hms_opt(9, 30, 0).unwrap();
    /// let weekly = SummaryOptions::default().period(Period::WEEK);
    /// // 2024-06-05 is a Wednesday: the week ends with Sunday the 9th.
    /// let monday = NaiveDate::from_ymd_opt(2024, 6, 10).unwrap().and_hms_opt(0, 0, 0);
    /// assert_eq!(weekly.window_end(as_of), monday);
    /// let instant = SummaryOptions::default().cutoff(Cutoff::Instant);
    /// assert_eq!(instant.window_end(as_of), as_of.checked_add_signed(chrono::TimeDelta::nanoseconds(1)));
    /// ```
    #[must_use]
    pub fn window_end(&self, as_of: NaiveDateTime) -> Option<NaiveDateTime> {
        match self.cutoff {
            Cutoff::EndOfPeriod => self.period.start(self.period.index(as_of).checked_add(1)?),
            Cutoff::Instant => as_of.checked_add_signed(chrono::TimeDelta::nanoseconds(1)),
        }
    }
}

#[cfg(all(test, feature = "serde"))]
mod tests {
    use super::*;

    #[test]
    fn options_keep_their_stored_names() {
        // Summaries stored before the options' fields were public read back unchanged.
        let o = SummaryOptions::default().negative_amounts(NegativeAmounts::Reject);
        let json = serde_json::to_string(&o).unwrap();
        assert!(json.contains(r#""negative":"Reject""#), "{json}");
        assert_eq!(serde_json::from_str::<SummaryOptions>(&json).unwrap(), o);
    }
}

#[cfg(test)]
mod window_end_tests {
    use chrono::{NaiveDate, TimeDelta};
    use proptest::prelude::*;

    use super::*;
    use crate::rfm::{summarize, PeriodUnit};

    proptest! {
        /// `window_end` is the boundary `summarize` itself draws, to the nanosecond, for every
        /// unit, multiple and cutoff.
        #[test]
        fn window_end_is_where_summarize_starts_excluding(
            days in 0i64..20_000,
            as_of_ns in 0i64..86_400_000_000_000,
            offset_ns in -3_000_000_000_000_000i64..3_000_000_000_000_000,
            unit in 0usize..4,
            multiple in 1u32..30,
            instant in any::<bool>(),
        ) {
            let unit = [PeriodUnit::Hour, PeriodUnit::Day, PeriodUnit::Week, PeriodUnit::Month][unit];
            let cutoff = if instant { Cutoff::Instant } else { Cutoff::EndOfPeriod };
            let options = SummaryOptions::default()
                .period(Period::new(unit, multiple).unwrap())
                .cutoff(cutoff);
            let base = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
            let as_of = base + TimeDelta::days(days) + TimeDelta::nanoseconds(as_of_ns);
            let end = options.window_end(as_of).unwrap();
            // Around the boundary as often as anywhere.
            for at in [as_of + TimeDelta::nanoseconds(offset_ns / 1_000_000_000), end,
                       end - TimeDelta::nanoseconds(1), as_of + TimeDelta::nanoseconds(offset_ns)] {
                let s = summarize(&[Transaction::new(1u64, at, Decimal::ONE)], as_of, options)
                    .unwrap();
                prop_assert_eq!(s.excluded_after_as_of() == 1, at >= end, "at {}", at);
            }
        }
    }
}
