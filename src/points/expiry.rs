//! Expiry policies and the calendar arithmetic behind them.

use chrono::{Datelike, Days, Months, NaiveDate};

use crate::error::{Error, Result};

/// How far a rolling expiry reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Span {
    /// Calendar days.
    Days(u32),
    /// Calendar months; a day missing from the target month becomes that month's last day
    /// (31 January + 1 month = 28 or 29 February, as Voucherify documents).
    Months(u32),
}

impl Span {
    /// `date + self`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Overflow`](crate::ErrorKind::Overflow) past the calendar's range.
    ///
    /// # Example
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use loyalty::points::Span;
    ///
    /// let jan31 = NaiveDate::from_ymd_opt(2027, 1, 31).unwrap();
    /// assert_eq!(Span::Months(1).after(jan31)?, NaiveDate::from_ymd_opt(2027, 2, 28).unwrap());
    /// assert_eq!(Span::Days(30).after(jan31)?, NaiveDate::from_ymd_opt(2027, 3, 2).unwrap());
    /// # Ok::<(), loyalty::Error>(())
    /// ```
    pub fn after(self, date: NaiveDate) -> Result<NaiveDate> {
        let out = match self {
            Span::Days(n) => date.checked_add_days(Days::new(u64::from(n))),
            Span::Months(n) => date.checked_add_months(Months::new(n)),
        };
        out.ok_or_else(|| Error::overflow("date arithmetic"))
    }
}

/// The end of a calendar period that a rolling expiry date is rounded up to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum PeriodEnd {
    /// No rounding: the exact date.
    #[default]
    Exact,
    /// The last day of the month.
    Month,
    /// The last day of the calendar quarter.
    Quarter,
    /// The last day of the half-year (30 June or 31 December).
    HalfYear,
    /// 31 December.
    Year,
}

impl PeriodEnd {
    /// Rounds `date` up to the end of its period.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Overflow`](crate::ErrorKind::Overflow) past the calendar's range.
    pub fn round_up(self, date: NaiveDate) -> Result<NaiveDate> {
        let last_month = match self {
            PeriodEnd::Exact => return Ok(date),
            PeriodEnd::Month => date.month(),
            PeriodEnd::Quarter => (date.month() - 1) / 3 * 3 + 3,
            PeriodEnd::HalfYear => (date.month() - 1) / 6 * 6 + 6,
            PeriodEnd::Year => 12,
        };
        end_of_month(date.year(), last_month)
    }
}

fn end_of_month(year: i32, month: u32) -> Result<NaiveDate> {
    let (y, m) = if month == 12 { (year.checked_add(1), 1) } else { (Some(year), month + 1) };
    y.and_then(|y| NaiveDate::from_ymd_opt(y, m, 1))
        .and_then(|d| d.pred_opt())
        .ok_or_else(|| Error::overflow("date arithmetic"))
}

/// A day of the year (month and day), such as 31 December.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "(u32, u32)", into = "(u32, u32)")
)]
pub struct MonthDay {
    month: u32,
    day: u32,
}

impl MonthDay {
    /// A month (1-12) and a day of that month. 29 February is refused because it does not
    /// occur every year.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a day that does not
    /// exist in every year.
    pub fn new(month: u32, day: u32) -> Result<MonthDay> {
        // 2025 is not a leap year: a day valid in it is valid in every year.
        if NaiveDate::from_ymd_opt(2025, month, day).is_none() {
            return Err(Error::invalid(
                "month-day",
                format!("{month:02}-{day:02}"),
                "must be a day that occurs every year",
            ));
        }
        Ok(MonthDay { month, day })
    }

    /// The month (1-12).
    #[must_use]
    pub fn month(self) -> u32 {
        self.month
    }

    /// The day of the month.
    #[must_use]
    pub fn day(self) -> u32 {
        self.day
    }

    /// Whether `date` falls on this day of the year.
    #[must_use]
    pub fn matches(self, date: NaiveDate) -> bool {
        date.month() == self.month && date.day() == self.day
    }

    fn in_year(self, year: i32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(year, self.month, self.day)
    }
}

impl TryFrom<(u32, u32)> for MonthDay {
    type Error = Error;

    fn try_from((m, d): (u32, u32)) -> Result<MonthDay> {
        MonthDay::new(m, d)
    }
}

impl From<MonthDay> for (u32, u32) {
    fn from(md: MonthDay) -> (u32, u32) {
        (md.month, md.day)
    }
}

/// When points stop being spendable.
///
/// A lot's expiry clock starts when it becomes spendable (its activation date; the earn date
/// for immediate points), as in Voucherify and Talon.One. The computed date is the **last day
/// the points are valid**: they expire once `now` is after it.
///
/// # Example
///
/// ```
/// use chrono::NaiveDate;
/// use loyalty::points::{Expiry, PeriodEnd, Span};
///
/// let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
/// let twelve_months = Expiry::rolling(Span::Months(12))?;
/// assert_eq!(twelve_months.valid_through(d(2026, 3, 15))?, Some(d(2027, 3, 15)));
/// let rounded = Expiry::rolling(Span::Months(1))?.rounded_up(PeriodEnd::Quarter);
/// assert_eq!(rounded.valid_through(d(2027, 1, 31))?, Some(d(2027, 3, 31)));
/// # Ok::<(), loyalty::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "ExpiryRepr", into = "ExpiryRepr")
)]
pub struct Expiry(ExpiryRepr);

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
enum ExpiryRepr {
    #[default]
    Never,
    Rolling {
        span: Span,
        round_up: PeriodEnd,
    },
    FixedDates(Vec<MonthDay>),
    Inactivity {
        days: u32,
    },
}

impl TryFrom<ExpiryRepr> for Expiry {
    type Error = Error;

    fn try_from(r: ExpiryRepr) -> Result<Expiry> {
        match r {
            ExpiryRepr::Never => Ok(Expiry::never()),
            ExpiryRepr::Rolling { span, round_up } => {
                Ok(Expiry::rolling(span)?.rounded_up(round_up))
            }
            ExpiryRepr::FixedDates(dates) => Expiry::fixed_dates(&dates),
            ExpiryRepr::Inactivity { days } => Expiry::inactivity(days),
        }
    }
}

impl From<Expiry> for ExpiryRepr {
    fn from(e: Expiry) -> ExpiryRepr {
        e.0
    }
}

impl Expiry {
    /// Points never expire.
    #[must_use]
    pub fn never() -> Expiry {
        Expiry(ExpiryRepr::Never)
    }

    /// Points are valid for `span` after activation.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a zero span.
    pub fn rolling(span: Span) -> Result<Expiry> {
        if matches!(span, Span::Days(0) | Span::Months(0)) {
            return Err(Error::invalid("expiry span", "0", "must be positive"));
        }
        Ok(Expiry(ExpiryRepr::Rolling { span, round_up: PeriodEnd::Exact }))
    }

    /// Rounds a rolling expiry date up to the end of its period (no effect on other kinds).
    #[must_use]
    pub fn rounded_up(self, end: PeriodEnd) -> Expiry {
        match self.0 {
            ExpiryRepr::Rolling { span, .. } => Expiry(ExpiryRepr::Rolling { span, round_up: end }),
            other => Expiry(other),
        }
    }

    /// Points are valid through the first of these calendar days that falls after their
    /// activation date (for example 31 December: everything expires at the end of the year).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::EmptyInput`](crate::ErrorKind::EmptyInput) without dates.
    pub fn fixed_dates(dates: &[MonthDay]) -> Result<Expiry> {
        if dates.is_empty() {
            return Err(Error::empty("expiry dates"));
        }
        let mut v = dates.to_vec();
        v.sort_unstable();
        v.dedup();
        Ok(Expiry(ExpiryRepr::FixedDates(v)))
    }

    /// The whole spendable balance expires after `days` days without an earn, a redemption
    /// or an activation (Smile, LoyaltyLion). Pending and reserved points are not touched.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for zero days.
    pub fn inactivity(days: u32) -> Result<Expiry> {
        if days == 0 {
            return Err(Error::invalid("inactivity days", days, "must be positive"));
        }
        Ok(Expiry(ExpiryRepr::Inactivity { days }))
    }

    /// The inactivity window, when this is an inactivity policy.
    #[must_use]
    pub fn inactivity_days(&self) -> Option<u32> {
        match self.0 {
            ExpiryRepr::Inactivity { days } => Some(days),
            _ => None,
        }
    }

    /// The last day on which points activated on `activated` are valid; `None` when the lot
    /// itself never expires (including the inactivity policy, which expires whole balances).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Overflow`](crate::ErrorKind::Overflow) past the calendar's range.
    pub fn valid_through(&self, activated: NaiveDate) -> Result<Option<NaiveDate>> {
        match &self.0 {
            ExpiryRepr::Never | ExpiryRepr::Inactivity { .. } => Ok(None),
            ExpiryRepr::Rolling { span, round_up } => {
                Ok(Some(round_up.round_up(span.after(activated)?)?))
            }
            ExpiryRepr::FixedDates(dates) => {
                for year in [activated.year(), activated.year() + 1] {
                    if let Some(d) =
                        dates.iter().filter_map(|md| md.in_year(year)).find(|d| *d > activated)
                    {
                        return Ok(Some(d));
                    }
                }
                Err(Error::overflow("date arithmetic"))
            }
        }
    }

    /// The last day of validity of a balance whose last activity was on `last_activity`,
    /// under an inactivity policy.
    pub(crate) fn inactivity_through(&self, last_activity: NaiveDate) -> Option<NaiveDate> {
        let days = self.inactivity_days()?;
        // Past the calendar's end nothing can expire.
        last_activity.checked_add_days(Days::new(u64::from(days)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn month_end_arithmetic() {
        let cases = [
            (d(2027, 1, 31), 1, d(2027, 2, 28)),
            (d(2028, 1, 31), 1, d(2028, 2, 29)),
            (d(2027, 3, 31), 1, d(2027, 4, 30)),
            (d(2027, 1, 15), 1, d(2027, 2, 15)),
            (d(2027, 8, 31), 6, d(2028, 2, 29)),
            (d(2027, 12, 31), 12, d(2028, 12, 31)),
        ];
        for (from, n, want) in cases {
            assert_eq!(Span::Months(n).after(from).unwrap(), want, "{from} + {n} months");
        }
    }

    #[test]
    fn rounding_up_to_period_ends() {
        let x = d(2027, 5, 10);
        assert_eq!(PeriodEnd::Exact.round_up(x).unwrap(), x);
        assert_eq!(PeriodEnd::Month.round_up(x).unwrap(), d(2027, 5, 31));
        assert_eq!(PeriodEnd::Quarter.round_up(x).unwrap(), d(2027, 6, 30));
        assert_eq!(PeriodEnd::HalfYear.round_up(x).unwrap(), d(2027, 6, 30));
        assert_eq!(PeriodEnd::HalfYear.round_up(d(2027, 7, 1)).unwrap(), d(2027, 12, 31));
        assert_eq!(PeriodEnd::Year.round_up(x).unwrap(), d(2027, 12, 31));
        assert_eq!(PeriodEnd::Month.round_up(d(2028, 2, 3)).unwrap(), d(2028, 2, 29));
        assert_eq!(PeriodEnd::Quarter.round_up(d(2027, 12, 3)).unwrap(), d(2027, 12, 31));
    }

    #[test]
    fn expiry_kinds() {
        assert_eq!(Expiry::never().valid_through(d(2027, 1, 1)).unwrap(), None);
        let days = Expiry::rolling(Span::Days(365)).unwrap();
        assert_eq!(days.valid_through(d(2027, 1, 1)).unwrap(), Some(d(2028, 1, 1)));
        let ye = Expiry::rolling(Span::Months(12)).unwrap().rounded_up(PeriodEnd::Year);
        assert_eq!(ye.valid_through(d(2027, 2, 10)).unwrap(), Some(d(2028, 12, 31)));
        let fixed =
            Expiry::fixed_dates(&[MonthDay::new(12, 31).unwrap(), MonthDay::new(6, 30).unwrap()])
                .unwrap();
        assert_eq!(fixed.valid_through(d(2027, 2, 10)).unwrap(), Some(d(2027, 6, 30)));
        assert_eq!(fixed.valid_through(d(2027, 6, 30)).unwrap(), Some(d(2027, 12, 31)));
        assert_eq!(fixed.valid_through(d(2027, 12, 31)).unwrap(), Some(d(2028, 6, 30)));
        let idle = Expiry::inactivity(90).unwrap();
        assert_eq!(idle.valid_through(d(2027, 1, 1)).unwrap(), None);
        assert_eq!(idle.inactivity_through(d(2027, 1, 1)), Some(d(2027, 4, 1)));
    }

    #[test]
    fn bad_expiry_input() {
        assert!(Expiry::rolling(Span::Days(0)).is_err());
        assert!(Expiry::rolling(Span::Months(0)).is_err());
        assert!(Expiry::inactivity(0).is_err());
        assert!(Expiry::fixed_dates(&[]).is_err());
        assert!(MonthDay::new(2, 29).is_err());
        assert!(MonthDay::new(13, 1).is_err());
        assert!(MonthDay::new(4, 31).is_err());
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serde_validates() {
        let e = Expiry::fixed_dates(&[MonthDay::new(12, 31).unwrap()]).unwrap();
        let back: Expiry = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(back, e);
        assert!(serde_json::from_str::<Expiry>(r#"{"FixedDates":[]}"#).is_err());
        assert!(serde_json::from_str::<Expiry>(r#"{"FixedDates":[[2,30]]}"#).is_err());
        assert!(serde_json::from_str::<Expiry>(r#"{"Inactivity":{"days":0}}"#).is_err());
    }
}
