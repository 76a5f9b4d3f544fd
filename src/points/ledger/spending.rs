//! Spending operations: direct redemption, and checkout reservations (reserve, commit,
//! release).

use chrono::NaiveDate;

use super::{broken, not_found, Account};
use crate::error::Result;
use crate::money::Money;
use crate::points::entry::{EntryKind, RedeemOutcome, RedeemRequest, ReleaseOutcome};
use crate::points::lot::{Draw, LotState, Reservation, ReservationState};
use crate::points::program::Program;
use crate::points::{insufficient, OpKey, Points, ReservationId};

/// The two ways to spend points, which share replay and validation.
#[derive(Clone, Copy, PartialEq)]
enum Spend {
    Redeem,
    Reserve,
}

impl Account {
    /// Puts drawn points back into their lot: as expired when the lot is past its last
    /// valid day at `now` (the points left the lot when drawn, so remaining + expired stays
    /// at most its points), spendable otherwise (a lot whose remainder expired by inactivity
    /// is spendable again). Whether they came back spendable; the caller counts them in the
    /// balances and totals, and has checked the room in `spendable` beforehand.
    pub(super) fn put_back(&mut self, d: &Draw, now: NaiveDate) -> bool {
        let lot = &mut self.lots[d.lot.index()];
        if lot.valid_through.is_some_and(|t| t < now) {
            if lot.remaining.is_zero() && lot.state != LotState::Expired {
                lot.state = LotState::Expired;
            }
            lot.expired = Points::new(lot.expired.value() + d.points.value());
            return false;
        }
        let was_empty = lot.remaining.is_zero();
        lot.state = LotState::Active;
        lot.remaining = Points::new(lot.remaining.value() + d.points.value());
        let k = lot.spend_key();
        if was_empty {
            self.spendable.insert(k);
        }
        true
    }

    pub(super) fn check_spend(&self, program: &Program, req: &RedeemRequest) -> Result<Money> {
        let value = program.0.redemption.validate(req.points, req.order_total)?;
        if req.points > self.balances.available {
            return Err(insufficient(req.points, self.balances.available));
        }
        Ok(value)
    }

    /// A redemption or a reservation: the replay of its key, then (at `now`) the checks
    /// both share, then `take` with the points' money value.
    fn spend(
        &mut self,
        program: &Program,
        key: OpKey,
        request: &RedeemRequest,
        now: NaiveDate,
        how: Spend,
        take: impl FnOnce(&mut Account, Money) -> Result<RedeemOutcome>,
    ) -> Result<RedeemOutcome> {
        if let Some(r) = self.replay(key, |k| match (k, how) {
            (EntryKind::Redeem { request: r, outcome }, Spend::Redeem)
            | (EntryKind::Reserve { request: r, outcome }, Spend::Reserve)
                if r == request =>
            {
                Some(*outcome)
            }
            _ => None,
        }) {
            return r;
        }
        self.run(program, now, |a| {
            let value = a.check_spend(program, request)?;
            a.room(0, a.spendable.len())?;
            take(a, value)
        })
    }

    /// Redeems points at once (reserve and commit in one step), soonest-expiring first.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::IdempotencyConflict`](crate::ErrorKind::IdempotencyConflict); the errors of [`RedemptionRules::validate`](crate::points::RedemptionRules::validate);
    /// [`ErrorKind::Insufficient`](crate::ErrorKind::Insufficient) above the spendable balance.
    pub fn redeem(
        &mut self,
        program: &Program,
        key: OpKey,
        request: &RedeemRequest,
        now: NaiveDate,
    ) -> Result<RedeemOutcome> {
        self.spend(program, key, request, now, Spend::Redeem, |a, value| {
            let redeemed = a.totals.redeemed.checked_add(request.points)?;
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
        self.spend(program, key, request, now, Spend::Reserve, |a, value| {
            let reserved = a.balances.reserved.checked_add(request.points)?;
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

    pub(super) fn held(&self, id: ReservationId) -> Result<&Reservation> {
        let r = self
            .reservations
            .get(id.value() as usize)
            .ok_or_else(|| not_found("reservation", id.value()))?;
        if r.state != ReservationState::Held {
            return Err(broken(format!("{id} is already {:?}", r.state).to_lowercase()));
        }
        Ok(r)
    }

    /// Redeems a reservation (terminal).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::IdempotencyConflict`](crate::ErrorKind::IdempotencyConflict); [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) for an unknown
    /// reservation; [`ErrorKind::InvalidState`](crate::ErrorKind::InvalidState) when it was already committed or released.
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
    /// expiry; points whose lot passed its last valid day meanwhile expire now).
    ///
    /// Reserved points are never idle: an [`Expiry::inactivity`](super::super::Expiry::inactivity)
    /// lapse while the checkout held them expires only the spendable remainder, and the
    /// release is activity, so every returned point is spendable again (a lot whose
    /// remainder expired by inactivity becomes active again).
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
                if lot.valid_through.is_some_and(|t| t < now) {
                    late = late.checked_add(d.points)?;
                }
            }
            let expired = a.totals.expired.checked_add(late)?;
            a.room(0, a.spendable.len())?;
            for d in &draws {
                // Only a lot's own last valid day expires reserved points. Reserved points
                // are not idle (the checkout holds them), so an inactivity lapse while they
                // were held does not touch them, whatever happened to the lot's remainder;
                // and the release is activity, so points back in such a lot are fresh.
                if a.put_back(d, now) {
                    a.balances.available =
                        Points::new(a.balances.available.value() + d.points.value());
                }
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
}
