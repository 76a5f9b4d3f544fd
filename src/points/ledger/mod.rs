//! The member account: an event-sourced points ledger.
//!
//! The decisions a host sees are in the public module docs ([`crate::points`]): what is
//! activity for an inactivity expiry (a manual credit is, a debit is not: see
//! [`Account::adjust`]), what happens at the bound of a lifetime total
//! ([`Totals`](crate::points::Totals)), and what reading stored state verifies.

mod compact;
mod earning;
mod refund;
mod rollback;
mod spending;
#[cfg(feature = "serde")]
mod stored;
mod time;
mod transfer;
mod verify;

pub use compact::{Checkpoint, Compaction};
pub use transfer::{transfer, transfer_between, AccountMap};

use std::collections::BTreeSet;

use chrono::NaiveDate;

use super::entry::{Balances, Entry, EntryKind, ExpiringLot, Totals};
use super::index::{KeyIndex, SpendIndex};
use super::lot::{Draw, Lot, LotSource, LotState, Reservation};
use super::program::Program;
use super::{LotId, MemberId, OpKey, Points, TotalPoints};
use crate::error::{Error, ErrorKind, Result};
use crate::money::Money;

/// One member's points account.
///
/// See the [module documentation](super) for the model. Every mutating operation:
///
/// 1. looks up its [`OpKey`]: an exact replay returns the recorded outcome and changes
///    nothing, the same key with another payload is
///    [`ErrorKind::IdempotencyConflict`](crate::ErrorKind::IdempotencyConflict);
/// 2. refuses a `now` earlier than the last operation's date;
/// 3. brings the account up to `now` (the work of [`Account::expire`]);
/// 4. validates, then appends one [`Entry`] and updates lots and running totals.
///
/// A failed operation leaves the account exactly as it was, including step 3.
///
/// `clone_from` reuses the target's buffers, so a host (or a benchmark) that resets an
/// account from a template does not allocate again.
#[derive(Debug, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "stored::AccountRepr", into = "stored::AccountRepr")
)]
pub struct Account {
    member: MemberId,
    clock: NaiveDate,
    last_activity: NaiveDate,
    lots: Vec<Lot>,
    entries: Vec<Entry>,
    draws: Vec<Draw>,
    reservations: Vec<Reservation>,
    balances: Balances,
    totals: Totals,
    /// The folded start of the history (see [`Account::compact`]).
    checkpoint: Option<Box<Checkpoint>>,
    // Derived (rebuilt on deserialization):
    keys: KeyIndex,
    spendable: SpendIndex,
    scheduled: BTreeSet<(NaiveDate, LotId)>,
}

impl Clone for Account {
    fn clone(&self) -> Account {
        Account {
            member: self.member,
            clock: self.clock,
            last_activity: self.last_activity,
            lots: self.lots.clone(),
            entries: self.entries.clone(),
            draws: self.draws.clone(),
            reservations: self.reservations.clone(),
            balances: self.balances,
            totals: self.totals,
            checkpoint: self.checkpoint.clone(),
            keys: self.keys.clone(),
            spendable: self.spendable.clone(),
            scheduled: self.scheduled.clone(),
        }
    }

    fn clone_from(&mut self, source: &Account) {
        self.member = source.member;
        self.clock = source.clock;
        self.last_activity = source.last_activity;
        self.lots.clone_from(&source.lots);
        self.entries.clone_from(&source.entries);
        self.draws.clone_from(&source.draws);
        self.reservations.clone_from(&source.reservations);
        self.balances = source.balances;
        self.totals = source.totals;
        self.checkpoint.clone_from(&source.checkpoint);
        self.keys.clone_from(&source.keys);
        self.spendable.clone_from(&source.spendable);
        self.scheduled.clone_from(&source.scheduled);
    }
}

#[cold]
#[inline(never)]
pub(super) fn broken(reason: impl Into<String>) -> Error {
    ErrorKind::InvalidState { reason: reason.into() }.into()
}

#[cold]
#[inline(never)]
pub(super) fn conflict(key: OpKey) -> Error {
    ErrorKind::IdempotencyConflict { key: key.to_string() }.into()
}

#[cold]
#[inline(never)]
pub(super) fn not_found(what: &'static str, id: impl std::fmt::Display) -> Error {
    ErrorKind::NotFound { what, id: id.to_string() }.into()
}

pub(super) fn positive(field: &'static str, p: Points) -> Result<()> {
    if p.is_zero() {
        return Err(Error::invalid(field, p, "must be positive"));
    }
    Ok(())
}

pub(super) fn sum_draws(draws: &[Draw]) -> Result<u64> {
    draws
        .iter()
        .try_fold(0u64, |s, d| s.checked_add(d.points.value()))
        .ok_or_else(|| broken("draws add up beyond u64::MAX"))
}

pub(super) fn to_u32(n: usize, what: &'static str) -> Result<u32> {
    u32::try_from(n).map_err(|_| Error::overflow(what))
}

impl Account {
    /// An empty account opened on `opened`.
    #[must_use]
    pub fn new(member: MemberId, opened: NaiveDate) -> Account {
        Account {
            member,
            clock: opened,
            last_activity: opened,
            lots: Vec::new(),
            entries: Vec::new(),
            draws: Vec::new(),
            reservations: Vec::new(),
            balances: Balances::default(),
            totals: Totals::default(),
            checkpoint: None,
            keys: KeyIndex::default(),
            spendable: SpendIndex::default(),
            scheduled: BTreeSet::new(),
        }
    }

    /// Reserves room for about `operations` more operations in the history and the key
    /// index, so a bulk import or a replay of a log does not reallocate while it runs.
    pub fn reserve_capacity(&mut self, operations: usize) {
        self.entries.reserve(operations);
        self.lots.reserve(operations);
        self.draws.reserve(operations);
        self.keys.reserve(operations);
        self.spendable.reserve(operations);
    }

    /// The member.
    #[must_use]
    pub fn member(&self) -> MemberId {
        self.member
    }

    /// The date of the last operation.
    #[must_use]
    pub fn clock(&self) -> NaiveDate {
        self.clock
    }

    /// The date of the last earn, redemption, reservation, release, activation, transfer or
    /// manual credit (the clock of [`Expiry::inactivity`](super::Expiry::inactivity)).
    /// Manual debits, refunds, rollbacks, cancellations and commits are not activity.
    #[must_use]
    pub fn last_activity(&self) -> NaiveDate {
        self.last_activity
    }

    /// Running balances.
    #[must_use]
    pub fn balances(&self) -> Balances {
        self.balances
    }

    /// Lifetime flows.
    #[must_use]
    pub fn totals(&self) -> Totals {
        self.totals
    }

    /// All lots, by id.
    #[must_use]
    pub fn lots(&self) -> &[Lot] {
        &self.lots
    }

    /// The history, oldest first.
    #[must_use]
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The lots an entry drew points from (redemptions, reservations, transfers, debits,
    /// clawbacks, expiries, debt repayments).
    #[must_use]
    pub fn draws(&self, entry: &Entry) -> &[Draw] {
        let start = entry.draws_start as usize;
        self.draws.get(start..start + entry.draws_len as usize).unwrap_or(&[])
    }

    /// All reservations, by id.
    #[must_use]
    pub fn reservations(&self) -> &[Reservation] {
        &self.reservations
    }

    /// The entry recorded under a key.
    #[must_use]
    pub fn entry_for(&self, key: OpKey) -> Option<&Entry> {
        self.keys.get(&key, &self.entries).and_then(|i| self.entries.get(i as usize))
    }

    /// Points earned on or after `since`, net of what was cancelled or clawed back by
    /// refunds since (for a period cap: pass [`CapPeriod::start`](super::CapPeriod::start)),
    /// so a refunded order does not use up the member's room under the cap. Walks the
    /// history backwards from the newest entry, so its cost is the number of entries in the
    /// period.
    #[must_use]
    pub fn earned_since(&self, since: NaiveDate) -> Points {
        let mut sum = 0u64;
        for e in self.entries.iter().rev() {
            if e.at < since {
                break;
            }
            if let EntryKind::Earn { request, outcome } = &e.kind {
                let net = match self.lots.get(outcome.lot.index()) {
                    Some(l) if l.state == LotState::Cancelled => 0,
                    Some(l) => l.points.value().saturating_sub(l.claw_requested.value()),
                    None => request.points.value(),
                };
                sum = sum.saturating_add(net);
            }
        }
        Points::new(sum)
    }

    /// Spendable points that will have expired by `date` (valid through a day before it),
    /// soonest first: for "your points expire soon" warnings. Under an inactivity policy the
    /// whole balance is listed when the inactivity window ends before `date`.
    #[must_use]
    pub fn expiring_before(&self, program: &Program, date: NaiveDate) -> Vec<ExpiringLot> {
        if let Some(through) = program.0.expiry.inactivity_through(self.last_activity) {
            if through < date && !self.balances.available.is_zero() {
                return vec![ExpiringLot {
                    lot: None,
                    points: self.balances.available,
                    valid_through: through,
                }];
            }
        }
        self.spendable
            .iter()
            .take_while(|k| k.expires_before(date))
            .filter_map(|k| self.lots.get(k.lot().index()))
            .map(|l| ExpiringLot {
                lot: Some(l.id),
                points: l.remaining,
                valid_through: l.valid_through.unwrap_or(NaiveDate::MAX),
            })
            .collect()
    }

    // ----- plumbing shared by the operations ----------------------------------------

    pub(super) fn lot_mut(&mut self, id: LotId) -> Result<&mut Lot> {
        self.lots.get_mut(id.index()).ok_or_else(|| not_found("lot", id.value()))
    }

    pub(super) fn lot(&self, id: LotId) -> Result<&Lot> {
        self.lots.get(id.index()).ok_or_else(|| not_found("lot", id.value()))
    }

    pub(super) fn order_lot(&self, order: OpKey) -> Result<LotId> {
        match self.entry_for(order).map(|e| &e.kind) {
            Some(EntryKind::Earn { outcome, .. }) => Ok(outcome.lot),
            Some(_) => Err(not_found("earn", order)),
            // An earn folded into the checkpoint still names its lot.
            None => self.forgotten(order).and_then(|f| f.1).ok_or_else(|| not_found("earn", order)),
        }
    }

    /// The recorded outcome of a replay, or a conflict; `None` when the key is new. A key
    /// whose outcome compaction dropped is [`ErrorKind::ReplayExpired`].
    pub(super) fn replay<T>(
        &self,
        key: OpKey,
        matches: impl FnOnce(&EntryKind) -> Option<T>,
    ) -> Option<Result<T>> {
        let Some(i) = self.keys.get(&key, &self.entries) else {
            return self.forgotten(key).map(|_| Err(compact::expired_key(key)));
        };
        let e = self.entries.get(i as usize)?;
        Some(matches(&e.kind).ok_or_else(|| conflict(key)))
    }

    /// Rebuilds the key index from the entries.
    pub(super) fn rebuild_keys(&mut self) -> Result<()> {
        self.keys = KeyIndex::default();
        for (i, e) in self.entries.iter().enumerate() {
            if let Some(k) = e.key {
                if !self.keys.insert(k, to_u32(i, "entry count")?, &self.entries) {
                    return Err(broken(format!("duplicate idempotency key {k}")));
                }
            }
        }
        Ok(())
    }

    pub(super) fn check_clock(&self, now: NaiveDate) -> Result<()> {
        if now < self.clock {
            return Err(Error::invalid(
                "now",
                now,
                format!("is before the account's last operation ({})", self.clock),
            ));
        }
        Ok(())
    }

    pub(super) fn push_entry(
        &mut self,
        key: Option<OpKey>,
        at: NaiveDate,
        kind: EntryKind,
        draws_start: usize,
    ) {
        let index = self.entries.len() as u32;
        if let Some(k) = key {
            // New keys only: the operation checked for a replay first.
            self.keys.insert(k, index, &self.entries);
        }
        let draws_len = (self.draws.len() - draws_start) as u32;
        self.entries.push(Entry { key, at, kind, draws_start: draws_start as u32, draws_len });
    }

    /// Guards the `u32` counters of the flat arrays before a mutation.
    pub(super) fn room(&self, lots: usize, draws: usize) -> Result<()> {
        to_u32(self.entries.len() + 1, "entry count")?;
        to_u32(self.lots.len() + lots, "lot count")?;
        to_u32(self.draws.len() + draws + self.spendable.len(), "draw count")?;
        to_u32(self.reservations.len() + 1, "reservation count")?;
        Ok(())
    }

    /// Takes `amount` spendable points in spend order, recording draws. The caller has
    /// checked `amount <= available`.
    pub(super) fn take_available(&mut self, amount: Points) {
        let mut need = amount.value();
        while need > 0 {
            let Some(first) = self.spendable.first() else { break };
            let Some(lot) = self.lots.get_mut(first.lot().index()) else { break };
            let take = need.min(lot.remaining.value());
            lot.remaining = Points::new(lot.remaining.value() - take);
            if lot.remaining.is_zero() {
                self.spendable.pop_first();
            }
            need -= take;
            self.draws.push(Draw { lot: first.lot(), points: Points::new(take) });
        }
        let taken = amount.value() - need;
        self.balances.available = Points::new(self.balances.available.value() - taken);
    }

    /// Repays debt from spendable points (debt exists only while nothing is spendable, so
    /// this takes from the lots just credited).
    pub(super) fn settle_debt(&mut self) -> Points {
        let repay = self.balances.debt.min(self.balances.available);
        if repay.is_zero() {
            return repay;
        }
        self.take_available(repay);
        self.balances.debt = Points::new(self.balances.debt.value() - repay.value());
        // Never saturates in a checked account: repaid <= debt booked <= clawed_back,
        // a total whose every addition was checked.
        self.totals.debt_repaid = TotalPoints::new(
            self.totals.debt_repaid.value().saturating_add(u128::from(repay.value())),
        );
        repay
    }

    /// Opens a spendable or pending lot and updates balances (the caller has checked for
    /// overflow).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn open_lot(
        &mut self,
        source: LotSource,
        key: Option<OpKey>,
        now: NaiveDate,
        points: Points,
        state: LotState,
        valid_through: Option<NaiveDate>,
        order_total: Option<Money>,
    ) -> LotId {
        let id = LotId::new(self.lots.len() as u32);
        let lot = Lot {
            id,
            source,
            key,
            earned_on: now,
            points,
            remaining: points,
            state,
            valid_through,
            order_total,
            refunded: order_total.map(|m| Money::zero(m.currency())),
            claw_requested: Points::ZERO,
            expired: Points::ZERO,
        };
        match state {
            LotState::Active => {
                self.spendable.insert(lot.spend_key());
                self.balances.available =
                    Points::new(self.balances.available.value() + points.value());
            }
            LotState::Pending(until) => {
                if let Some(d) = until {
                    self.scheduled.insert((d, id));
                }
                self.balances.pending = Points::new(self.balances.pending.value() + points.value());
            }
            LotState::Cancelled | LotState::Expired => {}
        }
        self.lots.push(lot);
        id
    }
}
