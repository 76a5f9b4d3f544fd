//! Refund clawback: taking back the points of a refunded (part of an) order.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{broken, Account};
use crate::error::{Error, Result};
use crate::money::{Money, Rounding};
use crate::points::entry::{EntryKind, RefundOutcome, RefundRequest};
use crate::points::lot::{Draw, Lot, LotState};
use crate::points::program::{ClawbackPolicy, Program};
use crate::points::{LotId, OpKey, Points};

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
    /// [`ErrorKind::IdempotencyConflict`](crate::ErrorKind::IdempotencyConflict); [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) for an unknown earn;
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for an earn without an order total, a non-positive
    /// refund, or refunds beyond the order total; [`ErrorKind::CurrencyMismatch`](crate::ErrorKind::CurrencyMismatch);
    /// [`ErrorKind::InvalidState`](crate::ErrorKind::InvalidState) under [`ClawbackPolicy::WithinBalance`] when the refund
    /// would forgive points while a reservation holds some (commit or release it first,
    /// then retry with the same key); [`ErrorKind::Overflow`](crate::ErrorKind::Overflow).
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
        let (after, total) = refunded_after(lot, req)?;
        let claw = self.plan_claw(program, lot, after, total)?;
        // Every total is checked before anything changes.
        let clawed = claw
            .from_pending
            .checked_add(claw.own_available)?
            .checked_add(claw.others)?
            .checked_add(claw.debt)?;
        let clawed_back = self.totals.clawed_back.checked_add(clawed)?;
        let forgiven_total = self.totals.forgiven.checked_add(claw.forgiven)?;
        let new_debt = self.balances.debt.checked_add(claw.debt)?;
        self.room(0, self.spendable.len() + 1)?;
        let start = self.draws.len();
        self.apply_claw(id, after, &claw);
        self.balances.debt = new_debt;
        self.totals.clawed_back = clawed_back;
        self.totals.forgiven = forgiven_total;
        let outcome = RefundOutcome {
            requested: claw.requested,
            from_pending: claw.from_pending,
            from_available: Points::new(claw.own_available.value() + claw.others.value()),
            debt: claw.debt,
            forgiven: claw.forgiven,
        };
        self.push_entry(Some(key), now, EntryKind::Refund { request: *req, outcome }, start);
        Ok(outcome)
    }

    /// Where the points to claw back come from under the program's policy, planned without
    /// changing anything: the lot's own pending or available points first, then the
    /// member's other available points, then debt or forgiveness.
    fn plan_claw(&self, program: &Program, lot: &Lot, after: Money, total: Money) -> Result<Claw> {
        let target = if lot.state == LotState::Cancelled {
            lot.claw_requested
        } else {
            // Exact integer arithmetic: refunded x points / total, rounded once with the
            // program's earn rounding (a third of 3.00 on 3 points is exactly 1, where a
            // rounded share 0.333... x 3 would give 0; and no amount is too large).
            let mode = program.0.earn.rounding_mode();
            let p = share_of_points(after.amount(), total.amount(), lot.points.value(), mode)?;
            // Rounding up can never take more than the lot's points. Points of the lot
            // that expired unused already left the member: they count as clawed first,
            // so only what was spent (or is still held) is chased.
            Points::new(p.min(lot.points.value()))
                .saturating_sub(lot.expired)
                .max(lot.claw_requested)
        };
        let requested = target.saturating_sub(lot.claw_requested);
        let policy = program.0.clawback;
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
        Ok(Claw { target, requested, from_pending, own_available, others, debt, forgiven })
    }

    /// Takes the planned points: from the lot (pending, then its own available points),
    /// then from the member's other lots in spend order.
    fn apply_claw(&mut self, id: LotId, after: Money, claw: &Claw) {
        let lot = &mut self.lots[id.index()];
        lot.refunded = Some(after);
        lot.claw_requested = claw.target;
        if !claw.from_pending.is_zero() {
            lot.remaining = Points::new(lot.remaining.value() - claw.from_pending.value());
            self.balances.pending =
                Points::new(self.balances.pending.value() - claw.from_pending.value());
            self.draws.push(Draw { lot: id, points: claw.from_pending });
        }
        if !claw.own_available.is_zero() {
            let k = lot.spend_key();
            lot.remaining = Points::new(lot.remaining.value() - claw.own_available.value());
            if lot.remaining.is_zero() {
                self.spendable.remove(&k);
            }
            self.balances.available =
                Points::new(self.balances.available.value() - claw.own_available.value());
            self.draws.push(Draw { lot: id, points: claw.own_available });
        }
        self.take_available(claw.others);
    }
}

/// The order's refunded amount after `req`, checked against the order total (also
/// returned).
fn refunded_after(lot: &Lot, req: &RefundRequest) -> Result<(Money, Money)> {
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
    Ok((after, total))
}

/// A refund's clawback, planned before the account changes.
struct Claw {
    /// The lot's clawback target after this refund (what all its refunds claw together).
    target: Points,
    /// What this refund claws.
    requested: Points,
    from_pending: Points,
    own_available: Points,
    /// From the member's other available lots.
    others: Points,
    debt: Points,
    forgiven: Points,
}

/// `points x part / whole`, rounded with `mode`, computed exactly in 256-bit integers.
///
/// `part` and `whole` are positive with `part <= whole` (refunds never exceed the order
/// total), so the quotient is at most `points`. With `part = a / 10^sa` and
/// `whole = w / 10^sw` (96-bit mantissas, scales up to 28), the share is
/// `a x 10^sw x points / (w x 10^sa)`: a numerator below 2^96 x 2^64 x 10^28 < 2^254 and a
/// denominator below 2^190, so four 64-bit limbs hold both.
pub(super) fn share_of_points(
    part: Decimal,
    whole: Decimal,
    points: u64,
    mode: Rounding,
) -> Result<u64> {
    if part.is_sign_negative() || whole <= Decimal::ZERO || part > whole {
        return Err(Error::invalid("refunded amount", part, "must be within the order total"));
    }
    let mut num = U256::from_u128(part.mantissa().unsigned_abs());
    num.mul_small(points);
    let mut den = U256::from_u128(whole.mantissa().unsigned_abs());
    for _ in 0..whole.scale() {
        num.mul_small(10);
    }
    for _ in 0..part.scale() {
        den.mul_small(10);
    }
    let (q, r) = num.div_rem(&den);
    // q <= points, since part <= whole.
    let q = u64::try_from(q.low_u128()).map_err(|_| Error::overflow("clawback"))?;
    let up = if r.is_zero() {
        false
    } else {
        let mut twice = r;
        twice.mul_small(2);
        let half = twice.cmp(&den);
        match mode {
            Rounding::Floor | Rounding::TowardZero => false,
            Rounding::Ceiling | Rounding::AwayFromZero => true,
            Rounding::HalfUp => half.is_ge(),
            Rounding::HalfDown => half.is_gt(),
            Rounding::HalfEven => half.is_gt() || (half.is_eq() && q % 2 == 1),
        }
    };
    q.checked_add(u64::from(up)).ok_or_else(|| Error::overflow("clawback"))
}

/// An unsigned 256-bit integer as four little-endian 64-bit limbs: just what the exact
/// refund share needs (multiplying by a word, comparing, long division).
#[derive(Clone, Copy, PartialEq, Eq)]
struct U256([u64; 4]);

impl U256 {
    fn from_u128(x: u128) -> U256 {
        U256([x as u64, (x >> 64) as u64, 0, 0])
    }

    fn low_u128(&self) -> u128 {
        u128::from(self.0[0]) | (u128::from(self.0[1]) << 64)
    }

    fn is_zero(&self) -> bool {
        self.0 == [0; 4]
    }

    /// `self *= m`; the callers' bounds keep the product below 2^256.
    fn mul_small(&mut self, m: u64) {
        let mut carry = 0u128;
        for limb in &mut self.0 {
            let x = u128::from(*limb) * u128::from(m) + carry;
            *limb = x as u64;
            carry = x >> 64;
        }
    }

    fn bit(&self, i: usize) -> bool {
        (self.0[i / 64] >> (i % 64)) & 1 == 1
    }

    fn shl1_with(&mut self, bit: bool) {
        let mut carry = u64::from(bit);
        for limb in &mut self.0 {
            let next = *limb >> 63;
            *limb = (*limb << 1) | carry;
            carry = next;
        }
    }

    fn sub_assign(&mut self, other: &U256) {
        let mut borrow = false;
        for (a, b) in self.0.iter_mut().zip(other.0) {
            let (x, o1) = a.overflowing_sub(b);
            let (y, o2) = x.overflowing_sub(u64::from(borrow));
            *a = y;
            borrow = o1 || o2;
        }
    }

    /// Binary long division (256 steps: refunds are rare, exactness is what matters).
    /// `den` is non-zero and below 2^255, so the shifted remainder never overflows.
    fn div_rem(&self, den: &U256) -> (U256, U256) {
        let (mut q, mut r) = (U256([0; 4]), U256([0; 4]));
        for i in (0..256).rev() {
            r.shl1_with(self.bit(i));
            let set = r.cmp(den).is_ge();
            if set {
                r.sub_assign(den);
            }
            q.shl1_with(set);
        }
        (q, r)
    }
}

impl Ord for U256 {
    fn cmp(&self, other: &U256) -> std::cmp::Ordering {
        self.0.iter().rev().cmp(other.0.iter().rev())
    }
}

impl PartialOrd for U256 {
    fn partial_cmp(&self, other: &U256) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn exact_shares_round_once() {
        let f = |part: &str, whole: &str, pts: u64, mode| {
            share_of_points(dec(part), dec(whole), pts, mode).unwrap()
        };
        assert_eq!(f("1.00", "3", 3, Rounding::Floor), 1);
        assert_eq!(f("1", "3.00", 2, Rounding::Floor), 0);
        assert_eq!(f("1", "3.00", 2, Rounding::HalfUp), 1); // 0.667
        assert_eq!(f("1", "4", 2, Rounding::HalfUp), 1); // 0.5
        assert_eq!(f("1", "4", 2, Rounding::HalfDown), 0);
        assert_eq!(f("1", "4", 2, Rounding::HalfEven), 0);
        assert_eq!(f("3", "4", 2, Rounding::HalfEven), 2); // 1.5
        assert_eq!(f("1", "3", 1, Rounding::Ceiling), 1);
        assert_eq!(f("7", "7", u64::MAX, Rounding::Floor), u64::MAX);
        // Issue 17 item 4: a third of a 3e18 order on 3e18 points is exactly 1e18; the
        // Decimal share 0.3333...3 x 3e18 gave 999999999999999999.
        let third = f(
            "1000000000000000000",
            "3000000000000000000.00",
            3_000_000_000_000_000_000,
            Rounding::Floor,
        );
        assert_eq!(third, 1_000_000_000_000_000_000);
        // Largest mantissas and scales.
        let max = Decimal::MAX;
        assert_eq!(share_of_points(max, max, u64::MAX, Rounding::Floor).unwrap(), u64::MAX);
        let tiny = Decimal::new(1, 28);
        assert_eq!(share_of_points(tiny, max, u64::MAX, Rounding::Ceiling).unwrap(), 1);
        assert!(share_of_points(dec("2"), dec("1"), 5, Rounding::Floor).is_err());
    }
}
