//! Either-or and all-of tier criteria ("gold if 6 orders or 3000 spent"), hand-computed.

use chrono::{NaiveDate, NaiveDateTime};
use loyalty::tiers::{
    Cause, Criterion, Demotion, Figures, Ladder, Metric, Policy, Program, QualifyingEvent,
    Recorded, RefundScope, Tier, TierEventKind, Window,
};
use loyalty::ErrorKind;
use rust_decimal::Decimal;

fn at(y: i32, m: u32, d: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(0, 0, 0).unwrap()
}
fn joined() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()
}
fn d(x: i64) -> Decimal {
    Decimal::from(x)
}
fn order(t: NaiveDateTime, amount: i64) -> QualifyingEvent {
    QualifyingEvent::order(t, d(amount)).unwrap()
}
fn refund(t: NaiveDateTime, amount: i64, scope: RefundScope) -> QualifyingEvent {
    QualifyingEvent::refund(t, d(amount), scope).unwrap()
}
fn either(orders: i64, spend: i64) -> Criterion {
    Criterion::any_of([(Metric::OrderCount, d(orders)), (Metric::Spend, d(spend))]).unwrap()
}
fn both(orders: i64, spend: i64) -> Criterion {
    Criterion::all_of([(Metric::OrderCount, d(orders)), (Metric::Spend, d(spend))]).unwrap()
}
fn figures(spend: i64, orders: i64) -> Figures {
    Figures::default().with(Metric::Spend, d(spend)).with(Metric::OrderCount, d(orders))
}

/// Silver: 3 orders or 1000 spent; gold: 6 orders or 3000 spent; calendar year.
fn either_program() -> Program {
    let ladder = Ladder::new(
        Metric::OrderCount,
        vec![
            Tier::by_criterion("silver", either(3, 1000)).unwrap(),
            Tier::by_criterion("gold", either(6, 3000)).unwrap(),
        ],
    )
    .unwrap();
    let policy = Policy::default().demotion(Demotion::Reevaluate);
    Program::new(ladder, Window::CalendarYear, policy).unwrap()
}

#[test]
fn gold_by_orders_only() {
    let p = either_program();
    // Six orders of 50: 300 spent, far from 3000, but the sixth order is the sixth.
    let h: Vec<_> = (1..=6).map(|day| order(at(2024, 2, day), 50)).collect();
    let s = p.evaluate(joined(), &h, at(2024, 3, 1)).unwrap();
    assert_eq!(s.tier, Some(1));
    assert_eq!(s.figures, figures(300, 6));
    assert_eq!(s.events.len(), 2);
    assert_eq!((s.events[0].at, s.events[0].to), (at(2024, 2, 3), Some(0)));
    assert_eq!((s.events[1].at, s.events[1].to), (at(2024, 2, 6), Some(1)));
    assert_eq!(s.events[1].explanation.criterion, Some(either(6, 3000)));
    assert_eq!(
        s.events[1].describe(p.ladder()),
        "2024-02-06 00:00:00: promoted from silver to gold: spend 300, orders 6 over the \
         calendar year [2024-01-01 00:00:00, 2024-02-06 00:00:00] met spend 3000 or orders 6"
    );
    // The day before: one order to go (1/6 missing) is nearer than 2750 of 3000.
    let pr = p.progress(joined(), &h[..5], at(2024, 2, 5)).unwrap();
    let next = pr.next.unwrap();
    assert_eq!((next.tier, next.needed), (1, Figures::default().with(Metric::OrderCount, d(1))));
    assert_eq!(next.describe(p.ladder()), "1 more orders for gold (spend 3000 or orders 6)");
    // Batch evaluation agrees.
    let all = p.evaluate_all(&[(joined(), &h[..])], at(2024, 3, 1)).unwrap();
    assert_eq!(all[0], s);
}

#[test]
fn gold_by_spend_only() {
    let p = either_program();
    let h = [order(at(2024, 2, 1), 3200)];
    let s = p.evaluate(joined(), &h, at(2024, 3, 1)).unwrap();
    assert_eq!(s.tier, Some(1));
    assert_eq!(s.figures, figures(3200, 1));
    // One order, both tiers crossed at once.
    assert_eq!(s.events.len(), 1);
    assert_eq!((s.events[0].from, s.events[0].to), (None, Some(1)));
    assert_eq!(s.events[0].crossed, vec![0, 1]);
}

#[test]
fn neither_route_reaches_gold_and_progress_takes_the_nearest() {
    let p = either_program();
    // Five orders, 2900 spent: silver by spend at the first order (1000).
    let h: Vec<_> = [1000, 1000, 500, 200, 200]
        .iter()
        .enumerate()
        .map(|(i, &a)| order(at(2024, 2, i as u32 + 1), a))
        .collect();
    let pr = p.progress(joined(), &h, at(2024, 3, 1)).unwrap();
    assert_eq!(pr.standing.tier, Some(0));
    assert_eq!(pr.standing.events.len(), 1);
    assert_eq!(pr.standing.events[0].at, at(2024, 2, 1));
    // Gold: 1 order of 6 missing (1/6) or 100 of 3000 (1/30): spend is nearer.
    let next = pr.next.unwrap();
    assert_eq!(next.needed, Figures::default().with(Metric::Spend, d(100)));
    assert_eq!(next.describe(p.ladder()), "100 more spend for gold (spend 3000 or orders 6)");
    // Silver is met on both routes by the year end: nothing needed (ties go to spend).
    let keep = pr.keep.unwrap();
    assert!(keep.is_met());
    assert_eq!(keep.needed, Figures::default().with(Metric::Spend, d(0)));
    assert_eq!(keep.describe(p.ladder()), "silver: met (spend 1000 or orders 3)");
    assert_eq!(pr.projected, Some(0));
    assert_eq!(pr.projected_figures, figures(2900, 5));
}

#[test]
fn a_refund_undoes_the_route_it_breaks_only() {
    let p = either_program();
    // Gold by spend (3100 on two orders); a 200 refund leaves 2900 and 2 orders.
    let h = [
        order(at(2024, 2, 1), 1800),
        order(at(2024, 2, 2), 1300),
        refund(at(2024, 2, 10), 200, RefundScope::Partial),
    ];
    let s = p.evaluate(joined(), &h, at(2024, 3, 1)).unwrap();
    assert_eq!(s.tier, Some(0));
    let e = s.events.last().unwrap();
    assert_eq!(
        (e.kind, e.cause, e.from, e.to),
        (TierEventKind::Reverted, Cause::Refund, Some(1), Some(0))
    );
    assert_eq!(e.explanation.figures, figures(2900, 2));
    assert!(e.describe(p.ladder()).ends_with("missed spend 3000 or orders 6"));

    // Gold on both routes (6 orders, 3300): a partial refund breaks the spend route only,
    // the orders route holds; a whole-order refund then breaks that one too.
    let mut h: Vec<_> = (1..=6).map(|day| order(at(2024, 2, day), 550)).collect();
    h.push(refund(at(2024, 2, 10), 500, RefundScope::Partial));
    let s = p.evaluate(joined(), &h, at(2024, 3, 1)).unwrap();
    assert_eq!((s.tier, s.figures), (Some(1), figures(2800, 6)));
    assert!(s.events.iter().all(|e| e.kind == TierEventKind::Promoted));
    h.push(refund(at(2024, 2, 11), 550, RefundScope::WholeOrder));
    let s = p.evaluate(joined(), &h, at(2024, 3, 1)).unwrap();
    assert_eq!((s.tier, s.figures), (Some(0), figures(2250, 5)));
    let e = s.events.last().unwrap();
    assert_eq!((e.kind, e.at), (TierEventKind::Reverted, at(2024, 2, 11)));
}

#[test]
fn all_of_progress_lists_every_missing_part() {
    let ladder = Ladder::new(
        Metric::Spend,
        vec![
            Tier::by_criterion("silver", either(3, 1000)).unwrap(),
            Tier::by_criterion("gold", both(6, 3000)).unwrap(),
        ],
    )
    .unwrap();
    let p = Program::new(ladder, Window::CalendarYear, Policy::default()).unwrap();
    let mut h: Vec<_> = (1..=4).map(|day| order(at(2024, 2, day), 375)).collect();
    let pr = p.progress(joined(), &h, at(2024, 3, 1)).unwrap();
    assert_eq!(pr.standing.tier, Some(0));
    let next = pr.next.unwrap();
    assert_eq!(next.needed, figures(1500, 2));
    assert_eq!(
        next.describe(p.ladder()),
        "1500 more spend and 2 more orders for gold (spend 3000 and orders 6)"
    );
    // 3500 spent on 5 orders: spend is met, one order is not.
    h.push(order(at(2024, 3, 2), 2000));
    let pr = p.progress(joined(), &h, at(2024, 3, 3)).unwrap();
    assert_eq!(pr.standing.tier, Some(0));
    assert_eq!(pr.next.unwrap().needed, figures(0, 1));
    assert_eq!(
        pr.next.unwrap().describe(p.ladder()),
        "1 more orders for gold (spend 3000 and orders 6)"
    );
    h.push(order(at(2024, 3, 4), 10));
    assert_eq!(p.evaluate(joined(), &h, at(2024, 3, 5)).unwrap().tier, Some(1));
}

#[test]
fn a_review_judges_every_route() {
    let p = either_program();
    // Gold by spend in 2024; 2025 has 3 orders of 100: silver by orders only.
    let h = [
        order(at(2024, 2, 1), 3200),
        order(at(2025, 3, 1), 100),
        order(at(2025, 3, 2), 100),
        order(at(2025, 3, 3), 100),
    ];
    // The 1 January 2025 review sees 2024's 3200: gold kept.
    assert_eq!(p.evaluate(joined(), &h, at(2025, 12, 31)).unwrap().tier, Some(1));
    let s = p.evaluate(joined(), &h, at(2026, 2, 1)).unwrap();
    assert_eq!(s.tier, Some(0));
    let e = s.events.last().unwrap();
    assert_eq!(
        (e.kind, e.at, e.from, e.to),
        (TierEventKind::Demoted, at(2026, 1, 1), Some(1), Some(0))
    );
    assert_eq!(e.explanation.figures, figures(300, 3));
    assert!(
        e.describe(p.ladder()).ends_with("missed spend 3000 or orders 6"),
        "{}",
        e.describe(p.ladder())
    );
}

#[test]
fn a_late_refund_restates_the_period_without_leaking_backwards() {
    let p = either_program();
    // Gold by spend in November; 2500 of it refunded on 15 January, dated at the order.
    let o = order(at(2024, 11, 10), 3200);
    let r = refund(at(2024, 11, 10), 2500, RefundScope::Partial);
    let h = [Recorded::now(o), Recorded::late(r, at(2025, 1, 15)).unwrap()];
    let before = p.evaluate_as_known(joined(), &h, at(2025, 1, 10)).unwrap();
    assert_eq!(before.tier, Some(1));
    // As known after the refund: 700 on one order never reached silver.
    let after = p.evaluate_as_known(joined(), &h, at(2025, 2, 1)).unwrap();
    assert_eq!((after.tier, after.events.len()), (None, 0));
}

#[test]
fn ladders_that_are_not_ordered_are_refused() {
    let tiers = |a: Tier, b: Tier| Ladder::new(Metric::Spend, vec![a, b]);
    let crit = |name: &str, c: Criterion| Tier::by_criterion(name, c).unwrap();
    // Gold's spend route skips a silver of orders only.
    let silver = Tier::new("silver", d(3)).unwrap();
    let e =
        Ladder::new(Metric::OrderCount, vec![silver, crit("gold", either(6, 3000))]).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::InvalidRecord { index: 1, field: "criterion", .. }),
        "{e}"
    );
    // The same criterion twice: gold asks for no more than silver.
    let e = tiers(crit("silver", either(3, 1000)), crit("gold", either(3, 1000))).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::InvalidRecord { index: 1, field: "criterion", .. }),
        "{e}"
    );
    // Tiers out of order.
    let e = tiers(crit("gold", either(6, 3000)), crit("silver", either(3, 1000))).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::InvalidRecord { index: 1, field: "criterion", .. }),
        "{e}"
    );
    // Either-or below all-of of the same targets is ordered; the reverse is not.
    assert!(tiers(crit("silver", either(6, 3000)), crit("gold", both(6, 3000))).is_ok());
    assert!(tiers(crit("silver", both(6, 3000)), crit("gold", either(6, 3000))).is_err());
    // Empty either-or, a metric named twice, a fractional order count.
    assert!(matches!(Criterion::any_of([]).unwrap_err().kind(), ErrorKind::EmptyInput { .. }));
    assert!(Criterion::any_of([(Metric::Spend, d(1)), (Metric::Spend, d(5))]).is_err());
    assert!(Criterion::reach(Metric::OrderCount, Decimal::new(25, 1)).is_err());
}

#[cfg(feature = "serde")]
#[test]
fn criteria_round_trip_in_format_version_2() {
    let p = either_program();
    let json = serde_json::to_string(&p).unwrap();
    assert!(json.starts_with(r#"{"version":2,"#), "{json}");
    assert!(json.contains(r#""criterion":{"any_of":[{"metric":"spend","threshold":"3000"},{"metric":"order_count","threshold":"6"}]}"#), "{json}");
    let back: Program = serde_json::from_str(&json).unwrap();
    assert_eq!(back, p);
    // A stored tier with both a threshold and a criterion is refused.
    let bad = json.replacen(r#""criterion""#, r#""threshold":"1","criterion""#, 1);
    assert!(serde_json::from_str::<Program>(&bad).is_err());
    // A stored ladder out of order is refused as the constructor refuses it.
    let swapped = json.replace(r#""threshold":"3000""#, r#""threshold":"500""#);
    assert!(serde_json::from_str::<Program>(&swapped).is_err());
}
