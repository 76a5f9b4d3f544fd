//! Compaction of a points account (issue 17 item 10): folding old history into a verified
//! checkpoint changes no balance, lot, total or outcome; replays inside the window return
//! the stored outcome, older ones are a typed error; a tampered checkpoint is refused.

use chrono::{Days, NaiveDate};
use loyalty::points::*;
use loyalty::{Currency, ErrorKind};
use proptest::prelude::*;
use rust_decimal::{dec, Decimal};

use super::points::{d, op, pick, run, scenario_program, usd, Call, Op};

/// Earn 300 on Jan 5 (an order of $300), redeem 100 on Feb 1, earn 200 on Mar 5.
fn history() -> Account {
    let p = Program::new(
        EarnRules::new(Currency::USD, Decimal::ONE).unwrap(),
        RedemptionRules::new(Points::new(100), usd(dec!(10))).unwrap(),
    )
    .unwrap();
    let mut a = Account::new(MemberId::new(1), d(2026, 1, 1));
    let order = EarnRequest::new(Points::new(300)).for_order(usd(dec!(300)));
    a.earn(&p, OpKey::new(1), &order, d(2026, 1, 5)).unwrap();
    let redeem = RedeemRequest::new(Points::new(100), usd(dec!(50)));
    a.redeem(&p, OpKey::new(2), &redeem, d(2026, 2, 1)).unwrap();
    a.earn(&p, OpKey::new(3), &EarnRequest::new(Points::new(200)), d(2026, 3, 5)).unwrap();
    a
}

fn plain() -> Program {
    Program::new(
        EarnRules::new(Currency::USD, Decimal::ONE).unwrap(),
        RedemptionRules::new(Points::new(100), usd(dec!(10))).unwrap(),
    )
    .unwrap()
}

#[test]
fn compaction_folds_history_and_keeps_balances_refunds_and_replays() {
    let p = plain();
    let mut a = history();
    let whole = a.clone();
    let c = a.compact(d(2026, 3, 1), d(2026, 2, 1)).unwrap();
    // Earn (Jan 5) forgotten, redemption (Feb 1) kept for replays; the Mar 5 earn stays.
    assert_eq!((c.entries, c.replayable, c.forgotten, c.draws), (2, 1, 1, 1));
    assert_eq!(a.entries().len(), 2);
    assert_eq!(a.balances(), whole.balances());
    assert_eq!(a.totals(), whole.totals());
    assert_eq!(a.lots(), whole.lots());
    let cp = a.checkpoint().unwrap();
    assert_eq!((cp.at(), cp.replay_from(), cp.folded()), (d(2026, 3, 1), d(2026, 2, 1), 2));
    assert_eq!(cp.balances().available, Points::new(200));
    assert_eq!(cp.totals().earned, Points::new(300));
    assert_eq!(cp.totals().redeemed, Points::new(100));
    a.check().unwrap();

    // A replay inside the window returns the stored outcome and changes nothing.
    let redeem = RedeemRequest::new(Points::new(100), usd(dec!(50)));
    let before = a.clone();
    let r = a.redeem(&p, OpKey::new(2), &redeem, d(2026, 3, 9)).unwrap();
    assert_eq!((r.points, r.value), (Points::new(100), usd(dec!(10))));
    assert_eq!(a, before);
    // ... and a conflicting payload is still a conflict.
    let other = RedeemRequest::new(Points::new(200), usd(dec!(50)));
    let e = a.redeem(&p, OpKey::new(2), &other, d(2026, 3, 9)).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::IdempotencyConflict { .. }));
    // A key older than the window is a typed error, whatever the payload: not a new earn.
    for earn in [EarnRequest::new(Points::new(300)), EarnRequest::new(Points::new(1))] {
        let e = a.earn(&p, OpKey::new(1), &earn, d(2026, 3, 9)).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::ReplayExpired { .. }), "{e}");
    }
    assert_eq!(a, before);

    // A refund of the forgotten order still finds its lot: half the order claws back 150
    // points, 100 of them already spent (carried as nothing under the default policy,
    // which takes what is there).
    let refund = RefundRequest::new(OpKey::new(1), usd(dec!(150)));
    let mut w = whole.clone();
    let want = w.refund(&p, OpKey::new(9), &refund, d(2026, 3, 9)).unwrap();
    let got = a.refund(&p, OpKey::new(9), &refund, d(2026, 3, 9)).unwrap();
    assert_eq!(got, want);
    assert_eq!(a.balances(), w.balances());
    assert_eq!(a.lots(), w.lots());
    a.check().unwrap();

    // Compacting again folds the rest; every key but the refund's is then forgotten.
    let c2 = a.compact(d(2026, 12, 1), d(2026, 3, 9)).unwrap();
    assert_eq!((c2.entries, c2.replayable, c2.forgotten), (2, 1, 2));
    assert_eq!(a.checkpoint().unwrap().folded(), 4);
    assert_eq!(a.checkpoint().unwrap().forgotten_keys(), 3);
    assert_eq!(a.refund(&p, OpKey::new(9), &refund, d(2026, 3, 9)).unwrap(), want);
    let e = a.redeem(&p, OpKey::new(2), &redeem, d(2026, 3, 9)).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::ReplayExpired { .. }));
    a.check().unwrap();
}

#[test]
fn an_open_reservation_holds_the_cut_back() {
    let p = plain();
    let mut a = history();
    let hold = RedeemRequest::new(Points::new(50), usd(dec!(50)));
    let r = a.reserve(&p, OpKey::new(4), &hold, d(2026, 4, 1)).unwrap();
    a.earn(&p, OpKey::new(5), &EarnRequest::new(Points::new(100)), d(2026, 6, 5)).unwrap();
    let c = a.compact(d(2026, 7, 1), d(2026, 7, 1)).unwrap();
    // Folds the three entries before the reservation, not the reservation or what follows.
    assert_eq!((c.entries, c.forgotten), (3, 3));
    assert_eq!(a.checkpoint().unwrap().at(), d(2026, 4, 1));
    assert_eq!(a.entries().len(), 2);
    // Releasing it puts the points back where they came from.
    let out = a.release(&p, OpKey::new(6), r.reservation.unwrap(), d(2026, 7, 2)).unwrap();
    assert_eq!(out.returned, Points::new(50));
    assert_eq!(a.balances().available, Points::new(500));
    // Now the cut can pass it.
    let c = a.compact(d(2026, 7, 3), d(2026, 7, 1)).unwrap();
    assert_eq!((c.entries, c.replayable, c.forgotten), (3, 1, 2));
    a.check().unwrap();
}

#[test]
fn a_replay_window_after_the_cut_is_refused() {
    let mut a = history();
    let was = a.clone();
    let e = a.compact(d(2026, 3, 1), d(2026, 3, 2)).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidInput { .. }));
    assert_eq!(a, was);
    // Nothing before the date: nothing changes.
    assert_eq!(a.compact(d(2026, 1, 1), d(2026, 1, 1)).unwrap(), Compaction::default());
    assert_eq!(a, was);
}

#[cfg(feature = "serde")]
#[test]
fn a_tampered_checkpoint_is_refused() {
    let mut a = history();
    a.compact(d(2026, 3, 1), d(2026, 2, 1)).unwrap();
    let v = serde_json::to_value(&a).unwrap();
    assert_eq!(v["version"], 5);
    assert_eq!(v["checkpoint"]["version"], 3);
    let back: Account = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(back, a);
    type Edit = fn(&mut serde_json::Value);
    let edits: [(&str, Edit); 13] = [
        ("earned total", |c| c["totals"]["earned"] = 301.into()),
        ("redeemed total", |c| c["totals"]["redeemed"] = 99.into()),
        ("available at the cut", |c| c["balances"]["available"] = 201.into()),
        ("debt at the cut", |c| c["balances"]["debt"] = 5.into()),
        ("points drawn from a lot", |c| c["lots"][0]["drawn"] = 99.into()),
        ("points expired from a lot", |c| c["lots"][0]["expired"] = 1.into()),
        ("a lot cancelled", |c| c["lots"][0]["state"] = "Cancelled".into()),
        ("a refund requested", |c| c["lots"][0]["claw_requested"] = 10.into()),
        ("a kept entry dropped", |c| c["retained"] = 0.into()),
        ("a forgotten key dropped", |c| c["forgotten"] = serde_json::json!([])),
        ("a forgotten key naming another lot", |c| c["forgotten"][0]["lot"] = 1.into()),
        ("a newer version", |c| c["version"] = 4.into()),
        ("last activity after the cut", |c| c["last_activity"] = "2026-03-02".into()),
    ];
    for (what, edit) in edits {
        let mut forged = v.clone();
        edit(&mut forged["checkpoint"]);
        assert!(serde_json::from_value::<Account>(forged).is_err(), "{what}");
    }
    // A checkpoint in a version-2 account is refused too.
    let mut forged = v.clone();
    forged["version"] = 2.into();
    assert!(serde_json::from_value::<Account>(forged).is_err());
    // The account's last activity is re-derived from the checkpoint's record of it.
    // The folded history's last activity is the redemption of 1 February; the account's
    // is the earn of 5 March after the cut.
    assert_eq!(v["checkpoint"]["last_activity"], "2026-02-01");
    assert_eq!(a.last_activity(), d(2026, 3, 5));
    let mut forged = v.clone();
    forged["last_activity"] = "2026-01-01".into();
    let e = serde_json::from_value::<Account>(forged).unwrap_err();
    assert!(e.to_string().contains("last activity 2026-01-01 differs"), "{e}");
    // A version-2 checkpoint (no record of it) still reads; the cut then bounds it.
    let mut old = v.clone();
    old["checkpoint"]["version"] = 2.into();
    old["checkpoint"].as_object_mut().unwrap().remove("last_activity");
    let back: Account = serde_json::from_value(old.clone()).unwrap();
    assert_eq!(back.last_activity(), a.last_activity());
    old["last_activity"] = "2026-03-02".into();
    assert!(serde_json::from_value::<Account>(old).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Random operations on two pairs of accounts; one pair is compacted at random dates
    /// with random windows. Outcomes, balances, lots and totals stay those of the pair that
    /// was not compacted, except that replays of keys older than the window are
    /// `ReplayExpired` (and must be, once such a key was folded).
    #[test]
    fn compaction_changes_no_outcome(
        policy in 0u8..3,
        expiry in 0u8..4,
        reset in any::<bool>(),
        scramble in any::<bool>(),
        ops in proptest::collection::vec(op(), 1..60),
        cuts in proptest::collection::vec((0usize..60, 0u64..45, 0u64..45), 0..4),
    ) {
        let program = scenario_program(policy, expiry, reset);
        let start = d(2026, 1, 1);
        let mut now = start;
        let (mut a, mut b) = (Account::new(MemberId::new(1), start), Account::new(MemberId::new(2), start));
        let (mut ca, mut cb) = (a.clone(), b.clone());
        let mut next_key = 1u128;
        let mut done: Vec<(Call, OpKey, String, NaiveDate)> = Vec::new();
        let mut earns: [Vec<OpKey>; 2] = [Vec::new(), Vec::new()];
        let mut reservations: [Vec<ReservationId>; 2] = [Vec::new(), Vec::new()];
        let mut redemptions: [Vec<OpKey>; 2] = [Vec::new(), Vec::new()];
        // Per compacted account: the (cut, window start) of each compaction.
        let mut folds: [Vec<(NaiveDate, NaiveDate)>; 2] = [Vec::new(), Vec::new()];
        let ix = |x: bool| usize::from(!x);
        for (step, op) in ops.into_iter().enumerate() {
            for &(at, back, window) in &cuts {
                if at != step { continue; }
                let before = now.checked_sub_days(Days::new(back)).unwrap().max(start);
                let from = before.checked_sub_days(Days::new(window)).unwrap();
                for (i, acc) in [&mut ca, &mut cb].into_iter().enumerate() {
                    let (was_b, was_t, was_l) = (acc.balances(), acc.totals(), acc.lots().to_vec());
                    acc.compact(before, from).unwrap();
                    prop_assert_eq!(acc.balances(), was_b);
                    prop_assert_eq!(acc.totals(), was_t);
                    prop_assert_eq!(acc.lots(), &was_l[..]);
                    if let Some(c) = acc.checkpoint() { folds[i].push((c.at(), c.replay_from())); }
                    prop_assert!(acc.check().is_ok(), "{:?}", acc.check());
                }
            }
            let snap = (a.clone(), b.clone(), ca.clone(), cb.clone());
            let key = OpKey::new(if scramble { (next_key * 0x9e37_79b9_7f4a_7c15) % (1u128 << 64) } else { next_key });
            let (call, key, replayed_on) = match op {
                Op::Wait { days } => { now = now.checked_add_days(Days::new(days)).unwrap(); continue; }
                Op::Expire { acct } => {
                    let (p, q) = if acct { (&mut a, &mut ca) } else { (&mut b, &mut cb) };
                    prop_assert_eq!(p.expire(&program, now).unwrap(), q.expire(&program, now).unwrap());
                    continue;
                }
                Op::Replay { pick: i } | Op::Conflict { pick: i } => {
                    if done.is_empty() { continue; }
                    let (call, key, _, at) = done[i % done.len()].clone();
                    let call = match (op, call) {
                        (Op::Conflict { .. }, Call::Earn(x, r)) => Call::Earn(x, EarnRequest::new(Points::new(r.points().value() + 1))),
                        (Op::Conflict { .. }, Call::Transfer(x, p)) => Call::Transfer(x, Points::new(p.value() + 1)),
                        (Op::Conflict { .. }, c) => Call::Redeem(side(&c), RedeemRequest::new(Points::new(1), usd(dec!(1000)))),
                        (_, c) => c,
                    };
                    (call, key, Some(at))
                }
                Op::Earn { acct, points, pending, order } => {
                    let mut r = EarnRequest::new(Points::new(points));
                    if order { r = r.for_order(usd(Decimal::from(points.max(1)))); }
                    r = r.pending(match pending {
                        0 | 1 => Pending::Immediate,
                        2 => Pending::Until(now.checked_add_days(Days::new(points % 20 + 1)).unwrap()),
                        _ => Pending::UntilActivated,
                    });
                    (Call::Earn(acct, r), key, None)
                }
                Op::Activate { acct, pick: i } => match pick(&earns[ix(acct)], i) { Some(k) => (Call::Activate(acct, k), key, None), None => continue },
                Op::Cancel { acct, pick: i } => match pick(&earns[ix(acct)], i) { Some(k) => (Call::Cancel(acct, k), key, None), None => continue },
                Op::Redeem { acct, points } => (Call::Redeem(acct, RedeemRequest::new(Points::new(points), usd(dec!(1000)))), key, None),
                Op::Reserve { acct, points } => (Call::Reserve(acct, RedeemRequest::new(Points::new(points), usd(dec!(1000)))), key, None),
                Op::Commit { acct, pick: i } => (Call::Commit(acct, pick(&reservations[ix(acct)], i).unwrap_or(ReservationId::new(7))), key, None),
                Op::Release { acct, pick: i } => (Call::Release(acct, pick(&reservations[ix(acct)], i).unwrap_or(ReservationId::new(7))), key, None),
                Op::Refund { acct, pick: i, cents } => match pick(&earns[ix(acct)], i) {
                    Some(k) => (Call::Refund(acct, RefundRequest::new(k, usd(Decimal::new(cents, 2)))), key, None),
                    None => continue,
                },
                Op::Rollback { acct, pick: i, cents } => match pick(&redemptions[ix(acct)], i) {
                    Some(k) => (Call::Rollback(acct, RollbackRequest::new(k, usd(Decimal::new(cents, 2)))), key, None),
                    None => continue,
                },
                Op::Adjust { acct, credit, points } => (Call::Adjust(acct, if credit {
                    Adjustment::credit(Points::new(points), "test")
                } else {
                    Adjustment::debit(Points::new(points), "test")
                }), key, None),
                Op::Transfer { a_to_b, points } => (Call::Transfer(a_to_b, Points::new(points)), key, None),
            };
            let whole = run(&program, &mut a, &mut b, &call, key, now);
            let compacted = run(&program, &mut ca, &mut cb, &call, key, now);
            let expired = matches!(compacted.as_ref().map_err(|e| e.kind()), Err(ErrorKind::ReplayExpired { .. }));
            // The one other thing compaction changes: a redemption it folded can no longer
            // be rolled back (the lots it drew from are gone). The pair that kept its
            // history is put back, so the two pairs stay comparable.
            let folded = matches!(&call, Call::Rollback(..)) && replayed_on.is_none()
                && compacted.as_ref().is_err_and(|e| e.to_string().contains("folded by compaction"));
            if folded {
                prop_assert_eq!((&ca, &cb), (&snap.2, &snap.3));
                a = snap.0.clone();
                b = snap.1.clone();
                continue;
            }
            if let Some(at) = replayed_on {
                // The accounts the key lives in (both, for a transfer).
                let sides: Vec<usize> = match &call { Call::Transfer(..) => vec![0, 1], c => vec![ix(side(c))] };
                let must = sides.iter().any(|&s| folds[s].iter().any(|&(cut, from)| at < cut && at < from));
                let may = sides.iter().any(|&s| folds[s].iter().any(|&(_, from)| at < from));
                prop_assert!(!must || expired, "{:?} folded at {} but {:?}", key, at, compacted);
                prop_assert!(!expired || may, "{:?} expired inside the window", key);
            }
            if expired {
                prop_assert_eq!((&ca, &cb), (&snap.2, &snap.3));
            } else {
                prop_assert_eq!(format!("{compacted:?}"), format!("{whole:?}"));
                if compacted.is_err() {
                    prop_assert_eq!((&ca, &cb), (&snap.2, &snap.3));
                    prop_assert_eq!((&a, &b), (&snap.0, &snap.1));
                }
            }
            if let (Ok(outcome), None) = (&whole, replayed_on) {
                next_key += 1;
                match &call {
                    Call::Earn(x, _) => earns[ix(*x)].push(key),
                    Call::Redeem(x, _) | Call::Commit(x, _) => redemptions[ix(*x)].push(key),
                    Call::Reserve(x, _) => {
                        if let Some(r) = (if *x { &a } else { &b }).reservations().last() { reservations[ix(*x)].push(r.id()); }
                    }
                    _ => {}
                }
                done.push((call, key, outcome.clone(), now));
            }
            for (p, q) in [(&a, &ca), (&b, &cb)] {
                prop_assert_eq!(p.balances(), q.balances());
                prop_assert_eq!(p.totals(), q.totals());
                prop_assert_eq!(p.lots(), q.lots());
                prop_assert_eq!(p.clock(), q.clock());
                prop_assert_eq!(p.last_activity(), q.last_activity());
                let states = |x: &Account| x.reservations().iter().map(|r| (r.points(), r.value(), r.state())).collect::<Vec<_>>();
                prop_assert_eq!(states(p), states(q));
                prop_assert!(q.check().is_ok(), "{:?}", q.check());
            }
        }
        #[cfg(feature = "serde")]
        for acc in [&ca, &cb] {
            let json = serde_json::to_string(acc).unwrap();
            let back: Account = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(&back, acc);
            // Any point more or less in the checkpoint's totals is refused.
            if acc.checkpoint().is_some() {
                let v = serde_json::to_value(acc).unwrap();
                for field in ["earned", "redeemed", "expired", "clawed_back", "cancelled"] {
                    let mut forged = v.clone();
                    let n: u128 = forged["checkpoint"]["totals"][field].as_str().unwrap().parse().unwrap();
                    forged["checkpoint"]["totals"][field] = (n + 1).to_string().into();
                    prop_assert!(serde_json::from_value::<Account>(forged).is_err(), "{}", field);
                }
            }
        }
    }
}

/// The account a call runs on (the sender for a transfer).
fn side(c: &Call) -> bool {
    match c {
        Call::Earn(x, _)
        | Call::Activate(x, _)
        | Call::Cancel(x, _)
        | Call::Redeem(x, _)
        | Call::Reserve(x, _)
        | Call::Commit(x, _)
        | Call::Release(x, _)
        | Call::Refund(x, _)
        | Call::Rollback(x, _)
        | Call::Adjust(x, _)
        | Call::Transfer(x, _) => *x,
    }
}

/// Issue 17 item 3: each kind of forged stored state is refused when read back (the golden
/// account, touched by every kind of operation, edited one field at a time).
#[cfg(feature = "serde")]
#[test]
fn forged_stored_state_is_refused() {
    let path = format!("{}/tests/data/golden/points_account.json", env!("CARGO_MANIFEST_DIR"));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    serde_json::from_value::<Account>(v.clone()).unwrap();
    type Edit = fn(&mut serde_json::Value);
    let edits: [(&str, Edit); 14] = [
        ("a transfer-in or adjustment lot raised", |a| a["lots"][3]["points"] = 16.into()),
        ("an earn lot raised", |a| a["lots"][0]["points"] = 501.into()),
        ("a clock before the last entry", |a| a["clock"] = "2026-02-01".into()),
        ("an active lot past its last valid day", |a| {
            a["lots"][0]["valid_through"] = "2026-01-31".into()
        }),
        ("a changed earned_on", |a| a["lots"][0]["earned_on"] = "2026-01-01".into()),
        ("an edited activation", |a| {
            a["entries"][3]["kind"]["Activate"]["outcome"]["lot"] = 0.into()
        }),
        ("an activation's expiry edited", |a| {
            a["entries"][13]["kind"]["Activate"]["outcome"]["valid_through"] = "2027-03-31".into()
        }),
        ("a deleted activation", |a| {
            a["entries"].as_array_mut().unwrap().remove(3);
        }),
        ("an earn outcome other than its request", |a| {
            a["entries"][0]["kind"]["Earn"]["outcome"]["points"] = 499.into()
        }),
        ("a redemption outcome other than its request", |a| {
            a["entries"][8]["kind"]["Redeem"]["outcome"]["points"] = 199.into()
        }),
        ("a reservation outcome other than its request", |a| {
            a["entries"][4]["kind"]["Reserve"]["outcome"]["points"] = 99.into()
        }),
        ("an adjustment outcome other than its request", |a| {
            a["entries"][10]["kind"]["Adjust"]["outcome"]["points"] = 14.into()
        }),
        ("a release outcome other than its reservation", |a| {
            a["entries"][7]["kind"]["Release"]["outcome"]["returned"] = 49.into()
        }),
        ("a refund split that does not add up", |a| {
            a["entries"][9]["kind"]["Refund"]["outcome"]["requested"] = 99.into()
        }),
    ];
    for (what, edit) in edits {
        let mut forged = v.clone();
        edit(&mut forged);
        assert!(serde_json::from_value::<Account>(forged).is_err(), "{what} was accepted");
    }
}
