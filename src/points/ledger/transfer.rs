//! Transfers between members.

use std::collections::HashMap;
use std::hash::BuildHasher;

use chrono::NaiveDate;

use super::{conflict, positive, Account};
use crate::error::{Error, Result};
use crate::points::entry::{EntryKind, TransferOutcome};
use crate::points::lot::{LotSource, LotState};
use crate::points::program::{Program, TransferExpiry};
use crate::points::{insufficient, MemberId, OpKey, Points};

/// Accounts kept by member, from which [`transfer_between`] borrows both sides of a
/// transfer at once.
///
/// A host that keeps accounts in a map cannot hand [`transfer`] two `&mut Account` from it
/// with `get_mut` twice; this trait asks the map for both at once. It is implemented for
/// `HashMap<MemberId, Account, S>` (with any hasher) through `HashMap::get_disjoint_mut`;
/// a host with its own store (a cache of database rows) implements it the same way. A host
/// that loads rows one by one needs none of this: load both accounts, call [`transfer`],
/// and write both back in one database transaction (on an error neither changed).
pub trait AccountMap {
    /// The accounts of two different members, or the first of them that has no account.
    /// Never called with the same member twice.
    ///
    /// # Errors
    ///
    /// The member (`a` before `b`) whose account is missing, so the error names it.
    fn pair_mut(
        &mut self,
        a: MemberId,
        b: MemberId,
    ) -> std::result::Result<[&mut Account; 2], MemberId>;
}

impl<S: BuildHasher> AccountMap for HashMap<MemberId, Account, S> {
    fn pair_mut(
        &mut self,
        a: MemberId,
        b: MemberId,
    ) -> std::result::Result<[&mut Account; 2], MemberId> {
        match self.get_disjoint_mut([&a, &b]) {
            [Some(x), Some(y)] => Ok([x, y]),
            [None, _] => Err(a),
            [Some(_), None] => Err(b),
        }
    }
}

/// [`transfer`] between two members of an [`AccountMap`].
///
/// # Errors
///
/// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) naming the member (`from` before
/// `to`) that has no account in the map; [`ErrorKind::InvalidState`](crate::ErrorKind::InvalidState) when the map keeps an
/// account under another member's id; otherwise as [`transfer`] (the same member on both
/// sides is [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput)).
///
/// # Example
///
/// ```
/// use std::collections::HashMap;
/// use chrono::NaiveDate;
/// use loyalty::points::*;
/// use loyalty::{Currency, Money};
/// use rust_decimal::Decimal;
///
/// let usd = Money::new(Decimal::from(10), Currency::USD);
/// let program = Program::new(
///     EarnRules::new(Currency::USD, Decimal::ONE)?,
///     RedemptionRules::new(Points::new(100), usd)?,
/// )?;
/// let day = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
/// let (alice, bob) = (MemberId::new(1), MemberId::new(2));
/// let mut accounts = HashMap::new();
/// accounts.insert(alice, Account::new(alice, day));
/// accounts.insert(bob, Account::new(bob, day));
/// let earn = EarnRequest::new(Points::new(300));
/// accounts.get_mut(&alice).unwrap().earn(&program, OpKey::new(1), &earn, day)?;
/// transfer_between(&program, &mut accounts, alice, bob, OpKey::new(2), Points::new(120), day)?;
/// assert_eq!(accounts[&bob].balances().available, Points::new(120));
/// # Ok::<(), loyalty::Error>(())
/// ```
pub fn transfer_between<M: AccountMap + ?Sized>(
    program: &Program,
    accounts: &mut M,
    from: MemberId,
    to: MemberId,
    key: OpKey,
    points: Points,
    now: NaiveDate,
) -> Result<TransferOutcome> {
    if from == to {
        return Err(Error::invalid("transfer", from, "sender and receiver are the same member"));
    }
    let [a, b] = accounts.pair_mut(from, to).map_err(|missing| {
        Error::from(crate::error::ErrorKind::NotFound {
            what: "account",
            id: missing.value().to_string(),
        })
    })?;
    if a.member != from || b.member != to {
        return Err(super::broken("the map keeps an account under another member's id"));
    }
    transfer(program, a, b, key, points, now)
}

/// Moves `points` spendable points from one member to another as one atomic pair (a
/// transfer-out entry and a transfer-in entry under the same key). Both accounts are
/// brought up to `now` and every check runs before either changes; on any error both are
/// left as they were. The receiver's lots follow the program's [`TransferExpiry`]; received
/// points first repay the receiver's debt.
///
/// # Errors
///
/// [`ErrorKind::IdempotencyConflict`](crate::ErrorKind::IdempotencyConflict) when the key was used for something else in either
/// account; [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for zero points, the same member on both sides or a
/// `now` before either account's last operation; [`ErrorKind::Insufficient`](crate::ErrorKind::Insufficient);
/// [`ErrorKind::Overflow`](crate::ErrorKind::Overflow).
///
/// # Example
///
/// ```
/// use chrono::NaiveDate;
/// use loyalty::points::*;
/// use loyalty::{Currency, Money};
/// use rust_decimal::Decimal;
///
/// let usd = Money::new(Decimal::from(10), Currency::USD);
/// let program = Program::new(
///     EarnRules::new(Currency::USD, Decimal::ONE)?,
///     RedemptionRules::new(Points::new(100), usd)?,
/// )?;
/// let day = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
/// let (mut alice, mut bob) = (Account::new(MemberId::new(1), day), Account::new(MemberId::new(2), day));
/// alice.earn(&program, OpKey::new(1), &EarnRequest::new(Points::new(300)), day)?;
/// transfer(&program, &mut alice, &mut bob, OpKey::new(2), Points::new(120), day)?;
/// // A retry changes nothing.
/// transfer(&program, &mut alice, &mut bob, OpKey::new(2), Points::new(120), day)?;
/// assert_eq!(alice.balances().available, Points::new(180));
/// assert_eq!(bob.balances().available, Points::new(120));
/// # Ok::<(), loyalty::Error>(())
/// ```
pub fn transfer(
    program: &Program,
    from: &mut Account,
    to: &mut Account,
    key: OpKey,
    points: Points,
    now: NaiveDate,
) -> Result<TransferOutcome> {
    let (to_id, from_id) = (to.member, from.member);
    let sent = from.replay(key, |k| match k {
        EntryKind::TransferOut { to: t, points: p } if *t == to_id && *p == points => Some(()),
        _ => None,
    });
    let got = to.replay(key, |k| match k {
        EntryKind::TransferIn { from: f, outcome } if *f == from_id && outcome.points == points => {
            Some(*outcome)
        }
        _ => None,
    });
    match (sent, got) {
        (Some(Ok(())), Some(Ok(o))) => return Ok(o),
        (None, None) => {}
        // A side that compacted the key away says so.
        (Some(Err(e)), _) | (_, Some(Err(e)))
            if matches!(e.kind(), crate::ErrorKind::ReplayExpired { .. }) =>
        {
            return Err(e)
        }
        _ => return Err(conflict(key)),
    }
    if from_id == to_id {
        return Err(Error::invalid("transfer", from_id, "sender and receiver are the same member"));
    }
    positive("transfer points", points)?;
    from.check_clock(now)?;
    to.check_clock(now)?;
    let snapshots =
        (from.due(program, now) || to.due(program, now)).then(|| (from.clone(), to.clone()));
    let result = transfer_now(program, from, to, key, points, now);
    if result.is_err() {
        if let Some((f, t)) = snapshots {
            *from = f;
            *to = t;
        }
    }
    result
}

fn transfer_now(
    program: &Program,
    from: &mut Account,
    to: &mut Account,
    key: OpKey,
    points: Points,
    now: NaiveDate,
) -> Result<TransferOutcome> {
    from.advance(program, now)?;
    to.advance(program, now)?;
    // Validate both sides before touching either.
    if points > from.balances.available {
        return Err(insufficient(points, from.balances.available));
    }
    let out_total = from.totals.transferred_out.checked_add(points)?;
    let in_total = to.totals.transferred_in.checked_add(points)?;
    to.balances.outstanding()?.checked_add(points)?;
    let reset = program.0.expiry.valid_through(now)?;
    from.room(0, from.spendable.len())?;
    to.room(from.spendable.len().min(points.value() as usize) + 1, 1)?;
    // Sender.
    let start = from.draws.len();
    from.take_available(points);
    from.totals.transferred_out = out_total;
    from.last_activity = now;
    from.clock = now;
    from.push_entry(Some(key), now, EntryKind::TransferOut { to: to.member, points }, start);
    // Receiver.
    let mut lots = 0u32;
    match program.0.transfer_expiry {
        TransferExpiry::Reset => {
            to.open_lot(LotSource::Transfer, Some(key), now, points, LotState::Active, reset, None);
            lots = 1;
        }
        TransferExpiry::KeepSource => {
            let n = from.entries.last().map_or(0, |e| e.draws_len as usize);
            for i in 0..n {
                let Some(d) = from.draws.get(start + i).copied() else { break };
                let through = from.lots.get(d.lot.index()).and_then(|l| l.valid_through);
                let k = (lots == 0).then_some(key);
                to.open_lot(LotSource::Transfer, k, now, d.points, LotState::Active, through, None);
                lots += 1;
            }
        }
    }
    let start = to.draws.len();
    to.totals.transferred_in = in_total;
    let debt_repaid = to.settle_debt();
    to.last_activity = now;
    to.clock = now;
    let outcome = TransferOutcome { points, lots, debt_repaid };
    to.push_entry(Some(key), now, EntryKind::TransferIn { from: from.member, outcome }, start);
    Ok(outcome)
}
