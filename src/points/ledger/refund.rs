//! Refund clawback: taking back the points of a refunded (part of an) order.

use chrono::NaiveDate;

use super::{broken, Account};
use crate::error::{Error, Result};
use crate::points::entry::{EntryKind, RefundOutcome, RefundRequest};
use crate::points::lot::{Draw, LotState};
use crate::points::program::{ClawbackPolicy, Program};
use crate::points::{OpKey, Points};

impl Account {
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

    pub(super) fn refund_now(
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
}
