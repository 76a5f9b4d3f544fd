//! Qualification windows and the calendar arithmetic behind them.
//!
//! Month arithmetic follows one rule everywhere: adding `n` months keeps the day of the month
//! and clamps it to the last day of the target month (31 January + 1 month = 28 or 29
//! February). Anchored sequences (anniversaries, rolling cycles) are always computed from the
//! anchor, never step by step, so a member who joined on 29 February has anniversaries on
//! 28 February in common years and on 29 February again in leap years.

use std::fmt;
use std::num::NonZeroU32;

use chrono::{Datelike, Months, NaiveDate, NaiveDateTime, NaiveTime};

use crate::error::{Error, Result};

/// Over which span of time the qualifying metric is summed.
///
/// Period windows (calendar year, quarter, month, anniversary) sum from the start of the
/// period containing the instant; their period ends are the review points where demotions
/// happen. Periods are half-open, `[start, end)`: an event at exactly midnight of a period
/// start belongs to the new period. A rolling window sums the trailing `months` months at an
/// instant `t`, `(t - months, t]`; its review points `b` are cycles of `review_every` months
/// anchored on the join date (by default as long as the window), and a review judges
/// `[b - months, b)`, so back-to-back reviews cover every instant exactly once. A lifetime
/// window sums everything and has no review point.
///
/// # Example
///
/// ```
/// use loyalty::tiers::Window;
///
/// let rolling = Window::rolling_months(12)?;
/// assert_eq!(rolling.to_string(), "rolling 12 months");
/// assert!(Window::rolling_months(0).is_err()); // a zero-length window
/// # Ok::<(), loyalty::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Window {
    /// Everything the member ever did; no period end, so no demotion at a period end.
    Lifetime,
    /// 1 January to 31 December.
    CalendarYear,
    /// Calendar quarters starting 1 January, 1 April, 1 July and 1 October.
    Quarter,
    /// Calendar months.
    Month,
    /// The trailing `months` months, reviewed every `review_every` months from the join
    /// date.
    Rolling {
        /// Length of the window (at least one month).
        months: NonZeroU32,
        /// Months between reviews (at least one).
        review_every: NonZeroU32,
    },
    /// Membership years starting on the anniversary of joining.
    Anniversary,
}

impl Window {
    /// A rolling window of `months` months, reviewed every `months` months from the join
    /// date.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when `months` is zero (a
    /// zero-length window) or longer than 1200 months.
    pub fn rolling_months(months: u32) -> Result<Window> {
        Window::rolling(months, months)
    }

    /// A rolling window of `months` months reviewed every `review_every` months from the
    /// join date (`rolling(12, 1)`: the trailing year, re-judged monthly).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when either is zero or
    /// above 1200 months.
    pub fn rolling(months: u32, review_every: u32) -> Result<Window> {
        let check = |field: &'static str, n: u32| {
            if n > 1200 {
                return Err(Error::invalid(field, n, "must be at most 1200"));
            }
            NonZeroU32::new(n).ok_or_else(|| Error::invalid(field, n, "window must not be empty"))
        };
        Ok(Window::Rolling {
            months: check("window months", months)?,
            review_every: check("review months", review_every)?,
        })
    }

    /// The anchored sequence of period boundaries: (anchor, step in months).
    fn cycle(self, joined: NaiveDate) -> Option<(NaiveDate, u32)> {
        // Any 1 January anchors calendar periods; 2000 keeps the month offsets small.
        let jan1 = NaiveDate::from_ymd_opt(2000, 1, 1)?;
        match self {
            Window::Lifetime => None,
            Window::CalendarYear => Some((jan1, 12)),
            Window::Quarter => Some((jan1, 3)),
            Window::Month => Some((jan1, 1)),
            Window::Rolling { review_every, .. } => Some((joined, review_every.get())),
            Window::Anniversary => Some((joined, 12)),
        }
    }

    /// The review period containing `at`: `[start, end)`; unbounded for a lifetime window.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Overflow`](crate::ErrorKind::Overflow) when a boundary falls outside the
    /// calendar range of `chrono`.
    ///
    /// # Example
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use loyalty::tiers::Window;
    ///
    /// let joined = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
    /// let at = NaiveDate::from_ymd_opt(2025, 3, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
    /// let year = Window::Anniversary.period(at, joined)?;
    /// // The anniversary of a 29 February join is 28 February in a common year.
    /// assert_eq!(year.start().unwrap().date(), NaiveDate::from_ymd_opt(2025, 2, 28).unwrap());
    /// assert_eq!(year.end().unwrap().date(), NaiveDate::from_ymd_opt(2026, 2, 28).unwrap());
    /// # Ok::<(), loyalty::Error>(())
    /// ```
    pub fn period(self, at: NaiveDateTime, joined: NaiveDate) -> Result<Period> {
        match self.cycle(joined) {
            None => Ok(Period { start: None, end: None }),
            Some((anchor, step)) => {
                let k = index_of(anchor, step, at)?;
                Ok(Period {
                    start: Some(boundary(anchor, step, k)?),
                    end: Some(boundary(anchor, step, k + 1)?),
                })
            }
        }
    }

    /// The first review point strictly after `at` (`None` for a lifetime window).
    pub(crate) fn next_review(
        self,
        at: NaiveDateTime,
        joined: NaiveDate,
    ) -> Result<Option<NaiveDateTime>> {
        Ok(self.period(at, joined)?.end)
    }

    /// Where the measurement of the window ending at instant `at` starts, for events at or
    /// before `at`.
    pub(crate) fn lower_at(self, at: NaiveDateTime, joined: NaiveDate) -> Result<Lower> {
        match self {
            Window::Lifetime => Ok(Lower::Unbounded),
            Window::Rolling { months, .. } => at
                .checked_sub_months(Months::new(months.get()))
                .map(Lower::After)
                .ok_or_else(|| Error::overflow("rolling window start")),
            _ => Ok(Lower::From(self.period(at, joined)?.start.unwrap_or(NaiveDateTime::MIN))),
        }
    }

    /// Where the measurement of the period ending at review point `review` starts (events
    /// strictly before `review` count).
    pub(crate) fn lower_for_review(
        self,
        review: NaiveDateTime,
        joined: NaiveDate,
    ) -> Result<Lower> {
        match self.cycle(joined) {
            None => Ok(Lower::Unbounded),
            // Reviews measure `[review - months, review)`, so that consecutive reviews of
            // a rolling window whose review cycle equals its length tile time: an event at
            // exactly a review point belongs to the next review, never to neither.
            Some(_) if matches!(self, Window::Rolling { .. }) => {
                match self.lower_at(review, joined)? {
                    Lower::After(s) => Ok(Lower::From(s)),
                    other => Ok(other),
                }
            }
            Some((anchor, step)) => {
                let k = index_of(anchor, step, review)?;
                Ok(Lower::From(boundary(anchor, step, k - 1)?))
            }
        }
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Window::Lifetime => f.write_str("lifetime"),
            Window::CalendarYear => f.write_str("calendar year"),
            Window::Quarter => f.write_str("calendar quarter"),
            Window::Month => f.write_str("calendar month"),
            Window::Rolling { months, review_every } if months == review_every => {
                write!(f, "rolling {months} months")
            }
            Window::Rolling { months, review_every } if review_every.get() == 1 => {
                write!(f, "rolling {months} months (reviewed monthly)")
            }
            Window::Rolling { months, review_every } => {
                write!(f, "rolling {months} months (reviewed every {review_every} months)")
            }
            Window::Anniversary => f.write_str("membership year"),
        }
    }
}

/// A half-open span of time `[start, end)`; `None` means unbounded on that side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Period {
    start: Option<NaiveDateTime>,
    end: Option<NaiveDateTime>,
}

impl Period {
    /// The first instant of the period.
    #[must_use]
    pub fn start(&self) -> Option<NaiveDateTime> {
        self.start
    }

    /// The first instant after the period (its review point).
    #[must_use]
    pub fn end(&self) -> Option<NaiveDateTime> {
        self.end
    }

    /// Whether `at` lies in the period.
    #[must_use]
    pub fn contains(&self, at: NaiveDateTime) -> bool {
        self.start.is_none_or(|s| s <= at) && self.end.is_none_or(|e| at < e)
    }
}

/// The lower end of a measurement span.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Lower {
    /// Everything counts.
    Unbounded,
    /// Events at or after this instant count.
    From(NaiveDateTime),
    /// Events strictly after this instant count (rolling windows).
    After(NaiveDateTime),
}

impl Lower {
    /// Whether an event at `at` is at or above this lower end.
    #[must_use]
    pub fn admits(self, at: NaiveDateTime) -> bool {
        match self {
            Lower::Unbounded => true,
            Lower::From(s) => s <= at,
            Lower::After(s) => s < at,
        }
    }
}

impl fmt::Display for Lower {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lower::Unbounded => f.write_str("the beginning"),
            Lower::From(s) => write!(f, "{s}"),
            Lower::After(s) => write!(f, "after {s}"),
        }
    }
}

/// `date + months` months, clamped to the end of the target month.
///
/// # Errors
///
/// [`ErrorKind::Overflow`](crate::ErrorKind::Overflow) outside the calendar range.
///
/// # Example
///
/// ```
/// use chrono::NaiveDate;
/// use loyalty::tiers::add_months;
///
/// let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
/// assert_eq!(add_months(d(2024, 1, 31), 1)?, d(2024, 2, 29));
/// assert_eq!(add_months(d(2024, 2, 29), 12)?, d(2025, 2, 28));
/// assert_eq!(add_months(d(2024, 3, 31), -1)?, d(2024, 2, 29));
/// # Ok::<(), loyalty::Error>(())
/// ```
pub fn add_months(date: NaiveDate, months: i64) -> Result<NaiveDate> {
    let n =
        u32::try_from(months.unsigned_abs()).map_err(|_| Error::overflow("month arithmetic"))?;
    let moved = if months >= 0 {
        date.checked_add_months(Months::new(n))
    } else {
        date.checked_sub_months(Months::new(n))
    };
    moved.ok_or_else(|| Error::overflow("month arithmetic"))
}

/// Boundary `k` of the sequence `anchor + k * step` months, at midnight.
fn boundary(anchor: NaiveDate, step: u32, k: i64) -> Result<NaiveDateTime> {
    let months =
        k.checked_mul(i64::from(step)).ok_or_else(|| Error::overflow("month arithmetic"))?;
    Ok(add_months(anchor, months)?.and_time(NaiveTime::MIN))
}

/// The `k` with `boundary(k) <= at < boundary(k + 1)`.
fn index_of(anchor: NaiveDate, step: u32, at: NaiveDateTime) -> Result<i64> {
    let months = (i64::from(at.year()) - i64::from(anchor.year())) * 12 + i64::from(at.month())
        - i64::from(anchor.month());
    let mut k = months.div_euclid(i64::from(step));
    // Clamping to month ends moves boundaries by at most a few days, so at most one step
    // of correction is ever needed each way; the loops are bounded for safety.
    for _ in 0..4 {
        if boundary(anchor, step, k)? > at {
            k -= 1;
        } else {
            break;
        }
    }
    for _ in 0..4 {
        if boundary(anchor, step, k + 1)? <= at {
            k += 1;
        } else {
            break;
        }
    }
    Ok(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn t(y: i32, m: u32, day: u32) -> NaiveDateTime {
        d(y, m, day).and_time(NaiveTime::MIN)
    }

    #[test]
    fn calendar_periods() {
        let j = d(2020, 6, 15);
        let p = Window::CalendarYear.period(t(2024, 12, 31), j).unwrap();
        assert_eq!((p.start, p.end), (Some(t(2024, 1, 1)), Some(t(2025, 1, 1))));
        // Midnight of 1 January belongs to the new year.
        let p = Window::CalendarYear.period(t(2025, 1, 1), j).unwrap();
        assert_eq!(p.start, Some(t(2025, 1, 1)));
        let p = Window::Quarter.period(t(2024, 5, 20), j).unwrap();
        assert_eq!((p.start, p.end), (Some(t(2024, 4, 1)), Some(t(2024, 7, 1))));
        let p = Window::Month.period(t(1999, 2, 28), j).unwrap();
        assert_eq!((p.start, p.end), (Some(t(1999, 2, 1)), Some(t(1999, 3, 1))));
        let p = Window::Lifetime.period(t(1999, 2, 28), j).unwrap();
        assert_eq!((p.start, p.end), (None, None));
    }

    #[test]
    fn leap_day_anniversaries() {
        let j = d(2024, 2, 29);
        let w = Window::Anniversary;
        // Anniversaries: 2025-02-28, 2026-02-28, 2027-02-28, 2028-02-29.
        let p = w.period(t(2027, 3, 1), j).unwrap();
        assert_eq!((p.start, p.end), (Some(t(2027, 2, 28)), Some(t(2028, 2, 29))));
        let p = w.period(t(2028, 2, 28), j).unwrap();
        assert_eq!(p.start, Some(t(2027, 2, 28)));
        let p = w.period(t(2024, 2, 29), j).unwrap();
        assert_eq!((p.start, p.end), (Some(t(2024, 2, 29)), Some(t(2025, 2, 28))));
        // The review of the year ending 2028-02-29 measures from 2027-02-28.
        assert_eq!(w.lower_for_review(t(2028, 2, 29), j).unwrap(), Lower::From(t(2027, 2, 28)));
    }

    #[test]
    fn month_end_rolling_cycles() {
        // Joined on 31 January: cycles of one month end on 29 Feb, 31 Mar, 30 Apr (2024).
        let j = d(2024, 1, 31);
        let w = Window::rolling_months(1).unwrap();
        let p = w.period(t(2024, 3, 15), j).unwrap();
        assert_eq!((p.start, p.end), (Some(t(2024, 2, 29)), Some(t(2024, 3, 31))));
        // Trailing month at 31 March midnight: strictly after 29 February midnight.
        assert_eq!(w.lower_at(t(2024, 3, 31), j).unwrap(), Lower::After(t(2024, 2, 29)));
    }

    #[test]
    fn add_months_clamps_and_rejects_overflow() {
        assert_eq!(add_months(d(2023, 1, 31), 1).unwrap(), d(2023, 2, 28));
        assert_eq!(add_months(d(2024, 1, 31), 1).unwrap(), d(2024, 2, 29));
        assert_eq!(add_months(d(2024, 5, 31), -3).unwrap(), d(2024, 2, 29));
        assert!(add_months(d(2024, 5, 31), i64::MAX).is_err());
        assert!(add_months(NaiveDate::MAX, 1).is_err());
    }

    #[test]
    fn rolling_window_with_monthly_reviews() {
        let j = d(2024, 1, 10);
        let w = Window::rolling(12, 1).unwrap();
        let p = w.period(t(2024, 6, 20), j).unwrap();
        assert_eq!((p.start, p.end), (Some(t(2024, 6, 10)), Some(t(2024, 7, 10))));
        // The review on 10 July judges the trailing year [10 Jul 2023, 10 Jul 2024).
        assert_eq!(w.lower_for_review(t(2024, 7, 10), j).unwrap(), Lower::From(t(2023, 7, 10)));
        assert_eq!(w.to_string(), "rolling 12 months (reviewed monthly)");
        assert!(Window::rolling(12, 0).is_err());
    }

    #[test]
    fn zero_length_window_is_rejected() {
        assert!(Window::rolling_months(0).is_err());
        assert!(Window::rolling_months(1201).is_err());
    }
}
