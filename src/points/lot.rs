//! Lots (where points are held), draws (which lots a debit took from) and reservations.

use chrono::{Datelike, NaiveDate};

use super::{LotId, OpKey, Points, ReservationId};
use crate::money::Money;

/// Where a lot's points came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum LotSource {
    /// An earn (an order or an action).
    Earn,
    /// A manual credit.
    Adjustment,
    /// Points received from another member.
    Transfer,
}

/// The life-cycle state of a lot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum LotState {
    /// Not yet spendable: until a date (`Some`) or until activated (`None`).
    Pending(Option<NaiveDate>),
    /// Spendable.
    Active,
    /// Pending points that were cancelled.
    Cancelled,
    /// Past its validity: the remainder was expired.
    Expired,
}

/// Points credited together, with their dates and what is left of them.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Lot {
    pub(crate) id: LotId,
    pub(crate) source: LotSource,
    pub(crate) key: Option<OpKey>,
    pub(crate) earned_on: NaiveDate,
    pub(crate) points: Points,
    pub(crate) remaining: Points,
    pub(crate) state: LotState,
    pub(crate) valid_through: Option<NaiveDate>,
    pub(crate) order_total: Option<Money>,
    pub(crate) refunded: Option<Money>,
    pub(crate) claw_requested: Points,
    /// Points of this lot that expired (at its date, by inactivity, or on release of a
    /// reservation after its date): a refund does not chase them.
    pub(crate) expired: Points,
}

impl Lot {
    /// The lot's id.
    #[must_use]
    pub fn id(&self) -> LotId {
        self.id
    }

    /// Where its points came from.
    #[must_use]
    pub fn source(&self) -> LotSource {
        self.source
    }

    /// The key of the operation that created it (none for lots split off a transfer beyond
    /// the first).
    #[must_use]
    pub fn key(&self) -> Option<OpKey> {
        self.key
    }

    /// When the points were credited.
    #[must_use]
    pub fn earned_on(&self) -> NaiveDate {
        self.earned_on
    }

    /// The points credited.
    #[must_use]
    pub fn points(&self) -> Points {
        self.points
    }

    /// The points still held (pending or spendable).
    #[must_use]
    pub fn remaining(&self) -> Points {
        self.remaining
    }

    /// Its state.
    #[must_use]
    pub fn state(&self) -> LotState {
        self.state
    }

    /// The last day its points are valid (`None`: no expiry of its own, or not yet active).
    #[must_use]
    pub fn valid_through(&self) -> Option<NaiveDate> {
        self.valid_through
    }

    /// The order total it was earned on (the basis for proportional clawback).
    #[must_use]
    pub fn order_total(&self) -> Option<Money> {
        self.order_total
    }

    /// Its points that expired unused.
    #[must_use]
    pub fn expired(&self) -> Points {
        self.expired
    }

    /// The order amount refunded so far.
    #[must_use]
    pub fn refunded(&self) -> Option<Money> {
        self.refunded
    }

    /// The position in spend order: soonest expiry first, non-expiring last, then earn date,
    /// then id.
    pub(crate) fn spend_key(&self) -> SpendKey {
        let through = self.valid_through.map_or(u32::MAX, day_index);
        SpendKey(
            (u128::from(through) << 64)
                | (u128::from(day_index(self.earned_on)) << 32)
                | u128::from(self.id.value()),
        )
    }
}

/// A date as an order-preserving `u32` (days from the common era, shifted to be unsigned).
fn day_index(d: NaiveDate) -> u32 {
    // The shift maps i32's range onto u32's, preserving order; it cannot fail.
    (i64::from(d.num_days_from_ce()) - i64::from(i32::MIN)) as u32
}

/// A lot's place in spend order packed into one integer: last valid day (no expiry sorts
/// last: chrono's largest date is far below `u32::MAX` in this encoding), earn date, lot id.
/// One integer comparison per step keeps the spend index cheap to walk and to insert into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct SpendKey(u128);

impl SpendKey {
    #[cfg(test)]
    pub(crate) fn from_raw(raw: u128) -> SpendKey {
        SpendKey(raw)
    }

    /// The lot.
    pub(crate) fn lot(self) -> LotId {
        LotId::new(self.0 as u32)
    }

    /// Whether the lot's last valid day is before `date`.
    pub(crate) fn expires_before(self, date: NaiveDate) -> bool {
        ((self.0 >> 64) as u32) < day_index(date)
    }
}

/// Points a debit took from one lot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Draw {
    /// The lot.
    pub lot: LotId,
    /// The points taken.
    pub points: Points,
}

/// The state of a checkout reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ReservationState {
    /// Points are held.
    Held,
    /// Redeemed (terminal).
    Committed,
    /// Returned to their lots (terminal).
    Released,
}

/// Points held for a checkout: taken from lots in spend order, redeemed on commit, put back
/// where they came from on release.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Reservation {
    pub(crate) id: ReservationId,
    pub(crate) points: Points,
    pub(crate) value: Money,
    pub(crate) draws_start: u32,
    pub(crate) draws_len: u32,
    pub(crate) state: ReservationState,
}

impl Reservation {
    /// Its id.
    #[must_use]
    pub fn id(&self) -> ReservationId {
        self.id
    }

    /// The points held.
    #[must_use]
    pub fn points(&self) -> Points {
        self.points
    }

    /// The discount they are worth.
    #[must_use]
    pub fn value(&self) -> Money {
        self.value
    }

    /// Its state.
    #[must_use]
    pub fn state(&self) -> ReservationState {
        self.state
    }
}
