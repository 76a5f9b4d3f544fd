//! A brute-force, minute-by-minute oracle for `Calendar::is_open`, `next_open`, `between`,
//! `owning_date` and `is_business_day` around every UTC-offset change of seven zones with
//! unusual transitions (issue 18 items 1 and 4).
//!
//! The oracle shares nothing with the library's zone tables: it maps each date's shifts to
//! instants with chrono-tz directly (a wall time in a gap goes to the first instant whose
//! clock reads at least that time, found by scanning minutes; a time in a fold to its
//! earlier instant), then marks every minute of four days around the transition open or
//! closed. Every boundary lies on a whole minute, so minute sampling is exact.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::zones::{local, transitions};
use loyalty::sla::{Calendar, Shift};

/// Weekly shifts (Monday first) plus closed dates and date overrides.
struct Spec {
    week: [Vec<(u32, u32)>; 7],
    holidays: Vec<NaiveDate>,
    overrides: Vec<(NaiveDate, Vec<(u32, u32)>)>,
}

impl Spec {
    fn build(&self, zone: &str) -> Calendar {
        let mut b = Calendar::builder(zone);
        let shifts = |v: &[(u32, u32)]| -> Vec<Shift> {
            v.iter().map(|&(a, e)| Shift::from_secs(a * 60, e * 60).unwrap()).collect()
        };
        for (i, day) in self.week.iter().enumerate() {
            b.hours(chrono::Weekday::try_from(i as u8).unwrap(), &shifts(day));
        }
        for &h in &self.holidays {
            b.holiday(h);
        }
        for (d, v) in &self.overrides {
            b.override_hours(*d, &shifts(v));
        }
        b.build().unwrap()
    }

    fn closed(&self, d: NaiveDate) -> bool {
        self.holidays.contains(&d) || self.overrides.iter().any(|(o, v)| *o == d && v.is_empty())
    }

    /// Shifts of `d` in minutes after its midnight, end possibly past 1440 (overnight).
    fn shifts(&self, d: NaiveDate) -> Vec<(i64, i64)> {
        if self.closed(d) {
            return Vec::new();
        }
        let raw = match self.overrides.iter().find(|(o, _)| *o == d) {
            Some((_, v)) => v.clone(),
            None => self.week[d.weekday().num_days_from_monday() as usize].clone(),
        };
        let clip = if self.closed(d.succ_opt().unwrap()) { 1440 } else { 2880 };
        raw.iter()
            .map(|&(a, e)| {
                let (a, e) = (i64::from(a), i64::from(e));
                let end = if e > a { e } else { e + 1440 };
                (a, end.min(clip))
            })
            .collect()
    }
}

/// The earliest instant whose wall clock in `tz` reads `l` or later.
fn resolve(tz: Tz, l: NaiveDateTime) -> i64 {
    match tz.from_local_datetime(&l) {
        LocalResult::Single(t) => t.timestamp(),
        LocalResult::Ambiguous(a, _) => a.timestamp(),
        LocalResult::None => {
            let mut u = l.and_utc().timestamp() - 26 * 3600;
            while local(tz, u) < l {
                u += 60;
            }
            u
        }
    }
}

/// Checks the calendar against the oracle over the four days around `tau`.
fn check(zone: &str, spec: &Spec, tau: i64) {
    let tz: Tz = zone.parse().unwrap();
    let cal = spec.build(zone);
    let w0 = (tau - 48 * 3600).div_euclid(60) * 60;
    let w1 = w0 + 96 * 3600;
    let first = local(tz, w0).date() - Duration::days(2);
    let last = local(tz, w1).date() + Duration::days(2);
    // (start, end, owning date) of every non-empty interval.
    let mut intervals = Vec::new();
    let mut d = first;
    while d <= last {
        let midnight = d.and_hms_opt(0, 0, 0).unwrap();
        let mut any = false;
        for (a, e) in spec.shifts(d) {
            let s = resolve(tz, midnight + Duration::minutes(a));
            let f = resolve(tz, midnight + Duration::minutes(e));
            if f > s {
                intervals.push((s, f, d));
                any = true;
            }
        }
        if d > first && d < last {
            assert_eq!(cal.is_business_day(d).unwrap(), any, "{zone}: business day {d}");
        }
        d = d.succ_opt().unwrap();
    }
    let n = ((w1 - w0) / 60) as usize;
    let owner: Vec<Option<NaiveDate>> = (0..n)
        .map(|i| {
            let u = w0 + 60 * i as i64;
            intervals.iter().find(|&&(s, f, _)| s <= u && u < f).map(|x| x.2)
        })
        .collect();
    let mut next = vec![None; n + 1];
    for i in (0..n).rev() {
        next[i] = if owner[i].is_some() { Some(i) } else { next[i + 1] };
    }
    let at = |u: i64| DateTime::from_timestamp(u, 0).unwrap();
    let mut open_before = 0i64;
    for i in 0..n {
        let u = w0 + 60 * i as i64;
        let t = at(u);
        let what = format!("{zone} at {t} ({})", local(tz, u));
        assert_eq!(cal.is_open(t).unwrap(), owner[i].is_some(), "is_open {what}");
        if let Some(j) = next[i] {
            assert_eq!(cal.next_open(t).unwrap(), at(w0 + 60 * j as i64), "next_open {what}");
        }
        assert_eq!(cal.between(at(w0), t).unwrap().as_secs(), 60 * open_before, "between {what}");
        let expect = owner[i].unwrap_or_else(|| local(tz, u).date());
        assert_eq!(cal.owning_date(t).unwrap(), expect, "owning_date {what}");
        open_before += i64::from(owner[i].is_some());
    }
}

fn specs(tau_date: NaiveDate) -> Vec<Spec> {
    let none = || -> [Vec<(u32, u32)>; 7] { Default::default() };
    // Sunday only, all day (the St John's 1992 case).
    let mut sunday = none();
    sunday[6] = vec![(0, 0)];
    // Every day: a shift over the usual DST hours, and one across midnight.
    let nights: [Vec<(u32, u32)>; 7] = std::array::from_fn(|_| vec![(30, 150), (1410, 15)]);
    // Office hours, a Saturday night shift, a holiday on the change date and an empty
    // override the day after it (which must cut the previous night like a holiday).
    let mut office = none();
    for day in office.iter_mut().take(5) {
        *day = vec![(540, 1020)];
    }
    office[4] = vec![(540, 1020), (1320, 360)];
    office[5] = vec![(1320, 360)];
    let next = tau_date.succ_opt().unwrap();
    vec![
        Spec { week: sunday, holidays: vec![], overrides: vec![] },
        Spec { week: nights, holidays: vec![], overrides: vec![] },
        Spec {
            week: office,
            holidays: vec![tau_date - Duration::days(2)],
            overrides: vec![(tau_date - Duration::days(1), vec![(600, 720)]), (next, vec![])],
        },
    ]
}

#[test]
fn brute_force_oracle_around_every_offset_change() {
    let cases = [
        ("America/St_Johns", 1992),
        ("Pacific/Apia", 2011),
        ("Australia/Lord_Howe", 2024),
        ("Europe/Berlin", 2024),
        ("America/New_York", 2024),
        ("Asia/Tehran", 2022),
        ("America/Sao_Paulo", 2018),
    ];
    for (zone, year) in cases {
        let tz: Tz = zone.parse().unwrap();
        let ts = transitions(tz, year);
        assert!(ts.len() >= 2, "{zone} {year}: {} transitions", ts.len());
        for tau in ts {
            let d = local(tz, tau).date();
            for spec in specs(d) {
                check(zone, &spec, tau);
            }
        }
    }
}

/// Offsets off the half hour: Chatham's 45-minute-offset changes at 02:45/03:45 local
/// (2024), and Kathmandu's one change, +05:30 to +05:45 at midnight on 1986-01-01 (a
/// 15-minute gap at the start of a day: 18:30 UTC on 1985-12-31).
#[test]
fn brute_force_oracle_at_chatham_and_kathmandu() {
    for (zone, year, changes) in [("Pacific/Chatham", 2024, 2), ("Asia/Kathmandu", 1985, 1)] {
        let tz: Tz = zone.parse().unwrap();
        let ts = transitions(tz, year);
        assert_eq!(ts.len(), changes, "{zone} {year}");
        for tau in ts {
            let d = local(tz, tau).date();
            for spec in specs(d) {
                check(zone, &spec, tau);
            }
        }
    }
}

#[test]
fn st_johns_fold_across_midnight_is_open_where_next_open_says_so() {
    // Issue 18 item 1: 1992-10-25T03:08Z is 23:38 NST on Saturday (second pass), inside
    // Sunday's shift, which began at the first 00:00 (02:30Z).
    let spec = specs(NaiveDate::from_ymd_opt(1992, 10, 25).unwrap()).remove(0);
    let cal = spec.build("America/St_Johns");
    let t = Utc.with_ymd_and_hms(1992, 10, 25, 3, 8, 0).unwrap();
    assert!(cal.is_open(t).unwrap());
    assert_eq!(cal.next_open(t).unwrap(), t);
    assert_eq!(cal.between(t, t + Duration::minutes(1)).unwrap().as_secs(), 60);
    assert_eq!(cal.owning_date(t).unwrap(), NaiveDate::from_ymd_opt(1992, 10, 25).unwrap());
}

#[test]
fn a_skipped_date_is_not_a_business_day() {
    // Issue 18 item 4: 2011-12-30 does not exist in Samoa.
    let cal = Calendar::builder("Pacific/Apia")
        .every_day(&[Shift::hm(9, 0, 17, 0).unwrap()])
        .build()
        .unwrap();
    let d = |day| NaiveDate::from_ymd_opt(2011, 12, day).unwrap();
    assert!(!cal.is_business_day(d(30)).unwrap());
    assert!(cal.open_intervals(d(30)).unwrap().is_empty());
    assert_eq!(cal.business_days_between(d(29), d(31)).unwrap(), 1);
    // Day 0 is the 29th (a message at 10:00 local), day 1 must be the 31st.
    let t = Utc.with_ymd_and_hms(2011, 12, 29, 20, 0, 0).unwrap();
    let due = cal.add_business_days(t, 1).unwrap();
    assert_eq!(due.with_timezone(&Tz::Pacific__Apia).date_naive(), d(31));
    // Shifts only inside Berlin's spring-forward hour: not a business day either.
    let cal = Calendar::builder("Europe/Berlin")
        .every_day(&[Shift::hm(2, 0, 3, 0).unwrap()])
        .build()
        .unwrap();
    assert!(!cal.is_business_day(NaiveDate::from_ymd_opt(2024, 3, 31).unwrap()).unwrap());
    assert!(cal.is_business_day(NaiveDate::from_ymd_opt(2024, 3, 30).unwrap()).unwrap());
}

#[test]
fn an_empty_override_closes_the_date_like_a_holiday() {
    let night = Shift::hm(22, 0, 6, 0).unwrap();
    let d = NaiveDate::from_ymd_opt(2024, 6, 15).unwrap();
    let with_override =
        Calendar::builder("UTC").every_day(&[night]).override_hours(d, &[]).build().unwrap();
    let with_holiday = Calendar::builder("UTC").every_day(&[night]).holiday(d).build().unwrap();
    // 03:00 on the closed date: the previous night's tail is cut at midnight by both.
    let t = Utc.with_ymd_and_hms(2024, 6, 15, 3, 0, 0).unwrap();
    assert!(!with_holiday.is_open(t).unwrap());
    assert!(!with_override.is_open(t).unwrap());
    let a = Utc.with_ymd_and_hms(2024, 6, 13, 0, 0, 0).unwrap();
    let b = Utc.with_ymd_and_hms(2024, 6, 18, 0, 0, 0).unwrap();
    assert_eq!(with_override.between(a, b).unwrap(), with_holiday.between(a, b).unwrap());
}
