//! Issue 18 item 11b: a refund of last period's order undoes that period's promotion, and
//! never leaks into evaluations dated before the refund was made.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use loyalty::tiers::{
    Demotion, Ladder, Metric, Policy, Program, QualifyingEvent, Recorded, RefundScope, Tier, Window,
};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn at(y: i32, m: u32, d: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(12, 0, 0).unwrap()
}

fn program(demotion: Demotion) -> Program {
    let ladder = Ladder::new(
        Metric::Spend,
        vec![
            Tier::new("silver", Decimal::from(1000)).unwrap(),
            Tier::new("gold", Decimal::from(3000)).unwrap(),
        ],
    )
    .unwrap();
    Program::new(ladder, Window::CalendarYear, Policy::default().demotion(demotion)).unwrap()
}

fn joined() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()
}

#[test]
fn a_refund_of_last_years_order_undoes_its_promotion_from_the_refund_on() {
    let p = program(Demotion::Reevaluate);
    let order = |t, a| QualifyingEvent::order(t, Decimal::from(a)).unwrap();
    // 1200 in March (silver), 2000 in November: 3200 in 2024, gold, kept at the review on
    // 1 January 2025. On 10 February 2025, 500 of the November order comes back.
    let refund =
        QualifyingEvent::refund(at(2024, 11, 1), Decimal::from(500), RefundScope::Partial).unwrap();
    let history = [
        Recorded::now(order(at(2024, 3, 1), 1200)),
        Recorded::now(order(at(2024, 11, 1), 2000)),
        Recorded::late(refund, at(2025, 2, 10)).unwrap(),
    ];
    // Before the refund was made: gold, as it was (the refund does not leak backwards).
    let before = p.evaluate_as_known(joined(), &history, at(2025, 2, 9)).unwrap();
    assert_eq!(before.tier, Some(1));
    assert_eq!(before.events.iter().map(|e| e.to).collect::<Vec<_>>(), [Some(0), Some(1)]);
    // From the refund on: 2024 restated at 2700, below gold: silver.
    let after = p.evaluate_as_known(joined(), &history, at(2025, 2, 10)).unwrap();
    assert_eq!(after.tier, Some(0));
    assert_eq!(after.events.len(), 1, "{:?}", after.events);
    // Contrast: the refund dated when it was made counts in 2025, and gold, secured by the
    // review, stays (what sellers could not express).
    let plain = [order(at(2024, 3, 1), 1200), order(at(2024, 11, 1), 2000), {
        QualifyingEvent::refund(at(2025, 2, 10), Decimal::from(500), RefundScope::Partial).unwrap()
    }];
    assert_eq!(p.evaluate(joined(), &plain, at(2025, 2, 10)).unwrap().tier, Some(1));
    // And dated at the order without a known time, it leaks into January: silver then.
    let leaky = [order(at(2024, 3, 1), 1200), order(at(2024, 11, 1), 2000), refund];
    assert_eq!(p.evaluate(joined(), &leaky, at(2025, 1, 15)).unwrap().tier, Some(0));
    assert_eq!(p.evaluate_as_known(joined(), &history, at(2025, 1, 15)).unwrap().tier, Some(1));
    // An event known before it happened is refused, naming it.
    assert!(Recorded::late(refund, at(2024, 10, 1)).is_err());
    let bad = [Recorded { known_at: at(2024, 10, 1), event: refund }];
    assert!(p.evaluate_as_known(joined(), &bad, at(2025, 1, 1)).is_err());
}

/// Orders on days of 2024-2025, some refunded (in part or whole) at the order with the
/// refund known 0 to 400 days later; zero delays and zero amounts are drawn often.
fn history() -> impl Strategy<Value = Vec<Recorded>> {
    let order = (0i64..730, prop_oneof![Just(0i64), 1i64..2500]);
    let refund = prop::option::weighted(
        0.5,
        (prop_oneof![Just(0u32), Just(100), 1u32..=100], prop_oneof![Just(0i64), 0i64..400]),
    );
    prop::collection::vec((order, refund), 0..12).prop_map(|orders| {
        let mut out = Vec::new();
        for ((day, amount), refund) in orders {
            let t = at(2024, 1, 1) + Duration::days(day);
            out.push(Recorded::now(QualifyingEvent::order(t, Decimal::from(amount)).unwrap()));
            if let Some((percent, delay)) = refund {
                let back = Decimal::from(amount) * Decimal::from(percent) / Decimal::from(100);
                let scope =
                    if percent == 100 { RefundScope::WholeOrder } else { RefundScope::Partial };
                let e = QualifyingEvent::refund(t, back, scope).unwrap();
                out.push(Recorded::late(e, t + Duration::days(delay)).unwrap());
            }
        }
        out
    })
}

fn demotion() -> impl Strategy<Value = Demotion> {
    prop_oneof![Just(Demotion::Never), Just(Demotion::OneLevel), Just(Demotion::Reevaluate)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Evaluation as of `t` is a function of the events known at `t` only: events learnt of
    /// later (in any number) change nothing, and it equals a plain evaluation of the known
    /// events.
    #[test]
    fn evaluation_as_of_t_sees_only_what_is_known_at_t(
        h in history(),
        later in history(),
        day in 0i64..800,
        d in demotion(),
    ) {
        let p = program(d);
        let t = at(2024, 1, 1) + Duration::days(day);
        let known: Vec<Recorded> = h.iter().copied().filter(|r| r.known_at <= t).collect();
        let got = p.evaluate_as_known(joined(), &h, t).unwrap();
        prop_assert_eq!(&got, &p.evaluate_as_known(joined(), &known, t).unwrap());
        // Events only learnt of after `t` (shifted past it) do not move the standing at `t`.
        let mut more = h.clone();
        more.extend(later.into_iter().map(|r| Recorded {
            known_at: r.known_at.max(t) + Duration::seconds(1),
            event: r.event,
        }));
        prop_assert_eq!(&got, &p.evaluate_as_known(joined(), &more, t).unwrap());
        let plain: Vec<QualifyingEvent> = known.iter().map(|r| r.event).collect();
        prop_assert_eq!(&got, &p.evaluate(joined(), &plain, t).unwrap());
    }
}
