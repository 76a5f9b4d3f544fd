//! Requests, outcomes and ledger entries: the records an account keeps.

use chrono::NaiveDate;

use super::rules::EarnQuote;
use super::{LotId, MemberId, OpKey, Points, ReservationId, TotalPoints};
use crate::error::Result;
use crate::money::Money;

/// When earned points become spendable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Pending {
    /// At once.
    #[default]
    Immediate,
    /// On this date (a return window): activated by the first operation on or after it.
    Until(NaiveDate),
    /// When the host calls [`Account::activate`](super::Account::activate).
    UntilActivated,
}

/// An earn: points, the order they were earned on, and when they become spendable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct EarnRequest {
    pub(crate) points: Points,
    pub(crate) requested: Points,
    pub(crate) order_total: Option<Money>,
    pub(crate) pending: Pending,
}

impl EarnRequest {
    /// An immediate earn of `points`, not tied to an order (not refundable).
    #[must_use]
    pub fn new(points: Points) -> EarnRequest {
        EarnRequest { points, requested: points, order_total: None, pending: Pending::Immediate }
    }

    /// The points a quote awarded, recording what it requested before caps (Talon.One's
    /// `desiredValue` vs `value`), so the ledger shows when a cap trimmed an award.
    #[must_use]
    pub fn from_quote(quote: &EarnQuote) -> EarnRequest {
        EarnRequest { requested: quote.requested, ..EarnRequest::new(quote.awarded) }
    }

    /// The order total, in the currency refunds will be given in: refunds claw back in
    /// proportion to it.
    #[must_use]
    pub fn for_order(mut self, total: Money) -> EarnRequest {
        self.order_total = Some(total);
        self
    }

    /// When the points become spendable.
    #[must_use]
    pub fn pending(mut self, pending: Pending) -> EarnRequest {
        self.pending = pending;
        self
    }

    /// The points.
    #[must_use]
    pub fn points(&self) -> Points {
        self.points
    }

    /// The points requested before caps (equal to [`EarnRequest::points`] unless a cap
    /// trimmed the award).
    #[must_use]
    pub fn requested(&self) -> Points {
        self.requested
    }
}

/// The result of an earn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct EarnOutcome {
    /// The lot holding the points.
    pub lot: LotId,
    /// The points credited.
    pub points: Points,
    /// The last valid day (`None`: pending, or no expiry of its own).
    pub valid_through: Option<NaiveDate>,
    /// Points that went to repay a debt.
    pub debt_repaid: Points,
}

/// The result of an activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct ActivateOutcome {
    /// The lot.
    pub lot: LotId,
    /// The points that became spendable (before debt repayment).
    pub points: Points,
    /// The last valid day.
    pub valid_through: Option<NaiveDate>,
    /// Points that went to repay a debt.
    pub debt_repaid: Points,
}

/// A redemption: points against an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RedeemRequest {
    pub(crate) points: Points,
    pub(crate) order_total: Money,
}

impl RedeemRequest {
    /// Redeem `points` on an order of `order_total` (in the program currency; the maximum
    /// share of the order is checked against it).
    #[must_use]
    pub fn new(points: Points, order_total: Money) -> RedeemRequest {
        RedeemRequest { points, order_total }
    }
}

/// The result of a redemption or a reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct RedeemOutcome {
    /// The points taken.
    pub points: Points,
    /// The discount they are worth.
    pub value: Money,
    /// The reservation (for [`Account::reserve`](super::Account::reserve)).
    pub reservation: Option<ReservationId>,
}

/// The result of releasing a reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct ReleaseOutcome {
    /// Points returned to their lots.
    pub returned: Points,
    /// Points whose lot had expired meanwhile: they expire now.
    pub expired: Points,
    /// Points that went to repay a debt.
    pub debt_repaid: Points,
}

/// A refund of (part of) an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RefundRequest {
    pub(crate) order: OpKey,
    pub(crate) refunded: Money,
}

impl RefundRequest {
    /// `refunded` of the order earned under the key `order` (same currency as that earn's
    /// order total).
    #[must_use]
    pub fn new(order: OpKey, refunded: Money) -> RefundRequest {
        RefundRequest { order, refunded }
    }
}

/// The result of a refund clawback.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct RefundOutcome {
    /// Points this refund should remove (proportional to the refunded share of the order,
    /// from the points recorded for it, cumulative over partial refunds).
    pub requested: Points,
    /// Taken from pending points.
    pub from_pending: Points,
    /// Taken from spendable points.
    pub from_available: Points,
    /// Booked as debt.
    pub debt: Points,
    /// Not recovered under the policy (already spent).
    pub forgiven: Points,
}

/// A rollback of (part of) a redemption whose order was refunded: the points spent on
/// it come back, in proportion to the refunded share of the order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RollbackRequest {
    pub(crate) redemption: OpKey,
    pub(crate) refunded: Money,
}

impl RollbackRequest {
    /// `refunded` of the order the points were redeemed on, where `redemption` is the key
    /// of the [`Account::redeem`](super::Account::redeem) call, or of the
    /// [`Account::commit`](super::Account::commit) of a reservation (same currency as the
    /// order total of that redemption).
    #[must_use]
    pub fn new(redemption: OpKey, refunded: Money) -> RollbackRequest {
        RollbackRequest { redemption, refunded }
    }

    /// The key of the redemption rolled back.
    #[must_use]
    pub fn redemption(&self) -> OpKey {
        self.redemption
    }

    /// The order amount this rollback refunds.
    #[must_use]
    pub fn refunded(&self) -> Money {
        self.refunded
    }
}

/// The result of a rollback.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct RollbackOutcome {
    /// Points this rollback returned to the lots they were redeemed from (the expired ones
    /// included).
    pub points: Points,
    /// Of them, points whose lot had passed its last valid day: they came back expired.
    pub expired: Points,
    /// Returned points that went to repay a debt.
    pub debt_repaid: Points,
    /// The order amount refunded so far, this rollback included.
    pub refunded: Money,
    /// The redemption's points returned so far, this rollback included (never more than
    /// it redeemed).
    pub rolled_back: Points,
}

/// Direction of a manual adjustment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Direction {
    /// Points added.
    Credit,
    /// Points removed (spendable points only).
    Debit,
}

/// A manual adjustment with its reason.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Adjustment {
    pub(crate) direction: Direction,
    pub(crate) points: Points,
    pub(crate) reason: String,
}

impl Adjustment {
    /// Add points.
    #[must_use]
    pub fn credit(points: Points, reason: impl Into<String>) -> Adjustment {
        Adjustment { direction: Direction::Credit, points, reason: reason.into() }
    }

    /// Remove spendable points.
    #[must_use]
    pub fn debit(points: Points, reason: impl Into<String>) -> Adjustment {
        Adjustment { direction: Direction::Debit, points, reason: reason.into() }
    }

    /// The reason.
    #[must_use]
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// The result of a manual adjustment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct AdjustOutcome {
    /// The lot a credit created.
    pub lot: Option<LotId>,
    /// The points added or removed.
    pub points: Points,
    /// Points of a credit that went to repay a debt.
    pub debt_repaid: Points,
}

/// The result of [`Account::expire`](super::Account::expire): what time did to the account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct ExpireOutcome {
    /// Pending points that became spendable.
    pub activated: Points,
    /// Points that expired.
    pub expired: Points,
    /// Activated points that went to repay a debt.
    pub debt_repaid: Points,
}

/// The result of a [`transfer`](super::transfer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct TransferOutcome {
    /// Points moved.
    pub points: Points,
    /// Lots created for the receiver.
    pub lots: u32,
    /// Received points that went to repay the receiver's debt.
    pub debt_repaid: Points,
}

/// A lot that will have expired by a date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ExpiringLot {
    /// The lot (`None` for an inactivity expiry of the whole balance).
    pub lot: Option<LotId>,
    /// Its spendable points.
    pub points: Points,
    /// The last day they are valid.
    pub valid_through: NaiveDate,
}

/// What an entry recorded: the request and its outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum EntryKind {
    /// Points earned.
    Earn {
        /// The request.
        request: EarnRequest,
        /// The outcome.
        outcome: EarnOutcome,
    },
    /// Pending points became spendable (`order` is `None` for a scheduled activation).
    Activate {
        /// The earn's key, for a manual activation.
        order: Option<OpKey>,
        /// The outcome.
        outcome: ActivateOutcome,
    },
    /// Pending points were cancelled.
    Cancel {
        /// The earn's key.
        order: OpKey,
        /// The lot.
        lot: LotId,
        /// Points cancelled.
        points: Points,
    },
    /// Points were reserved for a checkout.
    Reserve {
        /// The request.
        request: RedeemRequest,
        /// The outcome.
        outcome: RedeemOutcome,
    },
    /// A reservation was redeemed.
    Commit {
        /// The reservation.
        reservation: ReservationId,
        /// Points redeemed.
        points: Points,
    },
    /// A reservation was released.
    Release {
        /// The reservation.
        reservation: ReservationId,
        /// The outcome.
        outcome: ReleaseOutcome,
    },
    /// Points were redeemed directly.
    Redeem {
        /// The request.
        request: RedeemRequest,
        /// The outcome.
        outcome: RedeemOutcome,
    },
    /// Points expired (by date or by inactivity).
    Expire {
        /// Points expired.
        points: Points,
    },
    /// Points of a redemption came back after its order was refunded.
    Rollback {
        /// The request.
        request: RollbackRequest,
        /// The outcome.
        outcome: RollbackOutcome,
    },
    /// A refund clawed points back.
    Refund {
        /// The request.
        request: RefundRequest,
        /// The outcome.
        outcome: RefundOutcome,
    },
    /// A manual adjustment.
    Adjust {
        /// The adjustment.
        adjustment: Adjustment,
        /// The outcome.
        outcome: AdjustOutcome,
    },
    /// Points sent to another member.
    TransferOut {
        /// The receiver.
        to: MemberId,
        /// Points sent.
        points: Points,
    },
    /// Points received from another member.
    TransferIn {
        /// The sender.
        from: MemberId,
        /// The outcome.
        outcome: TransferOutcome,
    },
}

/// One immutable record of the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Entry {
    pub(crate) key: Option<OpKey>,
    pub(crate) at: NaiveDate,
    pub(crate) kind: EntryKind,
    pub(crate) draws_start: u32,
    pub(crate) draws_len: u32,
}

impl Entry {
    /// The host's idempotency key (`None` for what time did: scheduled activations and
    /// expiries).
    #[must_use]
    pub fn key(&self) -> Option<OpKey> {
        self.key
    }

    /// The date it took effect.
    #[must_use]
    pub fn at(&self) -> NaiveDate {
        self.at
    }

    /// What it recorded.
    #[must_use]
    pub fn kind(&self) -> &EntryKind {
        &self.kind
    }
}

/// The account's balances.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Balances {
    /// Spendable points.
    pub available: Points,
    /// Points not yet spendable.
    pub pending: Points,
    /// Points held by open reservations.
    pub reserved: Points,
    /// Points owed (clawed back beyond the balance under
    /// [`ClawbackPolicy::CarryDebt`](super::ClawbackPolicy::CarryDebt)).
    pub debt: Points,
}

/// The derived total.
impl Balances {
    /// Points the member holds: available + pending + reserved.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Overflow`](crate::ErrorKind::Overflow).
    pub fn outstanding(&self) -> Result<Points> {
        self.available.checked_add(self.pending)?.checked_add(self.reserved)
    }
}

/// Lifetime flows of an account, derived from its entries.
///
/// Conservation ([`Account::check`](super::Account::check)): `earned + adjusted_in +
/// transferred_in + rolled_back = available + pending + reserved + redeemed + expired +
/// clawed_back + cancelled + adjusted_out + transferred_out - debt`. `forgiven` and `debt_repaid` are informational.
///
/// # Bounds
///
/// Balances are [`Points`] (`u64`); each total is a [`TotalPoints`] (`u128`), since a total
/// keeps growing while balances come and go: an account whose redemptions pass `u64::MAX`
/// over its life goes on working. At the widened bound the decision is the same as for
/// any overflow: an operation that would carry a total past `u128::MAX` is refused with
/// [`ErrorKind::Overflow`](crate::ErrorKind::Overflow) and changes nothing, operations that
/// do not add to that total go on working, and a total is never wrapped or saturated,
/// since [`Account::check`](super::Account::check) proves conservation with them (it sums
/// the flows without overflow, carrying past 128 bits).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Totals {
    /// Points earned (including pending points, later cancelled or not).
    pub earned: TotalPoints,
    /// Manual credits.
    pub adjusted_in: TotalPoints,
    /// Points received by transfer.
    pub transferred_in: TotalPoints,
    /// Redeemed points returned by rollbacks (those that came back expired included:
    /// they are in `expired` too). A credit: `redeemed` stays the gross figure.
    #[cfg_attr(feature = "serde", serde(default))]
    pub rolled_back: TotalPoints,
    /// Points redeemed.
    pub redeemed: TotalPoints,
    /// Points expired.
    pub expired: TotalPoints,
    /// Points clawed back by refunds, including the part booked as debt.
    pub clawed_back: TotalPoints,
    /// Pending points cancelled.
    pub cancelled: TotalPoints,
    /// Manual debits.
    pub adjusted_out: TotalPoints,
    /// Points sent by transfer.
    pub transferred_out: TotalPoints,
    /// Clawbacks not recovered under the policy.
    pub forgiven: TotalPoints,
    /// Debt repaid from later credits.
    pub debt_repaid: TotalPoints,
}

impl Totals {
    /// Credits, as a sum that cannot overflow (a carry count and the low 128 bits).
    pub(crate) fn credits(&self) -> WideSum {
        WideSum::of(&[self.earned, self.adjusted_in, self.transferred_in, self.rolled_back])
    }

    /// Debits, as a sum that cannot overflow.
    pub(crate) fn debits(&self) -> WideSum {
        WideSum::of(&[
            self.redeemed,
            self.expired,
            self.clawed_back,
            self.cancelled,
            self.adjusted_out,
            self.transferred_out,
        ])
    }
}

/// A sum of totals past 128 bits: `carries × 2^128 + low`. Conservation compares two of
/// them exactly, whatever the totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct WideSum {
    carries: u32,
    low: u128,
}

impl WideSum {
    pub(crate) fn of(totals: &[TotalPoints]) -> WideSum {
        totals.iter().fold(WideSum::default(), |s, t| s.plus(t.value()))
    }

    /// `self + x`.
    #[must_use]
    pub(crate) fn plus(self, x: u128) -> WideSum {
        let (low, carry) = self.low.overflowing_add(x);
        WideSum { carries: self.carries + u32::from(carry), low }
    }
}

impl std::fmt::Display for WideSum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.carries == 0 {
            write!(f, "{}", self.low)
        } else {
            write!(f, "{} x 2^128 + {}", self.carries, self.low)
        }
    }
}
