//! Time spans for predictions: a [`Span`] is a length of time in a [`Period`] (any non-negative
//! count), a [`Horizon`] a positive whole number of periods for CLV; both convert to a model's
//! own period exactly between hours, days and weeks and with lifetimes' periods per month where a
//! month is involved.

use crate::error::{Error, Result};
use crate::rfm::span::convert;
use crate::rfm::{periods_per_month, Period, PeriodUnit, Span};

impl From<Horizon> for Span {
    fn from(h: Horizon) -> Span {
        Span { count: f64::from(h.count), period: h.period }
    }
}

/// A prediction horizon: a positive whole number of [`Period`]s (12 months by default, as
/// lifetimes' `customer_lifetime_value`).
///
/// A horizon carries its own unit, so it means the same thing whatever period the model was
/// fitted in: [`Horizon::in_periods`] converts it to the model's period as [`Span`] does, so 12
/// months of a daily model are 360 days and of a weekly model 52.14 weeks (lifetimes' periods
/// per month), and 2 weeks of a daily model are 14 days.
///
/// # Example
///
/// ```
/// use loyalty::clv::Horizon;
/// use loyalty::rfm::Period;
///
/// let year = Horizon::months(12)?;
/// assert_eq!(year.in_periods(Period::DAY), 360.0);
/// assert!((year.in_periods(Period::WEEK) - 52.14).abs() < 1e-12);
/// assert_eq!(Horizon::new(90, Period::DAY)?.whole_months()?, 3);
/// assert!(Horizon::months(0).is_err());
/// # Ok::<(), loyalty::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "HorizonRepr", into = "HorizonRepr")
)]
pub struct Horizon {
    count: u32,
    period: Period,
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct HorizonRepr {
    count: u32,
    period: Period,
}

#[cfg(feature = "serde")]
impl TryFrom<HorizonRepr> for Horizon {
    type Error = Error;
    fn try_from(r: HorizonRepr) -> Result<Horizon> {
        Horizon::new(r.count, r.period)
    }
}

#[cfg(feature = "serde")]
impl From<Horizon> for HorizonRepr {
    fn from(h: Horizon) -> HorizonRepr {
        HorizonRepr { count: h.count, period: h.period }
    }
}

impl Default for Horizon {
    /// Twelve months.
    fn default() -> Horizon {
        Horizon { count: 12, period: Period::MONTH }
    }
}

impl Horizon {
    /// `count` periods.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when `count` is zero.
    pub fn new(count: u32, period: Period) -> Result<Horizon> {
        if count == 0 {
            return Err(Error::invalid("horizon", count, "must be at least one period"));
        }
        Ok(Horizon { count, period })
    }

    /// `count` calendar months.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when `count` is zero.
    pub fn months(count: u32) -> Result<Horizon> {
        Horizon::new(count, Period::MONTH)
    }

    /// The number of periods.
    #[must_use]
    pub fn count(self) -> u32 {
        self.count
    }

    /// The period the horizon is counted in.
    #[must_use]
    pub fn period(self) -> Period {
        self.period
    }

    /// The horizon in periods of `model` (a model's time parameters are in the period of the
    /// summary it was fitted on): exact between hours, days and weeks, `count · ppm(model) /
    /// ppm(self.period)` with lifetimes' periods per month when a month is involved.
    #[must_use]
    pub fn in_periods(self, model: Period) -> f64 {
        // A u32 count times at most 720 · u32::MAX is finite.
        convert(f64::from(self.count), self.period, model)
    }

    /// The horizon as a whole number of months, counted by lifetimes' table in the horizon's
    /// own unit (90 days are 3 months). Scoring counts them in the model's period instead
    /// ([`Horizon::months_in`]), where the two tables can disagree.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when the horizon is not a
    /// whole number of months by lifetimes' table (for example 52 weeks, 11.97 months).
    pub fn whole_months(self) -> Result<u32> {
        if self.period.unit() == PeriodUnit::Month {
            return self
                .count
                .checked_mul(self.period.multiple())
                .ok_or_else(|| Error::invalid("horizon", self.count, "too many months"));
        }
        let months = f64::from(self.count) / periods_per_month(self.period);
        let whole = months.round();
        if (months - whole).abs() > 1e-9 * whole.max(1.0) || whole < 1.0 {
            return Err(Error::invalid(
                "horizon",
                format!("{} x {}", self.count, self.period),
                format!("is {months} months; monthly CLV needs a whole number of months"),
            ));
        }
        // `whole` <= count <= u32::MAX (a month is at least one period of any unit but month).
        Ok(whole as u32)
    }

    /// The horizon as a whole number of lifetimes months of a model in `model` periods, which
    /// its monthly discounted CLV sums over: the horizon's length in model periods
    /// ([`Horizon::in_periods`], exact between hours, days and weeks) divided by lifetimes'
    /// periods per month of the model ([`periods_per_month`]).
    ///
    /// So the horizon means the same length to the CLV as to the model's other predictions:
    /// 90 days are 3 months of a daily model, but 12.86 weeks, not a whole number of the
    /// 4.345-week months, of a weekly one (3 lifetimes months of a weekly model are 13.035
    /// weeks, 91.2 days).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming `horizon` when it is
    /// not a whole number of the model's months.
    ///
    /// # Example
    ///
    /// ```
    /// use loyalty::clv::Horizon;
    /// use loyalty::rfm::Period;
    ///
    /// let quarter = Horizon::new(90, Period::DAY)?;
    /// assert_eq!(quarter.months_in(Period::DAY)?, 3);
    /// assert!(quarter.months_in(Period::WEEK).is_err());
    /// assert_eq!(Horizon::months(12)?.months_in(Period::WEEK)?, 12);
    /// # Ok::<(), loyalty::Error>(())
    /// ```
    pub fn months_in(self, model: Period) -> Result<u32> {
        let months = self.in_periods(model) / periods_per_month(model);
        let whole = months.round();
        if (months - whole).abs() > 1e-9 * whole.max(1.0) || whole < 1.0 {
            return Err(Error::invalid(
                "horizon",
                format!("{} x {}", self.count, self.period),
                format!(
                    "is {months} months of a model in periods of {model}; monthly CLV needs a \
                     whole number of months"
                ),
            ));
        }
        if whole > f64::from(u32::MAX) {
            return Err(Error::invalid("horizon", self.count, "too many months"));
        }
        Ok(whole as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_factors() {
        assert_eq!(periods_per_month(Period::HOUR), 720.0);
        assert_eq!(periods_per_month(Period::DAY), 30.0);
        assert_eq!(periods_per_month(Period::WEEK), 4.345);
        assert_eq!(periods_per_month(Period::MONTH), 1.0);
        let fortnight = Period::new(PeriodUnit::Week, 2).unwrap();
        assert_eq!(periods_per_month(fortnight), 4.345 / 2.0);
        let h = Horizon::months(12).unwrap();
        assert_eq!(h.in_periods(Period::DAY), 360.0);
        assert_eq!(h.in_periods(Period::HOUR), 8640.0);
        assert!((h.in_periods(fortnight) - 26.07).abs() < 1e-12);
        // Between fixed-length units the conversion is exact: 28 days are 4 weeks, not
        // 28 / 30 · 4.345 weeks through lifetimes' month.
        let d = Horizon::new(28, Period::DAY).unwrap();
        assert_eq!(d.in_periods(Period::WEEK), 4.0);
        assert_eq!(Horizon::new(3, Period::WEEK).unwrap().in_periods(Period::HOUR), 504.0);
        let day_in_hours = Period::new(PeriodUnit::Hour, 24).unwrap();
        assert_eq!(Horizon::new(2, Period::WEEK).unwrap().in_periods(day_in_hours), 14.0);
        // Months go through lifetimes' table whatever the other side.
        assert!(
            (Horizon::new(2, Period::MONTH).unwrap().in_periods(Period::WEEK) - 8.69).abs() < 1e-12
        );
    }

    #[test]
    fn whole_months() {
        assert_eq!(Horizon::new(360, Period::DAY).unwrap().whole_months().unwrap(), 12);
        let two = Period::new(PeriodUnit::Month, 2).unwrap();
        assert_eq!(Horizon::new(3, two).unwrap().whole_months().unwrap(), 6);
        assert!(Horizon::new(52, Period::WEEK).unwrap().whole_months().is_err());
        assert!(Horizon::new(10, Period::DAY).unwrap().whole_months().is_err());
        assert!(Horizon::new(0, Period::DAY).is_err());
    }

    #[test]
    fn months_in_the_models_period() {
        let day_in_hours = Period::new(PeriodUnit::Hour, 24).unwrap();
        let fortnight = Period::new(PeriodUnit::Week, 2).unwrap();
        let two_months = Period::new(PeriodUnit::Month, 2).unwrap();
        let year = Horizon::months(12).unwrap();
        for model in
            [Period::HOUR, Period::DAY, Period::WEEK, Period::MONTH, day_in_hours, fortnight]
        {
            assert_eq!(year.months_in(model).unwrap(), 12, "{model}");
            assert_eq!(Horizon::new(6, two_months).unwrap().months_in(model).unwrap(), 12);
        }
        // Hours and days share lifetimes' 30-day month.
        let quarter = Horizon::new(90, Period::DAY).unwrap();
        assert_eq!(quarter.months_in(Period::DAY).unwrap(), 3);
        assert_eq!(quarter.months_in(Period::HOUR).unwrap(), 3);
        assert_eq!(Horizon::new(2160, Period::HOUR).unwrap().months_in(Period::DAY).unwrap(), 3);
        // Weeks do not: 90 days are 12.857 weeks, 2.959 of the 4.345-week months.
        for e in [
            quarter.months_in(Period::WEEK).unwrap_err(),
            Horizon::new(869, Period::WEEK).unwrap().months_in(Period::DAY).unwrap_err(),
            Horizon::new(10, Period::DAY).unwrap().months_in(Period::DAY).unwrap_err(),
        ] {
            assert!(
                matches!(e.kind(), crate::ErrorKind::InvalidInput { field: "horizon", .. }),
                "{e}"
            );
        }
        // 869 weeks are 200 months of a weekly model.
        assert_eq!(Horizon::new(869, Period::WEEK).unwrap().months_in(Period::WEEK).unwrap(), 200);
    }
}
