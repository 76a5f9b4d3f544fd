//! Contact pressure: a cap per period, quiet hours, consent and cool-downs.

use chrono::{
    DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc,
};
use chrono_tz::Tz;

use super::facts::{Channel, Purpose};
use crate::error::{Error, Result};

/// The wall-clock time at `at` in `tz`, or `None` when it falls outside chrono's range
/// (within a day of `DateTime::<Utc>::MIN_UTC` or `MAX_UTC`), where chrono's own conversion
/// panics.
pub(crate) fn local_datetime(at: DateTime<Utc>, tz: Tz) -> Option<NaiveDateTime> {
    let utc = at.naive_utc();
    utc.checked_add_offset(tz.offset_from_utc_datetime(&utc).fix())
}

/// [`local_datetime`] or a typed error naming `field`.
pub(crate) fn local_or_err(
    at: DateTime<Utc>,
    tz: Tz,
    field: &'static str,
) -> Result<NaiveDateTime> {
    local_datetime(at, tz).ok_or_else(|| {
        Error::invalid(field, at, format!("local time in {} is out of range", tz.name()))
    })
}

/// At most `max_contacts` contacts per customer in any window of `period_days` days ending
/// now: past contacts of every kind inside the window count (as do contacts the host has
/// already scheduled after `now`), and `due` returns no more actions than the room left.
///
/// Deserialization validates like [`ContactCap::new`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "ContactCapRepr"))]
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

impl ContactCap {
    /// At most `max_contacts` per `period_days` days.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for field
    /// `cap.period_days` when the period is zero days (to silence everyone, use
    /// `max_contacts = 0`).
    pub fn new(max_contacts: u32, period_days: u32) -> Result<ContactCap> {
        let cap = ContactCap { max_contacts, period_days };
        cap.validate()?;
        Ok(cap)
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.period_days == 0 {
            return Err(Error::invalid("cap.period_days", 0, "must be at least 1"));
        }
        Ok(())
    }
}

/// The unvalidated wire form of [`ContactCap`].
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
struct ContactCapRepr {
    max_contacts: u32,
    period_days: u32,
}

#[cfg(feature = "serde")]
impl TryFrom<ContactCapRepr> for ContactCap {
    type Error = Error;
    fn try_from(r: ContactCapRepr) -> Result<ContactCap> {
        ContactCap::new(r.max_contacts, r.period_days)
    }
}

/// Local hours in which no customer is contacted, on the customer's own clock.
///
/// `start` is inclusive, `end` exclusive; a window with `start > end` wraps midnight (the
/// default, 21:00 to 09:00). Deserialization validates like [`QuietHours::new`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "QuietHoursRepr"))]
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

/// The unvalidated wire form of [`QuietHours`].
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
struct QuietHoursRepr {
    start: NaiveTime,
    end: NaiveTime,
}

#[cfg(feature = "serde")]
impl TryFrom<QuietHoursRepr> for QuietHours {
    type Error = Error;
    fn try_from(r: QuietHoursRepr) -> Result<QuietHours> {
        QuietHours::new(r.start, r.end)
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

    /// The first allowed instant at or after `now` on the customer's clock in `tz`: never
    /// before `now`, and never an instant whose local time is inside the window.
    ///
    /// The local clock only leaves the window by reading `end` or by jumping at an offset
    /// change, so the answer is the earliest of those after `now`, checked again until it
    /// is allowed. On a fall-back night `end` can be read twice: the later reading is used
    /// when the earlier one is already past (Berlin, 22:00-02:30, at 02:10 CET on
    /// 2026-10-25: 02:30 CET, not 02:30 CEST 40 minutes before `now`); and a jump back out
    /// of the window ends it (a window from 23:30 ends at a midnight that falls back to
    /// 23:00). When the local end time does not exist that day (a DST gap, or a whole
    /// skipped day such as 30 December 2011 in Samoa), the end of the gap is used if it is
    /// allowed, else the next reading of `end`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for field `now` when the
    /// local time at `now` (or at the end of the window) is outside chrono's range, within a
    /// day of `DateTime::<Utc>::MIN_UTC` or `MAX_UTC`.
    ///
    /// # Example
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use loyalty::care::{parse_time_zone, QuietHours};
    ///
    /// // 13:30 UTC is 22:30 in Tokyo: quiet until 09:00 local, 00:00 UTC the next day.
    /// let now = Utc.with_ymd_and_hms(2026, 3, 10, 13, 30, 0).unwrap();
    /// let next = QuietHours::default().next_allowed(now, parse_time_zone("Asia/Tokyo")?)?;
    /// assert_eq!(next, Utc.with_ymd_and_hms(2026, 3, 11, 0, 0, 0).unwrap());
    /// # Ok::<(), loyalty::Error>(())
    /// ```
    pub fn next_allowed(&self, now: DateTime<Utc>, tz: Tz) -> Result<DateTime<Utc>> {
        let out_of_range = || Error::invalid("now", now, "end of quiet hours is out of range");
        let mut at = now;
        // Each step lands on a reading of `end` (allowed) or an offset change; zones change
        // offset at most a few times in two days, so a handful of steps always suffices.
        for _ in 0..8 {
            let local = local_or_err(at, tz, "now")?;
            if !self.contains(local.time()) {
                return Ok(at);
            }
            let today = local.date();
            let mut end: Option<DateTime<Utc>> = None;
            for offset in -1..=2 {
                let Some(date) = today.checked_add_signed(Duration::days(offset)) else {
                    continue;
                };
                for cand in readings(tz, date, self.end) {
                    if cand > at && end.is_none_or(|e| cand < e) {
                        end = Some(cand);
                    }
                }
            }
            let horizon = end.map_or_else(
                || at.checked_add_signed(Duration::days(3)).ok_or_else(out_of_range),
                Ok,
            )?;
            // An offset change before that reading moves the clock discontinuously: look
            // again from the change.
            at = match first_change(tz, at, horizon) {
                Some(change) => change,
                None => end.ok_or_else(out_of_range)?,
            };
        }
        Err(Error::invalid("now", now, format!("no end of quiet hours found in {}", tz.name())))
    }
}

/// Every instant at which the clock in `tz` reads `time` on `date` (none in a gap, two in a
/// fold).
fn readings(tz: Tz, date: NaiveDate, time: NaiveTime) -> Vec<DateTime<Utc>> {
    match tz.from_local_datetime(&date.and_time(time)) {
        LocalResult::Single(t) => vec![t.with_timezone(&Utc)],
        LocalResult::Ambiguous(a, b) => vec![a.with_timezone(&Utc), b.with_timezone(&Utc)],
        LocalResult::None => Vec::new(),
    }
}

/// The UTC offset of `tz` at `at`, in seconds.
fn offset_secs(tz: Tz, at: DateTime<Utc>) -> i32 {
    tz.offset_from_utc_datetime(&at.naive_utc()).fix().local_minus_utc()
}

/// The first instant in `(from, to]` with an offset other than the one at `from`, if the
/// offset at `to` differs (offsets are assumed not to change and change back in between).
fn first_change(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let before = offset_secs(tz, from);
    if offset_secs(tz, to) == before {
        return None;
    }
    let (mut lo, mut hi) = (from.timestamp(), to.timestamp());
    // Invariant: offset(lo) == before != offset(hi); transitions fall on whole seconds.
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        let t = DateTime::from_timestamp(mid, 0)?;
        if offset_secs(tz, t) == before {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    DateTime::from_timestamp(hi, 0)
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

/// Which local date a greeting (birthday, festival) is judged on.
///
/// A run late in the customer's evening defers to the end of quiet hours, often the next
/// morning: judged on the date of the run, a Christmas greeting found at 23:00 on 25
/// December would go out on the 26th. The default judges it on the date it will be sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum GreetingDay {
    /// Only on the day: a greeting is due when the customer's local date at the send time
    /// (`now`, or the end of quiet hours) is the occasion, so it is never sent a day late.
    /// A run at 23:00 on 24 December (quiet until 09:00) sends the Christmas greeting at
    /// 09:00 on the 25th; the run at 23:00 on the 25th sends none.
    #[default]
    OnTheDay,
    /// Judged on the local date at `now`; a deferred greeting may land the next morning.
    RunDate,
}

/// Which messages a scoped setting applies to: a channel, a purpose, both, or (both `None`)
/// every message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct Scope {
    /// Only messages on this channel (`None`: every channel).
    pub channel: Option<Channel>,
    /// Only messages of this purpose (`None`: every purpose).
    pub purpose: Option<Purpose>,
}

impl Scope {
    /// Every message.
    #[must_use]
    pub fn all() -> Scope {
        Scope::default()
    }

    /// Messages of one purpose, on any channel.
    #[must_use]
    pub fn purpose(purpose: Purpose) -> Scope {
        Scope { channel: None, purpose: Some(purpose) }
    }

    /// Messages on one channel, of any purpose.
    #[must_use]
    pub fn channel(channel: Channel) -> Scope {
        Scope { channel: Some(channel), purpose: None }
    }

    /// Messages on one channel and of one purpose.
    #[must_use]
    pub fn of(channel: Channel, purpose: Purpose) -> Scope {
        Scope { channel: Some(channel), purpose: Some(purpose) }
    }

    /// Whether a message on `channel` for `purpose` is in scope. A message whose channel is
    /// unknown (`None`, a past contact recorded without one) is in the scope of every
    /// channel, so a cap never undercounts.
    #[must_use]
    pub fn covers(&self, channel: Option<Channel>, purpose: Purpose) -> bool {
        self.purpose.is_none_or(|p| p == purpose)
            && match (self.channel, channel) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    }
}

/// A cap on the contacts of one [`Scope`] ("at most one marketing SMS a week"), on top of
/// the overall [`Pressure::cap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ScopedCap {
    /// The messages counted.
    pub scope: Scope,
    /// The cap on them.
    pub cap: ContactCap,
}

/// Quiet hours for one [`Scope`], replacing [`Pressure::quiet_hours`] for the messages in
/// it ("service e-mails at any hour": `quiet_hours: None`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ScopedQuietHours {
    /// The messages concerned.
    pub scope: Scope,
    /// Their quiet hours (`None`: any hour).
    pub quiet_hours: Option<QuietHours>,
}

/// Contact pressure settings shared by all rules.
///
/// The default: two contacts per seven days, quiet from 21:00 to 09:00 local, actions due in
/// quiet hours deferred, nothing scoped. Consent, caps and quiet hours can differ per
/// channel and per [`Purpose`]: consent through [`Customer::consents`](super::Customer::consents),
/// extra caps through [`Pressure::caps`], other quiet hours through [`Pressure::quiet`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct Pressure {
    /// The per-customer cap on every contact.
    pub cap: ContactCap,
    /// Further caps, each on the contacts of its scope; an action goes out only when the
    /// overall cap and every cap whose scope covers it have room.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Vec::is_empty"))]
    pub caps: Vec<ScopedCap>,
    /// Quiet hours on the customer's clock; `None`: contact at any hour.
    pub quiet_hours: Option<QuietHours>,
    /// Quiet hours per scope: the first entry whose scope covers an action replaces
    /// `quiet_hours` for it.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Vec::is_empty"))]
    pub quiet: Vec<ScopedQuietHours>,
    /// Defer or hold actions due in quiet hours.
    pub quiet_policy: QuietHoursPolicy,
    /// The local date greetings are judged on.
    pub greeting_day: GreetingDay,
}

impl Default for Pressure {
    fn default() -> Pressure {
        Pressure {
            cap: ContactCap::default(),
            caps: Vec::new(),
            quiet_hours: Some(QuietHours::default()),
            quiet: Vec::new(),
            quiet_policy: QuietHoursPolicy::default(),
            greeting_day: GreetingDay::default(),
        }
    }
}

impl Pressure {
    pub(crate) fn validate(&self) -> Result<()> {
        self.cap.validate()?;
        for c in &self.caps {
            c.cap.validate()?;
        }
        for q in
            self.quiet_hours.iter().chain(self.quiet.iter().filter_map(|q| q.quiet_hours.as_ref()))
        {
            q.validate()?;
        }
        Ok(())
    }

    /// The quiet hours that apply to a message on `channel` for `purpose`.
    #[must_use]
    pub fn quiet_hours_for(&self, channel: Channel, purpose: Purpose) -> Option<QuietHours> {
        self.quiet
            .iter()
            .find(|q| q.scope.covers(Some(channel), purpose))
            .map_or(self.quiet_hours, |q| q.quiet_hours)
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
        let next = QuietHours::default().next_allowed(now, tz).unwrap();
        assert_eq!(next, Utc.with_ymd_and_hms(2026, 3, 11, 0, 0, 0).unwrap());
        // 01:00 local (16:00 UTC the day before): ends at 09:00 the same local day.
        let now = Utc.with_ymd_and_hms(2026, 3, 10, 16, 0, 0).unwrap();
        assert_eq!(
            QuietHours::default().next_allowed(now, tz).unwrap(),
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
        assert_eq!(
            q.next_allowed(now, tz).unwrap(),
            Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap()
        );
        // New York springs forward on 2026-03-08 at 02:00 -> 03:00 EDT (07:00 UTC).
        let tz: Tz = "America/New_York".parse().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 3, 8, 5, 0, 0).unwrap(); // 00:00 EST
        assert_eq!(
            q.next_allowed(now, tz).unwrap(),
            Utc.with_ymd_and_hms(2026, 3, 8, 7, 0, 0).unwrap()
        );
    }

    #[test]
    fn next_allowed_skips_a_whole_missing_day() {
        // Samoa moved across the date line: 29 December 2011 23:59:59 (UTC-10) was followed
        // by 31 December 00:00 (UTC+14), at 2011-12-30 10:00 UTC. A window due to end at
        // 09:00 on the missing 30th ends at 09:00 on the 31st (19:00 UTC on the 30th), not at
        // the gap's end, 00:00, which is still quiet.
        let tz: Tz = "Pacific/Apia".parse().unwrap();
        let now = Utc.with_ymd_and_hms(2011, 12, 30, 8, 0, 0).unwrap(); // 22:00 on the 29th
        let next = QuietHours::default().next_allowed(now, tz).unwrap();
        assert_eq!(next, Utc.with_ymd_and_hms(2011, 12, 30, 19, 0, 0).unwrap());
        let local = next.with_timezone(&tz);
        assert_eq!(local.date_naive(), NaiveDate::from_ymd_opt(2011, 12, 31).unwrap());
        assert_eq!(local.time(), hm(9, 0));
        // A window ending at 02:00 on the missing day: the 31st's 00:00 is still quiet too.
        let q = QuietHours::new(hm(23, 0), hm(2, 0)).unwrap();
        let now = Utc.with_ymd_and_hms(2011, 12, 30, 9, 30, 0).unwrap(); // 23:30 on the 29th
        assert_eq!(
            q.next_allowed(now, tz).unwrap(),
            Utc.with_ymd_and_hms(2011, 12, 30, 12, 0, 0).unwrap()
        );
    }

    #[test]
    fn instants_at_the_end_of_time_are_errors_not_panics() {
        let tz: Tz = "Pacific/Kiritimati".parse().unwrap();
        let q = QuietHours::default();
        assert!(q.next_allowed(DateTime::<Utc>::MAX_UTC, tz).is_err());
        let tz: Tz = "America/New_York".parse().unwrap();
        assert!(q.next_allowed(DateTime::<Utc>::MIN_UTC, tz).is_err());
        assert!(local_datetime(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(), tz).is_some());
    }

    #[test]
    fn zero_period_is_rejected() {
        assert!(ContactCap::new(3, 0).is_err());
        assert_eq!(ContactCap::new(0, 1).unwrap(), ContactCap { max_contacts: 0, period_days: 1 });
    }
}
