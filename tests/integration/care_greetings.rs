//! Issue 18 items 10 and 13: greetings on the customer's local date at the send time, and
//! the input builder and rule lookup.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use loyalty::care::{
    due, ActionKind, Birthday, CareConfig, CareInput, Channel, Customer, CustomerId,
    FestivalCalendar, GreetingDay, QuietHours, QuietHoursPolicy, Timing, Trigger,
};
use proptest::prelude::*;

use super::zones::{transitions, ZONE_YEARS};

fn la(id: u64) -> Customer {
    Customer::new(CustomerId(id), "America/Los_Angeles")
        .unwrap()
        .market("US")
        .consent(Channel::Email)
}

fn christmas() -> FestivalCalendar {
    let mut cal = FestivalCalendar::new();
    cal.add("US", "Christmas", "12-25").unwrap();
    cal
}

#[test]
fn a_late_evening_run_greets_on_the_day_not_the_day_after() {
    let customers = [la(1)];
    let cal = christmas();
    let input = CareInput::new(&customers).calendar(&cal);
    let cfg = CareConfig::default();
    // A shop in Shanghai runs at 15:00 local on the 25th: 07:00 UTC, 23:00 on the 24th in LA
    // (quiet until 09:00).
    let eve = Utc.with_ymd_and_hms(2026, 12, 25, 7, 0, 0).unwrap();
    let plan = due(eve, &cfg, &input).unwrap();
    assert_eq!(plan.actions.len(), 1, "{plan:?}");
    let a = &plan.actions[0];
    assert_eq!(a.kind, ActionKind::Festival);
    assert_eq!(a.timing, Timing::Deferred);
    // 09:00 PST on the 25th.
    assert_eq!(a.send_at, Utc.with_ymd_and_hms(2026, 12, 25, 17, 0, 0).unwrap());
    let christmas_day = NaiveDate::from_ymd_opt(2026, 12, 25).unwrap();
    assert!(
        matches!(&a.trigger, Trigger::Festival { local_date, .. } if *local_date == christmas_day)
    );
    // The next day's run (23:00 on the 25th in LA) would send on the 26th: nothing.
    let day = Utc.with_ymd_and_hms(2026, 12, 26, 7, 0, 0).unwrap();
    assert!(due(day, &cfg, &input).unwrap().actions.is_empty());
    // Judged on the run date (the old reading), the greeting lands on the 26th.
    let mut run_date = CareConfig::default();
    run_date.pressure.greeting_day = GreetingDay::RunDate;
    let plan = due(day, &run_date, &input).unwrap();
    assert_eq!(plan.actions.len(), 1);
    assert_eq!(plan.actions[0].send_at, Utc.with_ymd_and_hms(2026, 12, 26, 17, 0, 0).unwrap());
    // Under Hold the greeting is held until 09:00 on the day, not lost.
    let mut hold = CareConfig::default();
    hold.pressure.quiet_policy = QuietHoursPolicy::Hold;
    let plan = due(eve, &hold, &input).unwrap();
    assert_eq!(plan.held.len(), 1);
    assert_eq!(plan.held[0].kind, ActionKind::Festival);
}

#[test]
fn birthdays_follow_the_send_date_too() {
    let customers = [la(1).birthday("1990-12-25".parse().unwrap())];
    let input = CareInput::new(&customers);
    let eve = Utc.with_ymd_and_hms(2026, 12, 25, 7, 0, 0).unwrap();
    let plan = due(eve, &CareConfig::default(), &input).unwrap();
    assert_eq!(plan.actions.iter().map(|a| a.kind).collect::<Vec<_>>(), [ActionKind::Birthday]);
    let a = &plan.actions[0];
    // 23:00 on the 24th in LA, quiet until 09:00: sent at 09:00 PST on the birthday.
    assert_eq!(a.timing, Timing::Deferred);
    assert_eq!(a.send_at, Utc.with_ymd_and_hms(2026, 12, 25, 17, 0, 0).unwrap());
    let birthday = NaiveDate::from_ymd_opt(2026, 12, 25).unwrap();
    assert_eq!(a.send_at.with_timezone(&chrono_tz::America::Los_Angeles).date_naive(), birthday);
    assert!(
        matches!(&a.trigger, Trigger::Birthday { local_date, .. } if *local_date == birthday),
        "{:?}",
        a.trigger
    );
    // The next evening's run would greet on the 26th: nothing.
    let day = Utc.with_ymd_and_hms(2026, 12, 26, 7, 0, 0).unwrap();
    assert!(due(day, &CareConfig::default(), &input).unwrap().actions.is_empty());
}

#[test]
fn the_input_builder_defaults_to_nothing_and_rules_are_looked_up_by_kind() {
    let customers = [la(1)];
    let input = CareInput::new(&customers);
    assert!(input.orders.is_empty() && input.contacts.is_empty() && input.promotions.is_empty());
    let cfg = CareConfig::default();
    assert_eq!(cfg.base(ActionKind::Birthday), &cfg.birthday.base);
    assert_eq!(cfg.base(ActionKind::ReviewRequest).priority, cfg.review.base.priority);
}

// ---------------------------------------------------------------- property

/// The zones of the quiet-hour oracle, and Los Angeles (the customer), each with a
/// year of offset changes.
fn zone_year(i: usize) -> (&'static str, i32) {
    ZONE_YEARS.get(i).copied().unwrap_or(("America/Los_Angeles", 2026))
}

/// Quiet windows (start, end); `None` in the strategy means no quiet hours.
const WINDOWS: [(u32, u32, u32, u32); 6] =
    [(22, 0, 2, 30), (21, 0, 9, 0), (23, 30, 1, 0), (0, 0, 1, 0), (23, 0, 0, 0), (20, 0, 8, 0)];

/// Runs `due` with `OnTheDay` for one customer in `zone` whose birthday (or market
/// festival) is `occasion`, and checks the greeting against an oracle: it is due exactly
/// when the customer's local date at the send time (`now`, or the end of the quiet window
/// through `QuietHours::next_allowed`) is the occasion, and then goes at that time.
fn check_greeting(
    zone: &str,
    now: DateTime<Utc>,
    occasion: NaiveDate,
    festival: bool,
    quiet: Option<QuietHours>,
) -> Option<DateTime<Utc>> {
    let tz: Tz = zone.parse().unwrap();
    let mut customer =
        Customer::new(CustomerId(1), zone).unwrap().market("M").consent(Channel::Email);
    let mut cal = FestivalCalendar::new();
    if festival {
        cal.add("M", "Fest", &format!("{:02}-{:02}", occasion.month(), occasion.day())).unwrap();
    } else {
        customer =
            customer.birthday(Birthday::month_day(occasion.month(), occasion.day()).unwrap());
    }
    let customers = [customer];
    let input = CareInput::new(&customers).calendar(&cal);
    let mut cfg = CareConfig::default();
    cfg.pressure.quiet_hours = quiet;
    cfg.pressure.quiet_policy = QuietHoursPolicy::Defer;
    cfg.pressure.greeting_day = GreetingDay::OnTheDay;
    let plan = due(now, &cfg, &input).unwrap();
    let kind = if festival { ActionKind::Festival } else { ActionKind::Birthday };
    let greetings: Vec<_> = plan.actions.iter().filter(|a| a.kind == kind).collect();
    let send = match quiet {
        Some(q) => q.next_allowed(now, tz).unwrap(),
        None => now,
    };
    let expected = send.with_timezone(&tz).date_naive() == occasion;
    assert_eq!(greetings.len(), usize::from(expected), "{zone} {now} {occasion}: {plan:?}");
    let a = greetings.first()?;
    assert!(a.send_at >= now, "{zone} {now}: sent at {} before now", a.send_at);
    assert_eq!(a.send_at, send, "{zone} {now} {occasion}");
    assert_eq!(a.send_at.with_timezone(&tz).date_naive(), occasion, "{zone} {now}");
    assert_eq!(a.timing == Timing::Deferred, send != now);
    let on = match &a.trigger {
        Trigger::Birthday { local_date, .. } | Trigger::Festival { local_date, .. } => *local_date,
        other => panic!("unexpected trigger {other:?}"),
    };
    assert_eq!(on, occasion);
    Some(a.send_at)
}

#[test]
fn the_shanghai_afternoon_run_greets_los_angeles_on_christmas_day() {
    let christmas = NaiveDate::from_ymd_opt(2026, 12, 25).unwrap();
    // 15:00 in Shanghai on the 25th is 23:00 on the 24th in Los Angeles.
    let run = Utc.with_ymd_and_hms(2026, 12, 25, 7, 0, 0).unwrap();
    let quiet = CareConfig::default().pressure.quiet_hours;
    let nine_am = Some(Utc.with_ymd_and_hms(2026, 12, 25, 17, 0, 0).unwrap());
    assert_eq!(check_greeting("America/Los_Angeles", run, christmas, true, quiet), nine_am);
    assert_eq!(check_greeting("America/Los_Angeles", run, christmas, false, quiet), nine_am);
    // The same run a day later finds the 25th over by the send time.
    let late = run + TimeDelta::days(1);
    assert_eq!(check_greeting("America/Los_Angeles", late, christmas, true, quiet), None);
}

fn instant() -> impl Strategy<Value = (usize, DateTime<Utc>)> {
    (0..=ZONE_YEARS.len(), any::<bool>(), 0.0f64..1.0, -2 * 86_400i64..2 * 86_400).prop_map(
        |(z, near, x, dt)| {
            let (zone, year) = zone_year(z);
            let start = Utc.with_ymd_and_hms(year, 1, 1, 0, 0, 0).unwrap().timestamp();
            let changes = transitions(zone.parse().unwrap(), year);
            let u = if near && !changes.is_empty() {
                // Within two days of one of the year's offset changes.
                changes[(x * changes.len() as f64) as usize % changes.len()] + dt
            } else {
                start + (x * 365.0 * 86_400.0) as i64
            };
            (z, DateTime::from_timestamp(u, 0).unwrap())
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn an_on_the_day_greeting_is_sent_on_its_date_in_the_customers_zone(
        (z, now) in instant(),
        days in -1i64..=2,
        festival in any::<bool>(),
        window in proptest::option::of(0..WINDOWS.len()),
    ) {
        let (zone, _) = zone_year(z);
        let tz: Tz = zone.parse().unwrap();
        let occasion = now.with_timezone(&tz).date_naive() + TimeDelta::days(days);
        // Birthdays on 29 February are observed on another date in other years.
        prop_assume!(!(occasion.month() == 2 && occasion.day() == 29));
        let quiet = window.map(|w| {
            let (sh, sm, eh, em) = WINDOWS[w];
            let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
            QuietHours::new(t(sh, sm), t(eh, em)).unwrap()
        });
        check_greeting(zone, now, occasion, festival, quiet);
    }
}
