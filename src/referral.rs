//! Referrals: a reward for the member who refers (the referrer) and a welcome reward for the
//! friend (the referee), paid once the friend's first order has cleared the return window.
//!
//! # Overview
//!
//! - [`ReferralRules`]: the two [`Reward`]s (points or money), the minimum first order, the
//!   return window, an optional [`ReferrerCap`] per [`CapPeriod`] and an optional expiry of
//!   referrals that never lead to an order.
//! - [`ReferralBook`]: the state, one [`Referral`] per referee. [`ReferralBook::refer`]
//!   records a referral, [`ReferralBook::first_order`] and [`ReferralBook::first_order_returned`]
//!   the friend's first order and its returns, and [`ReferralBook::settle`] pays every
//!   referral whose first order has cleared by `now`.
//! - [`WelcomeTiming`]: the friend's welcome reward is paid with the referrer's once the
//!   first order clears (the default), or granted at the referral (sign-up) so the friend can
//!   spend it on the first order itself; [`ReferralBook::refer`] then returns it.
//!
//! Fraud limits (after the referral checks Smile, Talon.One and Setono document): no
//! self-referral, one referral (hence one reward) per referee, a referee who is already in
//! the book as a referrer is no new customer (so no referral cycle such as ann refers bob,
//! then bob refers ann, pays both members twice), a cap of referrer rewards per period, a
//! minimum first order, only the friend's first order counts, and a return inside the
//! window that takes the order below the minimum cancels the reward. Refusals carry a
//! typed [`RejectionReason`]; a refused call is an
//! [`ErrorKind::RuleViolation`] whose rule is
//! [`RejectionReason::rule`] (recover it with [`RejectionReason::of`]).
//!
//! # Example
//!
//! ```
//! use chrono::NaiveDate;
//! use loyalty::referral::{MemberId, ReferralBook, ReferralRules, RejectionReason, Reward};
//! use loyalty::{Currency, Money};
//! use rust_decimal::Decimal;
//!
//! let at = |m, d| NaiveDate::from_ymd_opt(2025, m, d).unwrap().and_hms_opt(12, 0, 0).unwrap();
//! let usd = |a| Money::new(Decimal::from(a), Currency::USD);
//! let rules = ReferralRules::new(Reward::money(usd(20))?, Reward::points(250)?, usd(50), 30)?;
//! let mut book = ReferralBook::new(rules);
//! let (ann, bob) = (MemberId::new("ann")?, MemberId::new("bob")?);
//!
//! let err = book.refer(ann.clone(), ann.clone(), at(1, 1)).unwrap_err();
//! assert_eq!(RejectionReason::of(&err), Some(RejectionReason::SelfReferral));
//!
//! book.refer(ann.clone(), bob.clone(), at(1, 1))?;
//! book.first_order(&bob, usd(80), at(1, 10))?;
//! assert!(book.settle(at(2, 8))?.payouts.is_empty()); // still inside the 30-day window
//! let s = book.settle(at(2, 9))?;
//! assert_eq!(s.payouts[0].referrer_reward, Some(Reward::money(usd(20))?));
//! assert_eq!(s.payouts[0].referee_reward, Some(Reward::points(250)?));
//! assert!(book.settle(at(3, 1))?.payouts.is_empty()); // paid once
//! # Ok::<(), loyalty::Error>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::num::NonZeroU32;

use chrono::{Datelike, Duration, NaiveDateTime};

use crate::error::{Error, ErrorKind, Result};
use crate::money::Money;

/// A member's identifier (non-empty text).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "String", into = "String")
)]
pub struct MemberId(String);

impl MemberId {
    /// An identifier.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] when empty or blank, or with leading or trailing
    /// whitespace (so that `"ann"` and `"ann "` cannot pose as two members to slip past the
    /// self-referral and one-referral-per-referee checks).
    pub fn new(id: impl Into<String>) -> Result<MemberId> {
        let id = id.into();
        if id.trim().is_empty() {
            return Err(Error::invalid("member id", id, "must not be empty"));
        }
        if id.trim() != id {
            return Err(Error::invalid("member id", id, "must not start or end with whitespace"));
        }
        Ok(MemberId(id))
    }

    /// The identifier.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for MemberId {
    type Error = Error;

    fn try_from(s: String) -> Result<MemberId> {
        MemberId::new(s)
    }
}

impl From<MemberId> for String {
    fn from(m: MemberId) -> String {
        m.0
    }
}

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A reward: points or money (store credit, a voucher value).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "RewardRepr", into = "RewardRepr")
)]
pub enum Reward {
    /// Whole points.
    Points(i64),
    /// Money.
    Money(Money),
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
enum RewardRepr {
    Points(i64),
    Money(Money),
}

#[cfg(feature = "serde")]
impl TryFrom<RewardRepr> for Reward {
    type Error = Error;

    fn try_from(r: RewardRepr) -> Result<Reward> {
        match r {
            RewardRepr::Points(p) => Reward::points(p),
            RewardRepr::Money(m) => Reward::money(m),
        }
    }
}

#[cfg(feature = "serde")]
impl From<Reward> for RewardRepr {
    fn from(r: Reward) -> RewardRepr {
        match r {
            Reward::Points(p) => RewardRepr::Points(p),
            Reward::Money(m) => RewardRepr::Money(m),
        }
    }
}

impl Reward {
    /// A points reward.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] unless `points` is positive.
    pub fn points(points: i64) -> Result<Reward> {
        if points <= 0 {
            return Err(Error::invalid("reward points", points, "must be positive"));
        }
        Ok(Reward::Points(points))
    }

    /// A money reward.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] unless the amount is positive.
    pub fn money(amount: Money) -> Result<Reward> {
        if !amount.is_positive() {
            return Err(Error::invalid("reward amount", amount, "must be positive"));
        }
        Ok(Reward::Money(amount))
    }
}

impl fmt::Display for Reward {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reward::Points(p) => write!(f, "{p} points"),
            Reward::Money(m) => write!(f, "{m}"),
        }
    }
}

/// The span over which a referrer's rewards are counted against the cap. Calendar spans are
/// those containing the instant the reward clears.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum CapPeriod {
    /// The calendar day.
    Day,
    /// The ISO week (Monday to Sunday).
    IsoWeek,
    /// The calendar month.
    Month,
    /// The calendar year.
    Year,
    /// Any `days` days: rewards that cleared less than `days` days apart (either way
    /// round) count together, so the trailing `(t - days, t]` of each new reward.
    RollingDays(NonZeroU32),
    /// Ever.
    Lifetime,
}

impl CapPeriod {
    fn same(self, a: NaiveDateTime, b: NaiveDateTime) -> bool {
        match self {
            CapPeriod::Day => a.date() == b.date(),
            CapPeriod::IsoWeek => a.iso_week() == b.iso_week(),
            CapPeriod::Month => (a.year(), a.month()) == (b.year(), b.month()),
            CapPeriod::Year => a.year() == b.year(),
            CapPeriod::RollingDays(d) => {
                // Symmetric, so a first order recorded late (clearing before rewards already
                // paid) is still counted against the rewards around it.
                let span = Duration::days(i64::from(d.get()));
                let gap = if a <= b { b - a } else { a - b };
                gap < span
            }
            CapPeriod::Lifetime => true,
        }
    }
}

/// At most `max` referrer rewards per period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "CapRepr", into = "CapRepr")
)]
pub struct ReferrerCap {
    max: u32,
    per: CapPeriod,
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct CapRepr {
    max: u32,
    per: CapPeriod,
}

#[cfg(feature = "serde")]
impl TryFrom<CapRepr> for ReferrerCap {
    type Error = Error;

    fn try_from(r: CapRepr) -> Result<ReferrerCap> {
        ReferrerCap::new(r.max, r.per)
    }
}

#[cfg(feature = "serde")]
impl From<ReferrerCap> for CapRepr {
    fn from(c: ReferrerCap) -> CapRepr {
        CapRepr { max: c.max, per: c.per }
    }
}

impl ReferrerCap {
    /// A cap.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] when `max` is zero.
    pub fn new(max: u32, per: CapPeriod) -> Result<ReferrerCap> {
        if max == 0 {
            return Err(Error::invalid("cap", max, "must be at least 1"));
        }
        Ok(ReferrerCap { max, per })
    }

    /// The most rewards per period.
    #[must_use]
    pub fn max(&self) -> u32 {
        self.max
    }

    /// The period.
    #[must_use]
    pub fn per(&self) -> CapPeriod {
        self.per
    }
}

/// What a cap that is reached withholds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum CapEffect {
    /// The referrer's reward only; the friend still gets the welcome reward.
    #[default]
    ReferrerOnly,
    /// Both rewards.
    Both,
}

/// When the friend's welcome reward is granted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum WelcomeTiming {
    /// With the referrer's reward, once the first order has cleared the return window.
    #[default]
    OnClearing,
    /// When the referral is recorded (the friend's sign-up), so that the friend can spend it
    /// on the first order itself ("20 USD off your first order"): [`ReferralBook::refer`]
    /// returns it. The first order is then judged on its amount before the welcome reward
    /// is taken off; the reward is never withheld by the referrer cap (it was granted before
    /// any order) and a payout carries only the referrer's reward. A first order returned in
    /// full refunds what the friend paid, so the spent welcome reward is not paid out again.
    AtReferral,
}

/// The rules of a referral program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "RulesRepr", into = "RulesRepr")
)]
pub struct ReferralRules {
    referrer_reward: Reward,
    referee_reward: Reward,
    min_first_order: Money,
    return_window_days: u32,
    cap: Option<ReferrerCap>,
    cap_effect: CapEffect,
    expiry_days: Option<NonZeroU32>,
    welcome: WelcomeTiming,
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct RulesRepr {
    referrer_reward: Reward,
    referee_reward: Reward,
    min_first_order: Money,
    return_window_days: u32,
    cap: Option<ReferrerCap>,
    cap_effect: CapEffect,
    expiry_days: Option<NonZeroU32>,
    // Absent in books written before the choice existed (and left out when it is the
    // default, so those books are written as before).
    #[serde(default, skip_serializing_if = "is_on_clearing")]
    welcome: WelcomeTiming,
}

#[cfg(feature = "serde")]
fn is_on_clearing(w: &WelcomeTiming) -> bool {
    *w == WelcomeTiming::OnClearing
}

#[cfg(feature = "serde")]
impl TryFrom<RulesRepr> for ReferralRules {
    type Error = Error;

    fn try_from(r: RulesRepr) -> Result<ReferralRules> {
        let mut rules = ReferralRules::new(
            r.referrer_reward,
            r.referee_reward,
            r.min_first_order,
            r.return_window_days,
        )?
        .cap_effect(r.cap_effect)
        .welcome(r.welcome);
        rules.cap = r.cap;
        rules.expiry_days = r.expiry_days;
        Ok(rules)
    }
}

#[cfg(feature = "serde")]
impl From<ReferralRules> for RulesRepr {
    fn from(r: ReferralRules) -> RulesRepr {
        RulesRepr {
            referrer_reward: r.referrer_reward,
            referee_reward: r.referee_reward,
            min_first_order: r.min_first_order,
            return_window_days: r.return_window_days,
            cap: r.cap,
            cap_effect: r.cap_effect,
            expiry_days: r.expiry_days,
            welcome: r.welcome,
        }
    }
}

/// The longest return window accepted (ten years).
const MAX_WINDOW_DAYS: u32 = 3660;

impl ReferralRules {
    /// Rules: the two rewards, the minimum first order (its currency is the currency orders
    /// must be given in) and the return window in days (0: pay as soon as the order is
    /// recorded). No cap and no expiry until set.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] for a negative minimum or a window over 3660 days.
    pub fn new(
        referrer_reward: Reward,
        referee_reward: Reward,
        min_first_order: Money,
        return_window_days: u32,
    ) -> Result<ReferralRules> {
        if min_first_order.is_negative() {
            return Err(Error::invalid(
                "minimum first order",
                min_first_order,
                "must not be negative",
            ));
        }
        if return_window_days > MAX_WINDOW_DAYS {
            return Err(Error::invalid(
                "return window days",
                return_window_days,
                "must be at most 3660",
            ));
        }
        // Rewards built by hand (not through the constructors) are checked too.
        for r in [referrer_reward, referee_reward] {
            match r {
                Reward::Points(p) => drop(Reward::points(p)?),
                Reward::Money(m) => drop(Reward::money(m)?),
            }
        }
        Ok(ReferralRules {
            referrer_reward,
            referee_reward,
            min_first_order,
            return_window_days,
            cap: None,
            cap_effect: CapEffect::ReferrerOnly,
            expiry_days: None,
            welcome: WelcomeTiming::OnClearing,
        })
    }

    /// Caps referrer rewards per period.
    #[must_use]
    pub fn cap(mut self, cap: ReferrerCap) -> ReferralRules {
        self.cap = Some(cap);
        self
    }

    /// What a reached cap withholds.
    #[must_use]
    pub fn cap_effect(mut self, effect: CapEffect) -> ReferralRules {
        self.cap_effect = effect;
        self
    }

    /// Sets when the friend's welcome reward is granted (see [`WelcomeTiming`]).
    #[must_use]
    pub fn welcome(mut self, timing: WelcomeTiming) -> ReferralRules {
        self.welcome = timing;
        self
    }

    /// When the friend's welcome reward is granted.
    #[must_use]
    pub fn welcome_timing(&self) -> WelcomeTiming {
        self.welcome
    }

    /// The friend's welcome reward.
    #[must_use]
    pub fn referee_reward(&self) -> Reward {
        self.referee_reward
    }

    /// The referrer's reward.
    #[must_use]
    pub fn referrer_reward(&self) -> Reward {
        self.referrer_reward
    }

    /// Referrals with no first order within `days` days expire (Setono's default is 180).
    #[must_use]
    pub fn expire_after(mut self, days: NonZeroU32) -> ReferralRules {
        self.expiry_days = Some(days);
        self
    }

    /// The return window.
    #[must_use]
    pub fn return_window(&self) -> Duration {
        Duration::days(i64::from(self.return_window_days))
    }

    /// The minimum first order.
    #[must_use]
    pub fn min_first_order(&self) -> Money {
        self.min_first_order
    }
}

/// Why a referral (or one of its rewards) was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum RejectionReason {
    /// A member referred themselves.
    SelfReferral,
    /// The friend was already referred (one reward per referee).
    AlreadyReferred,
    /// The friend is already in the book as a referrer: an existing member, not a new
    /// customer. This refuses referral cycles (ann refers bob, then bob refers ann; or
    /// a refers b, b refers c, c refers a), which would otherwise pay each member of the
    /// cycle both the referrer's and the welcome reward.
    RefereeIsReferrer,
    /// The friend had ordered before the referral: not a new customer.
    OrderBeforeReferral,
    /// The first order was below the minimum.
    FirstOrderTooSmall,
    /// A return inside the window took the first order below the minimum.
    FirstOrderReturned,
    /// The referrer had reached the cap for the period.
    ReferrerCapReached,
    /// No first order before the referral expired.
    Expired,
}

impl RejectionReason {
    const ALL: [RejectionReason; 8] = [
        RejectionReason::SelfReferral,
        RejectionReason::AlreadyReferred,
        RejectionReason::RefereeIsReferrer,
        RejectionReason::OrderBeforeReferral,
        RejectionReason::FirstOrderTooSmall,
        RejectionReason::FirstOrderReturned,
        RejectionReason::ReferrerCapReached,
        RejectionReason::Expired,
    ];

    /// The rule name used in [`ErrorKind::RuleViolation`].
    #[must_use]
    pub fn rule(self) -> &'static str {
        match self {
            RejectionReason::SelfReferral => "no self-referral",
            RejectionReason::AlreadyReferred => "one referral per referee",
            RejectionReason::RefereeIsReferrer => "referee must not be a referrer",
            RejectionReason::OrderBeforeReferral => "referee must be a new customer",
            RejectionReason::FirstOrderTooSmall => "minimum first order",
            RejectionReason::FirstOrderReturned => "first order returned",
            RejectionReason::ReferrerCapReached => "referrer cap per period",
            RejectionReason::Expired => "referral expiry",
        }
    }

    /// The reason behind an error returned by this module, if it is a refusal.
    #[must_use]
    pub fn of(error: &Error) -> Option<RejectionReason> {
        match error.kind() {
            ErrorKind::RuleViolation { rule, .. } => {
                Self::ALL.into_iter().find(|r| r.rule() == *rule)
            }
            _ => None,
        }
    }

    fn error(self, detail: String) -> Error {
        ErrorKind::RuleViolation { rule: self.rule(), detail }.into()
    }
}

impl fmt::Display for RejectionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.rule())
    }
}

/// Where a referral stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum ReferralStatus {
    /// Waiting for the friend's first order.
    AwaitingFirstOrder,
    /// The first order is inside its return window.
    Clearing {
        /// When the order was placed.
        order_at: NaiveDateTime,
        /// The order amount net of returns so far.
        amount: Money,
        /// When the return window closes.
        clears_at: NaiveDateTime,
    },
    /// Settled: rewards paid (a reward withheld by the cap is named).
    Paid {
        /// When the return window closed.
        cleared_at: NaiveDateTime,
        /// Whether the referrer's reward was withheld by the cap.
        withheld: Option<RejectionReason>,
    },
    /// Refused.
    Rejected {
        /// Why.
        reason: RejectionReason,
        /// When.
        at: NaiveDateTime,
    },
}

/// One referral: who referred whom, when, and where it stands.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Referral {
    /// The member who referred.
    pub referrer: MemberId,
    /// The friend.
    pub referee: MemberId,
    /// When the referral was recorded.
    pub referred_at: NaiveDateTime,
    /// Where it stands.
    pub status: ReferralStatus,
}

/// What recording a first order (or its return) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum OrderOutcome {
    /// The order qualifies; rewards are due when the window closes.
    Clearing {
        /// When the return window closes.
        clears_at: NaiveDateTime,
    },
    /// The referral was refused.
    Rejected(RejectionReason),
    /// Nothing changed: the referral already had its first order, was settled or refused,
    /// or the return came after the window.
    Unchanged,
}

/// Rewards paid for one referral.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Payout {
    /// The member who referred.
    pub referrer: MemberId,
    /// The friend.
    pub referee: MemberId,
    /// The referrer's reward (`None` when withheld).
    pub referrer_reward: Option<Reward>,
    /// The friend's welcome reward (`None` when withheld, or granted at the referral under
    /// [`WelcomeTiming::AtReferral`]).
    pub referee_reward: Option<Reward>,
    /// Why a reward was withheld.
    pub withheld: Option<RejectionReason>,
    /// When the first order cleared the return window.
    pub cleared_at: NaiveDateTime,
}

/// What [`ReferralBook::settle`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Settlement {
    /// Rewards to pay, in order of clearing time (then referee).
    pub payouts: Vec<Payout>,
    /// Referrals that expired, by referee.
    pub expired: Vec<MemberId>,
}

/// The referral state: rules plus one [`Referral`] per referee.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "BookRepr", into = "BookRepr")
)]
pub struct ReferralBook {
    rules: ReferralRules,
    referrals: BTreeMap<MemberId, Referral>,
    /// Every member who referred someone (derived from `referrals`; rebuilt on reading),
    /// so refusing a referee who is already a referrer does not scan the book.
    referrers: BTreeSet<MemberId>,
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct BookRepr {
    #[serde(default = "crate::version::v1")]
    version: u32,
    rules: ReferralRules,
    referrals: Vec<Referral>,
}

#[cfg(feature = "serde")]
impl TryFrom<BookRepr> for ReferralBook {
    type Error = Error;

    fn try_from(r: BookRepr) -> Result<ReferralBook> {
        crate::version::check("referral book", r.version, 1)?;
        let mut book = ReferralBook::new(r.rules);
        for (i, referral) in r.referrals.into_iter().enumerate() {
            let bad = |reason: &str| ErrorKind::InvalidState {
                reason: format!("referral {i}: {reason}"),
            };
            if referral.referrer == referral.referee {
                return Err(bad("referrer and referee are the same member").into());
            }
            match referral.status {
                ReferralStatus::Clearing { order_at, amount, clears_at } => {
                    amount.ensure_same_currency(book.rules.min_first_order.currency())?;
                    // The window closes a fixed time after the order (the rules of a book
                    // never change): an earlier close would pay inside the return window.
                    let window_end = order_at.checked_add_signed(book.rules.return_window());
                    if order_at < referral.referred_at
                        || window_end != Some(clears_at)
                        || amount.amount() < book.rules.min_first_order.amount()
                        || amount.is_zero()
                    {
                        return Err(bad("inconsistent first order").into());
                    }
                }
                ReferralStatus::Paid { cleared_at, withheld } => {
                    if cleared_at < referral.referred_at {
                        return Err(bad("paid before it was referred").into());
                    }
                    if withheld.is_some_and(|w| w != RejectionReason::ReferrerCapReached) {
                        return Err(bad("only the referrer cap withholds a paid reward").into());
                    }
                }
                ReferralStatus::Rejected { reason, .. } => {
                    if matches!(
                        reason,
                        RejectionReason::SelfReferral
                            | RejectionReason::AlreadyReferred
                            | RejectionReason::RefereeIsReferrer
                            | RejectionReason::ReferrerCapReached
                    ) {
                        return Err(bad("refusals of that kind are never stored").into());
                    }
                }
                ReferralStatus::AwaitingFirstOrder => {}
            }
            if book.referrals.contains_key(&referral.referee) {
                return Err(bad("referee listed twice").into());
            }
            book.referrers.insert(referral.referrer.clone());
            book.referrals.insert(referral.referee.clone(), referral);
        }
        // A referee who was a referrer strictly before being referred could not have been
        // recorded (a stored cycle always has such a member: someone in it referred first).
        // Equal times leave the order open, so they are read as the order `refer` allows.
        let mut first: BTreeMap<&MemberId, NaiveDateTime> = BTreeMap::new();
        for r in book.referrals.values() {
            let t = first.entry(&r.referrer).or_insert(r.referred_at);
            *t = (*t).min(r.referred_at);
        }
        for r in book.referrals.values() {
            let refused = first.get(&r.referee).is_some_and(|&t| {
                t < r.referred_at || (t == r.referred_at && book.cycle_from(&r.referee))
            });
            if refused {
                return Err(ErrorKind::InvalidState {
                    reason: format!(
                        "referral of {}: the referee was already a referrer",
                        r.referee
                    ),
                }
                .into());
            }
        }
        Ok(book)
    }
}

#[cfg(feature = "serde")]
impl From<ReferralBook> for BookRepr {
    fn from(b: ReferralBook) -> BookRepr {
        BookRepr { version: 1, rules: b.rules, referrals: b.referrals.into_values().collect() }
    }
}

impl ReferralBook {
    /// An empty book.
    #[must_use]
    pub fn new(rules: ReferralRules) -> ReferralBook {
        ReferralBook { rules, referrals: BTreeMap::new(), referrers: BTreeSet::new() }
    }

    /// The rules.
    #[must_use]
    pub fn rules(&self) -> &ReferralRules {
        &self.rules
    }

    /// The referral of a referee.
    #[must_use]
    pub fn referral(&self, referee: &MemberId) -> Option<&Referral> {
        self.referrals.get(referee)
    }

    /// Every referral, by referee.
    pub fn referrals(&self) -> impl Iterator<Item = &Referral> {
        self.referrals.values()
    }

    /// Records that `referrer` referred `referee` at `at`. Returns the friend's welcome
    /// reward when the rules grant it at the referral ([`WelcomeTiming::AtReferral`]), to be
    /// credited now and spent on the first order; `None` when it is paid at settlement.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::RuleViolation`] with [`RejectionReason::SelfReferral`],
    /// [`RejectionReason::AlreadyReferred`] or [`RejectionReason::RefereeIsReferrer`] (the
    /// friend has referred someone in this book before, whatever became of that referral);
    /// the book is unchanged.
    pub fn refer(
        &mut self,
        referrer: MemberId,
        referee: MemberId,
        at: NaiveDateTime,
    ) -> Result<Option<Reward>> {
        if referrer == referee {
            return Err(RejectionReason::SelfReferral
                .error(format!("member {referrer} referred themselves")));
        }
        if let Some(existing) = self.referrals.get(&referee) {
            return Err(RejectionReason::AlreadyReferred
                .error(format!("member {referee} was already referred by {}", existing.referrer)));
        }
        if self.referrers.contains(&referee) {
            return Err(RejectionReason::RefereeIsReferrer.error(format!(
                "member {referee} already referred someone, so is not a new customer"
            )));
        }
        let referral = Referral {
            referrer,
            referee: referee.clone(),
            referred_at: at,
            status: ReferralStatus::AwaitingFirstOrder,
        };
        self.referrers.insert(referral.referrer.clone());
        self.referrals.insert(referee, referral);
        Ok((self.rules.welcome == WelcomeTiming::AtReferral).then_some(self.rules.referee_reward))
    }

    /// Records an order of `referee`. Only the first order counts: later calls leave the
    /// referral [`OrderOutcome::Unchanged`]. An order of exactly the minimum qualifies; an
    /// order of zero never does. `amount` is the order's value before a welcome reward
    /// granted at the referral is taken off ([`WelcomeTiming::AtReferral`]).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`] when the referee was never referred;
    /// [`ErrorKind::InvalidInput`] for a negative amount;
    /// [`ErrorKind::CurrencyMismatch`] when the order is not in the currency of the minimum;
    /// [`ErrorKind::Overflow`].
    pub fn first_order(
        &mut self,
        referee: &MemberId,
        amount: Money,
        at: NaiveDateTime,
    ) -> Result<OrderOutcome> {
        amount.ensure_same_currency(self.rules.min_first_order.currency())?;
        if amount.is_negative() {
            return Err(Error::invalid("order amount", amount, "must not be negative"));
        }
        let rules = self.rules;
        let referral = self.referral_mut(referee)?;
        if referral.status != ReferralStatus::AwaitingFirstOrder {
            return Ok(OrderOutcome::Unchanged);
        }
        let reason = if at < referral.referred_at {
            Some(RejectionReason::OrderBeforeReferral)
        } else if rules.expiry_days.is_some_and(|d| {
            at.signed_duration_since(referral.referred_at) >= Duration::days(i64::from(d.get()))
        }) {
            Some(RejectionReason::Expired)
        } else if amount.amount() < rules.min_first_order.amount() || amount.is_zero() {
            // An order of nothing never qualifies, even with a minimum of zero.
            Some(RejectionReason::FirstOrderTooSmall)
        } else {
            None
        };
        if let Some(reason) = reason {
            referral.status = ReferralStatus::Rejected { reason, at };
            return Ok(OrderOutcome::Rejected(reason));
        }
        let clears_at = at
            .checked_add_signed(rules.return_window())
            .ok_or_else(|| Error::overflow("return window end"))?;
        referral.status = ReferralStatus::Clearing { order_at: at, amount, clears_at };
        Ok(OrderOutcome::Clearing { clears_at })
    }

    /// Records a return of (part of) the referee's first order. Inside the window, a return
    /// that takes the order below the minimum refuses the referral; after the window (or
    /// after settlement) it changes nothing.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`] when the referee was never referred;
    /// [`ErrorKind::InvalidInput`] for a negative refund, one larger than what is left of
    /// the order or one dated before the order; [`ErrorKind::CurrencyMismatch`].
    pub fn first_order_returned(
        &mut self,
        referee: &MemberId,
        refunded: Money,
        at: NaiveDateTime,
    ) -> Result<OrderOutcome> {
        refunded.ensure_same_currency(self.rules.min_first_order.currency())?;
        if refunded.is_negative() {
            return Err(Error::invalid("refund", refunded, "must not be negative"));
        }
        let min = self.rules.min_first_order;
        let referral = self.referral_mut(referee)?;
        let ReferralStatus::Clearing { order_at, amount, clears_at } = referral.status else {
            return Ok(OrderOutcome::Unchanged);
        };
        if at >= clears_at {
            return Ok(OrderOutcome::Unchanged);
        }
        if at < order_at {
            return Err(Error::invalid("return time", at, "before the first order"));
        }
        if refunded.amount() > amount.amount() {
            return Err(Error::invalid(
                "refund",
                refunded,
                format!("exceeds what is left of the order ({amount})"),
            ));
        }
        let left = amount.checked_sub(refunded)?;
        // A fully returned order never earns a reward, even with a minimum of zero.
        if left.amount() < min.amount() || left.is_zero() {
            referral.status =
                ReferralStatus::Rejected { reason: RejectionReason::FirstOrderReturned, at };
            return Ok(OrderOutcome::Rejected(RejectionReason::FirstOrderReturned));
        }
        referral.status = ReferralStatus::Clearing { order_at, amount: left, clears_at };
        Ok(OrderOutcome::Clearing { clears_at })
    }

    /// Pays every referral whose first order cleared at or before `now` (in order of
    /// clearing time, then referee), applying the referrer cap, and expires referrals that
    /// waited too long for a first order. Paying twice is impossible: paid referrals are
    /// marked.
    ///
    /// The cap counts rewards by clearing time, so the result does not depend on how often
    /// `settle` is called, as long as first orders are recorded when they happen.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Overflow`] when an expiry date leaves the calendar; the book is then
    /// unchanged.
    pub fn settle(&mut self, now: NaiveDateTime) -> Result<Settlement> {
        let mut due: Vec<(NaiveDateTime, &MemberId)> = Vec::new();
        let mut expired: Vec<MemberId> = Vec::new();
        // Referrer reward times already paid, per referrer (for the cap).
        let mut paid: BTreeMap<&MemberId, Vec<NaiveDateTime>> = BTreeMap::new();
        for r in self.referrals.values() {
            match r.status {
                ReferralStatus::Clearing { clears_at, .. } if clears_at <= now => {
                    due.push((clears_at, &r.referee));
                }
                ReferralStatus::AwaitingFirstOrder => {
                    if let Some(d) = self.rules.expiry_days {
                        let end = r
                            .referred_at
                            .checked_add_signed(Duration::days(i64::from(d.get())))
                            .ok_or_else(|| Error::overflow("referral expiry"))?;
                        if end <= now {
                            expired.push(r.referee.clone());
                        }
                    }
                }
                ReferralStatus::Paid { cleared_at, withheld: None } => {
                    paid.entry(&r.referrer).or_default().push(cleared_at);
                }
                _ => {}
            }
        }
        due.sort();
        let mut payouts = Vec::with_capacity(due.len());
        for (cleared_at, referee) in due {
            let Some(r) = self.referrals.get(referee) else { continue };
            let times = paid.entry(&r.referrer).or_default();
            let capped = self.rules.cap.is_some_and(|cap| {
                let used = times.iter().filter(|&&t| cap.per.same(t, cleared_at)).count();
                used >= cap.max as usize
            });
            let withheld = capped.then_some(RejectionReason::ReferrerCapReached);
            if !capped {
                times.push(cleared_at);
            }
            let both = capped && self.rules.cap_effect == CapEffect::Both;
            // A welcome reward granted at the referral is not paid again.
            let welcomed = self.rules.welcome == WelcomeTiming::AtReferral;
            payouts.push(Payout {
                referrer: r.referrer.clone(),
                referee: r.referee.clone(),
                referrer_reward: (!capped).then_some(self.rules.referrer_reward),
                referee_reward: (!both && !welcomed).then_some(self.rules.referee_reward),
                withheld,
                cleared_at,
            });
        }
        // Commit: nothing above can fail from here on.
        for p in &payouts {
            if let Some(r) = self.referrals.get_mut(&p.referee) {
                r.status = ReferralStatus::Paid { cleared_at: p.cleared_at, withheld: p.withheld };
            }
        }
        for id in &expired {
            if let Some(r) = self.referrals.get_mut(id) {
                let at = r.referred_at;
                let end = self
                    .rules
                    .expiry_days
                    .and_then(|d| at.checked_add_signed(Duration::days(i64::from(d.get()))))
                    .unwrap_or(at);
                r.status = ReferralStatus::Rejected { reason: RejectionReason::Expired, at: end };
            }
        }
        Ok(Settlement { payouts, expired })
    }

    /// Whether following referrers up from `start` comes back to it. Each member has at
    /// most one referrer, so the walk is a chain: it ends, or it loops within as many steps
    /// as there are referrals.
    #[cfg(feature = "serde")]
    fn cycle_from(&self, start: &MemberId) -> bool {
        let mut at = start;
        for _ in 0..self.referrals.len() {
            match self.referrals.get(at) {
                Some(r) if r.referrer == *start => return true,
                Some(r) => at = &r.referrer,
                None => return false,
            }
        }
        false
    }

    fn referral_mut(&mut self, referee: &MemberId) -> Result<&mut Referral> {
        self.referrals
            .get_mut(referee)
            .ok_or_else(|| ErrorKind::NotFound { what: "referral", id: referee.to_string() }.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use chrono::NaiveDate;
    use rust_decimal::Decimal;

    fn at(m: u32, d: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2025, m, d).unwrap().and_hms_opt(12, 0, 0).unwrap()
    }
    fn usd(a: i64) -> Money {
        Money::new(Decimal::from(a), Currency::USD)
    }
    fn id(s: &str) -> MemberId {
        MemberId::new(s).unwrap()
    }
    fn rules() -> ReferralRules {
        ReferralRules::new(Reward::points(500).unwrap(), Reward::points(250).unwrap(), usd(25), 14)
            .unwrap()
    }

    #[test]
    fn fraud_limits() {
        let mut book = ReferralBook::new(rules());
        let e = book.refer(id("a"), id("a"), at(1, 1)).unwrap_err();
        assert_eq!(RejectionReason::of(&e), Some(RejectionReason::SelfReferral));
        assert_eq!(book.referrals().count(), 0);
        book.refer(id("a"), id("b"), at(1, 1)).unwrap();
        let e = book.refer(id("c"), id("b"), at(1, 2)).unwrap_err();
        assert_eq!(RejectionReason::of(&e), Some(RejectionReason::AlreadyReferred));
        // Minimum first order: 24.99 < 25.
        book.refer(id("a"), id("d"), at(1, 1)).unwrap();
        let small = Money::new(Decimal::new(2499, 2), Currency::USD);
        assert_eq!(
            book.first_order(&id("d"), small, at(1, 3)).unwrap(),
            OrderOutcome::Rejected(RejectionReason::FirstOrderTooSmall)
        );
        // Only the first order counts: a later big order does not revive it.
        assert_eq!(
            book.first_order(&id("d"), usd(100), at(1, 4)).unwrap(),
            OrderOutcome::Unchanged
        );
        // An order before the referral: not a new customer.
        book.refer(id("a"), id("e"), at(1, 10)).unwrap();
        assert_eq!(
            book.first_order(&id("e"), usd(100), at(1, 9)).unwrap(),
            OrderOutcome::Rejected(RejectionReason::OrderBeforeReferral)
        );
        assert!(matches!(
            book.first_order(&id("zz"), usd(100), at(1, 9)).unwrap_err().kind(),
            ErrorKind::NotFound { .. }
        ));
        assert!(book.first_order(&id("b"), usd(-1), at(1, 9)).is_err());
        let eur = Money::new(Decimal::ONE_HUNDRED, Currency::EUR);
        assert!(book.first_order(&id("b"), eur, at(1, 9)).is_err());
    }

    #[test]
    fn return_window_boundary_and_returns() {
        let mut book = ReferralBook::new(rules());
        book.refer(id("a"), id("b"), at(1, 1)).unwrap();
        book.first_order(&id("b"), usd(40), at(1, 5)).unwrap();
        // Partial return to 30: still above 25.
        assert_eq!(
            book.first_order_returned(&id("b"), usd(10), at(1, 6)).unwrap(),
            OrderOutcome::Clearing { clears_at: at(1, 19) }
        );
        // One second before the window closes: nothing due.
        let just_before = at(1, 19) - Duration::seconds(1);
        assert!(book.settle(just_before).unwrap().payouts.is_empty());
        let s = book.settle(at(1, 19)).unwrap();
        assert_eq!(s.payouts.len(), 1);
        assert_eq!(s.payouts[0].referrer_reward, Some(Reward::Points(500)));
        // After payment a return changes nothing.
        assert_eq!(
            book.first_order_returned(&id("b"), usd(30), at(1, 20)).unwrap(),
            OrderOutcome::Unchanged
        );

        book.refer(id("a"), id("c"), at(1, 1)).unwrap();
        book.first_order(&id("c"), usd(40), at(1, 5)).unwrap();
        assert!(book.first_order_returned(&id("c"), usd(41), at(1, 6)).is_err());
        assert_eq!(
            book.first_order_returned(&id("c"), usd(16), at(1, 6)).unwrap(),
            OrderOutcome::Rejected(RejectionReason::FirstOrderReturned)
        );
        assert!(book.settle(at(3, 1)).unwrap().payouts.is_empty());
    }

    #[test]
    fn cap_per_month_withholds_the_referrer_reward() {
        let cap = ReferrerCap::new(2, CapPeriod::Month).unwrap();
        let mut book = ReferralBook::new(rules().cap(cap));
        for (i, friend) in ["f1", "f2", "f3"].iter().enumerate() {
            book.refer(id("a"), id(friend), at(1, 1)).unwrap();
            book.first_order(&id(friend), usd(30), at(1, 2 + i as u32)).unwrap();
        }
        // Clears on 16, 17, 18 January: the third is over the cap of 2 per month.
        let s = book.settle(at(1, 31)).unwrap();
        assert_eq!(s.payouts.len(), 3);
        assert_eq!(s.payouts[2].referee, id("f3"));
        assert_eq!(s.payouts[2].referrer_reward, None);
        assert_eq!(s.payouts[2].referee_reward, Some(Reward::Points(250)));
        assert_eq!(s.payouts[2].withheld, Some(RejectionReason::ReferrerCapReached));
        // February is a new month.
        book.refer(id("a"), id("f4"), at(1, 30)).unwrap();
        book.first_order(&id("f4"), usd(30), at(1, 30)).unwrap();
        let s = book.settle(at(2, 28)).unwrap();
        assert_eq!(s.payouts[0].referrer_reward, Some(Reward::Points(500)));
        assert!(ReferrerCap::new(0, CapPeriod::Day).is_err());
    }

    #[test]
    fn expiry() {
        let mut book = ReferralBook::new(rules().expire_after(NonZeroU32::new(180).unwrap()));
        book.refer(id("a"), id("b"), at(1, 1)).unwrap();
        book.refer(id("a"), id("c"), at(1, 1)).unwrap();
        assert!(book.settle(at(6, 29)).unwrap().expired.is_empty()); // day 179
        let s = book.settle(at(6, 30)).unwrap(); // day 180
        assert_eq!(s.expired, vec![id("b"), id("c")]);
        assert_eq!(book.first_order(&id("b"), usd(99), at(7, 1)).unwrap(), OrderOutcome::Unchanged);
    }

    #[test]
    fn exact_minimum_exact_window_end_and_full_returns() {
        let mut book = ReferralBook::new(rules());
        book.refer(id("a"), id("b"), at(1, 1)).unwrap();
        // Exactly the minimum of 25 qualifies.
        assert_eq!(
            book.first_order(&id("b"), usd(25), at(1, 1)).unwrap(),
            OrderOutcome::Clearing { clears_at: at(1, 15) }
        );
        // A return at exactly the end of the 14-day window is outside it.
        assert_eq!(
            book.first_order_returned(&id("b"), usd(25), at(1, 15)).unwrap(),
            OrderOutcome::Unchanged
        );
        // A return dated before the order is refused, state untouched.
        book.refer(id("a"), id("c"), at(1, 1)).unwrap();
        book.first_order(&id("c"), usd(30), at(1, 5)).unwrap();
        assert!(book.first_order_returned(&id("c"), usd(1), at(1, 4)).is_err());
        assert!(matches!(book.referral(&id("c")).unwrap().status, ReferralStatus::Clearing { .. }));
        // With no minimum, a fully returned first order still earns nothing; nor does a
        // zero order.
        let free = ReferralRules::new(
            Reward::points(500).unwrap(),
            Reward::points(250).unwrap(),
            usd(0),
            14,
        )
        .unwrap();
        let mut book = ReferralBook::new(free);
        book.refer(id("a"), id("b"), at(1, 1)).unwrap();
        book.first_order(&id("b"), usd(10), at(1, 2)).unwrap();
        assert_eq!(
            book.first_order_returned(&id("b"), usd(10), at(1, 3)).unwrap(),
            OrderOutcome::Rejected(RejectionReason::FirstOrderReturned)
        );
        book.refer(id("a"), id("c"), at(1, 1)).unwrap();
        assert_eq!(
            book.first_order(&id("c"), usd(0), at(1, 2)).unwrap(),
            OrderOutcome::Rejected(RejectionReason::FirstOrderTooSmall)
        );
        assert!(book.settle(at(12, 31)).unwrap().payouts.is_empty());
        // Settling again pays nothing more.
        let s = book.settle(at(12, 31)).unwrap();
        assert_eq!(s, Settlement::default());
    }

    #[test]
    fn cap_at_period_boundaries() {
        // One reward per calendar month: clearing at 31 Jan 23:59:59 and at 1 Feb 00:00 are
        // in different months, so both are paid; a third on 1 Feb 12:00 is withheld.
        let cap = ReferrerCap::new(1, CapPeriod::Month).unwrap();
        let mut book = ReferralBook::new(rules().cap(cap));
        let jan31 = NaiveDate::from_ymd_opt(2025, 1, 17).unwrap().and_hms_opt(23, 59, 59).unwrap();
        let feb1 = NaiveDate::from_ymd_opt(2025, 1, 18).unwrap().and_hms_opt(0, 0, 0).unwrap();
        for (f, t) in [("f1", jan31), ("f2", feb1), ("f3", at(1, 18))] {
            book.refer(id("a"), id(f), at(1, 1)).unwrap();
            book.first_order(&id(f), usd(30), t).unwrap();
        }
        let s = book.settle(at(3, 1)).unwrap();
        let paid: Vec<bool> = s.payouts.iter().map(|p| p.referrer_reward.is_some()).collect();
        assert_eq!(paid, vec![true, true, false]);
        assert_eq!(s.payouts[0].cleared_at.date(), NaiveDate::from_ymd_opt(2025, 1, 31).unwrap());
        // Rolling 7 days, one reward: a first order recorded late whose reward clears three
        // days before one already paid is withheld (the two are less than 7 days apart).
        let cap = ReferrerCap::new(1, CapPeriod::RollingDays(NonZeroU32::new(7).unwrap())).unwrap();
        let mut book = ReferralBook::new(rules().cap(cap));
        book.refer(id("a"), id("b"), at(1, 1)).unwrap();
        book.refer(id("a"), id("c"), at(1, 1)).unwrap();
        book.first_order(&id("b"), usd(30), at(1, 10)).unwrap();
        assert_eq!(book.settle(at(1, 24)).unwrap().payouts.len(), 1);
        book.first_order(&id("c"), usd(30), at(1, 7)).unwrap();
        let s = book.settle(at(1, 25)).unwrap();
        assert_eq!(s.payouts[0].withheld, Some(RejectionReason::ReferrerCapReached));
    }

    #[test]
    fn iso_week_and_year_caps_across_the_year_end() {
        // Monday 30 Dec 2024 and Wednesday 1 Jan 2025 share ISO week 2025-W01 but not a
        // calendar year.
        let t = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(8, 0, 0).unwrap();
        for (per, second_paid) in [(CapPeriod::IsoWeek, false), (CapPeriod::Year, true)] {
            let mut book = ReferralBook::new(rules().cap(ReferrerCap::new(1, per).unwrap()));
            for (f, day) in [("f1", t(2024, 12, 16)), ("f2", t(2024, 12, 18))] {
                book.refer(id("a"), id(f), t(2024, 12, 1)).unwrap();
                book.first_order(&id(f), usd(30), day).unwrap();
            }
            let s = book.settle(t(2025, 2, 1)).unwrap();
            assert_eq!(s.payouts[0].cleared_at, t(2024, 12, 30));
            assert_eq!(s.payouts[1].cleared_at, t(2025, 1, 1));
            assert!(s.payouts[0].referrer_reward.is_some());
            assert_eq!(s.payouts[1].referrer_reward.is_some(), second_paid, "{per:?}");
        }
    }

    /// The review's repro: ann refers bob, then bob refers ann. Before the fix the second
    /// referral was accepted and, after both first orders, settle paid each of them 500
    /// (referrer) + 250 (welcome): 1,500 points for two members who recruited nobody new.
    #[test]
    fn referral_cycles_are_refused() {
        let refused = |r: Result<Option<Reward>>| RejectionReason::of(&r.unwrap_err());
        let mut book = ReferralBook::new(rules());
        book.refer(id("ann"), id("bob"), at(1, 1)).unwrap();
        let before = book.clone();
        let r = book.refer(id("bob"), id("ann"), at(1, 2));
        assert_eq!(refused(r), Some(RejectionReason::RefereeIsReferrer));
        assert_eq!(book, before, "a refused referral changes nothing");
        // Orders of both: only ann's referral of bob pays, once, 500 + 250.
        book.first_order(&id("bob"), usd(30), at(1, 3)).unwrap();
        assert!(matches!(
            book.first_order(&id("ann"), usd(30), at(1, 3)).unwrap_err().kind(),
            ErrorKind::NotFound { .. }
        ));
        let s = book.settle(at(3, 1)).unwrap();
        assert_eq!(s.payouts.len(), 1);
        assert_eq!((&s.payouts[0].referrer, &s.payouts[0].referee), (&id("ann"), &id("bob")));
        assert_eq!(s.payouts[0].referrer_reward, Some(Reward::Points(500)));
        assert_eq!(s.payouts[0].referee_reward, Some(Reward::Points(250)));

        // Three members: a refers b, b refers c (a chain is fine), c refers a closes a cycle.
        let mut book = ReferralBook::new(rules());
        book.refer(id("a"), id("b"), at(1, 1)).unwrap();
        book.refer(id("b"), id("c"), at(1, 2)).unwrap();
        assert_eq!(
            refused(book.refer(id("c"), id("a"), at(1, 3))),
            Some(RejectionReason::RefereeIsReferrer)
        );
        assert_eq!(book.referrals().count(), 2);
    }

    /// Someone who referred a friend earlier (whatever became of that referral: here it
    /// was refused for a small first order) is a member, not a new customer.
    #[test]
    fn an_earlier_referrer_cannot_be_referred() {
        let mut book = ReferralBook::new(rules());
        book.refer(id("dan"), id("eve"), at(1, 1)).unwrap();
        book.first_order(&id("eve"), usd(1), at(1, 2)).unwrap();
        let e = book.refer(id("fay"), id("dan"), at(2, 1)).unwrap_err();
        assert_eq!(RejectionReason::of(&e), Some(RejectionReason::RefereeIsReferrer));
        assert_eq!(
            e.to_string(),
            "rejected by rule referee must not be a referrer: member dan already referred \
             someone, so is not a new customer"
        );
        // A referred member may go on to refer others (and is still not referable again).
        book.refer(id("eve"), id("gus"), at(2, 2)).unwrap();
        let e = book.refer(id("fay"), id("eve"), at(2, 3)).unwrap_err();
        assert_eq!(RejectionReason::of(&e), Some(RejectionReason::AlreadyReferred));
    }

    /// A stored book holding a cycle, or a referee who had referred someone before, is
    /// refused on reading; a chain recorded at one instant still reads.
    #[cfg(feature = "serde")]
    #[test]
    fn stored_cycles_are_refused() {
        let mut book = ReferralBook::new(rules());
        book.refer(id("a"), id("b"), at(1, 1)).unwrap();
        book.refer(id("b"), id("c"), at(1, 1)).unwrap();
        let json = serde_json::to_value(&book).unwrap();
        let back: ReferralBook = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, book);
        // c refers a at the same instant: a cycle no order of calls allows.
        let mut cyc = json.clone();
        let mut extra = cyc["referrals"][0].clone();
        extra["referrer"] = "c".into();
        extra["referee"] = "a".into();
        cyc["referrals"].as_array_mut().unwrap().push(extra.clone());
        let e = serde_json::from_value::<ReferralBook>(cyc).unwrap_err();
        assert!(e.to_string().contains("the referee was already a referrer"), "{e}");
        // No cycle, but b is referred (by a) after b referred c: refused too.
        let mut late = json;
        late["referrals"][0]["referred_at"] = "2025-01-05T12:00:00".into();
        let e = serde_json::from_value::<ReferralBook>(late).unwrap_err();
        assert!(e.to_string().contains("the referee was already a referrer"), "{e}");
    }

    /// A stored first order whose return window closes anywhere but the rules' window
    /// after the order is refused on reading: closing at the order itself would pay the
    /// rewards before any return could be recorded.
    #[cfg(feature = "serde")]
    #[test]
    fn a_stored_clearing_closes_exactly_one_return_window_after_the_order() {
        let mut book = ReferralBook::new(rules());
        book.refer(id("a"), id("b"), at(1, 1)).unwrap();
        book.first_order(&id("b"), usd(40), at(1, 5)).unwrap();
        let json = serde_json::to_value(&book).unwrap();
        assert_eq!(serde_json::from_value::<ReferralBook>(json.clone()).unwrap(), book);
        for forged_end in ["2025-01-05T12:00:00", "2025-01-18T12:00:00", "2025-03-01T12:00:00"] {
            let mut forged = json.clone();
            forged["referrals"][0]["status"]["clearing"]["clears_at"] = forged_end.into();
            let e = serde_json::from_value::<ReferralBook>(forged).unwrap_err();
            assert!(e.to_string().contains("inconsistent first order"), "{forged_end}: {e}");
        }
    }

    #[test]
    fn member_ids_with_surrounding_whitespace_are_refused() {
        assert!(MemberId::new("ann ").is_err());
        assert!(MemberId::new(" ann").is_err());
        assert!(MemberId::new("ann lee").is_ok());
    }

    #[test]
    fn bad_rules() {
        assert!(Reward::points(0).is_err());
        assert!(Reward::money(usd(0)).is_err());
        assert!(ReferralRules::new(Reward::Points(-5), Reward::Points(1), usd(0), 0).is_err());
        assert!(ReferralRules::new(Reward::Points(5), Reward::Points(1), usd(-1), 0).is_err());
        assert!(ReferralRules::new(Reward::Points(5), Reward::Points(1), usd(1), 4000).is_err());
        assert!(MemberId::new(" ").is_err());
    }
}
