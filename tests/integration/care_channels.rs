//! Issue 18 item 11d: consent, caps and quiet hours per channel and per purpose (service
//! vs marketing).

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use loyalty::care::{
    due, ActionKind, CareConfig, CareInput, CarePlan, Channel, Contact, ContactCap, Customer,
    CustomerId, HoldReason, Order, Purpose, QuietHours, QuietHoursPolicy, Scope, ScopedCap,
    ScopedQuietHours, Timing,
};

fn d(m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, day).unwrap()
}

/// London in June is UTC+1.
fn london(m: u32, day: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, m, day, h - 1, 0, 0).unwrap()
}

/// A London customer whose birthday is 14 June and whose order arrived on 7 June: on 14 June
/// a birthday greeting (marketing) and a check-in (service) are due.
fn customer() -> Customer {
    Customer::new(CustomerId(1), "Europe/London").unwrap().birthday("06-14".parse().unwrap())
}

fn run(now: DateTime<Utc>, cfg: &CareConfig, c: Customer, contacts: &[Contact]) -> CarePlan {
    let customers = [c];
    let orders = [Order::new("o-1", CustomerId(1), d(6, 1), Some(d(6, 7))).unwrap()];
    let input = CareInput::new(&customers).orders(&orders).contacts(contacts);
    due(now, cfg, &input).unwrap()
}

fn sent(plan: &CarePlan) -> Vec<(ActionKind, Channel, Purpose, Timing)> {
    plan.actions.iter().map(|a| (a.kind, a.channel, a.purpose, a.timing)).collect()
}

fn held(plan: &CarePlan) -> Vec<(ActionKind, HoldReason)> {
    plan.held.iter().map(|h| (h.kind, h.hold)).collect()
}

#[test]
fn kinds_have_a_purpose() {
    let service: Vec<_> =
        ActionKind::ALL.into_iter().filter(|k| k.purpose() == Purpose::Service).collect();
    assert_eq!(service, [ActionKind::CheckIn, ActionKind::CareTip]);
}

#[test]
fn service_messages_are_not_blocked_by_missing_marketing_consent() {
    let noon = london(6, 14, 12);
    let cfg = CareConfig::default();
    // E-mail given for order updates only: the check-in goes, the birthday greeting does not.
    let c = customer().consent_for(Channel::Email, Purpose::Service);
    assert!(c.consents(Channel::Email, Purpose::Service));
    assert!(!c.consents(Channel::Email, Purpose::Marketing));
    let plan = run(noon, &cfg, c, &[]);
    assert_eq!(sent(&plan), [(ActionKind::CheckIn, Channel::Email, Purpose::Service, Timing::Now)]);
    assert_eq!(held(&plan), [(ActionKind::Birthday, HoldReason::NoConsent)]);
    // Marketing consent on SMS as well: the greeting goes by SMS, the check-in still by
    // e-mail (first in the rule's list with consent for its purpose).
    let c = customer()
        .consent_for(Channel::Email, Purpose::Service)
        .consent_for(Channel::Sms, Purpose::Marketing);
    let plan = run(noon, &cfg, c, &[]);
    assert_eq!(
        sent(&plan),
        [
            (ActionKind::Birthday, Channel::Sms, Purpose::Marketing, Timing::Now),
            (ActionKind::CheckIn, Channel::Email, Purpose::Service, Timing::Now),
        ]
    );
    // Consent for every purpose (the plain builder) covers both on e-mail.
    let plan = run(noon, &cfg, customer().consent(Channel::Email), &[]);
    assert_eq!(plan.actions.iter().filter(|a| a.channel == Channel::Email).count(), 2);
}

#[test]
fn caps_per_purpose_and_per_channel() {
    let noon = london(6, 14, 12);
    let mut cfg = CareConfig::default();
    cfg.pressure.cap = ContactCap::new(10, 7).unwrap();
    // One marketing message a week.
    cfg.pressure.caps = vec![ScopedCap {
        scope: Scope::purpose(Purpose::Marketing),
        cap: ContactCap::new(1, 7).unwrap(),
    }];
    let c = customer().consent(Channel::Email);
    // A win-back e-mail (marketing) two days ago uses the marketing cap; the check-in
    // (service) is not counted against it and goes out.
    let past =
        [Contact::new(CustomerId(1), ActionKind::WinBack, london(6, 12, 12)).on(Channel::Email)];
    let plan = run(noon, &cfg, c.clone(), &past);
    assert_eq!(sent(&plan), [(ActionKind::CheckIn, Channel::Email, Purpose::Service, Timing::Now)]);
    assert_eq!(
        held(&plan),
        [(ActionKind::Birthday, HoldReason::CapReached { max_contacts: 1, recent_contacts: 1 })]
    );
    // A past service contact does not use the marketing cap: both go.
    let past =
        [Contact::new(CustomerId(1), ActionKind::CareTip, london(6, 12, 12)).on(Channel::Email)];
    assert_eq!(run(noon, &cfg, c.clone(), &past).actions.len(), 2);
    // No past contact: the greeting takes the one marketing slot, the check-in goes too.
    assert_eq!(run(noon, &cfg, c.clone(), &[]).actions.len(), 2);
    // A cap on SMS only: no SMS at all this week. E-mail is not affected; a past contact on
    // an unknown channel counts against the SMS cap (never undercounted).
    let mut sms = CareConfig::default();
    sms.pressure.cap = ContactCap::new(10, 7).unwrap();
    sms.pressure.caps = vec![ScopedCap {
        scope: Scope::channel(Channel::Sms),
        cap: ContactCap::new(1, 7).unwrap(),
    }];
    let both = customer().consent(Channel::Sms).consent_for(Channel::Email, Purpose::Service);
    let unknown = [Contact::new(CustomerId(1), ActionKind::Replenish, london(6, 13, 12))];
    let plan = run(noon, &sms, both.clone(), &unknown);
    assert_eq!(sent(&plan), [(ActionKind::CheckIn, Channel::Email, Purpose::Service, Timing::Now)]);
    assert_eq!(
        held(&plan),
        [(ActionKind::Birthday, HoldReason::CapReached { max_contacts: 1, recent_contacts: 1 })]
    );
    // The same contact recorded on e-mail leaves the SMS cap untouched.
    let on_email = [unknown[0].on(Channel::Email)];
    assert_eq!(run(noon, &sms, both, &on_email).actions.len(), 2);
}

#[test]
fn quiet_hours_per_channel_and_purpose() {
    // 22:00 in London: inside the default quiet hours (21:00-09:00).
    let late = london(6, 14, 22);
    let mut cfg = CareConfig::default();
    cfg.pressure.cap = ContactCap::new(10, 7).unwrap();
    // Service e-mails at any hour; marketing keeps the default window.
    cfg.pressure.quiet = vec![ScopedQuietHours {
        scope: Scope::of(Channel::Email, Purpose::Service),
        quiet_hours: None,
    }];
    let c = customer().consent(Channel::Email).birthday("06-15".parse().unwrap());
    let plan = run(late, &cfg, c.clone(), &[]);
    // The check-in goes now. The birthday (15 June) is judged at its send time, 09:00 on
    // the 15th: due, deferred to then.
    let got: Vec<_> = plan.actions.iter().map(|a| (a.kind, a.timing, a.send_at)).collect();
    assert_eq!(
        got,
        [
            (ActionKind::Birthday, Timing::Deferred, london(6, 15, 9)),
            (ActionKind::CheckIn, Timing::Now, late),
        ]
    );
    // Held instead of deferred: only the marketing message waits.
    cfg.pressure.quiet_policy = QuietHoursPolicy::Hold;
    let plan = run(late, &cfg, c.clone(), &[]);
    assert_eq!(sent(&plan), [(ActionKind::CheckIn, Channel::Email, Purpose::Service, Timing::Now)]);
    assert_eq!(
        held(&plan),
        [(ActionKind::Birthday, HoldReason::QuietHours { until: london(6, 15, 9) })]
    );
    // A shorter marketing window on e-mail (22:30-08:00): the greeting can go now, so it is
    // judged on today's date (the 14th) and the 15 June birthday is not due yet.
    let mut short = CareConfig::default();
    short.pressure.quiet = vec![ScopedQuietHours {
        scope: Scope::purpose(Purpose::Marketing),
        quiet_hours: Some(
            QuietHours::new(
                chrono::NaiveTime::from_hms_opt(22, 30, 0).unwrap(),
                chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
            )
            .unwrap(),
        ),
    }];
    let plan = run(late, &short, c, &[]);
    assert!(plan.actions.iter().all(|a| a.kind != ActionKind::Birthday), "{plan:?}");
    // A bad scoped window is refused like the overall one.
    let mut bad = CareConfig::default();
    let nine = chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap();
    bad.pressure.quiet = vec![ScopedQuietHours {
        scope: Scope::all(),
        quiet_hours: Some(QuietHours { start: nine, end: nine }),
    }];
    let customers = [customer()];
    assert!(due(late, &bad, &CareInput::new(&customers)).is_err());
}

#[cfg(feature = "serde")]
#[test]
fn scoped_settings_and_channels_round_trip_and_old_records_read() {
    let mut cfg = CareConfig::default();
    cfg.pressure.caps = vec![ScopedCap {
        scope: Scope::purpose(Purpose::Marketing),
        cap: ContactCap::new(1, 7).unwrap(),
    }];
    let json = serde_json::to_string(&cfg).unwrap();
    assert_eq!(serde_json::from_str::<CareConfig>(&json).unwrap(), cfg);
    let c = customer().consent_for(Channel::Email, Purpose::Service);
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(serde_json::from_str::<Customer>(&json).unwrap(), c);
    // A contact written before channels were recorded reads with no channel.
    let old = r#"{"customer":1,"kind":"check_in","at":"2026-06-12T11:00:00Z"}"#;
    let contact: Contact = serde_json::from_str(old).unwrap();
    assert_eq!(contact.channel, None);
}
