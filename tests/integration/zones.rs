//! Time-zone scanning shared by the oracle tests (SLA calendars, care quiet hours): the
//! instants a zone's offset changes and wall-clock readings of an instant.

use chrono::{DateTime, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

/// Zones with unusual offset changes and a year in which each changes its offset (2021 for
/// Tehran, 2018 for São Paulo, 2011 for Samoa): the quiet-hour and greeting oracles' zones.
pub const ZONE_YEARS: [(&str, i32); 10] = [
    ("Europe/Berlin", 2026),
    ("America/New_York", 2026),
    ("Africa/Casablanca", 2026),
    ("Antarctica/Troll", 2026),
    ("Pacific/Chatham", 2026),
    ("Australia/Lord_Howe", 2026),
    ("America/St_Johns", 2026),
    ("Asia/Tehran", 2021),
    ("America/Sao_Paulo", 2018),
    ("Pacific/Apia", 2011),
];

/// The UTC offset of `tz` at the Unix second `u`, in seconds.
pub fn offset(tz: Tz, u: i64) -> i32 {
    tz.offset_from_utc_datetime(&DateTime::from_timestamp(u, 0).unwrap().naive_utc())
        .fix()
        .local_minus_utc()
}

/// The instants of the offset changes of `tz` during `year`, to the minute: the first
/// minute on the new offset.
pub fn transitions(tz: Tz, year: i32) -> Vec<i64> {
    let start = Utc.with_ymd_and_hms(year, 1, 1, 0, 0, 0).unwrap().timestamp();
    let end = Utc.with_ymd_and_hms(year + 1, 1, 1, 0, 0, 0).unwrap().timestamp();
    let mut out = Vec::new();
    let mut u = start;
    while u < end {
        if offset(tz, u) != offset(tz, u + 3600) {
            let mut m = u;
            while offset(tz, m) == offset(tz, u) {
                m += 60;
            }
            out.push(m);
        }
        u += 3600;
    }
    out
}

/// The wall clock of `tz` at the Unix second `u`.
pub fn local(tz: Tz, u: i64) -> NaiveDateTime {
    DateTime::from_timestamp(u, 0).unwrap().with_timezone(&tz).naive_local()
}

/// The local time of day of `tz` at the Unix second `u`.
pub fn local_time(tz: Tz, u: i64) -> NaiveTime {
    local(tz, u).time()
}

#[test]
fn transitions_are_found_to_the_minute() {
    // Berlin 2024: 31 March 01:00 UTC (spring forward), 27 October 01:00 UTC (fall back).
    let berlin: Tz = "Europe/Berlin".parse().unwrap();
    let want = [
        Utc.with_ymd_and_hms(2024, 3, 31, 1, 0, 0).unwrap().timestamp(),
        Utc.with_ymd_and_hms(2024, 10, 27, 1, 0, 0).unwrap().timestamp(),
    ];
    assert_eq!(transitions(berlin, 2024), want);
    // Lord Howe moves by half an hour, at 02:00 local (15:00 UTC) on 2024-04-06.
    let lh: Tz = "Australia/Lord_Howe".parse().unwrap();
    let ts = transitions(lh, 2024);
    assert_eq!(ts[0], Utc.with_ymd_and_hms(2024, 4, 6, 15, 0, 0).unwrap().timestamp());
    assert_eq!(offset(lh, ts[0] - 60) - offset(lh, ts[0]), 1800);
    assert_eq!(local_time(lh, ts[0]), NaiveTime::from_hms_opt(1, 30, 0).unwrap());
}
