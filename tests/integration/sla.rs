//! Reply SLA: calendar regression cases from `reply-sla.md` §9, policies, evaluation, triage.

use chrono::{DateTime, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use loyalty::sla::{Calendar, Shift, TimeSpan};
use loyalty::ErrorKind;

type R = Result<(), Box<dyn std::error::Error>>;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// A local wall time in `tz`; the earlier instant if ambiguous.
fn at(tz: Tz, y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    tz.with_ymd_and_hms(y, mo, d, h, mi, s).earliest().expect("wall time exists").with_timezone(&Utc)
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
    let cal = Calendar::builder("UTC").every_day(&[Shift::full_day()]).holiday(date(2024, 12, 25)).build()?;
    assert!(!cal.is_open(utc(2024, 12, 25, 23, 59, 59))?);
    assert!(cal.is_open(utc(2024, 12, 26, 0, 0, 0))?);
    assert_eq!(cal.between(utc(2024, 12, 24, 23, 0, 0), utc(2024, 12, 26, 1, 0, 0))?, h(2));
    Ok(())
}
