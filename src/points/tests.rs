//! Hand-computed scenarios for the ledger.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::*;
use crate::error::ErrorKind;
use crate::money::{Currency, Money, Rounding};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn usd(cents: i64) -> Money {
    Money::new(Decimal::new(cents, 2), Currency::USD)
}

fn program() -> Program {
    Program::new(
        EarnRules::new(Currency::USD, Decimal::ONE).unwrap(),
        RedemptionRules::new(Points::new(100), usd(1000)).unwrap(),
    )
    .unwrap()
}

fn k(n: u128) -> OpKey {
    OpKey::new(n)
}

fn p(n: u64) -> Points {
    Points::new(n)
}

fn earn(points: u64) -> EarnRequest {
    EarnRequest::new(p(points))
}

fn big_order() -> Money {
    usd(100_000_000)
}

fn kind(r: Result<impl std::fmt::Debug>) -> ErrorKind {
    r.unwrap_err().into_kind()
}

#[test]
fn spends_soonest_expiring_first_then_non_expiring_then_earn_date_then_id() {
    let never = program();
    let rolling = program().expiry(Expiry::rolling(Span::Days(30)).unwrap());
    let short = program().expiry(Expiry::rolling(Span::Days(5)).unwrap());
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&never, k(1), &earn(10), d(2026, 1, 1)).unwrap(); // lot 0: never expires
    a.earn(&rolling, k(2), &earn(20), d(2026, 2, 1)).unwrap(); // lot 1: through Mar 3
    a.earn(&rolling, k(3), &earn(30), d(2026, 2, 1)).unwrap(); // lot 2: through Mar 3
                                                               // Lots 1 and 2 share expiry and earn date: the lower id goes first; lot 0 goes last.
    let out =
        a.redeem(&never, k(4), &RedeemRequest::new(p(25), big_order()), d(2026, 2, 2)).unwrap();
    assert_eq!(out.points, p(25));
    let remaining: Vec<u64> = a.lots().iter().map(|l| l.remaining().value()).collect();
    assert_eq!(remaining, vec![10, 0, 25]);
    let e = a.entry_for(k(4)).unwrap();
    assert_eq!(
        a.draws(e),
        &[Draw { lot: LotId::new(1), points: p(20) }, Draw { lot: LotId::new(2), points: p(5) }]
    );
    // A lot earned later but expiring sooner (Feb 8) is spent before lot 2 (Mar 3).
    a.earn(&short, k(5), &earn(7), d(2026, 2, 3)).unwrap();
    a.redeem(&never, k(6), &RedeemRequest::new(p(8), big_order()), d(2026, 2, 3)).unwrap();
    let remaining: Vec<u64> = a.lots().iter().map(|l| l.remaining().value()).collect();
    assert_eq!(remaining, vec![10, 0, 24, 0]);
    // Same expiry, different earn dates: the earlier earn goes first.
    let mut b = Account::new(MemberId::new(2), d(2026, 1, 1));
    let fixed = program().expiry(Expiry::fixed_dates(&[MonthDay::new(12, 31).unwrap()]).unwrap());
    b.earn(&fixed, k(1), &earn(5), d(2026, 3, 1)).unwrap();
    b.earn(&fixed, k(2), &earn(5), d(2026, 2, 1)).unwrap_err(); // time never runs backwards
    b.earn(&fixed, k(2), &earn(5), d(2026, 4, 1)).unwrap();
    b.redeem(&never, k(3), &RedeemRequest::new(p(6), big_order()), d(2026, 4, 1)).unwrap();
    let remaining: Vec<u64> = b.lots().iter().map(|l| l.remaining().value()).collect();
    assert_eq!(remaining, vec![0, 4]);
    a.check().unwrap();
    b.check().unwrap();
}

#[test]
fn pending_until_a_date_activates_then_starts_its_expiry_clock() {
    let prog = program().expiry(Expiry::rolling(Span::Months(1)).unwrap());
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    let req = earn(50).pending(Pending::Until(d(2026, 1, 31))).for_order(usd(5000));
    let o = a.earn(&prog, k(1), &req, d(2026, 1, 2)).unwrap();
    assert_eq!(o.valid_through, None);
    assert_eq!(a.balances().pending, p(50));
    assert_eq!(a.balances().available, p(0));
    // Not spendable before the date.
    let r = a.redeem(&prog, k(2), &RedeemRequest::new(p(10), big_order()), d(2026, 1, 30));
    assert!(matches!(kind(r), ErrorKind::Insufficient { .. }));
    // On the date: activated, valid through Jan 31 + 1 month = Feb 28.
    let x = a.expire(&prog, d(2026, 1, 31)).unwrap();
    assert_eq!(x.activated, p(50));
    assert_eq!(a.lots()[0].valid_through(), Some(d(2026, 2, 28)));
    assert_eq!(a.balances().available, p(50));
    // Still valid on Feb 28, expired on Mar 1.
    assert_eq!(a.expire(&prog, d(2026, 2, 28)).unwrap(), ExpireOutcome::default());
    let x = a.expire(&prog, d(2026, 3, 1)).unwrap();
    assert_eq!(x.expired, p(50));
    // Idempotent.
    let before = a.clone();
    assert_eq!(a.expire(&prog, d(2026, 3, 1)).unwrap(), ExpireOutcome::default());
    assert_eq!(a, before);
    assert_eq!(a.totals().expired, p(50));
    a.check().unwrap();
}

#[test]
fn late_advance_uses_the_scheduled_activation_date() {
    // Nothing happens for months: the activation is dated on its day, the expiry counts
    // from there, and both land in one call.
    let prog = program().expiry(Expiry::rolling(Span::Days(10)).unwrap());
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &earn(40).pending(Pending::Until(d(2026, 1, 5))), d(2026, 1, 1)).unwrap();
    let x = a.expire(&prog, d(2026, 6, 1)).unwrap();
    assert_eq!((x.activated, x.expired), (p(40), p(40)));
    assert_eq!(a.lots()[0].valid_through(), Some(d(2026, 1, 15)));
    let kinds: Vec<_> = a.entries().iter().map(|e| (e.at(), e.key())).collect();
    assert_eq!(kinds[1], (d(2026, 1, 5), None));
    assert_eq!(kinds[2], (d(2026, 6, 1), None));
    a.check().unwrap();
}

#[test]
fn manual_activation_and_cancellation() {
    let prog = program();
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &earn(30).pending(Pending::UntilActivated), d(2026, 1, 1)).unwrap();
    a.earn(&prog, k(2), &earn(20).pending(Pending::UntilActivated), d(2026, 1, 1)).unwrap();
    // A scheduled expire never activates manual lots.
    a.expire(&prog, d(2027, 1, 1)).unwrap();
    assert_eq!(a.balances().pending, p(50));
    let o = a.activate(&prog, k(3), k(1), d(2027, 1, 2)).unwrap();
    assert_eq!(o.points, p(30));
    assert_eq!(a.cancel_pending(&prog, k(4), k(2), d(2027, 1, 2)).unwrap(), p(20));
    assert_eq!(a.balances().available, p(30));
    assert_eq!(a.balances().pending, p(0));
    assert_eq!(a.totals().cancelled, p(20));
    // Not pending any more.
    let before = a.clone();
    assert!(matches!(
        kind(a.activate(&prog, k(5), k(1), d(2027, 1, 2))),
        ErrorKind::InvalidState { .. }
    ));
    assert!(matches!(
        kind(a.cancel_pending(&prog, k(6), k(1), d(2027, 1, 2))),
        ErrorKind::InvalidState { .. }
    ));
    assert!(matches!(
        kind(a.activate(&prog, k(7), k(99), d(2027, 1, 2))),
        ErrorKind::NotFound { .. }
    ));
    assert_eq!(a, before);
    // Replays.
    assert_eq!(a.cancel_pending(&prog, k(4), k(2), d(2027, 1, 2)).unwrap(), p(20));
    assert_eq!(a.activate(&prog, k(3), k(1), d(2027, 1, 2)).unwrap(), o);
    assert!(matches!(
        kind(a.activate(&prog, k(3), k(2), d(2027, 1, 2))),
        ErrorKind::IdempotencyConflict { .. }
    ));
    assert_eq!(a, before);
    a.check().unwrap();
}

#[test]
fn reserve_commit_release() {
    let prog = program().expiry(Expiry::rolling(Span::Days(10)).unwrap());
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &earn(100), d(2026, 1, 1)).unwrap(); // valid through Jan 11
    a.earn(&prog, k(2), &earn(100), d(2026, 1, 5)).unwrap(); // valid through Jan 15
    let r1 =
        a.reserve(&prog, k(3), &RedeemRequest::new(p(150), big_order()), d(2026, 1, 6)).unwrap();
    assert_eq!(r1.value, usd(1500));
    let id1 = r1.reservation.unwrap();
    assert_eq!(a.balances().available, p(50));
    assert_eq!(a.balances().reserved, p(150));
    let c = a.commit(&prog, k(4), id1, d(2026, 1, 6)).unwrap();
    assert_eq!(c.points, p(150));
    assert_eq!(a.totals().redeemed, p(150));
    assert_eq!(a.balances().reserved, p(0));
    // Committed is terminal.
    let before = a.clone();
    assert!(matches!(
        kind(a.release(&prog, k(5), id1, d(2026, 1, 6))),
        ErrorKind::InvalidState { .. }
    ));
    assert!(matches!(
        kind(a.commit(&prog, k(5), id1, d(2026, 1, 6))),
        ErrorKind::InvalidState { .. }
    ));
    assert!(matches!(
        kind(a.commit(&prog, k(5), ReservationId::new(9), d(2026, 1, 6))),
        ErrorKind::NotFound { .. }
    ));
    assert_eq!(a, before);
    // Release puts points back into the lot they came from, with its expiry.
    let r2 =
        a.reserve(&prog, k(6), &RedeemRequest::new(p(50), big_order()), d(2026, 1, 7)).unwrap();
    assert_eq!(a.lots()[1].remaining(), p(0));
    let rel = a.release(&prog, k(7), r2.reservation.unwrap(), d(2026, 1, 8)).unwrap();
    assert_eq!(rel, ReleaseOutcome { returned: p(50), expired: p(0), debt_repaid: p(0) });
    assert_eq!(a.lots()[1].remaining(), p(50));
    assert_eq!(a.lots()[1].valid_through(), Some(d(2026, 1, 15)));
    // Reserved over the lot's expiry: released points expire.
    let r3 =
        a.reserve(&prog, k(8), &RedeemRequest::new(p(50), big_order()), d(2026, 1, 9)).unwrap();
    let rel = a.release(&prog, k(9), r3.reservation.unwrap(), d(2026, 1, 20)).unwrap();
    assert_eq!(rel, ReleaseOutcome { returned: p(0), expired: p(50), debt_repaid: p(0) });
    assert_eq!(a.balances().available, p(0));
    assert_eq!(a.totals().expired, p(50));
    a.check().unwrap();
}

#[test]
fn balance_does_not_collapse_when_a_partly_spent_lot_expires() {
    // FloCafe #78: expiry must zero only the lot's remainder, not subtract old debits again.
    let prog = program().expiry(Expiry::rolling(Span::Days(30)).unwrap());
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &earn(100), d(2026, 1, 1)).unwrap();
    a.earn(&prog, k(2), &earn(100), d(2026, 1, 20)).unwrap();
    a.redeem(&prog, k(3), &RedeemRequest::new(p(80), big_order()), d(2026, 1, 25)).unwrap();
    let x = a.expire(&prog, d(2026, 2, 1)).unwrap();
    assert_eq!(x.expired, p(20));
    assert_eq!(a.balances().available, p(100));
    a.check().unwrap();
}

#[test]
fn inactivity_expires_the_whole_balance_but_not_pending() {
    let prog = program().expiry(Expiry::inactivity(30).unwrap());
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &earn(60), d(2026, 1, 1)).unwrap();
    a.earn(&prog, k(2), &earn(40).pending(Pending::UntilActivated), d(2026, 1, 1)).unwrap();
    // Valid through Jan 31.
    let warn = a.expiring_before(&prog, d(2026, 2, 2));
    assert_eq!(warn, vec![ExpiringLot { lot: None, points: p(60), valid_through: d(2026, 1, 31) }]);
    assert_eq!(a.expire(&prog, d(2026, 1, 31)).unwrap().expired, p(0));
    assert_eq!(a.expire(&prog, d(2026, 2, 1)).unwrap().expired, p(60));
    assert_eq!(a.balances().pending, p(40));
    a.check().unwrap();
    // A redemption is activity: it restarts the window.
    let mut b = Account::new(MemberId::new(2), d(2026, 1, 1));
    b.earn(&prog, k(1), &earn(300), d(2026, 1, 1)).unwrap();
    b.redeem(&prog, k(2), &RedeemRequest::new(p(100), big_order()), d(2026, 1, 20)).unwrap();
    assert_eq!(b.expire(&prog, d(2026, 2, 15)).unwrap().expired, p(0));
    assert_eq!(b.expire(&prog, d(2026, 2, 20)).unwrap().expired, p(200));
}

#[test]
fn inactivity_and_scheduled_activation_interleave_by_date() {
    let prog = program().expiry(Expiry::inactivity(10).unwrap());
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &earn(60), d(2026, 1, 1)).unwrap(); // idle window ends Jan 11
    a.earn(&prog, k(2), &earn(40).pending(Pending::Until(d(2026, 1, 20))), d(2026, 1, 1)).unwrap();
    // On Jan 12 the 60 expired; on Jan 20 the 40 activate and restart the window.
    let x = a.expire(&prog, d(2026, 1, 25)).unwrap();
    assert_eq!((x.activated, x.expired), (p(40), p(60)));
    assert_eq!(a.balances().available, p(40));
    a.check().unwrap();
}

#[test]
fn expiring_before_lists_lots_soonest_first() {
    let prog = program().expiry(Expiry::rolling(Span::Days(30)).unwrap());
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &earn(10), d(2026, 1, 1)).unwrap(); // through Jan 31
    a.earn(&prog, k(2), &earn(20), d(2026, 1, 15)).unwrap(); // through Feb 14
    a.earn(&program(), k(3), &earn(5), d(2026, 1, 15)).unwrap(); // never
    let w = a.expiring_before(&prog, d(2026, 2, 14));
    assert_eq!(
        w,
        vec![ExpiringLot {
            lot: Some(LotId::new(0)),
            points: p(10),
            valid_through: d(2026, 1, 31)
        }]
    );
    assert_eq!(a.expiring_before(&prog, d(2026, 2, 15)).len(), 2);
    assert_eq!(a.expiring_before(&prog, d(9999, 1, 1)).len(), 2);
}

fn refund_program(policy: ClawbackPolicy) -> Program {
    program().clawback(policy)
}

#[test]
fn proportional_refund_from_recorded_points() {
    // Open Loyalty's example: 70 points on a 40 EUR order, 20 EUR returned -> 35 points.
    let eur = |n: i64| Money::new(Decimal::from(n), Currency::EUR);
    let prog = refund_program(ClawbackPolicy::WithinBalance);
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &earn(70).for_order(eur(40)), d(2026, 1, 1)).unwrap();
    let o = a.refund(&prog, k(2), &RefundRequest::new(k(1), eur(20)), d(2026, 1, 3)).unwrap();
    assert_eq!(o.requested, p(35));
    assert_eq!(o.from_available, p(35));
    assert_eq!(a.balances().available, p(35));
    // Refund in another currency than the order: typed error, nothing changes.
    let before = a.clone();
    let r = a.refund(&prog, k(3), &RefundRequest::new(k(1), usd(100)), d(2026, 1, 3));
    assert!(matches!(kind(r), ErrorKind::CurrencyMismatch { .. }));
    // More than the order total.
    let r = a.refund(&prog, k(3), &RefundRequest::new(k(1), eur(21)), d(2026, 1, 3));
    assert!(matches!(kind(r), ErrorKind::InvalidInput { .. }));
    let r = a.refund(&prog, k(3), &RefundRequest::new(k(1), eur(0)), d(2026, 1, 3));
    assert!(matches!(kind(r), ErrorKind::InvalidInput { .. }));
    let r = a.refund(&prog, k(3), &RefundRequest::new(k(77), eur(1)), d(2026, 1, 3));
    assert!(matches!(kind(r), ErrorKind::NotFound { .. }));
    assert_eq!(a, before);
    // Replay: nothing deducted twice (Odoo #212922).
    assert_eq!(
        a.refund(&prog, k(2), &RefundRequest::new(k(1), eur(20)), d(2026, 1, 3)).unwrap(),
        o
    );
    assert_eq!(a, before);
}

#[test]
fn partial_refunds_add_up_to_exactly_the_points_earned() {
    // 100 points on $30; three $10 refunds with floor rounding on the cumulative share:
    // floor(33.3) = 33, floor(66.6) - 33 = 33, 100 - 66 = 34.
    let prog = refund_program(ClawbackPolicy::WithinBalance);
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &earn(100).for_order(usd(3000)), d(2026, 1, 1)).unwrap();
    let got: Vec<u64> = (0..3)
        .map(|i| {
            a.refund(&prog, k(10 + i), &RefundRequest::new(k(1), usd(1000)), d(2026, 1, 2))
                .unwrap()
                .requested
                .value()
        })
        .collect();
    assert_eq!(got, vec![33, 33, 34]);
    assert_eq!(a.balances().available, p(0));
    assert_eq!(a.totals().clawed_back, p(100));
    let r = a.refund(&prog, k(20), &RefundRequest::new(k(1), usd(1)), d(2026, 1, 2));
    assert!(matches!(kind(r), ErrorKind::InvalidInput { .. }));
    a.check().unwrap();
}

#[test]
fn refund_uses_recorded_points_not_todays_rules() {
    // Earned at 1 point per dollar; the program now pays 5 per dollar. A half refund
    // takes half of the 51 points recorded (floor 25.5 = 25), not half of 255.
    let prog = refund_program(ClawbackPolicy::WithinBalance);
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &earn(51).for_order(usd(5100)), d(2026, 1, 1)).unwrap();
    let richer = Program::new(
        EarnRules::new(Currency::USD, Decimal::from(5)).unwrap(),
        RedemptionRules::new(Points::new(100), usd(1000)).unwrap(),
    )
    .unwrap();
    let o = a.refund(&richer, k(2), &RefundRequest::new(k(1), usd(2550)), d(2026, 1, 2)).unwrap();
    assert_eq!(o.requested, p(25)); // floor(51 / 2)
}

#[test]
fn capped_awards_record_requested_and_awarded() {
    let rules = EarnRules::new(Currency::USD, Decimal::ONE)
        .unwrap()
        .order_cap(Cap { limit: p(100), mode: CapMode::Reduce });
    let prog = Program::new(rules, RedemptionRules::new(p(100), usd(1000)).unwrap()).unwrap();
    let order = Order::new(vec![OrderLine::new("tv", usd(49_900))]);
    let quote = prog.earn_rules().quote(&order, &EarnContext::new(d(2026, 1, 1))).unwrap();
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &EarnRequest::from_quote(&quote), d(2026, 1, 1)).unwrap();
    match a.entries()[0].kind() {
        EntryKind::Earn { request, .. } => {
            assert_eq!((request.requested(), request.points()), (p(499), p(100)));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(a.balances().available, p(100));
}

#[test]
fn clawback_policies_when_points_were_spent() {
    // 100 points earned on $100 order (lot 0), 50 from another order (lot 1); 120 redeemed;
    // the first order is fully refunded: 100 to claw back, 30 spendable left.
    let setup = |policy| {
        let prog = refund_program(policy);
        let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
        a.earn(&prog, k(1), &earn(100).for_order(usd(10_000)), d(2026, 1, 1)).unwrap();
        a.earn(&prog, k(2), &earn(50).for_order(usd(5000)), d(2026, 1, 1)).unwrap();
        a.redeem(&prog, k(3), &RedeemRequest::new(p(120), big_order()), d(2026, 1, 2)).unwrap();
        (prog, a)
    };
    let full = |a: &mut Account, prog: &Program| {
        a.refund(prog, k(4), &RefundRequest::new(k(1), usd(10_000)), d(2026, 1, 3)).unwrap()
    };

    let (prog, mut a) = setup(ClawbackPolicy::OnlyFromPending);
    let o = full(&mut a, &prog);
    assert_eq!(o, RefundOutcome { requested: p(100), forgiven: p(100), ..Default::default() });
    assert_eq!(a.balances().available, p(30));

    let (prog, mut a) = setup(ClawbackPolicy::WithinBalance);
    let o = full(&mut a, &prog);
    assert_eq!(
        o,
        RefundOutcome {
            requested: p(100),
            from_available: p(30),
            forgiven: p(70),
            ..Default::default()
        }
    );
    assert_eq!(a.balances().available, p(0));
    assert_eq!(a.balances().debt, p(0));

    let (prog, mut a) = setup(ClawbackPolicy::CarryDebt);
    let o = full(&mut a, &prog);
    assert_eq!(
        o,
        RefundOutcome {
            requested: p(100),
            from_available: p(30),
            debt: p(70),
            ..Default::default()
        }
    );
    assert_eq!(a.balances().debt, p(70));
    a.check().unwrap();
    // Redemption checks the spendable balance only (EC-CUBE #5730 blocks checkout instead).
    let r = a.redeem(&prog, k(5), &RedeemRequest::new(p(1), big_order()), d(2026, 1, 4));
    assert!(matches!(kind(r), ErrorKind::Insufficient { .. }));
    // Later earnings repay the debt first: 50 -> debt 20; 45 -> 25 spendable.
    let e = a.earn(&prog, k(6), &earn(50), d(2026, 1, 5)).unwrap();
    assert_eq!(e.debt_repaid, p(50));
    assert_eq!(a.balances().debt, p(20));
    assert_eq!(a.balances().available, p(0));
    let e = a.earn(&prog, k(7), &earn(45), d(2026, 1, 6)).unwrap();
    assert_eq!(e.debt_repaid, p(20));
    assert_eq!(a.balances().available, p(25));
    assert_eq!(a.totals().debt_repaid, p(70));
    a.check().unwrap();
}

#[test]
fn refund_takes_pending_points_first() {
    let prog = refund_program(ClawbackPolicy::OnlyFromPending);
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    let req = earn(80).for_order(usd(8000)).pending(Pending::Until(d(2026, 1, 15)));
    a.earn(&prog, k(1), &req, d(2026, 1, 1)).unwrap();
    let o = a.refund(&prog, k(2), &RefundRequest::new(k(1), usd(2000)), d(2026, 1, 5)).unwrap();
    assert_eq!(o, RefundOutcome { requested: p(20), from_pending: p(20), ..Default::default() });
    assert_eq!(a.balances().pending, p(60));
    a.expire(&prog, d(2026, 1, 15)).unwrap();
    assert_eq!(a.balances().available, p(60));
    // After activation, only-from-pending recovers nothing more.
    let o = a.refund(&prog, k(3), &RefundRequest::new(k(1), usd(6000)), d(2026, 1, 16)).unwrap();
    assert_eq!(o, RefundOutcome { requested: p(60), forgiven: p(60), ..Default::default() });
    // Cancelled earns are not chased again.
    let mut b = Account::new(MemberId::new(2), d(2026, 1, 1));
    b.earn(
        &prog,
        k(1),
        &earn(80).for_order(usd(8000)).pending(Pending::UntilActivated),
        d(2026, 1, 1),
    )
    .unwrap();
    b.cancel_pending(&prog, k(2), k(1), d(2026, 1, 2)).unwrap();
    let o = b.refund(&prog, k(3), &RefundRequest::new(k(1), usd(8000)), d(2026, 1, 3)).unwrap();
    assert_eq!(o.requested, p(0));
    a.check().unwrap();
    b.check().unwrap();
}

#[test]
fn refund_never_mints() {
    for policy in
        [ClawbackPolicy::OnlyFromPending, ClawbackPolicy::WithinBalance, ClawbackPolicy::CarryDebt]
    {
        let prog = refund_program(policy);
        let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
        a.earn(&prog, k(1), &earn(10).for_order(usd(1000)), d(2026, 1, 1)).unwrap();
        a.redeem(&prog, k(2), &RedeemRequest::new(p(10), big_order()), d(2026, 1, 1)).unwrap();
        let before = a.balances();
        a.refund(&prog, k(3), &RefundRequest::new(k(1), usd(1000)), d(2026, 1, 2)).unwrap();
        let after = a.balances();
        assert!(after.available <= before.available);
        assert!(after.pending <= before.pending);
        assert!(after.debt >= before.debt);
    }
}

#[test]
fn idempotency_replays_and_conflicts() {
    let prog = program();
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    let o = a.earn(&prog, k(1), &earn(10), d(2026, 1, 1)).unwrap();
    a.earn(&prog, k(2), &earn(10), d(2026, 1, 5)).unwrap();
    let snapshot = a.clone();
    // An exact replay, even at a later or earlier date, returns the original outcome.
    assert_eq!(a.earn(&prog, k(1), &earn(10), d(2026, 1, 1)).unwrap(), o);
    assert_eq!(a.earn(&prog, k(1), &earn(10), d(2026, 2, 1)).unwrap(), o);
    assert_eq!(a, snapshot);
    // Same key, other payload or other kind of operation.
    assert!(matches!(
        kind(a.earn(&prog, k(1), &earn(11), d(2026, 1, 5))),
        ErrorKind::IdempotencyConflict { .. }
    ));
    let r = a.redeem(&prog, k(1), &RedeemRequest::new(p(5), big_order()), d(2026, 1, 5));
    assert!(matches!(kind(r), ErrorKind::IdempotencyConflict { .. }));
    let r = a.adjust(&prog, k(1), &Adjustment::credit(p(5), "goodwill"), d(2026, 1, 5));
    assert!(matches!(kind(r), ErrorKind::IdempotencyConflict { .. }));
    assert_eq!(a, snapshot);
    assert_eq!(a.totals().earned, p(20));
}

#[test]
fn adjustments_carry_a_reason() {
    let prog = program();
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    let o =
        a.adjust(&prog, k(1), &Adjustment::credit(p(25), "late delivery"), d(2026, 1, 1)).unwrap();
    assert_eq!(o.lot, Some(LotId::new(0)));
    a.adjust(&prog, k(2), &Adjustment::debit(p(5), "duplicate review bonus"), d(2026, 1, 2))
        .unwrap();
    assert_eq!(a.balances().available, p(20));
    assert_eq!((a.totals().adjusted_in.value(), a.totals().adjusted_out.value()), (25, 5));
    let before = a.clone();
    let r = a.adjust(&prog, k(3), &Adjustment::debit(p(21), "too much"), d(2026, 1, 2));
    assert!(matches!(kind(r), ErrorKind::Insufficient { .. }));
    assert!(a.adjust(&prog, k(3), &Adjustment::credit(p(1), "  "), d(2026, 1, 2)).is_err());
    assert!(a.adjust(&prog, k(3), &Adjustment::credit(p(0), "zero"), d(2026, 1, 2)).is_err());
    assert_eq!(a, before);
    match a.entries()[1].kind() {
        EntryKind::Adjust { adjustment, .. } => {
            assert_eq!(adjustment.reason(), "duplicate review bonus")
        }
        other => panic!("unexpected {other:?}"),
    }
    a.check().unwrap();
}

#[test]
fn transfers_are_atomic_pairs() {
    let prog = program().expiry(Expiry::rolling(Span::Days(30)).unwrap());
    let mut x = Account::new(MemberId::new(1), d(2026, 1, 1));
    let mut y = Account::new(MemberId::new(2), d(2026, 1, 1));
    x.earn(&prog, k(1), &earn(50), d(2026, 1, 1)).unwrap(); // through Jan 31
    x.earn(&prog, k(2), &earn(50), d(2026, 1, 10)).unwrap(); // through Feb 9
    let o = transfer(&prog, &mut x, &mut y, k(3), p(70), d(2026, 1, 12)).unwrap();
    assert_eq!(o, TransferOutcome { points: p(70), lots: 2, debt_repaid: p(0) });
    // Keep-source expiry: 50 through Jan 31, 20 through Feb 9.
    let dates: Vec<_> =
        y.lots().iter().map(|l| (l.remaining().value(), l.valid_through())).collect();
    assert_eq!(dates, vec![(50, Some(d(2026, 1, 31))), (20, Some(d(2026, 2, 9)))]);
    assert_eq!(x.balances().available, p(30));
    // Replay: nothing moves.
    let (bx, by) = (x.clone(), y.clone());
    assert_eq!(transfer(&prog, &mut x, &mut y, k(3), p(70), d(2026, 1, 12)).unwrap(), o);
    let r = transfer(&prog, &mut x, &mut y, k(3), p(71), d(2026, 1, 12));
    assert!(matches!(kind(r), ErrorKind::IdempotencyConflict { .. }));
    // Failures leave both untouched.
    let r = transfer(&prog, &mut x, &mut y, k(4), p(31), d(2026, 1, 12));
    assert!(matches!(kind(r), ErrorKind::Insufficient { .. }));
    assert!(transfer(&prog, &mut x, &mut y, k(4), p(0), d(2026, 1, 12)).is_err());
    let mut x2 = x.clone();
    assert!(transfer(&prog, &mut x, &mut x2, k(4), p(1), d(2026, 1, 12)).is_err());
    // Including when time had work to do first (x's first lot remainder expires Feb 1).
    let r = transfer(&prog, &mut x, &mut y, k(4), p(31), d(2026, 2, 2));
    assert!(r.is_err());
    assert_eq!((&x, &y), (&bx, &by));
    // Reset expiry.
    let reset = prog.clone().transfer_expiry(TransferExpiry::Reset);
    transfer(&reset, &mut x, &mut y, k(5), p(10), d(2026, 1, 20)).unwrap();
    assert_eq!(y.lots()[2].valid_through(), Some(d(2026, 2, 19)));
    x.check().unwrap();
    y.check().unwrap();
}

#[test]
fn failed_operations_leave_state_unchanged_even_when_time_was_due() {
    let prog = program().expiry(Expiry::rolling(Span::Days(5)).unwrap());
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &earn(100), d(2026, 1, 1)).unwrap();
    a.earn(&prog, k(2), &earn(10).pending(Pending::Until(d(2026, 1, 3))), d(2026, 1, 1)).unwrap();
    let before = a.clone();
    // On Jan 10 the 100 would expire and the 10 activate; a 50-point redemption then fails.
    let r = a.redeem(&prog, k(3), &RedeemRequest::new(p(50), big_order()), d(2026, 1, 10));
    assert!(matches!(kind(r), ErrorKind::Insufficient { .. }));
    assert_eq!(a, before);
    // Time never runs backwards.
    a.earn(&prog, k(4), &earn(1), d(2026, 1, 2)).unwrap();
    let before = a.clone();
    assert!(matches!(
        kind(a.earn(&prog, k(5), &earn(1), d(2026, 1, 1))),
        ErrorKind::InvalidInput { .. }
    ));
    assert!(a.expire(&prog, d(2026, 1, 1)).is_err());
    assert_eq!(a, before);
}

#[test]
fn bad_input_is_typed_and_changes_nothing() {
    let prog = program().clone();
    let rules = RedemptionRules::new(p(100), usd(1000)).unwrap().minimum(p(200)).unwrap();
    let strict = Program::new(EarnRules::new(Currency::USD, Decimal::ONE).unwrap(), rules).unwrap();
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &earn(500), d(2026, 1, 1)).unwrap();
    let before = a.clone();
    let day = d(2026, 1, 2);
    let cases: Vec<(&str, crate::Result<()>)> = vec![
        ("zero earn", a.earn(&prog, k(2), &earn(0), day).map(drop)),
        ("zero order total", a.earn(&prog, k(2), &earn(5).for_order(usd(0)), day).map(drop)),
        ("negative order total", a.earn(&prog, k(2), &earn(5).for_order(usd(-100)), day).map(drop)),
        (
            "pending in the past",
            a.earn(&prog, k(2), &earn(5).pending(Pending::Until(day)), day).map(drop),
        ),
        ("overflow", a.earn(&prog, k(2), &EarnRequest::new(Points::MAX), day).map(drop)),
        (
            "above balance",
            a.redeem(&prog, k(2), &RedeemRequest::new(p(501), big_order()), day).map(drop),
        ),
        (
            "below minimum",
            a.redeem(&strict, k(2), &RedeemRequest::new(p(100), big_order()), day).map(drop),
        ),
        (
            "zero redemption",
            a.redeem(&prog, k(2), &RedeemRequest::new(p(0), big_order()), day).map(drop),
        ),
        (
            "negative order",
            a.redeem(&prog, k(2), &RedeemRequest::new(p(10), usd(-1)), day).map(drop),
        ),
        ("unknown reservation", a.release(&prog, k(2), ReservationId::new(0), day).map(drop)),
        ("unknown order", a.cancel_pending(&prog, k(2), k(42), day).map(drop)),
        (
            "refund of non-order earn",
            a.refund(&prog, k(2), &RefundRequest::new(k(1), usd(1)), day).map(drop),
        ),
    ];
    for (what, r) in cases {
        assert!(r.is_err(), "{what}");
    }
    assert_eq!(a, before);
    let e = a.redeem(&prog, k(2), &RedeemRequest::new(p(501), big_order()), day).unwrap_err();
    assert_eq!(e.to_string(), "insufficient points: requested 501, available 500");
    let e = a.redeem(&strict, k(2), &RedeemRequest::new(p(100), big_order()), day).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::RuleViolation { rule: "minimum redemption", .. }));
    let e = a.earn(&prog, k(2), &EarnRequest::new(Points::MAX), day).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Overflow { .. }));
}

#[cfg(feature = "serde")]
#[test]
fn serde_round_trip_and_tamper_detection() {
    let prog = program()
        .expiry(Expiry::rolling(Span::Days(10)).unwrap())
        .clawback(ClawbackPolicy::CarryDebt);
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &earn(100).for_order(usd(10_000)), d(2026, 1, 1)).unwrap();
    a.earn(&prog, k(2), &earn(30).pending(Pending::Until(d(2026, 1, 30))), d(2026, 1, 1)).unwrap();
    let r = a.reserve(&prog, k(3), &RedeemRequest::new(p(60), big_order()), d(2026, 1, 2)).unwrap();
    a.redeem(&prog, k(4), &RedeemRequest::new(p(40), big_order()), d(2026, 1, 2)).unwrap();
    a.commit(&prog, k(5), r.reservation.unwrap(), d(2026, 1, 3)).unwrap();
    a.refund(&prog, k(6), &RefundRequest::new(k(1), usd(5000)), d(2026, 1, 4)).unwrap();
    a.adjust(&prog, k(7), &Adjustment::credit(p(7), "sorry"), d(2026, 1, 5)).unwrap();
    a.expire(&prog, d(2026, 2, 1)).unwrap();
    // Half the order refunded: 50 owed, repaid by the 7-point credit and the 30 activated
    // on Jan 30: 13 still owed.
    assert_eq!(a.balances().debt, p(13));
    let json = serde_json::to_string(&a).unwrap();
    let back: Account = serde_json::from_str(&json).unwrap();
    assert_eq!(back, a);
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
    // Tampering: mint points into a lot.
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["lots"][0]["remaining"] = serde_json::json!(1000);
    let e = serde_json::from_value::<Account>(v).unwrap_err().to_string();
    assert!(e.contains("invalid state"), "{e}");
    // Tampering consistently with the balance still breaks the history.
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["totals"]["earned"] = serde_json::json!(1000);
    assert!(serde_json::from_value::<Account>(v).is_err());
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["entries"][0]["kind"]["Earn"]["request"]["points"] = serde_json::json!(90);
    assert!(serde_json::from_value::<Account>(v).is_err());
    // Duplicate key.
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["entries"][1]["key"] = v["entries"][0]["key"].clone();
    assert!(serde_json::from_value::<Account>(v).is_err());
    // The program round-trips too.
    let pj = serde_json::to_string(&prog).unwrap();
    assert_eq!(serde_json::from_str::<Program>(&pj).unwrap(), prog);
}

#[test]
fn liability_and_breakage() {
    let prog = program().expiry(Expiry::rolling(Span::Days(10)).unwrap());
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &earn(400), d(2026, 1, 1)).unwrap();
    a.redeem(&prog, k(2), &RedeemRequest::new(p(300), big_order()), d(2026, 1, 2)).unwrap();
    a.expire(&prog, d(2026, 1, 20)).unwrap(); // 100 expire
    a.earn(&prog, k(3), &earn(1000), d(2026, 1, 20)).unwrap();
    // Breakage = 100 / (100 + 300) = 25%; 1000 points x $0.10 x 0.75 = $75.
    assert_eq!(estimate_breakage([&a]).unwrap().value(), Decimal::new(25, 2));
    let l = liability([&a], prog.redemption(), Breakage::Estimated).unwrap();
    assert_eq!(l.outstanding, p(1000));
    assert_eq!(l.face_value.amount(), Decimal::from(100));
    assert_eq!(l.liability, usd(7500));
    let given = Breakage::Given(crate::units::Share::from_percent(Decimal::from(10)).unwrap());
    assert_eq!(liability([&a], prog.redemption(), given).unwrap().liability, usd(9000));
    let fresh = Account::new(MemberId::new(2), d(2026, 1, 1));
    assert!(estimate_breakage([&fresh]).is_err());
}

#[test]
fn earned_since_counts_the_period() {
    let prog = program();
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &earn(10), d(2026, 1, 30)).unwrap();
    a.earn(&prog, k(2), &earn(20), d(2026, 2, 1)).unwrap();
    a.redeem(&prog, k(3), &RedeemRequest::new(p(5), big_order()), d(2026, 2, 2)).unwrap();
    a.earn(&prog, k(4), &earn(30), d(2026, 2, 3)).unwrap();
    assert_eq!(a.earned_since(CapPeriod::Month.start(d(2026, 2, 10))), p(50));
    assert_eq!(a.earned_since(d(2026, 1, 1)), p(60));
}

#[test]
fn debt_is_repaid_by_transfers_and_released_reservations() {
    let prog = refund_program(ClawbackPolicy::CarryDebt);
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &earn(100).for_order(usd(10_000)), d(2026, 1, 1)).unwrap();
    // 80 held at checkout; the order is refunded in full: 20 spendable taken, 80 owed
    // (points held by an open reservation are not taken).
    let hold =
        a.reserve(&prog, k(2), &RedeemRequest::new(p(80), big_order()), d(2026, 1, 2)).unwrap();
    let o = a.refund(&prog, k(3), &RefundRequest::new(k(1), usd(10_000)), d(2026, 1, 3)).unwrap();
    assert_eq!((o.from_available, o.debt), (p(20), p(80)));
    // The checkout is abandoned: the 80 come back and settle the debt at once.
    let r = a.release(&prog, k(4), hold.reservation.unwrap(), d(2026, 1, 4)).unwrap();
    assert_eq!(r, ReleaseOutcome { returned: p(80), expired: p(0), debt_repaid: p(80) });
    assert_eq!(a.balances(), Balances::default());
    a.check().unwrap();
    // A debt settled by points received from another member.
    a.earn(&prog, k(5), &earn(10).for_order(usd(1000)), d(2026, 1, 5)).unwrap();
    a.redeem(&prog, k(6), &RedeemRequest::new(p(10), big_order()), d(2026, 1, 5)).unwrap();
    a.refund(&prog, k(7), &RefundRequest::new(k(5), usd(1000)), d(2026, 1, 6)).unwrap();
    assert_eq!(a.balances().debt, p(10));
    let mut friend = Account::new(MemberId::new(2), d(2026, 1, 1));
    friend.earn(&prog, k(1), &earn(50), d(2026, 1, 1)).unwrap();
    let t = transfer(&prog, &mut friend, &mut a, k(8), p(25), d(2026, 1, 7)).unwrap();
    assert_eq!(t.debt_repaid, p(10));
    assert_eq!(a.balances().available, p(15));
    a.check().unwrap();
    friend.check().unwrap();
}

#[test]
fn rolling_expiry_rounded_to_year_end_in_the_ledger() {
    let prog =
        program().expiry(Expiry::rolling(Span::Months(12)).unwrap().rounded_up(PeriodEnd::Year));
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &earn(10), d(2026, 2, 10)).unwrap();
    assert_eq!(a.lots()[0].valid_through(), Some(d(2027, 12, 31)));
    assert_eq!(a.expire(&prog, d(2027, 12, 31)).unwrap().expired, p(0));
    assert_eq!(a.expire(&prog, d(2028, 1, 1)).unwrap().expired, p(10));
}

// ----- adversarial probes (review) ---------------------------------------------------------

#[test]
fn probe_reserve_refund_release_does_not_keep_refunded_points() {
    // Buy, reserve every point, refund the order, release: the member must not end up
    // holding points of a fully refunded order.
    let prog = refund_program(ClawbackPolicy::WithinBalance);
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &earn(100).for_order(usd(10_000)), d(2026, 1, 1)).unwrap();
    let r =
        a.reserve(&prog, k(2), &RedeemRequest::new(p(100), big_order()), d(2026, 1, 1)).unwrap();
    let snapshot = a.clone();
    let e = a.refund(&prog, k(3), &RefundRequest::new(k(1), usd(10_000)), d(2026, 1, 2));
    assert!(matches!(kind(e), ErrorKind::InvalidState { .. }));
    assert_eq!(a, snapshot);
    // Once the checkout resolves, the refund goes through and takes the points back.
    a.release(&prog, k(4), r.reservation.unwrap(), d(2026, 1, 2)).unwrap();
    let o = a.refund(&prog, k(3), &RefundRequest::new(k(1), usd(10_000)), d(2026, 1, 2)).unwrap();
    assert_eq!(o.from_available, p(100));
    assert_eq!(a.balances().available, p(0));
    a.check().unwrap();
    // A refund that the balance covers is not blocked by an open reservation.
    let mut b = Account::new(MemberId::new(2), d(2026, 1, 1));
    b.earn(&prog, k(1), &earn(100).for_order(usd(10_000)), d(2026, 1, 1)).unwrap();
    b.earn(&prog, k(2), &earn(100), d(2026, 1, 1)).unwrap();
    b.reserve(&prog, k(3), &RedeemRequest::new(p(100), big_order()), d(2026, 1, 1)).unwrap();
    let o = b.refund(&prog, k(4), &RefundRequest::new(k(1), usd(10_000)), d(2026, 1, 2)).unwrap();
    assert_eq!((o.from_available, o.forgiven), (p(100), p(0)));
    b.check().unwrap();
}

#[test]
fn probe_refund_after_the_orders_lot_expired_does_not_chase_expired_points() {
    // 100 points earned, 40 spent, the other 60 expired unused. A full refund should take
    // back the 40 the member enjoyed, not the 60 that already went to breakage.
    for policy in [ClawbackPolicy::WithinBalance, ClawbackPolicy::CarryDebt] {
        let prog = refund_program(policy).expiry(Expiry::rolling(Span::Days(10)).unwrap());
        let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
        a.earn(&prog, k(1), &earn(100).for_order(usd(10_000)), d(2026, 1, 1)).unwrap(); // through Jan 11
        a.redeem(&prog, k(2), &RedeemRequest::new(p(40), big_order()), d(2026, 1, 2)).unwrap();
        a.earn(&prog, k(3), &earn(500), d(2026, 1, 12)).unwrap(); // lot 0 expired: 60
        assert_eq!(a.totals().expired, p(60));
        // Half refunded: 50 of the order's points; the 60 that expired cover it.
        let o =
            a.refund(&prog, k(4), &RefundRequest::new(k(1), usd(5000)), d(2026, 1, 13)).unwrap();
        assert_eq!((o.requested, o.from_available, o.debt), (p(0), p(0), p(0)));
        // The rest refunded: 100 of the order's points, 60 expired, so the 40 spent.
        let o =
            a.refund(&prog, k(5), &RefundRequest::new(k(1), usd(5000)), d(2026, 1, 13)).unwrap();
        assert_eq!((o.requested, o.from_available), (p(40), p(40)));
        assert_eq!(a.balances().available, p(460));
        a.check().unwrap();
    }
}

#[test]
fn probe_refund_at_the_sender_after_a_transfer() {
    let prog = refund_program(ClawbackPolicy::CarryDebt);
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    let mut b = Account::new(MemberId::new(2), d(2026, 1, 1));
    a.earn(&prog, k(1), &earn(100).for_order(usd(10_000)), d(2026, 1, 1)).unwrap();
    transfer(&prog, &mut a, &mut b, k(2), p(100), d(2026, 1, 1)).unwrap();
    let o = a.refund(&prog, k(3), &RefundRequest::new(k(1), usd(10_000)), d(2026, 1, 2)).unwrap();
    assert_eq!(o.debt, p(100));
    // The sender's next earn repays the debt; the receiver keeps what was given.
    let e = a.earn(&prog, k(4), &earn(30), d(2026, 1, 3)).unwrap();
    assert_eq!(e.debt_repaid, p(30));
    assert_eq!(a.balances().debt, p(70));
    assert_eq!(b.balances().available, p(100));
    // The transfer key cannot be reused for an earn in either account, nor replayed in
    // the other direction.
    assert!(matches!(
        kind(a.earn(&prog, k(2), &earn(1), d(2026, 1, 3))),
        ErrorKind::IdempotencyConflict { .. }
    ));
    assert!(matches!(
        kind(b.earn(&prog, k(2), &earn(1), d(2026, 1, 3))),
        ErrorKind::IdempotencyConflict { .. }
    ));
    let (sa, sb) = (a.clone(), b.clone());
    let r = transfer(&prog, &mut b, &mut a, k(2), p(100), d(2026, 1, 3));
    assert!(matches!(kind(r), ErrorKind::IdempotencyConflict { .. }));
    assert_eq!((a.clone(), b.clone()), (sa, sb));
    a.check().unwrap();
    b.check().unwrap();
}

#[test]
fn probe_refund_edge_cases() {
    let prog = refund_program(ClawbackPolicy::WithinBalance);
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &earn(100).for_order(usd(10_000)), d(2026, 1, 1)).unwrap();
    a.redeem(&prog, k(2), &RedeemRequest::new(p(30), big_order()), d(2026, 1, 1)).unwrap();
    let snapshot = a.clone();
    // Larger than the order; an order never earned; a key of another kind as the order.
    assert!(a.refund(&prog, k(3), &RefundRequest::new(k(1), usd(10_001)), d(2026, 1, 2)).is_err());
    assert!(matches!(
        kind(a.refund(&prog, k(3), &RefundRequest::new(k(9), usd(1)), d(2026, 1, 2))),
        ErrorKind::NotFound { .. }
    ));
    assert!(matches!(
        kind(a.refund(&prog, k(3), &RefundRequest::new(k(2), usd(1)), d(2026, 1, 2))),
        ErrorKind::NotFound { .. }
    ));
    assert_eq!(a, snapshot);
    // Two partial refunds summing above the order: the second is refused whole.
    a.refund(&prog, k(3), &RefundRequest::new(k(1), usd(6000)), d(2026, 1, 2)).unwrap();
    let s2 = a.clone();
    assert!(a.refund(&prog, k(4), &RefundRequest::new(k(1), usd(5000)), d(2026, 1, 2)).is_err());
    assert_eq!(a, s2);
    // After partial redemption: 60 requested, all 70 left in the lot can cover it.
    assert_eq!(a.balances().available, p(10));
    // Replaying the first refund after other operations changes nothing.
    a.earn(&prog, k(5), &earn(5), d(2026, 1, 3)).unwrap();
    let s3 = a.clone();
    a.refund(&prog, k(3), &RefundRequest::new(k(1), usd(6000)), d(2026, 1, 9)).unwrap();
    assert_eq!(a, s3);
    a.check().unwrap();
}

#[test]
fn probe_expiry_on_the_last_valid_day_and_the_day_after() {
    let prog = program().expiry(Expiry::rolling(Span::Days(10)).unwrap());
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    let o = a.earn(&prog, k(1), &earn(10), d(2026, 1, 1)).unwrap();
    let last = o.valid_through.unwrap();
    assert_eq!(last, d(2026, 1, 11));
    assert_eq!(a.expire(&prog, last).unwrap().expired, p(0));
    assert_eq!(a.balances().available, p(10));
    let next = last.succ_opt().unwrap();
    assert_eq!(a.expire(&prog, next).unwrap().expired, p(10));
    assert_eq!(a.expire(&prog, next).unwrap().expired, p(0));
    a.check().unwrap();
}

#[test]
fn probe_overflow_at_the_u64_limit_never_panics() {
    let prog = program();
    let half = p(1 << 63);
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &EarnRequest::new(half), d(2026, 1, 1)).unwrap();
    let r = a.reserve(&prog, k(2), &RedeemRequest::new(half, big_order()), d(2026, 1, 1));
    // The redemption value may overflow money first; either way nothing panics.
    if r.is_ok() {
        // available 0, reserved 2^63: another 2^63 would overflow on release.
        let snapshot = a.clone();
        let e = a.adjust(&prog, k(3), &Adjustment::credit(half, "big"), d(2026, 1, 1));
        assert!(matches!(kind(e), ErrorKind::Overflow { .. }));
        let e = a.earn(&prog, k(3), &EarnRequest::new(half), d(2026, 1, 1));
        assert!(matches!(kind(e), ErrorKind::Overflow { .. }));
        assert_eq!(a, snapshot);
    }
    // Credits whose lifetime sum passes u64 while the balance never does still verify.
    let mut b = Account::new(MemberId::new(2), d(2026, 1, 1));
    let big = p(u64::MAX - 5);
    b.earn(&prog, k(1), &EarnRequest::new(big), d(2026, 1, 1)).unwrap();
    b.adjust(&prog, k(2), &Adjustment::debit(big, "clear"), d(2026, 1, 1)).unwrap();
    b.adjust(&prog, k(3), &Adjustment::credit(big, "again"), d(2026, 1, 1)).unwrap();
    b.check().unwrap();
    let e = b.earn(&prog, k(4), &earn(6), d(2026, 1, 1));
    assert!(matches!(kind(e), ErrorKind::Overflow { .. }));
    b.check().unwrap();
}

#[test]
fn probe_overflow_on_release_is_refused_before_it_happens() {
    // Reserve points, then credit so much that putting them back would pass u64::MAX.
    let prog = Program::new(
        EarnRules::new(Currency::USD, Decimal::ONE).unwrap(),
        RedemptionRules::new(Points::new(1 << 40), usd(1)).unwrap(),
    )
    .unwrap();
    let half = p(1 << 63);
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &EarnRequest::new(half), d(2026, 1, 1)).unwrap();
    let r = a.reserve(&prog, k(2), &RedeemRequest::new(half, big_order()), d(2026, 1, 1)).unwrap();
    let snapshot = a.clone();
    let e = a.adjust(&prog, k(3), &Adjustment::credit(half, "big"), d(2026, 1, 1));
    assert!(matches!(kind(e), ErrorKind::Overflow { .. }));
    assert_eq!(a, snapshot);
    a.release(&prog, k(4), r.reservation.unwrap(), d(2026, 1, 2)).unwrap();
    assert_eq!(a.balances().available, half);
    a.check().unwrap();
}

#[cfg(feature = "serde")]
#[test]
fn probe_tampered_refund_records_and_expiry_are_rejected() {
    let prog =
        refund_program(ClawbackPolicy::CarryDebt).expiry(Expiry::rolling(Span::Days(10)).unwrap());
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &earn(100).for_order(usd(10_000)), d(2026, 1, 1)).unwrap();
    a.earn(&prog, k(2), &earn(50).for_order(usd(5_000)), d(2026, 1, 5)).unwrap();
    a.refund(&prog, k(3), &RefundRequest::new(k(2), usd(1_000)), d(2026, 1, 6)).unwrap();
    a.expire(&prog, d(2026, 1, 12)).unwrap(); // lot 0 expires: 100
    let json = serde_json::to_string(&a).unwrap();
    let back: Account = serde_json::from_str(&json).unwrap();
    assert_eq!(back, a);
    let tampered = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
        f(&mut v);
        serde_json::from_value::<Account>(v).unwrap_err().to_string()
    };
    // Marking an order as already refunded (so a real refund is refused and the points
    // kept), or as already clawed back.
    let e = tampered(&|v| v["lots"][1]["refunded"]["amount"] = serde_json::json!("50.00"));
    assert!(e.contains("refund record"), "{e}");
    let e = tampered(&|v| v["lots"][1]["claw_requested"] = serde_json::json!(50));
    assert!(e.contains("refund record"), "{e}");
    // Shrinking the order total the clawback is measured against.
    let e = tampered(&|v| v["lots"][1]["order_total"]["amount"] = serde_json::json!("10.00"));
    assert!(e.contains("differs from its lot"), "{e}");
    // Pretending more of a lot expired, so refunds chase less.
    let e = tampered(&|v| v["lots"][1]["expired"] = serde_json::json!(10));
    assert!(e.contains("invalid state"), "{e}");
    // Draws that add up past u64::MAX are an error, not a panic.
    let e = tampered(&|v| {
        v["draws"][0]["points"] = serde_json::json!(u64::MAX);
        v["draws"][1]["points"] = serde_json::json!(u64::MAX);
    });
    assert!(e.contains("invalid state") || e.contains("overflow"), "{e}");
}

#[test]
fn probe_reserved_lot_expires_then_release_then_refund() {
    let prog =
        refund_program(ClawbackPolicy::CarryDebt).expiry(Expiry::rolling(Span::Days(10)).unwrap());
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &earn(100).for_order(usd(10_000)), d(2026, 1, 1)).unwrap(); // through Jan 11
    let r = a.reserve(&prog, k(2), &RedeemRequest::new(p(60), big_order()), d(2026, 1, 2)).unwrap();
    a.expire(&prog, d(2026, 1, 12)).unwrap(); // the 40 left in the lot expire
    assert_eq!(a.totals().expired, p(40));
    // Released after the lot's last day: the 60 expire now rather than coming back.
    let o = a.release(&prog, k(3), r.reservation.unwrap(), d(2026, 1, 13)).unwrap();
    assert_eq!((o.returned, o.expired), (p(0), p(60)));
    assert_eq!(a.lots()[0].expired(), p(100));
    assert_eq!(a.balances().available, p(0));
    // All 100 of the order's points expired unused: a full refund takes nothing and books
    // no debt.
    let o = a.refund(&prog, k(4), &RefundRequest::new(k(1), usd(10_000)), d(2026, 1, 14)).unwrap();
    assert_eq!((o.requested, o.debt), (p(0), p(0)));
    assert_eq!(a.balances().debt, p(0));
    a.check().unwrap();
}

#[cfg(feature = "serde")]
#[test]
fn probe_tampered_reservations_are_rejected() {
    let prog = program();
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &earn(100), d(2026, 1, 1)).unwrap();
    a.earn(&prog, k(2), &earn(100), d(2026, 1, 2)).unwrap();
    a.redeem(&prog, k(3), &RedeemRequest::new(p(100), big_order()), d(2026, 1, 2)).unwrap();
    let r =
        a.reserve(&prog, k(4), &RedeemRequest::new(p(100), big_order()), d(2026, 1, 3)).unwrap();
    let c = a.reserve(&prog, k(5), &RedeemRequest::new(p(0), big_order()), d(2026, 1, 3));
    assert!(c.is_err());
    let json = serde_json::to_string(&a).unwrap();
    assert_eq!(serde_json::from_str::<Account>(&json).unwrap(), a);
    // Point the held reservation at the redemption's draws: releasing it would refill the
    // redeemed lot and mint 100 points.
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["reservations"][0]["draws_start"] = serde_json::json!(0);
    let e = serde_json::from_value::<Account>(v).unwrap_err().to_string();
    assert!(e.contains("reservations differ"), "{e}");
    // Mark it released without a release entry.
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["reservations"][0]["state"] = serde_json::json!("Released");
    assert!(serde_json::from_value::<Account>(v).is_err());
    // The untampered account releases normally.
    a.release(&prog, k(6), r.reservation.unwrap(), d(2026, 1, 4)).unwrap();
    let json = serde_json::to_string(&a).unwrap();
    assert_eq!(serde_json::from_str::<Account>(&json).unwrap(), a);
}

#[test]
fn probe_thirds_of_an_order_claw_back_exact_thirds() {
    // 3 points on a 3.00 order, refunded 1.00 at a time: 1 point each time (1/3 of 3 is
    // exactly 1, whatever the rounding mode).
    let prog = refund_program(ClawbackPolicy::WithinBalance);
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &earn(3).for_order(usd(300)), d(2026, 1, 1)).unwrap();
    for i in 0..3 {
        let o =
            a.refund(&prog, k(10 + i), &RefundRequest::new(k(1), usd(100)), d(2026, 1, 2)).unwrap();
        assert_eq!(o.requested, p(1), "refund {i}");
    }
    // 7 points on a 0.07 order, refunded 0.01 at a time (Open Loyalty-style small amounts).
    let mut b = Account::new(MemberId::new(2), d(2026, 1, 1));
    b.earn(&prog, k(1), &earn(70).for_order(usd(7)), d(2026, 1, 1)).unwrap();
    for i in 0..7 {
        let o =
            b.refund(&prog, k(10 + i), &RefundRequest::new(k(1), usd(1)), d(2026, 1, 2)).unwrap();
        assert_eq!(o.requested, p(10), "refund {i}");
    }
    a.check().unwrap();
    b.check().unwrap();
}

#[test]
fn probe_refunded_and_cancelled_earns_free_room_under_a_period_cap() {
    let prog = refund_program(ClawbackPolicy::WithinBalance);
    let mut a = Account::new(MemberId::new(1), d(2026, 2, 1));
    a.earn(&prog, k(1), &earn(100).for_order(usd(10_000)), d(2026, 2, 1)).unwrap();
    a.earn(&prog, k(2), &earn(40).pending(Pending::UntilActivated), d(2026, 2, 1)).unwrap();
    a.earn(&prog, k(3), &earn(10), d(2026, 2, 2)).unwrap();
    assert_eq!(a.earned_since(d(2026, 2, 1)), p(150));
    // A quarter of the order refunded (25 points back), the pending earn cancelled.
    a.refund(&prog, k(4), &RefundRequest::new(k(1), usd(2_500)), d(2026, 2, 3)).unwrap();
    a.cancel_pending(&prog, k(5), k(2), d(2026, 2, 3)).unwrap();
    assert_eq!(a.earned_since(d(2026, 2, 1)), p(85));
    let cap =
        PeriodCap { cap: Cap { limit: p(100), mode: CapMode::Reduce }, period: CapPeriod::Month };
    let rules = EarnRules::new(Currency::USD, Decimal::ONE).unwrap().period_cap(cap);
    let ctx = EarnContext::new(d(2026, 2, 4)).earned_in_period(a.earned_since(d(2026, 2, 1)));
    let q = rules.quote(&Order::new(vec![OrderLine::new("x", usd(5_000))]), &ctx).unwrap();
    assert_eq!(q.awarded, p(15));
}

#[test]
fn probe_errors_after_catch_up_and_transfer_key_reuse_change_nothing() {
    // The refund refused for an open reservation runs after time expired a lot: the
    // expiry is rolled back with it.
    let prog = refund_program(ClawbackPolicy::WithinBalance)
        .expiry(Expiry::rolling(Span::Days(10)).unwrap());
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &earn(5), d(2026, 1, 1)).unwrap(); // through Jan 11
    a.earn(&prog, k(2), &earn(100).for_order(usd(10_000)), d(2026, 1, 5)).unwrap();
    a.reserve(&prog, k(3), &RedeemRequest::new(p(100), big_order()), d(2026, 1, 5)).unwrap();
    let snapshot = a.clone();
    let e = a.refund(&prog, k(4), &RefundRequest::new(k(1 + 1), usd(10_000)), d(2026, 1, 13));
    assert!(matches!(kind(e), ErrorKind::InvalidState { .. }));
    assert_eq!(a, snapshot);
    assert_eq!(a.totals().expired, p(0));
    // A transfer key reused towards another receiver, or from another sender.
    let prog = program();
    let mut x = Account::new(MemberId::new(1), d(2026, 1, 1));
    let mut y = Account::new(MemberId::new(2), d(2026, 1, 1));
    let mut z = Account::new(MemberId::new(3), d(2026, 1, 1));
    x.earn(&prog, k(1), &earn(50), d(2026, 1, 1)).unwrap();
    z.earn(&prog, k(1), &earn(50), d(2026, 1, 1)).unwrap();
    transfer(&prog, &mut x, &mut y, k(9), p(20), d(2026, 1, 2)).unwrap();
    let (sx, sy, sz) = (x.clone(), y.clone(), z.clone());
    let r = transfer(&prog, &mut x, &mut z, k(9), p(20), d(2026, 1, 2));
    assert!(matches!(kind(r), ErrorKind::IdempotencyConflict { .. }));
    let r = transfer(&prog, &mut z, &mut y, k(9), p(20), d(2026, 1, 2));
    assert!(matches!(kind(r), ErrorKind::IdempotencyConflict { .. }));
    let r = transfer(&prog, &mut x, &mut y, k(9), p(21), d(2026, 1, 2));
    assert!(matches!(kind(r), ErrorKind::IdempotencyConflict { .. }));
    assert_eq!((x, y, z), (sx, sy, sz));
}

#[test]
fn reserved_points_survive_an_inactivity_lapse_whatever_the_remainder() {
    // Issue 17 item 1: with 60 of 100 reserved the release returned 0 and expired 60;
    // with all 100 reserved it returned 100. Both now return every reserved point.
    let prog = program().expiry(Expiry::inactivity(30).unwrap());
    for reserved in [60, 100] {
        let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
        a.earn(&prog, k(1), &earn(100), d(2026, 1, 1)).unwrap();
        let r =
            a.reserve(&prog, k(2), &RedeemRequest::new(p(reserved), big_order()), d(2026, 1, 1));
        let id = r.unwrap().reservation.unwrap();
        let out = a.release(&prog, k(3), id, d(2026, 2, 2)).unwrap();
        assert_eq!((out.returned, out.expired), (p(reserved), p(0)), "{reserved} reserved");
        // The idle remainder expired; the released points are spendable again, for a
        // fresh window (the release is activity).
        assert_eq!(a.totals().expired, p(100 - reserved));
        assert_eq!(a.balances().available, p(reserved));
        assert_eq!(a.lots()[0].state(), LotState::Active);
        assert_eq!(a.last_activity(), d(2026, 2, 2));
        a.expire(&prog, d(2026, 3, 4)).unwrap();
        assert_eq!(a.balances().available, p(reserved));
        a.check().unwrap();
        a.redeem(&prog, k(4), &RedeemRequest::new(p(reserved), big_order()), d(2026, 3, 4))
            .unwrap();
        a.check().unwrap();
    }
}

#[test]
fn a_manual_credit_is_activity() {
    // Issue 17 item 6: goodwill after a lapse was expired by the next operation that day.
    let prog = program().expiry(Expiry::inactivity(30).unwrap());
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &earn(50), d(2026, 1, 1)).unwrap();
    a.expire(&prog, d(2026, 2, 5)).unwrap();
    assert_eq!(a.totals().expired, p(50));
    a.adjust(&prog, k(2), &Adjustment::credit(p(20), "sorry"), d(2026, 2, 5)).unwrap();
    assert_eq!(a.last_activity(), d(2026, 2, 5));
    assert_eq!(a.expire(&prog, d(2026, 2, 5)).unwrap().expired, p(0));
    // A debit is not activity: the window still counts from the credit (through Mar 7).
    a.adjust(&prog, k(3), &Adjustment::debit(p(5), "fix"), d(2026, 3, 1)).unwrap();
    assert_eq!(a.last_activity(), d(2026, 2, 5));
    assert_eq!(a.expire(&prog, d(2026, 3, 7)).unwrap().expired, p(0));
    assert_eq!(a.balances().available, p(15));
    assert_eq!(a.expire(&prog, d(2026, 3, 8)).unwrap().expired, p(15));
    a.check().unwrap();
}

#[test]
fn not_found_errors_name_the_id_once() {
    // Issue 18: "unknown reservation `reservation 3`".
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    let e = a.commit(&program(), k(1), ReservationId::new(3), d(2026, 1, 1)).unwrap_err();
    assert_eq!(e.to_string(), "unknown reservation `3`");
}

#[test]
fn a_partial_refund_of_a_huge_order_is_exact() {
    // Issue 17 item 4: refunded x points overflowed Decimal and the share path was one
    // point short (999999999999999999 of 1e18).
    let rules = EarnRules::new(Currency::USD, Decimal::ONE).unwrap().rounding(Rounding::Floor);
    let prog = Program::new(rules, RedemptionRules::new(p(100), usd(1000)).unwrap()).unwrap();
    let huge = 3_000_000_000_000_000_000u64;
    let total = Money::new(Decimal::from(huge), Currency::USD);
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &earn(huge).for_order(total), d(2026, 1, 1)).unwrap();
    let third = Money::new(Decimal::from(huge / 3), Currency::USD);
    let out = a.refund(&prog, k(2), &RefundRequest::new(k(1), third), d(2026, 1, 2)).unwrap();
    assert_eq!(out.requested, p(huge / 3));
    a.check().unwrap();
}

#[cfg(feature = "serde")]
#[test]
fn keys_go_to_json_as_decimal_strings() {
    // Issue 17 item 5: `serde_json::to_value` failed for keys above u64::MAX.
    let prog = program();
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    let uuid = 0x6ba7_b810_9dad_11d1_80b4_00c0_4fd4_30c8_u128;
    a.earn(&prog, k(uuid), &earn(10), d(2026, 1, 1)).unwrap();
    let value = serde_json::to_value(&a).unwrap();
    let text = value.to_string();
    assert!(text.contains(&format!("\"{uuid}\"")), "{text}");
    let back: Account = serde_json::from_value(value).unwrap();
    assert_eq!(back, a);
    for bad in ["\"-1\"", "\"+1\"", "\"\"", "\"0x10\"", "-1", "1.5"] {
        assert!(serde_json::from_str::<OpKey>(bad).is_err(), "{bad}");
    }
}

/// An account that went through every kind of operation, and a partner for transfers.
#[cfg(feature = "serde")]
fn busy_account() -> Account {
    let prog = program().expiry(Expiry::rolling(Span::Days(60)).unwrap());
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    let mut b = Account::new(MemberId::new(2), d(2026, 1, 1));
    b.earn(&prog, k(100), &earn(90), d(2026, 1, 1)).unwrap();
    a.earn(&prog, k(1), &earn(500).for_order(usd(50_000)), d(2026, 1, 2)).unwrap();
    let until = earn(80).for_order(usd(8000)).pending(Pending::Until(d(2026, 1, 20)));
    a.earn(&prog, k(2), &until, d(2026, 1, 3)).unwrap();
    a.earn(&prog, k(3), &earn(40).pending(Pending::UntilActivated), d(2026, 1, 3)).unwrap();
    a.activate(&prog, k(4), k(3), d(2026, 1, 4)).unwrap();
    let r = a.reserve(&prog, k(5), &RedeemRequest::new(p(100), big_order()), d(2026, 1, 5));
    a.release(&prog, k(6), r.unwrap().reservation.unwrap(), d(2026, 1, 6)).unwrap();
    a.redeem(&prog, k(7), &RedeemRequest::new(p(200), big_order()), d(2026, 1, 7)).unwrap();
    a.adjust(&prog, k(8), &Adjustment::credit(p(15), "goodwill"), d(2026, 1, 9)).unwrap();
    transfer(&prog, &mut b, &mut a, k(9), p(30), d(2026, 1, 10)).unwrap();
    a.refund(&prog, k(10), &RefundRequest::new(k(1), usd(10_000)), d(2026, 1, 21)).unwrap();
    a.check().unwrap();
    a
}

#[cfg(feature = "serde")]
#[test]
fn forged_state_is_refused_on_reading() {
    // Issue 17 item 3: each of these was accepted by `check`.
    use serde_json::{json, Value};
    let a = busy_account();
    let good = serde_json::to_value(&a).unwrap();
    assert_eq!(serde_json::from_value::<Account>(good.clone()).unwrap(), a);
    let lot_of =
        |source: &str| a.lots().iter().position(|l| format!("{:?}", l.source()) == source).unwrap();
    let (adj, xfer) = (lot_of("Adjustment"), lot_of("Transfer"));
    let entry_of = |pred: &dyn Fn(&EntryKind) -> bool| {
        a.entries().iter().position(|e| pred(e.kind())).unwrap()
    };
    let activation = entry_of(&|k| matches!(k, EntryKind::Activate { order: None, .. }));
    let adjust = entry_of(&|k| matches!(k, EntryKind::Adjust { .. }));
    let reserve = entry_of(&|k| matches!(k, EntryKind::Reserve { .. }));
    type Edit = Box<dyn Fn(&mut Value)>;
    let bump = |v: &mut Value| *v = json!(v.as_u64().unwrap() + 1);
    let cases: Vec<(&str, Edit)> = vec![
        (
            "raised points on an adjustment lot",
            Box::new(move |v| bump(&mut v["lots"][adj]["points"])),
        ),
        (
            "raised points on a transfer-in lot",
            Box::new(move |v| bump(&mut v["lots"][xfer]["points"])),
        ),
        ("a clock before the last entry", Box::new(|v| v["clock"] = json!("2026-01-20"))),
        (
            "an active lot past its expiry",
            Box::new(move |v| v["lots"][adj]["valid_through"] = json!("2026-01-20")),
        ),
        (
            "a changed earned_on",
            Box::new(move |v| v["lots"][adj]["earned_on"] = json!("2026-01-08")),
        ),
        (
            "an edited activation entry",
            Box::new(move |v| {
                v["entries"][activation]["kind"]["Activate"]["outcome"]["valid_through"] =
                    json!("2026-12-31");
            }),
        ),
        (
            "an activation outcome with more points than its lot held",
            Box::new(move |v| {
                bump(&mut v["entries"][activation]["kind"]["Activate"]["outcome"]["points"]);
            }),
        ),
        (
            "a deleted activation entry",
            Box::new(move |v| {
                v["entries"].as_array_mut().unwrap().remove(activation);
            }),
        ),
        (
            "an adjustment outcome unlike its request",
            Box::new(move |v| {
                bump(&mut v["entries"][adjust]["kind"]["Adjust"]["outcome"]["points"]);
            }),
        ),
        (
            "a reservation request unlike its outcome",
            Box::new(move |v| {
                bump(&mut v["entries"][reserve]["kind"]["Reserve"]["request"]["points"]);
            }),
        ),
    ];
    for (what, edit) in cases {
        let mut forged = good.clone();
        edit(&mut forged);
        assert_ne!(forged, good, "{what}: the edit changed nothing");
        let err = serde_json::from_value::<Account>(forged).expect_err(what).to_string();
        assert!(err.contains("invalid state"), "{what}: {err}");
    }
}

#[test]
fn lifetime_totals_go_past_u64_max() {
    // Issue 17 item 7: with u64 totals, once u64::MAX points had been earned every later
    // earn failed with an overflow, for ever, though the balance was near zero.
    let prog = program();
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &earn(u64::MAX), d(2026, 1, 1)).unwrap();
    a.redeem(&prog, k(2), &RedeemRequest::new(p(u64::MAX - 100), big_order()), d(2026, 1, 1))
        .unwrap();
    a.earn(&prog, k(3), &earn(1000), d(2026, 1, 2)).unwrap();
    let wide = |n: u64| TotalPoints::new(u128::from(u64::MAX) + u128::from(n));
    assert_eq!(a.totals().earned, wide(1000));
    a.redeem(&prog, k(4), &RedeemRequest::new(p(1000), big_order()), d(2026, 1, 2)).unwrap();
    assert_eq!(a.totals().redeemed, wide(900));
    assert_eq!(a.balances().available, p(100));
    a.check().unwrap();
}

/// A compacted account whose lifetime totals were driven to `earned` points earned (and as
/// many more redeemed) before the cut, as a host would read it back: the totals of the
/// checkpoint and the running ones raised alike, so conservation still holds.
#[cfg(feature = "serde")]
fn account_with_earned_total(earned: u128) -> Account {
    let prog = program();
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &earn(300), d(2026, 1, 1)).unwrap();
    a.redeem(&prog, k(2), &RedeemRequest::new(p(100), big_order()), d(2026, 1, 2)).unwrap();
    a.earn(&prog, k(3), &earn(50), d(2026, 1, 5)).unwrap();
    a.compact(d(2026, 1, 4), d(2026, 1, 4)).unwrap();
    let mut v = serde_json::to_value(&a).unwrap();
    let raise = earned - 350;
    for totals in ["/totals", "/checkpoint/totals"] {
        for field in ["earned", "redeemed"] {
            let slot = v.pointer_mut(&format!("{totals}/{field}")).unwrap();
            let n: u128 = slot.as_str().unwrap().parse().unwrap();
            *slot = serde_json::Value::String((n + raise).to_string());
        }
    }
    serde_json::from_value(v).unwrap()
}

#[cfg(feature = "serde")]
#[test]
fn a_lifetime_total_at_its_u128_bound_refuses_only_what_would_pass_it() {
    // The decision in the `Totals` docs: an operation that would carry a total past
    // u128::MAX is a typed error and changes nothing; the others go on.
    let prog = program();
    let mut a = account_with_earned_total(u128::MAX - 10);
    assert_eq!(a.totals().earned, TotalPoints::new(u128::MAX - 10));
    assert_eq!(a.balances().available, p(250));
    let before = a.clone();
    let e = a.earn(&prog, k(4), &earn(11), d(2026, 1, 6)).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Overflow { .. }), "{e}");
    assert_eq!(a, before);
    a.earn(&prog, k(4), &earn(10), d(2026, 1, 6)).unwrap();
    assert_eq!(a.totals().earned, TotalPoints::MAX);
    // Spending and manual credits do not add to `earned`.
    a.redeem(&prog, k(5), &RedeemRequest::new(p(200), big_order()), d(2026, 1, 6)).unwrap();
    a.adjust(&prog, k(6), &Adjustment::credit(p(7), "goodwill"), d(2026, 1, 6)).unwrap();
    assert_eq!(a.totals().redeemed, TotalPoints::new(u128::MAX - 360 + 300));
    assert_eq!(a.balances().available, p(67));
    let before = a.clone();
    assert!(a.earn(&prog, k(7), &earn(1), d(2026, 1, 7)).is_err());
    assert_eq!(a, before);
    a.check().unwrap();
    // The totals go to JSON as decimal strings and come back exactly.
    let json = serde_json::to_string(&a).unwrap();
    assert!(json.contains(&format!("\"earned\":\"{}\"", u128::MAX)), "{json}");
    assert_eq!(serde_json::from_str::<Account>(&json).unwrap(), a);
}

#[cfg(feature = "serde")]
#[test]
fn a_forged_redemption_value_is_refused_given_the_program() {
    // Issue 17: `check` has no program, so a stored redemption whose money value was
    // raised passed it; `check_with` re-derives the value from the redemption rules.
    use serde_json::json;
    let prog = program(); // 100 points are worth $10
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &earn(500), d(2026, 1, 1)).unwrap();
    a.redeem(&prog, k(2), &RedeemRequest::new(p(200), big_order()), d(2026, 1, 2)).unwrap();
    let r = a.reserve(&prog, k(3), &RedeemRequest::new(p(100), big_order()), d(2026, 1, 3));
    a.commit(&prog, k(4), r.unwrap().reservation.unwrap(), d(2026, 1, 3)).unwrap();
    a.check_with(&prog).unwrap();
    let good = serde_json::to_value(&a).unwrap();
    assert_eq!(good["entries"][1]["kind"]["Redeem"]["outcome"]["value"]["amount"], "20.00");
    let forge = |path: &str, amount: &str| {
        let mut v = good.clone();
        *v.pointer_mut(path).unwrap() = json!(amount);
        // Consistent with itself: it reads back and passes `check`.
        let forged: Account = serde_json::from_value(v).unwrap();
        forged.check().unwrap();
        forged
    };
    let redeemed = forge("/entries/1/kind/Redeem/outcome/value/amount", "200.00");
    let e = redeemed.check_with(&prog).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidState { .. }), "{e}");
    assert!(e.to_string().contains("entry 1 redemption value 200.00 USD"), "{e}");
    // A reservation's value is also the reservation record's: both edited alike.
    let mut v = good.clone();
    *v.pointer_mut("/entries/2/kind/Reserve/outcome/value/amount").unwrap() = json!("11.00");
    *v.pointer_mut("/reservations/0/value/amount").unwrap() = json!("11.00");
    let reserved: Account = serde_json::from_value(v).unwrap();
    reserved.check().unwrap();
    let e = reserved.check_with(&prog).unwrap_err();
    assert!(e.to_string().contains("entry 2 redemption value"), "{e}");
    // Rounded to the cent, an equal value passes.
    forge("/entries/1/kind/Redeem/outcome/value/amount", "20.0").check_with(&prog).unwrap();
}

// ----- rollback of redemptions -----------------------------------------------------

fn thirty_days() -> Program {
    program().expiry(Expiry::rolling(Span::Days(30)).unwrap())
}

fn rollback_of(key: u128, cents: i64) -> RollbackRequest {
    RollbackRequest::new(k(key), usd(cents))
}

#[test]
fn rollback_returns_a_refunded_share_to_the_lots_it_came_from() {
    let prog = thirty_days();
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &earn(100), d(2026, 1, 1)).unwrap(); // lot 0, valid through 31 Jan
    a.earn(&prog, k(2), &earn(100), d(2026, 1, 10)).unwrap(); // lot 1, valid through 9 Feb
                                                              // 150 points on a $90 order: 100 from lot 0 (soonest expiring), 50 from lot 1.
    a.redeem(&prog, k(3), &RedeemRequest::new(p(150), usd(9000)), d(2026, 1, 12)).unwrap();
    assert_eq!(a.balances().available, p(50));

    // $30 of $90 refunded: floor(150 x 30 / 90) = 50 points, the last drawn first: lot 1.
    let o = a.rollback(&prog, k(4), &rollback_of(3, 3000), d(2026, 1, 15)).unwrap();
    assert_eq!((o.points, o.expired, o.rolled_back, o.refunded), (p(50), p(0), p(50), usd(3000)));
    assert_eq!((a.lots()[0].remaining(), a.lots()[1].remaining()), (p(0), p(100)));
    assert_eq!(a.lots()[1].valid_through(), Some(d(2026, 2, 9)), "its own date, not a new one");
    assert_eq!(a.balances().available, p(100));
    // An exact replay returns the outcome and changes nothing; another payload conflicts.
    let before = a.clone();
    assert_eq!(a.rollback(&prog, k(4), &rollback_of(3, 3000), d(2026, 1, 15)).unwrap(), o);
    assert_eq!(a, before);
    let e = kind(a.rollback(&prog, k(4), &rollback_of(3, 2000), d(2026, 1, 15)));
    assert!(matches!(e, ErrorKind::IdempotencyConflict { .. }), "{e:?}");
    assert_eq!(a, before);

    // Another $30 on 5 February, after lot 0's last valid day: 100 - 50 = 50 more, from
    // lot 0, which come back expired.
    let o = a.rollback(&prog, k(5), &rollback_of(3, 3000), d(2026, 2, 5)).unwrap();
    assert_eq!((o.points, o.expired, o.rolled_back, o.refunded), (p(50), p(50), p(100), usd(6000)));
    assert_eq!((a.lots()[0].remaining(), a.lots()[0].expired()), (p(0), p(50)));
    assert_eq!(a.balances().available, p(100));
    // Refunds beyond the order total are refused and change nothing.
    let before = a.clone();
    let e = kind(a.rollback(&prog, k(6), &rollback_of(3, 3001), d(2026, 2, 5)));
    assert!(matches!(e, ErrorKind::InvalidInput { .. }), "{e:?}");
    let e = kind(a.rollback(&prog, k(6), &rollback_of(3, 0), d(2026, 2, 5)));
    assert!(matches!(e, ErrorKind::InvalidInput { .. }), "{e:?}");
    let eur = RollbackRequest::new(k(3), Money::new(Decimal::TEN, Currency::EUR));
    let e = kind(a.rollback(&prog, k(6), &eur, d(2026, 2, 5)));
    assert!(matches!(e, ErrorKind::CurrencyMismatch { .. }), "{e:?}");
    assert_eq!(a, before);
    // The rest: every redeemed point is back, never more.
    let o = a.rollback(&prog, k(6), &rollback_of(3, 3000), d(2026, 2, 6)).unwrap();
    assert_eq!((o.points, o.expired, o.rolled_back), (p(50), p(50), p(150)));
    let t = a.totals();
    assert_eq!((t.redeemed.value(), t.rolled_back.value(), t.expired.value()), (150, 150, 100));
    // Conservation: 200 earned + 150 rolled back = 100 available + 150 redeemed + 100 expired.
    assert_eq!(t.earned.value() + t.rolled_back.value(), 100 + 150 + 100);
    a.check_with(&prog).unwrap();
    let e = kind(a.rollback(&prog, k(7), &rollback_of(3, 1), d(2026, 2, 6)));
    assert!(matches!(e, ErrorKind::InvalidInput { .. }), "{e:?}");
}

#[test]
fn rollback_of_a_committed_reservation_and_what_is_not_a_redemption() {
    let prog = program().clawback(ClawbackPolicy::CarryDebt);
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &earn(100).for_order(usd(10_000)), d(2026, 1, 1)).unwrap();
    let r = a.reserve(&prog, k(2), &RedeemRequest::new(p(80), usd(5000)), d(2026, 1, 2));
    let id = r.unwrap().reservation.unwrap();
    a.commit(&prog, k(3), id, d(2026, 1, 2)).unwrap();
    let r = a.reserve(&prog, k(4), &RedeemRequest::new(p(10), usd(5000)), d(2026, 1, 2));
    a.release(&prog, k(5), r.unwrap().reservation.unwrap(), d(2026, 1, 3)).unwrap();
    // Only redeems and commits are redemptions.
    for key in [2, 4, 5, 1, 99] {
        let e = kind(a.rollback(&prog, k(10), &rollback_of(key, 100), d(2026, 1, 4)));
        assert!(matches!(e, ErrorKind::NotFound { what: "redemption", .. }), "{key}: {e:?}");
    }
    // The earn's order is refunded in full: 100 clawed back, 20 available, 80 debt.
    let refund = RefundRequest::new(k(1), usd(10_000));
    let o = a.refund(&prog, k(6), &refund, d(2026, 1, 4)).unwrap();
    assert_eq!((o.from_available, o.debt), (p(20), p(80)));
    // Half the $50 order: 40 points back, and they repay debt first.
    let o = a.rollback(&prog, k(7), &rollback_of(3, 2500), d(2026, 1, 5)).unwrap();
    assert_eq!((o.points, o.debt_repaid), (p(40), p(40)));
    assert_eq!((a.balances().available, a.balances().debt), (p(0), p(40)));
    a.check_with(&prog).unwrap();
}

#[test]
fn rollback_after_an_inactivity_lapse_expires_what_comes_back() {
    let prog = program().expiry(Expiry::inactivity(30).unwrap());
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &earn(100), d(2026, 1, 1)).unwrap();
    a.redeem(&prog, k(2), &RedeemRequest::new(p(60), usd(6000)), d(2026, 1, 2)).unwrap();
    // 2 March: the 40 left lapsed; the 60 returned are idle too (a rollback is not
    // activity), so they expire at once.
    let o = a.rollback(&prog, k(3), &rollback_of(2, 6000), d(2026, 3, 2)).unwrap();
    assert_eq!((o.points, o.expired), (p(60), p(0)));
    assert_eq!(a.balances().available, p(0));
    assert_eq!(a.totals().expired.value(), 100);
    assert_eq!(a.last_activity(), d(2026, 1, 2));
    assert!(
        matches!(a.entries().last().unwrap().kind(), EntryKind::Expire { points } if *points == p(60))
    );
    a.check_with(&prog).unwrap();
}

#[test]
fn rollback_needs_its_redemption_uncompacted() {
    let prog = thirty_days();
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &earn(100), d(2026, 1, 1)).unwrap();
    a.redeem(&prog, k(2), &RedeemRequest::new(p(50), usd(5000)), d(2026, 1, 2)).unwrap();
    a.rollback(&prog, k(3), &rollback_of(2, 1000), d(2026, 1, 5)).unwrap();
    a.earn(&prog, k(4), &earn(10), d(2026, 1, 6)).unwrap();
    // A kept rollback holds the cut back to its redemption.
    let c = a.compact(d(2026, 1, 4), d(2026, 1, 1)).unwrap();
    assert_eq!(c.entries, 1);
    a.check().unwrap();
    let again = a.rollback(&prog, k(5), &rollback_of(2, 1000), d(2026, 1, 7)).unwrap();
    assert_eq!(again.rolled_back, p(20));
    // Folded, it can no longer be rolled back: a typed error, nothing changes.
    a.compact(d(2026, 1, 8), d(2026, 1, 1)).unwrap();
    let before = a.clone();
    let e = kind(a.rollback(&prog, k(6), &rollback_of(2, 1000), d(2026, 1, 9)));
    assert!(matches!(e, ErrorKind::InvalidState { .. }), "{e:?}");
    assert_eq!(a, before);
}

#[cfg(feature = "serde")]
#[test]
fn forged_rollbacks_are_refused_on_reading() {
    use serde_json::json;
    let prog = thirty_days();
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    a.earn(&prog, k(1), &earn(100), d(2026, 1, 1)).unwrap();
    a.redeem(&prog, k(2), &RedeemRequest::new(p(60), usd(6000)), d(2026, 1, 2)).unwrap();
    // A second redemption whose order is three times its points' worth: the same refund
    // of it would return a third of what the first returns.
    a.redeem(&prog, k(3), &RedeemRequest::new(p(30), usd(9000)), d(2026, 1, 2)).unwrap();
    a.rollback(&prog, k(4), &rollback_of(2, 3000), d(2026, 1, 3)).unwrap();
    let good = serde_json::to_value(&a).unwrap();
    assert_eq!(good["version"], 5);
    assert_eq!(serde_json::from_value::<Account>(good.clone()).unwrap(), a);
    let rb = "/entries/3/kind/Rollback";
    let forgeries: Vec<(&str, &str, serde_json::Value)> = vec![
        ("more points back", "/outcome/points", json!(31)),
        ("fewer expired", "/outcome/expired", json!(1)),
        ("more rolled back so far", "/outcome/rolled_back", json!(31)),
        ("another amount refunded", "/outcome/refunded/amount", json!("31")),
        ("another request", "/request/refunded/amount", json!("40")),
        ("another redemption", "/request/redemption", json!("3")),
        ("not a redemption", "/request/redemption", json!("1")),
    ];
    for (what, path, value) in forgeries {
        let mut v = good.clone();
        *v.pointer_mut(&format!("{rb}{path}")).unwrap() = value;
        let e = serde_json::from_value::<Account>(v).unwrap_err();
        assert!(e.to_string().contains("invalid state"), "{what}: {e}");
    }
    // The points put back, and the total, raised alike.
    let mut v = good.clone();
    v["lots"][0]["remaining"] = json!(41);
    v["balances"]["available"] = json!(41);
    v["totals"]["rolled_back"] = json!("31");
    assert!(serde_json::from_value::<Account>(v).is_err());
    // The rollback deleted: its points are then in the lot from nowhere.
    let mut v = good.clone();
    v["entries"].as_array_mut().unwrap().remove(3);
    assert!(serde_json::from_value::<Account>(v).is_err());
    // Version 4 had no rollbacks; an account without one still reads at version 4.
    let mut v = good.clone();
    v["version"] = json!(4);
    let e = serde_json::from_value::<Account>(v).unwrap_err();
    assert!(e.to_string().contains("a version 4 account has no rollback"), "{e}");
    let mut plain = Account::new(MemberId::new(1), d(2026, 1, 1));
    plain.earn(&prog, k(1), &earn(100), d(2026, 1, 1)).unwrap();
    let mut v = serde_json::to_value(&plain).unwrap();
    v["version"] = json!(4);
    v["totals"].as_object_mut().unwrap().remove("rolled_back");
    assert_eq!(serde_json::from_value::<Account>(v).unwrap(), plain);
}
