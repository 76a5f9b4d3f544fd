//! Hand-computed evaluation scenarios.

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;

use super::*;
use crate::error::ErrorKind;

fn at(y: i32, m: u32, d: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(0, 0, 0).unwrap()
}
fn at_hms(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(h, mi, s).unwrap()
}
/// The one figure of a single-metric ladder.
fn fig(f: &Figures) -> Decimal {
    f.iter().next().map_or(Decimal::ZERO, |(_, v)| v)
}
/// What is still needed of the one metric of a single-metric ladder.
fn needed(g: Gap) -> Decimal {
    fig(&g.needed)
}
/// The gap to a spend threshold.
fn spend_gap(tier: usize, threshold: i64, needed: i64) -> Gap {
    Gap {
        tier,
        criterion: Criterion::reach(Metric::Spend, Decimal::from(threshold)).unwrap(),
        needed: Figures::default().with(Metric::Spend, Decimal::from(needed)),
    }
}
fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}
fn order(t: NaiveDateTime, amount: i64) -> QualifyingEvent {
    QualifyingEvent::order(t, Decimal::from(amount)).unwrap()
}
fn refund(t: NaiveDateTime, amount: i64) -> QualifyingEvent {
    QualifyingEvent::refund(t, Decimal::from(amount), RefundScope::Partial).unwrap()
}

/// bronze 0 / silver 500 / gold 2000 on spend.
fn ladder() -> Ladder {
    Ladder::new(
        Metric::Spend,
        vec![
            Tier::new("bronze", Decimal::ZERO).unwrap(),
            Tier::new("silver", Decimal::from(500)).unwrap(),
            Tier::new("gold", Decimal::from(2000)).unwrap(),
        ],
    )
    .unwrap()
}

fn program(window: Window, policy: Policy) -> Program {
    Program::new(ladder(), window, policy).unwrap()
}

fn kinds(s: &Standing) -> Vec<(NaiveDateTime, TierEventKind, Option<usize>)> {
    s.events.iter().map(|e| (e.at, e.kind, e.to)).collect()
}

#[test]
fn calendar_year_boundary_at_midnight() {
    let p = program(Window::CalendarYear, Policy::default().demotion(Demotion::Reevaluate));
    let j = date(2024, 1, 1);
    // 300 on the last second of 2024 and 300 at midnight 2025: never 500 in one year.
    let h = [order(at_hms(2024, 12, 31, 23, 59, 59), 300), order(at(2025, 1, 1), 300)];
    assert_eq!(p.evaluate(j, &h, at(2025, 6, 1)).unwrap().tier, Some(0));
    // 200 in June and 300 on the last second: silver at that second.
    let h = [order(at(2024, 6, 1), 200), order(at_hms(2024, 12, 31, 23, 59, 59), 300)];
    let s = p.evaluate(j, &h, at(2025, 6, 1)).unwrap();
    assert_eq!(s.tier, Some(1));
    // Bronze (threshold 0) is held from the start: the first event is the promotion to
    // silver.
    assert_eq!(s.events[0].at, at_hms(2024, 12, 31, 23, 59, 59));
    // The 2025 figure at 1 June is 0: the review on 1 January 2026 will judge it.
    assert_eq!(fig(&s.figures), Decimal::ZERO);
    assert_eq!(p.evaluate(j, &h, at(2026, 1, 1)).unwrap().tier, Some(0));
}

#[test]
fn rolling_window_boundary_is_exclusive_of_the_start() {
    let p = program(Window::rolling_months(12).unwrap(), Policy::default());
    let j = date(2024, 1, 1);
    // Exactly 12 months apart: the first order has just left the window (t - 12 months, t].
    let h = [order(at_hms(2024, 3, 15, 10, 0, 0), 300), order(at_hms(2025, 3, 15, 10, 0, 0), 200)];
    let s = p.evaluate(j, &h, at(2025, 4, 1)).unwrap();
    assert_eq!(s.tier, Some(0));
    // One second earlier it is still inside.
    let h = [order(at_hms(2024, 3, 15, 10, 0, 0), 300), order(at_hms(2025, 3, 15, 9, 59, 59), 200)];
    assert_eq!(p.evaluate(j, &h, at(2025, 4, 1)).unwrap().tier, Some(1));
}

#[test]
fn leap_day_member_is_reviewed_on_28_february() {
    let p = program(Window::Anniversary, Policy::default().demotion(Demotion::Reevaluate));
    let j = date(2024, 2, 29);
    // Membership years: [2024-02-29, 2025-02-28), [2025-02-28, 2026-02-28), ...
    // 300 on 27 Feb 2025 (year 1) + 300 on 28 Feb 2025 (year 2): silver needs both in one year.
    let h = [order(at(2025, 2, 27), 300), order(at(2025, 2, 28), 300)];
    assert_eq!(p.evaluate(j, &h, at(2025, 3, 1)).unwrap().tier, Some(0));
    let h = [order(at(2025, 2, 28), 600)];
    let s = p.evaluate(j, &h, at(2025, 3, 1)).unwrap();
    assert_eq!(s.tier, Some(1));
    assert_eq!(s.period.start(), Some(at(2025, 2, 28)));
    assert_eq!(s.period.end(), Some(at(2026, 2, 28)));
    // Kept at the review of 28 Feb 2026 (year 2 figure 600), lost at the one of 28 Feb 2027.
    assert_eq!(p.evaluate(j, &h, at_hms(2027, 2, 27, 23, 59, 59)).unwrap().tier, Some(1));
    let s = p.evaluate(j, &h, at(2027, 2, 28)).unwrap();
    assert_eq!(s.tier, Some(0));
    let e = s.events.last().unwrap();
    assert_eq!(
        (e.at, e.kind, e.cause),
        (at(2027, 2, 28), TierEventKind::Demoted, Cause::PeriodReview)
    );
    assert_eq!(e.explanation.from, Lower::From(at(2026, 2, 28)));
    assert_eq!(fig(&e.explanation.figures), Decimal::ZERO);
    // In 2028 the anniversary is 29 February again.
    assert_eq!(
        Window::Anniversary.period(at(2028, 2, 29), j).unwrap().start(),
        Some(at(2028, 2, 29))
    );
}

#[test]
fn leap_february_month_window() {
    let p = program(Window::Month, Policy::default().demotion(Demotion::Reevaluate));
    let j = date(2024, 1, 1);
    let h = [order(at(2024, 2, 1), 250), order(at_hms(2024, 2, 29, 23, 0, 0), 250)];
    let s = p.evaluate(j, &h, at(2024, 3, 1)).unwrap();
    // Silver in February, kept at the 1 March review (February figure 500).
    assert_eq!(s.tier, Some(1));
    // Lost at the 1 April review (March figure 0).
    assert_eq!(p.evaluate(j, &h, at(2024, 4, 1)).unwrap().tier, Some(0));
}

#[test]
fn year_end_demotion_one_level_at_a_time() {
    let p = program(Window::CalendarYear, Policy::default().demotion(Demotion::OneLevel));
    let j = date(2024, 1, 1);
    let h = [order(at(2024, 2, 1), 2500), order(at(2025, 5, 1), 100)];
    let s = p.evaluate(j, &h, at(2027, 6, 1)).unwrap();
    assert_eq!(
        kinds(&s),
        vec![
            (at(2024, 2, 1), TierEventKind::Promoted, Some(2)),
            // 2024 figure 2500 keeps gold at 1 Jan 2025; 2025 figure 100 < 2000 on 1 Jan 2026.
            (at(2026, 1, 1), TierEventKind::Demoted, Some(1)),
            // 2026 figure 0 < 500 on 1 Jan 2027.
            (at(2027, 1, 1), TierEventKind::Demoted, Some(0)),
        ]
    );
    let e = &s.events[1];
    assert_eq!(e.explanation.window, Window::CalendarYear);
    assert_eq!(e.explanation.from, Lower::From(at(2025, 1, 1)));
    assert_eq!(e.explanation.to, Upper::Before(at(2026, 1, 1)));
    assert_eq!(fig(&e.explanation.figures), Decimal::from(100));
    assert_eq!(e.explanation.criterion, Criterion::reach(Metric::Spend, Decimal::from(2000)).ok());
    assert_eq!(e.crossed, vec![1]);
    let text = e.describe(p.ladder());
    assert!(text.contains("demoted from gold to silver"), "{text}");
    assert!(text.contains("below the threshold 2000"), "{text}");
}

#[test]
fn reevaluation_drops_several_levels_and_reports_them() {
    let p = program(Window::CalendarYear, Policy::default().demotion(Demotion::Reevaluate));
    let j = date(2024, 1, 1);
    let h = [order(at(2024, 2, 1), 2500), order(at(2025, 5, 1), 100)];
    let s = p.evaluate(j, &h, at(2026, 1, 1)).unwrap();
    let e = s.events.last().unwrap();
    assert_eq!((e.from, e.to), (Some(2), Some(0)));
    assert_eq!(e.crossed, vec![1, 0]);
}

#[test]
fn skipped_tiers_are_all_reported() {
    let l = Ladder::new(
        Metric::Spend,
        vec![
            Tier::new("bronze", Decimal::from(100)).unwrap(),
            Tier::new("silver", Decimal::from(500)).unwrap(),
            Tier::new("gold", Decimal::from(2000)).unwrap(),
        ],
    )
    .unwrap();
    let p = Program::new(l, Window::Lifetime, Policy::default()).unwrap();
    let s = p.evaluate(date(2024, 1, 1), &[order(at(2024, 1, 2), 5000)], at(2024, 2, 1)).unwrap();
    assert_eq!(s.events.len(), 1);
    assert_eq!((s.events[0].from, s.events[0].to), (None, Some(2)));
    assert_eq!(s.events[0].crossed, vec![0, 1, 2]);
    let text = s.events[0].describe(p.ladder());
    assert!(text.contains("promoted from none to gold, passing bronze, silver"), "{text}");
}

#[test]
fn grace_period_delays_and_requalification_cancels() {
    let policy = Policy::default().demotion(Demotion::OneLevel).grace(Grace::days(30).unwrap());
    let p = program(Window::CalendarYear, policy);
    let j = date(2024, 1, 1);
    let h = [order(at(2024, 3, 1), 2500)];
    // 2025 figure 0: the review on 1 Jan 2026 starts a 30-day grace, until 31 January.
    let s = p.evaluate(j, &h, at(2026, 1, 30)).unwrap();
    assert_eq!(s.tier, Some(2));
    let pending = s.pending.unwrap();
    assert_eq!((pending.target, pending.effective_at), (Some(1), at(2026, 1, 31)));
    assert_eq!(
        s.events.last().unwrap().kind,
        TierEventKind::GraceStarted { until: at(2026, 1, 31) }
    );
    let s = p.evaluate(j, &h, at(2026, 1, 31)).unwrap();
    assert_eq!(s.tier, Some(1));
    assert_eq!(s.events.last().unwrap().cause, Cause::GraceExpired);
    // Buying 2000 in January 2026 requalifies for gold in the new year: demotion cancelled.
    let h2 = [order(at(2024, 3, 1), 2500), order(at(2026, 1, 20), 2000)];
    let s = p.evaluate(j, &h2, at(2026, 6, 1)).unwrap();
    assert_eq!(s.tier, Some(2));
    assert_eq!(s.events.last().unwrap().kind, TierEventKind::GraceCleared);
    assert!(s.pending.is_none());
    // 1999 is not enough.
    let h3 = [order(at(2024, 3, 1), 2500), order(at(2026, 1, 20), 1999)];
    assert_eq!(p.evaluate(j, &h3, at(2026, 6, 1)).unwrap().tier, Some(1));
}

#[test]
fn grace_until_the_end_of_the_next_period() {
    let policy = Policy::default().demotion(Demotion::OneLevel).grace(Grace::NextPeriodEnd);
    let p = program(Window::Quarter, policy);
    let j = date(2024, 1, 1);
    let h = [order(at(2024, 1, 10), 600)];
    // Q2 figure 0: the review on 1 July starts grace until 1 October; Q3 figure 0 too.
    assert_eq!(p.evaluate(j, &h, at(2024, 9, 30)).unwrap().tier, Some(1));
    let s = p.evaluate(j, &h, at(2024, 10, 1)).unwrap();
    assert_eq!(s.tier, Some(0));
    assert_eq!(s.events.last().unwrap().at, at(2024, 10, 1));
}

#[test]
fn refund_undoes_a_promotion_of_the_current_period() {
    let p = program(Window::CalendarYear, Policy::default().demotion(Demotion::OneLevel));
    let j = date(2024, 1, 1);
    let h = [order(at(2024, 3, 1), 100), order(at(2024, 3, 2), 500), refund(at(2024, 3, 10), 200)];
    let s = p.evaluate(j, &h, at(2024, 4, 1)).unwrap();
    // Bronze from the start; 600 → silver; refund → 400 < 500 → back to bronze.
    assert_eq!(
        kinds(&s),
        vec![
            (at(2024, 3, 2), TierEventKind::Promoted, Some(1)),
            (at(2024, 3, 10), TierEventKind::Reverted, Some(0)),
        ]
    );
    assert_eq!(s.events[1].cause, Cause::Refund);
    assert_eq!(fig(&s.events[1].explanation.figures), Decimal::from(400));
    // A smaller refund that keeps 500 changes nothing.
    let h = [order(at(2024, 3, 2), 700), refund(at(2024, 3, 10), 200)];
    assert_eq!(p.evaluate(j, &h, at(2024, 4, 1)).unwrap().tier, Some(1));
    // With refunds judged at review, the tier stays until then.
    let p2 = program(
        Window::CalendarYear,
        Policy::default().demotion(Demotion::OneLevel).refunds(RefundEffect::AtReview),
    );
    let h = [order(at(2024, 3, 2), 600), refund(at(2024, 3, 10), 200)];
    assert_eq!(p2.evaluate(j, &h, at(2024, 12, 31)).unwrap().tier, Some(1));
    assert_eq!(p2.evaluate(j, &h, at(2025, 1, 1)).unwrap().tier, Some(0));
}

#[test]
fn refund_after_a_review_does_not_undo_a_secured_tier() {
    // Never demote: gold earned in 2024 and secured by the 2025 review survives a 2025
    // refund that makes the 2025 figure negative.
    let p = program(Window::CalendarYear, Policy::default());
    let j = date(2024, 1, 1);
    let h = [order(at(2024, 3, 1), 2500), refund(at(2025, 2, 1), 2500)];
    let s = p.evaluate(j, &h, at(2025, 3, 1)).unwrap();
    assert_eq!(s.tier, Some(2));
    assert_eq!(fig(&s.figures), Decimal::from(-2500));
    // In a lifetime program the same refund undoes the promotion.
    let p = Program::new(ladder(), Window::Lifetime, Policy::default()).unwrap();
    let s = p.evaluate(j, &h, at(2025, 3, 1)).unwrap();
    assert_eq!(s.tier, Some(0));
}

#[test]
fn permanent_tier_is_never_lost() {
    let l = Ladder::new(
        Metric::Spend,
        vec![
            Tier::new("bronze", Decimal::ZERO).unwrap(),
            Tier::new("silver", Decimal::from(500))
                .unwrap()
                .with_retention(TierRetention::Permanent),
            Tier::new("gold", Decimal::from(2000)).unwrap(),
        ],
    )
    .unwrap();
    let p = Program::new(l, Window::CalendarYear, Policy::default().demotion(Demotion::Reevaluate))
        .unwrap();
    let s = p.evaluate(date(2024, 1, 1), &[order(at(2024, 3, 1), 2500)], at(2030, 1, 1)).unwrap();
    // Gold lost on 1 Jan 2026, but never below silver (passed through on the way up).
    assert_eq!(s.tier, Some(1));
    assert_eq!(s.floor, Some(1));
    assert_eq!(s.events.len(), 2);
}

#[test]
fn promotion_at_the_next_period() {
    let policy =
        Policy::default().promotion(PromotionTiming::NextPeriod).demotion(Demotion::Reevaluate);
    let p = program(Window::Quarter, policy);
    let j = date(2024, 1, 1);
    let h = [order(at(2024, 2, 10), 2500)];
    let s = p.evaluate(j, &h, at(2024, 3, 1)).unwrap();
    // Bronze's threshold is 0: every member holds it from the start.
    assert_eq!(s.tier, Some(0));
    assert_eq!(s.promotion_due, Some(2));
    let s = p.evaluate(j, &h, at(2024, 4, 1)).unwrap();
    assert_eq!(s.tier, Some(2));
    assert_eq!((s.events[0].at, s.events[0].cause), (at(2024, 4, 1), Cause::PeriodReview));
    assert_eq!(s.events[0].crossed, vec![1, 2]);
    // Q2 figure 0: everything lost on 1 July (bronze threshold 0 still holds).
    assert_eq!(p.evaluate(j, &h, at(2024, 7, 1)).unwrap().tier, Some(0));
}

#[test]
fn order_count_and_points_earned_metrics() {
    let l = Ladder::new(
        Metric::OrderCount,
        vec![
            Tier::new("regular", Decimal::from(3)).unwrap(),
            Tier::new("vip", Decimal::from(10)).unwrap(),
        ],
    )
    .unwrap();
    let p = Program::new(l, Window::Lifetime, Policy::default()).unwrap();
    let t = at(2024, 1, 1);
    let mut h: Vec<_> = (0..3).map(|i| order(t + chrono::Duration::days(i), 1)).collect();
    assert_eq!(p.evaluate(date(2024, 1, 1), &h, at(2024, 2, 1)).unwrap().tier, Some(0));
    // A partial refund keeps the order; a whole-order refund removes it.
    h.push(refund(at(2024, 1, 10), 1));
    assert_eq!(p.evaluate(date(2024, 1, 1), &h, at(2024, 2, 1)).unwrap().tier, Some(0));
    h.push(
        QualifyingEvent::refund(at(2024, 1, 11), Decimal::ONE, RefundScope::WholeOrder).unwrap(),
    );
    assert_eq!(p.evaluate(date(2024, 1, 1), &h, at(2024, 2, 1)).unwrap().tier, None);

    let l =
        Ladder::new(Metric::PointsEarned, vec![Tier::new("gold", Decimal::from(1000)).unwrap()])
            .unwrap();
    let p = Program::new(l, Window::Lifetime, Policy::default()).unwrap();
    let h = [
        QualifyingEvent::points_earned(at(2024, 1, 1), 1200).unwrap(),
        // Spending points is not in the history at all; orders do not count as points.
        order(at(2024, 1, 2), 5000),
    ];
    assert_eq!(p.evaluate(date(2024, 1, 1), &h, at(2024, 2, 1)).unwrap().tier, Some(0));
    let h = [h[0], QualifyingEvent::points_reversed(at(2024, 1, 5), 300).unwrap()];
    assert_eq!(p.evaluate(date(2024, 1, 1), &h, at(2024, 2, 1)).unwrap().tier, None);
}

#[test]
fn progress_and_projection_on_a_rolling_window() {
    let p = program(
        Window::rolling_months(3).unwrap(),
        Policy::default().demotion(Demotion::Reevaluate),
    );
    // Joined 15 Oct 2023: reviews on 15 Jan, 15 Apr, 15 Jul 2024, ...
    let j = date(2023, 10, 15);
    let h = [order(at(2024, 1, 10), 400), order(at(2024, 3, 1), 200)];
    let pr = p.progress(j, &h, at(2024, 3, 10)).unwrap();
    // Trailing 3 months at 10 March: (10 Dec, 10 Mar] holds 600 ≥ 500.
    assert_eq!(pr.standing.tier, Some(1));
    assert_eq!(fig(&pr.standing.figures), Decimal::from(600));
    assert_eq!(pr.period_end, Some(at(2024, 4, 15)));
    // The 15 April review counts (15 Jan, 15 Apr): the 10 January order will have left.
    assert_eq!(fig(&pr.projected_figures), Decimal::from(200));
    assert_eq!(pr.keep.unwrap(), spend_gap(1, 500, 300));
    assert_eq!(pr.projected, Some(0));
    assert_eq!(pr.next.unwrap(), spend_gap(2, 2000, 1400));
    // And so it happens.
    assert_eq!(p.evaluate(j, &h, at(2024, 4, 15)).unwrap().tier, Some(0));
    assert_eq!(p.evaluate(j, &h, at(2024, 4, 14)).unwrap().tier, Some(1));
    assert!(!pr.projected_pending);
}

#[test]
fn progress_with_grace_and_never() {
    let policy = Policy::default().demotion(Demotion::OneLevel).grace(Grace::months(1).unwrap());
    let p = program(Window::CalendarYear, policy);
    let pr = p.progress(date(2024, 1, 1), &[order(at(2024, 3, 1), 700)], at(2025, 6, 1)).unwrap();
    assert_eq!(pr.projected, Some(1));
    assert!(pr.projected_pending);
    assert_eq!(pr.keep_by, Some(at(2026, 1, 1)));
    // Inside the grace period (1 Jan to 1 Feb 2026): 500 in 2026 keeps silver.
    let pr = p.progress(date(2024, 1, 1), &[order(at(2024, 3, 1), 700)], at(2026, 1, 10)).unwrap();
    assert_eq!(pr.standing.tier, Some(1));
    assert_eq!(pr.keep_by, Some(at(2026, 2, 1)));
    assert_eq!(needed(pr.keep.unwrap()), Decimal::from(500));
    let p = program(Window::CalendarYear, Policy::default());
    let pr = p.progress(date(2024, 1, 1), &[order(at(2024, 3, 1), 700)], at(2025, 6, 1)).unwrap();
    assert_eq!(pr.keep, None);
}

#[test]
fn bad_input_is_typed() {
    let p = program(Window::CalendarYear, Policy::default());
    let bad = QualifyingEvent {
        at: at(2024, 1, 1),
        activity: Activity::Order { amount: Decimal::from(-5) },
    };
    let e =
        p.evaluate(date(2024, 1, 1), &[order(at(2024, 1, 1), 5), bad], at(2024, 2, 1)).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidRecord { index: 1, field: "amount", .. }));
    assert!(QualifyingEvent::order(at(2024, 1, 1), Decimal::from(-1)).is_err());
    assert!(
        QualifyingEvent::refund(at(2024, 1, 1), Decimal::from(-1), RefundScope::Partial).is_err()
    );
    assert!(QualifyingEvent::points_earned(at(2024, 1, 1), -1).is_err());
    for policy in [
        Policy::default().demotion(Demotion::OneLevel),
        Policy::default().grace(Grace::days(3).unwrap()),
        Policy::default().promotion(PromotionTiming::NextPeriod),
    ] {
        let e = Program::new(ladder(), Window::Lifetime, policy).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::InvalidInput { .. }), "{policy:?}");
    }
    // In a batch, the error names the member.
    let good = [order(at(2024, 1, 1), 5)];
    let members: [(NaiveDate, &[QualifyingEvent]); 3] =
        [(date(2024, 1, 1), &good), (date(2024, 1, 1), &good), (date(2024, 1, 1), &[bad])];
    let e = p.evaluate_all(&members, at(2024, 2, 1)).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidRecord { index: 2, field: "member history", .. }));
    assert_eq!(p.evaluate_all(&members[..2], at(2024, 2, 1)).unwrap().len(), 2);
    assert!(Grace::days(0).is_err());
    assert!(Grace::months(0).is_err());
}

#[test]
fn long_idle_spans_are_cheap_and_exact() {
    // A monthly window over 800 years with two orders: the replay skips idle reviews.
    let p = program(Window::Month, Policy::default().demotion(Demotion::OneLevel));
    let h = [order(at(1900, 1, 5), 2500), order(at(2700, 1, 5), 600)];
    let s = p.evaluate(date(1900, 1, 1), &h, at(2700, 3, 1)).unwrap();
    // Gold in Jan 1900, silver on 1 Mar 1900, bronze on 1 Apr 1900; silver again in 2700,
    // kept at the 1 Feb review, lost on 1 Mar 2700.
    assert_eq!(
        kinds(&s),
        vec![
            (at(1900, 1, 5), TierEventKind::Promoted, Some(2)),
            (at(1900, 3, 1), TierEventKind::Demoted, Some(1)),
            (at(1900, 4, 1), TierEventKind::Demoted, Some(0)),
            (at(2700, 1, 5), TierEventKind::Promoted, Some(1)),
            (at(2700, 3, 1), TierEventKind::Demoted, Some(0)),
        ]
    );
}

// ---- Review probes: boundaries, calendars, policies, panics at the limits ----

#[test]
fn rolling_reviews_tile_time_at_the_review_instant() {
    // Rolling 12 months reviewed yearly from 1 Jan 2024: reviews on 1 Jan 2025, 2026, ...
    // An order at exactly midnight 1 Jan 2025 belongs to the review of 1 Jan 2026
    // ([2025-01-01, 2026-01-01)), so gold is kept then and lost on 1 Jan 2027.
    let p = program(
        Window::rolling_months(12).unwrap(),
        Policy::default().demotion(Demotion::Reevaluate),
    );
    let j = date(2024, 1, 1);
    let h = [order(at(2025, 1, 1), 2500)];
    let s = p.evaluate(j, &h, at(2026, 1, 1)).unwrap();
    assert_eq!(s.tier, Some(2));
    let s = p.evaluate(j, &h, at(2027, 1, 1)).unwrap();
    assert_eq!(s.tier, Some(0));
    let e = s.events.last().unwrap();
    assert_eq!(e.explanation.from, Lower::From(at(2026, 1, 1)));
    assert_eq!(e.explanation.to, Upper::Before(at(2027, 1, 1)));
}

#[test]
fn quarter_and_month_windows_across_the_year_end() {
    let p = program(Window::Quarter, Policy::default().demotion(Demotion::Reevaluate));
    let j = date(2024, 1, 1);
    // Q4 2024: 300 + 300 on 31 Dec 23:59:59 → silver; an order at 1 Jan 00:00 is Q1 2025.
    let h = [
        order(at(2024, 10, 1), 300),
        order(at_hms(2024, 12, 31, 23, 59, 59), 300),
        order(at(2025, 1, 1), 100),
    ];
    let s = p.evaluate(j, &h, at(2025, 1, 1)).unwrap();
    // The 1 Jan review judged Q4 (600) and kept silver; the figure now is Q1's 100.
    assert_eq!(s.tier, Some(1));
    assert_eq!(fig(&s.figures), Decimal::from(100));
    assert_eq!(s.period.start(), Some(at(2025, 1, 1)));
    assert_eq!(s.period.end(), Some(at(2025, 4, 1)));
    assert_eq!(p.evaluate(j, &h, at(2025, 4, 1)).unwrap().tier, Some(0));
    let p = program(Window::Month, Policy::default().demotion(Demotion::OneLevel));
    let h = [order(at_hms(2024, 12, 31, 12, 0, 0), 2500)];
    // Gold in December; January figure 0 → silver on 1 Feb, bronze on 1 Mar.
    assert_eq!(p.evaluate(j, &h, at_hms(2025, 1, 31, 23, 59, 59)).unwrap().tier, Some(2));
    assert_eq!(p.evaluate(j, &h, at(2025, 2, 1)).unwrap().tier, Some(1));
    assert_eq!(p.evaluate(j, &h, at(2025, 3, 1)).unwrap().tier, Some(0));
}

#[test]
fn rolling_cycles_from_month_ends() {
    let w = Window::rolling_months(1).unwrap();
    // From 30 March 2023: 30 Apr, 30 May, ..., 28 Feb 2024? No: 29 Feb 2024 (leap), 30 Mar.
    let j = date(2023, 3, 30);
    let p = w.period(at(2024, 2, 29), j).unwrap();
    assert_eq!((p.start(), p.end()), (Some(at(2024, 2, 29)), Some(at(2024, 3, 30))));
    let p = w.period(at(2023, 2, 28), date(2022, 3, 30)).unwrap();
    assert_eq!((p.start(), p.end()), (Some(at(2023, 2, 28)), Some(at(2023, 3, 30))));
    // From 29 February, 12-month cycles: 28 Feb 2025, 28 Feb 2026, 28 Feb 2027, 29 Feb 2028.
    let w = Window::rolling_months(12).unwrap();
    let j = date(2024, 2, 29);
    let p = w.period(at(2027, 6, 1), j).unwrap();
    assert_eq!((p.start(), p.end()), (Some(at(2027, 2, 28)), Some(at(2028, 2, 29))));
    // From 31 January, 1-month cycles in a common year: 28 Feb, 31 Mar.
    let p = Window::rolling_months(1).unwrap().period(at(2023, 3, 1), date(2023, 1, 31)).unwrap();
    assert_eq!((p.start(), p.end()), (Some(at(2023, 2, 28)), Some(at(2023, 3, 31))));
}

#[test]
fn one_level_per_period_end_across_idle_periods_and_permanent_floor() {
    let l = Ladder::new(
        Metric::Spend,
        vec![
            Tier::new("bronze", Decimal::ZERO).unwrap(),
            Tier::new("silver", Decimal::from(500)).unwrap(),
            Tier::new("gold", Decimal::from(2000)).unwrap(),
            Tier::new("platinum", Decimal::from(5000)).unwrap(),
        ],
    )
    .unwrap();
    let j = date(2024, 1, 1);
    let h = [order(at(2024, 3, 1), 6000)];
    let p = Program::new(
        l.clone(),
        Window::CalendarYear,
        Policy::default().demotion(Demotion::OneLevel),
    )
    .unwrap();
    let s = p.evaluate(j, &h, at(2030, 1, 1)).unwrap();
    assert_eq!(
        kinds(&s),
        vec![
            (at(2024, 3, 1), TierEventKind::Promoted, Some(3)),
            (at(2026, 1, 1), TierEventKind::Demoted, Some(2)),
            (at(2027, 1, 1), TierEventKind::Demoted, Some(1)),
            (at(2028, 1, 1), TierEventKind::Demoted, Some(0)),
        ]
    );
    assert_eq!(s.events[0].crossed, vec![1, 2, 3]);
    assert_eq!(s.events[1].crossed, vec![2]);
    // Gold permanent: OneLevel and Reevaluate both stop at gold.
    let mut tiers = l.tiers().to_vec();
    tiers[2] = tiers[2].clone().with_retention(TierRetention::Permanent);
    let l = Ladder::new(Metric::Spend, tiers).unwrap();
    for d in [Demotion::OneLevel, Demotion::Reevaluate] {
        let p =
            Program::new(l.clone(), Window::CalendarYear, Policy::default().demotion(d)).unwrap();
        let s = p.evaluate(j, &h, at(2030, 1, 1)).unwrap();
        assert_eq!(s.tier, Some(2), "{d:?}");
        assert_eq!(s.floor, Some(2));
        assert_eq!(s.events.len(), 2, "{d:?}");
        assert_eq!(s.events[1].crossed, vec![2]);
    }
}

#[test]
fn grace_ending_exactly_at_a_period_end() {
    // Grace of 12 months from the 1 Jan 2026 review ends at the 1 Jan 2027 review.
    let policy = Policy::default().demotion(Demotion::OneLevel).grace(Grace::months(12).unwrap());
    let p = program(Window::CalendarYear, policy);
    let j = date(2024, 1, 1);
    let h = [order(at(2024, 3, 1), 2500)];
    let s = p.evaluate(j, &h, at_hms(2026, 12, 31, 23, 59, 59)).unwrap();
    assert_eq!(s.tier, Some(2));
    assert_eq!(s.pending.unwrap().effective_at, at(2027, 1, 1));
    // At the deadline: review first (2026 figure 0, still short), then the grace runs out:
    // one level only.
    let s = p.evaluate(j, &h, at(2027, 1, 1)).unwrap();
    assert_eq!(s.tier, Some(1));
    let e = s.events.last().unwrap();
    assert_eq!(
        (e.at, e.kind, e.cause),
        (at(2027, 1, 1), TierEventKind::Demoted, Cause::GraceExpired)
    );
    // 2000 spent in 2026 (a full year of requalification) clears the grace at once.
    let h2 = [order(at(2024, 3, 1), 2500), order(at(2026, 12, 31), 2000)];
    let s = p.evaluate(j, &h2, at(2027, 1, 1)).unwrap();
    assert_eq!(s.tier, Some(2));
    assert!(s.pending.is_none());
}

#[test]
fn refund_undoes_then_new_order_repromotes() {
    let p = program(Window::CalendarYear, Policy::default().demotion(Demotion::OneLevel));
    let j = date(2024, 1, 1);
    let h =
        [order(at(2024, 3, 1), 2100), refund(at(2024, 3, 5), 1700), order(at(2024, 4, 1), 1600)];
    let s = p.evaluate(j, &h, at(2024, 5, 1)).unwrap();
    assert_eq!(
        kinds(&s),
        vec![
            (at(2024, 3, 1), TierEventKind::Promoted, Some(2)),
            (at(2024, 3, 5), TierEventKind::Reverted, Some(0)),
            (at(2024, 4, 1), TierEventKind::Promoted, Some(2)),
        ]
    );
    // Reverting gold → bronze passes silver; re-promotion crosses silver and gold again.
    assert_eq!(s.events[1].crossed, vec![1, 0]);
    assert_eq!(s.events[2].crossed, vec![1, 2]);
    assert_eq!(fig(&s.events[1].explanation.figures), Decimal::from(400));
    assert_eq!(fig(&s.events[2].explanation.figures), Decimal::from(2000));
}

#[test]
fn progress_at_the_top_and_at_no_tier() {
    let l = Ladder::new(
        Metric::Spend,
        vec![
            Tier::new("silver", Decimal::from(500)).unwrap(),
            Tier::new("gold", Decimal::from(2000)).unwrap(),
        ],
    )
    .unwrap();
    let p = Program::new(l, Window::CalendarYear, Policy::default().demotion(Demotion::OneLevel))
        .unwrap();
    let j = date(2024, 1, 1);
    // No tier: 120 spent, 380 to silver; nothing to keep; projected none.
    let pr = p.progress(j, &[order(at(2024, 2, 1), 120)], at(2024, 6, 1)).unwrap();
    assert_eq!(pr.standing.tier, None);
    assert_eq!(pr.next.unwrap(), spend_gap(0, 500, 380));
    assert_eq!((pr.keep, pr.keep_by, pr.projected), (None, None, None));
    // Top tier: no next; 2000 needed by year end to keep gold, 2600 already → 0 needed.
    let pr = p.progress(j, &[order(at(2024, 2, 1), 2600)], at(2024, 6, 1)).unwrap();
    assert_eq!(pr.next, None);
    assert_eq!(needed(pr.keep.unwrap()), Decimal::ZERO);
    assert_eq!(pr.keep_by, Some(at(2025, 1, 1)));
    assert_eq!(pr.projected, Some(1));
    // Gold kept at the 1 Jan 2025 review; demoted at the 1 Jan 2026 one.
    let pr = p.progress(j, &[order(at(2024, 2, 1), 2600)], at(2025, 6, 1)).unwrap();
    assert_eq!((pr.standing.tier, pr.projected), (Some(1), Some(0)));
    assert_eq!(needed(pr.keep.unwrap()), Decimal::from(2000));
}

#[test]
fn extreme_figures_and_dates_are_errors_not_panics() {
    let no_zero_tier =
        Ladder::new(Metric::Spend, vec![Tier::new("silver", Decimal::from(500)).unwrap()]).unwrap();
    let p = Program::new(no_zero_tier, Window::CalendarYear, Policy::default()).unwrap();
    let j = date(2024, 1, 1);
    // A refund of Decimal::MAX: the gap to silver (500 + MAX) overflows.
    let h = [QualifyingEvent::refund(at(2024, 2, 1), Decimal::MAX, RefundScope::Partial).unwrap()];
    assert!(p.evaluate(j, &h, at(2024, 3, 1)).is_ok());
    let e = p.progress(j, &h, at(2024, 3, 1)).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Overflow { .. }), "{e}");
    // Two orders of Decimal::MAX overflow the sum.
    let p = program(Window::CalendarYear, Policy::default().demotion(Demotion::OneLevel));
    let h = [
        QualifyingEvent::order(at(2024, 2, 1), Decimal::MAX).unwrap(),
        QualifyingEvent::order(at(2024, 2, 2), Decimal::MAX).unwrap(),
    ];
    assert!(matches!(
        p.evaluate(j, &h, at(2024, 3, 1)).unwrap_err().kind(),
        ErrorKind::Overflow { .. }
    ));
    // At chrono's limits every window answers or errors.
    let max = NaiveDateTime::MAX;
    let min = NaiveDateTime::MIN;
    let windows = [
        Window::Lifetime,
        Window::CalendarYear,
        Window::Quarter,
        Window::Month,
        Window::rolling(1200, 1).unwrap(),
        Window::Anniversary,
    ];
    for w in windows {
        for (joined, now) in [
            (NaiveDate::MAX, max),
            (NaiveDate::MIN, min),
            (NaiveDate::MIN, max),
            (NaiveDate::MAX, min),
        ] {
            let _ = w.period(now, joined);
            let _ = w.lower_for_review(now, joined);
            let _ = w.lower_at(now, joined);
            let demotion = if w == Window::Lifetime { Demotion::Never } else { Demotion::OneLevel };
            let grace =
                if w == Window::Lifetime { Grace::None } else { Grace::months(1200).unwrap() };
            let p = Program::new(ladder(), w, Policy::default().demotion(demotion).grace(grace))
                .unwrap();
            let h = [order(now, 2500), order(min, 1), refund(max, 1)];
            let _ = p.evaluate(joined, &h, now);
            let _ = p.progress(joined, &h, now);
        }
    }
    assert!(add_months(NaiveDate::MIN, -1).is_err());
    assert!(add_months(NaiveDate::MAX, i64::MIN).is_err());
}

#[test]
fn refund_leaving_a_rolling_window_promotes_without_an_event() {
    // Rolling 12 months, reviewed yearly from 1 Jan 2023. A 300 refund of an order from
    // before the window on 10 Feb 2023 09:00 (counted when it happens) and 600 spent on
    // 1 Mar 2023: the live figure is 300, bronze.
    let p = program(Window::rolling_months(12).unwrap(), Policy::default());
    let j = date(2023, 1, 1);
    let h = [refund(at_hms(2023, 2, 10, 9, 0, 0), 300), order(at(2023, 3, 1), 600)];
    let before = p.evaluate(j, &h, at_hms(2024, 2, 10, 8, 59, 59)).unwrap();
    assert_eq!((fig(&before.figures), before.tier), (Decimal::from(300), Some(0)));
    // The refund leaves the window (t - 12 months, t] at 10 Feb 2024 09:00: 600, silver,
    // with no event on that day.
    let after = p.evaluate(j, &h, at_hms(2024, 2, 10, 9, 0, 0)).unwrap();
    assert_eq!((fig(&after.figures), after.tier), (Decimal::from(600), Some(1)));
    let e = after.events.last().unwrap();
    assert_eq!((e.at, e.kind), (at_hms(2024, 2, 10, 9, 0, 0), TierEventKind::Promoted));
    assert_eq!(fig(&e.explanation.figures), Decimal::from(600));
    // A refund on 31 March (a month end) with a one-month window leaves on 1 May, not on
    // 30 April (whose window still reaches back to 30 March).
    let p = program(Window::rolling_months(1).unwrap(), Policy::default());
    let h = [
        order(at(2023, 3, 1), 100),
        refund(at_hms(2023, 3, 31, 10, 0, 0), 100),
        order(at(2023, 4, 2), 550),
    ];
    let s = p.evaluate(j, &h, at_hms(2023, 4, 30, 23, 59, 59)).unwrap();
    assert_eq!((fig(&s.figures), s.tier), (Decimal::from(450), Some(0)));
    let s = p.evaluate(j, &h, at(2023, 5, 1)).unwrap();
    assert_eq!((fig(&s.figures), s.tier), (Decimal::from(550), Some(1)));
    let e = s.events.last().unwrap();
    assert_eq!(
        (e.at, e.kind, e.cause),
        (at(2023, 5, 1), TierEventKind::Promoted, Cause::Qualified)
    );
    assert_eq!(e.explanation.from, Lower::After(at(2023, 4, 1)));
}

#[test]
fn next_period_promotion_at_the_exact_period_start() {
    let policy =
        Policy::default().promotion(PromotionTiming::NextPeriod).demotion(Demotion::OneLevel);
    let p = program(Window::Quarter, policy);
    let j = date(2024, 1, 1);
    // 2500 at exactly midnight 1 April belongs to Q2: the 1 April review judges Q1 (figure
    // 0, bronze's threshold, held from the start), gold only on 1 July, crossing silver.
    let h = [order(at(2024, 4, 1), 2500)];
    let s = p.evaluate(j, &h, at(2024, 4, 1)).unwrap();
    assert_eq!((s.tier, s.promotion_due), (Some(0), Some(2)));
    let s = p.evaluate(j, &h, at(2024, 7, 1)).unwrap();
    assert_eq!(kinds(&s), vec![(at(2024, 7, 1), TierEventKind::Promoted, Some(2))]);
    assert_eq!(s.events[0].crossed, vec![1, 2]);
    assert_eq!(s.events[0].explanation.from, Lower::From(at(2024, 4, 1)));
    assert_eq!(s.events[0].explanation.to, Upper::Before(at(2024, 7, 1)));
    // Immediate promotion instead: gold at the order itself.
    let p = program(Window::Quarter, Policy::default().demotion(Demotion::OneLevel));
    let s = p.evaluate(j, &h, at(2024, 4, 1)).unwrap();
    assert_eq!(kinds(&s), vec![(at(2024, 4, 1), TierEventKind::Promoted, Some(2))]);
    // Q3 figure 0: one level down on 1 Oct, another on 1 Jan 2025 (year end).
    let s = p.evaluate(j, &h, at(2025, 1, 1)).unwrap();
    assert_eq!(s.tier, Some(0));
    assert_eq!(s.events.last().unwrap().at, at(2025, 1, 1));
}
