//! Issue 18 item 2 as a property: a calendar change after a reply does not touch the
//! fulfilled cycle. The rule "the rest is measured on the new calendar from the change"
//! is for open cycles only, so the fulfilled first-reply cycle of a conversation with a
//! later calendar change reports exactly what the same conversation without it reports.

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use loyalty::sla::{
    evaluate, Calendar, CycleReport, CycleState, EvaluateOptions, Event, EventKind, Filter, Metric,
    Policy, Shift, Target, Targets, TimeSpan,
};
use proptest::prelude::*;

fn s(sh: u32, sm: u32, eh: u32, em: u32) -> Shift {
    Shift::hm(sh, sm, eh, em).unwrap()
}

/// Named calendars in several zones: office hours, evenings only, split shifts with an
/// overnight Friday, holidays and an always-open desk.
fn calendars() -> Vec<Calendar> {
    let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    let office =
        Calendar::builder("Europe/Berlin").name("office").weekdays(&[s(9, 0, 17, 0)]).build();
    let evenings =
        Calendar::builder("Europe/Berlin").name("evenings").every_day(&[s(20, 0, 24, 0)]).build();
    let mut ny = Calendar::builder("America/New_York");
    ny.name("new york").weekdays(&[s(9, 0, 17, 0)]);
    for y in 2023..=2025 {
        ny.holiday(date(y, 7, 4)).holiday(date(y, 12, 25));
    }
    let mut syd = Calendar::builder("Australia/Sydney");
    syd.name("sydney")
        .weekdays(&[s(8, 0, 12, 0), s(13, 0, 17, 30)])
        .hours(chrono::Weekday::Fri, &[s(8, 0, 12, 0), s(22, 0, 6, 0)]);
    let shanghai = Calendar::builder("Asia/Shanghai")
        .name("shanghai")
        .weekdays(&[s(9, 0, 12, 0), s(13, 0, 18, 0)])
        .build();
    let always =
        Calendar::builder("Asia/Kolkata").name("always").every_day(&[Shift::full_day()]).build();
    vec![
        office.unwrap(),
        evenings.unwrap(),
        ny.build().unwrap(),
        syd.build().unwrap(),
        shanghai.unwrap(),
        always.unwrap(),
    ]
}

/// The first-reply cycle of message-then-reply on `calendars[first]`, with and without a
/// change to `calendars[then]` at `change`, evaluated at `now`.
fn both(
    first: usize,
    then: usize,
    target: Target,
    message: DateTime<Utc>,
    reply: DateTime<Utc>,
    change: DateTime<Utc>,
    now: DateTime<Utc>,
) -> (CycleReport, CycleReport) {
    let all = calendars();
    // The conversation starts on `calendars[0]`: put the first calendar there.
    let mut cals = vec![all[first].clone()];
    cals.extend(all.iter().enumerate().filter(|(i, _)| *i != first).map(|(_, c)| c.clone()));
    let policy = Policy::new("p", Filter::any(), Targets::none().first_reply(target)).unwrap();
    let events = [
        Event::customer_message(message),
        Event::agent_reply(reply),
        Event::new(change, EventKind::CalendarChange(all[then].name().to_owned())),
    ];
    let opts = EvaluateOptions::default();
    let report = |events: &[Event]| {
        evaluate(events, &policy, &cals, now, &opts)
            .unwrap()
            .current(Metric::FirstReply)
            .unwrap()
            .clone()
    };
    (report(&events), report(&events[..2]))
}

fn berlin(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Tz::Europe__Berlin.with_ymd_and_hms(y, mo, d, h, mi, 0).earliest().unwrap().with_timezone(&Utc)
}

#[test]
fn the_issue_case_office_to_evenings_after_a_ten_oclock_reply() {
    // Berlin Mon-Fri 09-17, four working hours from a 09:00 message, reply at 10:00, then
    // daily 20-24 from 11:00: the deadline stays 13:00 (it would be 23:00 measured on the
    // evenings calendar) and three hours remained at the reply.
    let target = Target::working(TimeSpan::hours(4).unwrap()).unwrap();
    let (changed, plain) = both(
        0,
        1,
        target,
        berlin(2024, 6, 17, 9, 0),
        berlin(2024, 6, 17, 10, 0),
        berlin(2024, 6, 17, 11, 0),
        berlin(2024, 6, 17, 23, 30),
    );
    assert_eq!(changed, plain);
    assert_eq!(changed.state, CycleState::Fulfilled);
    assert_eq!(changed.deadline, Some(berlin(2024, 6, 17, 13, 0)));
    assert_eq!(changed.fulfilled_at, Some(berlin(2024, 6, 17, 10, 0)));
    assert_eq!(changed.remaining, Some(TimeSpan::hours(3).unwrap()));
    assert_eq!(changed.breached_at, None);
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        (1i64..60).prop_map(|h| Target::working(TimeSpan::hours(h).unwrap()).unwrap()),
        (1i64..72).prop_map(|h| Target::calendar(TimeSpan::hours(h).unwrap()).unwrap()),
        (0u32..4).prop_map(Target::business_days),
        (0u32..3).prop_map(Target::calendar_days),
    ]
}

/// 2023-01-01 .. 2026-01-01, or within three days of a 2024 offset change of Berlin, New
/// York or Sydney.
fn start() -> impl Strategy<Value = DateTime<Utc>> {
    const CHANGES: [i64; 6] =
        [1_710_054_000, 1_730_613_600, 1_712_419_200, 1_728_144_000, 1_711_846_800, 1_729_990_800];
    prop_oneof![
        (1_672_531_200i64..1_767_225_600).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap()),
        (0usize..6, -3 * 86_400i64..3 * 86_400).prop_map(|(i, dt)| DateTime::from_timestamp(
            CHANGES[i] + dt,
            0
        )
        .unwrap()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_calendar_change_after_the_reply_leaves_the_fulfilled_cycle_as_it_was(
        first in 0usize..6,
        shift in 1usize..6,
        target in target(),
        message in start(),
        // Replies from a minute to ten days later: before and after the deadline.
        reply in 60i64..10 * 86_400,
        change in 1i64..5 * 86_400,
        now in 0i64..5 * 86_400,
    ) {
        let then = (first + shift) % 6;
        let reply = message + TimeDelta::seconds(reply);
        let change = reply + TimeDelta::seconds(change);
        let now = change + TimeDelta::seconds(now);
        let (changed, plain) = both(first, then, target, message, reply, change, now);
        prop_assert_eq!(changed.state, CycleState::Fulfilled);
        prop_assert_eq!(changed.fulfilled_at, Some(reply));
        prop_assert!(changed.deadline.is_some());
        prop_assert_eq!(&changed, &plain);
    }
}
