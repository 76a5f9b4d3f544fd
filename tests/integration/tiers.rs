//! Integration tests for `loyalty::tiers` and `loyalty::referral`.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use loyalty::referral::{
    CapPeriod, MemberId, OrderOutcome, ReferralBook, ReferralRules, ReferrerCap, RejectionReason,
    Reward,
};
use loyalty::tiers::{
    Benefit, Benefits, Cause, Demotion, Figures, Grace, Ladder, MarginGuard, MemberDiscount,
    Metric, Policy, Program, PromotionTiming, QualifyingEvent, RefundEffect, RefundScope, Tier,
    TierEventKind, TierRetention, Trim, Window,
};
use loyalty::{Currency, ErrorKind, Money, Multiplier, Rounding, Share};
use proptest::prelude::*;
use rust_decimal::dec;
use rust_decimal::Decimal;

fn at(y: i32, m: u32, d: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(0, 0, 0).unwrap()
}

fn ladder_with(thresholds: &[i64], permanent: Option<usize>) -> Ladder {
    let names = ["bronze", "silver", "gold", "platinum", "diamond"];
    let tiers = thresholds
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            let tier = Tier::new(names[i], Decimal::from(t)).unwrap();
            if Some(i) == permanent {
                tier.with_retention(TierRetention::Permanent)
            } else {
                tier
            }
        })
        .collect();
    Ladder::new(Metric::Spend, tiers).unwrap()
}

fn benefits_ladder() -> Ladder {
    let pct = |p: i64| Share::from_percent(Decimal::from(p)).unwrap();
    Ladder::new(
        Metric::Spend,
        vec![
            Tier::new("bronze", Decimal::ZERO)
                .unwrap()
                .with_benefits(Benefits::new(vec![Benefit::BirthdayCoupon(pct(10))]).unwrap()),
            Tier::new("silver", dec!(500)).unwrap().with_benefits(
                Benefits::new(vec![
                    Benefit::Discount(pct(2)),
                    Benefit::PointsMultiplier(Multiplier::new(dec!(1.25)).unwrap()),
                    Benefit::EarlyAccess,
                ])
                .unwrap(),
            ),
            Tier::new("gold", dec!(2000)).unwrap().with_benefits(
                Benefits::new(vec![
                    Benefit::Discount(pct(5)),
                    Benefit::PointsMultiplier(Multiplier::new(dec!(1.5)).unwrap()),
                    Benefit::FreeShipping,
                    Benefit::EarlyAccess,
                    Benefit::Custom {
                        key: "personal_service".into(),
                        value: "dedicated agent".into(),
                    },
                ])
                .unwrap(),
            ),
        ],
    )
    .unwrap()
}

#[test]
fn benefits_follow_the_tier() {
    let program = Program::new(
        benefits_ladder(),
        Window::CalendarYear,
        Policy::default().demotion(Demotion::OneLevel),
    )
    .unwrap();
    let joined = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let history = [QualifyingEvent::order(at(2024, 4, 1), dec!(2400)).unwrap()];
    let s = program.evaluate(joined, &history, at(2024, 5, 1)).unwrap();
    let gold = program.ladder().tier(s.tier.unwrap()).unwrap().benefits();
    assert_eq!(gold.multiplier().value(), dec!(1.5));
    assert_eq!(gold.discount().percent(), dec!(5));
    assert!(gold.free_shipping());
    assert_eq!(gold.custom("personal_service"), Some("dedicated agent"));
    // One level down at the end of 2025 (nothing bought in 2025).
    let s = program.evaluate(joined, &history, at(2026, 1, 1)).unwrap();
    let silver = program.ladder().tier(s.tier.unwrap()).unwrap().benefits();
    assert_eq!(silver.multiplier().value(), dec!(1.25));
    assert!(!silver.free_shipping());
}

#[test]
fn refunds_leaving_a_rolling_window_promote_even_with_no_event_after() {
    // Two refunds of 10 leave the 12-month window ten days apart; only once both have left
    // does the figure reach 115, and no event follows to wake the replay up.
    let program = Program::new(
        ladder_with(&[115], None),
        Window::rolling_months(12).unwrap(),
        Policy::default().promotion(PromotionTiming::Immediate).demotion(Demotion::Never),
    )
    .unwrap();
    let history = [
        QualifyingEvent::refund(at(2023, 1, 10), dec!(10), RefundScope::Partial).unwrap(),
        QualifyingEvent::refund(at(2023, 1, 20), dec!(10), RefundScope::Partial).unwrap(),
        QualifyingEvent::order(at(2023, 2, 1), dec!(115)).unwrap(),
    ];
    let joined = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
    for now in [at(2024, 1, 20), at(2024, 3, 1)] {
        let s = program.evaluate(joined, &history, now).unwrap();
        assert_eq!(s.tier, Some(0), "as of {now}");
        let promoted: Vec<_> =
            s.events.iter().filter(|e| e.kind == TierEventKind::Promoted).map(|e| e.at).collect();
        assert_eq!(promoted, [at(2024, 1, 20)], "as of {now}");
    }
    let before = program.evaluate(joined, &history, at(2024, 1, 19)).unwrap();
    assert_eq!(before.tier, None);
}

#[test]
fn window_figures_are_exact_sums_even_past_decimal_precision() {
    // Thirds of orders carry 26 to 28 decimals; earlier history makes the running totals need
    // more digits than a `Decimal` holds. The 2025 window nets exactly 4066 and must reach
    // the 4066 threshold whatever came before it.
    let program =
        Program::new(ladder_with(&[4066], None), Window::CalendarYear, Policy::default()).unwrap();
    let third = |a: i64| Decimal::from(a) / Decimal::from(3);
    let o = |y: i32, a: i64| QualifyingEvent::order(at(y, 1, 1), Decimal::from(a)).unwrap();
    let r =
        |y: i32, a: Decimal| QualifyingEvent::refund(at(y, 1, 1), a, RefundScope::Partial).unwrap();
    let mut history = vec![
        o(2025, 4777),
        r(2025, third(1169)),
        r(2025, third(964)),
        o(2023, 3395),
        r(2023, third(82)),
        r(2023, third(1159)),
    ];
    // 1169/3 + 964/3 = 711: the 2025 window is 4777 - 711 = 4066 exactly.
    assert_eq!(third(1169) + third(964), dec!(711));
    let joined = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
    for extra in [0, 876, 1234] {
        history.push(o(2023, extra.max(1)));
        let s = program.evaluate(joined, &history, at(2025, 6, 1)).unwrap();
        assert_eq!(s.tier, Some(0), "with {extra} more in 2023");
        assert_eq!(s.figures.get(Metric::Spend), Some(dec!(4066)), "with {extra} more in 2023");
    }
}

#[test]
fn member_discount_apart_from_points_with_margin_guard() {
    let pct = |p: i64| Share::from_percent(Decimal::from(p)).unwrap();
    let schedule = MemberDiscount::new(vec![(dec!(1000), pct(2)), (dec!(3000), pct(5))]).unwrap();
    let history = [
        QualifyingEvent::order(at(2024, 1, 1), dec!(2500)).unwrap(),
        QualifyingEvent::order(at(2024, 2, 1), dec!(800)).unwrap(),
        QualifyingEvent::refund(at(2024, 2, 5), dec!(400), RefundScope::Partial).unwrap(),
    ];
    // Net 2900: still the 2 % step.
    let spend = loyalty::tiers::cumulative_spend(&history, at(2024, 3, 1)).unwrap();
    assert_eq!(spend, dec!(2900));
    let order = Money::new(dec!(300), Currency::CNY);
    let spend = Money::new(spend, Currency::CNY);
    let discount = schedule.quote(spend, order, Rounding::HalfUp).unwrap();
    assert_eq!(discount.amount(), dec!(6.00));
    // Points worth 12 on this order; cap 5 % of 300 = 15 < 6 + 12: points trimmed to 9.
    let guard = MarginGuard::new(pct(5));
    let g = guard.apply(order, discount, Money::new(dec!(12), Currency::CNY)).unwrap();
    assert_eq!(g.discount.amount(), dec!(6.00));
    assert_eq!(g.points_value.amount(), dec!(9));
    assert_eq!(g.cap.amount(), dec!(15));
}

#[test]
fn referral_flow_with_money_rewards_and_rolling_cap() {
    let usd = |a: i64| Money::new(Decimal::from(a), Currency::USD);
    let cap =
        ReferrerCap::new(1, CapPeriod::RollingDays(std::num::NonZeroU32::new(7).unwrap())).unwrap();
    let rules = ReferralRules::new(
        Reward::money(usd(20)).unwrap(),
        Reward::money(usd(10)).unwrap(),
        usd(50),
        30,
    )
    .unwrap()
    .cap(cap);
    let mut book = ReferralBook::new(rules);
    let id = |s: &str| MemberId::new(s).unwrap();
    let err = book.refer(id("ann"), id("ann"), at(2025, 1, 1)).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::RuleViolation { .. }));
    assert_eq!(RejectionReason::of(&err), Some(RejectionReason::SelfReferral));
    for friend in ["bob", "cat", "dan"] {
        book.refer(id("ann"), id(friend), at(2025, 1, 1)).unwrap();
    }
    // Orders clear 30 days later: bob on 31 Jan, cat on 6 Feb (inside 7 days of bob), dan
    // on 7 Feb (exactly 7 days later: outside the trailing window).
    assert_eq!(
        book.first_order(&id("bob"), usd(60), at(2025, 1, 1)).unwrap(),
        OrderOutcome::Clearing { clears_at: at(2025, 1, 31) }
    );
    book.first_order(&id("cat"), usd(60), at(2025, 1, 7)).unwrap();
    book.first_order(&id("dan"), usd(60), at(2025, 1, 8)).unwrap();
    let s = book.settle(at(2025, 3, 1)).unwrap();
    let got: Vec<_> =
        s.payouts.iter().map(|p| (p.referee.as_str(), p.referrer_reward.is_some())).collect();
    assert_eq!(got, vec![("bob", true), ("cat", false), ("dan", true)]);
    assert!(s.payouts.iter().all(|p| p.referee_reward == Some(Reward::Money(usd(10)))));
    // Paid once.
    assert!(book.settle(at(2025, 4, 1)).unwrap().payouts.is_empty());
    // One reward per referee, even from another referrer.
    let err = book.refer(id("eve"), id("bob"), at(2025, 4, 1)).unwrap_err();
    assert_eq!(RejectionReason::of(&err), Some(RejectionReason::AlreadyReferred));
}

#[cfg(feature = "serde")]
mod serde_round_trips {
    use super::*;

    fn round_trip<T>(value: &T) -> T
    where
        T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let json = serde_json::to_string(value).unwrap();
        let back: T = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, value, "{json}");
        back
    }

    #[test]
    fn program_standing_progress() {
        let policy = Policy::default()
            .demotion(Demotion::OneLevel)
            .grace(Grace::days(14).unwrap())
            .promotion(PromotionTiming::Immediate)
            .refunds(RefundEffect::AtReview);
        let program =
            Program::new(benefits_ladder(), Window::rolling_months(12).unwrap(), policy).unwrap();
        let program = round_trip(&program);
        let joined = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        let history = [
            QualifyingEvent::order(at(2024, 2, 1), dec!(2500)).unwrap(),
            QualifyingEvent::refund(at(2024, 3, 1), dec!(100), RefundScope::WholeOrder).unwrap(),
        ];
        round_trip(&history.to_vec());
        let s = program.evaluate(joined, &history, at(2026, 1, 10)).unwrap();
        assert!(s.pending.is_some());
        round_trip(&s);
        round_trip(&program.progress(joined, &history, at(2024, 6, 1)).unwrap());
    }

    #[test]
    fn every_other_state_type() {
        for w in [
            Window::Lifetime,
            Window::CalendarYear,
            Window::Quarter,
            Window::Month,
            Window::Anniversary,
            Window::rolling(12, 1).unwrap(),
        ] {
            round_trip(&w);
            round_trip(
                &w.period(at(2024, 2, 29), NaiveDate::from_ymd_opt(2020, 2, 29).unwrap()).unwrap(),
            );
        }
        for g in
            [Grace::None, Grace::days(3).unwrap(), Grace::months(2).unwrap(), Grace::NextPeriodEnd]
        {
            for d in [Demotion::Never, Demotion::OneLevel, Demotion::Reevaluate] {
                round_trip(
                    &Policy::default().grace(g).demotion(d).promotion(PromotionTiming::NextPeriod),
                );
            }
        }
        round_trip(&benefits_ladder());
        round_trip(&benefits_ladder().tiers()[1].clone());
        let usd = |c: i64| Money::new(Decimal::new(c, 2), Currency::USD);
        let pct = |p: i64| Share::from_percent(Decimal::from(p)).unwrap();
        for trim in [Trim::PointsFirst, Trim::DiscountFirst, Trim::Proportional] {
            let guard = round_trip(&MarginGuard::new(pct(10)).trim(trim));
            round_trip(&guard.apply(usd(10_000), usd(600), usd(800)).unwrap());
            round_trip(&guard.apply(usd(10_000), usd(100), usd(100)).unwrap());
        }
        // A cap above 100 % is refused.
        let json = serde_json::to_string(&MarginGuard::new(pct(10))).unwrap().replace("0.1", "1.5");
        assert!(serde_json::from_str::<MarginGuard>(&json).is_err());

        let rules = ReferralRules::new(
            Reward::points(500).unwrap(),
            Reward::money(usd(500)).unwrap(),
            usd(2500),
            14,
        )
        .unwrap()
        .cap(ReferrerCap::new(1, CapPeriod::IsoWeek).unwrap());
        let rules = round_trip(&rules);
        let mut book = ReferralBook::new(rules);
        let id = |s: &str| MemberId::new(s).unwrap();
        book.refer(id("a"), id("b"), at(2025, 1, 1)).unwrap();
        book.refer(id("a"), id("c"), at(2025, 1, 1)).unwrap();
        round_trip(&book.first_order(&id("b"), usd(3000), at(2025, 1, 2)).unwrap());
        round_trip(&book.first_order(&id("c"), usd(3000), at(2025, 1, 2)).unwrap());
        let settlement = book.settle(at(2025, 2, 1)).unwrap();
        assert_eq!(settlement.payouts.len(), 2);
        assert_eq!(settlement.payouts[1].withheld, Some(RejectionReason::ReferrerCapReached));
        round_trip(&settlement);
        let back = round_trip(&book);
        assert_eq!(back.referral(&id("c")), book.referral(&id("c")));
        // Tampered: a paid referral withheld for a reason the cap never gives.
        let json =
            serde_json::to_string(&book).unwrap().replace("referrer_cap_reached", "self_referral");
        assert!(serde_json::from_str::<ReferralBook>(&json).is_err());
        // Tampered: a member id with surrounding whitespace.
        assert!(serde_json::from_str::<MemberId>(r#"" a""#).is_err());
    }

    #[test]
    fn invalid_state_is_rejected_on_deserialize() {
        let program =
            Program::new(benefits_ladder(), Window::CalendarYear, Policy::default()).unwrap();
        let json = serde_json::to_string(&program).unwrap();
        // Swap two thresholds: unsorted ladder.
        let bad = json.replacen("\"500\"", "\"5000\"", 1);
        assert_ne!(bad, json);
        assert!(serde_json::from_str::<Program>(&bad).is_err());
        // A zero-length rolling window.
        assert!(
            serde_json::from_str::<Window>(r#"{"rolling":{"months":0,"review_every":1}}"#).is_err()
        );
        assert_eq!(
            serde_json::from_str::<Window>(r#"{"rolling":{"months":6,"review_every":6}}"#).unwrap(),
            Window::rolling_months(6).unwrap()
        );
        // A rolling window beyond the 1200-month bound, smuggled in through a program.
        let rolling =
            Program::new(benefits_ladder(), Window::rolling_months(6).unwrap(), Policy::default())
                .unwrap();
        let json = serde_json::to_string(&rolling).unwrap();
        let bad = json.replace("\"months\":6", "\"months\":5000");
        assert_ne!(bad, json);
        assert!(serde_json::from_str::<Program>(&bad).is_err());
        // Lifetime window with a demotion policy.
        let lifetime =
            Program::new(benefits_ladder(), Window::Lifetime, Policy::default()).unwrap();
        let json = serde_json::to_string(&lifetime).unwrap().replace("\"never\"", "\"one_level\"");
        assert!(serde_json::from_str::<Program>(&json).is_err());
        // Duplicate benefit, negative share.
        assert!(serde_json::from_str::<Benefits>(r#"["free_shipping","free_shipping"]"#).is_err());
        assert!(serde_json::from_str::<Benefits>(r#"[{"discount":"-0.1"}]"#).is_err());
    }

    #[test]
    fn discount_and_referral_state() {
        let pct = |p: i64| Share::from_percent(Decimal::from(p)).unwrap();
        round_trip(&MemberDiscount::new(vec![(dec!(1000), pct(2)), (dec!(3000), pct(5))]).unwrap());
        assert!(
            serde_json::from_str::<MemberDiscount>(r#"[["3000","0.05"],["1000","0.02"]]"#).is_err()
        );
        round_trip(&MarginGuard::new(pct(10)));

        let usd = |a: i64| Money::new(Decimal::from(a), Currency::USD);
        let rules = ReferralRules::new(
            Reward::points(500).unwrap(),
            Reward::money(usd(5)).unwrap(),
            usd(25),
            14,
        )
        .unwrap()
        .cap(ReferrerCap::new(3, CapPeriod::Month).unwrap());
        let mut book = ReferralBook::new(rules);
        let id = |s: &str| MemberId::new(s).unwrap();
        for f in ["b", "c", "d", "e"] {
            book.refer(id("a"), id(f), at(2025, 1, 1)).unwrap();
        }
        book.first_order(&id("b"), usd(30), at(2025, 1, 2)).unwrap();
        book.first_order(&id("c"), usd(10), at(2025, 1, 2)).unwrap();
        book.first_order(&id("d"), usd(30), at(2025, 1, 20)).unwrap();
        book.settle(at(2025, 1, 25)).unwrap();
        let back = round_trip(&book);
        assert_eq!(back.referrals().count(), 4);
        // A stored self-referral is refused.
        let json = serde_json::to_string(&book).unwrap().replacen(
            "\"referee\":\"b\"",
            "\"referee\":\"a\"",
            1,
        );
        assert!(serde_json::from_str::<ReferralBook>(&json).is_err());
        assert!(serde_json::from_str::<Reward>(r#"{"points":0}"#).is_err());
        assert!(serde_json::from_str::<MemberId>(r#""""#).is_err());
    }
}

// Property tests.

fn windows() -> impl Strategy<Value = Window> {
    prop_oneof![
        Just(Window::CalendarYear),
        Just(Window::Quarter),
        Just(Window::Month),
        Just(Window::Anniversary),
        (1u32..=13).prop_map(|m| Window::rolling_months(m).unwrap()),
        (1u32..=13, 1u32..=4).prop_map(|(m, r)| Window::rolling(m, r).unwrap()),
    ]
}

fn policies() -> impl Strategy<Value = Policy> {
    let promotion =
        prop_oneof![Just(PromotionTiming::Immediate), Just(PromotionTiming::NextPeriod)];
    let demotion =
        prop_oneof![Just(Demotion::Never), Just(Demotion::OneLevel), Just(Demotion::Reevaluate)];
    let grace = prop_oneof![
        Just(Grace::None),
        (1u32..60).prop_map(|d| Grace::days(d).unwrap()),
        (1u32..4).prop_map(|m| Grace::months(m).unwrap()),
        Just(Grace::NextPeriodEnd),
    ];
    let refunds = prop_oneof![Just(RefundEffect::UndoPromotion), Just(RefundEffect::AtReview)];
    (promotion, demotion, grace, refunds)
        .prop_map(|(p, d, g, r)| Policy::default().promotion(p).demotion(d).grace(g).refunds(r))
}

/// Orders and refunds at whole hours over three years from 2023-01-01.
fn histories() -> impl Strategy<Value = Vec<QualifyingEvent>> {
    prop::collection::vec((0i64..(3 * 366 * 24), 0u8..4, 1i64..1500), 0..24).prop_map(|rows| {
        rows.into_iter()
            .map(|(hour, kind, amount)| {
                let t = at(2023, 1, 1) + Duration::hours(hour);
                let amount = Decimal::from(amount);
                if kind == 0 {
                    QualifyingEvent::refund(t, amount / dec!(3), RefundScope::Partial).unwrap()
                } else {
                    QualifyingEvent::order(t, amount).unwrap()
                }
            })
            .collect()
    })
}

fn thresholds() -> impl Strategy<Value = Vec<i64>> {
    // One ladder in four starts with an entry tier (threshold 0), which a uniform draw would
    // almost never produce.
    (prop::collection::btree_set(0i64..5000, 1..5), 0u8..4).prop_map(|(mut s, entry)| {
        if entry == 0 {
            s.insert(0);
        }
        s.into_iter().take(5).collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn tier_is_monotone_in_the_metric(ts in thresholds(), a in -100i64..6000, b in -100i64..6000) {
        let ladder = ladder_with(&ts, None);
        let (lo, hi) = (a.min(b), a.max(b));
        prop_assert!(ladder.tier_for(&spend(lo)) <= ladder.tier_for(&spend(hi)));
    }

    #[test]
    fn more_spend_never_means_a_lower_tier(
        ts in thresholds(),
        history in histories(),
        extra in 1i64..3000,
        hour in 0i64..(3 * 366 * 24),
    ) {
        // With immediate promotion and no demotion, adding an order can only help.
        let program = Program::new(ladder_with(&ts, None), Window::CalendarYear, Policy::default()).unwrap();
        let joined = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
        let now = at(2026, 2, 1);
        let base = program.evaluate(joined, &history, now).unwrap();
        let mut more = history.clone();
        more.push(QualifyingEvent::order(at(2023, 1, 1) + Duration::hours(hour), Decimal::from(extra)).unwrap());
        let richer = program.evaluate(joined, &more, now).unwrap();
        prop_assert!(richer.tier >= base.tier, "{:?} < {:?}", richer.tier, base.tier);
    }

    #[test]
    fn evaluation_ignores_arrival_order(
        ts in thresholds(),
        window in windows(),
        policy in policies(),
        history in histories(),
        seed in any::<u64>(),
        join_day in 0i64..400,
    ) {
        let program = Program::new(ladder_with(&ts, None), window, policy).unwrap();
        let joined = NaiveDate::from_ymd_opt(2022, 6, 1).unwrap() + Duration::days(join_day);
        let now = at(2026, 3, 15);
        let a = program.evaluate(joined, &history, now).unwrap();
        let mut shuffled = history.clone();
        // Deterministic Fisher-Yates from the seed.
        let mut x = seed | 1;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let b = program.evaluate(joined, &shuffled, now).unwrap();
        prop_assert_eq!(&a, &b);
        let pa = program.progress(joined, &history, now).unwrap();
        let pb = program.progress(joined, &shuffled, now).unwrap();
        prop_assert_eq!(pa, pb);
    }

    #[test]
    fn demotion_stays_within_its_policy(
        ts in thresholds(),
        permanent in prop::option::of(0usize..5),
        window in windows(),
        policy in policies(),
        history in histories(),
    ) {
        let ladder = ladder_with(&ts, permanent.filter(|&p| p < ts.len()));
        let program = Program::new(ladder.clone(), window, policy).unwrap();
        let joined = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
        let s = program.evaluate(joined, &history, at(2026, 6, 1)).unwrap();
        let rank = |r: Option<usize>| r.map_or(-1i64, |r| r as i64);
        // A first threshold of 0 is an entry tier held from the start, and the floor.
        let entry = ladder.entry();
        let mut floor: Option<usize> = entry;
        let mut tier: Option<usize> = entry;
        for e in &s.events {
            prop_assert_eq!(e.from, tier, "events chain");
            match e.kind {
                TierEventKind::Promoted => {
                    prop_assert!(e.to > e.from);
                    prop_assert_eq!(e.crossed.len() as i64, rank(e.to) - rank(e.from));
                    if policy.promotion_timing() == PromotionTiming::Immediate {
                        prop_assert_eq!(e.cause, Cause::Qualified);
                    }
                }
                TierEventKind::Demoted => {
                    prop_assert!(policy.demotion_policy() != Demotion::Never, "demoted under Never");
                    prop_assert!(e.to < e.from);
                    prop_assert!(e.to >= floor, "below a permanent tier");
                    if policy.demotion_policy() == Demotion::OneLevel {
                        prop_assert_eq!(rank(e.from) - rank(e.to), 1);
                    }
                    if policy.demotion_policy() == Demotion::Reevaluate {
                        // Never further than the figure of the ending period supports.
                        prop_assert!(e.to >= ladder.tier_for(&e.explanation.figures).max(floor));
                    }
                    if policy.grace_period() == Grace::None {
                        prop_assert_eq!(e.cause, Cause::PeriodReview);
                    }
                }
                TierEventKind::Reverted => {
                    prop_assert_eq!(policy.refund_effect(), RefundEffect::UndoPromotion);
                    prop_assert_eq!(e.cause, Cause::Refund);
                    prop_assert!(e.to < e.from);
                }
                TierEventKind::GraceStarted { until } => {
                    prop_assert!(policy.grace_period() != Grace::None);
                    prop_assert!(until > e.at);
                }
                TierEventKind::GraceCleared => {}
                _ => prop_assert!(false, "unexpected event kind"),
            }
            if e.to > e.from && e.kind != TierEventKind::Reverted {
                floor = floor.max(permanent.filter(|&p| Some(p) <= e.to && p < ts.len()));
            }
            if matches!(e.kind, TierEventKind::Promoted | TierEventKind::Demoted | TierEventKind::Reverted) {
                tier = e.to;
            }
            if e.kind == TierEventKind::Reverted {
                // A reversal can undo a permanent tier gained since the last review; the
                // floor is then at least the permanent tier at or below the new rank.
                floor = permanent.filter(|&p| Some(p) <= e.to && p < ts.len()).max(entry);
            }
        }
        prop_assert_eq!(tier, s.tier);
    }
}

/// The CDNOW master log, grouped by customer: (first purchase date, orders).
fn cdnow_members() -> Vec<(NaiveDate, Vec<QualifyingEvent>)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/CDNOW_master.txt");
    let text = std::fs::read_to_string(path).unwrap();
    let mut by_customer: std::collections::BTreeMap<u32, Vec<QualifyingEvent>> = Default::default();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 4 {
            continue;
        }
        let day = NaiveDate::parse_from_str(f[1], "%Y%m%d").unwrap();
        let amount: Decimal = f[3].parse().unwrap();
        let event = QualifyingEvent::order(day.and_hms_opt(0, 0, 0).unwrap(), amount).unwrap();
        by_customer.entry(f[0].parse().unwrap()).or_default().push(event);
    }
    by_customer.into_values().map(|h| (h.iter().map(|e| e.at.date()).min().unwrap(), h)).collect()
}

#[test]
fn cdnow_distribution_matches_direct_sums() {
    // Counts computed independently with awk over the master log. Lifetime: spend >= 300
    // gold, >= 100 silver:
    //   awk 'NR>1{s[$1]+=$4} END{for(c in s) n[s[c]>=300?2:s[c]>=100?1:0]++; print n[0],n[1],n[2]}'
    // Calendar year at 1998-06-30: the better of the 1997 and the 1998-to-date tier (the
    // 1997 tier survives the 1998-01-01 review because its own 1997 figure qualifies it):
    //   awk 'NR>1{if($2<19980101)a[$1]+=$4; else b[$1]+=$4; c[$1]}
    //        END{for(k in c){x=a[k]>=300?2:a[k]>=100?1:0; y=b[k]>=300?2:b[k]>=100?1:0;
    //            n[x>y?x:y]++}; print n[0],n[1],n[2]}'
    let ladder = || ladder_with(&[0, 100, 300], None);
    let members = cdnow_members();
    assert_eq!(members.len(), 23_570);
    let now = at(1998, 6, 30) + Duration::hours(23);
    let count = |program: &Program| {
        let mut c = [0usize; 3];
        for (joined, h) in &members {
            c[program.evaluate(*joined, h, now).unwrap().tier.unwrap()] += 1;
        }
        c
    };
    let lifetime = Program::new(ladder(), Window::Lifetime, Policy::default()).unwrap();
    assert_eq!(count(&lifetime), [17_336, 4_487, 1_747]);
    let calendar = Program::new(
        ladder(),
        Window::CalendarYear,
        Policy::default().demotion(Demotion::OneLevel),
    )
    .unwrap();
    assert_eq!(count(&calendar), [18_097, 4_231, 1_242]);
    // The batch API gives the same standings, in order.
    let input: Vec<(NaiveDate, &[QualifyingEvent])> =
        members.iter().map(|(j, h)| (*j, h.as_slice())).collect();
    let batch = calendar.evaluate_all(&input, now).unwrap();
    assert_eq!(batch.len(), members.len());
    for (k, (joined, h)) in members.iter().enumerate().step_by(97) {
        assert_eq!(batch[k], calendar.evaluate(*joined, h, now).unwrap(), "member {k}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Each referee is paid at most once, the cap is never exceeded, and settling often or
    /// once at the end pays the same rewards.
    #[test]
    fn referral_payouts_are_once_capped_and_independent_of_settling(
        rows in prop::collection::vec((0u8..4, 0u8..12, 0i64..60, 0i64..90), 1..30),
        settle_every in 1i64..20,
    ) {
        let usd = |a: i64| Money::new(Decimal::from(a), Currency::USD);
        let cap = ReferrerCap::new(2, CapPeriod::Month).unwrap();
        let rules = ReferralRules::new(Reward::points(100).unwrap(), Reward::points(50).unwrap(), usd(20), 14)
            .unwrap()
            .cap(cap);
        let start = at(2025, 1, 1);
        let mut once = ReferralBook::new(rules);
        let mut often = ReferralBook::new(rules);
        let mut paid_often = Vec::new();
        let mut next_settle = start;
        // Referral i by referrer r at day d; first order of amount a two days later.
        let mut events: Vec<(NaiveDateTime, usize)> = Vec::new();
        for (i, &(_, _, d, _)) in rows.iter().enumerate() {
            events.push((start + Duration::days(d), i));
        }
        events.sort();
        for &(t, i) in &events {
            let (r, friend, _, amount) = rows[i];
            let referrer = MemberId::new(format!("r{r}")).unwrap();
            let referee = MemberId::new(format!("f{friend}")).unwrap();
            while next_settle <= t {
                paid_often.extend(often.settle(next_settle).unwrap().payouts);
                next_settle += Duration::days(settle_every);
            }
            let a = once.refer(referrer.clone(), referee.clone(), t);
            let b = often.refer(referrer, referee.clone(), t);
            prop_assert_eq!(a.is_ok(), b.is_ok());
            if a.is_ok() {
                let x = once.first_order(&referee, usd(amount), t).unwrap();
                let y = often.first_order(&referee, usd(amount), t).unwrap();
                prop_assert_eq!(x, y);
            }
        }
        let end = start + Duration::days(200);
        paid_often.extend(often.settle(end).unwrap().payouts);
        let paid_once = once.settle(end).unwrap().payouts;
        let mut sorted_often = paid_often.clone();
        sorted_often.sort_by(|a, b| (a.cleared_at, &a.referee).cmp(&(b.cleared_at, &b.referee)));
        prop_assert_eq!(&sorted_often, &paid_once);
        let mut referees: Vec<_> = paid_once.iter().map(|p| p.referee.clone()).collect();
        referees.sort();
        let n = referees.len();
        referees.dedup();
        prop_assert_eq!(n, referees.len(), "a referee paid twice");
        let mut per_month: std::collections::BTreeMap<(String, i32, u32), u32> = Default::default();
        for p in paid_once.iter().filter(|p| p.referrer_reward.is_some()) {
            use chrono::Datelike;
            *per_month.entry((p.referrer.to_string(), p.cleared_at.year(), p.cleared_at.month())).or_default() += 1;
        }
        prop_assert!(per_month.values().all(|&c| c <= 2), "{per_month:?}");
        prop_assert!(paid_once.iter().all(|p| p.referrer != p.referee));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Evaluation "as of" `t1` is the prefix up to `t1` of the evaluation at a later `t2`:
    /// skipping idle reviews, grace deadlines and review points at `now` agree however far
    /// the replay runs.
    #[test]
    fn evaluation_is_consistent_across_as_of_times(
        ts in thresholds(),
        permanent in prop::option::of(0usize..5),
        window in windows(),
        policy in policies(),
        history in histories(),
        h1 in 0i64..(4 * 366 * 24),
        extra in 0i64..(2 * 366 * 24),
    ) {
        let ladder = ladder_with(&ts, permanent.filter(|&p| p < ts.len()));
        let entry = ladder.entry();
        let program = Program::new(ladder, window, policy).unwrap();
        let joined = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
        let t1 = at(2023, 1, 1) + Duration::hours(h1);
        let t2 = t1 + Duration::hours(extra);
        let early = program.evaluate(joined, &history, t1).unwrap();
        let late = program.evaluate(joined, &history, t2).unwrap();
        let prefix: Vec<_> = late.events.iter().filter(|e| e.at <= t1).cloned().collect();
        prop_assert_eq!(&early.events, &prefix);
        let tier_then = prefix
            .iter()
            .rev()
            .find(|e| matches!(e.kind, TierEventKind::Promoted | TierEventKind::Demoted | TierEventKind::Reverted))
            .map_or(entry, |e| e.to);
        prop_assert_eq!(early.tier, tier_then);
    }

    /// The margin guard never gives away more than the cap, never trims more than was
    /// offered and never leaves a negative amount, whatever the trim mode and precision.
    #[test]
    fn margin_guard_respects_the_cap(
        order in 0i64..1_000_000,
        discount in 0i64..200_000,
        points in 0i64..200_000,
        cap_pct in 0i64..=100,
        scale in 0u32..4,
        mode in 0u8..3,
    ) {
        let usd = |v: i64, s: u32| Money::new(Decimal::new(v, s), Currency::USD);
        let trim = [Trim::PointsFirst, Trim::DiscountFirst, Trim::Proportional][usize::from(mode)];
        let guard = MarginGuard::new(Share::from_percent(Decimal::from(cap_pct)).unwrap()).trim(trim);
        let (o, d, p) = (usd(order, 2), usd(discount, scale), usd(points, scale));
        let g = guard.apply(o, d, p).unwrap();
        prop_assert!(!g.discount.is_negative() && !g.points_value.is_negative(), "{:?}", g);
        prop_assert!(g.discount.amount() <= d.amount() && g.points_value.amount() <= p.amount());
        let total = g.discount.amount() + g.points_value.amount();
        prop_assert!(total <= g.cap.amount().max(d.amount() + p.amount()));
        prop_assert!(g.cap.amount() <= o.amount() * Decimal::from(cap_pct) / Decimal::ONE_HUNDRED);
        if d.amount() + p.amount() > g.cap.amount() {
            prop_assert_eq!(total, g.cap.amount());
        } else {
            prop_assert_eq!((g.discount, g.points_value), (d, p));
        }
    }
}

/// Issue 18 item 9: a first threshold of 0 is an entry tier every member holds, with no
/// "promoted none -> bronze" event on the first purchase.
#[test]
fn a_zero_first_threshold_is_held_by_everyone_from_the_start() {
    let ladder = ladder_with(&[0, 1000, 3000], None);
    let program = Program::new(ladder, Window::Lifetime, Policy::default()).unwrap();
    let joined = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let idle = program.evaluate(joined, &[], at(2024, 6, 1)).unwrap();
    assert_eq!(idle.tier, Some(0));
    assert!(idle.events.is_empty());
    let history = [QualifyingEvent::order(at(2024, 2, 1), Decimal::from(50)).unwrap()];
    let s = program.evaluate(joined, &history, at(2024, 6, 1)).unwrap();
    assert_eq!(s.tier, Some(0));
    assert!(s.events.is_empty(), "{:?}", s.events);
    let history = [QualifyingEvent::order(at(2024, 2, 1), Decimal::from(1200)).unwrap()];
    let s = program.evaluate(joined, &history, at(2024, 6, 1)).unwrap();
    assert_eq!(s.tier, Some(1));
    assert_eq!((s.events[0].from, s.events[0].to), (Some(0), Some(1)));
    assert_eq!(s.events[0].crossed, vec![1]);
}

/// Issue 18 item 12: the spend is money in a currency, and "before the order" excludes it.
#[test]
fn member_discount_spend_is_money_before_the_order() {
    let pct = |p: i64| Share::from_percent(Decimal::from(p)).unwrap();
    let schedule = MemberDiscount::new(vec![(dec!(1000), pct(2)), (dec!(3000), pct(5))]).unwrap();
    let order = Money::new(dec!(300), Currency::USD);
    let cny = Money::new(dec!(5000), Currency::CNY);
    let err = schedule.quote(cny, order, Rounding::HalfUp).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::CurrencyMismatch { .. }), "{err}");
    // 900 before, and an order of 300 at `now`: cumulative_spend counts it, spend_before not.
    let history = [
        QualifyingEvent::order(at(2024, 1, 1), dec!(900)).unwrap(),
        QualifyingEvent::order(at(2024, 3, 1), dec!(300)).unwrap(),
    ];
    assert_eq!(loyalty::tiers::cumulative_spend(&history, at(2024, 3, 1)).unwrap(), dec!(1200));
    let before = loyalty::tiers::spend_before(&history, at(2024, 3, 1), Currency::USD).unwrap();
    assert_eq!(before, Money::new(dec!(900), Currency::USD));
    assert_eq!(schedule.quote(before, order, Rounding::HalfUp).unwrap().amount(), dec!(0));
}

/// Issue 18 item 11 (margin guard part): more than two concessions, trimmed from the last.
#[test]
fn margin_guard_caps_any_number_of_concessions() {
    let usd = |n: i64| Money::new(Decimal::from(n), Currency::USD);
    let guard = MarginGuard::new(Share::from_percent(dec!(10)).unwrap());
    // Cap 20: discount 12, free postage 6, points 5, gift 4 -> the gift and 3 of the points go.
    let granted = guard.apply_all(usd(200), &[usd(12), usd(6), usd(5), usd(4)]).unwrap();
    assert_eq!(granted, vec![usd(12), usd(6), usd(2), usd(0)]);
    // Within the cap: unchanged.
    assert_eq!(guard.apply_all(usd(200), &[usd(5), usd(5)]).unwrap(), vec![usd(5), usd(5)]);
    let eur = Money::new(dec!(1), Currency::EUR);
    assert!(guard.apply_all(usd(200), &[usd(1), eur]).is_err());
    assert!(guard.apply_all(usd(200), &[usd(-1)]).is_err());
}

/// Spend figures.
fn spend(x: i64) -> Figures {
    Figures::default().with(Metric::Spend, Decimal::from(x))
}
