//! Verification: [`Account::check`] re-derives every total, balance, lot record and
//! reservation from the history.
//!
//! The check runs in named steps: [`Account::derive_history`] walks the entries once and
//! builds what the history says the account must be (a [`Derived`]); the other steps
//! compare the stored state against it (totals and debt, lots, reservations, balances,
//! conservation, the key index).

use chrono::NaiveDate;

use super::{broken, sum_draws, to_u32, Account};
use crate::error::{Error, Result};
use crate::money::Money;
use crate::points::entry::{
    AdjustOutcome, Adjustment, Direction, EarnOutcome, EarnRequest, Entry, EntryKind,
    RedeemOutcome, RedeemRequest, RefundOutcome, RefundRequest, ReleaseOutcome, RollbackOutcome,
    RollbackRequest, Totals, TransferOutcome,
};
use crate::points::lot::{Lot, LotSource, LotState, Reservation, ReservationState};
use crate::points::program::TransferExpiry;
use crate::points::TotalPoints;
use crate::points::{LotId, OpKey, Points, ReservationId};

/// What the history says the account must be (from its checkpoint on, if compacted).
pub(super) struct Derived {
    pub(super) totals: Totals,
    /// Debt booked by refunds (a lifetime flow, like the totals).
    pub(super) debt: u128,
    /// Debt repaid by credits.
    pub(super) repaid: u128,
    /// Each lot's refund record: (claw requested, refunded).
    pub(super) refunds: Vec<(Points, Option<Money>)>,
    /// Each reservation.
    pub(super) held: Vec<Reservation>,
    /// Lots created so far (lots are created in entry order).
    pub(super) created: usize,
    /// Each lot's life as the entries tell it.
    pub(super) life: Vec<Life>,
    /// Points debits took from each lot (expiries excluded: they are the lot's `expired`),
    /// less the draws of released reservations, which went back into the lot.
    pub(super) drawn: Vec<u64>,
    /// Pending points cancelled from each lot.
    pub(super) cancelled: Vec<u64>,
    /// Points of each lot that expired (by an expiry entry, or released after its date).
    pub(super) expired: Vec<u64>,
    /// The date of the last activity (see [`Account::last_activity`]) the history shows:
    /// the checkpoint's, then each activity entry's; `None` when neither says.
    pub(super) last_activity: Option<NaiveDate>,
    /// Per redemption rolled back: the order amount refunded and the points returned so
    /// far.
    pub(super) rolled: std::collections::BTreeMap<OpKey, (Money, u64)>,
}

/// Whether an entry is activity for an inactivity expiry: an earn, a redemption, a
/// reservation, a release, an activation, a transfer (either side) or a manual credit;
/// manual debits, refunds, cancellations, commits and expiries are not.
pub(super) fn is_activity(kind: &EntryKind) -> bool {
    match kind {
        EntryKind::Earn { .. }
        | EntryKind::Activate { .. }
        | EntryKind::Reserve { .. }
        | EntryKind::Release { .. }
        | EntryKind::Redeem { .. }
        | EntryKind::TransferOut { .. }
        | EntryKind::TransferIn { .. } => true,
        EntryKind::Adjust { adjustment, .. } => adjustment.direction == Direction::Credit,
        EntryKind::Cancel { .. }
        | EntryKind::Commit { .. }
        | EntryKind::Expire { .. }
        | EntryKind::Refund { .. }
        | EntryKind::Rollback { .. } => false,
    }
}

/// A lot's state as the history tells it.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Life {
    /// No entry created it.
    Unborn,
    Pending(Option<NaiveDate>),
    /// Spendable (or expired: the entries do not say which lot an expiry closed for good).
    Active,
    Cancelled,
}

impl Life {
    /// As a lot state (an unborn lot has none: it is never asked).
    pub(super) fn state(self) -> LotState {
        match self {
            Life::Pending(d) => LotState::Pending(d),
            Life::Active | Life::Unborn => LotState::Active,
            Life::Cancelled => LotState::Cancelled,
        }
    }

    fn of(state: LotState) -> Life {
        match state {
            LotState::Pending(d) => Life::Pending(d),
            LotState::Active | LotState::Expired => Life::Active,
            LotState::Cancelled => Life::Cancelled,
        }
    }
}

fn show_date(d: Option<NaiveDate>) -> String {
    d.map_or_else(|| "none".to_string(), |d| d.to_string())
}

/// `expected`, written so that it reads differently from `found` when the two differ
/// only where `Money`'s display does not show (the currency's minor units: a forged
/// precision shows as "3.00 USD" either way).
fn money_difference(expected: Money, found: Money) -> String {
    let (a, b) = (expected.currency(), found.currency());
    if a.code() == b.code() && a.minor_units() != b.minor_units() {
        format!("{expected} with {} minor units, not {}", a.minor_units(), b.minor_units())
    } else {
        expected.to_string()
    }
}

#[cold]
#[inline(never)]
fn unbalanced(i: usize) -> Error {
    broken(format!("entry {i} draws do not add up"))
}

/// A debit (entry `i`, which drew `drawn` points) must draw exactly the `points` it records.
fn debited(i: usize, drawn: u64, points: Points) -> Result<()> {
    if drawn == points.value() {
        Ok(())
    } else {
        Err(unbalanced(i))
    }
}

#[cold]
#[inline(never)]
fn differs(i: usize) -> Error {
    broken(format!("entry {i} outcome differs from its request"))
}

fn acc(x: &mut TotalPoints, p: Points) -> Result<()> {
    *x = x.checked_add(p)?;
    Ok(())
}

impl Derived {
    /// An empty history, or the checkpoint's.
    fn new(a: &Account) -> Derived {
        let n = a.lots.len();
        let mut d = Derived {
            totals: Totals::default(),
            debt: 0,
            repaid: 0,
            refunds: vec![(Points::ZERO, None); n],
            held: Vec::with_capacity(a.reservations.len()),
            created: 0,
            life: vec![Life::Unborn; n],
            drawn: vec![0; n],
            cancelled: vec![0; n],
            expired: vec![0; n],
            last_activity: None,
            rolled: std::collections::BTreeMap::new(),
        };
        if let Some(c) = a.checkpoint.as_deref() {
            d.totals = c.totals;
            d.last_activity = c.last_activity;
            d.repaid = c.totals.debt_repaid.value();
            // Debt booked = debt still owed + debt repaid (checked against the running
            // balance at the end).
            d.debt = u128::from(c.balances.debt.value()).saturating_add(d.repaid);
            for (i, m) in c.lots.iter().enumerate().take(n) {
                d.refunds[i] = (m.claw_requested, m.refunded);
                d.life[i] = Life::of(m.state);
                d.drawn[i] = m.drawn.value();
                d.cancelled[i] = m.cancelled.value();
                d.expired[i] = m.expired.value();
            }
            d.created = c.lots.len().min(n);
            for (r, state) in a.reservations.iter().zip(&c.reservations) {
                d.held.push(Reservation { state: *state, ..r.clone() });
            }
        }
        d
    }

    /// Applies entry `i` (which drew `drawn` points); returns the debt it repaid.
    fn entry(&mut self, a: &Account, i: usize, e: &Entry, drawn: u64) -> Result<Points> {
        let t = &mut self.totals;
        let mut rep = Points::ZERO;
        let debit = |p: Points| debited(i, drawn, p);
        match &e.kind {
            EntryKind::Earn { request, outcome } => rep = self.earn(a, i, e, request, outcome)?,
            EntryKind::Activate { order, outcome } => {
                self.activate(a, i, e, *order, outcome, drawn)?;
                rep = outcome.debt_repaid;
            }
            EntryKind::Cancel { order, lot, points } => self.cancel(a, i, *order, *lot, *points)?,
            EntryKind::Reserve { request, outcome } => {
                debit(outcome.points)?;
                self.reserve(i, e, request, outcome)?;
            }
            EntryKind::Commit { points, reservation } => {
                acc(&mut t.redeemed, *points)?;
                if self.resolve(*reservation, ReservationState::Committed)? != *points {
                    return Err(broken(format!("entry {i} commits other points")));
                }
            }
            EntryKind::Release { outcome, reservation } => {
                self.release(a, i, e, outcome, *reservation)?;
                rep = outcome.debt_repaid;
            }
            EntryKind::Redeem { request, outcome } => {
                acc(&mut t.redeemed, outcome.points)?;
                debit(outcome.points)?;
                if request.points != outcome.points || outcome.reservation.is_some() {
                    return Err(differs(i));
                }
            }
            EntryKind::Expire { points } => {
                acc(&mut t.expired, *points)?;
                debit(*points)?;
            }
            EntryKind::Refund { request, outcome } => self.refund(a, i, request, outcome, drawn)?,
            EntryKind::Rollback { request, outcome } => {
                self.rollback(a, i, e, request, outcome)?;
                rep = outcome.debt_repaid;
            }
            EntryKind::Adjust { adjustment, outcome } => {
                self.adjust(a, i, e, adjustment, outcome, drawn)?;
                rep = outcome.debt_repaid;
            }
            EntryKind::TransferOut { points, .. } => {
                acc(&mut t.transferred_out, *points)?;
                debit(*points)?;
            }
            EntryKind::TransferIn { outcome, .. } => {
                self.transfer_in(a, i, e, outcome)?;
                rep = outcome.debt_repaid;
            }
        }
        Ok(rep)
    }

    /// A cancelled order's lot: it must have been pending, and be the order's lot.
    fn cancel(
        &mut self,
        a: &Account,
        i: usize,
        order: OpKey,
        lot: LotId,
        points: Points,
    ) -> Result<()> {
        acc(&mut self.totals.cancelled, points)?;
        let earned = a.order_lot(order).ok();
        match self.life.get_mut(lot.index()) {
            Some(l @ Life::Pending(_)) if earned == Some(lot) => *l = Life::Cancelled,
            _ => return Err(broken(format!("entry {i} cancels a lot that was not pending"))),
        }
        self.cancelled[lot.index()] = points.value();
        Ok(())
    }

    /// A reservation: all the points asked for, held under the next reservation id.
    fn reserve(
        &mut self,
        i: usize,
        e: &Entry,
        request: &RedeemRequest,
        outcome: &RedeemOutcome,
    ) -> Result<()> {
        if request.points != outcome.points {
            return Err(differs(i));
        }
        let id = ReservationId::new(to_u32(self.held.len(), "reservations")?);
        if outcome.reservation != Some(id) {
            return Err(unbalanced(i));
        }
        self.held.push(Reservation {
            id,
            points: outcome.points,
            value: outcome.value,
            draws_start: e.draws_start,
            draws_len: e.draws_len,
            state: ReservationState::Held,
        });
        Ok(())
    }

    /// A released reservation: its points returned or expired, its draws back in their lots.
    fn release(
        &mut self,
        a: &Account,
        i: usize,
        e: &Entry,
        outcome: &ReleaseOutcome,
        reservation: ReservationId,
    ) -> Result<()> {
        acc(&mut self.totals.expired, outcome.expired)?;
        let points = self.resolve(reservation, ReservationState::Released)?;
        if outcome.returned.checked_add(outcome.expired)? != points {
            return Err(broken(format!("entry {i} releases other points")));
        }
        let Some(r) = self.held.get(reservation.value() as usize) else { return Ok(()) };
        let s = r.draws_start as usize;
        for d in a.draws.get(s..s + r.draws_len as usize).unwrap_or(&[]) {
            if let Some(x) = self.drawn.get_mut(d.lot.index()) {
                *x = x.wrapping_sub(d.points.value());
            }
            // Points whose lot passed its last valid day expire on release.
            let late = a.lots.get(d.lot.index()).and_then(|l| l.valid_through);
            if late.is_some_and(|t| t < e.at) {
                let slot = &mut self.expired[d.lot.index()];
                *slot = slot.wrapping_add(d.points.value());
            }
        }
        Ok(())
    }

    /// A manual adjustment: a credit makes an adjustment lot, a debit draws its points.
    fn adjust(
        &mut self,
        a: &Account,
        i: usize,
        e: &Entry,
        adjustment: &Adjustment,
        outcome: &AdjustOutcome,
        drawn: u64,
    ) -> Result<()> {
        if outcome.points != adjustment.points {
            return Err(differs(i));
        }
        match adjustment.direction {
            Direction::Credit => {
                acc(&mut self.totals.adjusted_in, adjustment.points)?;
                let lot = self.born(a, i, e, LotSource::Adjustment, e.key)?;
                if outcome.lot != Some(lot.id) || lot.points != adjustment.points {
                    return Err(differs(i));
                }
            }
            Direction::Debit => {
                acc(&mut self.totals.adjusted_out, adjustment.points)?;
                debited(i, drawn, adjustment.points)?;
                if outcome.lot.is_some() || !outcome.debt_repaid.is_zero() {
                    return Err(differs(i));
                }
            }
        }
        Ok(())
    }

    /// Transferred-in points: as many lots as the outcome says, summing to its points.
    fn transfer_in(
        &mut self,
        a: &Account,
        i: usize,
        e: &Entry,
        outcome: &TransferOutcome,
    ) -> Result<()> {
        acc(&mut self.totals.transferred_in, outcome.points)?;
        let mut sum = Points::ZERO;
        for j in 0..outcome.lots {
            let key = if j == 0 { e.key } else { None };
            sum = sum.checked_add(self.born(a, i, e, LotSource::Transfer, key)?.points)?;
        }
        if sum != outcome.points {
            return Err(differs(i));
        }
        Ok(())
    }

    /// The next lot, created by entry `i` as a spendable lot from `source`: it must say so.
    fn born<'a>(
        &mut self,
        a: &'a Account,
        i: usize,
        e: &Entry,
        source: LotSource,
        key: Option<crate::points::OpKey>,
    ) -> Result<&'a crate::points::Lot> {
        let lot = a.lots.get(self.created).filter(|l| {
            l.source == source && l.key == key && l.earned_on == e.at && l.order_total.is_none()
        });
        let Some(lot) = lot else {
            return Err(broken(format!("entry {i} differs from the lot it created")));
        };
        self.life[self.created] = Life::Active;
        self.created += 1;
        Ok(lot)
    }

    /// An activation: of a pending lot, on its date (scheduled) or of the earn it names.
    fn activate(
        &mut self,
        a: &Account,
        i: usize,
        e: &Entry,
        order: Option<crate::points::OpKey>,
        outcome: &crate::points::ActivateOutcome,
        drawn: u64,
    ) -> Result<()> {
        let id = outcome.lot;
        // The points activated are what the pending lot held: its points less what
        // refunds took from it before. This entry's own draws (debt repaid from the lot
        // just activated, the only spendable one while there is debt) come after.
        let taken_before = self.drawn.get(id.index()).and_then(|x| x.checked_sub(drawn));
        let held = a.lots.get(id.index()).zip(taken_before).and_then(|(l, t)| {
            l.points.value().checked_sub(t)?.checked_sub(self.expired[id.index()])
        });
        if held != Some(outcome.points.value()) {
            return Err(differs(i));
        }
        let ok = match (self.life.get(id.index()), order) {
            (Some(Life::Pending(Some(d))), None) => *d == e.at,
            (Some(Life::Pending(_)), Some(o)) => a.order_lot(o).ok() == Some(id),
            _ => false,
        };
        let valid = a.lots.get(id.index()).map(|l| l.valid_through);
        if !ok || valid != Some(outcome.valid_through) {
            return Err(broken(format!("entry {i} activates a lot that was not pending")));
        }
        self.life[id.index()] = Life::Active;
        Ok(())
    }

    /// An earn: its lot must be the one the earn recorded (a refund measures against it).
    fn earn(
        &mut self,
        a: &Account,
        i: usize,
        e: &Entry,
        request: &EarnRequest,
        outcome: &EarnOutcome,
    ) -> Result<Points> {
        acc(&mut self.totals.earned, request.points)?;
        if outcome.points != request.points {
            return Err(broken(format!("entry {i} earn outcome differs from its request")));
        }
        // Immediate points are valid through the date the earn recorded; pending points
        // get theirs when they activate (checked there), so the earn records none.
        let immediate = request.pending == crate::points::Pending::Immediate;
        if !immediate && outcome.valid_through.is_some() {
            return Err(broken(format!("entry {i} dates pending points")));
        }
        let lot = a.lots.get(outcome.lot.index());
        let matches = lot.is_some_and(|l| {
            l.source == LotSource::Earn
                && l.key == e.key
                && l.earned_on == e.at
                && l.points == request.points
                && l.order_total == request.order_total
                && (!immediate || l.valid_through == outcome.valid_through)
        });
        let next = outcome.lot.index() == self.created;
        let Some(slot) = self.refunds.get_mut(outcome.lot.index()).filter(|_| matches && next)
        else {
            return Err(broken(format!("entry {i} earn differs from its lot")));
        };
        slot.1 = request.order_total.map(|m| Money::zero(m.currency()));
        self.life[self.created] = match request.pending {
            crate::points::Pending::Immediate => Life::Active,
            crate::points::Pending::Until(d) => Life::Pending(Some(d)),
            crate::points::Pending::UntilActivated => Life::Pending(None),
        };
        self.created += 1;
        Ok(outcome.debt_repaid)
    }

    /// A refund: it adds to the refund record of the lot of the earn it names.
    fn refund(
        &mut self,
        a: &Account,
        i: usize,
        request: &RefundRequest,
        outcome: &RefundOutcome,
        drawn: u64,
    ) -> Result<()> {
        let slot = a.order_lot(request.order).ok().and_then(|l| self.refunds.get_mut(l.index()));
        let Some((claw, Some(refunded))) = slot else {
            return Err(broken(format!("entry {i} refunds an unknown order")));
        };
        *claw = claw.checked_add(outcome.requested)?;
        *refunded = refunded.checked_add(request.refunded)?;
        let taken = outcome.from_pending.checked_add(outcome.from_available)?;
        let split = taken.checked_add(outcome.debt)?.checked_add(outcome.forgiven)?;
        if split != outcome.requested {
            return Err(differs(i));
        }
        acc(&mut self.totals.clawed_back, taken.checked_add(outcome.debt)?)?;
        acc(&mut self.totals.forgiven, outcome.forgiven)?;
        self.debt = self
            .debt
            .checked_add(u128::from(outcome.debt.value()))
            .ok_or_else(|| Error::overflow("debt"))?;
        if drawn != taken.value() {
            return Err(unbalanced(i));
        }
        Ok(())
    }

    /// A rollback: the points a redemption before it drew, unwound from its last draw by
    /// the refunded share of its order, back in their lots (expired where the lot had
    /// passed its last valid day).
    fn rollback(
        &mut self,
        a: &Account,
        i: usize,
        e: &Entry,
        request: &RollbackRequest,
        outcome: &RollbackOutcome,
    ) -> Result<()> {
        let key = request.redemption;
        let r = a.redeemed(key).ok().filter(|r| r.index < i);
        let Some(r) = r else {
            return Err(broken(format!("entry {i} rolls back no redemption before it")));
        };
        let zero = (Money::zero(r.order_total.currency()), 0);
        let (before, returned) = self.rolled.get(&key).copied().unwrap_or(zero);
        let (after, target) =
            super::rollback::cumulative(r.order_total, r.points, before, request.refunded)
                .map_err(|_| differs(i))?;
        let (s, n) = r.draws;
        let draws = a.draws.get(s..s + n).ok_or_else(|| unbalanced(i))?;
        let mut late = 0u64;
        for d in super::rollback::unwind(draws, returned, target) {
            let x = d.lot.index();
            let slot = self.drawn.get_mut(x).ok_or_else(|| unbalanced(i))?;
            // Never more back into a lot than debits took from it.
            *slot = slot.checked_sub(d.points.value()).ok_or_else(|| unbalanced(i))?;
            if a.lots[x].valid_through.is_some_and(|t| t < e.at) {
                late += d.points.value();
                let slot = &mut self.expired[x];
                *slot = slot.checked_add(d.points.value()).ok_or_else(|| unbalanced(i))?;
            }
        }
        let points = target - returned;
        if outcome.points.value() != points
            || outcome.expired.value() != late
            || outcome.rolled_back.value() != target
            || outcome.refunded != after
        {
            return Err(differs(i));
        }
        acc(&mut self.totals.rolled_back, outcome.points)?;
        acc(&mut self.totals.expired, outcome.expired)?;
        self.rolled.insert(key, (after, target));
        Ok(())
    }

    /// Commits or releases a held reservation; returns its points.
    fn resolve(&mut self, id: ReservationId, to: ReservationState) -> Result<Points> {
        match self.held.get_mut(id.value() as usize) {
            Some(r) if r.state == ReservationState::Held => {
                r.state = to;
                Ok(r.points)
            }
            _ => Err(broken(format!("{id} resolved without being held"))),
        }
    }
}

impl Account {
    /// Verifies the account against its own history:
    ///
    /// - every total re-derived from the entries equals the running total, and the debt
    ///   equals debt booked minus debt repaid;
    /// - balances equal the sums over lots (available: active lots; pending: pending lots)
    ///   and held reservations; every draw range is in bounds and adds up;
    /// - conservation (see [`Totals`]) holds; debt exists only while nothing is spendable;
    /// - the spend and activation indexes hold exactly the lots they should; keys are unique;
    /// - every lot's dates agree with the entries (see the [module documentation](super::super)),
    ///   and [`Account::last_activity`] is the date of the latest activity entry.
    ///
    /// Cost: linear in the history. Deserialization runs it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidState`](crate::ErrorKind::InvalidState) naming the first
    /// invariant that does not hold.
    pub fn check(&self) -> Result<()> {
        self.check_checkpoint()?;
        let derived = self.derive_history()?;
        self.check_totals(&derived)?;
        let (available, pending) = self.check_lots(&derived)?;
        let reserved = self.check_reservations(&derived.held)?;
        self.check_balances(available, pending, reserved)?;
        self.check_conservation()?;
        self.check_keys()
    }

    /// [`Account::check`], and also that every redemption and reservation in the history
    /// was worth what `program` says: each recorded money value is re-derived from the
    /// program's [`RedemptionRules`](crate::points::RedemptionRules) (the request's points
    /// against its order total, under the minimum, maximum, increment and share rules).
    /// Dates too: the last valid day of every immediate earn, activation, manual credit
    /// and transfer under [`TransferExpiry::Reset`] is re-derived from the program's
    /// [`Expiry`](crate::points::Expiry) (a lot received under
    /// [`TransferExpiry::KeepSource`] is bounded by it), and at the account's clock the
    /// program must have nothing left to expire or activate.
    ///
    /// [`Account::check`] cannot do this, since the account does not keep its program: it
    /// proves that the points add up, and that each reservation's value is its entry's,
    /// but a stored state whose recorded discount was raised is consistent with itself.
    /// Pass the program the account was run under (with changed redemption rules, the
    /// redemptions made under the old ones no longer verify). Entries folded by
    /// [`Account::compact`] are not there to check; the outcomes kept for replays are.
    ///
    /// # Errors
    ///
    /// The errors of [`Account::check`];
    /// [`ErrorKind::InvalidState`](crate::ErrorKind::InvalidState) naming the first
    /// redemption whose value, or entry or lot whose date, the program does not give, or
    /// saying that points the program expires are still spendable;
    /// [`ErrorKind::Overflow`](crate::ErrorKind::Overflow) when a date the program gives
    /// leaves the calendar.
    ///
    /// # Example
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use loyalty::points::*;
    /// use loyalty::{Currency, Money};
    /// use rust_decimal::Decimal;
    ///
    /// let usd = |n: i64| Money::new(Decimal::from(n), Currency::USD);
    /// let rules = EarnRules::new(Currency::USD, Decimal::ONE)?;
    /// let program = Program::new(rules, RedemptionRules::new(Points::new(100), usd(10))?)?;
    /// let day = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    /// let mut account = Account::new(MemberId::new(7), day);
    /// account.earn(&program, OpKey::new(1), &EarnRequest::new(Points::new(300)), day)?;
    /// let request = RedeemRequest::new(Points::new(200), usd(50));
    /// account.redeem(&program, OpKey::new(2), &request, day)?;
    /// account.check_with(&program)?;
    ///
    /// // Under a program where 100 points are worth $5, that redemption was not allowed.
    /// let cheaper = Program::new(
    ///     EarnRules::new(Currency::USD, Decimal::ONE)?,
    ///     RedemptionRules::new(Points::new(100), usd(5))?,
    /// )?;
    /// assert!(account.check_with(&cheaper).is_err());
    /// # Ok::<(), loyalty::Error>(())
    /// ```
    pub fn check_with(&self, program: &crate::points::Program) -> Result<()> {
        self.check()?;
        self.entries_follow(program)?;
        self.lot_dates_follow(program)?;
        // Every operation brings the account up to its date first, so at its clock time
        // has nothing left to do (a clock moved past an expiry, or a last activity moved
        // back, would leave points spendable that the program expires).
        if self.due(program, self.clock) {
            return Err(broken(format!(
                "points the program expires by {} are still spendable",
                self.clock
            )));
        }
        Ok(())
    }

    /// The dates and redemption values the entries record are those `program` gives.
    fn entries_follow(&self, program: &crate::points::Program) -> Result<()> {
        let rules = program.redemption();
        let expiry = &program.0.expiry;
        for (i, e) in self.entries.iter().enumerate() {
            // The last valid day the program gives points that become spendable on `e.at`.
            let dated = |recorded: Option<NaiveDate>| -> Result<()> {
                let due = expiry.valid_through(e.at)?;
                if recorded != due {
                    return Err(broken(format!(
                        "entry {i} last valid day {} differs from the program's ({})",
                        show_date(recorded),
                        show_date(due)
                    )));
                }
                Ok(())
            };
            match &e.kind {
                EntryKind::Earn { request, outcome }
                    if request.pending == crate::points::Pending::Immediate =>
                {
                    dated(outcome.valid_through)?;
                }
                EntryKind::Activate { outcome, .. } => dated(outcome.valid_through)?,
                EntryKind::Redeem { request, outcome }
                | EntryKind::Reserve { request, outcome } => {
                    let value = rules.validate(request.points, request.order_total);
                    if value.as_ref().ok() != Some(&outcome.value) {
                        let why = match value {
                            Ok(v) => {
                                format!("the program gives {}", money_difference(v, outcome.value))
                            }
                            Err(e) => format!("the program refuses it: {e}"),
                        };
                        return Err(broken(format!(
                            "entry {i} redemption value {} differs from the program's ({why})",
                            outcome.value
                        )));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Lots whose date no entry records are dated as `program` dates them: manual credits,
    /// and transfers under `TransferExpiry::Reset` (under `KeepSource` the sender's lots
    /// decided it, so the date is only bounded).
    fn lot_dates_follow(&self, program: &crate::points::Program) -> Result<()> {
        let expiry = &program.0.expiry;
        for lot in &self.lots {
            let keep = program.0.transfer_expiry == TransferExpiry::KeepSource;
            let due = match lot.source {
                LotSource::Adjustment | LotSource::Transfer => {
                    expiry.valid_through(lot.earned_on)?
                }
                _ => continue,
            };
            if lot.source == LotSource::Transfer && keep {
                // The sender's lot was credited on or before the transfer day, so the
                // program dated it no later than it dates points credited that day (its
                // dates only move forward with the credit date); and it was still valid.
                let late = match (lot.valid_through, due) {
                    (Some(t), Some(u)) => t > u,
                    // Under a program that dates nothing, no lot has a date.
                    (Some(_), None) => true,
                    (None, due) => due.is_some(),
                };
                if late {
                    return Err(broken(format!(
                        "{} last valid day {} is later than the program gives ({})",
                        lot.id,
                        show_date(lot.valid_through),
                        show_date(due)
                    )));
                }
            } else if lot.valid_through != due {
                return Err(broken(format!(
                    "{} last valid day {} differs from the program's ({})",
                    lot.id,
                    show_date(lot.valid_through),
                    show_date(due)
                )));
            }
        }
        Ok(())
    }

    /// Walks the entries once: dates in order, draws in range and adding up, and what the
    /// history says the totals, refund records and reservations must be.
    fn derive_history(&self) -> Result<Derived> {
        let (d, next_draw) = self.derive(self.entries.len())?;
        if next_draw != self.draws.len() {
            return Err(broken("draws recorded by no entry"));
        }
        if d.created != self.lots.len() {
            return Err(broken("lots created by no entry"));
        }
        let last = self.entries.last().map(|e| e.at);
        if last.is_some_and(|p| p > self.clock) || self.last_activity > self.clock {
            return Err(broken("the clock is before the last operation"));
        }
        self.check_last_activity(d.last_activity)?;
        Ok(d)
    }

    /// The last activity against the history: the latest activity entry (or the
    /// checkpoint's record of it). An inactivity expiry counts from it, so a date moved
    /// earlier would expire points early, and one moved later would keep them too long.
    fn check_last_activity(&self, derived: Option<NaiveDate>) -> Result<()> {
        let ok = match derived {
            Some(x) => self.last_activity == x,
            // No activity on record: an account with no entries (the opening date is not
            // recorded, and there is nothing to expire), or a checkpoint written before it
            // recorded the date, which bounds it.
            None => {
                let bound =
                    self.checkpoint.as_ref().map(|c| c.at).or(self.entries.first().map(|e| e.at));
                bound.is_none_or(|b| self.last_activity <= b)
            }
        };
        if !ok {
            return Err(broken(format!(
                "last activity {} differs from the history ({})",
                self.last_activity,
                derived.map_or_else(|| "none recorded".to_string(), |x| x.to_string())
            )));
        }
        Ok(())
    }

    /// What the history says the account was after its first `upto` entries (from the
    /// checkpoint on; the entries it keeps for replays are not applied again), and the
    /// draws those entries recorded.
    pub(super) fn derive(&self, upto: usize) -> Result<(Derived, usize)> {
        let mut d = Derived::new(self);
        let mut prev: Option<NaiveDate> = None;
        let mut next_draw = 0usize;
        let retained = self.retained();
        for (i, e) in self.entries.iter().enumerate().take(upto) {
            if prev.is_some_and(|p| e.at < p) {
                return Err(broken(format!("entry {i} is dated before its predecessor")));
            }
            prev = Some(e.at);
            if i < retained {
                continue;
            }
            // What time did carries no key; everything a host asked for does.
            let timed = matches!(
                e.kind,
                EntryKind::Expire { .. } | EntryKind::Activate { order: None, .. }
            );
            if timed == e.key.is_some() {
                return Err(broken(format!("entry {i} has a key it should not, or lacks one")));
            }
            let draws = self.entry_draws(i, e, next_draw)?;
            next_draw += draws.len();
            if is_activity(&e.kind) {
                d.last_activity = Some(d.last_activity.map_or(e.at, |x| x.max(e.at)));
            }
            let drawn = sum_draws(draws)?;
            if matches!(e.kind, EntryKind::Expire { .. }) {
                for x in draws {
                    let slot = &mut d.expired[x.lot.index()];
                    *slot = slot
                        .checked_add(x.points.value())
                        .ok_or_else(|| broken("draws overflow"))?;
                }
            } else {
                for x in draws {
                    let slot = &mut d.drawn[x.lot.index()];
                    *slot = slot
                        .checked_add(x.points.value())
                        .ok_or_else(|| broken("draws overflow"))?;
                }
            }
            let rep = d.entry(self, i, e, drawn)?;
            // Credits draw only to repay debt; the other kinds' draws were checked above.
            let credit = matches!(
                e.kind,
                EntryKind::Earn { .. }
                    | EntryKind::Activate { .. }
                    | EntryKind::Release { .. }
                    | EntryKind::Rollback { .. }
                    | EntryKind::TransferIn { .. }
                    | EntryKind::Adjust {
                        adjustment: Adjustment { direction: Direction::Credit, .. },
                        ..
                    }
            );
            let closed = matches!(e.kind, EntryKind::Cancel { .. } | EntryKind::Commit { .. });
            if (credit && drawn != rep.value()) || (closed && drawn != 0) {
                return Err(unbalanced(i));
            }
            d.repaid = d
                .repaid
                .checked_add(u128::from(rep.value()))
                .ok_or_else(|| Error::overflow("debt"))?;
        }
        d.totals.debt_repaid = TotalPoints::new(d.repaid);
        Ok((d, next_draw))
    }

    /// The draws of entry `i`, `e`, which must start at `next_draw` (entries' draws tile
    /// the draw array in order), from known lots, and from lots still valid unless `e` is an
    /// expiry.
    fn entry_draws(
        &self,
        i: usize,
        e: &Entry,
        next_draw: usize,
    ) -> Result<&[crate::points::lot::Draw]> {
        let s = e.draws_start as usize;
        if s != next_draw {
            return Err(broken(format!("entry {i} draws out of range")));
        }
        let draws = self
            .draws
            .get(s..s + e.draws_len as usize)
            .ok_or_else(|| broken(format!("entry {i} draws out of range")))?;
        if draws.iter().any(|d| d.lot.index() >= self.lots.len()) {
            return Err(broken(format!("entry {i} draws from an unknown lot")));
        }
        // Time expires a lot before anything else happens on the day after its last
        // valid day, so only an expiry draws from a lot past its date.
        let stale = |x: &crate::points::lot::Draw| {
            self.lots[x.lot.index()].valid_through.is_some_and(|t| t < e.at)
        };
        if !matches!(e.kind, EntryKind::Expire { .. }) && draws.iter().any(stale) {
            return Err(broken(format!("entry {i} draws from a lot past its last valid day")));
        }
        Ok(draws)
    }

    /// Running totals and debt against the history.
    fn check_totals(&self, d: &Derived) -> Result<()> {
        if d.totals != self.totals {
            return Err(broken("running totals differ from the history"));
        }
        if d.debt.checked_sub(d.repaid) != Some(u128::from(self.balances.debt.value())) {
            return Err(broken("debt differs from the history"));
        }
        Ok(())
    }

    /// Each lot against the history (shape, refund record, state, indexes); returns the
    /// available and pending sums.
    fn check_lots(&self, d: &Derived) -> Result<(u64, u64)> {
        let (mut available, mut pending) = (0u64, 0u64);
        let mut spendable = 0usize;
        let mut scheduled = 0usize;
        // Up to 2^32 lots of up to 2^64 points each: no overflow in 128 bits.
        let mut lot_expired = 0u128;
        for (i, lot) in self.lots.iter().enumerate() {
            self.check_lot(d, i, lot)?;
            lot_expired += u128::from(lot.expired.value());
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
        if lot_expired != self.totals.expired.value() {
            return Err(broken("expired points of the lots differ from the history"));
        }
        if spendable != self.spendable.len() || scheduled != self.scheduled.len() {
            return Err(broken("index holds closed lots"));
        }
        Ok((available, pending))
    }

    /// Lot `i` against the history: its shape, refund record, every point accounted for,
    /// its state, and no spendable points past its last valid day.
    fn check_lot(&self, d: &Derived, i: usize, lot: &Lot) -> Result<()> {
        let held = lot.remaining.value().checked_add(lot.expired.value());
        if lot.id.index() != i || !matches!(held, Some(h) if h <= lot.points.value()) {
            return Err(broken(format!("lot {i} is malformed")));
        }
        let history = d.refunds.get(i).copied().unwrap_or((Points::ZERO, None));
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
        // Every point of the lot is held, expired, drawn or cancelled.
        let accounted = u128::from(lot.remaining.value())
            + u128::from(lot.expired.value())
            + u128::from(d.drawn[i])
            + u128::from(d.cancelled[i]);
        if accounted != u128::from(lot.points.value()) {
            return Err(broken(format!("lot {i} points differ from the history")));
        }
        if d.expired[i] != lot.expired.value() {
            return Err(broken(format!("lot {i} expired points differ from the history")));
        }
        let life_ok = match (d.life[i], lot.state) {
            (Life::Pending(a), LotState::Pending(b)) => a == b,
            (Life::Active, LotState::Active | LotState::Expired) => true,
            (Life::Cancelled, LotState::Cancelled) => true,
            _ => false,
        };
        if !life_ok {
            return Err(broken(format!("lot {i} state differs from the history")));
        }
        // A lot's expiry clock starts when it becomes spendable: pending (and cancelled)
        // lots have no date, and no lot is valid through a day before it was credited.
        let undated = matches!(lot.state, LotState::Pending(_) | LotState::Cancelled);
        if (undated && lot.valid_through.is_some())
            || lot.valid_through.is_some_and(|t| t < lot.earned_on)
        {
            return Err(broken(format!("lot {i} dates differ from the history")));
        }
        if lot.state == LotState::Active
            && !lot.remaining.is_zero()
            && lot.valid_through.is_some_and(|t| t < self.clock)
        {
            return Err(broken(format!("lot {i} is spendable past its last valid day")));
        }
        Ok(())
    }

    /// Reservations against the history; returns the points held.
    fn check_reservations(&self, history: &[Reservation]) -> Result<u64> {
        if history != self.reservations {
            return Err(broken("reservations differ from the history"));
        }
        let mut reserved = 0u64;
        // Reservations closed before the checkpoint no longer have their draws.
        let folded = self.checkpoint.as_ref().map_or(0, |c| c.reservations.len());
        for (i, r) in self.reservations.iter().enumerate() {
            if i < folded {
                if r.id.value() as usize != i || (r.draws_start, r.draws_len) != (0, 0) {
                    return Err(broken(format!("reservation {i} is malformed")));
                }
                continue;
            }
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
        Ok(reserved)
    }

    /// Balances against the sums over lots and reservations.
    fn check_balances(&self, available: u64, pending: u64, reserved: u64) -> Result<()> {
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
        Ok(())
    }

    /// Credits equal what is held plus what left, less debt.
    fn check_conservation(&self) -> Result<()> {
        let (t, b) = (self.totals, self.balances);
        // Lifetime flows are u128 each: their sums carry past 128 bits, never wrap.
        let left = t.credits().plus(u128::from(b.debt.value()));
        let right = t.debits().plus(u128::from(b.outstanding()?.value()));
        if left != right {
            return Err(broken(format!(
                "conservation violated: credits and debt {left} != held and debited {right}"
            )));
        }
        Ok(())
    }

    /// Every keyed entry is in the key index once.
    fn check_keys(&self) -> Result<()> {
        if self.keys.len() != self.entries.iter().filter(|e| e.key.is_some()).count() {
            return Err(broken("duplicate idempotency keys"));
        }
        Ok(())
    }
}
