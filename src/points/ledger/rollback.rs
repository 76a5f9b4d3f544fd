//! Rollback of a redemption whose order was refunded: the points spent on it go back to
//! the lots they were drawn from.

use chrono::NaiveDate;

use super::refund::share_of_points;
use super::{broken, not_found, Account};
use crate::error::{Error, Result};
use crate::money::{Money, Rounding};
use crate::points::entry::{EntryKind, RollbackOutcome, RollbackRequest};
use crate::points::lot::Draw;
use crate::points::program::Program;
use crate::points::{OpKey, Points};

/// A redemption as a rollback sees it.
pub(super) struct Redeemed {
    /// The entry that redeemed the points (a redeem, or a reservation's commit).
    pub(super) index: usize,
    /// The earliest entry whose draws it needs (the reservation's, for a commit).
    pub(super) anchor: usize,
    pub(super) points: Points,
    pub(super) order_total: Money,
    /// The draws of the redemption: (start, length) in the draw array.
    pub(super) draws: (usize, usize),
}

#[cold]
#[inline(never)]
fn folded(key: OpKey) -> Error {
    broken(format!(
        "redemption {key} was folded by compaction: the lots it drew from are no longer \
         recorded"
    ))
}

/// The part of a redemption's draws that a rollback returns when the points returned so
/// far go from `from` to `to`: the draws are unwound from the last one taken back to the
/// first, so after rollbacks of `n` points the lots hold what they would had the
/// redemption taken `n` fewer points.
pub(super) fn unwind(draws: &[Draw], from: u64, to: u64) -> Vec<Draw> {
    let mut out = Vec::new();
    let mut at = 0u64;
    for d in draws.iter().rev() {
        let end = at.saturating_add(d.points.value());
        let (lo, hi) = (at.max(from), end.min(to));
        if hi > lo {
            out.push(Draw { lot: d.lot, points: Points::new(hi - lo) });
        }
        at = end;
    }
    out
}

/// What a rollback of `refunded` adds up to, after rollbacks that refunded
/// `before` and returned `returned` points of a redemption of `points` on an order of
/// `total`: the refunded amount so far and the points returned so far (rounded down, so
/// the rollbacks of an order never return more than its share, and a full refund returns
/// exactly what was redeemed).
pub(super) fn cumulative(
    total: Money,
    points: Points,
    before: Money,
    refunded: Money,
) -> Result<(Money, u64)> {
    refunded.ensure_same_currency(total.currency())?;
    if !refunded.is_positive() {
        return Err(Error::invalid("refunded amount", refunded, "must be positive"));
    }
    let after = before.checked_add(refunded)?;
    if after.amount() > total.amount() {
        return Err(Error::invalid(
            "refunded amount",
            refunded,
            format!("rollbacks would exceed the order total {total}"),
        ));
    }
    let target = share_of_points(after.amount(), total.amount(), points.value(), Rounding::Floor)?;
    Ok((after, target))
}

impl Account {
    /// Puts back the points a redemption took, in proportion to the refunded share of its
    /// order, into the lots they came from, with those lots' own last valid day (Capillary's
    /// "reverse"; craft-pointz: value goes back where it came from instead of new points
    /// with a new date). A refund of spent points is a separate, once-only rollback, apart
    /// from the clawback of the points the order earned ([`Account::refund`]): it never
    /// takes anything.
    ///
    /// - `request.redemption` is the key of an [`Account::redeem`], or of the
    ///   [`Account::commit`] of a reservation (the order total is the one its request gave).
    /// - Partial rollbacks add up: the points returned so far are
    ///   `floor(redeemed x refunded so far / order total)`, so however the refund is split,
    ///   the rollbacks never return more than was redeemed, and refunding the whole order
    ///   returns all of it. Refunds beyond the order total are refused.
    /// - The draws are unwound from the last taken back to the first: a partial rollback
    ///   leaves the lots as a smaller redemption would have (the latest-expiring points
    ///   come back first).
    /// - Points whose lot passed its last valid day come back expired (Oracle Siebel):
    ///   they count in [`Totals::expired`](crate::points::Totals::expired) as well as in
    ///   [`Totals::rolled_back`](crate::points::Totals::rolled_back). A rollback is not
    ///   activity: under [`Expiry::inactivity`](crate::points::Expiry::inactivity) after a
    ///   lapse, what comes back expires at once (one expiry entry after the rollback's).
    /// - Returned points first repay debt.
    ///
    /// A redemption folded by [`Account::compact`] can no longer be rolled back (the lots
    /// it drew from are not recorded): compact after the refund window.
    ///
    /// Cost: the entries since the redemption.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::IdempotencyConflict`](crate::ErrorKind::IdempotencyConflict);
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when the key is not a
    /// redemption's; [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a
    /// non-positive refund or refunds beyond the order total;
    /// [`ErrorKind::CurrencyMismatch`](crate::ErrorKind::CurrencyMismatch);
    /// [`ErrorKind::InvalidState`](crate::ErrorKind::InvalidState) for a redemption folded
    /// by compaction; [`ErrorKind::Overflow`](crate::ErrorKind::Overflow).
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
    /// let program = Program::new(rules, RedemptionRules::new(Points::new(100), usd(10))?)?
    ///     .expiry(Expiry::rolling(Span::Days(30))?);
    /// let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
    /// let mut account = Account::new(MemberId::new(7), day(1, 1));
    /// account.earn(&program, OpKey::new(1), &EarnRequest::new(Points::new(300)), day(1, 1))?;
    /// let order = RedeemRequest::new(Points::new(200), usd(90));
    /// account.redeem(&program, OpKey::new(2), &order, day(1, 5))?;
    ///
    /// // A third of the order comes back: a third of the points, valid through 31 January.
    /// let third = RollbackRequest::new(OpKey::new(2), usd(30));
    /// let back = account.rollback(&program, OpKey::new(3), &third, day(1, 20))?;
    /// assert_eq!(back.points, Points::new(66)); // floor(200 x 30 / 90)
    /// assert_eq!(account.balances().available, Points::new(166));
    /// assert_eq!(account.lots()[0].valid_through(), Some(day(1, 31)));
    ///
    /// // The rest, after 31 January: it comes back expired.
    /// let rest = RollbackRequest::new(OpKey::new(2), usd(60));
    /// let back = account.rollback(&program, OpKey::new(4), &rest, day(2, 10))?;
    /// assert_eq!((back.points, back.expired, back.rolled_back), (Points::new(134), Points::new(134), Points::new(200)));
    /// assert_eq!(account.totals().expired.value(), 166 + 134);
    /// account.check_with(&program)?;
    /// # Ok::<(), loyalty::Error>(())
    /// ```
    pub fn rollback(
        &mut self,
        program: &Program,
        key: OpKey,
        request: &RollbackRequest,
        now: NaiveDate,
    ) -> Result<RollbackOutcome> {
        if let Some(r) = self.replay(key, |k| match k {
            EntryKind::Rollback { request: r, outcome } if r == request => Some(*outcome),
            _ => None,
        }) {
            return r;
        }
        self.run(program, now, |a| a.rollback_now(program, key, request, now))
    }

    fn rollback_now(
        &mut self,
        program: &Program,
        key: OpKey,
        req: &RollbackRequest,
        now: NaiveDate,
    ) -> Result<RollbackOutcome> {
        let r = self.redeemed(req.redemption)?;
        let (before, returned) = self.rolled_back_so_far(req.redemption, &r);
        let (after, target) = cumulative(r.order_total, r.points, before, req.refunded)?;
        let (s, n) = r.draws;
        let draws = self.draws.get(s..s + n).ok_or_else(|| folded(req.redemption))?;
        let back = unwind(draws, returned.value(), target);
        // Validate everything before the first mutation.
        let (mut late, mut live) = (Points::ZERO, Points::ZERO);
        for d in &back {
            if self.lot(d.lot)?.valid_through.is_some_and(|t| t < now) {
                late = late.checked_add(d.points)?;
            } else {
                live = live.checked_add(d.points)?;
            }
        }
        let points = late.checked_add(live)?;
        let rolled_back = self.totals.rolled_back.checked_add(points)?;
        let expired = self.totals.expired.checked_add(late)?;
        let available = self.balances.available.checked_add(live)?;
        // After a lapsed inactivity window what comes back expires at once: that total
        // must fit as well.
        expired.checked_add(available)?;
        self.room(0, 2 * self.spendable.len() + back.len())?;
        for d in &back {
            // Counted above: `late` and `live` split the draws by the same date test.
            self.put_back(d, now);
        }
        self.balances.available = available;
        self.totals.rolled_back = rolled_back;
        self.totals.expired = expired;
        let start = self.draws.len();
        let debt_repaid = self.settle_debt();
        let outcome = RollbackOutcome {
            points,
            expired: late,
            debt_repaid,
            refunded: after,
            rolled_back: Points::new(target),
        };
        self.push_entry(Some(key), now, EntryKind::Rollback { request: *req, outcome }, start);
        // Not activity: after a lapse, time expires the returned points now.
        if self.due(program, now) {
            self.advance(program, now)?;
        }
        Ok(outcome)
    }

    /// The redemption recorded under `key`.
    pub(super) fn redeemed(&self, key: OpKey) -> Result<Redeemed> {
        let Some(index) = self.keys.get(&key, &self.entries) else {
            if self.forgotten(key).is_some() {
                return Err(folded(key));
            }
            return Err(not_found("redemption", key));
        };
        let index = index as usize;
        let e = self.entries.get(index).ok_or_else(|| not_found("redemption", key))?;
        let kept = index >= self.retained();
        match &e.kind {
            EntryKind::Redeem { request, outcome } if kept => Ok(Redeemed {
                index,
                anchor: index,
                points: outcome.points,
                order_total: request.order_total,
                draws: (e.draws_start as usize, e.draws_len as usize),
            }),
            EntryKind::Commit { reservation, points } if kept => {
                let folded_before = self.checkpoint.as_ref().map_or(0, |c| c.reservations.len());
                let r = self
                    .reservations
                    .get(reservation.value() as usize)
                    .filter(|_| (reservation.value() as usize) >= folded_before)
                    .ok_or_else(|| folded(key))?;
                let reserved = self.entries[..index].iter().enumerate().rev().find_map(|(j, x)| {
                    match &x.kind {
                        EntryKind::Reserve { request, outcome }
                            if outcome.reservation == Some(*reservation) =>
                        {
                            Some((j, request.order_total))
                        }
                        _ => None,
                    }
                });
                let (anchor, order_total) =
                    reserved.filter(|(j, _)| *j >= self.retained()).ok_or_else(|| folded(key))?;
                Ok(Redeemed {
                    index,
                    anchor,
                    points: *points,
                    order_total,
                    draws: (r.draws_start as usize, r.draws_len as usize),
                })
            }
            EntryKind::Redeem { .. } | EntryKind::Commit { .. } => Err(folded(key)),
            _ => Err(not_found("redemption", key)),
        }
    }

    /// The order amount refunded and the points returned by the rollbacks of a
    /// redemption so far (the newest rollback records both).
    fn rolled_back_so_far(&self, key: OpKey, r: &Redeemed) -> (Money, Points) {
        self.entries[r.index + 1..]
            .iter()
            .rev()
            .find_map(|e| match &e.kind {
                EntryKind::Rollback { request, outcome } if request.redemption == key => {
                    Some((outcome.refunded, outcome.rolled_back))
                }
                _ => None,
            })
            .unwrap_or((Money::zero(r.order_total.currency()), Points::ZERO))
    }
}
