//! Time-driven work: scheduled activations, expiries by date and by inactivity, and
//! the wrapper that brings an account up to `now` before every operation.

use chrono::NaiveDate;

use super::{broken, Account};
use crate::error::Result;
use crate::points::entry::{ActivateOutcome, EntryKind, ExpireOutcome};
use crate::points::lot::{Draw, LotState};
use crate::points::program::Program;
use crate::points::{LotId, Points};

impl Account {
    /// Whether time has work to do at `now`. O(1).
    pub(super) fn due(&self, program: &Program, now: NaiveDate) -> bool {
        self.scheduled.first().is_some_and(|(d, _)| *d <= now)
            || self.spendable.first().is_some_and(|k| k.expires_before(now))
            || (!self.balances.available.is_zero()
                && program.0.expiry.inactivity_through(self.last_activity).is_some_and(|t| t < now))
    }

    /// Runs `op` at `now`: checks the clock, brings the account up to `now`, and restores
    /// the account if anything fails. The snapshot is taken only when time has work to do;
    /// otherwise `op` itself validates before it mutates.
    pub(super) fn run<T>(
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

    /// Makes a pending lot spendable as of `on`.
    pub(super) fn activate_lot(
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
    pub(super) fn expire_lot(&mut self, id: LotId) -> Draw {
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
    pub(super) fn advance(&mut self, program: &Program, now: NaiveDate) -> Result<ExpireOutcome> {
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
                    out.activated = crate::points::add(out.activated, o.points)?;
                    out.debt_repaid = crate::points::add(out.debt_repaid, o.debt_repaid)?;
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
}
