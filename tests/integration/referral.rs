//! Issue 18 item 11c: a welcome reward the friend can spend on the first order.

use chrono::{NaiveDate, NaiveDateTime};
use loyalty::referral::{
    CapEffect, CapPeriod, MemberId, OrderOutcome, ReferralBook, ReferralRules, ReferrerCap,
    RejectionReason, Reward, WelcomeTiming,
};
use loyalty::{Currency, Money};
use rust_decimal::Decimal;

fn at(m: u32, d: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2025, m, d).unwrap().and_hms_opt(12, 0, 0).unwrap()
}

fn usd(a: i64) -> Money {
    Money::new(Decimal::from(a), Currency::USD)
}

fn id(s: &str) -> MemberId {
    MemberId::new(s).unwrap()
}

fn rules(welcome: WelcomeTiming) -> ReferralRules {
    ReferralRules::new(
        Reward::money(usd(20)).unwrap(),
        Reward::money(usd(10)).unwrap(),
        usd(50),
        30,
    )
    .unwrap()
    .welcome(welcome)
}

#[test]
fn a_welcome_reward_granted_at_sign_up_is_spent_on_the_first_order() {
    let mut book = ReferralBook::new(rules(WelcomeTiming::AtReferral));
    assert_eq!(book.rules().welcome_timing(), WelcomeTiming::AtReferral);
    // Granted when the referral is recorded: 10 USD to spend on the first order.
    let granted = book.refer(id("ann"), id("bob"), at(1, 1)).unwrap();
    assert_eq!(granted, Some(Reward::Money(usd(10))));
    // A 55 USD basket: bob pays 45 after the welcome reward, and the order qualifies on
    // its 55 before the reward (the minimum is 50).
    let outcome = book.first_order(&id("bob"), usd(55), at(1, 2)).unwrap();
    assert_eq!(outcome, OrderOutcome::Clearing { clears_at: at(2, 1) });
    // At settlement only the referrer is paid: the welcome reward is not paid twice.
    let s = book.settle(at(2, 1)).unwrap();
    assert_eq!(s.payouts.len(), 1);
    assert_eq!(s.payouts[0].referrer_reward, Some(Reward::Money(usd(20))));
    assert_eq!(s.payouts[0].referee_reward, None);
    assert_eq!(s.payouts[0].withheld, None);
}

#[test]
fn by_default_the_welcome_reward_waits_for_the_first_order_to_clear() {
    let mut book = ReferralBook::new(rules(WelcomeTiming::default()));
    assert_eq!(book.refer(id("ann"), id("bob"), at(1, 1)).unwrap(), None);
    book.first_order(&id("bob"), usd(55), at(1, 2)).unwrap();
    let s = book.settle(at(2, 1)).unwrap();
    assert_eq!(s.payouts[0].referee_reward, Some(Reward::Money(usd(10))));
}

#[test]
fn a_welcome_reward_granted_at_sign_up_is_not_withheld_by_the_cap() {
    let cap = ReferrerCap::new(1, CapPeriod::Month).unwrap();
    let r = rules(WelcomeTiming::AtReferral).cap(cap).cap_effect(CapEffect::Both);
    let mut book = ReferralBook::new(r);
    for friend in ["bob", "cat"] {
        // Both friends got their welcome reward at sign-up, before any cap could apply.
        assert!(book.refer(id("ann"), id(friend), at(1, 1)).unwrap().is_some());
        book.first_order(&id(friend), usd(60), at(1, 2)).unwrap();
    }
    let s = book.settle(at(3, 1)).unwrap();
    let got: Vec<_> = s
        .payouts
        .iter()
        .map(|p| (p.referee.as_str(), p.referrer_reward.is_some(), p.referee_reward, p.withheld))
        .collect();
    assert_eq!(
        got,
        vec![
            ("bob", true, None, None),
            ("cat", false, None, Some(RejectionReason::ReferrerCapReached)),
        ]
    );
}

#[test]
fn a_returned_first_order_pays_no_referrer_reward_under_either_timing() {
    for welcome in [WelcomeTiming::AtReferral, WelcomeTiming::OnClearing] {
        let mut book = ReferralBook::new(rules(welcome));
        book.refer(id("ann"), id("bob"), at(1, 1)).unwrap();
        book.first_order(&id("bob"), usd(55), at(1, 2)).unwrap();
        let back = book.first_order_returned(&id("bob"), usd(55), at(1, 5)).unwrap();
        assert_eq!(back, OrderOutcome::Rejected(RejectionReason::FirstOrderReturned));
        assert!(book.settle(at(3, 1)).unwrap().payouts.is_empty(), "{welcome:?}");
    }
}

#[cfg(feature = "serde")]
#[test]
fn the_timing_is_stored_and_books_without_it_read_as_before() {
    let mut book = ReferralBook::new(rules(WelcomeTiming::AtReferral));
    book.refer(id("ann"), id("bob"), at(1, 1)).unwrap();
    let json = serde_json::to_string(&book).unwrap();
    assert!(json.contains(r#""welcome":"at_referral""#), "{json}");
    let back: ReferralBook = serde_json::from_str(&json).unwrap();
    assert_eq!(back, book);
    // The default is not written, so books keep the format they had.
    let plain = ReferralBook::new(rules(WelcomeTiming::OnClearing));
    let json = serde_json::to_string(&plain).unwrap();
    assert!(!json.contains("welcome"), "{json}");
    assert_eq!(serde_json::from_str::<ReferralBook>(&json).unwrap(), plain);
}
