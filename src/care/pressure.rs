//! Contact pressure: a cap per period, quiet hours, consent and cool-downs.

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::error::{Error, Result};

/// At most `max_contacts` contacts per customer in any window of `period_days` days ending
/// now: past contacts of every kind inside the window count (as do contacts the host has
/// already scheduled after `now`), and `due` returns no more actions than the room left.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ContactCap {
    /// Contacts allowed per period (0 silences everyone).
    pub max_contacts: u32,
    /// The period, in days (at least 1).
    pub period_days: u32,
}

impl Default for ContactCap {
    /// Two contacts per seven days.
    fn default() -> ContactCap {
        ContactCap { max_contacts: 2, period_days: 7 }
    }
}

/// Local hours in which no customer is contacted, on the customer's own clock.
///
/// `start` is inclusive, `end` exclusive; a window with `start > end` wraps midnight (the
/// default, 21:00 to 09:00).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct QuietHours {
    /// First quiet local time.
    pub start: NaiveTime,
    /// First allowed local time after the quiet window.
    pub end: NaiveTime,
}

impl Default for QuietHours {
    fn default() -> QuietHours {
        QuietHours {
            start: NaiveTime::from_hms_opt(21, 0, 0).unwrap_or(NaiveTime::MIN),
            end: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or(NaiveTime::MIN),
        }
    }
}

impl QuietHours {
    /// A quiet window.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when `start == end` (an
    /// empty or a whole-day window is ambiguous: use `None` or a zero cap instead).
    pub fn new(start: NaiveTime, end: NaiveTime) -> Result<QuietHours> {
        let q = QuietHours { start, end };
        q.validate()?;
        Ok(q)
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.start == self.end {
            return Err(Error::invalid("quiet_hours", self.start, "start equals end"));
        }
        Ok(())
    }

    /// Whether a local time is quiet.
    #[must_use]
    pub fn contains(&self, t: NaiveTime) -> bool {
        if self.start < self.end {
            self.start <= t && t < self.end
        } else {
            t >= self.start || t < self.end
        }
    }

    /// The first allowed instant at or after `now` on the customer's clock in `tz`.
    ///
    /// When the local end time does not exist that day (a DST gap), the first instant after
    /// the gap is used; when it exists twice, the earlier one.
    #[must_use]
    pub fn next_allowed(&self, now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        let local = now.with_timezone(&tz);
        let t = local.time();
        if !self.contains(t) {
            return now;
        }
        let today = local.date_naive();
        // In a wrapping window, times after `start` end tomorrow morning.
        let end_date =
            if self.start > self.end && t >= self.start { today.succ_opt() } else { Some(today) };
        end_date.and_then(|d| resolve_local(tz, d, self.end)).unwrap_or(now)
    }
}

/// The UTC instant of a local date and time; a time in a DST gap moves forward to the gap's
/// end (tried in 15-minute steps, gaps being at most a few hours).
fn resolve_local(tz: Tz, date: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
    let mut naive = date.and_time(time);
    for _ in 0..=16 {
        match tz.from_local_datetime(&naive) {
            LocalResult::Single(t) => return Some(t.with_timezone(&Utc)),
            LocalResult::Ambiguous(a, _) => return Some(a.with_timezone(&Utc)),
            LocalResult::None => naive = naive.checked_add_signed(Duration::minutes(15))?,
        }
    }
    None
}

/// What happens to an action that falls due inside quiet hours.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum QuietHoursPolicy {
    /// Return it as an action with [`Timing::Deferred`](super::Timing::Deferred) and
    /// `send_at` set to the end of the quiet window (it counts against the cap). A birthday
    /// greeting due at 23:00 local is then sent the next morning.
    #[default]
    Defer,
    /// Hold it back (listed in [`CarePlan::held`](super::CarePlan::held) with
    /// [`HoldReason::QuietHours`](super::HoldReason::QuietHours)); the host runs `due` again
    /// after the window.
    Hold,
}

/// Contact pressure settings shared by all rules.
///
/// The default: two contacts per seven days, quiet from 21:00 to 09:00 local, actions due in
/// quiet hours deferred.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Pressure {
    /// The per-customer cap.
    pub cap: ContactCap,
    /// Quiet hours on the customer's clock; `None`: contact at any hour.
    pub quiet_hours: Option<QuietHours>,
    /// Defer or hold actions due in quiet hours.
    pub quiet_policy: QuietHoursPolicy,
}

impl Default for Pressure {
    fn default() -> Pressure {
        Pressure {
            cap: ContactCap::default(),
            quiet_hours: Some(QuietHours::default()),
            quiet_policy: QuietHoursPolicy::default(),
        }
    }
}

impl Pressure {
    pub(crate) fn validate(&self) -> Result<()> {
        if self.cap.period_days == 0 {
            return Err(Error::invalid("cap.period_days", 0, "must be at least 1"));
        }
        if let Some(q) = &self.quiet_hours {
            q.validate()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn wrapping_window_contains_late_evening_and_early_morning() {
        let q = QuietHours::default();
        for (t, quiet) in
            [(hm(20, 59), false), (hm(21, 0), true), (hm(3, 0), true), (hm(9, 0), false)]
        {
            assert_eq!(q.contains(t), quiet, "{t}");
        }
        let day = QuietHours::new(hm(12, 0), hm(14, 0)).unwrap();
        assert!(day.contains(hm(13, 0)));
        assert!(!day.contains(hm(14, 0)));
        assert!(QuietHours::new(hm(9, 0), hm(9, 0)).is_err());
    }

    #[test]
    fn next_allowed_crosses_midnight_in_local_time() {
        let tz: Tz = "Asia/Tokyo".parse().unwrap();
        // 2026-03-10 13:30 UTC is 22:30 in Tokyo: quiet until 09:00 the next local day,
        // which is 00:00 UTC on 2026-03-11.
        let now = Utc.with_ymd_and_hms(2026, 3, 10, 13, 30, 0).unwrap();
        let next = QuietHours::default().next_allowed(now, tz);
        assert_eq!(next, Utc.with_ymd_and_hms(2026, 3, 11, 0, 0, 0).unwrap());
        // 01:00 local (16:00 UTC the day before): ends at 09:00 the same local day.
        let now = Utc.with_ymd_and_hms(2026, 3, 10, 16, 0, 0).unwrap();
        assert_eq!(
            QuietHours::default().next_allowed(now, tz),
            Utc.with_ymd_and_hms(2026, 3, 11, 0, 0, 0).unwrap()
        );
    }

    #[test]
    fn next_allowed_skips_a_dst_gap() {
        // Europe/Berlin springs forward on 2026-03-29 at 02:00 -> 03:00; a window ending at
        // 02:30 ends at 03:00 CEST (01:00 UTC).
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let q = QuietHours::new(hm(22, 0), hm(2, 30)).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 3, 28, 23, 30, 0).unwrap(); // 00:30 CET
        assert_eq!(q.next_allowed(now, tz), Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap());
    }
}
