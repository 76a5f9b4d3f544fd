//! `points::transfer_between` over accounts kept in a map: every refusal is typed, names
//! what was wrong, and leaves every account exactly as it was.

use std::collections::HashMap;

use loyalty::points::*;
use loyalty::{Currency, Error, ErrorKind, Money};
use rust_decimal::dec;

use crate::points::d;

fn program() -> Program {
    let usd = Money::new(dec!(10), Currency::USD);
    Program::new(
        EarnRules::new(Currency::USD, dec!(1)).unwrap(),
        RedemptionRules::new(Points::new(100), usd).unwrap(),
    )
    .unwrap()
    .expiry(Expiry::rolling(Span::Months(12)).unwrap())
}

/// Members 1 and 2, each with 300 points earned on 2026-01-05.
fn accounts(program: &Program) -> HashMap<MemberId, Account> {
    let mut map = HashMap::new();
    for (id, key) in [(1, 1), (2, 2)] {
        let member = MemberId::new(id);
        let mut account = Account::new(member, d(2026, 1, 5));
        account
            .earn(program, OpKey::new(key), &EarnRequest::new(Points::new(300)), d(2026, 1, 5))
            .unwrap();
        map.insert(member, account);
    }
    map
}

/// Runs a transfer that must fail and checks that no account in the map changed.
fn refused(
    program: &Program,
    map: &mut HashMap<MemberId, Account>,
    from: u64,
    to: u64,
    points: u64,
    now: chrono::NaiveDate,
) -> Error {
    let before: HashMap<MemberId, Account> = map.iter().map(|(k, v)| (*k, v.clone())).collect();
    let err = transfer_between(
        program,
        map,
        MemberId::new(from),
        MemberId::new(to),
        OpKey::new(9),
        Points::new(points),
        now,
    )
    .unwrap_err();
    assert_eq!(*map, before, "a refused transfer changed an account");
    err
}

#[test]
fn a_missing_account_is_not_found_naming_the_member() {
    let program = program();
    let mut map = accounts(&program);
    // Receiver missing.
    let err = refused(&program, &mut map, 1, 7, 50, d(2026, 2, 1));
    assert_eq!(*err.kind(), ErrorKind::NotFound { what: "account", id: "7".into() });
    assert_eq!(err.to_string(), "unknown account `7`");
    // Sender missing.
    let err = refused(&program, &mut map, 8, 2, 50, d(2026, 2, 1));
    assert_eq!(*err.kind(), ErrorKind::NotFound { what: "account", id: "8".into() });
    // Both missing: the sender is named.
    let err = refused(&program, &mut map, 8, 7, 50, d(2026, 2, 1));
    assert_eq!(*err.kind(), ErrorKind::NotFound { what: "account", id: "8".into() });
}

#[test]
fn the_same_member_on_both_sides_is_invalid_input() {
    let program = program();
    let mut map = accounts(&program);
    let err = refused(&program, &mut map, 1, 1, 50, d(2026, 2, 1));
    assert_eq!(
        *err.kind(),
        ErrorKind::InvalidInput {
            field: "transfer",
            value: "member 1".into(),
            reason: "sender and receiver are the same member".into(),
        }
    );
    // Even when the member has no account: the pair is refused before the lookup.
    let err = refused(&program, &mut map, 5, 5, 50, d(2026, 2, 1));
    assert!(matches!(err.kind(), ErrorKind::InvalidInput { field: "transfer", .. }));
}

#[test]
fn an_account_filed_under_another_members_id_is_invalid_state() {
    let program = program();
    let mut map = accounts(&program);
    // Member 3's account filed under member 2's id.
    let stray = map.remove(&MemberId::new(2)).unwrap();
    let wrong = Account::new(MemberId::new(3), d(2026, 1, 5));
    map.insert(MemberId::new(2), wrong);
    for (from, to) in [(1, 2), (2, 1)] {
        let err = refused(&program, &mut map, from, to, 50, d(2026, 2, 1));
        assert_eq!(
            *err.kind(),
            ErrorKind::InvalidState {
                reason: "the map keeps an account under another member's id".into()
            }
        );
    }
    // Filed correctly again, the same transfer goes through.
    map.insert(MemberId::new(2), stray);
    let out = transfer_between(
        &program,
        &mut map,
        MemberId::new(1),
        MemberId::new(2),
        OpKey::new(9),
        Points::new(50),
        d(2026, 2, 1),
    )
    .unwrap();
    assert_eq!(out.points, Points::new(50));
    assert_eq!(map[&MemberId::new(1)].balances().available, Points::new(250));
    assert_eq!(map[&MemberId::new(2)].balances().available, Points::new(350));
}

#[test]
fn a_refusal_by_transfer_itself_leaves_both_accounts_unchanged() {
    let program = program();
    let mut map = accounts(&program);
    // More than the sender holds.
    let err = refused(&program, &mut map, 1, 2, 301, d(2026, 2, 1));
    assert!(matches!(err.kind(), ErrorKind::Insufficient { what: "points", .. }), "{err}");
    // A year later both accounts' points have expired: bringing them up to `now` would
    // change them, and the refusal must undo that too.
    let err = refused(&program, &mut map, 1, 2, 100, d(2027, 3, 1));
    assert_eq!(err.to_string(), "insufficient points: requested 100, available 0");
    // Zero points.
    let err = refused(&program, &mut map, 1, 2, 0, d(2026, 2, 1));
    assert!(matches!(err.kind(), ErrorKind::InvalidInput { .. }), "{err}");
}
