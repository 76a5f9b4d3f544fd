//! Quiet hours against a minute-by-minute oracle on the nights clocks change (issue 18
//! item 8): `next_allowed(now)` is the first minute at or after `now` whose local time is
//! outside the window, for every quarter hour from 18 hours before to 18 hours after each
//! offset change of 2026 (2021 for Tehran, 2018 for São Paulo, 2011 for Samoa), in zones
//! with changes at 02:00, at midnight, by half an hour, by two hours and at odd minutes.

use chrono::{DateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use loyalty::care::QuietHours;

use super::zones::{local_time, transitions, ZONE_YEARS};

#[test]
fn send_at_is_never_before_now_nor_inside_the_window() {
    let hm = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
    let windows = [
        (hm(22, 0), hm(2, 30)),
        (hm(22, 0), hm(1, 30)),
        (hm(22, 0), hm(1, 0)),
        (hm(21, 0), hm(9, 0)),
        (hm(23, 30), hm(1, 0)),
        (hm(1, 0), hm(3, 0)),
        (hm(2, 0), hm(2, 30)),
        (hm(0, 0), hm(1, 0)),
        (hm(23, 0), hm(0, 0)),
    ];
    let mut checked = 0;
    for (zone, year) in ZONE_YEARS {
        let tz: Tz = zone.parse().unwrap();
        let ts = transitions(tz, year);
        assert!(ts.len() >= 2, "{zone}: {} changes", ts.len());
        for tau in ts {
            let tau = tau - tau.rem_euclid(900);
            let w0 = tau - 18 * 3600;
            // Minutes far enough ahead that every window has ended at least once.
            let n = (60 * 60) as usize;
            let times: Vec<NaiveTime> =
                (0..n).map(|i| local_time(tz, w0 + 60 * i as i64)).collect();
            for (start, end) in windows {
                let q = QuietHours::new(start, end).unwrap();
                let mut next = vec![None; n + 1];
                for i in (0..n).rev() {
                    next[i] = if q.contains(times[i]) { next[i + 1] } else { Some(i) };
                }
                for k in 0..(36 * 4) {
                    let i = 15 * k;
                    let now = DateTime::from_timestamp(w0 + 60 * i as i64, 0).unwrap();
                    let want = next[i].expect("the window ends within two days");
                    let want = DateTime::from_timestamp(w0 + 60 * want as i64, 0).unwrap();
                    let got = q.next_allowed(now, tz).unwrap();
                    assert_eq!(
                        got,
                        want,
                        "{zone} {start}-{end} at {now} ({})",
                        now.with_timezone(&tz)
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 20_000, "{checked}");
}

#[test]
fn berlin_second_pass_is_not_sent_in_the_past() {
    // The case: 2026-10-25 01:10 UTC is 02:10 CET, the second 02:10 of the night.
    let tz: Tz = "Europe/Berlin".parse().unwrap();
    let q = QuietHours::new(
        NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
        NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
    )
    .unwrap();
    let now = Utc.with_ymd_and_hms(2026, 10, 25, 1, 10, 0).unwrap();
    assert_eq!(
        q.next_allowed(now, tz).unwrap(),
        Utc.with_ymd_and_hms(2026, 10, 25, 1, 30, 0).unwrap()
    );
}
