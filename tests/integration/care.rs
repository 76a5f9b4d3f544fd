//! Integration tests for `loyalty::care`.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use loyalty::care::{
    due, Action, ActionKind, Birthday, CareConfig, CareInput, CarePlan, Channel, CheckInDelay,
    Contact, ContactCap, Customer, CustomerId, FestivalCalendar, FestivalDate, HoldReason,
    IntervalSource, LeapDayPolicy, Order, Promotion, QuietHours, QuietHoursPolicy, ReasonCode,
    Switch, Timing, Trigger,
};
use loyalty::{Currency, ErrorKind, Money};
use proptest::prelude::*;
use rust_decimal::dec;

fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, dd).unwrap()
}

fn utc(y: i32, m: u32, dd: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, dd, h, mi, 0).unwrap()
}

fn cust(id: u64, tz: &str) -> Customer {
    Customer::new(CustomerId(id), tz).unwrap().consent(Channel::Email).language("en")
}

/// No quiet hours, a generous cap: tests of single rules see every candidate.
fn open_config() -> CareConfig {
    let mut c = CareConfig::default();
    c.pressure.quiet_hours = None;
    c.pressure.cap = ContactCap { max_contacts: 10, period_days: 7 };
    c
}

struct World {
    customers: Vec<Customer>,
    orders: Vec<Order>,
    contacts: Vec<Contact>,
    promotions: Vec<Promotion>,
    calendar: FestivalCalendar,
}

impl World {
    fn new(customers: Vec<Customer>) -> World {
        World {
            customers,
            orders: vec![],
            contacts: vec![],
            promotions: vec![],
            calendar: FestivalCalendar::new(),
        }
    }

    fn due(&self, now: DateTime<Utc>, cfg: &CareConfig) -> CarePlan {
        self.try_due(now, cfg).unwrap()
    }

    fn try_due(&self, now: DateTime<Utc>, cfg: &CareConfig) -> loyalty::Result<CarePlan> {
        due(
            now,
            cfg,
            &CareInput {
                customers: &self.customers,
                orders: &self.orders,
                contacts: &self.contacts,
                promotions: &self.promotions,
                calendar: &self.calendar,
            },
        )
    }
}

fn kinds_of(plan: &CarePlan, id: u64) -> Vec<ActionKind> {
    plan.actions.iter().filter(|a| a.customer == CustomerId(id)).map(|a| a.kind).collect()
}

// ---------------------------------------------------------------- time zones and dates

#[test]
fn birthday_follows_local_date_across_the_date_line() {
    // 2026-07-01 20:00 UTC is 10:00 on 2 July in Kiritimati (UTC+14) and 09:00 on 1 July in
    // Pago Pago (UTC-11): 25 hours apart, on different calendar days.
    let b: Birthday = "07-02".parse().unwrap();
    let w = World::new(vec![
        cust(1, "Pacific/Kiritimati").birthday(b),
        cust(2, "Pacific/Pago_Pago").birthday(b),
    ]);
    let cfg = open_config();
    let plan = w.due(utc(2026, 7, 1, 20, 0), &cfg);
    assert_eq!(kinds_of(&plan, 1), [ActionKind::Birthday]);
    assert!(kinds_of(&plan, 2).is_empty());
    let a = &plan.actions[0];
    assert_eq!(a.local_date, d(2026, 7, 2));
    assert_eq!(a.trigger, Trigger::Birthday { birthday: b, local_date: d(2026, 7, 2) });

    // 24 hours later it is 3 July in Kiritimati and 2 July in Pago Pago.
    let plan = w.due(utc(2026, 7, 2, 20, 0), &cfg);
    assert!(kinds_of(&plan, 1).is_empty());
    assert_eq!(kinds_of(&plan, 2), [ActionKind::Birthday]);
    assert_eq!(plan.actions[0].local_date, d(2026, 7, 2));
}

#[test]
fn festival_goes_by_market_and_local_date() {
    let mut w = World::new(vec![
        cust(1, "Europe/Berlin").market("DE"),
        cust(2, "America/Los_Angeles").market("DE"),
        cust(3, "Europe/Berlin").market("FR"),
    ]);
    w.calendar.add("DE", "Weihnachten", "12-25").unwrap();
    w.calendar.add("FR", "Fête nationale", "07-14").unwrap();
    // 2026-12-25 07:00 UTC: 08:00 on the 25th in Berlin, 23:00 on the 24th in Los Angeles.
    let plan = w.due(utc(2026, 12, 25, 7, 0), &open_config());
    assert_eq!(kinds_of(&plan, 1), [ActionKind::Festival]);
    assert!(kinds_of(&plan, 2).is_empty(), "still Christmas Eve in LA");
    assert!(kinds_of(&plan, 3).is_empty(), "not a French festival");
    match &plan.actions[0].trigger {
        Trigger::Festival { market, festival, local_date } => {
            assert_eq!((market.as_str(), festival.as_str()), ("DE", "Weihnachten"));
            assert_eq!(*local_date, d(2026, 12, 25));
        }
        t => panic!("unexpected {t:?}"),
    }
    // Explicit per-year dates: Tết 2027 falls on 6 February.
    w.calendar.add("VN", "Tết", "2026-02-17,2027-02-06").unwrap();
    let vn = World { customers: vec![cust(4, "Asia/Ho_Chi_Minh").market("VN")], ..w };
    assert_eq!(kinds_of(&vn.due(utc(2027, 2, 6, 3, 0), &open_config()), 4), [ActionKind::Festival]);
    assert!(vn.due(utc(2028, 2, 6, 3, 0), &open_config()).actions.is_empty());
}

#[test]
fn leap_day_birthdays_in_leap_and_non_leap_years() {
    let b: Birthday = "1996-02-29".parse().unwrap();
    let w = World::new(vec![cust(1, "UTC").birthday(b)]);
    let noon = |y, m, dd| utc(y, m, dd, 12, 0);
    let feb28 = open_config();
    let mut mar1 = open_config();
    mar1.birthday.leap_day = LeapDayPolicy::March1;
    let cases = [
        // (date, policy, greeted)
        (noon(2028, 2, 29), &feb28, true),
        (noon(2028, 2, 28), &feb28, false),
        (noon(2028, 3, 1), &mar1, false),
        (noon(2028, 2, 29), &mar1, true),
        (noon(2027, 2, 28), &feb28, true),
        (noon(2027, 3, 1), &feb28, false),
        (noon(2027, 2, 28), &mar1, false),
        (noon(2027, 3, 1), &mar1, true),
        // 2100 is not a leap year (divisible by 100, not by 400).
        (noon(2100, 2, 28), &feb28, true),
        (noon(2000, 2, 29), &feb28, true),
    ];
    for (now, cfg, greeted) in cases {
        let plan = w.due(now, cfg);
        assert_eq!(!plan.actions.is_empty(), greeted, "{now} {:?}", cfg.birthday.leap_day);
    }
}

#[test]
fn leap_day_birthday_across_the_date_line() {
    // 2027-02-28 20:00 UTC is 10:00 on 1 March in Kiritimati and 09:00 on 28 February in
    // Pago Pago: with the 28 February policy only Pago Pago is greeted, with 1 March only
    // Kiritimati.
    let b: Birthday = "02-29".parse().unwrap();
    let w = World::new(vec![
        cust(1, "Pacific/Kiritimati").birthday(b),
        cust(2, "Pacific/Pago_Pago").birthday(b),
    ]);
    let now = utc(2027, 2, 28, 20, 0);
    let mut cfg = open_config();
    let plan = w.due(now, &cfg);
    let got: Vec<_> = plan.actions.iter().map(|a| (a.customer.0, a.local_date)).collect();
    assert_eq!(got, [(2, d(2027, 2, 28))]);
    cfg.birthday.leap_day = LeapDayPolicy::March1;
    let plan = w.due(now, &cfg);
    let got: Vec<_> = plan.actions.iter().map(|a| (a.customer.0, a.local_date)).collect();
    assert_eq!(got, [(1, d(2027, 3, 1))]);
}

// ---------------------------------------------------------------- delivery, tips, reviews

#[test]
fn check_in_seven_days_after_delivery_within_window() {
    let mut w = World::new(vec![cust(1, "Asia/Tokyo")]);
    w.orders.push(Order::new("A-1", CustomerId(1), d(2026, 5, 1), Some(d(2026, 5, 4))).unwrap());
    let cfg = open_config();
    // Tokyo is UTC+9: 03:00 UTC is noon local.
    let at = |day| utc(2026, 5, day, 3, 0);
    for (day, due_) in [(10, false), (11, true), (14, true), (15, false)] {
        let plan = w.due(at(day), &cfg);
        assert_eq!(kinds_of(&plan, 1).contains(&ActionKind::CheckIn), due_, "5 May + {day}");
    }
    let plan = w.due(at(11), &cfg);
    assert_eq!(plan.actions[0].reason, ReasonCode::DeliveredDaysAgo);
    assert_eq!(
        plan.actions[0].trigger,
        Trigger::CheckIn {
            order: "A-1".into(),
            ordered: d(2026, 5, 1),
            delivered: d(2026, 5, 4),
            days_since_delivery: 7,
        }
    );
    // Once a check-in has been sent after delivery, no second one for that delivery.
    w.contacts.push(Contact {
        customer: CustomerId(1),
        kind: ActionKind::CheckIn,
        at: at(11),
        channel: None,
    });
    assert!(!kinds_of(&w.due(at(14), &cfg), 1).contains(&ActionKind::CheckIn));
    // Delay 5 moves it.
    let mut cfg5 = open_config();
    cfg5.check_in.delay_days = CheckInDelay::new(5).unwrap();
    w.contacts.clear();
    assert!(kinds_of(&w.due(at(9), &cfg5), 1).contains(&ActionKind::CheckIn));
}

#[test]
fn review_request_follows_a_check_in() {
    let mut w = World::new(vec![cust(1, "UTC")]);
    let checked = utc(2026, 5, 11, 10, 0);
    w.contacts.push(Contact {
        customer: CustomerId(1),
        kind: ActionKind::CheckIn,
        at: checked,
        channel: None,
    });
    let cfg = open_config();
    assert!(w.due(utc(2026, 5, 13, 10, 0), &cfg).actions.is_empty(), "2 days: too early");
    let plan = w.due(utc(2026, 5, 14, 10, 0), &cfg);
    assert_eq!(kinds_of(&plan, 1), [ActionKind::ReviewRequest]);
    assert_eq!(plan.actions[0].reason, ReasonCode::AfterCheckIn);
    assert_eq!(
        plan.actions[0].trigger,
        Trigger::ReviewRequest { checked_in_at: checked, days_since_check_in: 3 }
    );
    assert!(w.due(utc(2026, 5, 22, 10, 0), &cfg).actions.is_empty(), "11 days: window over");
    w.contacts.push(Contact {
        customer: CustomerId(1),
        kind: ActionKind::ReviewRequest,
        at: utc(2026, 5, 14, 10, 0),
        channel: None,
    });
    assert!(w.due(utc(2026, 5, 15, 10, 0), &cfg).actions.is_empty(), "already asked");
}

#[test]
fn orders_are_grouped_by_customer_whatever_their_ids() {
    // Order ids sort the other way round from customer ids.
    let mut w = World::new(vec![cust(1, "UTC"), cust(2, "UTC"), cust(3, "UTC")]);
    for (id, c, day) in [("z", 1, 3), ("a", 2, 3), ("m", 3, 1), ("b", 1, 1)] {
        w.orders.push(Order::new(id, CustomerId(c), d(2026, 6, 1), Some(d(2026, 6, day))).unwrap());
    }
    let plan = w.due(utc(2026, 6, 10, 12, 0), &open_config());
    let got: Vec<_> = plan
        .actions
        .iter()
        .map(|a| match &a.trigger {
            Trigger::CheckIn { order, .. } => (a.customer.0, order.clone()),
            t => panic!("unexpected {t:?}"),
        })
        .collect();
    // Day 10 is 7 days after 3 June and 9 after 1 June: customer 1 is asked about the most
    // recent delivery, z.
    assert_eq!(got, [(1, "z".to_string()), (2, "a".to_string()), (3, "m".to_string())]);
}

#[test]
fn care_tips_only_for_upkeep_categories() {
    let mut w = World::new(vec![cust(1, "UTC"), cust(2, "UTC")]);
    let o = |id: &str, c| Order::new(id, CustomerId(c), d(2026, 4, 1), Some(d(2026, 4, 3)));
    w.orders.push(o("A", 1).unwrap().category("cast-iron").category("apron"));
    w.orders.push(o("B", 2).unwrap().category("apron"));
    let mut cfg = open_config();
    cfg.check_in.base.switch = Switch::Off;
    cfg.care_tip.upkeep_categories.insert("cast-iron".into());
    cfg.care_tip.delay_days = 2;
    let plan = w.due(utc(2026, 4, 5, 12, 0), &cfg);
    assert_eq!(kinds_of(&plan, 1), [ActionKind::CareTip]);
    assert!(kinds_of(&plan, 2).is_empty());
    assert_eq!(
        plan.actions[0].trigger,
        Trigger::CareTip {
            order: "A".into(),
            category: "cast-iron".into(),
            delivered: d(2026, 4, 3),
            days_since_delivery: 2,
        }
    );
}

// ---------------------------------------------------------------- replenishment

#[test]
fn replenish_from_own_interval_and_nominal_cycle() {
    let mut w = World::new(vec![cust(1, "UTC"), cust(2, "UTC")]);
    // Customer 1 bought beans on 1 Jan, 31 Jan, 2 Mar: span 60 days over 2 gaps = 30 days.
    for (i, day) in [d(2026, 1, 1), d(2026, 1, 31), d(2026, 3, 2)].into_iter().enumerate() {
        w.orders
            .push(Order::new(format!("b{i}"), CustomerId(1), day, None).unwrap().category("beans"));
    }
    // Customer 2 bought once on 1 Mar: the nominal cycle (20 days) applies.
    w.orders.push(Order::new("c0", CustomerId(2), d(2026, 3, 1), None).unwrap().category("beans"));
    let mut cfg = open_config();
    cfg.replenish.categories.insert("beans".into(), Some(20));
    cfg.replenish.lead_days = 3;
    // Customer 2: due from 20 - 3 = 17 days after 1 Mar (18 Mar) to 3 x 20 = 60 days.
    let plan = w.due(utc(2026, 3, 17, 12, 0), &cfg);
    assert!(plan.actions.is_empty(), "{plan:?}");
    let plan = w.due(utc(2026, 3, 18, 12, 0), &cfg);
    assert_eq!(kinds_of(&plan, 2), [ActionKind::Replenish]);
    assert_eq!(plan.actions[0].reason, ReasonCode::NominalCycleElapsed);
    // Customer 1: 2 Mar + 27 days = 29 Mar.
    let plan = w.due(utc(2026, 3, 29, 12, 0), &cfg);
    let a = plan.actions.iter().find(|a| a.customer == CustomerId(1)).unwrap();
    assert_eq!(a.reason, ReasonCode::OwnIntervalElapsed);
    assert_eq!(
        a.trigger,
        Trigger::Replenish {
            category: "beans".into(),
            last_purchase: d(2026, 3, 2),
            interval_days: 30,
            source: IntervalSource::Own,
            purchases: 3,
            days_since_purchase: 27,
        }
    );
    assert!(!kinds_of(&w.due(utc(2026, 3, 28, 12, 0), &cfg), 1).contains(&ActionKind::Replenish));
    // Past 3 intervals (90 days) the customer is a win-back case, not a reminder.
    assert!(kinds_of(&w.due(utc(2026, 6, 1, 12, 0), &cfg), 1).is_empty());
    // Nominal first: customer 1 is reminded on the 20-day cycle (17 days after 2 Mar).
    cfg.replenish.prefer = loyalty::care::IntervalPreference::NominalThenOwn;
    assert!(kinds_of(&w.due(utc(2026, 3, 19, 12, 0), &cfg), 1).contains(&ActionKind::Replenish));
}

#[test]
fn a_category_already_reminded_does_not_mask_another_that_is_due() {
    // Coffee beans (10-day cycle) bought on 1 Mar and reminded on 9 Mar; filters (5-day
    // cycle) bought on 10 Mar. On 17 Mar the beans are the more overdue (6 days against 2)
    // but were already reminded since their purchase; the filters were never reminded.
    let mut w = World::new(vec![cust(1, "UTC")]);
    w.orders.push(Order::new("b", CustomerId(1), d(2026, 3, 1), None).unwrap().category("beans"));
    w.orders
        .push(Order::new("f", CustomerId(1), d(2026, 3, 10), None).unwrap().category("filters"));
    w.contacts.push(Contact::new(CustomerId(1), ActionKind::Replenish, utc(2026, 3, 9, 12, 0)));
    let mut cfg = open_config();
    cfg.replenish.categories.insert("beans".into(), Some(10));
    cfg.replenish.categories.insert("filters".into(), Some(5));
    let plan = w.due(utc(2026, 3, 17, 12, 0), &cfg);
    let a = plan.actions.iter().find(|a| a.kind == ActionKind::Replenish);
    let Some(Action { trigger: Trigger::Replenish { category, .. }, .. }) = a else {
        panic!("no replenishment reminder for the filters: {plan:?}");
    };
    assert_eq!(category, "filters");
}

// ---------------------------------------------------------------- preference and win-back

#[test]
fn preference_match_needs_a_running_promotion_with_a_shared_tag() {
    let mut w = World::new(vec![
        cust(1, "UTC").market("JP").tag("matcha").tag("ceramics"),
        cust(2, "UTC").market("JP").tag("vinyl"),
        cust(3, "UTC").market("US").tag("matcha"),
    ]);
    w.promotions.push(
        Promotion::new("spring-tea", d(2026, 4, 1), d(2026, 4, 30))
            .unwrap()
            .tag("matcha")
            .tag("sencha")
            .market("JP"),
    );
    let cfg = open_config();
    let plan = w.due(utc(2026, 4, 10, 12, 0), &cfg);
    assert_eq!(kinds_of(&plan, 1), [ActionKind::PreferenceMatch]);
    assert!(kinds_of(&plan, 2).is_empty(), "no shared tag");
    assert!(kinds_of(&plan, 3).is_empty(), "other market");
    assert_eq!(
        plan.actions[0].trigger,
        Trigger::PreferenceMatch {
            promotion: "spring-tea".into(),
            matched_tags: vec!["matcha".into()],
            valid_until: d(2026, 4, 30),
        }
    );
    assert!(w.due(utc(2026, 5, 1, 12, 0), &cfg).actions.is_empty(), "expired");
}

#[test]
fn win_back_for_valuable_customers_in_at_risk_segments() {
    let usd = |v| Money::new(v, Currency::USD);
    let mut w = World::new(vec![
        cust(1, "UTC").segment("At Risk").value(usd(dec!(800))),
        cust(2, "UTC").segment("Cannot Lose Them").value(usd(dec!(100))),
        cust(3, "UTC").segment("Champions").value(usd(dec!(5000))),
        cust(4, "UTC").segment("At Risk"),
        cust(5, "UTC").value(usd(dec!(900))),
    ]);
    w.orders.push(Order::new("x", CustomerId(5), d(2025, 1, 1), None).unwrap());
    let mut cfg = open_config();
    cfg.win_back.min_value = Some(usd(dec!(500)));
    let now = utc(2026, 1, 1, 12, 0);
    let plan = w.due(now, &cfg);
    let ids: Vec<_> = plan.actions.iter().map(|a| a.customer.0).collect();
    assert_eq!(ids, [1], "2 below threshold, 3 not at risk, 4 value unknown, 5 no segment");
    assert_eq!(plan.actions[0].reason, ReasonCode::AtRiskSegment);
    // Customers with no segment, quiet for 180 days.
    cfg.win_back.quiet_days_without_segment = Some(180);
    let plan = w.due(now, &cfg);
    let a = plan.actions.iter().find(|a| a.customer == CustomerId(5)).unwrap();
    assert_eq!(a.reason, ReasonCode::QuietSinceLastOrder);
    assert_eq!(
        a.trigger,
        Trigger::WinBack {
            segment: None,
            value: Some(usd(dec!(900))),
            last_order: Some(d(2025, 1, 1)),
            days_since_last_order: Some(365),
        }
    );
    // A threshold in another currency is a typed error, not a silent skip.
    cfg.win_back.min_value = Some(Money::new(dec!(500), Currency::EUR));
    let err = w.try_due(now, &cfg).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::CurrencyMismatch { .. }), "{err}");
}

// ---------------------------------------------------------------- contact pressure

/// A customer for whom birthday, festival and preference match are all due on 2026-12-25.
fn busy_world() -> World {
    let mut w = World::new(vec![cust(1, "UTC")
        .market("DE")
        .tag("tea")
        .birthday(Birthday::month_day(12, 25).unwrap())]);
    w.calendar.add("DE", "Weihnachten", "12-25").unwrap();
    w.promotions.push(Promotion::new("p", d(2026, 12, 1), d(2026, 12, 31)).unwrap().tag("tea"));
    w
}

#[test]
fn cap_keeps_the_highest_priorities_and_counts_past_contacts() {
    let mut w = busy_world();
    let mut cfg = open_config();
    cfg.pressure.cap = ContactCap { max_contacts: 2, period_days: 7 };
    let now = utc(2026, 12, 25, 12, 0);
    let plan = w.due(now, &cfg);
    // Priorities: birthday 90, festival 85, preference 30.
    assert_eq!(kinds_of(&plan, 1), [ActionKind::Birthday, ActionKind::Festival]);
    assert_eq!(plan.held.len(), 1);
    assert_eq!(plan.held[0].kind, ActionKind::PreferenceMatch);
    assert_eq!(plan.held[0].hold, HoldReason::CapReached { max_contacts: 2, recent_contacts: 0 });
    // A win-back 3 days ago uses one slot of the 7-day period; one 8 days ago does not.
    let c = |kind, at| Contact { customer: CustomerId(1), kind, at, channel: None };
    w.contacts.push(c(ActionKind::WinBack, utc(2026, 12, 22, 12, 0)));
    w.contacts.push(c(ActionKind::CheckIn, utc(2026, 12, 17, 12, 0)));
    let plan = w.due(now, &cfg);
    assert_eq!(kinds_of(&plan, 1), [ActionKind::Birthday]);
    // Priorities are configurable: the preference match can outrank the festival.
    cfg.preference.base.priority = 88;
    assert_eq!(kinds_of(&w.due(now, &cfg), 1), [ActionKind::Birthday]);
    cfg.preference.base.priority = 95;
    assert_eq!(kinds_of(&w.due(now, &cfg), 1), [ActionKind::PreferenceMatch]);
}

#[test]
fn consent_decides_channel_or_holds() {
    let mut w = busy_world();
    let mut cfg = open_config();
    cfg.festival.base.channels = vec![Channel::Sms, Channel::Push];
    cfg.birthday.base.channels = vec![Channel::Messenger, Channel::Email];
    w.customers[0].consent.insert(Channel::Push);
    let plan = w.due(utc(2026, 12, 25, 12, 0), &cfg);
    let ch: Vec<_> = plan.actions.iter().map(|a| (a.kind, a.channel)).collect();
    assert_eq!(
        ch,
        [
            (ActionKind::Birthday, Channel::Email),
            (ActionKind::Festival, Channel::Push),
            (ActionKind::PreferenceMatch, Channel::Email),
        ]
    );
    // Withdraw all consent: nothing is sent, everything is explained.
    w.customers[0].consent.clear();
    let plan = w.due(utc(2026, 12, 25, 12, 0), &cfg);
    assert!(plan.actions.is_empty());
    assert_eq!(plan.held.len(), 3);
    assert!(plan.held.iter().all(|h| h.hold == HoldReason::NoConsent));
}

#[test]
fn cool_down_blocks_a_repeat_of_the_same_kind() {
    let mut w = busy_world();
    let cfg = open_config();
    let last = utc(2026, 12, 20, 9, 0);
    w.contacts.push(Contact {
        customer: CustomerId(1),
        kind: ActionKind::PreferenceMatch,
        at: last,
        channel: None,
    });
    let plan = w.due(utc(2026, 12, 25, 12, 0), &cfg);
    assert_eq!(kinds_of(&plan, 1), [ActionKind::Birthday, ActionKind::Festival]);
    assert_eq!(
        plan.held[0].hold,
        HoldReason::CoolDown { last, until: utc(2026, 12, 27, 9, 0) },
        "default preference cool-down is 7 days"
    );
    // Running again on the same day after sending: greetings are not repeated.
    w.contacts.push(Contact {
        customer: CustomerId(1),
        kind: ActionKind::Birthday,
        at: utc(2026, 12, 25, 12, 0),
        channel: None,
    });
    w.contacts.push(Contact {
        customer: CustomerId(1),
        kind: ActionKind::Festival,
        at: utc(2026, 12, 25, 12, 0),
        channel: None,
    });
    assert!(w.due(utc(2026, 12, 25, 18, 0), &cfg).actions.is_empty());
}

#[test]
fn quiet_hours_defer_or_hold_in_local_time() {
    // Birthday on 25 Dec in Auckland (UTC+13 in December).
    let w = World::new(vec![cust(1, "Pacific/Auckland").birthday("12-25".parse().unwrap())]);
    // The default configuration is quiet from 21:00 to 09:00 local, deferring.
    let defaults = CareConfig::default().pressure;
    let hm = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap();
    assert_eq!(defaults.quiet_hours, Some(QuietHours::new(hm(21), hm(9)).unwrap()));
    assert_eq!(defaults.quiet_policy, QuietHoursPolicy::Defer);
    let mut cfg = open_config();
    cfg.pressure.quiet_hours = defaults.quiet_hours;
    // 2026-12-24 12:00 UTC = 25 Dec 01:00 in Auckland: quiet until 09:00 local = 20:00 UTC.
    let now = utc(2026, 12, 24, 12, 0);
    let plan = w.due(now, &cfg);
    let a: &Action = &plan.actions[0];
    assert_eq!((a.kind, a.timing), (ActionKind::Birthday, Timing::Deferred));
    assert_eq!(a.send_at, utc(2026, 12, 24, 20, 0));
    assert_eq!(a.local_date, d(2026, 12, 25));
    // Outside quiet hours: now.
    let later = utc(2026, 12, 24, 22, 0); // 11:00 local
    let plan = w.due(later, &cfg);
    assert_eq!((plan.actions[0].timing, plan.actions[0].send_at), (Timing::Now, later));
    // Hold policy: reported as held with the end of the window.
    cfg.pressure.quiet_policy = QuietHoursPolicy::Hold;
    let plan = w.due(now, &cfg);
    assert!(plan.actions.is_empty());
    assert_eq!(plan.held[0].hold, HoldReason::QuietHours { until: utc(2026, 12, 24, 20, 0) });
    // A daytime window that does not wrap midnight.
    cfg.pressure.quiet_hours = Some(
        QuietHours::new(
            NaiveTime::from_hms_opt(0, 0, 0).unwrap(),
            NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
        )
        .unwrap(),
    );
    cfg.pressure.quiet_policy = QuietHoursPolicy::Defer;
    assert_eq!(w.due(now, &cfg).actions[0].send_at, utc(2026, 12, 24, 19, 0));
}

#[test]
fn check_in_and_quiet_hours_across_the_date_line() {
    // Both deliveries arrive on 4 May, local. 2026-05-10 21:00 UTC is 11:00 on 11 May in
    // Kiritimati (UTC+14), 7 local days later, and 10:00 on 10 May in Pago Pago (UTC-11),
    // 6 days later.
    let mut w = World::new(vec![cust(1, "Pacific/Kiritimati"), cust(2, "Pacific/Pago_Pago")]);
    for c in [1, 2] {
        let o = Order::new(format!("o{c}"), CustomerId(c), d(2026, 5, 1), Some(d(2026, 5, 4)));
        w.orders.push(o.unwrap());
    }
    let mut cfg = CareConfig::default();
    cfg.check_in.window_days = 0;
    let plan = w.due(utc(2026, 5, 10, 21, 0), &cfg);
    assert_eq!(kinds_of(&plan, 1), [ActionKind::CheckIn]);
    assert!(kinds_of(&plan, 2).is_empty(), "only 6 days in Pago Pago");
    assert_eq!((plan.actions[0].timing, plan.actions[0].local_date), (Timing::Now, d(2026, 5, 11)));
    // A day later (10:00 on 11 May in Pago Pago, day 7) it is Pago Pago's turn; Kiritimati
    // is at 11:00 on 12 May, day 8, past the zero-day window.
    let plan = w.due(utc(2026, 5, 11, 21, 0), &cfg);
    assert_eq!(kinds_of(&plan, 2), [ActionKind::CheckIn]);
    assert!(kinds_of(&plan, 1).is_empty());
    // At 2026-05-12 08:30 UTC it is 21:30 on 11 May in Pago Pago: day 7, but quiet until
    // 09:00 local on 12 May, 20:00 UTC.
    let plan = w.due(utc(2026, 5, 12, 8, 30), &cfg);
    let a = &plan.actions[0];
    assert_eq!(
        (a.customer, a.kind, a.timing),
        (CustomerId(2), ActionKind::CheckIn, Timing::Deferred)
    );
    assert_eq!((a.local_date, a.send_at), (d(2026, 5, 11), utc(2026, 5, 12, 20, 0)));
}

#[test]
fn a_zero_cap_silences_everyone_and_scheduled_contacts_count() {
    let mut w = busy_world();
    let mut cfg = open_config();
    cfg.pressure.cap = ContactCap::new(0, 7).unwrap();
    let now = utc(2026, 12, 25, 12, 0);
    let plan = w.due(now, &cfg);
    assert!(plan.actions.is_empty());
    assert_eq!(plan.held.len(), 3);
    let capped = HoldReason::CapReached { max_contacts: 0, recent_contacts: 0 };
    assert!(plan.held.iter().all(|h| h.hold == capped), "{plan:?}");
    // Cap 2 with one contact already scheduled for tomorrow: room for one, the birthday.
    cfg.pressure.cap = ContactCap::new(2, 7).unwrap();
    let tomorrow = utc(2026, 12, 26, 9, 0);
    w.contacts.push(Contact {
        customer: CustomerId(1),
        kind: ActionKind::WinBack,
        at: tomorrow,
        channel: None,
    });
    let plan = w.due(now, &cfg);
    assert_eq!(kinds_of(&plan, 1), [ActionKind::Birthday]);
    assert!(plan
        .held
        .iter()
        .all(|h| h.hold == HoldReason::CapReached { max_contacts: 2, recent_contacts: 1 }));
    // A contact exactly one period ago has left the window (the window is (now - 7 d, ...]).
    w.contacts[0].at = utc(2026, 12, 18, 12, 0);
    assert_eq!(kinds_of(&w.due(now, &cfg), 1), [ActionKind::Birthday, ActionKind::Festival]);
}

#[test]
fn huge_periods_and_cool_downs_do_not_overflow() {
    let mut w = busy_world();
    w.contacts.push(Contact {
        customer: CustomerId(1),
        kind: ActionKind::Festival,
        at: utc(1990, 1, 1, 0, 0),
        channel: None,
    });
    let mut cfg = open_config();
    cfg.pressure.cap = ContactCap { max_contacts: 2, period_days: u32::MAX };
    cfg.festival.base.cool_down_days = u32::MAX;
    let plan = w.due(utc(2026, 12, 25, 12, 0), &cfg);
    // The 1990 contact is inside an endless period: one slot left, taken by the birthday.
    assert_eq!(kinds_of(&plan, 1), [ActionKind::Birthday]);
    let festival = plan.held.iter().find(|h| h.kind == ActionKind::Festival).unwrap();
    assert_eq!(
        festival.hold,
        HoldReason::CoolDown { last: utc(1990, 1, 1, 0, 0), until: DateTime::<Utc>::MAX_UTC }
    );
}

#[test]
fn disabled_rules_do_not_fire() {
    let w = busy_world();
    let mut cfg = open_config();
    cfg.birthday.base.switch = Switch::Off;
    cfg.festival.base.switch = Switch::Off;
    assert_eq!(kinds_of(&w.due(utc(2026, 12, 25, 12, 0), &cfg), 1), [ActionKind::PreferenceMatch]);
}

#[test]
fn output_is_sorted_by_priority_then_customer_then_kind() {
    let b = Birthday::month_day(3, 3).unwrap();
    let mut w = World::new(vec![
        cust(9, "UTC").birthday(b).tag("t"),
        cust(2, "UTC").tag("t"),
        cust(5, "UTC").birthday(b),
    ]);
    w.promotions.push(Promotion::new("p", d(2026, 3, 1), d(2026, 3, 9)).unwrap().tag("t"));
    let plan = w.due(utc(2026, 3, 3, 12, 0), &open_config());
    let got: Vec<_> = plan.actions.iter().map(|a| (a.priority, a.customer.0, a.kind)).collect();
    assert_eq!(
        got,
        [
            (90, 5, ActionKind::Birthday),
            (90, 9, ActionKind::Birthday),
            (30, 2, ActionKind::PreferenceMatch),
            (30, 9, ActionKind::PreferenceMatch),
        ]
    );
}

// ---------------------------------------------------------------- bad input

#[test]
fn unknown_time_zone_is_a_typed_error() {
    let err = Customer::new(CustomerId(1), "Europe/Atlantis").unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::UnknownTimeZone { name: "Europe/Atlantis".into() });
    assert!(loyalty::care::parse_time_zone("").is_err());
}

#[test]
fn delivery_before_order_is_a_typed_error() {
    let err = Order::new("o", CustomerId(1), d(2026, 5, 2), Some(d(2026, 5, 1))).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidInput { field: "delivered", .. }), "{err}");
    // The same fact smuggled in through the public fields is caught by `due`, with the index.
    let mut w = World::new(vec![cust(1, "UTC")]);
    w.orders.push(Order::new("ok", CustomerId(1), d(2026, 5, 1), None).unwrap());
    let mut bad = Order::new("bad", CustomerId(1), d(2026, 5, 2), None).unwrap();
    bad.delivered = Some(d(2026, 5, 1));
    w.orders.push(bad);
    let err = w.try_due(utc(2026, 5, 9, 0, 0), &open_config()).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::InvalidRecord { index: 1, field: "delivered", .. }),
        "{err}"
    );
}

#[test]
fn malformed_festival_dates_are_typed_errors() {
    let mut cal = FestivalCalendar::new();
    for bad in ["13-01", "02-30", "2026-02-29", "12/25", "", "2026-02-17,", "Dec 25", "1-1-1"] {
        let err = cal.add("DE", "x", bad).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::InvalidInput { .. }), "{bad}: {err}");
    }
    assert_eq!(cal, FestivalCalendar::new(), "failed adds leave the calendar unchanged");
    assert!(FestivalDate::fixed(4, 31).is_err());
    assert!(FestivalDate::dates(vec![]).is_err());
    assert_eq!("02-29".parse::<FestivalDate>().unwrap(), FestivalDate::Fixed { month: 2, day: 29 });
    for bad in ["02-30", "00-10", "2027-02-29", "--02-29", "1990-13-01"] {
        assert!(bad.parse::<Birthday>().is_err(), "{bad}");
    }
}

#[test]
fn check_in_delay_of_zero_is_a_typed_error() {
    let err = CheckInDelay::new(0).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::InvalidInput { field: "check_in.delay_days", .. }),
        "{err}"
    );
    assert_eq!(CheckInDelay::new(1).unwrap().days(), 1);
    assert_eq!(CareConfig::default().check_in.delay_days.days(), 7, "issue 8: default 7");
}

#[test]
fn bad_config_is_a_typed_error() {
    let w = World::new(vec![cust(1, "UTC")]);
    let now = utc(2026, 1, 1, 0, 0);
    let field_of = |cfg: &CareConfig| match w.try_due(now, cfg).unwrap_err().into_kind() {
        ErrorKind::InvalidInput { field, .. } => field,
        k => panic!("unexpected {k:?}"),
    };
    let mut cfg = CareConfig::default();
    cfg.pressure.cap.period_days = 0;
    assert_eq!(field_of(&cfg), "cap.period_days");
    let mut cfg = CareConfig::default();
    cfg.birthday.base.channels.clear();
    assert_eq!(field_of(&cfg), "birthday.channels");
    // A disabled rule needs no channel.
    cfg.birthday.base.switch = Switch::Off;
    assert!(w.try_due(now, &cfg).is_ok());
    let mut cfg = CareConfig::default();
    cfg.replenish.categories.insert("x".into(), Some(0));
    assert_eq!(field_of(&cfg), "replenish.categories");
    let mut cfg = CareConfig::default();
    cfg.replenish.min_purchases_for_own = 1;
    assert_eq!(field_of(&cfg), "replenish.min_purchases_for_own");
    let mut cfg = CareConfig::default();
    cfg.replenish.give_up_after_intervals = 0;
    assert_eq!(field_of(&cfg), "replenish.give_up_after_intervals");
    let mut cfg = CareConfig::default();
    let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
    cfg.pressure.quiet_hours = Some(QuietHours { start: nine, end: nine });
    assert_eq!(field_of(&cfg), "quiet_hours");
    assert!(QuietHours::new(nine, nine).is_err());
    assert!(ContactCap::new(2, 0).is_err());
}

#[test]
fn bad_records_are_typed_errors_naming_the_record() {
    let now = utc(2026, 1, 1, 0, 0);
    // Duplicate customers.
    let w = World::new(vec![cust(1, "UTC"), cust(2, "UTC"), cust(1, "UTC")]);
    let err = w.try_due(now, &CareConfig::default()).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidRecord { index: 2, field: "id", .. }), "{err}");
    // An inverted promotion window, by constructor and through the public fields.
    let err = Promotion::new("p", d(2026, 2, 1), d(2026, 1, 1)).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidInput { field: "valid_until", .. }), "{err}");
    let mut w = World::new(vec![cust(1, "UTC")]);
    w.promotions.push(Promotion::new("ok", d(2026, 1, 1), d(2026, 1, 1)).unwrap());
    let mut bad = Promotion::new("bad", d(2026, 1, 1), d(2026, 2, 1)).unwrap();
    bad.valid_until = d(2025, 12, 31);
    w.promotions.push(bad);
    let err = w.try_due(now, &CareConfig::default()).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::InvalidRecord { index: 1, field: "valid_until", .. }),
        "{err}"
    );
}

#[test]
fn instants_at_the_limits_of_time_are_typed_errors_not_panics() {
    // Kiritimati is UTC+14: its wall clock at chrono's last instant does not exist.
    let w = World::new(vec![cust(1, "Pacific/Kiritimati"), cust(2, "Pacific/Pago_Pago")]);
    for now in [DateTime::<Utc>::MAX_UTC, DateTime::<Utc>::MIN_UTC] {
        let err = w.try_due(now, &CareConfig::default()).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::InvalidInput { field: "now", .. }), "{err}");
    }
    let mut w = w;
    let c = |at| Contact { customer: CustomerId(1), kind: ActionKind::CheckIn, at, channel: None };
    w.contacts.push(c(utc(2026, 1, 1, 0, 0)));
    w.contacts.push(c(DateTime::<Utc>::MAX_UTC));
    let err = w.try_due(utc(2026, 1, 2, 0, 0), &open_config()).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidRecord { index: 1, field: "at", .. }), "{err}");
    // Orders at chrono's extreme dates are fine: only differences of dates are taken.
    let mut w = World::new(vec![cust(1, "Pacific/Kiritimati").birthday("02-29".parse().unwrap())]);
    w.orders.push(
        Order::new("a", CustomerId(1), NaiveDate::MIN, Some(NaiveDate::MAX)).unwrap().category("x"),
    );
    w.orders.push(Order::new("b", CustomerId(1), NaiveDate::MAX, None).unwrap().category("x"));
    let mut cfg = open_config();
    cfg.win_back.quiet_days_without_segment = Some(0);
    cfg.care_tip.upkeep_categories.insert("x".into());
    cfg.care_tip.window_days = u32::MAX;
    cfg.check_in.window_days = u32::MAX;
    assert!(w.try_due(utc(2026, 1, 1, 0, 0), &cfg).is_ok());
}

#[test]
fn huge_replenishment_settings_do_not_overflow() {
    // interval x give-up multiple = (2^32 - 1)^2 days exceeds i64: nothing is ever given up.
    let mut w = World::new(vec![cust(1, "UTC")]);
    w.orders.push(Order::new("a", CustomerId(1), d(2026, 1, 1), None).unwrap().category("x"));
    let mut cfg = open_config();
    cfg.replenish.categories.insert("x".into(), Some(u32::MAX));
    cfg.replenish.give_up_after_intervals = u32::MAX;
    cfg.replenish.lead_days = u32::MAX;
    let plan = w.due(utc(2026, 1, 11, 12, 0), &cfg);
    // Lead as long as the cycle: due from the day of purchase on.
    assert_eq!(kinds_of(&plan, 1), [ActionKind::Replenish]);
    // But not before the purchase: an order dated after today is not yet to be replenished.
    assert!(w.due(utc(2025, 12, 31, 12, 0), &cfg).actions.is_empty());
    match &plan.actions[0].trigger {
        Trigger::Replenish { interval_days, days_since_purchase, .. } => {
            assert_eq!((*interval_days, *days_since_purchase), (u32::MAX, 10));
        }
        t => panic!("unexpected {t:?}"),
    }
}

// ---------------------------------------------------------------- serde

#[cfg(feature = "serde")]
mod serde_round_trips {
    use super::*;

    fn round_trip<T>(v: &T) -> T
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
    {
        serde_json::from_str(&serde_json::to_string(v).unwrap()).unwrap()
    }

    #[test]
    fn state_and_outputs_round_trip() {
        let mut w = busy_world();
        w.customers[0].value = Some(Money::new(dec!(12.50), Currency::EUR));
        w.customers[0].segment = Some("At Risk".into());
        let mut cfg = CareConfig::default();
        cfg.replenish.categories.insert("beans".into(), Some(30));
        cfg.win_back.min_value = Some(Money::new(dec!(10), Currency::EUR));
        cfg.pressure.quiet_policy = QuietHoursPolicy::Hold;
        assert_eq!(round_trip(&cfg), cfg);
        assert_eq!(round_trip(&w.customers), w.customers);
        assert_eq!(round_trip(&w.calendar), w.calendar);
        assert_eq!(round_trip(&w.promotions), w.promotions);
        let plan = w.due(utc(2026, 12, 25, 23, 0), &open_config());
        assert!(!plan.actions.is_empty());
        assert_eq!(round_trip(&plan), plan);
        let held = w.due(utc(2026, 12, 25, 23, 0), &cfg);
        assert!(!held.held.is_empty());
        assert_eq!(round_trip(&held), held);
        // An empty config object means the defaults; a bad one is rejected on reading.
        assert_eq!(serde_json::from_str::<CareConfig>("{}").unwrap(), CareConfig::default());
        // Partial rules too: only the fields given change.
        let partial: CareConfig = serde_json::from_str(
            r#"{"check_in":{"window_days":5},"pressure":{"quiet_policy":"hold"}}"#,
        )
        .unwrap();
        let mut expected = CareConfig::default();
        expected.check_in.window_days = 5;
        expected.pressure.quiet_policy = QuietHoursPolicy::Hold;
        assert_eq!(partial, expected);
        let mut zero = serde_json::to_value(CareConfig::default()).unwrap();
        assert_eq!(zero["check_in"]["delay_days"], 7, "the delay's wire form is a bare number");
        zero["check_in"]["delay_days"] = 0.into();
        let err = serde_json::from_value::<CareConfig>(zero).unwrap_err().to_string();
        assert!(err.contains("check_in.delay_days"), "{err}");
        assert!(serde_json::from_str::<CheckInDelay>("0").is_err());
        assert_eq!(serde_json::from_str::<CheckInDelay>("5").unwrap().days(), 5);
    }

    /// The serde error message carries the crate error's message.
    fn rejects<T: serde::de::DeserializeOwned + std::fmt::Debug>(json: &str, needle: &str) {
        let err = serde_json::from_str::<T>(json).unwrap_err().to_string();
        assert!(err.contains(needle), "{json}: {err}");
    }

    #[test]
    fn deserialization_rejects_bad_values() {
        let good = serde_json::to_string(&cust(1, "Asia/Tokyo")).unwrap();
        assert_eq!(serde_json::from_str::<Customer>(&good).unwrap(), cust(1, "Asia/Tokyo"));
        let bad = good.replace("Asia/Tokyo", "Asia/Atlantis");
        rejects::<Customer>(&bad, "unknown time zone `Asia/Atlantis`");

        // Delivery before order.
        let order = Order::new("o", CustomerId(1), d(2026, 5, 1), Some(d(2026, 5, 3))).unwrap();
        let json = serde_json::to_string(&order).unwrap();
        assert_eq!(serde_json::from_str::<Order>(&json).unwrap(), order);
        rejects::<Order>(&json.replace("2026-05-03", "2026-04-30"), "delivered before it was");

        // Inverted promotion window.
        let promo = Promotion::new("p", d(2026, 5, 1), d(2026, 5, 31)).unwrap().tag("t");
        let json = serde_json::to_string(&promo).unwrap();
        assert_eq!(serde_json::from_str::<Promotion>(&json).unwrap(), promo);
        rejects::<Promotion>(&json.replace("2026-05-31", "2026-04-30"), "ends before it starts");

        // Config parts read on their own.
        rejects::<QuietHours>(r#"{"start":"09:00:00","end":"09:00:00"}"#, "start equals end");
        rejects::<ContactCap>(r#"{"max_contacts":2,"period_days":0}"#, "cap.period_days");
        rejects::<CareConfig>(
            r#"{"pressure":{"cap":{"max_contacts":2,"period_days":0},"quiet_hours":null,"quiet_policy":"defer"}}"#,
            "cap.period_days",
        );
        rejects::<CareConfig>(
            r#"{"replenish":{"base":{"switch":"on","priority":1,"cool_down_days":1,"channels":["email"]},"categories":{},"prefer":"own_then_nominal","min_purchases_for_own":1,"lead_days":3,"give_up_after_intervals":3}}"#,
            "min_purchases_for_own",
        );
        assert!(serde_json::from_str::<Birthday>("\"02-30\"").is_err());
        assert_eq!(serde_json::from_str::<Birthday>("\"02-29\"").unwrap().day(), 29);
        assert!(serde_json::from_str::<FestivalCalendar>(
            r#"{"DE":[{"name":"x","date":"13-01"}]}"#
        )
        .is_err());
        let cal: FestivalCalendar =
            serde_json::from_str(r#"{"DE":[{"name":"x","date":"2026-01-02,2027-01-03"}]}"#)
                .unwrap();
        assert_eq!(cal.festivals("DE").len(), 1);
    }
}

// ---------------------------------------------------------------- properties

const ZONES: [&str; 6] = [
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "Asia/Kolkata",
    "Europe/London",
    "America/New_York",
    "UTC",
];
const CHANNELS: [Channel; 4] = [Channel::Email, Channel::Sms, Channel::Push, Channel::Messenger];

#[derive(Debug, Clone)]
struct Case {
    customers: Vec<Customer>,
    orders: Vec<Order>,
    contacts: Vec<Contact>,
    promotions: Vec<Promotion>,
    now: DateTime<Utc>,
    cap: u32,
    quiet: bool,
    /// Quiet-hours policy: hold instead of defer.
    hold: bool,
}

fn base_day() -> NaiveDate {
    d(2026, 2, 20)
}

prop_compose! {
    fn customer(id: u64)(
        zone in 0..ZONES.len(),
        consent in proptest::collection::vec(any::<bool>(), 4),
        birthday in proptest::option::of((1u32..=3, 1u32..=29)),
        tag in proptest::option::of(0..3u8),
        segment in proptest::option::of(0..3u8),
    ) -> Customer {
        let mut c = Customer::new(CustomerId(id), ZONES[zone]).unwrap().market("M");
        for (on, ch) in consent.iter().zip(CHANNELS) {
            if *on { c.consent.insert(ch); }
        }
        if let Some((m, dd)) = birthday { c.birthday = Birthday::month_day(m, dd).ok(); }
        if let Some(t) = tag { c.tags.insert(format!("t{t}")); }
        c.segment = segment.map(|s| ["At Risk", "Cannot Lose Them", "Champions"][s as usize].to_string());
        c
    }
}

fn case() -> impl Strategy<Value = Case> {
    let customers = (1usize..8).prop_flat_map(|n| (0..n as u64).map(customer).collect::<Vec<_>>());
    (
        customers,
        proptest::collection::vec(
            (0u64..8, 0i64..90, proptest::option::of(0i64..10), 0..3u8),
            0..20,
        ),
        proptest::collection::vec((0u64..8, 0usize..8, 0i64..30 * 24), 0..20),
        0i64..(60 * 24),
        0u32..4,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(customers, orders, contacts, minutes, cap, quiet, hold)| {
            let day0 = base_day();
            let orders = orders
                .into_iter()
                .enumerate()
                .map(|(i, (c, off, del, cat))| {
                    let ordered = day0 - chrono::Duration::days(off);
                    let delivered = del.map(|x| ordered + chrono::Duration::days(x));
                    Order::new(format!("o{i}"), CustomerId(c), ordered, delivered)
                        .unwrap()
                        .category(format!("c{cat}"))
                })
                .collect();
            let start = utc(2026, 2, 20, 0, 0);
            let contacts = contacts
                .into_iter()
                .map(|(c, k, h)| Contact {
                    customer: CustomerId(c),
                    kind: ActionKind::ALL[k],
                    at: start - chrono::Duration::hours(h),
                    channel: None,
                })
                .collect();
            let promotions = vec![
                Promotion::new("p0", d(2026, 2, 1), d(2026, 4, 1)).unwrap().tag("t0").tag("t1"),
                Promotion::new("p1", d(2026, 3, 1), d(2026, 3, 10)).unwrap().tag("t2"),
            ];
            Case {
                customers,
                orders,
                contacts,
                promotions,
                now: start + chrono::Duration::minutes(minutes),
                cap,
                quiet,
                hold,
            }
        })
}

fn run(c: &Case, cal: &FestivalCalendar) -> CarePlan {
    let mut cfg = CareConfig::default();
    cfg.pressure.cap = ContactCap { max_contacts: c.cap, period_days: 7 };
    cfg.pressure.quiet_hours = c.quiet.then(QuietHours::default);
    if c.hold {
        cfg.pressure.quiet_policy = QuietHoursPolicy::Hold;
    }
    cfg.care_tip.upkeep_categories.insert("c1".into());
    cfg.replenish.categories.insert("c2".into(), Some(10));
    cfg.festival.base.channels = vec![Channel::Sms];
    cfg.check_in.base.channels = vec![Channel::Push, Channel::Messenger];
    due(
        c.now,
        &cfg,
        &CareInput {
            customers: &c.customers,
            orders: &c.orders,
            contacts: &c.contacts,
            promotions: &c.promotions,
            calendar: cal,
        },
    )
    .unwrap()
}

fn calendar() -> FestivalCalendar {
    let mut cal = FestivalCalendar::new();
    for (i, day) in ["02-20", "02-21", "03-01", "03-15", "04-01"].iter().enumerate() {
        cal.add("M", &format!("f{i}"), day).unwrap();
    }
    cal
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn never_more_actions_than_the_cap(c in case()) {
        let plan = run(&c, &calendar());
        let period_start = c.now - chrono::Duration::days(7);
        for cu in &c.customers {
            let sent = plan.actions.iter().filter(|a| a.customer == cu.id).count() as u32;
            let recent = c.contacts.iter().filter(|x| x.customer == cu.id && x.at > period_start).count() as u32;
            prop_assert!(sent <= c.cap.saturating_sub(recent), "{} sent {} recent {}", cu.id, sent, recent);
        }
    }

    #[test]
    fn never_an_action_without_consent(c in case()) {
        let plan = run(&c, &calendar());
        for a in &plan.actions {
            let cu = c.customers.iter().find(|x| x.id == a.customer).unwrap();
            prop_assert!(cu.consent.contains(&a.channel), "{a:?}");
        }
        for h in &plan.held {
            if h.hold == HoldReason::NoConsent {
                let cu = c.customers.iter().find(|x| x.id == h.customer).unwrap();
                prop_assert!(!plan.actions.iter().any(|a| a.customer == cu.id && a.kind == h.kind));
            }
        }
    }

    #[test]
    fn nothing_is_sent_in_local_quiet_hours(c in case()) {
        let plan = run(&c, &calendar());
        let quiet = QuietHours::default();
        for a in &plan.actions {
            let tz = c.customers.iter().find(|x| x.id == a.customer).unwrap().time_zone;
            let local = a.send_at.with_timezone(&tz).time();
            if c.quiet {
                prop_assert!(!quiet.contains(local), "{a:?} at local {local}");
                prop_assert_eq!(a.timing == Timing::Now, a.send_at == c.now);
                if c.hold {
                    prop_assert_eq!((a.timing, a.send_at), (Timing::Now, c.now));
                }
                // Deferred at most to the end of the current window (12 h for 21:00-09:00).
                prop_assert!(a.send_at >= c.now && a.send_at <= c.now + chrono::Duration::hours(12));
            } else {
                prop_assert_eq!((a.timing, a.send_at), (Timing::Now, c.now));
            }
        }
        for h in &plan.held {
            if let HoldReason::QuietHours { until } = h.hold {
                prop_assert!(c.quiet && c.hold, "{h:?}");
                let tz = c.customers.iter().find(|x| x.id == h.customer).unwrap().time_zone;
                prop_assert!(until > c.now && !quiet.contains(until.with_timezone(&tz).time()));
            }
        }
    }

    #[test]
    fn a_batch_plans_each_customer_as_if_alone(c in case()) {
        let cal = calendar();
        let plan = run(&c, &cal);
        let mut actions = Vec::new();
        let mut held = Vec::new();
        for cu in &c.customers {
            // Only this customer's own orders and contacts.
            let alone = Case {
                customers: vec![cu.clone()],
                orders: c.orders.iter().filter(|o| o.customer == cu.id).cloned().collect(),
                contacts: c.contacts.iter().filter(|x| x.customer == cu.id).copied().collect(),
                ..c.clone()
            };
            let p = run(&alone, &cal);
            actions.extend(p.actions);
            held.extend(p.held);
        }
        actions.sort_by_key(|a| (std::cmp::Reverse(a.priority), a.customer, a.kind));
        held.sort_by_key(|h| (h.customer, h.kind));
        prop_assert_eq!(plan.actions, actions);
        prop_assert_eq!(plan.held, held);
    }

    #[cfg(feature = "serde")]
    #[test]
    fn all_state_round_trips_through_serde(c in case()) {
        fn rt<T: serde::Serialize + serde::de::DeserializeOwned>(v: &T) -> T {
            serde_json::from_str(&serde_json::to_string(v).unwrap()).unwrap()
        }
        prop_assert_eq!(&rt(&c.customers), &c.customers);
        prop_assert_eq!(&rt(&c.orders), &c.orders);
        prop_assert_eq!(&rt(&c.contacts), &c.contacts);
        prop_assert_eq!(&rt(&c.promotions), &c.promotions);
        let plan = run(&c, &calendar());
        prop_assert_eq!(&rt(&plan), &plan);
    }

    #[test]
    fn birthdays_round_trip_through_their_text_form(
        days in -95_000_000i64..95_000_000, // chrono: about ±262 000 years
        with_year in any::<bool>(),
    ) {
        let date = d(2000, 1, 1) + chrono::Duration::days(days);
        let b = if with_year {
            Birthday::from_date(date)
        } else {
            use chrono::Datelike;
            Birthday::month_day(date.month(), date.day()).unwrap()
        };
        let text = b.to_string();
        prop_assert_eq!(text.parse::<Birthday>().unwrap(), b, "{}", text);
        // On its observed date in the birth year, a dated birthday falls on the date itself.
        if with_year {
            use chrono::Datelike;
            prop_assert_eq!(b.observed_in(date.year(), LeapDayPolicy::March1), Some(date));
        }
    }

    #[test]
    fn text_parsers_return_errors_never_panic(
        any_text in "\\PC{0,20}",
        near in "[-+]?[0-9]{0,7}-[0-9]{1,3}-[0-9]{1,3}(,[0-9]{4}-[0-9]{2}-[0-9]{2})?",
    ) {
        for t in [&any_text, &near] {
            // Whatever parses prints back to something that parses to the same value.
            if let Ok(b) = t.parse::<Birthday>() {
                prop_assert_eq!(b.to_string().parse::<Birthday>().unwrap(), b);
            }
            if let Ok(f) = t.parse::<FestivalDate>() {
                prop_assert_eq!(f.to_string().parse::<FestivalDate>().unwrap(), f);
            }
            if let Err(e) = loyalty::care::parse_time_zone(t) {
                let is_unknown_zone = matches!(e.kind(), ErrorKind::UnknownTimeZone { .. });
                prop_assert!(is_unknown_zone);
            }
        }
    }

    #[test]
    fn same_inputs_same_output_in_any_input_order(c in case(), seed in any::<u64>()) {
        let cal = calendar();
        let plan = run(&c, &cal);
        prop_assert_eq!(&plan, &run(&c, &cal));
        // Rotate and reverse every input slice: the contract is independence from order.
        let mut s = c.clone();
        let rot = |len: usize| if len == 0 { 0 } else { (seed as usize) % len };
        let r = rot(s.customers.len()); s.customers.rotate_left(r); s.customers.reverse();
        let r = rot(s.orders.len()); s.orders.rotate_left(r); s.orders.reverse();
        let r = rot(s.contacts.len()); s.contacts.rotate_left(r);
        s.promotions.reverse();
        prop_assert_eq!(&plan, &run(&s, &cal));
        // Sorted output, at most one action per customer and kind.
        for w in plan.actions.windows(2) {
            let key = |a: &Action| (std::cmp::Reverse(a.priority), a.customer, a.kind);
            prop_assert!(key(&w[0]) < key(&w[1]));
        }
    }
}
