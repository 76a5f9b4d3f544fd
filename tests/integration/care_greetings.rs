//! Issue 18 items 10 and 13: greetings on the customer's local date at the send time, and
//! the input builder and rule lookup.

use chrono::{NaiveDate, TimeZone, Utc};
use loyalty::care::{
    due, ActionKind, CareConfig, CareInput, Channel, Customer, CustomerId, FestivalCalendar,
    GreetingDay, QuietHoursPolicy, Timing, Trigger,
};

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
