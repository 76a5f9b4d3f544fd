//! Forged stored accounts: every date in the stored form of a rich account is moved, and
//! each forgery is either refused (on reading, or by `check_with` given the program) or
//! provably harmless: the forged account then answers every replay and every later
//! operation exactly as the true one does.

use chrono::{Days, NaiveDate};
use loyalty::points::*;
use loyalty::{Currency, ErrorKind, Money};
use rust_decimal::Decimal;
use serde_json::Value;

fn d(m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, m, day).unwrap()
}

fn usd(n: i64) -> Money {
    Money::new(Decimal::from(n), Currency::USD)
}

fn program(expiry: Expiry) -> Program {
    Program::new(
        EarnRules::new(Currency::USD, Decimal::ONE).unwrap(),
        RedemptionRules::new(Points::new(100), usd(10)).unwrap(),
    )
    .unwrap()
    .expiry(expiry)
}

fn rolling() -> Program {
    program(Expiry::rolling(Span::Days(20)).unwrap())
}

fn inactivity() -> Program {
    program(Expiry::inactivity(30).unwrap())
}

/// An account that went through every kind of operation under `p`.
fn rich(p: &Program) -> Account {
    let k = OpKey::new;
    let e = |n| EarnRequest::new(Points::new(n));
    let mut a = Account::new(MemberId::new(1), d(1, 1));
    let mut other = Account::new(MemberId::new(2), d(1, 1));
    other.earn(p, k(900), &e(50), d(1, 2)).unwrap();
    a.earn(p, k(1), &e(40).for_order(usd(40)), d(1, 10)).unwrap();
    a.earn(p, k(2), &e(30).pending(Pending::Until(d(1, 15))), d(1, 11)).unwrap();
    a.earn(p, k(3), &e(25).pending(Pending::UntilActivated), d(1, 11)).unwrap();
    a.earn(p, k(4), &e(10).pending(Pending::UntilActivated), d(1, 12)).unwrap();
    a.adjust(p, k(5), &Adjustment::credit(Points::new(15), "goodwill"), d(1, 12)).unwrap();
    a.activate(p, k(6), k(3), d(1, 13)).unwrap();
    a.cancel_pending(p, k(7), k(4), d(1, 14)).unwrap();
    a.adjust(p, k(8), &Adjustment::debit(Points::new(5), "correction"), d(1, 16)).unwrap();
    a.redeem(p, k(9), &RedeemRequest::new(Points::new(20), usd(100)), d(1, 16)).unwrap();
    let r = a.reserve(p, k(10), &RedeemRequest::new(Points::new(10), usd(100)), d(1, 17));
    a.commit(p, k(11), r.unwrap().reservation.unwrap(), d(1, 17)).unwrap();
    let r = a.reserve(p, k(12), &RedeemRequest::new(Points::new(10), usd(100)), d(1, 18));
    a.release(p, k(13), r.unwrap().reservation.unwrap(), d(1, 19)).unwrap();
    a.refund(p, k(14), &RefundRequest::new(k(1), usd(10)), d(1, 20)).unwrap();
    transfer(p, &mut other, &mut a, k(15), Points::new(12), d(1, 20)).unwrap();
    transfer(p, &mut a, &mut other, k(16), Points::new(5), d(1, 21)).unwrap();
    a.earn(p, k(17), &e(50), d(2, 6)).unwrap();
    // Half the order of the redemption of 16 January comes back.
    a.rollback(p, k(18), &RollbackRequest::new(k(9), usd(50)), d(2, 6)).unwrap();
    a.check_with(p).unwrap();
    a
}

/// JSON pointers of every date in `v`, and of every `valid_through` that holds none.
fn dates(v: &Value, path: &str, out: &mut Vec<String>) {
    match v {
        Value::String(s) if s.parse::<NaiveDate>().is_ok() => out.push(path.to_string()),
        Value::Null if path.ends_with("valid_through") => out.push(path.to_string()),
        Value::Array(xs) => {
            for (i, x) in xs.iter().enumerate() {
                dates(x, &format!("{path}/{i}"), out);
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                dates(x, &format!("{path}/{k}"), out);
            }
        }
        _ => {}
    }
}

/// What an account answers from now on: a replay of every key it was given, then time
/// and spending on a fixed calendar from `start`.
fn future(a: &Account, p: &Program, start: NaiveDate) -> Vec<String> {
    let mut a = a.clone();
    let mut out = Vec::new();
    for key in 1..=18 {
        out.push(format!("{:?}", a.entry_for(OpKey::new(key)).map(Entry::kind)));
    }
    out.push(format!("{:?}", a.expiring_before(p, start.checked_add_days(Days::new(90)).unwrap())));
    for (step, days) in
        [0u64, 1, 5, 9, 10, 11, 15, 19, 20, 21, 25, 29, 30, 31, 40, 400].into_iter().enumerate()
    {
        let now = start.checked_add_days(Days::new(days)).unwrap();
        out.push(format!("{days}: {:?}", a.expire(p, now)));
        if step == 3 {
            let spend = a.balances().available.min(Points::new(7));
            let r = RedeemRequest::new(spend, usd(100));
            out.push(format!("{:?}", a.redeem(p, OpKey::new(1000), &r, now)));
            let rest = RollbackRequest::new(OpKey::new(9), usd(50));
            out.push(format!("{:?}", a.rollback(p, OpKey::new(1001), &rest, now)));
        }
        out.push(format!("{:?} {:?}", a.balances(), a.totals()));
    }
    out
}

/// Moves every date of the rich account's stored form by a day either way and by 400
/// days either way: refused, or harmless.
fn sweep(p: &Program) {
    let a = rich(p);
    let v = serde_json::to_value(&a).unwrap();
    let mut pointers = Vec::new();
    dates(&v, "", &mut pointers);
    // Lot dates, entry dates and the last activity are all there.
    for must in
        ["/last_activity", "/clock", "/lots/0/valid_through", "/lots/0/earned_on", "/entries/0/at"]
    {
        assert!(pointers.iter().any(|x| x == must), "{must}");
    }
    let (mut refused, mut harmless) = (0, Vec::new());
    for ptr in &pointers {
        for shift in [-400i64, -1, 1, 400] {
            // An undated lot or outcome gets a date 10 days after the clock instead.
            let was: NaiveDate = match v.pointer(ptr).unwrap().as_str() {
                Some(s) => s.parse().unwrap(),
                None if shift == 1 => a.clock().checked_add_days(Days::new(9)).unwrap(),
                None => continue,
            };
            let moved = if shift < 0 {
                was.checked_sub_days(Days::new(shift.unsigned_abs()))
            } else {
                was.checked_add_days(Days::new(shift as u64))
            }
            .unwrap();
            let mut forged = v.clone();
            *forged.pointer_mut(ptr).unwrap() = Value::String(moved.to_string());
            let f = match serde_json::from_value::<Account>(forged) {
                Err(e) => {
                    assert!(e.to_string().contains("invalid state"), "{ptr} {shift}: {e}");
                    refused += 1;
                    continue;
                }
                Ok(f) => f,
            };
            if let Err(e) = f.check_with(p) {
                assert!(matches!(e.kind(), ErrorKind::InvalidState { .. }), "{ptr}: {e}");
                refused += 1;
                continue;
            }
            // Accepted: it must behave as the true account in everything it answers.
            let start = a.clock().max(f.clock());
            assert_eq!(future(&f, p, start), future(&a, p, start), "{ptr} moved {shift} days");
            harmless.push(format!("{ptr} {shift:+}"));
        }
    }
    assert!(refused > 0);
    // Lot dates and the last activity are never accepted, except the date of a lot
    // received under `TransferExpiry::KeepSource`: the sender's lot decided it, and
    // `check_with` bounds it (from the transfer day to what the program gives on it).
    let kept = a
        .lots()
        .iter()
        .filter(|l| l.source() == LotSource::Transfer)
        .map(|l| format!("/lots/{}/valid_through", l.id().value()));
    let kept: Vec<String> = if p.transfer_expiry_policy() == TransferExpiry::KeepSource {
        kept.collect()
    } else {
        Vec::new()
    };
    for h in &harmless {
        let lot_date = h.contains("valid_through") || h.contains("earned_on");
        let allowed = kept.iter().any(|k| h.starts_with(&format!("{k} ")));
        assert!(!h.contains("last_activity") && (!lot_date || allowed), "{h} was accepted");
    }
}

#[test]
fn every_moved_date_is_refused_or_harmless_under_a_rolling_expiry() {
    sweep(&rolling());
}

#[test]
fn every_moved_date_is_refused_or_harmless_under_a_rolling_expiry_reset_on_transfer() {
    sweep(&rolling().transfer_expiry(TransferExpiry::Reset));
}

#[test]
fn every_moved_date_is_refused_or_harmless_under_an_inactivity_expiry() {
    sweep(&inactivity());
}

/// The review's repro: an immediate earn's lot valid through 2099 read back, and passed
/// `check_with`.
#[test]
fn a_lot_date_shifted_alone_is_refused() {
    let p = rolling();
    let mut a = Account::new(MemberId::new(1), d(1, 1));
    a.earn(&p, OpKey::new(1), &EarnRequest::new(Points::new(40)), d(1, 10)).unwrap();
    let good = serde_json::to_value(&a).unwrap();
    let mut v = good.clone();
    v["lots"][0]["valid_through"] = "2099-12-31".into();
    let e = serde_json::from_value::<Account>(v).unwrap_err();
    assert!(e.to_string().contains("entry 0 earn differs from its lot"), "{e}");
    // The entry's date moved with it: consistent with itself, not with the program.
    let mut v = good;
    v["lots"][0]["valid_through"] = "2099-12-31".into();
    v["entries"][0]["kind"]["Earn"]["outcome"]["valid_through"] = "2099-12-31".into();
    let forged: Account = serde_json::from_value(v).unwrap();
    let e = forged.check_with(&p).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid state: entry 0 last valid day 2099-12-31 differs from the program's (2024-01-30)"
    );
}

/// The review's inactivity variant: `last_activity` moved back to the opening day would
/// expire the balance 9 days early.
#[test]
fn a_last_activity_moved_back_is_refused() {
    let p = inactivity();
    let mut a = Account::new(MemberId::new(1), d(1, 1));
    a.earn(&p, OpKey::new(1), &EarnRequest::new(Points::new(40)), d(1, 10)).unwrap();
    let mut v = serde_json::to_value(&a).unwrap();
    v["last_activity"] = "2024-01-01".into();
    let e = serde_json::from_value::<Account>(v).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid state: last activity 2024-01-01 differs from the history (2024-01-10)"
    );
}

/// A redemption value whose currency's precision was forged reads "3.00 USD" either way;
/// the message says what differs.
#[test]
fn a_forged_currency_precision_is_named() {
    let p = rolling();
    let mut a = Account::new(MemberId::new(1), d(1, 1));
    a.earn(&p, OpKey::new(1), &EarnRequest::new(Points::new(40)), d(1, 10)).unwrap();
    a.redeem(&p, OpKey::new(2), &RedeemRequest::new(Points::new(30), usd(100)), d(1, 10)).unwrap();
    let mut v = serde_json::to_value(&a).unwrap();
    v["entries"][1]["kind"]["Redeem"]["outcome"]["value"]["currency"]["minor_units"] = 3.into();
    let forged: Account = serde_json::from_value(v).unwrap();
    let e = forged.check_with(&p).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid state: entry 1 redemption value 3.00 USD differs from the program's (the \
         program gives 3.00 USD with 2 minor units, not 3)"
    );
}
