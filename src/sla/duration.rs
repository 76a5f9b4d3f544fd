//! The three units of an SLA target: calendar time, working time and business days.
//!
//! "1 day" means different things in different helpdesks. For a message under a Mon–Fri
//! 09:00–17:00 schedule without holidays (from the rules Zendesk, Intercom, Freshdesk and
//! Zammad document, and the `biz` and `business_time` libraries):
//!
//! | Semantics | Fri 16:55 → | Sat 10:00 → |
//! |---|---|---|
//! | [`Target::Calendar`] 24 h | Sat 16:55 | Sun 10:00 |
//! | [`Target::Working`] 8 h (one working day as a duration) | Mon 16:55 | Mon 17:00 |
//! | [`Target::Working`] 24 h (Intercom: "1 day" = 24 office hours) | Wed 16:55 | Wed 17:00 |
//! | [`Target::BusinessDays`]`(1)` (this crate's pinned "next business day") | Mon 17:00 | Tue 17:00 |
//!
//! A business-day count is pinned as follows: the clock starts at
//! [`Calendar::next_open`](super::Calendar::next_open); the business date owning that opening
//! interval is day 0; `BusinessDays(n)` ends at the close of the `n`-th business date after day
//! 0 (so `BusinessDays(0)` is "by close of the day we start on"). A business date is a local
//! date with opening hours after holidays and overrides. A message after Friday's close or on a
//! weekend therefore starts on Monday (day 0) and `BusinessDays(1)` ends Tuesday at close.

use std::fmt;

use crate::error::{Error, Result};

/// A signed number of seconds: a calendar duration or an amount of working time, depending on
/// where it is used. Second precision is the precision of the whole module.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(transparent))]
pub struct TimeSpan(i64);

impl TimeSpan {
    /// No time.
    pub const ZERO: TimeSpan = TimeSpan(0);

    /// `n` seconds.
    #[must_use]
    pub const fn seconds(n: i64) -> TimeSpan {
        TimeSpan(n)
    }

    /// `n` minutes.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Overflow`](crate::ErrorKind::Overflow) beyond the `i64` range of seconds.
    pub fn minutes(n: i64) -> Result<TimeSpan> {
        n.checked_mul(60).map(TimeSpan).ok_or_else(|| Error::overflow("minutes to seconds"))
    }

    /// `n` hours.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Overflow`](crate::ErrorKind::Overflow) beyond the `i64` range of seconds.
    pub fn hours(n: i64) -> Result<TimeSpan> {
        n.checked_mul(3600).map(TimeSpan).ok_or_else(|| Error::overflow("hours to seconds"))
    }

    /// `n` days of 24 hours.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Overflow`](crate::ErrorKind::Overflow) beyond the `i64` range of seconds.
    pub fn days(n: i64) -> Result<TimeSpan> {
        n.checked_mul(86_400).map(TimeSpan).ok_or_else(|| Error::overflow("days to seconds"))
    }

    /// The number of seconds.
    #[must_use]
    pub const fn as_secs(self) -> i64 {
        self.0
    }

    /// Whether the span is negative (a deadline already passed).
    #[must_use]
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// The span as a chrono duration.
    #[must_use]
    pub fn to_time_delta(self) -> chrono::TimeDelta {
        chrono::TimeDelta::seconds(self.0)
    }
}

impl fmt::Display for TimeSpan {
    /// `-1h02m03s` style: hours, minutes, seconds.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let s = self.0.unsigned_abs();
        write!(f, "{sign}{}h{:02}m{:02}s", s / 3600, (s / 60) % 60, s % 60)
    }
}

/// How long a metric may take, in one of three units (see the module table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "TargetRepr", into = "TargetRepr"))]
pub enum Target {
    /// Wall-clock time: nights, weekends and holidays count.
    Calendar(TimeSpan),
    /// Working time of the calendar: only open hours count.
    Working(TimeSpan),
    /// Close of the `n`-th business date after the day the clock starts (pinned in the
    /// module docs).
    BusinessDays(u32),
    /// `n` calendar days in the calendar's zone: the same wall-clock time `n` dates later
    /// (DST gaps and folds follow the calendar's rule), so "3 days" from 10:00 is 10:00
    /// three dates later even when a DST change makes that 71 or 73 elapsed hours.
    /// [`Target::Calendar`] with [`TimeSpan::days`] is the other reading: 72 elapsed hours.
    CalendarDays(u32),
    /// "Same or next business day": the close of the business date the clock starts on
    /// ([`Target::BusinessDays`]`(0)`) when at least this much working time is left before
    /// it, otherwise the close of the next business date. "Same day" for a message at
    /// 16:59 under a 17:00 close gives one minute; with a minimum of two hours it is due at
    /// the next day's close instead.
    SameOrNextBusinessDay(TimeSpan),
}

impl Target {
    /// A calendar-time target.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a negative span.
    pub fn calendar(span: TimeSpan) -> Result<Target> {
        non_negative(span).map(Target::Calendar)
    }

    /// A working-time target.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a negative span.
    pub fn working(span: TimeSpan) -> Result<Target> {
        non_negative(span).map(Target::Working)
    }

    /// A business-day target.
    #[must_use]
    pub const fn business_days(n: u32) -> Target {
        Target::BusinessDays(n)
    }

    /// A target of `n` calendar days in the calendar's zone (see [`Target::CalendarDays`]).
    #[must_use]
    pub const fn calendar_days(n: u32) -> Target {
        Target::CalendarDays(n)
    }

    /// "Same or next business day" with at least `min` working time (see
    /// [`Target::SameOrNextBusinessDay`]).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a negative span.
    pub fn same_or_next_business_day(min: TimeSpan) -> Result<Target> {
        non_negative(min).map(Target::SameOrNextBusinessDay)
    }

    /// The target when its span is not negative. The variants are public, so a target can
    /// be built without the constructors' check; everything that uses one checks it here.
    pub(crate) fn checked(self) -> Result<Target> {
        match self {
            Target::Calendar(s) | Target::Working(s) | Target::SameOrNextBusinessDay(s) => {
                non_negative(s).map(|_| self)
            }
            Target::BusinessDays(_) | Target::CalendarDays(_) => Ok(self),
        }
    }
}

/// The policy cap: an absolute bound on every deadline of a cycle ("never later than three
/// days"), counted from the cycle start in calendar time, pauses included. Like a target, "3
/// days" has two readings, and the policy says which:
///
/// | Cap | message Sat 2024-10-26 10:00 Europe/Berlin (clocks go back on the 27th) |
/// |---|---|
/// | [`Cap::Elapsed`]`(`[`TimeSpan::days`]`(3))`: 72 elapsed hours | Tue 09:00 local |
/// | [`Cap::CalendarDays`]`(3)`: the same wall time three dates later | Tue 10:00 local (73 h) |
///
/// Calendar days are counted in the zone of the calendar in force at the cycle start; a
/// wall time that falls in a DST gap or fold is resolved by that calendar's rule, as for
/// [`Target::CalendarDays`]. A later calendar change does not move the cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Cap {
    /// Elapsed time: [`TimeSpan::days`]`(3)` is 72 hours whatever the clocks do.
    Elapsed(TimeSpan),
    /// `n` calendar days in the calendar's zone (71 or 73 elapsed hours across a DST
    /// change for `n = 3`).
    CalendarDays(u32),
}

impl Cap {
    /// A cap of elapsed time.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a negative span.
    pub fn elapsed(span: TimeSpan) -> Result<Cap> {
        if span.is_negative() {
            return Err(Error::invalid("cap", span, "must not be negative"));
        }
        Ok(Cap::Elapsed(span))
    }

    /// A cap of `n` calendar days in the calendar's zone.
    #[must_use]
    pub const fn calendar_days(n: u32) -> Cap {
        Cap::CalendarDays(n)
    }

    /// The cap when its span is not negative (the variants are public, as [`Target`]'s).
    pub(crate) fn checked(self) -> Result<Cap> {
        match self {
            Cap::Elapsed(span) => Cap::elapsed(span),
            Cap::CalendarDays(_) => Ok(self),
        }
    }

    /// The same bound as a target, for computing it on a calendar.
    pub(crate) fn as_target(self) -> Target {
        match self {
            Cap::Elapsed(s) => Target::Calendar(s),
            Cap::CalendarDays(n) => Target::CalendarDays(n),
        }
    }
}

impl From<TimeSpan> for Cap {
    /// Elapsed time (the reading of a bare span).
    fn from(span: TimeSpan) -> Cap {
        Cap::Elapsed(span)
    }
}

/// Wire form of [`Cap`]: an elapsed cap is a bare number of seconds, as written before
/// calendar-day caps existed, so stored policies read unchanged; a calendar-day cap is
/// `{"calendar_days": n}`.
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum CapRepr {
    Elapsed(TimeSpan),
    Tagged(CapTagged),
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum CapTagged {
    CalendarDays(u32),
}

#[cfg(feature = "serde")]
impl serde::Serialize for Cap {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        match *self {
            Cap::Elapsed(span) => CapRepr::Elapsed(span),
            Cap::CalendarDays(n) => CapRepr::Tagged(CapTagged::CalendarDays(n)),
        }
        .serialize(s)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Cap {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Cap, D::Error> {
        match CapRepr::deserialize(d)? {
            CapRepr::Elapsed(span) => Cap::elapsed(span).map_err(serde::de::Error::custom),
            CapRepr::Tagged(CapTagged::CalendarDays(n)) => Ok(Cap::CalendarDays(n)),
        }
    }
}

fn non_negative(span: TimeSpan) -> Result<TimeSpan> {
    if span.0 < 0 {
        return Err(Error::invalid("target", span, "must not be negative"));
    }
    Ok(span)
}

/// Wire form of [`Target`], validated on the way in.
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
enum TargetRepr {
    Calendar(TimeSpan),
    Working(TimeSpan),
    BusinessDays(u32),
    CalendarDays(u32),
    SameOrNextBusinessDay(TimeSpan),
}

#[cfg(feature = "serde")]
impl TryFrom<TargetRepr> for Target {
    type Error = Error;
    fn try_from(r: TargetRepr) -> Result<Target> {
        match r {
            TargetRepr::Calendar(s) => Target::Calendar(s),
            TargetRepr::Working(s) => Target::Working(s),
            TargetRepr::BusinessDays(n) => Target::BusinessDays(n),
            TargetRepr::CalendarDays(n) => Target::CalendarDays(n),
            TargetRepr::SameOrNextBusinessDay(s) => Target::SameOrNextBusinessDay(s),
        }
        .checked()
    }
}

#[cfg(feature = "serde")]
impl From<Target> for TargetRepr {
    fn from(t: Target) -> TargetRepr {
        match t {
            Target::Calendar(s) => TargetRepr::Calendar(s),
            Target::Working(s) => TargetRepr::Working(s),
            Target::BusinessDays(n) => TargetRepr::BusinessDays(n),
            Target::CalendarDays(n) => TargetRepr::CalendarDays(n),
            Target::SameOrNextBusinessDay(s) => TargetRepr::SameOrNextBusinessDay(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_convert_to_seconds() {
        assert_eq!(TimeSpan::hours(3).unwrap().as_secs(), 10_800);
        assert_eq!(TimeSpan::days(1).unwrap().as_secs(), 86_400);
        assert_eq!(TimeSpan::seconds(-3723).to_string(), "-1h02m03s");
        assert!(TimeSpan::hours(i64::MAX).is_err());
    }

    #[test]
    fn negative_targets_are_rejected() {
        assert!(Target::working(TimeSpan::seconds(-1)).is_err());
        assert!(Target::calendar(TimeSpan::seconds(-1)).is_err());
        assert!(Target::working(TimeSpan::ZERO).is_ok());
        assert!(Cap::elapsed(TimeSpan::seconds(-1)).is_err());
        // Built from the public variants, past the constructors.
        assert!(Target::Calendar(TimeSpan::seconds(-1)).checked().is_err());
        assert!(Target::Working(TimeSpan::seconds(-1)).checked().is_err());
        assert!(Target::SameOrNextBusinessDay(TimeSpan::seconds(-5)).checked().is_err());
        assert_eq!(Target::BusinessDays(0).checked().unwrap(), Target::BusinessDays(0));
        assert!(Cap::Elapsed(TimeSpan::seconds(-1)).checked().is_err());
        assert!(Cap::CalendarDays(0).checked().is_ok());
    }

    #[cfg(feature = "serde")]
    #[test]
    fn caps_keep_the_bare_seconds_format() {
        let elapsed = Cap::from(TimeSpan::days(3).unwrap());
        assert_eq!(serde_json::to_string(&elapsed).unwrap(), "259200");
        assert_eq!(serde_json::from_str::<Cap>("259200").unwrap(), elapsed);
        let days = Cap::calendar_days(3);
        assert_eq!(serde_json::to_string(&days).unwrap(), r#"{"calendar_days":3}"#);
        assert_eq!(serde_json::from_str::<Cap>(r#"{"calendar_days":3}"#).unwrap(), days);
        assert!(serde_json::from_str::<Cap>("-5").is_err());
        assert!(serde_json::from_str::<Cap>(r#"{"weeks":3}"#).is_err());
    }
}
