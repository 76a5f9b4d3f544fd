//! Business calendars: weekly opening hours in an IANA zone, holidays and date overrides.
//!
//! Semantics, pinned as the business-time libraries `workclock` 0.1.2, `rickar/cal` v2 and
//! `businesstimedelta` 1.0.1 and the `dbt_zendesk` package (PR #114) do:
//!
//! - **Wall time.** Opening hours are local wall-clock times, converted to instants per date, so
//!   a 09:00–17:00 day is 8 h even on a DST change day while a 00:00–24:00 day is 23 or 25 h.
//! - **Half-open.** A [`Shift`] covers `[start, end)`: 17:00 is closed for 09:00–17:00.
//! - **Overnight.** `end <= start` crosses midnight and belongs to the weekday it starts on;
//!   `end == start` is a 24-hour shift; an end of 00:00 (or 24:00) is the end of the day.
//! - **Holidays** close a local date from 00:00 to 24:00. An overnight shift from the day
//!   before keeps its part before midnight and loses the part after.
//! - **Overrides** replace the weekly hours of one date (extra working Saturdays, short days).
//!   A date that is both a holiday and an override is closed, and an override without shifts
//!   closes its date exactly as a holiday does (the previous night's shift stops at midnight).
//! - **Open** means one thing for every query: `t` is open when some date's interval
//!   `[start, end)` (its shifts mapped to instants by the DST rule below) contains it;
//!   [`Calendar::is_open`], [`Calendar::next_open`], [`Calendar::between`] and
//!   [`Calendar::owning_date`] all follow it, even when the clock falls back across midnight
//!   and the next date's shifts begin during the repeated evening.
//! - **Business dates** are dates with real open time: a date the zone skips (2011-12-30 in
//!   Pacific/Apia) or whose only shifts fall in a DST gap is not one, whatever its weekly
//!   hours say ([`Calendar::is_business_day`], [`Calendar::open_intervals`]).
//! - **DST.** A wall time maps to the earliest instant at which the zone's clock reads that time
//!   or later: inside a gap that is the end of the gap (02:30 on a spring-forward night opens at
//!   03:00), inside a fold it is the earlier instant (01:30 on a fall-back night is the first
//!   01:30). The mapping never goes backwards, so no interval becomes negative; only an interval
//!   lying wholly inside a gap (a wall time that does not exist that night) is empty.
//! - **Precision and range.** One second; instants from 1970-01-01 to 2100-01-01 UTC (the span
//!   of the tz tables chrono-tz ships). Sub-second parts are dropped (floored).
//!
//! Operations follow `workclock`: [`Calendar::between`] is the working time in `[a, b)`,
//! negative when `b < a`; [`Calendar::add`] is the earliest instant with exactly `d` working
//! time after `t`, with `add(t, 0) == t`; [`Calendar::next_open`] is `>= t`.
//!
//! Cost: never minute stepping. Runs of ordinary days are skipped in O(1) with per-weekday
//! prefix sums of open seconds; long spans skip through holidays, overrides and UTC-offset
//! changes in O(log n) with cumulative tables of real open seconds over those (sorted)
//! "irregular" days; only the first and last days of a search, and irregular days met with
//! less than two weeks of work left, are walked interval by interval.
//! The zone's offset changes are precomputed per calendar (chrono-tz is probed once a day over
//! 1970–2100 and each change located to the second; two changes less than a day apart that
//! cancel out would be missed; such changes are assumed not to exist).
//! Searches that find no open time give up after 366 days plus 7 per special date.
//!
//! # Example
//!
//! ```
//! use chrono::{TimeZone, Utc, Weekday};
//! use loyalty::sla::{Calendar, Shift, TimeSpan};
//!
//! let cal = Calendar::builder("America/New_York")
//!     .weekdays(&[Shift::hm(9, 0, 17, 0)?])
//!     .holiday(chrono::NaiveDate::from_ymd_opt(2024, 12, 25).unwrap())
//!     .build()?;
//! // Tue 2024-12-24 16:00 EST plus 2 working hours: 1 h on Tuesday, Christmas closed,
//! // 1 h on Thursday morning.
//! let t = Utc.with_ymd_and_hms(2024, 12, 24, 21, 0, 0).unwrap();
//! let due = cal.add(t, TimeSpan::hours(2)?)?;
//! assert_eq!(due, Utc.with_ymd_and_hms(2024, 12, 26, 15, 0, 0).unwrap());
//! assert_eq!(cal.between(t, due)?, TimeSpan::hours(2)?);
//! # let _ = Weekday::Mon;
//! # Ok::<(), loyalty::Error>(())
//! ```

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;

use super::duration::{Target, TimeSpan};
use super::zone::{Segment, ZoneTable, RANGE_END, RANGE_START};
use crate::error::{Error, ErrorKind, Result};

const DAY: i64 = 86_400;
const WEEK: i64 = 7 * DAY;
/// Days from 0001-01-01 (chrono's day 1 of the common era) to 1970-01-01.
const EPOCH_CE_DAYS: i64 = 719_163;

/// One opening interval of a day in local wall time, `[start, end)` in seconds after midnight.
///
/// `end <= start` crosses midnight (an overnight shift belonging to the day it starts on);
/// `end == start` is a 24-hour shift; `end` may be written as 24:00 (86 400 s). There is no
/// empty shift: equal ends mean a full day (as `workclock` and `rickar/cal` read them), and
/// a start of 24:00 is rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "ShiftRepr", into = "ShiftRepr"))]
pub struct Shift {
    start: u32,
    end: u32,
}

impl Shift {
    /// A shift from `start` to `end`, both in seconds after midnight.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] when `start >= 86_400` or `end > 86_400`.
    pub fn from_secs(start: u32, end: u32) -> Result<Shift> {
        if start >= DAY as u32 {
            return Err(Error::invalid("shift start", start, "must be before 24:00"));
        }
        if end > DAY as u32 {
            return Err(Error::invalid("shift end", end, "must be at most 24:00"));
        }
        Ok(Shift { start, end })
    }

    /// A shift from `sh:sm` to `eh:em` (end may be `24:00`).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] for minutes above 59 or times past 24:00.
    pub fn hm(sh: u32, sm: u32, eh: u32, em: u32) -> Result<Shift> {
        if sm > 59 || em > 59 || sh > 24 || eh > 24 {
            return Err(Error::invalid(
                "shift",
                format!("{sh:02}:{sm:02}-{eh:02}:{em:02}"),
                "not a time of day",
            ));
        }
        Shift::from_secs(sh * 3600 + sm * 60, eh * 3600 + em * 60)
    }

    /// The whole day, 00:00–24:00.
    #[must_use]
    pub const fn full_day() -> Shift {
        Shift { start: 0, end: DAY as u32 }
    }

    /// Start, seconds after midnight.
    #[must_use]
    pub const fn start_secs(self) -> u32 {
        self.start
    }

    /// End as given, seconds after midnight (may be at or before the start: overnight).
    #[must_use]
    pub const fn end_secs(self) -> u32 {
        self.end
    }

    /// Length in wall-clock seconds, in `(0, 86_400]`.
    #[must_use]
    pub const fn len_secs(self) -> u32 {
        if self.end > self.start {
            self.end - self.start
        } else {
            self.end + DAY as u32 - self.start
        }
    }

    /// `(start, end)` relative to the day's midnight, `end` possibly past 86 400.
    fn span(self) -> (i64, i64) {
        (i64::from(self.start), i64::from(self.start) + i64::from(self.len_secs()))
    }
}

impl fmt::Display for Shift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hm = |s: u32| format!("{:02}:{:02}", s / 3600, (s / 60) % 60);
        write!(f, "{}-{}", hm(self.start), hm(self.end))
    }
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct ShiftRepr {
    start: u32,
    end: u32,
}

#[cfg(feature = "serde")]
impl TryFrom<ShiftRepr> for Shift {
    type Error = Error;
    fn try_from(r: ShiftRepr) -> Result<Shift> {
        Shift::from_secs(r.start, r.end)
    }
}

#[cfg(feature = "serde")]
impl From<Shift> for ShiftRepr {
    fn from(s: Shift) -> ShiftRepr {
        ShiftRepr { start: s.start, end: s.end }
    }
}

/// A closed date. The actual date and the observed date are kept apart: only the observed
/// date (the actual date unless [`Holiday::observed_on`] says otherwise) is closed, and no
/// substitute rule is applied implicitly.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Holiday {
    /// The date the holiday falls on.
    pub date: NaiveDate,
    /// The date closed instead, when it differs (a substitute day).
    pub observed: Option<NaiveDate>,
    /// A label for display.
    pub name: String,
}

impl Holiday {
    /// A holiday closed on its own date.
    #[must_use]
    pub fn new(date: NaiveDate) -> Holiday {
        Holiday { date, observed: None, name: String::new() }
    }

    /// Names the holiday.
    #[must_use]
    pub fn named(mut self, name: impl Into<String>) -> Holiday {
        self.name = name.into();
        self
    }

    /// Closes `observed` instead of the actual date.
    #[must_use]
    pub fn observed_on(mut self, observed: NaiveDate) -> Holiday {
        self.observed = Some(observed);
        self
    }

    /// The date that is closed.
    #[must_use]
    pub fn closed_date(&self) -> NaiveDate {
        self.observed.unwrap_or(self.date)
    }
}

/// Opening hours replacing the weekly hours on one date (an empty list closes the date).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DateHours {
    /// The local date.
    pub date: NaiveDate,
    /// Its shifts.
    pub shifts: Vec<Shift>,
}

/// The plain description of a calendar: what [`Calendar`] is built from and serialises to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CalendarSpec {
    /// The name [`EventKind::CalendarChange`](super::EventKind::CalendarChange) refers to
    /// the calendar by (empty: unnamed).
    #[cfg_attr(feature = "serde", serde(default))]
    pub name: String,
    /// IANA zone name, e.g. `Asia/Shanghai`.
    pub time_zone: String,
    /// Shifts per weekday, Monday first.
    pub week: [Vec<Shift>; 7],
    /// Closed dates.
    pub holidays: Vec<Holiday>,
    /// Date-specific hours.
    pub overrides: Vec<DateHours>,
}

/// The stored form of a [`Calendar`]: its spec and a format version (see
/// [`crate::version`]).
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredCalendar {
    #[serde(default = "crate::version::v1")]
    version: u32,
    #[serde(default)]
    name: String,
    time_zone: String,
    week: [Vec<Shift>; 7],
    holidays: Vec<Holiday>,
    overrides: Vec<DateHours>,
}

#[cfg(feature = "serde")]
impl TryFrom<StoredCalendar> for Calendar {
    type Error = Error;
    fn try_from(r: StoredCalendar) -> Result<Calendar> {
        crate::version::check("sla calendar", r.version, 1)?;
        let StoredCalendar { name, time_zone, week, holidays, overrides, .. } = r;
        Calendar::try_from(CalendarSpec { name, time_zone, week, holidays, overrides })
    }
}

#[cfg(feature = "serde")]
impl From<Calendar> for StoredCalendar {
    fn from(c: Calendar) -> StoredCalendar {
        let CalendarSpec { name, time_zone, week, holidays, overrides } = CalendarSpec::from(c);
        StoredCalendar { version: 1, name, time_zone, week, holidays, overrides }
    }
}

/// Builds a [`Calendar`]; validation happens in [`CalendarBuilder::build`].
#[derive(Clone, Debug)]
pub struct CalendarBuilder {
    spec: CalendarSpec,
}

impl CalendarBuilder {
    /// Names the calendar (see [`Calendar::name`]).
    pub fn name(&mut self, name: &str) -> &mut CalendarBuilder {
        name.clone_into(&mut self.spec.name);
        self
    }

    /// Sets the shifts of one weekday (replacing earlier ones).
    pub fn hours(&mut self, day: Weekday, shifts: &[Shift]) -> &mut CalendarBuilder {
        if let Some(slot) = self.spec.week.get_mut(day.num_days_from_monday() as usize) {
            *slot = shifts.to_vec();
        }
        self
    }

    /// Sets the same shifts Monday to Friday.
    pub fn weekdays(&mut self, shifts: &[Shift]) -> &mut CalendarBuilder {
        for slot in self.spec.week.iter_mut().take(5) {
            *slot = shifts.to_vec();
        }
        self
    }

    /// Sets the same shifts on all seven days.
    pub fn every_day(&mut self, shifts: &[Shift]) -> &mut CalendarBuilder {
        for slot in &mut self.spec.week {
            *slot = shifts.to_vec();
        }
        self
    }

    /// Closes a date.
    pub fn holiday(&mut self, date: NaiveDate) -> &mut CalendarBuilder {
        self.spec.holidays.push(Holiday::new(date));
        self
    }

    /// Adds a holiday with its name and observed date.
    pub fn add_holiday(&mut self, holiday: Holiday) -> &mut CalendarBuilder {
        self.spec.holidays.push(holiday);
        self
    }

    /// Replaces the weekly hours of `date`.
    pub fn override_hours(&mut self, date: NaiveDate, shifts: &[Shift]) -> &mut CalendarBuilder {
        self.spec.overrides.push(DateHours { date, shifts: shifts.to_vec() });
        self
    }

    /// Validates and builds the calendar.
    ///
    /// # Errors
    ///
    /// See [`Calendar::new`].
    pub fn build(&self) -> Result<Calendar> {
        Calendar::new(self.spec.clone())
    }
}

/// A validated business calendar (see the module docs for the semantics).
///
/// Building one probes the zone over 1970–2100 (about a millisecond): build calendars once
/// and share them; deserialising rebuilds the tables and validates again.
#[derive(Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "StoredCalendar", into = "StoredCalendar"))]
pub struct Calendar {
    spec: CalendarSpec,
    tz: Tz,
    table: ZoneTable,
    /// Per weekday (Monday first): `(start, end)` seconds from midnight, sorted.
    week: [Vec<(i64, i64)>; 7],
    /// Open wall seconds of a whole ordinary week.
    week_total: i64,
    /// Weekdays with opening hours.
    business_days_per_week: i64,
    /// `open_prefix[w][k]`: open wall seconds of the `k` days starting on weekday `w`.
    open_prefix: [[i64; 8]; 7],
    /// `business_prefix[w][k]`: business days among the `k` days starting on weekday `w`.
    business_prefix: [[i64; 8]; 7],
    /// Closed local days (days since 1970-01-01), sorted, unique.
    closed: Vec<i64>,
    /// Overridden local days with their spans, sorted by day.
    overrides: Vec<(i64, Vec<(i64, i64)>)>,
    /// Sorted union of closed days, overridden days and days near a UTC-offset change.
    special: Vec<i64>,
    /// Sorted union of closed, overridden and dead days (what business-day counting cares
    /// about).
    dated: Vec<i64>,
    /// Days with opening hours on paper whose every interval falls in a UTC-offset gap (a
    /// skipped date such as Samoa's 2011-12-30, or shifts wholly inside a spring-forward
    /// hour): no open time, so not business days. Sorted.
    dead: Vec<i64>,
    /// Days whose hours differ from the weekly pattern: special days and the day before each
    /// (whose overnight shift may be clipped), sorted.
    irregular: Vec<i64>,
    /// Per irregular day: open wall seconds and whether it is a business day (0/1).
    irregular_open: Vec<i64>,
    irregular_business: Vec<i64>,
    /// Per irregular day: cumulative open wall seconds / business days from `ORIGIN` to it.
    cum_open: Vec<i64>,
    cum_business: Vec<i64>,
}

/// Origin of the cumulative tables, a week before 1970-01-01.
const ORIGIN: i64 = -7;

impl fmt::Debug for Calendar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The derived tables are large and follow from the spec.
        f.debug_struct("Calendar").field("spec", &self.spec).finish_non_exhaustive()
    }
}

impl PartialEq for Calendar {
    fn eq(&self, other: &Calendar) -> bool {
        self.spec == other.spec
    }
}

impl Eq for Calendar {}

impl TryFrom<CalendarSpec> for Calendar {
    type Error = Error;
    fn try_from(spec: CalendarSpec) -> Result<Calendar> {
        Calendar::new(spec)
    }
}

impl From<Calendar> for CalendarSpec {
    fn from(c: Calendar) -> CalendarSpec {
        c.spec
    }
}

fn day_number(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce()) - EPOCH_CE_DAYS
}

fn weekday_index(day: i64) -> usize {
    // 1970-01-01 was a Thursday (index 3 counting from Monday).
    (day + 3).rem_euclid(7) as usize
}

fn date_of(day: i64) -> String {
    i32::try_from(day + EPOCH_CE_DAYS)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .map_or_else(|| format!("day {day}"), |d| d.to_string())
}

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// Checks that absolute `(start, end, label)` intervals do not overlap.
fn check_overlaps(mut v: Vec<(i64, i64, String)>, ring: Option<i64>) -> Result<()> {
    v.sort();
    for pair in v.windows(2) {
        if let [a, b] = pair {
            if b.0 < a.1 {
                return Err(Error::invalid("shift", &b.2, format!("overlaps {}", a.2)));
            }
        }
    }
    if let (Some(period), Some(first), Some(last)) = (ring, v.first(), v.last()) {
        if v.len() > 1 && last.1 > first.0 + period {
            return Err(Error::invalid("shift", &last.2, format!("overlaps {}", first.2)));
        }
    }
    Ok(())
}

fn in_range(date: NaiveDate, what: &'static str) -> Result<i64> {
    let d = day_number(date);
    if !(RANGE_START / DAY..RANGE_END / DAY).contains(&d) {
        return Err(Error::invalid(what, date, "outside the supported range 1970..2100"));
    }
    Ok(d)
}

/// Result of walking the calendar: where it stopped, working time consumed, and the local day
/// owning the interval it stopped in.
struct Stop {
    at: i64,
    consumed: i64,
    day: i64,
}

/// Cached state of a forward walk.
struct Cursor {
    seg: Segment,
    special_idx: usize,
}

impl Calendar {
    /// Starts a builder for a calendar in the IANA zone `time_zone` (checked in `build`).
    #[must_use]
    pub fn builder(time_zone: &str) -> CalendarBuilder {
        CalendarBuilder {
            spec: CalendarSpec { time_zone: time_zone.to_owned(), ..Default::default() },
        }
    }

    /// Validates a calendar description and precomputes its lookup tables (the zone's offset
    /// transitions over 1970–2100, open seconds per weekday, sorted special dates).
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::UnknownTimeZone`] for a name chrono-tz does not know;
    /// - [`ErrorKind::InvalidInput`] for overlapping shifts (within the week, including an
    ///   overnight shift running into the next day's shifts, or around an override), two
    ///   overrides for one date, or a date outside 1970..2100;
    /// - [`ErrorKind::EmptyInput`] when the calendar has no open time at all.
    //
    // Over 80 lines, but one straight pipeline: each table is built from the ones above it
    // (week, closed dates, overrides, zone, special and dead days, cumulative sums), then the
    // checks that need the finished calendar.
    pub fn new(spec: CalendarSpec) -> Result<Calendar> {
        let tz: Tz = spec.time_zone.parse().map_err(|_| {
            Error::from(ErrorKind::UnknownTimeZone { name: spec.time_zone.clone() })
        })?;
        let mut spec = spec;
        let mut ring = Vec::new();
        let mut week: [Vec<(i64, i64)>; 7] = Default::default();
        for (i, shifts) in spec.week.iter_mut().enumerate() {
            shifts.sort();
            for s in shifts.iter() {
                let (a, b) = s.span();
                let base = i as i64 * DAY;
                ring.push((base + a, base + b, format!("{} {s}", WEEKDAYS[i])));
            }
            if let Some(slot) = week.get_mut(i) {
                *slot = shifts.iter().map(|s| s.span()).collect();
            }
        }
        check_overlaps(ring, Some(WEEK))?;
        let week_total: i64 = week.iter().flatten().map(|(a, b)| b - a).sum();
        let business_days_per_week = week.iter().filter(|v| !v.is_empty()).count() as i64;
        let mut open_prefix = [[0i64; 8]; 7];
        let mut business_prefix = [[0i64; 8]; 7];
        for w in 0..7 {
            for k in 1..8 {
                let day = week.get((w + k - 1) % 7).map_or(&[][..], Vec::as_slice);
                let open: i64 = day.iter().map(|(a, b)| b - a).sum();
                open_prefix[w][k] = open_prefix[w][k - 1] + open;
                business_prefix[w][k] = business_prefix[w][k - 1] + i64::from(!day.is_empty());
            }
        }

        let mut closed = Vec::with_capacity(spec.holidays.len());
        for h in &spec.holidays {
            in_range(h.date, "holiday")?;
            closed.push(in_range(h.closed_date(), "holiday")?);
        }
        spec.holidays.sort();

        spec.overrides.sort();
        let mut overrides: Vec<(i64, Vec<(i64, i64)>)> = Vec::with_capacity(spec.overrides.len());
        for o in &mut spec.overrides {
            o.shifts.sort();
            let d = in_range(o.date, "override date")?;
            if overrides.last().is_some_and(|(p, _)| *p == d) {
                return Err(Error::invalid("override date", o.date, "given twice"));
            }
            // An override without shifts closes its date exactly as a holiday does,
            // clipping the previous night's overnight shift at midnight too.
            if o.shifts.is_empty() {
                closed.push(d);
            }
            overrides.push((d, o.shifts.iter().map(|s| s.span()).collect()));
        }
        closed.sort_unstable();
        closed.dedup();
        let table = ZoneTable::new(tz);
        // Days near a UTC-offset change are treated like holidays by the skipping logic, so
        // every skipped run of ordinary days has one offset and wall time equals real time.
        let mut special: Vec<i64> = closed
            .iter()
            .copied()
            .chain(overrides.iter().map(|o| o.0))
            .chain(table.days_near_transitions())
            .collect();
        special.sort_unstable();
        special.dedup();
        let mut dated: Vec<i64> =
            closed.iter().copied().chain(overrides.iter().map(|o| o.0)).collect();
        dated.sort_unstable();
        dated.dedup();

        let mut cal = Calendar {
            tz,
            table,
            dated,
            dead: Vec::new(),
            week,
            week_total,
            business_days_per_week,
            open_prefix,
            business_prefix,
            closed,
            overrides,
            special,
            spec,
            irregular: Vec::new(),
            irregular_open: Vec::new(),
            irregular_business: Vec::new(),
            cum_open: Vec::new(),
            cum_business: Vec::new(),
        };
        cal.dead = cal.find_dead_days();
        if !cal.dead.is_empty() {
            cal.dated.extend_from_slice(&cal.dead);
            cal.dated.sort_unstable();
            cal.dated.dedup();
        }
        cal.build_cumulative();
        // Overrides against their neighbours, holidays ignored (a conservative check).
        for (d, _) in &cal.overrides {
            let mut v = Vec::new();
            for day in d - 1..=d + 1 {
                for &(a, b) in cal.raw_shifts(day) {
                    v.push((
                        day * DAY + a,
                        day * DAY + b,
                        format!("{} {}", date_of(day), fmt_span(a, b)),
                    ));
                }
            }
            check_overlaps(v, None)?;
        }
        let override_open = cal
            .overrides
            .iter()
            .any(|(d, v)| !v.is_empty() && cal.closed.binary_search(d).is_err());
        if week_total == 0 && !override_open {
            return Err(Error::empty("opening hours"));
        }
        Ok(cal)
    }

    /// The description this calendar was built from (normalised: sorted).
    #[must_use]
    pub fn spec(&self) -> &CalendarSpec {
        &self.spec
    }

    /// The calendar's name, by which [`EventKind::CalendarChange`](super::EventKind::CalendarChange)
    /// refers to it (empty when unnamed).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The time zone.
    #[must_use]
    pub fn time_zone(&self) -> Tz {
        self.tz
    }

    /// Open wall-clock seconds in an ordinary week (no holiday, override or DST change).
    #[must_use]
    pub fn weekly_open_time(&self) -> TimeSpan {
        TimeSpan::seconds(self.week_total)
    }

    /// Shifts of a day ignoring holidays.
    fn raw_shifts(&self, day: i64) -> &[(i64, i64)] {
        match self.overrides.binary_search_by_key(&day, |o| o.0) {
            Ok(i) => self.overrides.get(i).map_or(&[], |o| o.1.as_slice()),
            Err(_) => self.week.get(weekday_index(day)).map_or(&[], Vec::as_slice),
        }
    }

    fn is_closed(&self, day: i64) -> bool {
        self.closed.binary_search(&day).is_ok()
    }

    /// Shifts owned by `day` and the clip end (seconds after the day's midnight).
    /// `next_special` is the first special day `>= day`.
    #[inline]
    fn day_shifts(&self, day: i64, next_special: i64) -> (&[(i64, i64)], i64) {
        if day + 1 < next_special {
            return (self.week.get(weekday_index(day)).map_or(&[], Vec::as_slice), 2 * DAY);
        }
        if self.is_closed(day) {
            return (&[], 0);
        }
        let clip = if self.is_closed(day + 1) { DAY } else { 2 * DAY };
        (self.raw_shifts(day), clip)
    }

    /// Open wall seconds of the `j` ordinary days starting on weekday `wd`.
    #[inline]
    fn open_in(&self, wd: usize, j: i64) -> i64 {
        let part =
            self.open_prefix.get(wd).and_then(|p| p.get((j % 7) as usize)).copied().unwrap_or(0);
        (j / 7) * self.week_total + part
    }

    /// Business days among the `j` ordinary days starting on weekday `wd`.
    #[inline]
    fn business_in(&self, wd: usize, j: i64) -> i64 {
        let part = self
            .business_prefix
            .get(wd)
            .and_then(|p| p.get((j % 7) as usize))
            .copied()
            .unwrap_or(0);
        (j / 7) * self.business_days_per_week + part
    }

    fn business_day(&self, day: i64) -> bool {
        !self.is_closed(day)
            && !self.raw_shifts(day).is_empty()
            && self.dead.binary_search(&day).is_err()
    }

    /// Days near an offset change with shifts on paper and no real open time (see `dead`).
    /// Only those days can lose time to a gap; all others keep every interval non-empty.
    fn find_dead_days(&self) -> Vec<i64> {
        self.table
            .days_near_transitions()
            .into_iter()
            .filter(|&d| !self.is_closed(d) && !self.raw_shifts(d).is_empty())
            .filter(|&d| self.real_intervals(d).is_empty())
            .collect()
    }

    /// The non-empty real intervals `[start, end)` (UTC seconds) of the shifts owned by the
    /// local day `day`, after holidays, overrides and the DST mapping.
    fn real_intervals(&self, day: i64) -> Vec<(i64, i64)> {
        if self.is_closed(day) {
            return Vec::new();
        }
        let clip = if self.is_closed(day + 1) { DAY } else { 2 * DAY };
        self.raw_shifts(day)
            .iter()
            .map(|&(s, e)| {
                (self.table.resolve(day * DAY + s), self.table.resolve(day * DAY + e.min(clip)))
            })
            .filter(|(a, b)| b > a)
            .collect()
    }

    fn cursor(&self, l: i64, day: i64) -> Cursor {
        Cursor {
            seg: self.table.segment_for_local(l),
            special_idx: self.special.partition_point(|&d| d < day),
        }
    }

    #[inline]
    fn resolve(&self, c: &mut Cursor, l: i64) -> i64 {
        if let Some(u) = c.seg.resolve(l) {
            return u;
        }
        c.seg = self.table.segment_for_local(l);
        (l - c.seg.off).max(c.seg.lo_u)
    }

    /// The first holiday or override date `>= day`; `idx` is a forward-moving hint.
    fn next_dated(&self, idx: &mut usize, day: i64) -> i64 {
        while self.dated.get(*idx).is_some_and(|&d| d < day) {
            *idx += 1;
        }
        self.dated.get(*idx).copied().unwrap_or(i64::MAX)
    }

    #[inline]
    fn next_special(&self, c: &mut Cursor, day: i64) -> i64 {
        while self.special.get(c.special_idx).is_some_and(|&d| d < day) {
            c.special_idx += 1;
        }
        self.special.get(c.special_idx).copied().unwrap_or(i64::MAX)
    }

    fn build_cumulative(&mut self) {
        let mut irregular: Vec<i64> = self.special.iter().flat_map(|&d| [d - 1, d]).collect();
        irregular.dedup();
        let (mut open, mut business) = (Vec::new(), Vec::new());
        for &d in &irregular {
            // Real seconds: days near an offset change differ from their wall time.
            let (shifts, clip) = self.day_shifts(d, d);
            let real = |&(a, b): &(i64, i64)| {
                let us = self.table.resolve(d * DAY + a);
                (self.table.resolve(d * DAY + b.min(clip)) - us).max(0)
            };
            open.push(shifts.iter().map(real).sum());
            business.push(i64::from(self.business_day(d)));
        }
        let (mut cum_open, mut cum_business) = (Vec::new(), Vec::new());
        let mut prev: Option<(i64, i64, i64)> = None; // (day, cumulative open, business) at it
        for (i, &d) in irregular.iter().enumerate() {
            let (co, cb) = match prev {
                None => {
                    (self.open_from(ORIGIN, d - ORIGIN), self.business_from(ORIGIN, d - ORIGIN))
                }
                Some((pd, po, pb)) => {
                    let o = po + open.get(i - 1).copied().unwrap_or(0);
                    let b = pb + business.get(i - 1).copied().unwrap_or(0);
                    (
                        o + self.open_from(pd + 1, d - pd - 1),
                        b + self.business_from(pd + 1, d - pd - 1),
                    )
                }
            };
            cum_open.push(co);
            cum_business.push(cb);
            prev = Some((d, co, cb));
        }
        self.irregular = irregular;
        self.irregular_open = open;
        self.irregular_business = business;
        self.cum_open = cum_open;
        self.cum_business = cum_business;
    }

    fn open_from(&self, start: i64, n: i64) -> i64 {
        self.open_in(weekday_index(start), n)
    }

    fn business_from(&self, start: i64, n: i64) -> i64 {
        self.business_in(weekday_index(start), n)
    }

    /// Open wall seconds of the local days `[ORIGIN, x)`, DST ignored, in O(log n).
    fn cumulative_open(&self, x: i64) -> i64 {
        let i = self.irregular.partition_point(|&d| d < x);
        match i.checked_sub(1) {
            None => self.open_from(ORIGIN, x - ORIGIN),
            Some(k) => {
                let d = self.irregular.get(k).copied().unwrap_or(ORIGIN);
                self.cum_open.get(k).copied().unwrap_or(0)
                    + self.irregular_open.get(k).copied().unwrap_or(0)
                    + self.open_from(d + 1, x - d - 1)
            }
        }
    }

    /// Business days among the local days `[ORIGIN, x)`, in O(log n).
    fn cumulative_business(&self, x: i64) -> i64 {
        let i = self.irregular.partition_point(|&d| d < x);
        match i.checked_sub(1) {
            None => self.business_from(ORIGIN, x - ORIGIN),
            Some(k) => {
                let d = self.irregular.get(k).copied().unwrap_or(ORIGIN);
                self.cum_business.get(k).copied().unwrap_or(0)
                    + self.irregular_business.get(k).copied().unwrap_or(0)
                    + self.business_from(d + 1, x - d - 1)
            }
        }
    }

    fn horizon(&self) -> i64 {
        366 + 7 * self.dated.len() as i64
    }

    /// Walks open time forward from `from`, consuming up to `budget` seconds before `limit`.
    /// `budget == i64::MAX` is the measuring mode (no search horizon).
    ///
    /// Over 80 lines on purpose: this is the hot loop of every query, and its O(1) skip, the
    /// cumulative-table gallop and the interval walk share a cursor, an idle counter and the
    /// budget that split functions would have to thread through on each day.
    fn walk(&self, from: i64, budget: i64, limit: i64) -> Result<Stop> {
        let measuring = budget == i64::MAX;
        let l_from = from + self.table.offset(from);
        let first_day = l_from.div_euclid(DAY);
        let mut day = first_day - 1;
        let mut c = self.cursor(day * DAY, day);
        let mut consumed = 0i64;
        let mut idle = 0i64;
        let horizon = self.horizon();
        // Days before the local day of `limit` end (in real time) at or before `limit`.
        let limit_day = if limit >= RANGE_END {
            RANGE_END / DAY
        } else {
            (limit + self.table.offset(limit)).div_euclid(DAY)
        };
        loop {
            let ns = self.next_special(&mut c, day);
            if day > first_day {
                if self.week_total > 0 {
                    // Skip ordinary days in O(1): no special date (holiday, override, offset
                    // change) up to the day after the last skipped one, all before `limit`,
                    // and strictly less than the remaining budget.
                    let l0 = day * DAY;
                    let u0 = self.resolve(&mut c, l0);
                    if u0 >= from {
                        let j_seg = limit_day - day - 1;
                        let j_max = (ns.saturating_sub(day) - 1).min(j_seg);
                        let rem = budget - consumed;
                        let mut skip = None;
                        if j_max > 0 {
                            let wd = weekday_index(day);
                            let mut j = 7 * (j_max / 7).min((rem - 1) / self.week_total);
                            while j < j_max && self.open_in(wd, j + 1) < rem {
                                j += 1;
                            }
                            if j > 0 {
                                skip = Some((j, self.open_in(wd, j)));
                            }
                        } else if j_seg >= 2 && day >= ORIGIN && rem > 2 * self.week_total {
                            // At a holiday or override with a long way to go: skip through
                            // special days with the cumulative table (galloping search).
                            let base = self.cumulative_open(day);
                            let hint = 7 * ((rem - 1) / self.week_total);
                            let j =
                                gallop(j_seg, hint, |j| self.cumulative_open(day + j) - base < rem);
                            if j > 0 {
                                skip = Some((j, self.cumulative_open(day + j) - base));
                            }
                        }
                        if let Some((j, open)) = skip {
                            consumed += open;
                            day += j;
                            idle = if open > 0 { 0 } else { idle + j };
                            continue;
                        }
                    }
                } else if ns > day + 1 {
                    // No weekly hours: nothing is open before the next special day.
                    if ns == i64::MAX {
                        return self.stop_without_time(from, consumed, limit, measuring);
                    }
                    idle += ns - 1 - day;
                    day = ns - 1;
                    if !measuring && idle > horizon {
                        return Err(no_open_time(from, horizon));
                    }
                    if self.resolve(&mut c, day * DAY) >= limit {
                        return Ok(Stop { at: limit, consumed, day });
                    }
                    continue;
                }
            }
            let (shifts, clip) = self.day_shifts(day, ns);
            let base = day * DAY;
            for &(s, e) in shifts {
                let us = self.resolve(&mut c, base + s);
                if us >= limit {
                    return Ok(Stop { at: limit, consumed, day });
                }
                let ue = self.resolve(&mut c, base + e.min(clip));
                let a = us.max(from);
                let b = ue.min(limit);
                if b <= a {
                    continue;
                }
                idle = 0;
                let rem = budget - consumed;
                if b - a >= rem {
                    return Ok(Stop { at: a + rem, consumed: budget, day });
                }
                consumed += b - a;
            }
            day += 1;
            if self.resolve(&mut c, day * DAY) >= limit {
                return Ok(Stop { at: limit, consumed, day });
            }
            idle += 1;
            if !measuring && idle > horizon {
                return Err(no_open_time(from, horizon));
            }
        }
    }

    fn stop_without_time(
        &self,
        from: i64,
        consumed: i64,
        limit: i64,
        measuring: bool,
    ) -> Result<Stop> {
        if measuring {
            Ok(Stop { at: limit, consumed, day: 0 })
        } else {
            Err(no_open_time(from, self.horizon()))
        }
    }

    /// Whether the calendar is open at `t`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] outside 1970..2100.
    pub fn is_open(&self, t: DateTime<Utc>) -> Result<bool> {
        let u = to_secs(t)?;
        let day = (u + self.table.offset(u)).div_euclid(DAY);
        let mut c = self.cursor((day - 1) * DAY, day - 1);
        // Shifts last at most 24 h, so the day before and the day itself can cover `t`; so
        // can the next day when the clock has fallen back across midnight (St John's
        // 1992-10-25: 00:01 NDT became 23:01 NST, and the new date's shifts began at the
        // first 00:00, before `t`'s repeated wall time of the previous evening).
        for d in [day - 1, day, day + 1] {
            let ns = self.next_special(&mut c, d);
            let (shifts, clip) = self.day_shifts(d, ns);
            for &(s, e) in shifts {
                let us = self.resolve(&mut c, d * DAY + s);
                let ue = self.resolve(&mut c, d * DAY + e.min(clip));
                if us <= u && u < ue {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    fn next_open_secs(&self, u: i64) -> Result<(i64, i64)> {
        let stop = self.walk(u, 1, RANGE_END)?;
        if stop.consumed < 1 {
            return Err(out_of_range(u));
        }
        Ok((stop.at - 1, stop.day))
    }

    /// The first open instant at or after `t` (`t` itself when open).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] outside 1970..2100 or when no open time is found within the
    /// search horizon (366 days plus 7 per special date).
    pub fn next_open(&self, t: DateTime<Utc>) -> Result<DateTime<Utc>> {
        from_secs(self.next_open_secs(to_secs(t)?)?.0)
    }

    /// The earliest instant with exactly `d` working time in `[t, result)`; `add(t, 0) == t`,
    /// and the result is strictly after `t` when `d > 0`. A result at the end of an opening
    /// interval is that closing time, not the next opening.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] for a negative `d`, an instant outside 1970..2100, a result
    /// past 2100, or no open time within the search horizon.
    pub fn add(&self, t: DateTime<Utc>, d: TimeSpan) -> Result<DateTime<Utc>> {
        from_secs(self.add_secs(to_secs(t)?, d.as_secs())?)
    }

    pub(crate) fn add_secs(&self, u: i64, d: i64) -> Result<i64> {
        if d < 0 {
            return Err(Error::invalid(
                "working time",
                TimeSpan::seconds(d),
                "must not be negative",
            ));
        }
        if d == 0 {
            return Ok(u);
        }
        let stop = self.walk(u, d, RANGE_END)?;
        if stop.consumed < d {
            return Err(out_of_range(u));
        }
        Ok(stop.at)
    }

    /// The deadline of `target` for a clock starting at `start`: calendar time is added as
    /// is, working time with [`Calendar::add`], business days with
    /// [`Calendar::add_business_days`], calendar days as wall time in the zone.
    ///
    /// # Errors
    ///
    /// As [`Calendar::add`].
    pub fn deadline(&self, start: DateTime<Utc>, target: Target) -> Result<DateTime<Utc>> {
        from_secs(self.deadline_secs(to_secs(start)?, target)?)
    }

    pub(crate) fn deadline_secs(&self, u: i64, target: Target) -> Result<i64> {
        Ok(match target.checked()? {
            Target::Calendar(s) => u
                .checked_add(s.as_secs())
                .filter(|&e| e < RANGE_END)
                .ok_or_else(|| out_of_range(u))?,
            Target::Working(s) => self.add_secs(u, s.as_secs())?,
            Target::BusinessDays(n) => self.add_business_days_secs(u, n)?,
            // No days is the start itself: the round trip through wall time would move a
            // start in a DST fold's second pass to its first (an hour earlier).
            Target::CalendarDays(0) => u,
            Target::CalendarDays(n) => {
                let local = u + self.table.offset(u) + i64::from(n) * DAY;
                let end = self.table.resolve(local);
                if end >= RANGE_END {
                    return Err(out_of_range(u));
                }
                end
            }
            Target::SameOrNextBusinessDay(min) => {
                let today = self.add_business_days_secs(u, 0)?;
                if self.between_secs(u, today)? >= min.as_secs() {
                    today
                } else {
                    self.add_business_days_secs(u, 1)?
                }
            }
        })
    }

    /// Working time in `[a, b)`; negative (`-between(b, a)`) when `b < a`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] outside 1970..2100.
    pub fn between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Result<TimeSpan> {
        Ok(TimeSpan::seconds(self.between_secs(to_secs(a)?, to_secs(b)?)?))
    }

    pub(crate) fn between_secs(&self, a: i64, b: i64) -> Result<i64> {
        if a <= b {
            Ok(self.walk(a, i64::MAX, b)?.consumed)
        } else {
            Ok(-self.walk(b, i64::MAX, a)?.consumed)
        }
    }

    /// The close of the `n`-th business date after the day the clock starts (pinned in
    /// [`Target::BusinessDays`](super::Target::BusinessDays)): the clock starts at
    /// [`next_open(t)`](Calendar::next_open), the date owning that opening interval is day 0.
    ///
    /// # Errors
    ///
    /// As [`Calendar::add`].
    pub fn add_business_days(&self, t: DateTime<Utc>, n: u32) -> Result<DateTime<Utc>> {
        from_secs(self.add_business_days_secs(to_secs(t)?, n)?)
    }

    pub(crate) fn add_business_days_secs(&self, u: i64, n: u32) -> Result<i64> {
        let (_, mut day) = self.next_open_secs(u)?;
        let mut left = i64::from(n);
        let horizon = self.horizon();
        let mut idle = 0;
        let mut idx = self.dated.partition_point(|&d| d <= day);
        while left > 0 {
            let ns = self.next_dated(&mut idx, day + 1);
            // Days day+1 ..= day+j are ordinary when day + j < ns.
            let j_max = ns.saturating_sub(day) - 1;
            if self.business_days_per_week > 0 && j_max > 0 {
                let wd = weekday_index(day + 1);
                let mut j = 7 * (j_max / 7).min((left - 1) / self.business_days_per_week);
                while j < j_max && self.business_in(wd, j + 1) < left {
                    j += 1;
                }
                if j > 0 {
                    left -= self.business_in(wd, j);
                    day += j;
                    continue;
                }
            } else if left > 2 * self.business_days_per_week.max(1) && day >= ORIGIN {
                let base = self.cumulative_business(day + 1);
                let cap = RANGE_END / DAY + 1 - day;
                let per_week = self.business_days_per_week;
                let hint = if per_week > 0 { 7 * ((left - 1) / per_week) } else { 0 };
                let j = gallop(cap, hint, |j| self.cumulative_business(day + 1 + j) - base < left);
                if j > 0 {
                    left -= self.cumulative_business(day + 1 + j) - base;
                    day += j;
                    continue;
                }
            }
            day += 1;
            if day * DAY >= RANGE_END + DAY {
                return Err(out_of_range(u));
            }
            let business = if day < ns {
                self.week.get(weekday_index(day)).is_some_and(|v| !v.is_empty())
            } else {
                self.business_day(day)
            };
            if business {
                left -= 1;
                idle = 0;
            } else {
                idle += 1;
                if idle > horizon {
                    return Err(no_open_time(u, horizon));
                }
            }
        }
        let clip = if self.is_closed(day + 1) { DAY } else { 2 * DAY };
        let end = self.raw_shifts(day).iter().map(|&(_, e)| e.min(clip)).max().unwrap_or(0);
        let close = self.table.resolve(day * DAY + end);
        if close >= RANGE_END {
            return Err(out_of_range(u));
        }
        Ok(close)
    }
}

impl Calendar {
    /// The number of business dates `d` with `a <= d < b` (negative when `b < a`). A business
    /// date has opening hours after holidays and overrides; weekends, holidays and closed
    /// overrides do not count, whichever weekday `b` falls on.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] for dates outside 1970..2100.
    pub fn business_days_between(&self, a: NaiveDate, b: NaiveDate) -> Result<i64> {
        if b < a {
            return Ok(-self.business_days_between(b, a)?);
        }
        let mut d = in_range(a, "date")?;
        let end = in_range(b, "date")?;
        let mut idx = self.dated.partition_point(|&x| x < d);
        let mut n = 0;
        while d < end {
            let ns = self.next_dated(&mut idx, d);
            let k = ((ns.min(end) - d) / 7).max(0);
            if k > 0 {
                n += k * self.business_days_per_week;
                d += 7 * k;
                continue;
            }
            if self.business_day(d) {
                n += 1;
            }
            d += 1;
        }
        Ok(n)
    }
}

impl Calendar {
    /// Whether `date` is a business date: it has opening hours after holidays and overrides,
    /// and at least one of them exists on the clock (a date skipped by its zone, such as
    /// 2011-12-30 in Pacific/Apia, or one whose only shifts fall in a spring-forward gap, is
    /// not). This is the day [`Target::BusinessDays`] and
    /// [`Calendar::business_days_between`] count.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] for a date outside 1970..2100.
    pub fn is_business_day(&self, date: NaiveDate) -> Result<bool> {
        Ok(self.business_day(in_range(date, "date")?))
    }

    /// The opening intervals `[start, end)` owned by `date`, as instants, in time order:
    /// its shifts after holidays and overrides, an overnight shift running into the next
    /// date (cut at midnight when that date is closed), mapped through the zone by the
    /// module's DST rule. Intervals that vanish in a gap are left out, so the list is empty
    /// exactly when the date is not a business date.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] for a date outside 1970..2100.
    pub fn open_intervals(&self, date: NaiveDate) -> Result<Vec<(DateTime<Utc>, DateTime<Utc>)>> {
        let day = in_range(date, "date")?;
        self.real_intervals(day)
            .into_iter()
            .map(|(a, b)| Ok((from_secs(a)?, from_secs(b)?)))
            .collect()
    }

    /// The local date that owns `t`: the date whose opening interval contains `t` when the
    /// calendar is open (Friday for 02:00 on Saturday inside Friday's 22:00-06:00 shift),
    /// otherwise the zone's calendar date at `t`. [`Calendar::is_open`] is true exactly when
    /// some date's [`Calendar::open_intervals`] contains `t`, and this is that date.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] outside 1970..2100.
    pub fn owning_date(&self, t: DateTime<Utc>) -> Result<NaiveDate> {
        let u = to_secs(t)?;
        let day = (u + self.table.offset(u)).div_euclid(DAY);
        let owner = [day - 1, day, day + 1]
            .into_iter()
            .find(|&d| self.real_intervals(d).iter().any(|&(a, b)| a <= u && u < b))
            .unwrap_or(day);
        i32::try_from(owner + EPOCH_CE_DAYS)
            .ok()
            .and_then(NaiveDate::from_num_days_from_ce_opt)
            .ok_or_else(|| out_of_range(u))
    }
}

/// The largest `j` in `[0, max]` with `ok(j)`, for `ok` true at 0 and monotone (true then
/// false). Probes `hint` first (long spans are nearly linear, so the hint is usually close),
/// then gallops and bisects: O(log |j - hint|) probes.
fn gallop(max: i64, hint: i64, ok: impl Fn(i64) -> bool) -> i64 {
    let h = hint.clamp(0, max);
    let (mut lo, mut hi) = if h > 0 && ok(h) { (h, None) } else { (0, (h > 0).then_some(h)) };
    if hi.is_none() {
        let mut step = 1;
        hi = loop {
            let cand = (lo + step).min(max);
            if cand <= lo {
                return lo;
            }
            if ok(cand) {
                lo = cand;
                step *= 2;
            } else {
                break Some(cand);
            }
        };
    }
    let mut hi = hi.unwrap_or(lo);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if ok(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

fn fmt_span(a: i64, b: i64) -> String {
    let hm = |s: i64| format!("{:02}:{:02}", (s / 3600) % 24, (s / 60) % 60);
    format!("{}-{}", hm(a), hm(b))
}

#[cold]
fn no_open_time(from: i64, horizon: i64) -> Error {
    Error::invalid(
        "instant",
        from_secs(from).map_or_else(|_| from.to_string(), |t| t.to_rfc3339()),
        format!("the calendar has no open time within {horizon} days after it"),
    )
}

#[cold]
fn out_of_range(u: i64) -> Error {
    Error::invalid("instant", u, "result outside the supported range 1970..2100")
}

/// An instant as whole UTC seconds, checked against the supported range.
pub(crate) fn to_secs(t: DateTime<Utc>) -> Result<i64> {
    let u = t.timestamp();
    if !(RANGE_START..RANGE_END).contains(&u) {
        return Err(Error::invalid(
            "instant",
            t.to_rfc3339(),
            "outside the supported range 1970..2100",
        ));
    }
    Ok(u)
}

pub(crate) fn from_secs(u: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp(u, 0).ok_or_else(|| out_of_range(u))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gallop_finds_the_last_true_from_any_hint() {
        for max in [0i64, 1, 2, 7, 100, 1000] {
            for answer in 0..=max.min(120) {
                for hint in [0, 1, answer, answer + 1, answer.saturating_sub(3), max, max + 5] {
                    assert_eq!(gallop(max, hint, |j| j <= answer), answer, "max {max} hint {hint}");
                }
            }
        }
    }

    #[test]
    fn day_numbers_and_weekdays() {
        let d = NaiveDate::from_ymd_opt(2024, 6, 17).unwrap(); // a Monday
        assert_eq!(weekday_index(day_number(d)), 0);
        assert_eq!(day_number(NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()), 0);
        assert_eq!(weekday_index(0), 3);
        assert_eq!(date_of(day_number(d)), "2024-06-17");
    }

    #[test]
    fn cumulative_open_time_is_real_time_across_dst() {
        let cal = Calendar::builder("America/New_York")
            .every_day(&[Shift::full_day()])
            .holiday(NaiveDate::from_ymd_opt(2024, 3, 11).unwrap())
            .build()
            .unwrap();
        let start = day_number(NaiveDate::from_ymd_opt(2024, 1, 1).unwrap());
        for day in start..start + 366 {
            let a = cal.table.resolve(day * DAY);
            let b = cal.table.resolve((day + 1) * DAY);
            let cum = cal.cumulative_open(day + 1) - cal.cumulative_open(day);
            assert_eq!(cum, cal.between_secs(a, b).unwrap(), "day {}", date_of(day));
        }
        let spring = day_number(NaiveDate::from_ymd_opt(2024, 3, 10).unwrap());
        assert_eq!(cal.cumulative_open(spring + 1) - cal.cumulative_open(spring), 23 * 3600);
    }

    #[test]
    fn cumulative_tables_match_day_by_day_sums() {
        let cal = Calendar::builder("UTC")
            .weekdays(&[Shift::hm(9, 0, 17, 0).unwrap()])
            .hours(Weekday::Fri, &[Shift::hm(22, 0, 6, 0).unwrap()])
            .holiday(NaiveDate::from_ymd_opt(2024, 6, 15).unwrap())
            .override_hours(
                NaiveDate::from_ymd_opt(2024, 6, 22).unwrap(),
                &[Shift::hm(10, 0, 12, 0).unwrap()],
            )
            .build()
            .unwrap();
        let start = day_number(NaiveDate::from_ymd_opt(2024, 6, 1).unwrap());
        let mut open = cal.cumulative_open(start);
        let mut business = cal.cumulative_business(start);
        for day in start..start + 40 {
            let (shifts, clip) = cal.day_shifts(day, day);
            open += shifts.iter().map(|&(a, b)| b.min(clip) - a).filter(|&x| x > 0).sum::<i64>();
            business += i64::from(cal.business_day(day));
            assert_eq!(cal.cumulative_open(day + 1), open, "day {}", date_of(day));
            assert_eq!(cal.cumulative_business(day + 1), business, "day {}", date_of(day));
        }
    }
}
