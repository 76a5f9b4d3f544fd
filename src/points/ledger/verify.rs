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
    Adjustment, Direction, EarnOutcome, EarnRequest, Entry, EntryKind, RefundOutcome,
    RefundRequest, Totals,
};
use crate::points::lot::{LotSource, LotState, Reservation, ReservationState};
use crate::points::{Points, ReservationId};

/// What the history says the account must be.
struct Derived {
    totals: Totals,
    /// Debt booked by refunds.
    debt: u64,
    /// Debt repaid by credits.
    repaid: u64,
    /// Each lot's refund record: (claw requested, refunded).
    refunds: Vec<(Points, Option<Money>)>,
    /// Each reservation.
    held: Vec<Reservation>,
}

#[cold]
#[inline(never)]
fn unbalanced(i: usize) -> Error {
    broken(format!("entry {i} draws do not add up"))
}

fn acc(x: &mut Points, p: Points) -> Result<()> {
    *x = x.checked_add(p)?;
    Ok(())
}

impl Derived {
    fn new(a: &Account) -> Derived {
        Derived {
            totals: Totals::default(),
            debt: 0,
            repaid: 0,
            refunds: vec![(Points::ZERO, None); a.lots.len()],
            held: Vec::with_capacity(a.reservations.len()),
        }
    }

    /// Applies entry `i` (which drew `drawn` points); returns the debt it repaid.
    fn entry(&mut self, a: &Account, i: usize, e: &Entry, drawn: u64) -> Result<Points> {
        let t = &mut self.totals;
        let mut rep = Points::ZERO;
        // Debits must draw exactly what they record.
        let debit = |p: Points| if drawn == p.value() { Ok(()) } else { Err(unbalanced(i)) };
        match &e.kind {
            EntryKind::Earn { request, outcome } => rep = self.earn(a, i, e, request, outcome)?,
            EntryKind::Activate { outcome, .. } => rep = outcome.debt_repaid,
            EntryKind::Cancel { points, .. } => acc(&mut t.cancelled, *points)?,
            EntryKind::Reserve { outcome, .. } => {
                debit(outcome.points)?;
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
            }
            EntryKind::Commit { points, reservation } => {
                acc(&mut t.redeemed, *points)?;
                if self.resolve(*reservation, ReservationState::Committed)? != *points {
                    return Err(broken(format!("entry {i} commits other points")));
                }
            }
            EntryKind::Release { outcome, reservation } => {
                acc(&mut t.expired, outcome.expired)?;
                let points = self.resolve(*reservation, ReservationState::Released)?;
                if outcome.returned.checked_add(outcome.expired)? != points {
                    return Err(broken(format!("entry {i} releases other points")));
                }
                rep = outcome.debt_repaid;
            }
            EntryKind::Redeem { outcome, .. } => {
                acc(&mut t.redeemed, outcome.points)?;
                debit(outcome.points)?;
            }
            EntryKind::Expire { points } => {
                acc(&mut t.expired, *points)?;
                debit(*points)?;
            }
            EntryKind::Refund { request, outcome } => self.refund(a, i, request, outcome, drawn)?,
            EntryKind::Adjust { adjustment, outcome } => {
                match adjustment.direction {
                    Direction::Credit => acc(&mut t.adjusted_in, adjustment.points)?,
                    Direction::Debit => {
                        acc(&mut t.adjusted_out, adjustment.points)?;
                        debit(adjustment.points)?;
                    }
                }
                rep = outcome.debt_repaid;
            }
            EntryKind::TransferOut { points, .. } => {
                acc(&mut t.transferred_out, *points)?;
                debit(*points)?;
            }
            EntryKind::TransferIn { outcome, .. } => {
                acc(&mut self.totals.transferred_in, outcome.points)?;
                rep = outcome.debt_repaid;
            }
        }
        Ok(rep)
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
        let lot = a.lots.get(outcome.lot.index());
        let matches = lot.is_some_and(|l| {
            l.source == LotSource::Earn
                && l.key == e.key
                && l.earned_on == e.at
                && l.points == request.points
                && l.order_total == request.order_total
        });
        let Some(slot) = self.refunds.get_mut(outcome.lot.index()).filter(|_| matches) else {
            return Err(broken(format!("entry {i} earn differs from its lot")));
        };
        slot.1 = request.order_total.map(|m| Money::zero(m.currency()));
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
        let earn = a.entry_for(request.order).map(|x| &x.kind);
        let slot = match earn {
            Some(EntryKind::Earn { outcome: o, .. }) => self.refunds.get_mut(o.lot.index()),
            _ => None,
        };
        let Some((claw, Some(refunded))) = slot else {
            return Err(broken(format!("entry {i} refunds an unknown order")));
        };
        *claw = claw.checked_add(outcome.requested)?;
        *refunded = refunded.checked_add(request.refunded)?;
        let taken = outcome.from_pending.checked_add(outcome.from_available)?;
        acc(&mut self.totals.clawed_back, taken.checked_add(outcome.debt)?)?;
        acc(&mut self.totals.forgiven, outcome.forgiven)?;
        self.debt =
            self.debt.checked_add(outcome.debt.value()).ok_or_else(|| Error::overflow("debt"))?;
        if drawn != taken.value() {
            return Err(unbalanced(i));
        }
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
    /// - the spend and activation indexes hold exactly the lots they should; keys are unique.
    ///
    /// Cost: linear in the history. Deserialization runs it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidState`](crate::ErrorKind::InvalidState) naming the first
    /// invariant that does not hold.
    pub fn check(&self) -> Result<()> {
        let derived = self.derive_history()?;
        self.check_totals(&derived)?;
        let (available, pending) = self.check_lots(&derived)?;
        let reserved = self.check_reservations(&derived.held)?;
        self.check_balances(available, pending, reserved)?;
        self.check_conservation()?;
        self.check_keys()
    }

    /// Walks the entries once: dates in order, draws in range and adding up, and what the
    /// history says the totals, refund records and reservations must be.
    fn derive_history(&self) -> Result<Derived> {
        let mut d = Derived::new(self);
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
            let rep = d.entry(self, i, e, drawn)?;
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
                return Err(unbalanced(i));
            }
            d.repaid = d.repaid.checked_add(rep.value()).ok_or_else(|| Error::overflow("debt"))?;
        }
        d.totals.debt_repaid = Points::new(d.repaid);
        Ok(d)
    }

    /// Running totals and debt against the history.
    fn check_totals(&self, d: &Derived) -> Result<()> {
        if d.totals != self.totals {
            return Err(broken("running totals differ from the history"));
        }
        if d.debt.checked_sub(d.repaid) != Some(self.balances.debt.value()) {
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
        let mut lot_expired = 0u64;
        for (i, lot) in self.lots.iter().enumerate() {
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
        if lot_expired != self.totals.expired.value() {
            return Err(broken("expired points of the lots differ from the history"));
        }
        if spendable != self.spendable.len() || scheduled != self.scheduled.len() {
            return Err(broken("index holds closed lots"));
        }
        Ok((available, pending))
    }

    /// Reservations against the history; returns the points held.
    fn check_reservations(&self, history: &[Reservation]) -> Result<u64> {
        if history != self.reservations {
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
        // Lifetime flows may pass u64::MAX while no balance does: compare in u128.
        let left = t.credits();
        let right = u128::from(b.outstanding()?.value()) + t.debits();
        if left + u128::from(b.debt.value()) != right {
            return Err(broken(format!(
                "conservation violated: credits {left} + debt {} != held and debited {right}",
                b.debt
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
