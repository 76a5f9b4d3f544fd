//! A length of time in a [`Period`]: [`Span`], what predictions and holdout windows are
//! measured in, so that "two weeks" means two weeks whatever period a model was fitted in.
//! Conversions are exact between hours, days and weeks, and use lifetimes' periods per month
//! ([`periods_per_month`]) where a month is involved.

use super::period::{Period, PeriodUnit};
use crate::error::{Error, Result};

/// lifetimes' model periods per month of a [`Period`]: 720 hours, 30 days, 4.345 weeks or one
/// month (`customer_lifetime_value`'s `freq` table), divided by the period's multiple.
///
/// These factors are a convention, not calendar arithmetic (a month is 30 days but 4.345
/// weeks, i.e. 30.415 days); they are used so that horizons and CLV equal lifetimes'.
#[must_use]
pub fn periods_per_month(period: Period) -> f64 {
    let per_unit = match period.unit() {
        PeriodUnit::Hour => 720.0,
        PeriodUnit::Day => 30.0,
        PeriodUnit::Week => 4.345,
        PeriodUnit::Month => 1.0,
    };
    per_unit / f64::from(period.multiple())
}

/// Hours in one period of a fixed-length unit (a month has no fixed length).
fn hours(period: Period) -> Option<f64> {
    let per_unit = match period.unit() {
        PeriodUnit::Hour => 1.0,
        PeriodUnit::Day => 24.0,
        PeriodUnit::Week => 168.0,
        PeriodUnit::Month => return None,
    };
    Some(per_unit * f64::from(period.multiple()))
}

/// `count` periods of `from` in periods of `to`: exact between hours, days and weeks (a week is
/// 7 days), lifetimes' periods per month when either is counted in months.
pub(crate) fn convert(count: f64, from: Period, to: Period) -> f64 {
    if from == to {
        return count;
    }
    match (hours(from), hours(to)) {
        (Some(f), Some(t)) => count * f / t,
        _ => count * periods_per_month(to) / periods_per_month(from),
    }
}

/// A length of time: a non-negative count of [`Period`]s, what the purchase models'
/// predictions take ([`PurchaseModel`](crate::clv::PurchaseModel)).
///
/// A model's time parameters are in the period of the summary it was fitted on; a span
/// carries its own, so "two weeks" means two weeks whatever the model's period.
/// [`Span::in_periods`] converts: exactly between hours, days and weeks (two weeks of a
/// daily model are 14 days), and with lifetimes' periods per month ([`periods_per_month`]:
/// 30 days, 4.345 weeks, 720 hours) when a month is involved, as lifetimes does.
///
/// # Example
///
/// ```
/// use loyalty::clv::{Horizon, Span};
/// use loyalty::rfm::Period;
///
/// assert_eq!(Span::weeks(2.0)?.in_periods(Period::DAY)?, 14.0);
/// assert_eq!(Span::days(7.0)?.in_periods(Period::WEEK)?, 1.0);
/// assert_eq!(Span::months(12.0)?.in_periods(Period::DAY)?, 360.0);
/// assert_eq!(Span::from(Horizon::months(12)?), Span::months(12.0)?);
/// assert!(Span::days(-1.0).is_err());
/// # Ok::<(), loyalty::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "SpanRepr", into = "SpanRepr")
)]
pub struct Span {
    pub(crate) count: f64,
    pub(crate) period: Period,
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct SpanRepr {
    count: f64,
    period: Period,
}

#[cfg(feature = "serde")]
impl TryFrom<SpanRepr> for Span {
    type Error = Error;
    fn try_from(r: SpanRepr) -> Result<Span> {
        Span::new(r.count, r.period)
    }
}

#[cfg(feature = "serde")]
impl From<Span> for SpanRepr {
    fn from(s: Span) -> SpanRepr {
        SpanRepr { count: s.count, period: s.period }
    }
}

impl Span {
    /// `count` periods.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming `span` when `count`
    /// is negative or not finite.
    pub fn new(count: f64, period: Period) -> Result<Span> {
        if !(count.is_finite() && count >= 0.0) {
            return Err(Error::invalid("span", count, "must be finite and not negative"));
        }
        // −0 becomes +0, so a zero span is one value.
        Ok(Span { count: count + 0.0, period })
    }

    /// `count` hours.
    ///
    /// # Errors
    ///
    /// As [`Span::new`].
    pub fn hours(count: f64) -> Result<Span> {
        Span::new(count, Period::HOUR)
    }

    /// `count` days.
    ///
    /// # Errors
    ///
    /// As [`Span::new`].
    pub fn days(count: f64) -> Result<Span> {
        Span::new(count, Period::DAY)
    }

    /// `count` weeks.
    ///
    /// # Errors
    ///
    /// As [`Span::new`].
    pub fn weeks(count: f64) -> Result<Span> {
        Span::new(count, Period::WEEK)
    }

    /// `count` months (lifetimes' month: 30 days, 4.345 weeks).
    ///
    /// # Errors
    ///
    /// As [`Span::new`].
    pub fn months(count: f64) -> Result<Span> {
        Span::new(count, Period::MONTH)
    }

    /// The number of periods.
    #[must_use]
    pub fn count(self) -> f64 {
        self.count
    }

    /// The period the span is counted in.
    #[must_use]
    pub fn period(self) -> Period {
        self.period
    }

    /// The span in periods of `model`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming `span` when the
    /// converted count is not finite (a count near `f64::MAX` in a coarser unit).
    pub fn in_periods(self, model: Period) -> Result<f64> {
        let v = convert(self.count, self.period, model);
        if v.is_finite() {
            Ok(v)
        } else {
            Err(Error::invalid(
                "span",
                format!("{} x {}", self.count, self.period),
                format!("is not a finite number of periods of {model}"),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_convert_exactly_between_fixed_units() {
        for k in 0..200 {
            let k = f64::from(k);
            assert_eq!(Span::weeks(k).unwrap().in_periods(Period::DAY).unwrap(), 7.0 * k);
            assert_eq!(Span::days(7.0 * k).unwrap().in_periods(Period::WEEK).unwrap(), k);
            assert_eq!(Span::days(k).unwrap().in_periods(Period::HOUR).unwrap(), 24.0 * k);
        }
        assert_eq!(Span::months(1.5).unwrap().in_periods(Period::DAY).unwrap(), 45.0);
        assert_eq!(Span::days(45.0).unwrap().in_periods(Period::MONTH).unwrap(), 1.5);
        assert_eq!(Span::days(-0.0).unwrap(), Span::days(0.0).unwrap());
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            let e = Span::days(bad).unwrap_err();
            assert!(matches!(e.kind(), crate::ErrorKind::InvalidInput { field: "span", .. }));
        }
        let huge = Span::months(f64::MAX).unwrap();
        assert!(huge.in_periods(Period::HOUR).is_err());
    }
}
