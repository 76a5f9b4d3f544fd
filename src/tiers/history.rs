//! What a member did: the qualifying events a ladder is evaluated from.

use chrono::NaiveDateTime;
use rust_decimal::Decimal;

use super::ladder::Metric;
use crate::error::{Error, Result};

/// Whether a refund voids the whole order (it then also removes the order from the order
/// count) or only part of it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum RefundScope {
    /// Part of the order came back.
    #[default]
    Partial,
    /// The whole order came back.
    WholeOrder,
}

/// One thing a member did that moves a qualifying metric.
///
/// Amounts are in the program currency (convert with
/// [`ExchangeRates`](crate::ExchangeRates) first); points are whole points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Activity {
    /// An order: adds its amount to spend and one to the order count.
    Order {
        /// The qualifying amount of the order (not negative).
        amount: Decimal,
    },
    /// A refund: takes its amount off spend (and one order off the count for a whole-order
    /// refund), at the time of the refund.
    Refund {
        /// The refunded amount (not negative).
        amount: Decimal,
        /// Whether the whole order came back.
        scope: RefundScope,
    },
    /// Points earned (not points spent: spending never moves a tier).
    PointsEarned {
        /// Points (not negative).
        points: i64,
    },
    /// Earned points taken back (a clawback after a return).
    PointsReversed {
        /// Points (not negative).
        points: i64,
    },
}

/// A timestamped [`Activity`].
///
/// Timestamps are civil times in the program's time zone (convert a `DateTime<Tz>` with
/// `naive_local()`): calendar periods start at local midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct QualifyingEvent {
    /// When it happened.
    pub at: NaiveDateTime,
    /// What happened.
    pub activity: Activity,
}

impl QualifyingEvent {
    /// An order.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when `amount` is negative.
    pub fn order(at: NaiveDateTime, amount: Decimal) -> Result<QualifyingEvent> {
        let e = QualifyingEvent { at, activity: Activity::Order { amount } };
        e.check().map_err(|(field, value, reason)| Error::invalid(field, value, reason))?;
        Ok(e)
    }

    /// A refund.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when `amount` is negative.
    pub fn refund(
        at: NaiveDateTime,
        amount: Decimal,
        scope: RefundScope,
    ) -> Result<QualifyingEvent> {
        let e = QualifyingEvent { at, activity: Activity::Refund { amount, scope } };
        e.check().map_err(|(field, value, reason)| Error::invalid(field, value, reason))?;
        Ok(e)
    }

    /// Points earned.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when `points` is negative.
    pub fn points_earned(at: NaiveDateTime, points: i64) -> Result<QualifyingEvent> {
        let e = QualifyingEvent { at, activity: Activity::PointsEarned { points } };
        e.check().map_err(|(field, value, reason)| Error::invalid(field, value, reason))?;
        Ok(e)
    }

    /// Earned points reversed.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when `points` is negative.
    pub fn points_reversed(at: NaiveDateTime, points: i64) -> Result<QualifyingEvent> {
        let e = QualifyingEvent { at, activity: Activity::PointsReversed { points } };
        e.check().map_err(|(field, value, reason)| Error::invalid(field, value, reason))?;
        Ok(e)
    }

    /// The field, value and reason of what is wrong, if anything.
    pub(crate) fn check(&self) -> core::result::Result<(), (&'static str, String, &'static str)> {
        const NEG: &str = "must not be negative";
        match self.activity {
            Activity::Order { amount } | Activity::Refund { amount, .. }
                if amount.is_sign_negative() && !amount.is_zero() =>
            {
                Err(("amount", amount.to_string(), NEG))
            }
            Activity::PointsEarned { points } | Activity::PointsReversed { points }
                if points < 0 =>
            {
                Err(("points", points.to_string(), NEG))
            }
            _ => Ok(()),
        }
    }

    /// What the event adds to a metric (negative for refunds and reversals).
    pub(crate) fn contribution(&self, metric: Metric) -> Decimal {
        match (metric, self.activity) {
            (Metric::Spend, Activity::Order { amount }) => amount,
            (Metric::Spend, Activity::Refund { amount, .. }) => -amount,
            (Metric::OrderCount, Activity::Order { .. }) => Decimal::ONE,
            (Metric::OrderCount, Activity::Refund { scope: RefundScope::WholeOrder, .. }) => {
                Decimal::NEGATIVE_ONE
            }
            (Metric::PointsEarned, Activity::PointsEarned { points }) => Decimal::from(points),
            (Metric::PointsEarned, Activity::PointsReversed { points }) => -Decimal::from(points),
            _ => Decimal::ZERO,
        }
    }
}

/// A [`QualifyingEvent`] with the instant it became known, for evaluations "as known at" a
/// time ([`Program::evaluate_as_known`](super::Program::evaluate_as_known)).
///
/// Most events are known when they happen (`known_at == event.at`). A refund of an order
/// from an earlier period is known only when it is made, yet counts in the order's period:
/// record it with `event.at` at the order (so it lowers that period's figure) and `known_at`
/// at the refund (so no evaluation dated before the refund sees it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Recorded {
    /// When the host learnt of the event (never before `event.at`).
    pub known_at: NaiveDateTime,
    /// The event, dated where it counts.
    pub event: QualifyingEvent,
}

impl Recorded {
    /// An event known when it happened.
    #[must_use]
    pub fn now(event: QualifyingEvent) -> Recorded {
        Recorded { known_at: event.at, event }
    }

    /// An event that counts at `event.at` but was learnt of at `known_at` (a refund of an
    /// earlier period's order).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when `known_at` is before
    /// `event.at`.
    pub fn late(event: QualifyingEvent, known_at: NaiveDateTime) -> Result<Recorded> {
        if known_at < event.at {
            return Err(Error::invalid("known at", known_at, "before the event it records"));
        }
        Ok(Recorded { known_at, event })
    }
}
