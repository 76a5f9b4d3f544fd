//! Reply SLA: calendar regression cases from `reply-sla.md` §9, policies, evaluation, triage.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use loyalty::sla::{
    evaluate, triage, CatchAll, CustomerFacts, CustomerKind, CycleState, EvaluateOptions, Event,
    EventKind, Filter, Holiday, MessageKind, Metric, Policy, PolicySet, PolicyWarning, Priority,
    Risk, Status, Target, Targets, TriageItem, TriageOptions,
};
use loyalty::sla::{Calendar, Shift, TimeSpan};
use loyalty::ErrorKind;
use rust_decimal::dec;

type R = Result<(), Box<dyn std::error::Error>>;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// A local wall time in `tz`; the earlier instant if ambiguous.
fn at(tz: Tz, y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    tz.with_ymd_and_hms(y, mo, d, h, mi, s)
        .earliest()
        .expect("wall time exists")
        .with_timezone(&Utc)
}

fn ny(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    at(Tz::America__New_York, y, mo, d, h, mi, 0)
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

fn h(n: i64) -> TimeSpan {
    TimeSpan::hours(n).unwrap()
}

fn m(n: i64) -> TimeSpan {
    TimeSpan::minutes(n).unwrap()
}

fn nine_to_five(zone: &str) -> Calendar {
    Calendar::builder(zone).weekdays(&[Shift::hm(9, 0, 17, 0).unwrap()]).build().unwrap()
}

fn always(zone: &str) -> Calendar {
    Calendar::builder(zone).every_day(&[Shift::full_day()]).build().unwrap()
}

#[test]
fn bug01_dst_uses_offset_of_each_day() -> R {
    let cal = nine_to_five("America/New_York");
    assert_eq!(cal.between(ny(2024, 3, 8, 16, 0), ny(2024, 3, 11, 10, 0))?, h(2));
    Ok(())
}

#[test]
fn bug02_weeks_across_spring_forward_are_not_merged() -> R {
    let cal = nine_to_five("America/New_York");
    assert_eq!(cal.between(ny(2024, 3, 4, 9, 0), ny(2024, 3, 11, 17, 0))?, h(48));
    Ok(())
}

#[test]
fn bug03_holiday_end_is_exclusive() -> R {
    let cal = Calendar::builder("UTC")
        .every_day(&[Shift::full_day()])
        .holiday(date(2024, 12, 25))
        .build()?;
    assert!(!cal.is_open(utc(2024, 12, 25, 23, 59, 59))?);
    assert!(cal.is_open(utc(2024, 12, 26, 0, 0, 0))?);
    assert_eq!(cal.between(utc(2024, 12, 24, 23, 0, 0), utc(2024, 12, 26, 1, 0, 0))?, h(2));
    Ok(())
}

fn berlin(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    at(Tz::Europe__Berlin, y, mo, d, h, mi, 0)
}

#[test]
fn bug04_holidays_are_closed() -> R {
    let cal = Calendar::builder("Europe/Berlin")
        .weekdays(&[Shift::hm(9, 0, 17, 0)?])
        .holiday(date(2024, 12, 25))
        .holiday(date(2024, 12, 26))
        .build()?;
    assert_eq!(cal.between(berlin(2024, 12, 24, 16, 0), berlin(2024, 12, 27, 10, 0))?, h(2));
    Ok(())
}

#[test]
fn bug05_always_open_equals_calendar_time_across_sunday_midnight() -> R {
    let cal = always("America/Los_Angeles");
    let la = |d, hh| at(Tz::America__Los_Angeles, 2024, 6, d, hh, 0, 0);
    assert_eq!(cal.between(la(15, 20), la(16, 20))?, h(24));
    // Local Sunday midnight and UTC Sunday midnight both inside the span.
    for (a, b) in [(la(15, 10), la(17, 3)), (la(16, 16), la(16, 18)), (la(9, 0), la(23, 0))] {
        assert_eq!(cal.between(a, b)?.as_secs(), (b - a).num_seconds());
    }
    Ok(())
}

#[test]
fn bug07_friday_to_saturday_counts_friday_only() -> R {
    let cal = nine_to_five("America/New_York");
    assert_eq!(
        cal.between(ny(2024, 6, 14, 10, 40), ny(2024, 6, 15, 10, 40))?,
        TimeSpan::seconds(6 * 3600 + 20 * 60)
    );
    Ok(())
}

#[test]
fn bug08_start_outside_hours_starts_at_next_opening() -> R {
    let cal = nine_to_five("America/New_York");
    let mon10 = ny(2024, 6, 17, 10, 0);
    assert_eq!(cal.add(ny(2024, 6, 15, 10, 40), h(1))?, mon10);
    assert_eq!(cal.add(ny(2024, 6, 14, 18, 0), h(1))?, mon10);
    assert_eq!(cal.add(ny(2024, 6, 17, 7, 0), h(1))?, mon10);
    Ok(())
}

#[test]
fn bug09_both_ends_after_hours_count_the_day_between() -> R {
    let cal = nine_to_five("America/New_York");
    assert_eq!(cal.between(ny(2024, 6, 14, 18, 0), ny(2024, 6, 17, 18, 0))?, h(8));
    Ok(())
}

#[test]
fn bug10_adding_zero_is_identity_and_next_open_is_separate() -> R {
    let cal = nine_to_five("America/New_York");
    for t in [
        ny(2024, 6, 16, 12, 0),
        ny(2024, 6, 17, 7, 0),
        ny(2024, 6, 17, 12, 0),
        ny(2024, 6, 17, 17, 0),
    ] {
        assert_eq!(cal.add(t, TimeSpan::ZERO)?, t);
    }
    assert_eq!(cal.next_open(ny(2024, 6, 16, 12, 0))?, ny(2024, 6, 17, 9, 0));
    assert_eq!(cal.next_open(ny(2024, 6, 17, 12, 0))?, ny(2024, 6, 17, 12, 0));
    Ok(())
}

#[test]
fn bug12_business_day_unit_is_pinned_to_the_reference_table() -> R {
    let cal = nine_to_five("America/New_York");
    let fri1655 = ny(2024, 6, 14, 16, 55);
    let fri1800 = ny(2024, 6, 14, 18, 0);
    let sat1000 = ny(2024, 6, 15, 10, 0);
    let mon0700 = ny(2024, 6, 17, 7, 0);
    // "Close of the next business day", non-working start days not counted as day 0.
    assert_eq!(cal.add_business_days(fri1655, 1)?, ny(2024, 6, 17, 17, 0));
    assert_eq!(cal.add_business_days(fri1800, 1)?, ny(2024, 6, 18, 17, 0));
    assert_eq!(cal.add_business_days(sat1000, 1)?, ny(2024, 6, 18, 17, 0));
    assert_eq!(cal.add_business_days(mon0700, 1)?, ny(2024, 6, 18, 17, 0));
    // Same day.
    assert_eq!(cal.add_business_days(fri1655, 0)?, ny(2024, 6, 14, 17, 0));
    assert_eq!(cal.add_business_days(sat1000, 0)?, ny(2024, 6, 17, 17, 0));
    // The other rows of the table: calendar 24 h, 8 working hours, 24 office hours.
    assert_eq!(fri1655 + chrono::TimeDelta::hours(24), ny(2024, 6, 15, 16, 55));
    assert_eq!(cal.add(fri1655, h(8))?, ny(2024, 6, 17, 16, 55));
    assert_eq!(cal.add(sat1000, h(8))?, ny(2024, 6, 17, 17, 0));
    assert_eq!(cal.add(fri1655, h(24))?, ny(2024, 6, 19, 16, 55));
    assert_eq!(cal.add(sat1000, h(24))?, ny(2024, 6, 19, 17, 0));
    // The same rows through `deadline` and the three target units.
    assert_eq!(cal.deadline(fri1655, Target::calendar(h(24))?)?, ny(2024, 6, 15, 16, 55));
    assert_eq!(cal.deadline(fri1655, Target::working(h(8))?)?, ny(2024, 6, 17, 16, 55));
    assert_eq!(cal.deadline(sat1000, Target::business_days(1))?, ny(2024, 6, 18, 17, 0));
    Ok(())
}

fn night_shift(holiday: Option<NaiveDate>) -> Calendar {
    let mut b = Calendar::builder("America/New_York");
    b.hours(Weekday::Fri, &[Shift::hm(22, 0, 6, 0).unwrap()]);
    if let Some(d) = holiday {
        b.holiday(d);
    }
    b.build().unwrap()
}

#[test]
fn bug13_overnight_shift_crosses_midnight() -> R {
    let cal = night_shift(None);
    assert!(cal.is_open(ny(2024, 6, 15, 2, 0))?);
    assert!(!cal.is_open(ny(2024, 6, 15, 6, 0))?);
    assert_eq!(cal.between(ny(2024, 6, 14, 21, 0), ny(2024, 6, 15, 7, 0))?, h(8));
    // An end of 00:00 is the end of the day.
    let eve = Calendar::builder("UTC").weekdays(&[Shift::hm(18, 0, 0, 0)?]).build()?;
    assert!(eve.is_open(utc(2024, 6, 14, 23, 59, 59))?);
    assert!(!eve.is_open(utc(2024, 6, 15, 0, 0, 0))?);
    assert_eq!(eve.between(utc(2024, 6, 14, 0, 0, 0), utc(2024, 6, 15, 0, 0, 0))?, h(6));
    let also = Calendar::builder("UTC").weekdays(&[Shift::hm(18, 0, 24, 0)?]).build()?;
    assert_eq!(also.between(utc(2024, 6, 14, 0, 0, 0), utc(2024, 6, 16, 0, 0, 0))?, h(6));
    Ok(())
}

#[test]
fn bug14_holiday_after_overnight_shift_removes_only_the_part_after_midnight() -> R {
    let cal = night_shift(Some(date(2024, 6, 15)));
    assert!(!cal.is_open(ny(2024, 6, 15, 2, 0))?);
    assert!(cal.is_open(ny(2024, 6, 14, 23, 0))?);
    assert_eq!(cal.between(ny(2024, 6, 14, 21, 0), ny(2024, 6, 15, 7, 0))?, h(2));
    Ok(())
}

#[test]
fn bug15_reversed_arguments_negate() -> R {
    let cal = nine_to_five("America/New_York");
    let (a, b) = (ny(2024, 6, 14, 10, 40), ny(2024, 6, 18, 11, 0));
    assert_eq!(cal.between(b, a)?.as_secs(), -cal.between(a, b)?.as_secs());
    assert_eq!(cal.between(a, b)?, TimeSpan::seconds(6 * 3600 + 20 * 60 + 8 * 3600 + 2 * 3600));
    Ok(())
}

#[test]
fn bug16_next_open_across_fall_back_is_not_earlier_than_t() -> R {
    let cal = Calendar::builder("America/New_York")
        .hours(Weekday::Sun, &[Shift::hm(2, 0, 12, 0)?])
        .build()?;
    let t = DateTime::parse_from_rfc3339("2024-11-03T01:59:30-04:00")?.with_timezone(&Utc);
    let open = cal.next_open(t)?;
    assert_eq!(
        open,
        DateTime::parse_from_rfc3339("2024-11-03T02:00:00-05:00")?.with_timezone(&Utc)
    );
    assert!(open >= t);
    Ok(())
}

#[test]
fn bug17_fall_back_hour_counts_once_per_real_hour() -> R {
    let cal = always("America/New_York");
    let t = DateTime::parse_from_rfc3339("2024-11-03T01:30:00-04:00")?.with_timezone(&Utc);
    let due = cal.add(t, h(1))?;
    assert_eq!(due, DateTime::parse_from_rfc3339("2024-11-03T01:30:00-05:00")?.with_timezone(&Utc));
    assert_eq!(cal.between(t, due)?, h(1));
    Ok(())
}

#[test]
fn bug18_paris_spring_and_fall_every_operation() -> R {
    let cal = Calendar::builder("Europe/Paris").every_day(&[Shift::hm(0, 0, 24, 0)?]).build()?;
    let nine = Calendar::builder("Europe/Paris").every_day(&[Shift::hm(9, 0, 17, 0)?]).build()?;
    let p = |mo, d, hh, mi| at(Tz::Europe__Paris, 2024, mo, d, hh, mi, 0);
    // Spring forward: 2024-03-31 02:00 -> 03:00; the day has 23 h.
    assert_eq!(cal.between(p(3, 31, 0, 0), p(4, 1, 0, 0))?, h(23));
    assert_eq!(nine.between(p(3, 31, 0, 0), p(4, 1, 0, 0))?, h(8));
    assert_eq!(cal.add(p(3, 31, 1, 30), h(1))?, p(3, 31, 3, 30));
    assert!(cal.is_open(p(3, 31, 3, 0))?);
    assert_eq!(nine.next_open(p(3, 31, 1, 59))?, p(3, 31, 9, 0));
    assert_eq!(nine.add(p(3, 30, 16, 0), h(2))?, p(3, 31, 10, 0));
    // Fall back: 2024-10-27 03:00 -> 02:00; the day has 25 h.
    assert_eq!(cal.between(p(10, 27, 0, 0), p(10, 28, 0, 0))?, h(25));
    assert_eq!(nine.between(p(10, 27, 0, 0), p(10, 28, 0, 0))?, h(8));
    assert_eq!(cal.add(p(10, 27, 1, 30), h(2))?, p(10, 27, 2, 30) + chrono::TimeDelta::hours(1));
    assert_eq!(nine.add(p(10, 26, 16, 0), h(2))?, p(10, 27, 10, 0));
    assert_eq!(nine.add_business_days(p(10, 26, 16, 0), 1)?, p(10, 27, 17, 0));
    Ok(())
}

#[test]
fn bug19_intervals_around_the_spring_gap_follow_the_gap_policy() -> R {
    // 2024-03-10 America/New_York: 02:00-03:00 does not exist.
    let sun =
        |s: Shift| Calendar::builder("America/New_York").hours(Weekday::Sun, &[s]).build().unwrap();
    let day = (ny(2024, 3, 10, 0, 0), ny(2024, 3, 11, 0, 0));
    // Starting in the gap: opens when the clock reaches 03:00.
    let starts_in = sun(Shift::hm(2, 30, 4, 0)?);
    assert_eq!(starts_in.between(day.0, day.1)?, h(1));
    assert_eq!(starts_in.next_open(day.0)?, ny(2024, 3, 10, 3, 0));
    // Ending in the gap: closes when the clock jumps.
    let ends_in = sun(Shift::hm(1, 0, 2, 30)?);
    assert_eq!(ends_in.between(day.0, day.1)?, h(1));
    // Spanning the gap: 01:00-04:00 is two real hours.
    let spans = sun(Shift::hm(1, 0, 4, 0)?);
    assert_eq!(spans.between(day.0, day.1)?, h(2));
    // Never negative: 02:30-03:00 lies in the gap and is empty that night only.
    let inside = sun(Shift::hm(2, 30, 3, 0)?);
    assert_eq!(inside.between(day.0, day.1)?, TimeSpan::ZERO);
    assert_eq!(inside.between(ny(2024, 3, 17, 0, 0), ny(2024, 3, 18, 0, 0))?, m(30));
    Ok(())
}

#[test]
fn bug20_fold_resolves_to_the_earlier_instant() -> R {
    // 2024-11-03 America/New_York: 01:00-02:00 happens twice.
    let cal = Calendar::builder("America/New_York")
        .hours(Weekday::Sun, &[Shift::hm(1, 30, 3, 0)?])
        .build()?;
    let first_0130 = DateTime::parse_from_rfc3339("2024-11-03T01:30:00-04:00")?.with_timezone(&Utc);
    assert_eq!(cal.next_open(ny(2024, 11, 3, 0, 0))?, first_0130);
    // 01:30 EDT to 03:00 EST is 2.5 real hours.
    assert_eq!(cal.between(ny(2024, 11, 3, 0, 0), ny(2024, 11, 4, 0, 0))?, TimeSpan::seconds(9000));
    // biz's zone: Africa/Casablanca. In the tz data chrono-tz ships, 2026-02-15 03:00 (+01)
    // falls back to 02:00 (+00), so 02:00-03:00 happens twice; 02:30 is the first one.
    let casa = Calendar::builder("Africa/Casablanca")
        .hours(Weekday::Sun, &[Shift::hm(2, 30, 4, 0)?])
        .build()?;
    assert_eq!(casa.next_open(utc(2026, 2, 14, 12, 0, 0))?, utc(2026, 2, 15, 1, 30, 0));
    assert_eq!(
        casa.between(utc(2026, 2, 14, 12, 0, 0), utc(2026, 2, 16, 0, 0, 0))?,
        TimeSpan::seconds(9000)
    );
    Ok(())
}

#[test]
fn bug21_afternoon_schedule_on_berlin_spring_forward_day() -> R {
    let cal = Calendar::builder("Europe/Berlin").every_day(&[Shift::hm(13, 0, 21, 0)?]).build()?;
    assert!(cal.is_open(berlin(2024, 3, 31, 13, 30))?);
    assert!(!cal.is_open(berlin(2024, 3, 31, 12, 30))?);
    assert_eq!(cal.between(berlin(2024, 3, 31, 0, 0), berlin(2024, 4, 1, 0, 0))?, h(8));
    Ok(())
}

#[test]
fn bug22_no_implicit_observed_holiday() -> R {
    let cal = Calendar::builder("America/New_York")
        .weekdays(&[Shift::hm(9, 0, 17, 0)?])
        .holiday(date(2023, 1, 1))
        .build()?;
    assert!(cal.is_open(ny(2023, 1, 2, 10, 0))?);
    // With an explicit observed date, the actual date and the observed date stay distinct.
    let observed = Calendar::builder("America/New_York")
        .weekdays(&[Shift::hm(9, 0, 17, 0)?])
        .add_holiday(Holiday::new(date(2023, 1, 1)).named("New Year").observed_on(date(2023, 1, 2)))
        .build()?;
    assert!(!observed.is_open(ny(2023, 1, 2, 10, 0))?);
    assert_eq!(observed.spec().holidays[0].date, date(2023, 1, 1));
    Ok(())
}

#[test]
fn bug23_next_working_day_skips_holidays() -> R {
    let cal = Calendar::builder("America/New_York")
        .weekdays(&[Shift::hm(9, 0, 17, 0)?])
        .holiday(date(2024, 12, 25))
        .build()?;
    assert_eq!(cal.add_business_days(ny(2024, 12, 24, 10, 0), 1)?, ny(2024, 12, 26, 17, 0));
    assert_eq!(cal.business_days_between(date(2024, 12, 23), date(2024, 12, 30))?, 4);
    Ok(())
}

#[test]
fn bug24_business_day_count_ending_on_a_weekend() -> R {
    let cal = nine_to_five("America/New_York");
    // Mon 2024-06-10 up to (excluding) Sat 06-15 and Sun 06-16: five days either way.
    assert_eq!(cal.business_days_between(date(2024, 6, 10), date(2024, 6, 15))?, 5);
    assert_eq!(cal.business_days_between(date(2024, 6, 10), date(2024, 6, 16))?, 5);
    assert_eq!(cal.business_days_between(date(2024, 6, 10), date(2024, 6, 17))?, 5);
    assert_eq!(cal.business_days_between(date(2024, 6, 16), date(2024, 6, 10))?, -5);
    // Long spans use week skipping; 52 weeks and a day.
    assert_eq!(cal.business_days_between(date(2024, 1, 1), date(2024, 12, 31))?, 261);
    Ok(())
}

#[test]
fn bug25_override_makes_a_saturday_a_working_day_across_new_year() -> R {
    let cal = Calendar::builder("Europe/Berlin")
        .weekdays(&[Shift::hm(9, 0, 17, 0)?])
        .holiday(date(2025, 1, 1))
        .override_hours(date(2025, 1, 4), &[Shift::hm(9, 0, 17, 0)?])
        .build()?;
    assert_eq!(cal.between(berlin(2025, 1, 3, 16, 0), berlin(2025, 1, 6, 10, 0))?, h(10));
    assert_eq!(cal.between(berlin(2024, 12, 31, 16, 0), berlin(2025, 1, 2, 10, 0))?, h(2));
    Ok(())
}

#[test]
fn bug26_seconds_are_kept() -> R {
    let cal = nine_to_five("America/New_York");
    let t = at(Tz::America__New_York, 2024, 6, 17, 9, 0, 30);
    assert_eq!(cal.add(t, h(1))?, at(Tz::America__New_York, 2024, 6, 17, 10, 0, 30));
    Ok(())
}

#[test]
fn bug27_no_open_time_is_an_error_not_a_loop() -> R {
    let empty = Calendar::builder("UTC").build().unwrap_err();
    assert!(matches!(empty.kind(), ErrorKind::EmptyInput { .. }));
    // The only working day is also a holiday.
    let all_holidays = Calendar::builder("UTC")
        .override_hours(date(2024, 6, 15), &[Shift::hm(9, 0, 17, 0)?])
        .holiday(date(2024, 6, 15))
        .build()
        .unwrap_err();
    assert!(matches!(all_holidays.kind(), ErrorKind::EmptyInput { .. }));
    // Open time only on one date: searching after it fails instead of looping.
    let once = Calendar::builder("UTC")
        .override_hours(date(2024, 6, 15), &[Shift::hm(9, 0, 17, 0)?])
        .build()?;
    assert_eq!(once.add(utc(2024, 6, 1, 0, 0, 0), h(8))?, utc(2024, 6, 15, 17, 0, 0));
    let err = once.add(utc(2024, 6, 15, 12, 0, 0), h(8)).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidInput { .. }), "{err}");
    assert!(once.next_open(utc(2024, 6, 16, 0, 0, 0)).is_err());
    Ok(())
}

#[test]
fn bug28_always_open_holiday_pushes_deadline_a_day() -> R {
    let cal = Calendar::builder("UTC")
        .every_day(&[Shift::full_day()])
        .holiday(date(2024, 6, 16))
        .build()?;
    let t = utc(2024, 6, 15, 12, 0, 0);
    assert_eq!(cal.add(t, h(48))?, t + chrono::TimeDelta::hours(72));
    Ok(())
}

fn syd(y: i32, mo: u32, d: u32, hh: u32, mi: u32) -> DateTime<Utc> {
    at(Tz::Australia__Sydney, y, mo, d, hh, mi, 0)
}

/// (zone, spring-forward date, fall-back date, local hour inside the gap / fold)
type Ymd = (i32, u32, u32);

const DST_CASES: [(&str, Ymd, Ymd, u32, u32); 3] = [
    ("America/New_York", (2024, 3, 10), (2024, 11, 3), 2, 1),
    ("Europe/Berlin", (2024, 3, 31), (2024, 10, 27), 2, 2),
    ("Australia/Sydney", (2024, 10, 6), (2024, 4, 7), 2, 2),
];

#[test]
fn dst_gap_and_fold_in_three_zones() -> R {
    for (zone, gap, fold, gap_hour, fold_hour) in DST_CASES {
        let tz: Tz = zone.parse()?;
        let all = always(zone);
        let nine = Calendar::builder(zone).every_day(&[Shift::hm(9, 0, 17, 0)?]).build()?;
        let day = |(y, mo, d): Ymd, add: u64| {
            let nd = date(y, mo, d) + chrono::Days::new(add);
            at(tz, nd.year(), nd.month(), nd.day(), 0, 0, 0)
        };
        // Whole days are 23 h and 25 h; office days stay 8 h.
        assert_eq!(all.between(day(gap, 0), day(gap, 1))?, h(23), "{zone} gap day");
        assert_eq!(all.between(day(fold, 0), day(fold, 1))?, h(25), "{zone} fold day");
        assert_eq!(nine.between(day(gap, 0), day(gap, 1))?, h(8), "{zone}");
        assert_eq!(nine.between(day(fold, 0), day(fold, 1))?, h(8), "{zone}");
        // A shift starting inside the gap opens at the end of the gap.
        let (y, mo, d) = gap;
        let wd = NaiveDate::from_ymd_opt(y, mo, d).unwrap().weekday();
        let in_gap = Calendar::builder(zone)
            .hours(wd, &[Shift::hm(gap_hour, 30, gap_hour + 3, 0)?])
            .build()?;
        let gap_end = at(tz, y, mo, d, gap_hour + 1, 0, 0);
        assert_eq!(in_gap.next_open(day(gap, 0))?, gap_end, "{zone}");
        assert_eq!(in_gap.between(day(gap, 0), day(gap, 1))?, h(2), "{zone}");
        // A shift starting inside the fold opens at the earlier instant and runs the extra hour.
        let (y, mo, d) = fold;
        let wd = NaiveDate::from_ymd_opt(y, mo, d).unwrap().weekday();
        let in_fold = Calendar::builder(zone)
            .hours(wd, &[Shift::hm(fold_hour, 30, fold_hour + 2, 0)?])
            .build()?;
        let earlier = at(tz, y, mo, d, fold_hour, 30, 0);
        assert_eq!(in_fold.next_open(day(fold, 0))?, earlier, "{zone}");
        assert_eq!(in_fold.between(day(fold, 0), day(fold, 1))?, TimeSpan::seconds(9000), "{zone}");
        // add/between round-trip across both nights.
        for start in [day(gap, 0), day(fold, 0)] {
            let due = all.add(start, h(30))?;
            assert_eq!((due - start).num_hours(), 30, "{zone}");
            let due = nine.add(start, h(12))?;
            assert_eq!(nine.between(start, due)?, h(12), "{zone}");
        }
    }
    Ok(())
}

#[test]
fn sydney_fold_add_counts_real_time() -> R {
    let cal = always("Australia/Sydney");
    // 2024-04-07 03:00 AEDT -> 02:00 AEST.
    let t = syd(2024, 4, 7, 1, 0);
    assert_eq!(cal.add(t, h(3))?, t + chrono::TimeDelta::hours(3));
    assert_eq!(cal.add(t, h(3))?, syd(2024, 4, 7, 3, 0));
    Ok(())
}

#[test]
fn holiday_on_a_friday() -> R {
    let cal = Calendar::builder("Europe/Berlin")
        .weekdays(&[Shift::hm(9, 0, 17, 0)?])
        .holiday(date(2024, 3, 29)) // Good Friday
        .build()?;
    assert!(!cal.is_open(berlin(2024, 3, 29, 10, 0))?);
    // Thursday 16:00 + 2 h: Thursday's last hour, then Monday (Easter Monday is not configured).
    assert_eq!(cal.add(berlin(2024, 3, 28, 16, 0), h(2))?, berlin(2024, 4, 1, 10, 0));
    assert_eq!(cal.add_business_days(berlin(2024, 3, 28, 16, 0), 1)?, berlin(2024, 4, 1, 17, 0));
    Ok(())
}

#[test]
fn message_at_2359_on_a_friday() -> R {
    let cal = nine_to_five("America/New_York");
    let t = ny(2024, 6, 14, 23, 59);
    assert!(!cal.is_open(t)?);
    assert_eq!(cal.next_open(t)?, ny(2024, 6, 17, 9, 0));
    assert_eq!(cal.add(t, h(4))?, ny(2024, 6, 17, 13, 0));
    assert_eq!(cal.add_business_days(t, 0)?, ny(2024, 6, 17, 17, 0));
    assert_eq!(cal.between(t, ny(2024, 6, 17, 9, 30))?, m(30));
    Ok(())
}

#[test]
fn target_spanning_a_long_holiday() -> R {
    // Chinese New Year 2024 in Shanghai: closed Feb 10-17, extra working Sunday Feb 18 and
    // Saturday Feb 4 (official make-up days).
    let mut b = Calendar::builder("Asia/Shanghai");
    b.weekdays(&[Shift::hm(9, 0, 12, 0)?, Shift::hm(13, 0, 18, 0)?]);
    for d in 10..=17 {
        b.holiday(date(2024, 2, d));
    }
    b.override_hours(date(2024, 2, 4), &[Shift::hm(9, 0, 12, 0)?, Shift::hm(13, 0, 18, 0)?]);
    b.override_hours(date(2024, 2, 18), &[Shift::hm(9, 0, 12, 0)?, Shift::hm(13, 0, 18, 0)?]);
    let cal = b.build()?;
    let sh = |d, hh| at(Tz::Asia__Shanghai, 2024, 2, d, hh, 0, 0);
    // Friday Feb 9 17:00 + 16 working hours: 1 h Friday, 8 h on Sunday Feb 18, 7 h Monday.
    assert_eq!(cal.add(sh(9, 17), h(16))?, sh(19, 17));
    assert_eq!(cal.between(sh(9, 17), sh(19, 17))?, h(16));
    assert_eq!(cal.add_business_days(sh(9, 17), 1)?, sh(18, 18));
    Ok(())
}

#[test]
fn one_day_as_24_business_hours_versus_next_business_day() -> R {
    let cal = nine_to_five("America/New_York");
    let t = ny(2024, 6, 17, 10, 0); // Monday
    assert_eq!(cal.add(t, h(24))?, ny(2024, 6, 20, 10, 0)); // three 8-hour days
    assert_eq!(cal.add_business_days(t, 1)?, ny(2024, 6, 18, 17, 0));
    assert_eq!(t + chrono::TimeDelta::hours(24), ny(2024, 6, 18, 10, 0));
    Ok(())
}

#[test]
fn long_targets_skip_weeks_and_stay_exact() -> R {
    let mut b = Calendar::builder("America/New_York");
    b.weekdays(&[Shift::hm(9, 0, 17, 0)?]);
    for (mo, d) in [(1, 1), (5, 27), (7, 4), (9, 2), (11, 28), (12, 25)] {
        b.holiday(date(2024, mo, d));
    }
    let cal = b.build()?;
    let t = ny(2024, 1, 2, 9, 0);
    // 2024 from Jan 2: 261 weekdays - 6 holidays - Jan 1 = 254 days... measured by the
    // day-count function, independently of `add`.
    let days = cal.business_days_between(date(2024, 1, 2), date(2025, 1, 1))?;
    assert_eq!(days, 262 - 6); // 2024 has 262 weekdays
    let end = cal.add(t, h(8 * days))?;
    assert_eq!(end, ny(2024, 12, 31, 17, 0));
    assert_eq!(cal.between(t, end)?, h(8 * days));
    Ok(())
}

#[test]
fn bad_input_is_typed() -> R {
    let unknown =
        Calendar::builder("Mars/Olympus").weekdays(&[Shift::hm(9, 0, 17, 0)?]).build().unwrap_err();
    assert_eq!(unknown.kind(), &ErrorKind::UnknownTimeZone { name: "Mars/Olympus".into() });
    let overlap = Calendar::builder("UTC")
        .weekdays(&[Shift::hm(9, 0, 13, 0)?, Shift::hm(12, 0, 17, 0)?])
        .build()
        .unwrap_err();
    assert!(matches!(overlap.kind(), ErrorKind::InvalidInput { field: "shift", .. }), "{overlap}");
    // An overnight Friday shift running into Saturday's morning shift.
    let spill = Calendar::builder("UTC")
        .hours(Weekday::Fri, &[Shift::hm(22, 0, 6, 0)?])
        .hours(Weekday::Sat, &[Shift::hm(5, 0, 9, 0)?])
        .build()
        .unwrap_err();
    assert!(matches!(spill.kind(), ErrorKind::InvalidInput { .. }));
    // Sunday overnight into Monday wraps around the week.
    let wrap = Calendar::builder("UTC")
        .hours(Weekday::Sun, &[Shift::hm(20, 0, 10, 0)?])
        .hours(Weekday::Mon, &[Shift::hm(9, 0, 17, 0)?])
        .build()
        .unwrap_err();
    assert!(matches!(wrap.kind(), ErrorKind::InvalidInput { .. }));
    // An override overlapping the next day's weekly hours.
    let over = Calendar::builder("UTC")
        .weekdays(&[Shift::hm(9, 0, 17, 0)?])
        .override_hours(date(2024, 6, 16), &[Shift::hm(20, 0, 10, 0)?])
        .build()
        .unwrap_err();
    assert!(matches!(over.kind(), ErrorKind::InvalidInput { .. }));
    let twice = Calendar::builder("UTC")
        .weekdays(&[Shift::hm(9, 0, 17, 0)?])
        .override_hours(date(2024, 6, 15), &[])
        .override_hours(date(2024, 6, 15), &[])
        .build()
        .unwrap_err();
    assert!(matches!(twice.kind(), ErrorKind::InvalidInput { field: "override date", .. }));
    assert!(Shift::hm(25, 0, 1, 0).is_err());
    assert!(Shift::hm(9, 60, 10, 0).is_err());
    assert!(Shift::from_secs(86_400, 0).is_err());
    assert!(Shift::from_secs(0, 86_401).is_err());
    let cal = nine_to_five("UTC");
    assert!(cal.add(utc(2024, 6, 17, 9, 0, 0), TimeSpan::seconds(-1)).is_err());
    assert!(cal.is_open(utc(1969, 12, 31, 0, 0, 0)).is_err());
    assert!(cal.add(utc(2099, 12, 30, 9, 0, 0), h(100)).is_err());
    Ok(())
}

#[cfg(feature = "serde")]
#[test]
fn calendar_round_trips_and_is_validated_on_deserialize() -> R {
    let cal = Calendar::builder("Asia/Shanghai")
        .weekdays(&[Shift::hm(9, 0, 12, 0)?, Shift::hm(13, 0, 18, 0)?])
        .hours(Weekday::Sat, &[Shift::hm(22, 0, 2, 0)?])
        .add_holiday(Holiday::new(date(2024, 10, 1)).named("National Day"))
        .override_hours(date(2024, 9, 29), &[Shift::hm(9, 0, 18, 0)?])
        .build()?;
    let json = serde_json::to_string(&cal)?;
    let back: Calendar = serde_json::from_str(&json)?;
    assert_eq!(back, cal);
    let t = utc(2024, 9, 27, 8, 0, 0);
    assert_eq!(back.add(t, h(20))?, cal.add(t, h(20))?);
    let mut spec: loyalty::sla::CalendarSpec = cal.spec().clone();
    spec.week[0].push(Shift::hm(10, 0, 11, 0)?);
    let bad = serde_json::to_string(&spec)?;
    assert!(serde_json::from_str::<Calendar>(&bad).is_err());
    let bad_zone = json.replace("Asia/Shanghai", "Asia/Atlantis");
    assert!(serde_json::from_str::<Calendar>(&bad_zone).is_err());
    let bad_shift = r#"{"start":90000,"end":0}"#;
    assert!(serde_json::from_str::<Shift>(bad_shift).is_err());
    Ok(())
}

fn policy(targets: Targets) -> Policy {
    Policy::new("p", Filter::any(), targets).unwrap()
}

fn working(hours: i64) -> Target {
    Target::working(h(hours)).unwrap()
}

fn opts() -> EvaluateOptions {
    EvaluateOptions::default()
}

fn customer(t: DateTime<Utc>) -> Event {
    Event::customer_message(t)
}

fn reply(t: DateTime<Utc>) -> Event {
    Event::agent_reply(t)
}

#[test]
fn bug06_one_breach_instant_per_cycle() -> R {
    let cal = nine_to_five("America/New_York");
    let p = policy(Targets::none().first_reply(working(2)));
    let events = [customer(ny(2024, 6, 17, 10, 0))];
    let mut seen = None;
    for now in [ny(2024, 6, 17, 13, 0), ny(2024, 6, 18, 9, 0), ny(2024, 6, 24, 9, 0)] {
        let e = evaluate(&events, &p, std::slice::from_ref(&cal), now, &opts())?;
        assert_eq!(e.cycles.len(), 2, "first reply and resolution only");
        let first = e.current(Metric::FirstReply).unwrap();
        assert_eq!(first.breached_at, Some(ny(2024, 6, 17, 12, 0)));
        assert_eq!(
            first.remaining,
            Some(TimeSpan::seconds((ny(2024, 6, 17, 12, 0) - now).num_seconds()))
        );
        assert!(first.remaining.unwrap().is_negative());
        assert_eq!(first.risk, Risk::Breached);
        seen.get_or_insert(first.breached_at);
        assert_eq!(Some(first.breached_at), seen);
    }
    Ok(())
}

#[test]
fn bug29_breach_is_recorded_when_the_target_is_applied() -> R {
    let cal = always("UTC");
    let p = policy(Targets::none());
    let events = [
        customer(utc(2024, 6, 17, 9, 0, 0)),
        Event::new(
            utc(2024, 6, 17, 11, 0, 0),
            EventKind::TargetsChange(Targets::none().first_reply(Target::calendar(h(1))?)),
        ),
    ];
    let e = evaluate(&events, &p, &[cal], utc(2024, 6, 17, 11, 30, 0), &opts())?;
    let first = e.current(Metric::FirstReply).unwrap();
    assert_eq!(first.deadline, Some(utc(2024, 6, 17, 10, 0, 0)));
    assert_eq!(first.breached_at, Some(utc(2024, 6, 17, 11, 0, 0)));
    Ok(())
}

#[test]
fn bug30_next_reply_counts_from_the_oldest_unanswered_message() -> R {
    let cal = always("UTC");
    let p = policy(Targets::none().first_reply(working(1)).next_reply(working(2)));
    let events = [
        customer(utc(2024, 6, 17, 9, 0, 0)),
        reply(utc(2024, 6, 17, 9, 5, 0)),
        customer(utc(2024, 6, 17, 10, 0, 0)),
        customer(utc(2024, 6, 17, 10, 30, 0)),
        reply(utc(2024, 6, 17, 11, 0, 0)),
    ];
    let e = evaluate(&events, &p, &[cal], utc(2024, 6, 17, 12, 0, 0), &opts())?;
    let next: Vec<_> = e.cycles.iter().filter(|c| c.metric == Metric::NextReply).collect();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].started_at, utc(2024, 6, 17, 10, 0, 0));
    assert_eq!(next[0].reply_time(), Some(m(60)));
    assert_eq!(next[0].state, CycleState::Fulfilled);
    assert_eq!(next[0].remaining, Some(m(60)));
    let first = e.current(Metric::FirstReply).unwrap();
    assert_eq!(first.reply_time(), Some(m(5)));
    Ok(())
}

#[test]
fn bug31_resume_moves_the_deadline_by_the_pause_in_working_time() -> R {
    let cal = nine_to_five("America/New_York");
    let p = policy(Targets::none().resolution(working(4)));
    let events = [
        customer(ny(2024, 6, 17, 9, 0)),
        Event::status(ny(2024, 6, 17, 10, 0), Status::WaitingOnCustomer),
        Event::status(ny(2024, 6, 18, 15, 0), Status::Open),
    ];
    let now = ny(2024, 6, 18, 15, 30);
    let e = evaluate(&events, &p, std::slice::from_ref(&cal), now, &opts())?;
    let res = e.current(Metric::Resolution).unwrap();
    assert_eq!(res.state, CycleState::Active);
    // Resume Tue 15:00 + 3 working hours = Wed 10:00.
    assert_eq!(res.deadline, Some(cal.add(ny(2024, 6, 18, 15, 0), h(3))?));
    assert_eq!(res.deadline, Some(ny(2024, 6, 19, 10, 0)));
    // While paused, the clock stands still: the deadline is where it would fall on resume.
    let paused =
        evaluate(&events[..2], &p, std::slice::from_ref(&cal), ny(2024, 6, 18, 9, 0), &opts())?;
    let res = paused.current(Metric::Resolution).unwrap();
    assert_eq!(res.state, CycleState::Paused);
    assert_eq!(res.deadline, Some(ny(2024, 6, 18, 12, 0)));
    // A customer message ends a wait on the customer.
    let answered = [
        customer(ny(2024, 6, 17, 9, 0)),
        Event::status(ny(2024, 6, 17, 10, 0), Status::WaitingOnCustomer),
        customer(ny(2024, 6, 18, 15, 0)),
    ];
    let e = evaluate(&answered, &p, &[cal], now, &opts())?;
    assert_eq!(e.current(Metric::Resolution).unwrap().deadline, Some(ny(2024, 6, 19, 10, 0)));
    Ok(())
}

#[test]
fn bug32_calendar_change_keeps_used_time() -> R {
    let weekdays = nine_to_five("America/New_York");
    let evenings = Calendar::builder("America/New_York")
        .name("evenings")
        .every_day(&[Shift::hm(18, 0, 22, 0)?])
        .build()?;
    let p = policy(Targets::none().resolution(working(8)));
    let events = [
        customer(ny(2024, 6, 17, 9, 0)),
        Event::new(ny(2024, 6, 17, 12, 0), EventKind::CalendarChange("evenings".into())),
    ];
    let e = evaluate(&events, &p, &[weekdays, evenings.clone()], ny(2024, 6, 17, 12, 30), &opts())?;
    // 3 h used; 5 h left on the evening calendar from 12:00: 18-22 Monday, 18-19 Tuesday.
    assert_eq!(
        e.current(Metric::Resolution).unwrap().deadline,
        Some(evenings.add(ny(2024, 6, 17, 12, 0), h(5))?)
    );
    assert_eq!(e.current(Metric::Resolution).unwrap().deadline, Some(ny(2024, 6, 18, 19, 0)));
    let bad = [
        customer(ny(2024, 6, 17, 9, 0)),
        Event::new(ny(2024, 6, 17, 12, 0), EventKind::CalendarChange("nights".into())),
    ];
    let err = evaluate(&bad, &p, &[evenings], ny(2024, 6, 17, 13, 0), &opts()).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidRecord { index: 1, .. }));
    Ok(())
}

#[test]
fn bug33_manual_due_date_survives_a_priority_change() -> R {
    let cal = always("UTC");
    let p = policy(Targets::none().first_reply(working(4)));
    let due = utc(2024, 6, 20, 12, 0, 0);
    let events = [
        customer(utc(2024, 6, 17, 9, 0, 0)),
        Event::new(
            utc(2024, 6, 17, 9, 30, 0),
            EventKind::DueDate { metric: Metric::FirstReply, due },
        ),
        Event::new(
            utc(2024, 6, 17, 10, 0, 0),
            EventKind::TargetsChange(Targets::none().first_reply(working(1))),
        ),
    ];
    let e = evaluate(&events, &p, &[cal], utc(2024, 6, 17, 11, 0, 0), &opts())?;
    let first = e.current(Metric::FirstReply).unwrap();
    assert_eq!(first.deadline, Some(due));
    assert!(!first.is_breached());
    Ok(())
}

#[test]
fn bug34_reply_kinds_are_a_policy_setting() -> R {
    let cal = always("UTC");
    let t0 = utc(2024, 6, 17, 9, 0, 0);
    let t1 = utc(2024, 6, 17, 9, 1, 0);
    for kind in [MessageKind::InternalNote, MessageKind::Bot, MessageKind::AutoAcknowledgement] {
        let events = [customer(t0), Event::new(t1, EventKind::Message(kind))];
        let strict = policy(Targets::none().first_reply(working(1)));
        let e = evaluate(&events, &strict, std::slice::from_ref(&cal), t1, &opts())?;
        assert_eq!(e.current(Metric::FirstReply).unwrap().state, CycleState::Active, "{kind:?}");
        let lenient = strict.clone().reply_kinds(&[MessageKind::AgentReply, kind])?;
        let e = evaluate(&events, &lenient, std::slice::from_ref(&cal), t1, &opts())?;
        let first = e.current(Metric::FirstReply).unwrap();
        assert_eq!(first.state, CycleState::Fulfilled, "{kind:?}");
        assert_eq!(first.fulfilled_at, Some(t1));
    }
    Ok(())
}

#[test]
fn acknowledgement_then_three_day_cap() -> R {
    // "Reply the same day; say the message was received; never later than three days."
    let cal = Calendar::builder("Asia/Shanghai").weekdays(&[Shift::hm(9, 0, 18, 0)?]).build()?;
    let p = Policy::new(
        "returning",
        Filter::any().customer(CustomerKind::Returning),
        Targets::none().first_reply(Target::business_days(0)).resolution(Target::business_days(10)),
    )?
    .reply_kinds(&[MessageKind::AgentReply, MessageKind::AutoAcknowledgement])?
    .cap(TimeSpan::days(3)?)?;
    let sh = |d, hh| at(Tz::Asia__Shanghai, 2024, 6, d, hh, 0, 0);
    let events = [customer(sh(17, 10)), Event::acknowledgement(sh(17, 11))];
    let e = evaluate(&events, &p, &[cal], sh(20, 9), &opts())?;
    let first = e.current(Metric::FirstReply).unwrap();
    assert_eq!(first.deadline, Some(sh(17, 18)));
    assert_eq!(first.state, CycleState::Fulfilled);
    let res = e.current(Metric::Resolution).unwrap();
    // Ten business days would be July 1; the cap says June 20 10:00.
    assert_eq!(res.deadline, Some(sh(20, 10)));
    assert_eq!(res.remaining, Some(h(1)));
    assert_eq!(res.risk, Risk::Warning);
    Ok(())
}

#[test]
fn solving_fulfils_and_a_customer_message_reopens() -> R {
    let cal = always("UTC");
    let p = policy(
        Targets::none()
            .first_reply(working(1))
            .next_reply(working(1))
            .periodic_update(working(24))
            .resolution(working(48)),
    );
    let t = |hh| utc(2024, 6, 17, hh, 0, 0);
    let events = [customer(t(1)), reply(t(2)), Event::status(t(3), Status::Solved), customer(t(5))];
    let e = evaluate(&events, &p, &[cal], t(8), &opts())?;
    let res: Vec<_> = e.cycles.iter().filter(|c| c.metric == Metric::Resolution).collect();
    assert_eq!(res.len(), 2);
    assert_eq!(res[0].fulfilled_at, Some(t(3)));
    assert_eq!(res[1].started_at, t(5));
    let first = e.current(Metric::FirstReply).unwrap();
    // Replied exactly one hour after the message: on time, zero slack.
    assert!(!first.is_breached());
    assert_eq!(first.remaining, Some(TimeSpan::ZERO));
    let next = e.current(Metric::NextReply).unwrap();
    assert_eq!((next.cycle, next.started_at, next.state), (1, t(5), CycleState::Active));
    assert!(next.is_breached());
    assert_eq!(next.breached_at, Some(t(6)));
    // The periodic update started at the reply and was fulfilled by solving.
    let upd = e.current(Metric::PeriodicUpdate).unwrap();
    assert_eq!((upd.started_at, upd.fulfilled_at), (t(2), Some(t(3))));
    assert_eq!(e.next_deadline(), Some(t(6)));
    Ok(())
}

#[test]
fn reply_exactly_at_the_deadline_is_on_time() -> R {
    let cal = always("UTC");
    let p = policy(Targets::none().first_reply(working(1)));
    let t0 = utc(2024, 6, 17, 9, 0, 0);
    let e = evaluate(
        &[customer(t0), reply(t0 + chrono::TimeDelta::hours(1))],
        &p,
        std::slice::from_ref(&cal),
        t0 + chrono::TimeDelta::hours(2),
        &opts(),
    )?;
    assert!(!e.current(Metric::FirstReply).unwrap().is_breached());
    let e = evaluate(
        &[customer(t0), reply(t0 + chrono::TimeDelta::seconds(3601))],
        &p,
        &[cal],
        t0 + chrono::TimeDelta::hours(2),
        &opts(),
    )?;
    assert!(e.current(Metric::FirstReply).unwrap().is_breached());
    Ok(())
}

#[test]
fn evaluation_bad_input() -> R {
    let cal = always("UTC");
    let p = policy(Targets::none().first_reply(working(1)));
    let t = |hh| utc(2024, 6, 17, hh, 0, 0);
    let out_of_order =
        evaluate(&[customer(t(5)), reply(t(4))], &p, std::slice::from_ref(&cal), t(6), &opts())
            .unwrap_err();
    assert!(
        matches!(out_of_order.kind(), ErrorKind::InvalidRecord { index: 1, field: "at", .. }),
        "{out_of_order}"
    );
    let future =
        evaluate(&[customer(t(7))], &p, std::slice::from_ref(&cal), t(6), &opts()).unwrap_err();
    assert!(matches!(future.kind(), ErrorKind::InvalidRecord { index: 0, .. }));
    let no_cycle = [
        customer(t(1)),
        Event::new(t(2), EventKind::DueDate { metric: Metric::NextReply, due: t(9) }),
    ];
    assert!(evaluate(&no_cycle, &p, std::slice::from_ref(&cal), t(6), &opts()).is_err());
    assert!(evaluate(&[customer(t(1))], &p, &[], t(6), &opts()).is_err());
    assert!(EvaluateOptions::default().warn_within(TimeSpan::seconds(-1)).is_err());
    assert!(Policy::new(" ", Filter::any(), Targets::none()).is_err());
    assert!(policy(Targets::none()).reply_kinds(&[MessageKind::Customer]).is_err());
    assert!(policy(Targets::none()).reply_kinds(&[]).is_err());
    assert!(policy(Targets::none()).pause_on(&[Status::Solved]).is_err());
    assert!(policy(Targets::none()).cap(TimeSpan::seconds(-5)).is_err());
    Ok(())
}

#[test]
fn policies_first_match_wins_with_shadow_warnings_and_catch_all() -> R {
    let vip = Policy::new(
        "vip",
        Filter::any().tier("gold").tier("platinum"),
        Targets::none().first_reply(working(1)),
    )?;
    let urgent = Policy::new(
        "urgent",
        Filter::any().priority(Priority::Urgent),
        Targets::none().first_reply(working(1)),
    )?;
    let gold_email =
        Policy::new("gold email", Filter::any().tier("gold").channel("email"), Targets::none())?;
    let returning =
        Policy::new("returning", Filter::any().customer(CustomerKind::Returning), Targets::none())?;
    let rest = Policy::new("rest", Filter::any(), Targets::none())?;
    let set = PolicySet::new(
        vec![vip.clone(), urgent.clone(), gold_email, returning.clone(), rest.clone()],
        CatchAll::Require,
    )?;
    assert_eq!(
        set.warnings(),
        &[PolicyWarning::Shadowed { policy: "gold email".into(), by: "vip".into() }]
    );
    let facts = |tier: Option<&str>, prio, kind, tags: &[&str]| CustomerFacts {
        customer: kind,
        tier: tier.map(str::to_owned),
        segment: Some("champions".into()),
        priority: prio,
        channel: Some("email".into()),
        tags: tags.iter().map(|s| s.to_string()).collect(),
    };
    assert_eq!(
        set.select(&facts(Some("gold"), Priority::Urgent, CustomerKind::New, &[])).name(),
        "vip"
    );
    assert_eq!(
        set.select(&facts(None, Priority::Urgent, CustomerKind::Returning, &[])).name(),
        "urgent"
    );
    assert_eq!(
        set.select(&facts(None, Priority::Low, CustomerKind::Returning, &[])).name(),
        "returning"
    );
    assert_eq!(
        set.select(&facts(Some("silver"), Priority::Low, CustomerKind::New, &[])).name(),
        "rest"
    );
    // Tags are all-of; segments are any-of.
    let tagged = Policy::new(
        "refund",
        Filter::any().tag("refund").tag("damaged").segment("champions"),
        Targets::none(),
    )?;
    let set2 = PolicySet::new(vec![tagged, rest.clone()], CatchAll::Require)?;
    assert_eq!(
        set2.select(&facts(None, Priority::Low, CustomerKind::New, &["refund"])).name(),
        "rest"
    );
    assert_eq!(
        set2.select(&facts(None, Priority::Low, CustomerKind::New, &["damaged", "refund", "x"]))
            .name(),
        "refund"
    );
    // A catch-all is required or synthesised, and it shadows what follows.
    let missing = PolicySet::new(vec![vip.clone()], CatchAll::Require).unwrap_err();
    assert!(matches!(missing.kind(), ErrorKind::RuleViolation { rule: "catch-all", .. }));
    let synth = PolicySet::new(vec![vip.clone()], CatchAll::Synthesize(Targets::none()))?;
    assert_eq!(synth.policies().map(Policy::name).collect::<Vec<_>>(), ["vip", "catch-all"]);
    let shadowed =
        PolicySet::new(vec![rest.clone(), urgent, rest.clone().clone()], CatchAll::Require);
    assert!(shadowed.is_err(), "duplicate names");
    let early = PolicySet::new(
        vec![Policy::new("all", Filter::any(), Targets::none())?, returning, rest],
        CatchAll::Require,
    )?;
    assert_eq!(early.warnings().len(), 2);
    assert!(PolicySet::new(vec![], CatchAll::Require).is_err());
    Ok(())
}

#[test]
fn triage_with_no_urgency_band_orders_by_deadline_then_returning_then_value() {
    let t = |hh| Some(utc(2024, 6, 17, hh, 0, 0));
    let items = [
        TriageItem::new("late-new", t(12), CustomerKind::New, dec!(50)),
        TriageItem::new("none", None, CustomerKind::Returning, dec!(9999)),
        TriageItem::new("soon", t(10), CustomerKind::New, dec!(1)),
        TriageItem::new("late-old", t(12), CustomerKind::Returning, dec!(50)),
        TriageItem::new("late-rich", t(12), CustomerKind::New, dec!(500)),
        TriageItem::new("a-tie", t(12), CustomerKind::New, dec!(50)),
    ];
    let now = utc(2024, 6, 17, 0, 0, 0);
    let plain = TriageOptions::default().urgent_within(TimeSpan::ZERO).unwrap();
    let order: Vec<&str> =
        triage(&items, now, &plain).into_iter().map(|i| items[i].id.as_str()).collect();
    assert_eq!(order, ["soon", "late-old", "late-rich", "a-tie", "late-new", "none"]);
    assert!(triage(&[], now, &plain).is_empty());
}

#[cfg(feature = "serde")]
#[test]
fn policy_state_round_trips() -> R {
    let p = Policy::new(
        "vip",
        Filter::any().tier("gold").tag("x"),
        Targets::none().first_reply(working(1)).resolution(Target::business_days(3)),
    )?
    .cap(TimeSpan::days(3)?)?
    .reply_kinds(&[MessageKind::AgentReply, MessageKind::AutoAcknowledgement])?
    .pause_on(&[Status::WaitingOnCustomer, Status::WaitingOnThirdParty])?;
    let set = PolicySet::new(vec![p.clone()], CatchAll::Synthesize(Targets::none()))?;
    let back: PolicySet = serde_json::from_str(&serde_json::to_string(&set)?)?;
    assert_eq!(back, set);
    // Deserialising re-validates: a list without a catch-all is rejected.
    let only_vip = serde_json::to_string(&vec![p.clone()])?;
    assert!(serde_json::from_str::<PolicySet>(&only_vip).is_err());
    let bad_policy = serde_json::to_string(&p)?.replace("\"vip\"", "\"\"");
    assert!(serde_json::from_str::<Policy>(&bad_policy).is_err());
    let neg = serde_json::to_string(&Target::working(h(1))?)?.replace("3600", "-3600");
    assert!(serde_json::from_str::<Target>(&neg).is_err());
    let cal = always("UTC");
    let events = vec![customer(utc(2024, 6, 17, 9, 0, 0)), reply(utc(2024, 6, 17, 9, 30, 0))];
    let ev_back: Vec<Event> = serde_json::from_str(&serde_json::to_string(&events)?)?;
    assert_eq!(ev_back, events);
    let e = evaluate(&events, &p, &[cal], utc(2024, 6, 17, 10, 0, 0), &opts())?;
    let e_back = serde_json::from_str(&serde_json::to_string(&e)?)?;
    assert_eq!(e, e_back);
    let item = TriageItem::from_evaluation("c1", &e, CustomerKind::Returning, dec!(12.5));
    assert_eq!(serde_json::from_str::<TriageItem>(&serde_json::to_string(&item)?)?, item);
    let o = EvaluateOptions::default().warn_within(m(30))?;
    assert_eq!(serde_json::from_str::<EvaluateOptions>(&serde_json::to_string(&o)?)?, o);
    Ok(())
}

mod props {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    fn calendars() -> &'static [Calendar] {
        static CALS: OnceLock<Vec<Calendar>> = OnceLock::new();
        CALS.get_or_init(|| {
            let s = |a, b, c, d| Shift::hm(a, b, c, d).unwrap();
            let mut ny = Calendar::builder("America/New_York");
            ny.weekdays(&[s(9, 0, 17, 0)]);
            for y in 2023..=2026 {
                for (mo, d) in [(1, 1), (7, 4), (11, 27), (12, 25), (12, 26)] {
                    ny.holiday(date(y, mo, d));
                }
            }
            let mut syd = Calendar::builder("Australia/Sydney");
            syd.weekdays(&[s(8, 0, 12, 0), s(13, 0, 17, 30)])
                .hours(Weekday::Fri, &[s(8, 0, 12, 0), s(22, 0, 6, 0)]);
            syd.holiday(date(2024, 4, 6)).override_hours(date(2024, 10, 6), &[s(1, 0, 4, 0)]);
            let mut ber = Calendar::builder("Europe/Berlin");
            ber.every_day(&[Shift::full_day()])
                .holiday(date(2024, 10, 27))
                .holiday(date(2025, 3, 30));
            let mut sh = Calendar::builder("Asia/Shanghai");
            sh.weekdays(&[s(9, 0, 12, 0), s(13, 0, 18, 0)]);
            for d in 10..=17 {
                sh.holiday(date(2024, 2, d));
            }
            sh.override_hours(date(2024, 2, 18), &[s(9, 0, 18, 0)]);
            vec![
                ny.build().unwrap(),
                syd.build().unwrap(),
                ber.build().unwrap(),
                sh.build().unwrap(),
            ]
        })
    }

    fn instant() -> impl Strategy<Value = DateTime<Utc>> {
        // 2023-01-01 .. 2026-01-01, second resolution.
        (1_672_531_200i64..1_767_225_600).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap())
    }

    /// Instants within three days of a 2024 offset change of New York, Sydney or Berlin.
    fn near_dst() -> impl Strategy<Value = DateTime<Utc>> {
        const CHANGES: [i64; 6] = [
            1_710_054_000,
            1_730_613_600,
            1_712_419_200,
            1_728_144_000,
            1_711_846_800,
            1_729_990_800,
        ];
        (0usize..6, -3 * 86_400i64..3 * 86_400)
            .prop_map(|(i, dt)| DateTime::from_timestamp(CHANGES[i] + dt, 0).unwrap())
    }

    fn amount() -> impl Strategy<Value = TimeSpan> {
        prop_oneof![0i64..4 * 3600, 0i64..2000 * 3600].prop_map(TimeSpan::seconds)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn add_then_between_gives_back_the_amount(ci in 0usize..4, t in instant(), d in amount()) {
            let cal = &calendars()[ci];
            let end = cal.add(t, d).unwrap();
            prop_assert_eq!(cal.between(t, end).unwrap(), d);
            if d > TimeSpan::ZERO {
                prop_assert!(end > t);
                // Earliest: one second less of working time ends strictly earlier.
                let before = cal.add(t, TimeSpan::seconds(d.as_secs() - 1)).unwrap();
                prop_assert!(before < end);
            }
        }

        #[test]
        fn between_then_add_does_not_pass_the_end(ci in 0usize..4, a in instant(), b in instant()) {
            let cal = &calendars()[ci];
            let (a, b) = if a <= b { (a, b) } else { (b, a) };
            let d = cal.between(a, b).unwrap();
            prop_assert_eq!(cal.between(b, a).unwrap().as_secs(), -d.as_secs());
            let back = cal.add(a, d).unwrap();
            prop_assert!(back <= b);
            if b > a && cal.is_open(b - chrono::TimeDelta::seconds(1)).unwrap() {
                prop_assert_eq!(back, b);
            }
        }

        #[test]
        fn round_trips_hold_around_dst_changes(ci in 0usize..3, t in near_dst(), d in 0i64..40 * 3600, u in near_dst()) {
            let cal = &calendars()[ci];
            let d = TimeSpan::seconds(d);
            let end = cal.add(t, d).unwrap();
            prop_assert_eq!(cal.between(t, end).unwrap(), d);
            prop_assert!(cal.add(t, cal.between(t, u.max(t)).unwrap()).unwrap() <= u.max(t));
            let one = cal.between(u, u + chrono::TimeDelta::seconds(1)).unwrap();
            prop_assert_eq!(cal.is_open(u).unwrap(), one == TimeSpan::seconds(1));
        }

        #[test]
        fn between_is_additive(ci in 0usize..4, a in instant(), b in instant(), c in instant()) {
            let cal = &calendars()[ci];
            let ab = cal.between(a, b).unwrap().as_secs();
            let bc = cal.between(b, c).unwrap().as_secs();
            prop_assert_eq!(ab + bc, cal.between(a, c).unwrap().as_secs());
        }

        #[test]
        fn deadlines_are_monotone_in_target_and_start(
            ci in 0usize..4, t in instant(), dt in 0i64..30 * 86_400, d1 in amount(), d2 in amount(), n1 in 0u32..40, n2 in 0u32..40,
        ) {
            let cal = &calendars()[ci];
            let (lo, hi) = if d1 <= d2 { (d1, d2) } else { (d2, d1) };
            prop_assert!(cal.add(t, lo).unwrap() <= cal.add(t, hi).unwrap());
            let later = t + chrono::TimeDelta::seconds(dt);
            prop_assert!(cal.add(t, d1).unwrap() <= cal.add(later, d1).unwrap());
            let (nlo, nhi) = (n1.min(n2), n1.max(n2));
            prop_assert!(cal.add_business_days(t, nlo).unwrap() <= cal.add_business_days(t, nhi).unwrap());
            prop_assert!(cal.add_business_days(t, n1).unwrap() <= cal.add_business_days(later, n1).unwrap());
            prop_assert!(cal.next_open(t).unwrap() >= t);
            prop_assert!(cal.is_open(cal.next_open(t).unwrap()).unwrap());
            let one = cal.between(t, t + chrono::TimeDelta::seconds(1)).unwrap();
            prop_assert_eq!(cal.is_open(t).unwrap(), one == TimeSpan::seconds(1));
            prop_assert_eq!(cal.is_open(t).unwrap(), cal.next_open(t).unwrap() == t);
        }

        #[test]
        fn evaluated_deadlines_are_monotone(ci in 0usize..4, t in instant(), dt in 0i64..5 * 86_400, h1 in 0i64..200, h2 in 0i64..200) {
            let cal = &calendars()[ci];
            let now = t + chrono::TimeDelta::seconds(dt);
            let deadline = |start: DateTime<Utc>, hours: i64| {
                let p = policy(Targets::none().first_reply(Target::working(TimeSpan::hours(hours).unwrap()).unwrap()));
                let e = evaluate(&[customer(start)], &p, std::slice::from_ref(cal), now, &opts()).unwrap();
                e.current(Metric::FirstReply).unwrap().deadline.unwrap()
            };
            let (lo, hi) = (h1.min(h2), h1.max(h2));
            prop_assert!(deadline(t, lo) <= deadline(t, hi));
            prop_assert!(deadline(t, h1) <= deadline(now, h1));
        }
    }
}

// Cases from an adversarial review of evaluation (each failed before its fix).

fn calendar_hours(n: i64) -> Target {
    Target::calendar(h(n)).unwrap()
}

fn cycles_of(e: &loyalty::sla::Evaluation, metric: Metric) -> Vec<&loyalty::sla::CycleReport> {
    e.cycles.iter().filter(|c| c.metric == metric).collect()
}

#[test]
fn a_targets_change_does_not_move_a_breach_it_did_not_cause() -> R {
    let cal = always("UTC");
    let m = utc(2024, 6, 3, 9, 0, 0);
    let targets = Targets::none().first_reply(calendar_hours(1));
    let p = policy(targets);
    let at = |e: &[Event]| -> Result<_, loyalty::Error> {
        let e =
            evaluate(e, &p, std::slice::from_ref(&cal), m + chrono::TimeDelta::hours(3), &opts())?;
        Ok(e.current(Metric::FirstReply).unwrap().breached_at)
    };
    let change =
        |t: Targets| Event::new(m + chrono::TimeDelta::hours(2), EventKind::TargetsChange(t));
    assert_eq!(at(&[customer(m)])?, Some(m + chrono::TimeDelta::hours(1)));
    // The same targets again, or only another metric's: the 10:00 breach stands.
    assert_eq!(at(&[customer(m), change(targets)])?, Some(m + chrono::TimeDelta::hours(1)));
    let other = targets.resolution(calendar_hours(48));
    assert_eq!(at(&[customer(m), change(other)])?, Some(m + chrono::TimeDelta::hours(1)));
    // A longer target after the breach: the breach that happened stands.
    let longer = Targets::none().first_reply(calendar_hours(5));
    assert_eq!(at(&[customer(m), change(longer)])?, Some(m + chrono::TimeDelta::hours(1)));
    // A change that causes the breach records it at the change, never earlier.
    let p3 = policy(Targets::none().first_reply(calendar_hours(3)));
    let e = evaluate(
        &[customer(m), change(targets)],
        &p3,
        std::slice::from_ref(&cal),
        m + chrono::TimeDelta::hours(3),
        &opts(),
    )?;
    assert_eq!(
        e.current(Metric::FirstReply).unwrap().breached_at,
        Some(m + chrono::TimeDelta::hours(2))
    );
    // A due date set after a breach does not move it either.
    let due = Event::new(
        m + chrono::TimeDelta::hours(2),
        EventKind::DueDate { metric: Metric::FirstReply, due: m + chrono::TimeDelta::hours(4) },
    );
    assert_eq!(at(&[customer(m), due])?, Some(m + chrono::TimeDelta::hours(1)));
    Ok(())
}

#[test]
fn business_days_reapplied_after_a_calendar_change_use_the_start_calendar() -> R {
    let office = Calendar::builder("UTC").name("a").weekdays(&[Shift::hm(9, 0, 17, 0)?]).build()?;
    let always_on = Calendar::builder("UTC").name("b").every_day(&[Shift::full_day()]).build()?;
    let cals = [office, always_on];
    let mon = |hh| utc(2024, 6, 3, hh, 0, 0);
    let p = policy(Targets::none().first_reply(Target::business_days(0)));
    let base = [customer(mon(9)), Event::new(mon(10), EventKind::CalendarChange("b".into()))];
    // Monday's close on the office calendar: 8 h of working time, 1 h used on it, 7 h left
    // on the always-open calendar from 10:00.
    let e = evaluate(&base, &p, &cals, mon(11), &opts())?;
    assert_eq!(e.current(Metric::FirstReply).unwrap().deadline, Some(mon(17)));
    // Re-applied as one business day: Tuesday's close on the office calendar is 16 h from
    // the start; 15 h left from 10:00 on the always-open calendar: Tuesday 01:00.
    let mut events = base.to_vec();
    events.push(Event::new(
        mon(11),
        EventKind::TargetsChange(Targets::none().first_reply(Target::business_days(1))),
    ));
    let e = evaluate(&events, &p, &cals, mon(12), &opts())?;
    assert_eq!(e.current(Metric::FirstReply).unwrap().deadline, Some(utc(2024, 6, 4, 1, 0, 0)));
    Ok(())
}

#[test]
fn solved_before_the_first_message_does_not_leave_the_conversation_solved() -> R {
    let cal = always("UTC");
    let m = utc(2024, 6, 3, 9, 0, 0);
    let hours = |n| m + chrono::TimeDelta::hours(n);
    let all = Targets::none()
        .first_reply(calendar_hours(4))
        .next_reply(calendar_hours(4))
        .periodic_update(calendar_hours(24))
        .resolution(calendar_hours(48));
    let p = policy(all);
    let events = [
        Event::status(m - chrono::TimeDelta::hours(1), Status::Solved),
        customer(m),
        reply(hours(1)),
        customer(hours(2)),
    ];
    let e = evaluate(&events, &p, std::slice::from_ref(&cal), hours(3), &opts())?;
    let resolution = cycles_of(&e, Metric::Resolution);
    assert_eq!(resolution.len(), 1);
    assert_eq!(resolution[0].state, CycleState::Active);
    let updates = cycles_of(&e, Metric::PeriodicUpdate);
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].started_at, hours(1));
    Ok(())
}

#[test]
fn a_conversation_reopened_by_a_status_change_runs_resolution_again() -> R {
    let cal = always("UTC");
    let m = utc(2024, 6, 3, 9, 0, 0);
    let hours = |n| m + chrono::TimeDelta::hours(n);
    let p = policy(Targets::none().resolution(calendar_hours(10)));
    let events = [
        customer(m),
        reply(hours(1)),
        Event::status(hours(2), Status::Solved),
        Event::status(hours(3), Status::Open),
        customer(hours(4)),
    ];
    let e = evaluate(&events, &p, std::slice::from_ref(&cal), hours(5), &opts())?;
    let resolution = cycles_of(&e, Metric::Resolution);
    assert_eq!(resolution.len(), 2);
    assert_eq!(resolution[0].fulfilled_at, Some(hours(2)));
    assert_eq!(resolution[1].started_at, hours(3));
    assert_eq!(resolution[1].state, CycleState::Active);
    assert_eq!(resolution[1].deadline, Some(hours(13)));
    // Reopened into a status that pauses the clock: the cycle starts paused, and the
    // customer's message at 14:00 starts it; 10 h from then.
    let events = [
        customer(m),
        Event::status(hours(2), Status::Solved),
        Event::status(hours(3), Status::WaitingOnCustomer),
        customer(hours(5)),
    ];
    let e = evaluate(&events, &p, std::slice::from_ref(&cal), hours(6), &opts())?;
    let resolution = cycles_of(&e, Metric::Resolution);
    assert_eq!(resolution.len(), 2);
    assert_eq!(resolution[1].started_at, hours(3));
    assert_eq!(resolution[1].deadline, Some(hours(15)));
    Ok(())
}

#[test]
fn negative_targets_built_from_the_variants_are_refused() -> R {
    let cal = always("UTC");
    let m = utc(2024, 6, 3, 9, 0, 0);
    let minus = Target::Calendar(TimeSpan::seconds(-3600));
    let e = Policy::new("p", Filter::any(), Targets::none().first_reply(minus)).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidInput { field: "target", .. }), "{e}");
    assert!(cal.deadline(m, minus).is_err());
    assert!(cal.deadline(m, Target::SameOrNextBusinessDay(TimeSpan::seconds(-5))).is_err());
    let p = policy(Targets::none().first_reply(calendar_hours(1)));
    let events =
        [customer(m), Event::new(m, EventKind::TargetsChange(Targets::none().first_reply(minus)))];
    let e = evaluate(&events, &p, std::slice::from_ref(&cal), m, &opts()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidRecord { index: 1, field: "targets", .. }), "{e}");
    assert!(policy(Targets::none())
        .cap(loyalty::sla::Cap::Elapsed(TimeSpan::seconds(-1)))
        .is_err());
    Ok(())
}

#[test]
fn calendar_time_deadlines_past_2100_are_an_error() -> R {
    let cal = always("UTC");
    let m = utc(2024, 11, 3, 6, 30, 0);
    let p = policy(Targets::none().first_reply(Target::calendar(TimeSpan::days(60_000)?)?));
    let e = evaluate(&[customer(m)], &p, std::slice::from_ref(&cal), m, &opts()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidInput { .. }), "{e}");
    // Just inside the range is fine.
    let p = policy(Targets::none().first_reply(Target::calendar(TimeSpan::days(27_000)?)?));
    let e = evaluate(&[customer(m)], &p, std::slice::from_ref(&cal), m, &opts())?;
    assert_eq!(
        e.current(Metric::FirstReply).unwrap().deadline,
        Some(m + chrono::TimeDelta::days(27_000))
    );
    Ok(())
}

#[test]
fn zero_calendar_days_from_a_fold_is_the_start() -> R {
    let cal = always("America/New_York");
    // 01:30 EST, the second pass through 01:30 on 2024-11-03.
    let t = utc(2024, 11, 3, 6, 30, 0);
    assert_eq!(cal.deadline(t, Target::calendar_days(0))?, t);
    assert_eq!(cal.deadline(t, Target::calendar_days(1))?, t + chrono::TimeDelta::hours(24));
    let p = policy(Targets::none()).cap(loyalty::sla::Cap::calendar_days(0))?;
    let e = evaluate(&[customer(t)], &p, std::slice::from_ref(&cal), t, &opts())?;
    let first = e.current(Metric::FirstReply).unwrap();
    assert_eq!(first.deadline, Some(t));
    assert_eq!(first.remaining, Some(TimeSpan::ZERO));
    assert!(!first.is_breached());
    Ok(())
}

#[test]
fn a_reply_delivered_twice_starts_one_periodic_update() -> R {
    let cal = always("UTC");
    let m = utc(2024, 6, 3, 9, 0, 0);
    let hours = |n| m + chrono::TimeDelta::hours(n);
    let p = policy(Targets::none().periodic_update(calendar_hours(24)));
    let e = evaluate(
        &[customer(m), reply(hours(1)), reply(hours(1))],
        &p,
        std::slice::from_ref(&cal),
        hours(2),
        &opts(),
    )?;
    let updates = cycles_of(&e, Metric::PeriodicUpdate);
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].state, CycleState::Active);
    // A reply a second later is a reply: it ends the cycle and starts the next.
    let e = evaluate(
        &[customer(m), reply(hours(1)), reply(hours(1) + chrono::TimeDelta::seconds(1))],
        &p,
        std::slice::from_ref(&cal),
        hours(2),
        &opts(),
    )?;
    assert_eq!(cycles_of(&e, Metric::PeriodicUpdate).len(), 2);
    Ok(())
}

#[test]
fn a_conversation_the_agent_started_measures_to_the_agents_next_reply() -> R {
    let cal = always("UTC");
    let m = utc(2024, 6, 3, 9, 0, 0);
    let minutes = |n| m + chrono::TimeDelta::minutes(n);
    let p = policy(Targets::none().first_reply(calendar_hours(2)).resolution(calendar_hours(48)));
    // Reference §2.1: an agent-created ticket's first reply timer ends at the agent's next
    // public comment; the customer's message in between does not start another cycle.
    let events = [reply(m), customer(minutes(30)), reply(minutes(90))];
    let e = evaluate(&events, &p, std::slice::from_ref(&cal), minutes(120), &opts())?;
    let first = e.current(Metric::FirstReply).unwrap();
    assert_eq!(first.started_at, m);
    assert_eq!(first.fulfilled_at, Some(minutes(90)));
    assert_eq!(cycles_of(&e, Metric::Resolution)[0].started_at, m);
    assert!(cycles_of(&e, Metric::NextReply).is_empty());
    // A bot greeting or an internal note before the customer writes is not measured.
    let events = [
        Event::new(m, EventKind::Message(MessageKind::Bot)),
        Event::new(minutes(5), EventKind::Message(MessageKind::InternalNote)),
        customer(minutes(60)),
    ];
    let e = evaluate(&events, &p, std::slice::from_ref(&cal), minutes(120), &opts())?;
    assert_eq!(e.current(Metric::FirstReply).unwrap().started_at, minutes(60));
    Ok(())
}

#[cfg(feature = "serde")]
#[test]
fn options_read_back_are_checked() {
    let warn: Result<EvaluateOptions, _> = serde_json::from_str(r#"{"warn_within":-100}"#);
    assert!(warn.unwrap_err().to_string().contains("must not be negative"));
    let triage: Result<TriageOptions, _> =
        serde_json::from_str(r#"{"urgent_within":-100,"priority_value":null}"#);
    assert!(triage.unwrap_err().to_string().contains("must not be negative"));
    let ok = TriageOptions::default().urgent_within(h(2)).unwrap().priority_value(dec!(100));
    let back: TriageOptions = serde_json::from_str(&serde_json::to_string(&ok).unwrap()).unwrap();
    assert_eq!(back, ok);
    let ok = EvaluateOptions::default().warn_within(m(30)).unwrap();
    let back: EvaluateOptions = serde_json::from_str(&serde_json::to_string(&ok).unwrap()).unwrap();
    assert_eq!(back, ok);
}
