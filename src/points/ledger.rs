//! The member account: an event-sourced points ledger.

use std::collections::BTreeSet;

use chrono::NaiveDate;

use super::entry::{
    ActivateOutcome, AdjustOutcome, Adjustment, Balances, Direction, EarnOutcome, EarnRequest,
    Entry, EntryKind, ExpireOutcome, ExpiringLot, Pending, RedeemOutcome, RedeemRequest,
    RefundOutcome, RefundRequest, ReleaseOutcome, Totals, TransferOutcome,
};
use super::index::{KeyIndex, SpendIndex};
use super::lot::{Draw, Lot, LotSource, LotState, Reservation, ReservationState};
use super::program::{ClawbackPolicy, Program, TransferExpiry};
use super::{insufficient, LotId, MemberId, OpKey, Points, ReservationId};
use crate::error::{Error, ErrorKind, Result};
use crate::money::Money;

/// One member's points account.
///
/// See the [module documentation](super) for the model. Every mutating operation:
///
/// 1. looks up its [`OpKey`]: an exact replay returns the recorded outcome and changes
///    nothing, the same key with another payload is
///    [`ErrorKind::IdempotencyConflict`];
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
    serde(try_from = "AccountRepr", into = "AccountRepr")
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
        self.keys.clone_from(&source.keys);
        self.spendable.clone_from(&source.spendable);
        self.scheduled.clone_from(&source.scheduled);
    }
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct AccountRepr {
    member: MemberId,
    clock: NaiveDate,
    last_activity: NaiveDate,
    lots: Vec<Lot>,
    entries: Vec<Entry>,
    draws: Vec<Draw>,
    reservations: Vec<Reservation>,
    balances: Balances,
    totals: Totals,
}

#[cfg(feature = "serde")]
impl TryFrom<AccountRepr> for Account {
    type Error = Error;

    fn try_from(r: AccountRepr) -> Result<Account> {
        let mut a = Account {
            member: r.member,
            clock: r.clock,
            last_activity: r.last_activity,
            lots: r.lots,
            entries: r.entries,
            draws: r.draws,
            reservations: r.reservations,
            balances: r.balances,
            totals: r.totals,
            keys: KeyIndex::default(),
            spendable: SpendIndex::default(),
            scheduled: BTreeSet::new(),
        };
        a.rebuild_indexes()?;
        a.check()?;
        Ok(a)
    }
}

#[cfg(feature = "serde")]
impl From<Account> for AccountRepr {
    fn from(a: Account) -> AccountRepr {
        AccountRepr {
            member: a.member,
            clock: a.clock,
            last_activity: a.last_activity,
            lots: a.lots,
            entries: a.entries,
            draws: a.draws,
            reservations: a.reservations,
            balances: a.balances,
            totals: a.totals,
        }
    }
}

#[cold]
#[inline(never)]
fn broken(reason: impl Into<String>) -> Error {
    ErrorKind::InvalidState { reason: reason.into() }.into()
}

#[cold]
#[inline(never)]
fn conflict(key: OpKey) -> Error {
    ErrorKind::IdempotencyConflict { key: key.to_string() }.into()
}

#[cold]
#[inline(never)]
fn not_found(what: &'static str, id: impl std::fmt::Display) -> Error {
    ErrorKind::NotFound { what, id: id.to_string() }.into()
}

fn positive(field: &'static str, p: Points) -> Result<()> {
    if p.is_zero() {
        return Err(Error::invalid(field, p, "must be positive"));
    }
    Ok(())
}

fn sum_draws(draws: &[Draw]) -> Result<u64> {
    draws
        .iter()
        .try_fold(0u64, |s, d| s.checked_add(d.points.value()))
        .ok_or_else(|| broken("draws add up beyond u64::MAX"))
}

fn to_u32(n: usize, what: &'static str) -> Result<u32> {
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

    /// The date of the last earn, redemption, reservation, release, activation or transfer
    /// (the clock of [`Expiry::inactivity`](super::Expiry::inactivity)).
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
        self.keys.get(&key).and_then(|i| self.entries.get(i as usize))
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

    // ----- plumbing -------------------------------------------------------------------

    fn lot_mut(&mut self, id: LotId) -> Result<&mut Lot> {
        self.lots.get_mut(id.index()).ok_or_else(|| not_found("lot", id))
    }

    fn lot(&self, id: LotId) -> Result<&Lot> {
        self.lots.get(id.index()).ok_or_else(|| not_found("lot", id))
    }

    /// The recorded outcome of a replay, or a conflict; `None` when the key is new.
    fn replay<T>(
        &self,
        key: OpKey,
        matches: impl FnOnce(&EntryKind) -> Option<T>,
    ) -> Option<Result<T>> {
        let i = self.keys.get(&key)?;
        let e = self.entries.get(i as usize)?;
        Some(matches(&e.kind).ok_or_else(|| conflict(key)))
    }

    fn check_clock(&self, now: NaiveDate) -> Result<()> {
        if now < self.clock {
            return Err(Error::invalid(
                "now",
                now,
                format!("is before the account's last operation ({})", self.clock),
            ));
        }
        Ok(())
    }

    /// Whether time has work to do at `now`. O(1).
    fn due(&self, program: &Program, now: NaiveDate) -> bool {
        self.scheduled.first().is_some_and(|(d, _)| *d <= now)
            || self.spendable.first().is_some_and(|k| k.expires_before(now))
            || (!self.balances.available.is_zero()
                && program.0.expiry.inactivity_through(self.last_activity).is_some_and(|t| t < now))
    }

    /// Runs `op` at `now`: checks the clock, brings the account up to `now`, and restores
    /// the account if anything fails. The snapshot is taken only when time has work to do;
    /// otherwise `op` itself validates before it mutates.
    fn run<T>(
        &mut self,
        program: &Program,
        now: NaiveDate,
        op: impl FnOnce(&mut Account) -> Result<T>,
    ) -> Result<T> {
        self.check_clock(now)?;
        if self.due(program, now) {
            let snapshot = self.clone();
            let result = self.advance(program, now).and_then(|_| op(self));
            match result {
                Ok(v) => {
                    self.clock = now;
                    Ok(v)
                }
                Err(e) => {
                    *self = snapshot;
                    Err(e)
                }
            }
        } else {
            let v = op(self)?;
            self.clock = now;
            Ok(v)
        }
    }

    fn push_entry(
        &mut self,
        key: Option<OpKey>,
        at: NaiveDate,
        kind: EntryKind,
        draws_start: usize,
    ) {
        let index = self.entries.len() as u32;
        if let Some(k) = key {
            // New keys only: the operation checked for a replay first.
            self.keys.insert(k, index);
        }
        let draws_len = (self.draws.len() - draws_start) as u32;
        self.entries.push(Entry { key, at, kind, draws_start: draws_start as u32, draws_len });
    }

    /// Guards the `u32` counters of the flat arrays before a mutation.
    fn room(&self, lots: usize, draws: usize) -> Result<()> {
        to_u32(self.entries.len() + 1, "entry count")?;
        to_u32(self.lots.len() + lots, "lot count")?;
        to_u32(self.draws.len() + draws + self.spendable.len(), "draw count")?;
        to_u32(self.reservations.len() + 1, "reservation count")?;
        Ok(())
    }

    /// Takes `amount` spendable points in spend order, recording draws. The caller has
    /// checked `amount <= available`.
    fn take_available(&mut self, amount: Points) {
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
    fn settle_debt(&mut self) -> Points {
        let repay = self.balances.debt.min(self.balances.available);
        if repay.is_zero() {
            return repay;
        }
        self.take_available(repay);
        self.balances.debt = Points::new(self.balances.debt.value() - repay.value());
        self.totals.debt_repaid =
            Points::new(self.totals.debt_repaid.value().saturating_add(repay.value()));
        repay
    }

    /// Opens a spendable or pending lot and updates balances (the caller has checked for
    /// overflow).
    #[allow(clippy::too_many_arguments)]
    fn open_lot(
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

    /// Makes a pending lot spendable as of `on`.
    fn activate_lot(
        &mut self,
        program: &Program,
        id: LotId,
        on: NaiveDate,
    ) -> Result<ActivateOutcome> {
        let valid_through = program.0.expiry.valid_through(on)?;
        let lot = self.lot_mut(id)?;
        let LotState::Pending(until) = lot.state else {
            return Err(broken(format!("{id} is not pending")));
        };
        lot.state = LotState::Active;
        lot.valid_through = valid_through;
        let points = lot.remaining;
        let key = lot.spend_key();
        if let Some(d) = until {
            self.scheduled.remove(&(d, id));
        }
        if !points.is_zero() {
            self.spendable.insert(key);
        }
        self.balances.pending = Points::new(self.balances.pending.value() - points.value());
        self.balances.available = Points::new(self.balances.available.value() + points.value());
        self.last_activity = self.last_activity.max(on);
        let debt_repaid = self.settle_debt();
        Ok(ActivateOutcome { lot: id, points, valid_through, debt_repaid })
    }

    /// Expires the remainder of a spendable lot.
    fn expire_lot(&mut self, id: LotId) -> Draw {
        let Some(lot) = self.lots.get_mut(id.index()) else {
            return Draw { lot: id, points: Points::ZERO };
        };
        let pts = lot.remaining;
        let key = lot.spend_key();
        lot.remaining = Points::ZERO;
        lot.state = LotState::Expired;
        // remaining + expired <= points, so this cannot overflow.
        lot.expired = Points::new(lot.expired.value() + pts.value());
        self.spendable.remove(&key);
        self.balances.available = Points::new(self.balances.available.value() - pts.value());
        Draw { lot: id, points: pts }
    }

    /// Applies what time did up to `now`, in date order: scheduled activations and the
    /// inactivity expiry interleaved by date (an activation on the last valid day comes
    /// first), then every lot past its last valid day. Activations are one entry each (dated
    /// on their activation day); everything that expired is one entry dated `now`.
    fn advance(&mut self, program: &Program, now: NaiveDate) -> Result<ExpireOutcome> {
        let mut out = ExpireOutcome::default();
        let mut gone: Vec<Draw> = Vec::new();
        loop {
            let next_act = self.scheduled.first().copied().filter(|(d, _)| *d <= now);
            let idle = program
                .0
                .expiry
                .inactivity_through(self.last_activity)
                .filter(|t| *t < now && !self.balances.available.is_zero());
            let activation_first = match (next_act, idle) {
                (None, None) => break,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (Some((d, _)), Some(t)) => d <= t,
            };
            match next_act {
                Some((d, id)) if activation_first => {
                    let start = self.draws.len();
                    let o = self.activate_lot(program, id, d)?;
                    out.activated = super::add(out.activated, o.points)?;
                    out.debt_repaid = super::add(out.debt_repaid, o.debt_repaid)?;
                    self.push_entry(
                        None,
                        d,
                        EntryKind::Activate { order: None, outcome: o },
                        start,
                    );
                }
                _ => {
                    let ids: Vec<LotId> = self.spendable.iter().map(|k| k.lot()).collect();
                    for id in ids {
                        let d = self.expire_lot(id);
                        gone.push(d);
                    }
                }
            }
        }
        while let Some(k) = self.spendable.first() {
            if !k.expires_before(now) {
                break;
            }
            let d = self.expire_lot(k.lot());
            gone.push(d);
        }
        if !gone.is_empty() {
            let mut total = Points::ZERO;
            for d in &gone {
                total = total.checked_add(d.points)?;
            }
            self.totals.expired = self.totals.expired.checked_add(total)?;
            out.expired = total;
            let start = self.draws.len();
            self.draws.extend(gone);
            self.push_entry(None, now, EntryKind::Expire { points: total }, start);
        }
        Ok(out)
    }

    // ----- operations -----------------------------------------------------------------

    /// Brings the account up to `now`: activates pending points whose date has come,
    /// expires the whole balance after an inactivity window, and expires every lot past its
    /// last valid day. Idempotent: a second call with the same `now` changes nothing. Every
    /// other operation does this first.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] when `now` is before the last operation;
    /// [`ErrorKind::Overflow`].
    pub fn expire(&mut self, program: &Program, now: NaiveDate) -> Result<ExpireOutcome> {
        self.check_clock(now)?;
        if !self.due(program, now) {
            self.clock = now;
            return Ok(ExpireOutcome::default());
        }
        let snapshot = self.clone();
        match self.advance(program, now) {
            Ok(o) => {
                self.clock = now;
                Ok(o)
            }
            Err(e) => {
                *self = snapshot;
                Err(e)
            }
        }
    }

    /// Credits earned points (immediately, pending until a date, or pending until
    /// [`Account::activate`]). Immediate points first repay any debt.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::IdempotencyConflict`]; [`ErrorKind::InvalidInput`] for zero points, a
    /// non-positive order total, a pending date not after `now`, or a `now` before the last
    /// operation; [`ErrorKind::Overflow`].
    pub fn earn(
        &mut self,
        program: &Program,
        key: OpKey,
        request: &EarnRequest,
        now: NaiveDate,
    ) -> Result<EarnOutcome> {
        if let Some(r) = self.replay(key, |k| match k {
            EntryKind::Earn { request: r, outcome } if r == request => Some(*outcome),
            _ => None,
        }) {
            return r;
        }
        self.run(program, now, |a| a.earn_now(program, key, request, now))
    }

    fn earn_now(
        &mut self,
        program: &Program,
        key: OpKey,
        req: &EarnRequest,
        now: NaiveDate,
    ) -> Result<EarnOutcome> {
        positive("earned points", req.points)?;
        if let Some(total) = req.order_total {
            if !total.is_positive() {
                return Err(Error::invalid("order total", total, "must be positive"));
            }
        }
        let state = match req.pending {
            Pending::Immediate => LotState::Active,
            Pending::Until(d) if d > now => LotState::Pending(Some(d)),
            Pending::Until(d) => {
                return Err(Error::invalid("pending until", d, "must be after now"));
            }
            Pending::UntilActivated => LotState::Pending(None),
        };
        let valid_through = match state {
            LotState::Active => program.0.expiry.valid_through(now)?,
            _ => None,
        };
        let earned = self.totals.earned.checked_add(req.points)?;
        self.balances.outstanding()?.checked_add(req.points)?;
        self.room(1, 1)?;
        let start = self.draws.len();
        self.totals.earned = earned;
        let lot = self.open_lot(
            LotSource::Earn,
            Some(key),
            now,
            req.points,
            state,
            valid_through,
            req.order_total,
        );
        let debt_repaid = self.settle_debt();
        self.last_activity = now;
        let outcome = EarnOutcome { lot, points: req.points, valid_through, debt_repaid };
        self.push_entry(Some(key), now, EntryKind::Earn { request: *req, outcome }, start);
        Ok(outcome)
    }

    fn order_lot(&self, order: OpKey) -> Result<LotId> {
        match self.entry_for(order).map(|e| &e.kind) {
            Some(EntryKind::Earn { outcome, .. }) => Ok(outcome.lot),
            _ => Err(not_found("earn", order)),
        }
    }

    /// Makes the pending points of the earn recorded under `order` spendable now (their
    /// expiry clock starts now).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::IdempotencyConflict`]; [`ErrorKind::NotFound`] for an unknown earn;
    /// [`ErrorKind::InvalidState`] when its points are not pending.
    pub fn activate(
        &mut self,
        program: &Program,
        key: OpKey,
        order: OpKey,
        now: NaiveDate,
    ) -> Result<ActivateOutcome> {
        if let Some(r) = self.replay(key, |k| match k {
            EntryKind::Activate { order: Some(o), outcome } if *o == order => Some(*outcome),
            _ => None,
        }) {
            return r;
        }
        self.run(program, now, |a| {
            let id = a.order_lot(order)?;
            if !matches!(a.lot(id)?.state, LotState::Pending(_)) {
                return Err(broken(format!("{id} is not pending")));
            }
            a.room(0, 1)?;
            let start = a.draws.len();
            let outcome = a.activate_lot(program, id, now)?;
            a.push_entry(
                Some(key),
                now,
                EntryKind::Activate { order: Some(order), outcome },
                start,
            );
            Ok(outcome)
        })
    }

    /// Cancels the pending points of the earn recorded under `order` (an order cancelled
    /// or returned within the pending window).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::IdempotencyConflict`]; [`ErrorKind::NotFound`] for an unknown earn;
    /// [`ErrorKind::InvalidState`] when its points are not pending.
    pub fn cancel_pending(
        &mut self,
        program: &Program,
        key: OpKey,
        order: OpKey,
        now: NaiveDate,
    ) -> Result<Points> {
        if let Some(r) = self.replay(key, |k| match k {
            EntryKind::Cancel { order: o, points, .. } if *o == order => Some(*points),
            _ => None,
        }) {
            return r;
        }
        self.run(program, now, |a| {
            let id = a.order_lot(order)?;
            let lot = a.lot(id)?;
            let LotState::Pending(until) = lot.state else {
                return Err(broken(format!("{id} is not pending")));
            };
            let points = lot.remaining;
            let cancelled = a.totals.cancelled.checked_add(points)?;
            a.room(0, 0)?;
            if let Some(d) = until {
                a.scheduled.remove(&(d, id));
            }
            let lot = a.lot_mut(id)?;
            lot.state = LotState::Cancelled;
            lot.remaining = Points::ZERO;
            a.balances.pending = Points::new(a.balances.pending.value() - points.value());
            a.totals.cancelled = cancelled;
            let start = a.draws.len();
            a.push_entry(Some(key), now, EntryKind::Cancel { order, lot: id, points }, start);
            Ok(points)
        })
    }

    fn check_spend(&self, program: &Program, req: &RedeemRequest) -> Result<Money> {
        let value = program.0.redemption.validate(req.points, req.order_total)?;
        if req.points > self.balances.available {
            return Err(insufficient(req.points, self.balances.available));
        }
        Ok(value)
    }

    /// Redeems points at once (reserve and commit in one step), soonest-expiring first.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::IdempotencyConflict`]; the errors of [`RedemptionRules::validate`](super::RedemptionRules::validate);
    /// [`ErrorKind::Insufficient`] above the spendable balance.
    pub fn redeem(
        &mut self,
        program: &Program,
        key: OpKey,
        request: &RedeemRequest,
        now: NaiveDate,
    ) -> Result<RedeemOutcome> {
        if let Some(r) = self.replay(key, |k| match k {
            EntryKind::Redeem { request: r, outcome } if r == request => Some(*outcome),
            _ => None,
        }) {
            return r;
        }
        self.run(program, now, |a| {
            let value = a.check_spend(program, request)?;
            let redeemed = a.totals.redeemed.checked_add(request.points)?;
            a.room(0, a.spendable.len())?;
            let start = a.draws.len();
            a.take_available(request.points);
            a.totals.redeemed = redeemed;
            a.last_activity = now;
            let outcome = RedeemOutcome { points: request.points, value, reservation: None };
            a.push_entry(Some(key), now, EntryKind::Redeem { request: *request, outcome }, start);
            Ok(outcome)
        })
    }

    /// Holds points for a checkout (Square's reward lock): they leave the spendable balance
    /// now and are redeemed by [`Account::commit`] or put back by [`Account::release`].
    ///
    /// # Errors
    ///
    /// As [`Account::redeem`].
    pub fn reserve(
        &mut self,
        program: &Program,
        key: OpKey,
        request: &RedeemRequest,
        now: NaiveDate,
    ) -> Result<RedeemOutcome> {
        if let Some(r) = self.replay(key, |k| match k {
            EntryKind::Reserve { request: r, outcome } if r == request => Some(*outcome),
            _ => None,
        }) {
            return r;
        }
        self.run(program, now, |a| {
            let value = a.check_spend(program, request)?;
            let reserved = a.balances.reserved.checked_add(request.points)?;
            a.room(0, a.spendable.len())?;
            let id = ReservationId::new(a.reservations.len() as u32);
            let start = a.draws.len();
            a.take_available(request.points);
            a.balances.reserved = reserved;
            a.last_activity = now;
            a.reservations.push(Reservation {
                id,
                points: request.points,
                value,
                draws_start: start as u32,
                draws_len: (a.draws.len() - start) as u32,
                state: ReservationState::Held,
            });
            let outcome = RedeemOutcome { points: request.points, value, reservation: Some(id) };
            a.push_entry(Some(key), now, EntryKind::Reserve { request: *request, outcome }, start);
            Ok(outcome)
        })
    }

    fn held(&self, id: ReservationId) -> Result<&Reservation> {
        let r = self
            .reservations
            .get(id.value() as usize)
            .ok_or_else(|| not_found("reservation", id))?;
        if r.state != ReservationState::Held {
            return Err(broken(format!("{id} is already {:?}", r.state).to_lowercase()));
        }
        Ok(r)
    }

    /// Redeems a reservation (terminal).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::IdempotencyConflict`]; [`ErrorKind::NotFound`] for an unknown
    /// reservation; [`ErrorKind::InvalidState`] when it was already committed or released.
    pub fn commit(
        &mut self,
        program: &Program,
        key: OpKey,
        reservation: ReservationId,
        now: NaiveDate,
    ) -> Result<RedeemOutcome> {
        let value_of =
            |a: &Account| a.reservations.get(reservation.value() as usize).map(|r| r.value);
        if let Some(r) = self.replay(key, |k| match k {
            EntryKind::Commit { reservation: id, points } if *id == reservation => value_of(self)
                .map(|value| RedeemOutcome { points: *points, value, reservation: Some(*id) }),
            _ => None,
        }) {
            return r;
        }
        self.run(program, now, |a| {
            let r = a.held(reservation)?;
            let (points, value) = (r.points, r.value);
            let redeemed = a.totals.redeemed.checked_add(points)?;
            a.room(0, 0)?;
            a.balances.reserved = Points::new(a.balances.reserved.value() - points.value());
            a.totals.redeemed = redeemed;
            if let Some(r) = a.reservations.get_mut(reservation.value() as usize) {
                r.state = ReservationState::Committed;
            }
            let start = a.draws.len();
            a.push_entry(Some(key), now, EntryKind::Commit { reservation, points }, start);
            Ok(RedeemOutcome { points, value, reservation: Some(reservation) })
        })
    }

    /// Puts a reservation's points back into the lots they came from (with their original
    /// expiry; points whose lot expired meanwhile expire now).
    ///
    /// # Errors
    ///
    /// As [`Account::commit`].
    pub fn release(
        &mut self,
        program: &Program,
        key: OpKey,
        reservation: ReservationId,
        now: NaiveDate,
    ) -> Result<ReleaseOutcome> {
        if let Some(r) = self.replay(key, |k| match k {
            EntryKind::Release { reservation: id, outcome } if *id == reservation => Some(*outcome),
            _ => None,
        }) {
            return r;
        }
        self.run(program, now, |a| {
            let r = a.held(reservation)?;
            let (points, s, n) = (r.points, r.draws_start as usize, r.draws_len as usize);
            let draws: Vec<Draw> = a.draws.get(s..s + n).map(<[Draw]>::to_vec).unwrap_or_default();
            // Validate everything before the first mutation.
            let mut late = Points::ZERO;
            for d in &draws {
                let lot = a.lot(d.lot)?;
                if lot.state == LotState::Expired || lot.valid_through.is_some_and(|t| t < now) {
                    late = late.checked_add(d.points)?;
                }
            }
            let expired = a.totals.expired.checked_add(late)?;
            a.room(0, a.spendable.len())?;
            for d in &draws {
                let lot = &mut a.lots[d.lot.index()];
                if lot.state == LotState::Expired || lot.valid_through.is_some_and(|t| t < now) {
                    if lot.remaining.is_zero() && lot.state != LotState::Expired {
                        lot.state = LotState::Expired;
                    }
                    // The drawn points left the lot, so remaining + expired stays <= points.
                    lot.expired = Points::new(lot.expired.value() + d.points.value());
                    continue;
                }
                let was_empty = lot.remaining.is_zero();
                lot.remaining = Points::new(lot.remaining.value() + d.points.value());
                let k = lot.spend_key();
                if was_empty {
                    a.spendable.insert(k);
                }
                a.balances.available = Points::new(a.balances.available.value() + d.points.value());
            }
            a.balances.reserved = Points::new(a.balances.reserved.value() - points.value());
            a.totals.expired = expired;
            if let Some(r) = a.reservations.get_mut(reservation.value() as usize) {
                r.state = ReservationState::Released;
            }
            let start = a.draws.len();
            let debt_repaid = a.settle_debt();
            a.last_activity = now;
            let outcome = ReleaseOutcome {
                returned: Points::new(points.value() - late.value()),
                expired: late,
                debt_repaid,
            };
            a.push_entry(Some(key), now, EntryKind::Release { reservation, outcome }, start);
            Ok(outcome)
        })
    }

    /// Claws back the points of a refunded (part of an) order: in proportion to the
    /// refunded share of the order total recorded at earn time, from the points recorded
    /// for that order (never recomputed from today's rules), rounded with the program's earn
    /// rounding on the cumulative refunded amount so partial refunds add up to exactly the
    /// points earned. The program's [`ClawbackPolicy`] decides what happens to points
    /// already spent. A refund never adds points anywhere.
    ///
    /// Points of a cancelled earn are not chased again, and points of the order's lot that
    /// expired unused are not chased at all (they already left the member: only what was
    /// spent or is still held is clawed back). Points held by an open reservation are not
    /// taken: under [`ClawbackPolicy::CarryDebt`] releasing them later repays the debt
    /// first; under [`ClawbackPolicy::WithinBalance`] a refund that would forgive points
    /// while a reservation is open is refused, since releasing it afterwards would leave
    /// the member holding points of a refunded order.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::IdempotencyConflict`]; [`ErrorKind::NotFound`] for an unknown earn;
    /// [`ErrorKind::InvalidInput`] for an earn without an order total, a non-positive
    /// refund, or refunds beyond the order total; [`ErrorKind::CurrencyMismatch`];
    /// [`ErrorKind::InvalidState`] under [`ClawbackPolicy::WithinBalance`] when the refund
    /// would forgive points while a reservation holds some (commit or release it first,
    /// then retry with the same key); [`ErrorKind::Overflow`].
    pub fn refund(
        &mut self,
        program: &Program,
        key: OpKey,
        request: &RefundRequest,
        now: NaiveDate,
    ) -> Result<RefundOutcome> {
        if let Some(r) = self.replay(key, |k| match k {
            EntryKind::Refund { request: r, outcome } if r == request => Some(*outcome),
            _ => None,
        }) {
            return r;
        }
        self.run(program, now, |a| a.refund_now(program, key, request, now))
    }

    fn refund_now(
        &mut self,
        program: &Program,
        key: OpKey,
        req: &RefundRequest,
        now: NaiveDate,
    ) -> Result<RefundOutcome> {
        let id = self.order_lot(req.order)?;
        let lot = self.lot(id)?;
        let (Some(total), Some(before)) = (lot.order_total, lot.refunded) else {
            return Err(Error::invalid("refund", req.order, "the earn was not tied to an order"));
        };
        req.refunded.ensure_same_currency(total.currency())?;
        if !req.refunded.is_positive() {
            return Err(Error::invalid("refunded amount", req.refunded, "must be positive"));
        }
        let after = before.checked_add(req.refunded)?;
        if after.amount() > total.amount() {
            return Err(Error::invalid(
                "refunded amount",
                req.refunded,
                format!("refunds would exceed the order total {total}"),
            ));
        }
        let target = if lot.state == LotState::Cancelled {
            lot.claw_requested
        } else {
            // Multiply before dividing: refunded x points / total is exact whenever the
            // answer is a whole number (a third of 3.00 on 3 points is 1, where the share
            // 0.333... x 3 would round down to 0). The share form is the fallback for
            // amounts too large to multiply.
            let pts = rust_decimal::Decimal::from(lot.points.value());
            let share = after.ratio(total)?;
            let raw = after
                .amount()
                .checked_mul(pts)
                .and_then(|x| x.checked_div(total.amount()))
                .or_else(|| share.checked_mul(pts))
                .ok_or_else(|| Error::overflow("clawback"))?;
            let rounded = program.0.earn.rounding_mode().round(raw, 0);
            let p = rust_decimal::prelude::ToPrimitive::to_u64(&rounded)
                .ok_or_else(|| Error::overflow("clawback"))?;
            // Rounding up can never take more than the lot's points. Points of the lot
            // that expired unused already left the member: they count as clawed first,
            // so only what was spent (or is still held) is chased.
            Points::new(p.min(lot.points.value()))
                .saturating_sub(lot.expired)
                .max(lot.claw_requested)
        };
        let requested = target.saturating_sub(lot.claw_requested);
        let policy = program.0.clawback;
        // Plan (no mutation yet).
        let mut rest = requested;
        let (from_pending, own_available) = match lot.state {
            LotState::Pending(_) => (rest.min(lot.remaining), Points::ZERO),
            LotState::Active if policy != ClawbackPolicy::OnlyFromPending => {
                (Points::ZERO, rest.min(lot.remaining))
            }
            _ => (Points::ZERO, Points::ZERO),
        };
        rest = rest.saturating_sub(from_pending).saturating_sub(own_available);
        let others = if policy == ClawbackPolicy::OnlyFromPending {
            Points::ZERO
        } else {
            rest.min(self.balances.available.saturating_sub(own_available))
        };
        rest = rest.saturating_sub(others);
        let (debt, forgiven) = if policy == ClawbackPolicy::CarryDebt {
            (rest, Points::ZERO)
        } else {
            (Points::ZERO, rest)
        };
        // Forgiving points while a reservation holds some would let the member release
        // them afterwards and keep points of a refunded order: the checkout resolves first.
        if policy == ClawbackPolicy::WithinBalance
            && !forgiven.is_zero()
            && !self.balances.reserved.is_zero()
        {
            return Err(broken(format!(
                "open reservations hold {} that this refund would claw back: commit or \
                 release them first",
                self.balances.reserved
            )));
        }
        let clawed =
            from_pending.checked_add(own_available)?.checked_add(others)?.checked_add(debt)?;
        let clawed_back = self.totals.clawed_back.checked_add(clawed)?;
        let forgiven_total = self.totals.forgiven.checked_add(forgiven)?;
        let new_debt = self.balances.debt.checked_add(debt)?;
        self.room(0, self.spendable.len() + 1)?;
        // Apply.
        let start = self.draws.len();
        let lot = &mut self.lots[id.index()];
        lot.refunded = Some(after);
        lot.claw_requested = target;
        if !from_pending.is_zero() {
            lot.remaining = Points::new(lot.remaining.value() - from_pending.value());
            self.balances.pending =
                Points::new(self.balances.pending.value() - from_pending.value());
            self.draws.push(Draw { lot: id, points: from_pending });
        }
        if !own_available.is_zero() {
            let k = lot.spend_key();
            lot.remaining = Points::new(lot.remaining.value() - own_available.value());
            if lot.remaining.is_zero() {
                self.spendable.remove(&k);
            }
            self.balances.available =
                Points::new(self.balances.available.value() - own_available.value());
            self.draws.push(Draw { lot: id, points: own_available });
        }
        self.take_available(others);
        self.balances.debt = new_debt;
        self.totals.clawed_back = clawed_back;
        self.totals.forgiven = forgiven_total;
        let outcome = RefundOutcome {
            requested,
            from_pending,
            from_available: Points::new(own_available.value() + others.value()),
            debt,
            forgiven,
        };
        self.push_entry(Some(key), now, EntryKind::Refund { request: *req, outcome }, start);
        Ok(outcome)
    }

    /// A manual credit (a new spendable lot with the program's expiry) or debit (spendable
    /// points only, in spend order), with its reason.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::IdempotencyConflict`]; [`ErrorKind::InvalidInput`] for zero points or an
    /// empty reason; [`ErrorKind::Insufficient`] for a debit above the spendable balance;
    /// [`ErrorKind::Overflow`].
    pub fn adjust(
        &mut self,
        program: &Program,
        key: OpKey,
        adjustment: &Adjustment,
        now: NaiveDate,
    ) -> Result<AdjustOutcome> {
        if let Some(r) = self.replay(key, |k| match k {
            EntryKind::Adjust { adjustment: a, outcome } if a == adjustment => Some(*outcome),
            _ => None,
        }) {
            return r;
        }
        self.run(program, now, |a| {
            positive("adjustment points", adjustment.points)?;
            if adjustment.reason.trim().is_empty() {
                return Err(Error::invalid("reason", "", "must not be empty"));
            }
            let p = adjustment.points;
            let start = a.draws.len();
            let outcome = match adjustment.direction {
                Direction::Credit => {
                    let total = a.totals.adjusted_in.checked_add(p)?;
                    a.balances.outstanding()?.checked_add(p)?;
                    let valid_through = program.0.expiry.valid_through(now)?;
                    a.room(1, 1)?;
                    a.totals.adjusted_in = total;
                    let lot = a.open_lot(
                        LotSource::Adjustment,
                        Some(key),
                        now,
                        p,
                        LotState::Active,
                        valid_through,
                        None,
                    );
                    let debt_repaid = a.settle_debt();
                    AdjustOutcome { lot: Some(lot), points: p, debt_repaid }
                }
                Direction::Debit => {
                    if p > a.balances.available {
                        return Err(insufficient(p, a.balances.available));
                    }
                    let total = a.totals.adjusted_out.checked_add(p)?;
                    a.room(0, a.spendable.len())?;
                    a.take_available(p);
                    a.totals.adjusted_out = total;
                    AdjustOutcome { lot: None, points: p, debt_repaid: Points::ZERO }
                }
            };
            a.push_entry(
                Some(key),
                now,
                EntryKind::Adjust { adjustment: adjustment.clone(), outcome },
                start,
            );
            Ok(outcome)
        })
    }

    /// Verifies the account against its own history:
    ///
    /// - every total re-derived from the entries equals the running total, and the debt
    ///   equals debt booked minus debt repaid;
    /// - balances equal the sums over lots (available: active lots; pending: pending lots)
    ///   and held reservations; every draw range is in bounds and adds up;
    /// - conservation (see [`Totals`]) holds; debt exists only while nothing is spendable;
    /// - the spend and activation indexes hold exactly the lots they should; keys are unique.
    ///
    /// Cost: linear in the history. Deserialization runs it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidState`] naming the first invariant that does not hold.
    pub fn check(&self) -> Result<()> {
        let mut t = Totals::default();
        let mut debt: u64 = 0;
        let mut repaid: u64 = 0;
        let acc = |x: &mut Points, p: Points| -> Result<()> {
            *x = x.checked_add(p)?;
            Ok(())
        };
        // What the history says each lot's refund record must be: (claw requested, refunded).
        let mut refunds: Vec<(Points, Option<Money>)> = vec![(Points::ZERO, None); self.lots.len()];
        // What the history says each reservation must be.
        let mut held: Vec<Reservation> = Vec::with_capacity(self.reservations.len());
        let resolve =
            |held: &mut Vec<Reservation>, id: ReservationId, to: ReservationState| match held
                .get_mut(id.value() as usize)
            {
                Some(r) if r.state == ReservationState::Held => {
                    r.state = to;
                    Ok(r.points)
                }
                _ => Err(broken(format!("{id} resolved without being held"))),
            };
        let mut prev: Option<NaiveDate> = None;
        for (i, e) in self.entries.iter().enumerate() {
            if prev.is_some_and(|p| e.at < p) {
                return Err(broken(format!("entry {i} is dated before its predecessor")));
            }
            prev = Some(e.at);
            let s = e.draws_start as usize;
            let draws = self
                .draws
                .get(s..s + e.draws_len as usize)
                .ok_or_else(|| broken(format!("entry {i} draws out of range")))?;
            if draws.iter().any(|d| d.lot.index() >= self.lots.len()) {
                return Err(broken(format!("entry {i} draws from an unknown lot")));
            }
            let drawn = sum_draws(draws)?;
            let mut rep = Points::ZERO;
            match &e.kind {
                EntryKind::Earn { request, outcome } => {
                    acc(&mut t.earned, request.points)?;
                    if outcome.points != request.points {
                        return Err(broken(format!(
                            "entry {i} earn outcome differs from its request"
                        )));
                    }
                    // The lot a refund measures against must be the one the earn recorded.
                    let lot = self.lots.get(outcome.lot.index());
                    let matches = lot.is_some_and(|l| {
                        l.source == LotSource::Earn
                            && l.key == e.key
                            && l.earned_on == e.at
                            && l.points == request.points
                            && l.order_total == request.order_total
                    });
                    let Some(slot) = refunds.get_mut(outcome.lot.index()).filter(|_| matches)
                    else {
                        return Err(broken(format!("entry {i} earn differs from its lot")));
                    };
                    slot.1 = request.order_total.map(|m| Money::zero(m.currency()));
                    rep = outcome.debt_repaid;
                }
                EntryKind::Activate { outcome, .. } => rep = outcome.debt_repaid,
                EntryKind::Cancel { points, .. } => acc(&mut t.cancelled, *points)?,
                EntryKind::Reserve { outcome, .. } => {
                    if drawn != outcome.points.value()
                        || outcome.reservation
                            != Some(ReservationId::new(to_u32(held.len(), "reservations")?))
                    {
                        return Err(broken(format!("entry {i} draws do not add up")));
                    }
                    held.push(Reservation {
                        id: ReservationId::new(to_u32(held.len(), "reservations")?),
                        points: outcome.points,
                        value: outcome.value,
                        draws_start: e.draws_start,
                        draws_len: e.draws_len,
                        state: ReservationState::Held,
                    });
                }
                EntryKind::Commit { points, reservation } => {
                    acc(&mut t.redeemed, *points)?;
                    if resolve(&mut held, *reservation, ReservationState::Committed)? != *points {
                        return Err(broken(format!("entry {i} commits other points")));
                    }
                }
                EntryKind::Release { outcome, reservation } => {
                    acc(&mut t.expired, outcome.expired)?;
                    let points = resolve(&mut held, *reservation, ReservationState::Released)?;
                    if outcome.returned.checked_add(outcome.expired)? != points {
                        return Err(broken(format!("entry {i} releases other points")));
                    }
                    rep = outcome.debt_repaid;
                }
                EntryKind::Redeem { outcome, .. } => {
                    acc(&mut t.redeemed, outcome.points)?;
                    if drawn != outcome.points.value() {
                        return Err(broken(format!("entry {i} draws do not add up")));
                    }
                }
                EntryKind::Expire { points } => {
                    acc(&mut t.expired, *points)?;
                    if drawn != points.value() {
                        return Err(broken(format!("entry {i} draws do not add up")));
                    }
                }
                EntryKind::Refund { request, outcome } => {
                    let earn = self.entry_for(request.order).map(|x| &x.kind);
                    let slot = match earn {
                        Some(EntryKind::Earn { outcome: o, .. }) => refunds.get_mut(o.lot.index()),
                        _ => None,
                    };
                    let Some((claw, Some(refunded))) = slot else {
                        return Err(broken(format!("entry {i} refunds an unknown order")));
                    };
                    *claw = claw.checked_add(outcome.requested)?;
                    *refunded = refunded.checked_add(request.refunded)?;
                    let taken = outcome.from_pending.checked_add(outcome.from_available)?;
                    acc(&mut t.clawed_back, taken.checked_add(outcome.debt)?)?;
                    acc(&mut t.forgiven, outcome.forgiven)?;
                    debt = debt
                        .checked_add(outcome.debt.value())
                        .ok_or_else(|| Error::overflow("debt"))?;
                    if drawn != taken.value() {
                        return Err(broken(format!("entry {i} draws do not add up")));
                    }
                }
                EntryKind::Adjust { adjustment, outcome } => {
                    match adjustment.direction {
                        Direction::Credit => acc(&mut t.adjusted_in, adjustment.points)?,
                        Direction::Debit => {
                            acc(&mut t.adjusted_out, adjustment.points)?;
                            if drawn != adjustment.points.value() {
                                return Err(broken(format!("entry {i} draws do not add up")));
                            }
                        }
                    }
                    rep = outcome.debt_repaid;
                }
                EntryKind::TransferOut { points, .. } => {
                    acc(&mut t.transferred_out, *points)?;
                    if drawn != points.value() {
                        return Err(broken(format!("entry {i} draws do not add up")));
                    }
                }
                EntryKind::TransferIn { outcome, .. } => {
                    acc(&mut t.transferred_in, outcome.points)?;
                    rep = outcome.debt_repaid;
                }
            }
            // Credits draw only to repay debt; the other kinds' draws were checked above.
            let credit = matches!(
                e.kind,
                EntryKind::Earn { .. }
                    | EntryKind::Activate { .. }
                    | EntryKind::Release { .. }
                    | EntryKind::TransferIn { .. }
                    | EntryKind::Adjust {
                        adjustment: Adjustment { direction: Direction::Credit, .. },
                        ..
                    }
            );
            let closed = matches!(e.kind, EntryKind::Cancel { .. } | EntryKind::Commit { .. });
            if (credit && drawn != rep.value()) || (closed && drawn != 0) {
                return Err(broken(format!("entry {i} draws do not add up")));
            }
            repaid = repaid.checked_add(rep.value()).ok_or_else(|| Error::overflow("debt"))?;
        }
        t.debt_repaid = Points::new(repaid);
        if t != self.totals {
            return Err(broken("running totals differ from the history"));
        }
        if debt.checked_sub(repaid) != Some(self.balances.debt.value()) {
            return Err(broken("debt differs from the history"));
        }
        let (mut available, mut pending) = (0u64, 0u64);
        let mut spendable = 0usize;
        let mut scheduled = 0usize;
        let mut lot_expired = 0u64;
        for (i, lot) in self.lots.iter().enumerate() {
            let held = lot.remaining.value().checked_add(lot.expired.value());
            if lot.id.index() != i || !matches!(held, Some(h) if h <= lot.points.value()) {
                return Err(broken(format!("lot {i} is malformed")));
            }
            let history = refunds.get(i).copied().unwrap_or((Points::ZERO, None));
            let refunded_ok = match (lot.refunded, history.1) {
                (None, None) => true,
                (Some(a), Some(b)) => a == b,
                _ => false,
            };
            if lot.claw_requested != history.0
                || !refunded_ok
                || lot.claw_requested > lot.points
                || lot.refunded.zip(lot.order_total).is_some_and(|(r, o)| r.amount() > o.amount())
            {
                return Err(broken(format!("lot {i} refund record differs from the history")));
            }
            lot_expired = lot_expired
                .checked_add(lot.expired.value())
                .ok_or_else(|| Error::overflow("expired"))?;
            let sum = |x: &mut u64| {
                x.checked_add(lot.remaining.value()).ok_or_else(|| Error::overflow("balance"))
            };
            match lot.state {
                LotState::Active => {
                    available = sum(&mut available)?;
                    if !lot.remaining.is_zero() {
                        spendable += 1;
                        if !self.spendable.contains(&lot.spend_key()) {
                            return Err(broken(format!("lot {i} missing from the spend index")));
                        }
                    }
                }
                LotState::Pending(until) => {
                    pending = sum(&mut pending)?;
                    if let Some(d) = until {
                        scheduled += 1;
                        if !self.scheduled.contains(&(d, lot.id)) {
                            return Err(broken(format!(
                                "lot {i} missing from the activation index"
                            )));
                        }
                    }
                }
                LotState::Cancelled | LotState::Expired => {
                    if !lot.remaining.is_zero() {
                        return Err(broken(format!("closed lot {i} still holds points")));
                    }
                }
            }
        }
        if lot_expired != t.expired.value() {
            return Err(broken("expired points of the lots differ from the history"));
        }
        if spendable != self.spendable.len() || scheduled != self.scheduled.len() {
            return Err(broken("index holds closed lots"));
        }
        if held != self.reservations {
            return Err(broken("reservations differ from the history"));
        }
        let mut reserved = 0u64;
        for (i, r) in self.reservations.iter().enumerate() {
            let s = r.draws_start as usize;
            let draws = self
                .draws
                .get(s..s + r.draws_len as usize)
                .ok_or_else(|| broken(format!("reservation {i} draws out of range")))?;
            let drawn = sum_draws(draws)?;
            if r.id.value() as usize != i || drawn != r.points.value() {
                return Err(broken(format!("reservation {i} is malformed")));
            }
            if r.state == ReservationState::Held {
                reserved = reserved
                    .checked_add(r.points.value())
                    .ok_or_else(|| Error::overflow("balance"))?;
            }
        }
        let b = self.balances;
        if available != b.available.value()
            || pending != b.pending.value()
            || reserved != b.reserved.value()
        {
            return Err(broken("balances differ from the lots"));
        }
        if !b.debt.is_zero() && !b.available.is_zero() {
            return Err(broken("debt and spendable points at once"));
        }
        // Lifetime flows may pass u64::MAX while no balance does: compare in u128.
        let left = t.credits();
        let right = u128::from(b.outstanding()?.value()) + t.debits();
        if left + u128::from(b.debt.value()) != right {
            return Err(broken(format!(
                "conservation violated: credits {left} + debt {} != held and debited {right}",
                b.debt
            )));
        }
        if self.keys.len() != self.entries.iter().filter(|e| e.key.is_some()).count() {
            return Err(broken("duplicate idempotency keys"));
        }
        Ok(())
    }

    #[cfg(feature = "serde")]
    fn rebuild_indexes(&mut self) -> Result<()> {
        for (i, e) in self.entries.iter().enumerate() {
            if let Some(k) = e.key {
                if !self.keys.insert(k, to_u32(i, "entry count")?) {
                    return Err(broken(format!("duplicate idempotency key {k}")));
                }
            }
        }
        // Sorted first, so every key lands in the index's queue.
        let mut keys: Vec<_> = self
            .lots
            .iter()
            .filter(|l| l.state == LotState::Active && !l.remaining.is_zero())
            .map(Lot::spend_key)
            .collect();
        keys.sort_unstable();
        keys.into_iter().for_each(|k| self.spendable.insert(k));
        for lot in &self.lots {
            if let LotState::Pending(Some(d)) = lot.state {
                self.scheduled.insert((d, lot.id));
            }
        }
        Ok(())
    }
}

/// Moves `points` spendable points from one member to another as one atomic pair (a
/// transfer-out entry and a transfer-in entry under the same key). Both accounts are
/// brought up to `now` and every check runs before either changes; on any error both are
/// left as they were. The receiver's lots follow the program's [`TransferExpiry`]; received
/// points first repay the receiver's debt.
///
/// # Errors
///
/// [`ErrorKind::IdempotencyConflict`] when the key was used for something else in either
/// account; [`ErrorKind::InvalidInput`] for zero points, the same member on both sides or a
/// `now` before either account's last operation; [`ErrorKind::Insufficient`];
/// [`ErrorKind::Overflow`].
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
/// assert_eq!(alice.balances().available(), Points::new(180));
/// assert_eq!(bob.balances().available(), Points::new(120));
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
