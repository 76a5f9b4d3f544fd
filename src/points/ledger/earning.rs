//! Crediting operations: earn, activate, cancel pending points, manual adjustments.

use chrono::NaiveDate;

use super::{broken, positive, Account};
use crate::error::{Error, Result};
use crate::points::entry::{
    ActivateOutcome, AdjustOutcome, Adjustment, Direction, EarnOutcome, EarnRequest, EntryKind,
    Pending,
};
use crate::points::lot::{LotSource, LotState};
use crate::points::program::Program;
use crate::points::{insufficient, OpKey, Points};

impl Account {
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

    pub(super) fn earn_now(
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

    /// A manual credit (a new spendable lot with the program's expiry) or debit (spendable
    /// points only, in spend order), with its reason.
    ///
    /// A credit counts as activity for [`Expiry::inactivity`](super::super::Expiry::inactivity)
    /// (it restarts the member's inactivity window, like an earn): an agent's goodwill credit
    /// after a lapse stays spendable for a full window instead of expiring with the next
    /// operation. A debit is not activity: the member did nothing.
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
                    // A manual credit is activity: goodwill given after an inactivity lapse
                    // must not be expired by the next operation the same day.
                    a.last_activity = now;
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
}
