//! Issue 18 items 2, 3, 5, 6 and 7: what the seller's promise implies for evaluation,
//! targets and triage.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use loyalty::sla::{
    evaluate, triage, Calendar, CustomerKind, CycleState, EvaluateOptions, Event, EventKind,
    Filter, Metric, Policy, Shift, Status, Target, Targets, TimeSpan, TriageItem, TriageOptions,
};
use loyalty::ErrorKind;
use rust_decimal::Decimal;

type R = Result<(), Box<dyn std::error::Error>>;

fn berlin(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Tz::Europe__Berlin.with_ymd_and_hms(y, mo, d, h, mi, 0).earliest().unwrap().with_timezone(&Utc)
}

fn office() -> Calendar {
    Calendar::builder("Europe/Berlin")
        .name("office")
        .weekdays(&[Shift::hm(9, 0, 17, 0).unwrap()])
        .build()
        .unwrap()
}

fn opts() -> EvaluateOptions {
    EvaluateOptions::default()
}

#[test]
fn a_fulfilled_cycle_is_frozen_by_a_later_calendar_change() -> R {
    let evenings = Calendar::builder("Europe/Berlin")
        .name("evenings")
        .every_day(&[Shift::hm(20, 0, 24, 0)?])
        .build()?;
    let p = Policy::new(
        "p",
        Filter::any(),
        Targets::none().first_reply(Target::working(TimeSpan::hours(4)?)?),
    )?;
    let events = [
        Event::customer_message(berlin(2024, 6, 17, 9, 0)),
        Event::agent_reply(berlin(2024, 6, 17, 10, 0)),
        Event::new(berlin(2024, 6, 17, 11, 0), EventKind::CalendarChange("evenings".into())),
    ];
    let e = evaluate(&events, &p, &[office(), evenings], berlin(2024, 6, 17, 12, 0), &opts())?;
    let first = e.current(Metric::FirstReply).unwrap();
    assert_eq!(first.state, CycleState::Fulfilled);
    assert_eq!(first.deadline, Some(berlin(2024, 6, 17, 13, 0)));
    assert_eq!(first.remaining, Some(TimeSpan::hours(3)?));
    Ok(())
}

#[test]
fn calendars_are_named_and_names_are_checked() -> R {
    let p = Policy::new("p", Filter::any(), Targets::none())?;
    let events = [
        Event::customer_message(berlin(2024, 6, 17, 9, 0)),
        Event::new(berlin(2024, 6, 17, 11, 0), EventKind::CalendarChange("night".into())),
    ];
    let err = evaluate(&events, &p, &[office()], berlin(2024, 6, 17, 12, 0), &opts()).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidRecord { index: 1, .. }), "{err}");
    let err =
        evaluate(&events[..1], &p, &[office(), office()], berlin(2024, 6, 17, 12, 0), &opts())
            .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidInput { .. }), "{err}");
    Ok(())
}

#[test]
fn the_cap_bounds_a_manual_due_date_and_a_policy_without_targets() -> R {
    let start = berlin(2024, 6, 17, 9, 0);
    let three_days = start + chrono::TimeDelta::days(3);
    // A due date five days out under a three-day cap.
    let p = Policy::new(
        "p",
        Filter::any(),
        Targets::none().resolution(Target::working(TimeSpan::hours(8)?)?),
    )?
    .cap(TimeSpan::days(3)?)?;
    let events = [
        Event::customer_message(start),
        Event::new(
            berlin(2024, 6, 17, 10, 0),
            EventKind::DueDate {
                metric: Metric::Resolution,
                due: start + chrono::TimeDelta::days(5),
            },
        ),
    ];
    let e = evaluate(&events, &p, &[office()], berlin(2024, 6, 17, 11, 0), &opts())?;
    assert_eq!(e.current(Metric::Resolution).unwrap().deadline, Some(three_days));
    // A cap and no targets at all: due at the cap, breached after it.
    let p = Policy::new("cap only", Filter::any(), Targets::none())?.cap(TimeSpan::days(3)?)?;
    let now = three_days + chrono::TimeDelta::hours(1);
    let e = evaluate(&events[..1], &p, &[office()], now, &opts())?;
    let first = e.current(Metric::FirstReply).unwrap();
    assert_eq!(first.deadline, Some(three_days));
    assert_eq!(first.breached_at, Some(three_days));
    Ok(())
}

#[test]
fn three_calendar_days_versus_72_hours_across_dst() -> R {
    // Friday 2024-03-29 10:00 CET; Berlin springs forward on Sunday the 31st.
    let start = berlin(2024, 3, 29, 10, 0);
    let cal = office();
    assert_eq!(cal.deadline(start, Target::calendar_days(3))?, berlin(2024, 4, 1, 10, 0));
    assert_eq!(berlin(2024, 4, 1, 10, 0) - start, chrono::TimeDelta::hours(71));
    let hours = Target::calendar(TimeSpan::days(3)?)?;
    assert_eq!(cal.deadline(start, hours)?, berlin(2024, 4, 1, 11, 0));
    Ok(())
}

#[test]
fn same_or_next_business_day_gives_a_late_message_a_day() -> R {
    let cal = office();
    let t = Target::same_or_next_business_day(TimeSpan::hours(2)?)?;
    // 16:59 on Monday: one minute left today, so Tuesday's close.
    assert_eq!(cal.deadline(berlin(2024, 6, 17, 16, 59), t)?, berlin(2024, 6, 18, 17, 0));
    assert_eq!(
        cal.deadline(berlin(2024, 6, 17, 16, 59), Target::business_days(0))?,
        berlin(2024, 6, 17, 17, 0)
    );
    // 10:00: seven hours left, today's close.
    assert_eq!(cal.deadline(berlin(2024, 6, 17, 10, 0), t)?, berlin(2024, 6, 17, 17, 0));
    // In an evaluation it is working time from the start, like BusinessDays.
    let p = Policy::new("p", Filter::any(), Targets::none().first_reply(t))?;
    let events = [Event::customer_message(berlin(2024, 6, 17, 16, 59))];
    let e = evaluate(&events, &p, &[cal], berlin(2024, 6, 17, 17, 30), &opts())?;
    assert_eq!(e.current(Metric::FirstReply).unwrap().deadline, Some(berlin(2024, 6, 18, 17, 0)));
    Ok(())
}

#[test]
fn a_periodic_cycle_started_while_waiting_on_the_customer_starts_paused() -> R {
    let p = Policy::new(
        "p",
        Filter::any(),
        Targets::none().periodic_update(Target::working(TimeSpan::hours(4)?)?),
    )?
    .pause_on(&[Status::WaitingOnCustomer])?;
    let events = [
        Event::customer_message(berlin(2024, 6, 17, 9, 0)),
        Event::status(berlin(2024, 6, 17, 9, 30), Status::WaitingOnCustomer),
        Event::agent_reply(berlin(2024, 6, 17, 10, 0)),
    ];
    let e = evaluate(&events, &p, &[office()], berlin(2024, 6, 17, 16, 0), &opts())?;
    let periodic = e.current(Metric::PeriodicUpdate).unwrap();
    assert_eq!(periodic.state, CycleState::Paused);
    assert!(!periodic.is_breached());
    Ok(())
}

#[test]
fn triage_answers_returning_customers_first_within_the_urgency_band() {
    // The sla example's case: a new customer worth 300 due at 14:00 and a returning one
    // worth 2 400 due at 16:00 the same day.
    let now = berlin(2024, 6, 17, 12, 0);
    let items = [
        TriageItem::new(
            "new",
            Some(berlin(2024, 6, 17, 14, 0)),
            CustomerKind::New,
            Decimal::from(300),
        ),
        TriageItem::new(
            "returning",
            Some(berlin(2024, 6, 17, 16, 0)),
            CustomerKind::Returning,
            Decimal::from(2400),
        ),
        TriageItem::new(
            "breached",
            Some(berlin(2024, 6, 17, 11, 0)),
            CustomerKind::New,
            Decimal::ONE,
        ),
        TriageItem::new(
            "returning, next week",
            Some(berlin(2024, 6, 24, 9, 0)),
            CustomerKind::Returning,
            Decimal::from(9000),
        ),
        TriageItem::new(
            "rich",
            Some(berlin(2024, 6, 17, 15, 0)),
            CustomerKind::New,
            Decimal::from(5000),
        ),
    ];
    assert_eq!(triage(&items, now, &TriageOptions::default()), vec![2, 1, 0, 4, 3]);
    // A host-set value makes high-value new customers priority customers too.
    let by_value = TriageOptions::default().priority_value(Decimal::from(1000));
    assert_eq!(triage(&items, now, &by_value), vec![2, 4, 1, 0, 3]);
    // A two-hour band: only "new" (due in 2 h) is urgent.
    let narrow = TriageOptions::default().urgent_within(TimeSpan::hours(2).unwrap()).unwrap();
    assert_eq!(triage(&items, now, &narrow), vec![2, 0, 4, 1, 3]);
}

/// Item 5: the cap in calendar days as well as elapsed hours, across both DST changes.
#[test]
fn a_cap_of_three_calendar_days_versus_72_hours_across_dst() -> R {
    use loyalty::sla::Cap;
    // (cycle start, what 72 elapsed hours end at, what three calendar days end at), Berlin.
    let cases = [
        // Spring forward on Sun 2024-03-31: three dates later is 71 elapsed hours.
        (berlin(2024, 3, 29, 10, 0), berlin(2024, 4, 1, 11, 0), berlin(2024, 4, 1, 10, 0)),
        // Fall back on Sun 2024-10-27: three dates later is 73 elapsed hours.
        (berlin(2024, 10, 26, 10, 0), berlin(2024, 10, 29, 9, 0), berlin(2024, 10, 29, 10, 0)),
        // No change in between: both readings agree.
        (berlin(2024, 6, 17, 9, 0), berlin(2024, 6, 20, 9, 0), berlin(2024, 6, 20, 9, 0)),
    ];
    for (start, elapsed_end, days_end) in cases {
        assert_eq!(elapsed_end - start, chrono::TimeDelta::hours(72));
        for (cap, end) in [
            (Cap::from(TimeSpan::days(3)?), elapsed_end),
            (Cap::elapsed(TimeSpan::hours(72)?)?, elapsed_end),
            (Cap::calendar_days(3), days_end),
        ] {
            // A cap alone (no target): due at the cap, breached one second after it.
            let p = Policy::new("cap only", Filter::any(), Targets::none())?.cap(cap)?;
            assert_eq!(p.cap_bound(), Some(cap));
            let events = [Event::customer_message(start)];
            let on_time = evaluate(&events, &p, &[office()], end, &opts())?;
            let first = on_time.current(Metric::FirstReply).unwrap();
            assert_eq!(first.deadline, Some(end), "{cap:?} from {start}");
            assert_eq!(first.breached_at, None);
            let late = end + chrono::TimeDelta::seconds(1);
            let e = evaluate(&events, &p, &[office()], late, &opts())?;
            assert_eq!(e.current(Metric::FirstReply).unwrap().breached_at, Some(end));
            // The cap bounds a ten-business-day target and a manual due date alike.
            let p = Policy::new(
                "capped",
                Filter::any(),
                Targets::none().resolution(Target::business_days(10)),
            )?
            .cap(cap)?;
            let e = evaluate(&events, &p, &[office()], start, &opts())?;
            assert_eq!(e.current(Metric::Resolution).unwrap().deadline, Some(end));
        }
    }
    // A pause does not move a calendar-day cap either (it is an absolute bound).
    let start = berlin(2024, 10, 26, 10, 0);
    let p = Policy::new(
        "p",
        Filter::any(),
        Targets::none().resolution(Target::calendar(TimeSpan::days(2)?)?),
    )?
    .cap(Cap::calendar_days(3))?;
    let events = [
        Event::customer_message(start),
        Event::new(berlin(2024, 10, 26, 11, 0), EventKind::Status(Status::WaitingOnCustomer)),
    ];
    let e = evaluate(&events, &p, &[office()], berlin(2024, 10, 28, 10, 0), &opts())?;
    let res = e.current(Metric::Resolution).unwrap();
    assert_eq!(res.state, CycleState::Paused);
    assert_eq!(res.deadline, Some(berlin(2024, 10, 29, 10, 0)));
    Ok(())
}

/// The cap is fixed on the calendar in force at the cycle start: a later change of calendar
/// (another zone) does not move it.
#[test]
fn a_calendar_day_cap_is_fixed_at_the_cycle_start() -> R {
    use loyalty::sla::Cap;
    let sydney = Calendar::builder("Australia/Sydney")
        .name("sydney")
        .weekdays(&[Shift::hm(9, 0, 17, 0)?])
        .build()?;
    // Sydney leaves DST on Sun 2024-04-07 (03:00 -> 02:00); Berlin changed on 03-31.
    let start = berlin(2024, 4, 5, 10, 0);
    let p = Policy::new("p", Filter::any(), Targets::none())?.cap(Cap::calendar_days(3))?;
    let events = [
        Event::customer_message(start),
        Event::new(berlin(2024, 4, 5, 12, 0), EventKind::CalendarChange("sydney".into())),
    ];
    let e = evaluate(&events, &p, &[office(), sydney], berlin(2024, 4, 6, 10, 0), &opts())?;
    assert_eq!(e.current(Metric::FirstReply).unwrap().deadline, Some(berlin(2024, 4, 8, 10, 0)));
    Ok(())
}
