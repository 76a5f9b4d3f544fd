//! Points programs: earning rules and a ledger that never loses or mints a point.
//!
//! "1 point for every dollar spent; 100 points redeem for a $10 discount." This module holds
//! the pieces such a program needs:
//!
//! - [`EarnRules`] turn an [`Order`] into an [`EarnQuote`]: points per currency unit of an
//!   eligible amount (shipping, tax, discounts and the part paid with points each counted or
//!   not), SKU and category multipliers, tier and campaign [`Multiplier`](crate::Multiplier)s,
//!   per-order, first-order and birthday bonuses, caps per order and per period
//!   ([`CapMode::Reduce`] or [`CapMode::Reject`]), and one rounding at the very end. Every step
//!   of the calculation is a [`QuoteLine`]. Cross-border orders are normalised to the program
//!   currency with host-supplied [`ExchangeRates`](crate::ExchangeRates).
//! - An [`Account`] is one member's event-sourced ledger: an append-only list of [`Entry`]s,
//!   points held in [`Lot`]s, and running balances that [`Account::check`] proves against the
//!   history. Operations: earn (immediately, pending until a date or until activated),
//!   activate, cancel pending, redeem (directly, or reserve then commit or release), expire,
//!   refund clawback, rollback of a refunded redemption, manual adjustment and
//!   [`transfer`] between members.
//! - Every operation carries an [`OpKey`] from the host: an exact replay returns the original
//!   outcome and changes nothing; the same key with a different payload is
//!   [`ErrorKind::IdempotencyConflict`].
//! - [`Expiry`] policies (none, rolling days or months with optional round-up to the end of a
//!   period, fixed calendar dates, inactivity); redemption spends the soonest-expiring lot
//!   first, non-expiring lots last, then by earn date, then by lot id.
//! - [`ClawbackPolicy`] decides what a refund takes when the points were already spent:
//!   only pending points, down to zero, or a debt that later earnings repay. A refund works
//!   from the points recorded for that order, never from today's rules, and never mints:
//!   points of the order that expired unused are not chased again, and under
//!   [`ClawbackPolicy::WithinBalance`] a refund that would forgive points while a
//!   reservation is open is refused until the checkout is committed or released.
//! - Points spent on a refunded order come back through [`Account::rollback`], a separate
//!   operation from the clawback (so a refund never deducts the redeemed points a second
//!   time): in proportion to the refunded share of the order, rounded down on the
//!   cumulative amount so partial rollbacks never return more than was redeemed, into the
//!   lots they were drawn from with those lots' own last valid day; points whose lot has
//!   passed it come back expired.
//! - [`RedemptionRules`] value points as money; [`liability`] prices outstanding points net
//!   of [`Breakage`].
//!
//! The ledger records the points of an earn (awarded and requested before caps) and the
//! order total refunds are measured against; the quote's line-by-line breakdown is the
//! host's to keep with its order if it wants that audit trail.
//!
//! # Example
//!
//! ```
//! use chrono::NaiveDate;
//! use loyalty::points::{
//!     Account, EarnContext, EarnRequest, EarnRules, MemberId, OpKey, Order, OrderLine,
//!     Points, Program, RedeemRequest, RedemptionRules,
//! };
//! use loyalty::{Currency, Money};
//! use rust_decimal::Decimal;
//!
//! let usd = |cents: i64| Money::new(Decimal::new(cents, 2), Currency::USD);
//! // 1 point per dollar; 100 points are worth $10.
//! let rules = EarnRules::new(Currency::USD, Decimal::ONE)?;
//! let program = Program::new(rules, RedemptionRules::new(Points::new(100), usd(1000))?)?;
//!
//! let day = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
//! let order = Order::new(vec![OrderLine::new("sku-1", usd(12_599))]);
//! let quote = program.earn_rules().quote(&order, &EarnContext::new(day))?;
//! assert_eq!(quote.awarded, Points::new(125)); // floor(125.99)
//!
//! let mut account = Account::new(MemberId::new(7), day);
//! let earn = EarnRequest::from_quote(&quote).for_order(usd(12_599));
//! account.earn(&program, OpKey::new(1), &earn, day)?;
//! let redeemed = account.redeem(&program, OpKey::new(2), &RedeemRequest::new(Points::new(100), usd(5_000)), day)?;
//! assert_eq!(redeemed.value, usd(1000));
//! assert_eq!(account.balances().available, Points::new(25));
//! account.check()?;
//! # Ok::<(), loyalty::Error>(())
//! ```
//!
//! # Conservation
//!
//! For every account, after every operation (see [`Totals`] and [`Account::check`]):
//!
//! ```text
//! earned + adjusted in + transferred in + rolled back
//!   = available + pending + reserved
//!   + redeemed + expired + clawed back + cancelled + adjusted out + transferred out
//!   - debt
//! ```
//!
//! This is the issue's form (`earned = available + pending + reserved + redeemed + expired +
//! clawed back + transferred out - transferred in - debt`) with cancelled pending points and
//! manual adjustments written out, and rollbacks as a credit of their own (`redeemed`
//! stays the gross figure; points that came back expired are in `rolled back` and in
//! `expired`). A clawback is counted in full, including the part that became debt; later
//! credits repay debt before they become available, which moves neither side.
//!
//! Per lot, `points = remaining + expired + drawn`, where `drawn` is what debits took from
//! it (redemptions, reservations, transfers, manual debits, clawbacks, debt repayments)
//! less the points of released reservations and of rollbacks (which go back into the lot,
//! or into `expired` when its last valid day has passed); a cancelled lot's remainder
//! counts as cancelled. A rollback is verified like every other entry: its points are
//! re-derived from the redemption it names, the refunded amounts so far and that
//! redemption's draws, so a forged rollback is refused.
//! [`Account::check`] verifies the account-level sums against the history (and, per lot,
//! `remaining + expired <= points`, with the lots' expired points adding up to the
//! expired total), and re-derives from the entries each lot's points (`points =
//! remaining + expired + drawn + cancelled`), creation (source, key, date), state, refund
//! record and dates, each reservation, each outcome against its request, and the
//! account's [`Account::last_activity`] (the latest activity entry), so deserialized state
//! that breaks any of them is rejected.
//!
//! Dates: an immediate earn's lot is valid through the date its entry recorded, an
//! activated lot through the date its activation recorded; pending and cancelled lots have
//! none; no lot is valid through a day before it was credited, and no debit draws from a
//! lot past its last valid day. Manual credits and transfers record no date in their
//! entries: [`Account::check_with`] re-derives those from the program (under
//! [`TransferExpiry::KeepSource`] the sender's lot decided it, so it is bounded: from the
//! transfer day to what the program gives on that day), re-derives every recorded date
//! too, and checks that at the account's clock the program has nothing left to expire.
//!
//! # Activity
//!
//! Under [`Expiry::inactivity`] the window counts from the last earn, redemption,
//! reservation, release, activation, transfer or manual credit ([`Account::last_activity`]);
//! refunds and rollbacks are not activity.
//! A manual credit is activity: goodwill given after a lapse stays spendable for a full
//! window. Reserved points are never idle: a lapse while a checkout holds them expires only
//! the spendable remainder, and releasing them makes them spendable again.
//!
//! ```
//! use chrono::NaiveDate;
//! use loyalty::points::*;
//! use loyalty::{Currency, Money};
//! use rust_decimal::Decimal;
//!
//! let usd = Money::new(Decimal::TEN, Currency::USD);
//! let rules = EarnRules::new(Currency::USD, Decimal::ONE)?;
//! let program = Program::new(rules, RedemptionRules::new(Points::new(100), usd)?)?
//!     .expiry(Expiry::inactivity(30)?);
//! let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
//! let mut account = Account::new(MemberId::new(7), day(1, 1));
//! account.earn(&program, OpKey::new(1), &EarnRequest::new(Points::new(50)), day(1, 1))?;
//! // 35 idle days: the 50 points lapse. An agent credits 20 points of goodwill that day.
//! let goodwill = Adjustment::credit(Points::new(20), "sorry for the delay");
//! account.adjust(&program, OpKey::new(2), &goodwill, day(2, 5))?;
//! assert_eq!(account.totals().expired, Points::new(50));
//! // The credit is activity: it stays spendable for a full window, through March 7.
//! assert_eq!(account.expire(&program, day(3, 7))?.expired, Points::ZERO);
//! assert_eq!(account.expire(&program, day(3, 8))?.expired, Points::new(20));
//! # Ok::<(), loyalty::Error>(())
//! ```
//!
//! # Stored state
//!
//! `Account` and `Program` serialize with a format version (see [`crate::version`]):
//! accounts are at version 5, where idempotency keys and lifetime totals
//! ([`TotalPoints`], `u128`) are decimal strings and rollbacks may appear; versions 1 to 4
//! (keys or totals as JSON numbers, no checkpoint before 3, no rollback before 5) still
//! read. Reading runs [`Account::check`], so a
//! forged account is refused; [`Account::check_with`] also re-derives from the program
//! what redemptions were worth and the dates the program decides. A host that keeps the
//! program runs [`Account::check_with`] on what it reads.
//!
//! # Performance and history
//!
//! Earn and redeem cost does not grow with the number of lots: balances are running
//! totals; spendable lots sit in an index in spend order whose usual case (each new lot
//! sorts after the others, as with a rolling expiry) is a queue, so an earn is a push and a
//! spend takes from the front, with a B-tree only for lots that arrive out of order; pending
//! lots sit in an index by activation date; idempotency keys are 128-bit values in an index
//! that appends increasing keys to a sorted array (deciding a key is new is then one
//! comparison) and puts others (random UUIDs) in a hash table of 4-byte entry positions,
//! whose control bytes stay in cache however long the history, with a fixed, deterministic
//! hash (keys taken from clients should first go through the host's own keyed hash).
//! Time-driven work (activations, expiries) is found by looking at the fronts of those
//! indexes, without scanning lots or entries.
//!
//! The trade-off: the account keeps its full history in memory (entries are fixed-size
//! records of about 128 bytes; the lots a debit drew from go into one flat array), so
//! memory grows with the number of operations. That is what makes exact replays of any
//! earlier key and [`Account::check`] (which re-derives every total from the history)
//! possible without the host's help. A host that must bound memory archives old accounts
//! or keeps the history itself; the crate does not silently drop history, because a balance
//! computed after dropping history cannot be verified.

mod entry;
mod expiry;
mod index;
mod ledger;
mod liability;
mod lot;
mod program;
mod redeem;
mod rules;
mod total;

pub use entry::{
    ActivateOutcome, AdjustOutcome, Adjustment, Balances, Direction, EarnOutcome, EarnRequest,
    Entry, EntryKind, ExpireOutcome, ExpiringLot, Pending, RedeemOutcome, RedeemRequest,
    RefundOutcome, RefundRequest, ReleaseOutcome, RollbackOutcome, RollbackRequest, Totals,
    TransferOutcome,
};
pub use expiry::{Expiry, MonthDay, PeriodEnd, Span};
pub use ledger::{transfer, transfer_between, Account, AccountMap, Checkpoint, Compaction};
pub use liability::{estimate_breakage, liability, Breakage, Liability};
pub use lot::{Draw, Lot, LotSource, LotState, Reservation, ReservationState};
pub use program::{ClawbackPolicy, Program, TransferExpiry};
pub use redeem::RedemptionRules;
pub use rules::{
    Cap, CapMode, CapOutcome, CapPeriod, DiscountBasis, EarnContext, EarnQuote, EarnRules,
    Inclusion, Order, OrderLine, PeriodCap, QuoteLine,
};
pub use total::TotalPoints;

use std::fmt;

use crate::error::{Error, ErrorKind, Result};

/// A whole number of points (never fractional, never negative).
///
/// Arithmetic is checked: an overflow or a subtraction below zero is an error, never a wrap.
///
/// # Example
///
/// ```
/// use loyalty::points::Points;
///
/// let p = Points::new(120);
/// assert_eq!(p.checked_add(Points::new(5))?, Points::new(125));
/// assert!(p.checked_sub(Points::new(121)).is_err());
/// assert_eq!(p.to_string(), "120 pts");
/// # Ok::<(), loyalty::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(transparent))]
pub struct Points(u64);

impl Points {
    /// No points.
    pub const ZERO: Points = Points(0);
    /// The largest representable amount.
    pub const MAX: Points = Points(u64::MAX);

    /// `n` points.
    #[must_use]
    pub const fn new(n: u64) -> Points {
        Points(n)
    }

    /// The number of points.
    #[must_use]
    pub const fn value(self) -> u64 {
        self.0
    }

    /// Whether this is zero.
    #[must_use]
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `self + other`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Overflow`] beyond `u64::MAX`.
    pub fn checked_add(self, other: Points) -> Result<Points> {
        self.0.checked_add(other.0).map(Points).ok_or_else(|| Error::overflow("points addition"))
    }

    /// `self - other`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Insufficient`] when `other > self`.
    pub fn checked_sub(self, other: Points) -> Result<Points> {
        self.0.checked_sub(other.0).map(Points).ok_or_else(|| insufficient(other, self))
    }

    /// `self - other`, or zero when `other > self`.
    #[must_use]
    pub const fn saturating_sub(self, other: Points) -> Points {
        Points(self.0.saturating_sub(other.0))
    }

    /// The smaller of the two.
    #[must_use]
    pub fn min(self, other: Points) -> Points {
        Points(self.0.min(other.0))
    }
}

impl fmt::Display for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} pts", self.0)
    }
}

/// Sum helper for internal running totals (overflow is an error).
pub(crate) fn add(a: Points, b: Points) -> Result<Points> {
    a.checked_add(b)
}

#[cold]
#[inline(never)]
pub(crate) fn insufficient(requested: Points, available: Points) -> Error {
    ErrorKind::Insufficient {
        what: "points",
        requested: requested.0.to_string(),
        available: available.0.to_string(),
    }
    .into()
}

/// A host-supplied idempotency key: one per business event (an order's earn, a refund, a
/// checkout's redemption).
///
/// It holds 128 bits so a UUID fits, and so checking it costs one hash lookup. It is stored
/// as two `u64` halves (8-byte alignment keeps ledger entries small).
///
/// # Serialization
///
/// In human-readable formats (JSON) a key is a string holding its value in decimal, e.g.
/// `"340282366920938463463374607431768211455"`: a JSON number above 2^53 loses precision
/// in JavaScript, and many JSON libraries (serde_json's `Value` among them) cannot hold one
/// above 2^64 at all. The same string reads back to the same key. A plain JSON number is
/// still read (stored state written before keys became strings), as long as it is an
/// exact unsigned integer. Binary formats carry the key as one `u128`.
///
/// ```
/// # #[cfg(feature = "serde")] {
/// use loyalty::points::OpKey;
///
/// let key = OpKey::new(u128::MAX);
/// let json = serde_json::to_string(&key).unwrap();
/// assert_eq!(json, "\"340282366920938463463374607431768211455\"");
/// assert_eq!(serde_json::from_str::<OpKey>(&json).unwrap(), key);
/// assert_eq!(serde_json::from_str::<OpKey>("42").unwrap(), OpKey::new(42));
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpKey {
    hi: u64,
    lo: u64,
}

impl OpKey {
    /// A key.
    #[must_use]
    pub const fn new(key: u128) -> OpKey {
        OpKey { hi: (key >> 64) as u64, lo: key as u64 }
    }

    /// The key's value.
    #[must_use]
    pub const fn value(self) -> u128 {
        ((self.hi as u128) << 64) | self.lo as u128
    }
}

impl From<u128> for OpKey {
    fn from(k: u128) -> OpKey {
        OpKey::new(k)
    }
}

impl From<OpKey> for u128 {
    fn from(k: OpKey) -> u128 {
        k.value()
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for OpKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(&self.value())
        } else {
            s.serialize_u128(self.value())
        }
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for OpKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<OpKey, D::Error> {
        struct KeyVisitor;

        impl serde::de::Visitor<'_> for KeyVisitor {
            type Value = OpKey;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an idempotency key: a decimal string or an unsigned integer")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<OpKey, E> {
                // Digits only: `u128::from_str` would also take a leading `+`.
                if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(E::invalid_value(serde::de::Unexpected::Str(v), &self));
                }
                v.parse::<u128>()
                    .map(OpKey::new)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Str(v), &self))
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<OpKey, E> {
                Ok(OpKey::new(u128::from(v)))
            }

            fn visit_u128<E: serde::de::Error>(self, v: u128) -> std::result::Result<OpKey, E> {
                Ok(OpKey::new(v))
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<OpKey, E> {
                u64::try_from(v)
                    .map(|v| OpKey::new(u128::from(v)))
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(v), &self))
            }
        }

        if d.is_human_readable() {
            d.deserialize_any(KeyVisitor)
        } else {
            d.deserialize_u128(KeyVisitor)
        }
    }
}

impl fmt::Display for OpKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:x}", self.value())
    }
}

/// A member (the owner of one [`Account`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(transparent))]
pub struct MemberId(u64);

impl MemberId {
    /// A member id.
    #[must_use]
    pub const fn new(id: u64) -> MemberId {
        MemberId(id)
    }

    /// The id's value.
    #[must_use]
    pub const fn value(self) -> u64 {
        self.0
    }
}

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "member {}", self.0)
    }
}

/// The position of a [`Lot`] in its account (lots are never removed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(transparent))]
pub struct LotId(u32);

impl LotId {
    /// A lot id.
    #[must_use]
    pub const fn new(id: u32) -> LotId {
        LotId(id)
    }

    /// The id's value.
    #[must_use]
    pub const fn value(self) -> u32 {
        self.0
    }

    pub(crate) fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for LotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "lot {}", self.0)
    }
}

/// A checkout reservation (points held until committed or released).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(transparent))]
pub struct ReservationId(u32);

impl ReservationId {
    /// A reservation id.
    #[must_use]
    pub const fn new(id: u32) -> ReservationId {
        ReservationId(id)
    }

    /// The id's value.
    #[must_use]
    pub const fn value(self) -> u32 {
        self.0
    }
}

impl fmt::Display for ReservationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "reservation {}", self.0)
    }
}

#[cfg(test)]
mod tests;
