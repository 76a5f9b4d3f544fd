//! Periods: the time grid a summary is counted on.

use std::fmt;

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

use crate::error::{Error, Result};

/// The unit of a [`Period`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum PeriodUnit {
    /// Clock hours (pandas `h`).
    Hour,
    /// Calendar days (pandas `D`).
    #[default]
    Day,
    /// Weeks from Monday to Sunday (pandas `W` = `W-SUN`): a date maps to the Monday of its week.
    Week,
    /// Calendar months: a date maps to the first of its month.
    Month,
}

/// How durations are measured when the unit is [`PeriodUnit::Month`].
///
/// lifetimes divides the day count between two month starts by NumPy's month,
/// `np.timedelta64(1, "M")` = 30.436875 days (the mean Gregorian month), so its recency and `T`
/// are fractional; counting calendar months gives whole numbers instead.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum MonthLength {
    /// Days between month starts / 30.436875, as lifetimes computes it (the default).
    #[default]
    MeanGregorian,
    /// Whole calendar months between month starts.
    Calendar,
}

/// Seconds in NumPy's `timedelta64(1, "M")`: 365.2425 / 12 = 30.436875 days, an exact
/// integer number of seconds.
const MEAN_GREGORIAN_MONTH_SECONDS: f64 = 2_629_746.0;

/// The time grid of a summary: a unit and a multiple (lifetimes' `freq` and `freq_multiplier`).
///
/// Timestamps are floored to the start of their unit period, so two purchases in one period
/// count once. The multiple does **not** change the flooring: as in lifetimes, it only rescales
/// durations, so `Period::new(PeriodUnit::Hour, 24)` floors to hours and reports recency and
/// `T` in days (lifetimes' docstring: recency 590.125, `T` 631.375).
///
/// # Example
///
/// ```
/// use loyalty::rfm::{Period, PeriodUnit};
///
/// let fortnight = Period::new(PeriodUnit::Week, 2)?;
/// assert_eq!(fortnight.unit(), PeriodUnit::Week);
/// assert_eq!(fortnight.multiple(), 2);
/// assert!(Period::new(PeriodUnit::Day, 0).is_err());
/// # Ok::<(), loyalty::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "PeriodRepr", into = "PeriodRepr")
)]
pub struct Period {
    unit: PeriodUnit,
    multiple: u32,
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct PeriodRepr {
    unit: PeriodUnit,
    multiple: u32,
}

#[cfg(feature = "serde")]
impl TryFrom<PeriodRepr> for Period {
    type Error = Error;
    fn try_from(r: PeriodRepr) -> Result<Period> {
        Period::new(r.unit, r.multiple)
    }
}

#[cfg(feature = "serde")]
impl From<Period> for PeriodRepr {
    fn from(p: Period) -> PeriodRepr {
        PeriodRepr { unit: p.unit, multiple: p.multiple }
    }
}

impl Default for Period {
    fn default() -> Period {
        Period::DAY
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.unit {
            PeriodUnit::Hour => "hour",
            PeriodUnit::Day => "day",
            PeriodUnit::Week => "week",
            PeriodUnit::Month => "month",
        };
        if self.multiple == 1 {
            f.write_str(unit)
        } else {
            write!(f, "{} {unit}s", self.multiple)
        }
    }
}

impl Period {
    /// One hour.
    pub const HOUR: Period = Period { unit: PeriodUnit::Hour, multiple: 1 };
    /// One day.
    pub const DAY: Period = Period { unit: PeriodUnit::Day, multiple: 1 };
    /// One Monday-to-Sunday week.
    pub const WEEK: Period = Period { unit: PeriodUnit::Week, multiple: 1 };
    /// One calendar month.
    pub const MONTH: Period = Period { unit: PeriodUnit::Month, multiple: 1 };

    /// A period of `multiple` units.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when `multiple` is zero.
    pub fn new(unit: PeriodUnit, multiple: u32) -> Result<Period> {
        if multiple == 0 {
            return Err(Error::invalid("period multiple", multiple, "must be at least 1"));
        }
        Ok(Period { unit, multiple })
    }

    /// The unit timestamps are floored to.
    #[must_use]
    pub fn unit(self) -> PeriodUnit {
        self.unit
    }

    /// The number of units durations are divided by.
    #[must_use]
    pub fn multiple(self) -> u32 {
        self.multiple
    }

    /// The index of the unit period containing `at` (hours, days, weeks or months counted
    /// from the proleptic Gregorian epoch 0001-01-01, a Monday).
    #[inline]
    pub(crate) fn index(self, at: NaiveDateTime) -> i64 {
        self.index_from_days(self.day_index(at.date()), at)
    }

    /// The day number of `date` (0001-01-01 is day 1).
    #[inline]
    pub(crate) fn day_index(self, date: NaiveDate) -> i64 {
        i64::from(date.num_days_from_ce())
    }

    /// [`Period::index`] given the day number of `at`'s date.
    #[inline]
    pub(crate) fn index_from_days(self, days: i64, at: NaiveDateTime) -> i64 {
        match self.unit {
            PeriodUnit::Hour => days * 24 + i64::from(at.hour()),
            PeriodUnit::Day => days,
            // Day 1 (0001-01-01) is a Monday, so weeks start on Mondays.
            PeriodUnit::Week => (days - 1).div_euclid(7),
            PeriodUnit::Month => i64::from(at.year()) * 12 + i64::from(at.month0()),
        }
    }

    /// The first instant of the unit period `index` (inverse of the flooring).
    pub(crate) fn start(self, index: i64) -> Option<NaiveDateTime> {
        let date = |days: i64| NaiveDate::from_num_days_from_ce_opt(i32::try_from(days).ok()?);
        match self.unit {
            PeriodUnit::Hour => {
                let d = date(index.div_euclid(24))?;
                d.and_hms_opt(u32::try_from(index.rem_euclid(24)).ok()?, 0, 0)
            }
            PeriodUnit::Day => date(index)?.and_hms_opt(0, 0, 0),
            PeriodUnit::Week => date(index * 7 + 1)?.and_hms_opt(0, 0, 0),
            PeriodUnit::Month => {
                let year = i32::try_from(index.div_euclid(12)).ok()?;
                let month = u32::try_from(index.rem_euclid(12)).ok()? + 1;
                NaiveDate::from_ymd_opt(year, month, 1)?.and_hms_opt(0, 0, 0)
            }
        }
    }

    /// A duration of `units` unit periods starting at unit period `from`, expressed in periods
    /// of this `Period` (divided by the multiple) as lifetimes does.
    pub(crate) fn duration(self, from: i64, units: u32, months: MonthLength) -> f64 {
        let multiple = f64::from(self.multiple);
        match (self.unit, months) {
            (PeriodUnit::Month, MonthLength::MeanGregorian) => {
                match (self.start(from), self.start(from + i64::from(units))) {
                    // pandas divides two integer nanosecond counts, which is the correctly
                    // rounded quotient of the seconds: both are exact in an f64 (a day count
                    // times 86,400 is far below 2^53). `days / 30.436875` is not, as
                    // 30.436875 has no exact f64, and differs from lifetimes in the last bit
                    // for about one day count in four (181 days: 5.946734019179038 against
                    // lifetimes' 5.946734019179039).
                    (Some(a), Some(b)) => {
                        (b - a).num_seconds() as f64 / MEAN_GREGORIAN_MONTH_SECONDS / multiple
                    }
                    // Outside chrono's range the calendar count is the only one available.
                    _ => f64::from(units) / multiple,
                }
            }
            _ => f64::from(units) / multiple,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(h, 30, 0).unwrap()
    }

    #[test]
    fn weeks_start_on_monday() {
        let p = Period::WEEK;
        // 2015-01-05 is a Monday, 2015-01-11 the following Sunday.
        let monday = p.index(at(2015, 1, 5, 0));
        assert_eq!(p.index(at(2015, 1, 11, 23)), monday);
        assert_eq!(p.index(at(2015, 1, 4, 23)), monday - 1);
        assert_eq!(p.index(at(2015, 1, 12, 0)), monday + 1);
        assert_eq!(p.start(monday), Some(at(2015, 1, 5, 0) - chrono::Duration::minutes(30)));
    }

    #[test]
    fn flooring_round_trips_through_start() {
        for p in [Period::HOUR, Period::DAY, Period::WEEK, Period::MONTH] {
            for t in [at(2016, 2, 29, 5), at(1997, 1, 1, 0), at(2000, 12, 31, 23)] {
                let i = p.index(t);
                let s = p.start(i).unwrap();
                assert!(s <= t, "{p} {t}");
                assert_eq!(p.index(s), i, "{p} {t}");
            }
        }
    }

    #[test]
    fn leap_day_is_its_own_day() {
        let p = Period::DAY;
        assert_eq!(p.index(at(2016, 2, 29, 0)) - p.index(at(2016, 2, 28, 0)), 1);
        assert_eq!(p.index(at(2016, 3, 1, 0)) - p.index(at(2016, 2, 28, 0)), 2);
        assert_eq!(p.index(at(2015, 3, 1, 0)) - p.index(at(2015, 2, 28, 0)), 1);
    }

    #[test]
    fn month_durations_follow_numpy_by_default() {
        let p = Period::MONTH;
        let jan = p.index(at(2015, 1, 31, 0));
        // 2015-01-01 to 2015-05-01 is 120 days: lifetimes reports 120 / 30.436875 months.
        let d = p.duration(jan, 4, MonthLength::MeanGregorian);
        assert!((d - 120.0 / 30.436875).abs() < 1e-12);
        // To the last bit: pandas' `Timedelta(days=181) / np.timedelta64(1, "M")` is
        // 5.946734019179039 (lifetimes 0.11.3's recency for 2019-01-15 to 2019-07-03), where
        // 181 / 30.436875 rounds to 5.946734019179038.
        let d = p.duration(p.index(at(2019, 1, 15, 0)), 6, MonthLength::MeanGregorian);
        assert_eq!(d, 5.946_734_019_179_039);
        assert_ne!(d, 181.0 / 30.436875);
        assert_eq!(p.duration(jan, 4, MonthLength::Calendar), 4.0);
    }

    #[test]
    fn zero_multiple_is_rejected() {
        assert!(Period::new(PeriodUnit::Week, 0).is_err());
        assert_eq!(Period::new(PeriodUnit::Hour, 24).unwrap().to_string(), "24 hours");
    }
}
