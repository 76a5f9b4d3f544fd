//! Care schedule: who to contact today, and why.
//!
//! Sellers who keep customers do a handful of things by hand: greet old customers on their
//! birthdays and at festivals, ask how the goods are doing about a week after they arrive and
//! explain their upkeep, remind buyers to replenish what runs out, tell customers with a known
//! taste when a matching product is on promotion, win back valuable customers who are slipping
//! away, and ask satisfied customers for a review. This module turns those practices into
//! rules a host runs once (or several times) a day: [`due`] takes the current instant and the
//! host's facts and returns the actions due now, sorted by priority, each with a
//! [`ReasonCode`] and the facts that triggered it ([`Trigger`]), plus the actions held back by
//! contact pressure and why ([`Held`]).
//!
//! # Inputs
//!
//! - [`Customer`]: IANA time zone, market, language, [`Birthday`], preference tags, consent
//!   per [`Channel`], RFM segment name (from the host's RFM run, e.g. `"At Risk"`) and value
//!   (a [`Money`] CLV or spend stand-in) when known.
//! - [`Order`]s with order date, delivery date and categories (local calendar dates).
//! - A [`FestivalCalendar`] per market, [`Promotion`]s with tags and validity windows.
//! - Past [`Contact`]s (at least the last of each kind per customer; the whole log makes the
//!   cap exact).
//!
//! # Rules ([`CareConfig`])
//!
//! Greetings (birthday, festival) are judged on the customer's local date at the send
//! time, `now` or the end of quiet hours, so a greeting found late in the customer's evening
//! goes out the next morning only if that morning is the occasion ([`GreetingDay::OnTheDay`],
//! the default: only on the day); [`GreetingDay::RunDate`] judges them on the date at `now`.
//! The other rules use the local date at `now`.
//!
//! | Kind | Fires when (customer's local date) | Reason |
//! |---|---|---|
//! | [`ActionKind::Birthday`] | today is the birthday (29 Feb per [`LeapDayPolicy`]) | `birthday_today` |
//! | [`ActionKind::Festival`] | a festival of the customer's market falls today | `festival_today` |
//! | [`ActionKind::CheckIn`] | a delivery was `delay_days` ([`CheckInDelay`], 7) to `delay + window` days ago, no check-in since | `delivered_days_ago` |
//! | [`ActionKind::CareTip`] | same, for an order with an upkeep category | `upkeep_category` |
//! | [`ActionKind::Replenish`] | the own purchase interval (or nominal cycle) is nearly up | `own_interval_elapsed` / `nominal_cycle_elapsed` |
//! | [`ActionKind::PreferenceMatch`] | a running promotion carries one of the customer's tags | `promotion_matches_tag` |
//! | [`ActionKind::WinBack`] | segment in the at-risk list (or no segment and quiet for N days), value over the threshold | `at_risk_segment` / `quiet_since_last_order` |
//! | [`ActionKind::ReviewRequest`] | a check-in was sent `delay_days` (3) ago, no request since | `after_check_in` |
//!
//! # Contact pressure ([`Pressure`]), applied in this order
//!
//! Every action has a channel and a [`Purpose`] ([`ActionKind::purpose`]: check-ins and care
//! tips serve an order, [`Purpose::Service`]; the rest are [`Purpose::Marketing`]). Consent,
//! caps and quiet hours are per channel and purpose:
//!
//! 1. **Consent**: the action goes on the first channel of the rule's list the customer
//!    consented to for its purpose ([`Customer::consents`]: marketing needs
//!    [`Customer::consent`]; service messages also go on channels given for service only,
//!    [`Customer::service_consent`], so withdrawn marketing consent never blocks them);
//!    none: held, [`HoldReason::NoConsent`].
//! 2. **Cool-down**: a contact of the same kind less than `cool_down_days` ago: held.
//! 3. **Quiet hours** with [`QuietHoursPolicy::Hold`]: held until the window ends. The
//!    window is the one of the action's channel and purpose ([`Pressure::quiet`], else
//!    [`Pressure::quiet_hours`]).
//! 4. **Caps**: at most `max_contacts` per `period_days`, counting past contacts in the
//!    period: the overall [`Pressure::cap`] counts every contact, each of [`Pressure::caps`]
//!    the contacts of its [`Scope`] (channel, purpose or both; a past contact recorded
//!    without a channel counts for every channel). The highest priorities win; an action
//!    goes out only when every cap covering it has room, the rest are held.
//! 5. **Quiet hours** with [`QuietHoursPolicy::Defer`] (default): the action is returned with
//!    [`Timing::Deferred`] and `send_at` at the end of its window, on the customer's clock.
//!
//! # Bad input
//!
//! Every input with an invariant is checked where it is built, again when it is
//! deserialized, and again by [`due`] (the record types have public fields):
//! an unknown time zone is [`ErrorKind::UnknownTimeZone`]; a delivery before the order, a
//! promotion ending before it starts, a duplicate customer id or a contact at the very limits
//! of representable time is [`ErrorKind::InvalidRecord`] naming the slice position; a
//! malformed festival date or birthday, and a bad configuration, are
//! [`ErrorKind::InvalidInput`] naming the field. A check-in delay of zero cannot be built at
//! all ([`CheckInDelay`]). No input makes [`due`] panic.
//!
//! # Determinism
//!
//! Customers, orders, contacts and promotions are indexed by sorting (no hash maps), so the
//! output depends only on the set of inputs, not on their order. Actions are sorted by
//! priority (highest first), then customer id, then kind; held actions by customer id, then
//! kind. Each customer gets at most one action of each kind per run.
//!
//! # Example
//!
//! ```
//! use chrono::{NaiveDate, TimeZone, Utc};
//! use loyalty::care::{
//!     due, ActionKind, CareConfig, CareInput, Channel, Customer, CustomerId, FestivalCalendar,
//!     Order, ReasonCode,
//! };
//!
//! let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
//! let ana = Customer::new(CustomerId(1), "America/Sao_Paulo")?
//!     .birthday("1990-03-14".parse()?)
//!     .consent(Channel::Email);
//! let order = Order::new("o-1", CustomerId(1), d(2026, 3, 1), Some(d(2026, 3, 7)))?;
//! // 15:00 UTC is noon in São Paulo on 14 March: her birthday, and 7 days after delivery.
//! let now = Utc.with_ymd_and_hms(2026, 3, 14, 15, 0, 0).unwrap();
//! let calendar = FestivalCalendar::new();
//! let input = CareInput {
//!     customers: &[ana],
//!     orders: &[order],
//!     contacts: &[],
//!     promotions: &[],
//!     calendar: &calendar,
//! };
//! let plan = due(now, &CareConfig::default(), &input)?;
//! let kinds: Vec<_> = plan.actions.iter().map(|a| (a.kind, a.reason)).collect();
//! assert_eq!(
//!     kinds,
//!     [
//!         (ActionKind::Birthday, ReasonCode::BirthdayToday),
//!         (ActionKind::CheckIn, ReasonCode::DeliveredDaysAgo),
//!     ]
//! );
//! # Ok::<(), loyalty::Error>(())
//! ```

mod facts;
mod festival;
mod plan;
mod pressure;
mod rules;

use std::cmp::Reverse;
use std::fmt;

use chrono::{DateTime, Duration, NaiveDate, Utc};

pub use self::facts::{
    parse_time_zone, Birthday, Channel, Contact, Customer, CustomerId, LeapDayPolicy, Order,
    Promotion, Purpose,
};
pub use self::festival::{Festival, FestivalCalendar, FestivalDate};
pub use self::pressure::{
    ContactCap, GreetingDay, Pressure, QuietHours, QuietHoursPolicy, Scope, ScopedCap,
    ScopedQuietHours,
};
pub use self::rules::{
    BirthdayRule, CareConfig, CareTipRule, CheckInDelay, CheckInRule, FestivalRule,
    IntervalPreference, PreferenceRule, ReplenishRule, ReviewRule, RuleBase, Switch, WinBackRule,
};

use crate::error::{Error, ErrorKind, Result};
use crate::money::Money;

/// The kind of a care action. Cool-downs and the contact history are kept per kind; the
/// declaration order is the tie-break order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum ActionKind {
    /// Birthday greeting.
    Birthday,
    /// Festival greeting.
    Festival,
    /// Post-delivery check-in.
    CheckIn,
    /// Use and upkeep tips.
    CareTip,
    /// Replenishment reminder.
    Replenish,
    /// A promotion matching the customer's taste.
    PreferenceMatch,
    /// Win-back offer.
    WinBack,
    /// Review request.
    ReviewRequest,
}

impl ActionKind {
    /// Every kind, in tie-break order.
    pub const ALL: [ActionKind; 8] = [
        ActionKind::Birthday,
        ActionKind::Festival,
        ActionKind::CheckIn,
        ActionKind::CareTip,
        ActionKind::Replenish,
        ActionKind::PreferenceMatch,
        ActionKind::WinBack,
        ActionKind::ReviewRequest,
    ];

    /// The purpose of actions of this kind: [`Purpose::Service`] for check-ins and care
    /// tips (about an order the customer placed), [`Purpose::Marketing`] for the rest.
    #[must_use]
    pub fn purpose(self) -> Purpose {
        match self {
            ActionKind::CheckIn | ActionKind::CareTip => Purpose::Service,
            ActionKind::Birthday
            | ActionKind::Festival
            | ActionKind::Replenish
            | ActionKind::PreferenceMatch
            | ActionKind::WinBack
            | ActionKind::ReviewRequest => Purpose::Marketing,
        }
    }

    /// A stable snake_case name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Birthday => "birthday",
            ActionKind::Festival => "festival",
            ActionKind::CheckIn => "check_in",
            ActionKind::CareTip => "care_tip",
            ActionKind::Replenish => "replenish",
            ActionKind::PreferenceMatch => "preference_match",
            ActionKind::WinBack => "win_back",
            ActionKind::ReviewRequest => "review_request",
        }
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Why a rule fired: a stable code for templates and analytics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum ReasonCode {
    /// Today (local) is the customer's birthday.
    BirthdayToday,
    /// Today (local) is a festival of the customer's market.
    FestivalToday,
    /// A delivery arrived the configured number of days ago.
    DeliveredDaysAgo,
    /// A delivered order contains a category that needs upkeep.
    UpkeepCategory,
    /// The customer's own purchase interval for a category is nearly up.
    OwnIntervalElapsed,
    /// The product's nominal cycle is nearly up.
    NominalCycleElapsed,
    /// A running promotion carries one of the customer's tags.
    PromotionMatchesTag,
    /// The customer is in an at-risk RFM segment and valuable enough.
    AtRiskSegment,
    /// The customer has no segment, has not ordered for the configured days and is valuable
    /// enough.
    QuietSinceLastOrder,
    /// A check-in was sent the configured number of days ago.
    AfterCheckIn,
}

impl ReasonCode {
    /// A stable snake_case code.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::BirthdayToday => "birthday_today",
            ReasonCode::FestivalToday => "festival_today",
            ReasonCode::DeliveredDaysAgo => "delivered_days_ago",
            ReasonCode::UpkeepCategory => "upkeep_category",
            ReasonCode::OwnIntervalElapsed => "own_interval_elapsed",
            ReasonCode::NominalCycleElapsed => "nominal_cycle_elapsed",
            ReasonCode::PromotionMatchesTag => "promotion_matches_tag",
            ReasonCode::AtRiskSegment => "at_risk_segment",
            ReasonCode::QuietSinceLastOrder => "quiet_since_last_order",
            ReasonCode::AfterCheckIn => "after_check_in",
        }
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Where a replenishment interval came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum IntervalSource {
    /// The customer's own mean interval between purchase days.
    Own,
    /// The product's nominal cycle supplied by the host.
    Nominal,
}

/// The facts that made a rule fire.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Trigger {
    /// Birthday.
    Birthday {
        /// The birthday on file.
        birthday: Birthday,
        /// The customer's local date it was observed on (28 Feb or 1 Mar for a 29 Feb
        /// birthday in a non-leap year).
        local_date: NaiveDate,
    },
    /// Festival.
    Festival {
        /// The customer's market.
        market: String,
        /// The festival's name.
        festival: String,
        /// The customer's local date.
        local_date: NaiveDate,
    },
    /// Check-in.
    CheckIn {
        /// The order.
        order: String,
        /// Its order date.
        ordered: NaiveDate,
        /// Its delivery date.
        delivered: NaiveDate,
        /// Local days since delivery.
        days_since_delivery: u32,
    },
    /// Care tip.
    CareTip {
        /// The order.
        order: String,
        /// The upkeep category (the first in name order if several).
        category: String,
        /// Its delivery date.
        delivered: NaiveDate,
        /// Local days since delivery.
        days_since_delivery: u32,
    },
    /// Replenishment.
    Replenish {
        /// The category.
        category: String,
        /// The last purchase day of the category.
        last_purchase: NaiveDate,
        /// The interval used, in days.
        interval_days: u32,
        /// Own interval or nominal cycle.
        source: IntervalSource,
        /// Purchase days of the category.
        purchases: u32,
        /// Local days since the last purchase.
        days_since_purchase: u32,
    },
    /// Preference match.
    PreferenceMatch {
        /// The promotion.
        promotion: String,
        /// Tags shared by the promotion and the customer, sorted.
        matched_tags: Vec<String>,
        /// The last day of the promotion.
        valid_until: NaiveDate,
    },
    /// Win-back.
    WinBack {
        /// The customer's segment.
        segment: Option<String>,
        /// The customer's value.
        value: Option<Money>,
        /// The last order date, if any.
        last_order: Option<NaiveDate>,
        /// Local days since then.
        days_since_last_order: Option<u32>,
    },
    /// Review request.
    ReviewRequest {
        /// When the check-in was sent.
        checked_in_at: DateTime<Utc>,
        /// Local days since then.
        days_since_check_in: u32,
    },
}

/// Whether an action can go now or waits for the end of quiet hours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Timing {
    /// Send now (`send_at == now`).
    Now,
    /// Due in the customer's quiet hours: send at `send_at`, the end of the window.
    Deferred,
}

/// One action due for one customer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Action {
    /// The customer.
    pub customer: CustomerId,
    /// What to do.
    pub kind: ActionKind,
    /// Why.
    pub reason: ReasonCode,
    /// The facts behind the reason.
    pub trigger: Trigger,
    /// The channel (one the customer consented to for the action's purpose).
    pub channel: Channel,
    /// Service or marketing ([`ActionKind::purpose`]).
    pub purpose: Purpose,
    /// The rule's priority (higher first).
    pub priority: u8,
    /// The customer's language, for template selection.
    pub language: String,
    /// The customer's local date at `now`.
    pub local_date: NaiveDate,
    /// Now or deferred.
    pub timing: Timing,
    /// When to send (UTC).
    pub send_at: DateTime<Utc>,
}

/// Why a due action was not scheduled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum HoldReason {
    /// The customer consented to none of the rule's channels for the action's purpose.
    NoConsent,
    /// A contact of the same kind was sent too recently.
    CoolDown {
        /// The last contact of that kind.
        last: DateTime<Utc>,
        /// When the cool-down ends.
        until: DateTime<Utc>,
    },
    /// A per-period cap is used up: the overall cap or one of [`Pressure::caps`] (the first
    /// full one, overall cap first).
    CapReached {
        /// The cap.
        max_contacts: u32,
        /// Contacts already made in the period, in the cap's scope.
        recent_contacts: u32,
    },
    /// Quiet hours with [`QuietHoursPolicy::Hold`].
    QuietHours {
        /// End of the quiet window.
        until: DateTime<Utc>,
    },
}

/// A due action held back by contact pressure.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Held {
    /// The customer.
    pub customer: CustomerId,
    /// What the rule proposed.
    pub kind: ActionKind,
    /// Why the rule fired.
    pub reason: ReasonCode,
    /// The facts behind the reason.
    pub trigger: Trigger,
    /// Why it is held back.
    pub hold: HoldReason,
}

/// The result of [`due`].
///
/// Stored with a format version (see [`crate::version`]): a `version` field (2) first; a
/// plan without it, as written before versions were recorded, reads as version 1.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CarePlan {
    /// Actions to send, by priority (highest first), then customer id, then kind.
    pub actions: Vec<Action>,
    /// Actions held back, by customer id, then kind.
    pub held: Vec<Held>,
}

versioned_serde!(CarePlan, "care plan", 2, { actions: Vec<Action>, held: Vec<Held> });

/// The host's facts for one run of [`due`].
#[derive(Clone, Copy, Debug)]
pub struct CareInput<'a> {
    /// The customers to plan for (ids unique). Orders and contacts of other customers are
    /// ignored, so a host can plan in batches.
    pub customers: &'a [Customer],
    /// Orders of any customers, in any order.
    pub orders: &'a [Order],
    /// Past contacts of any customers, in any order.
    pub contacts: &'a [Contact],
    /// Promotions.
    pub promotions: &'a [Promotion],
    /// Festivals per market.
    pub calendar: &'a FestivalCalendar,
}

impl<'a> CareInput<'a> {
    /// The input for `customers`, with no orders, contacts, promotions or festivals; add
    /// them with the setters below.
    #[must_use]
    pub fn new(customers: &'a [Customer]) -> CareInput<'a> {
        CareInput {
            customers,
            orders: &[],
            contacts: &[],
            promotions: &[],
            calendar: &festival::NO_FESTIVALS,
        }
    }

    /// Sets the orders.
    #[must_use]
    pub fn orders(mut self, orders: &'a [Order]) -> CareInput<'a> {
        self.orders = orders;
        self
    }

    /// Sets the past contacts.
    #[must_use]
    pub fn contacts(mut self, contacts: &'a [Contact]) -> CareInput<'a> {
        self.contacts = contacts;
        self
    }

    /// Sets the promotions.
    #[must_use]
    pub fn promotions(mut self, promotions: &'a [Promotion]) -> CareInput<'a> {
        self.promotions = promotions;
        self
    }

    /// Sets the festival calendar.
    #[must_use]
    pub fn calendar(mut self, calendar: &'a FestivalCalendar) -> CareInput<'a> {
        self.calendar = calendar;
        self
    }
}

/// The care actions due at `now`, with reasons, and the ones held back by contact pressure.
///
/// Cost: sorting the orders and contacts (`O(n log n)`), then for each customer its own
/// orders and contacts plus a scan of the promotions.
///
/// # Errors
///
/// - [`ErrorKind::InvalidInput`] for a bad [`CareConfig`] (e.g. an enabled rule without
///   channels), or for `now` within a day of the limits of chrono's range (where a customer's
///   local date does not exist).
/// - [`ErrorKind::InvalidRecord`] for a customer id given twice (`customers[index]`), an order
///   delivered before it was ordered (`orders[index]`), a promotion ending before it starts
///   (`promotions[index]`) or a contact within a day of the limits of chrono's range
///   (`contacts[index]`).
/// - [`ErrorKind::CurrencyMismatch`] when a customer's value and the win-back threshold are
///   in different currencies.
pub fn due(now: DateTime<Utc>, config: &CareConfig, input: &CareInput<'_>) -> Result<CarePlan> {
    config.validate()?;
    validate_input(config, now, input)?;
    let mut sorted = plan::Sorted::new(input);
    let mut caps = plan::Caps::new(&config.pressure, now);
    let mut scratch = plan::Scratch::default();
    let mut out = CarePlan::default();
    for customer in std::mem::take(&mut sorted.customers) {
        plan::customer(now, config, &mut sorted, customer, &mut caps, &mut scratch, &mut out)?;
    }
    // Customers were visited in id order, so a stable sort keeps id then kind order inside
    // each priority.
    out.actions.sort_by_key(|a| (Reverse(a.priority), a.customer, a.kind));
    out.held.sort_by_key(|h| (h.customer, h.kind));
    Ok(out)
}

/// Moves an [`ErrorKind::InvalidInput`] about one record of a slice to an
/// [`ErrorKind::InvalidRecord`] naming its position.
fn at_record(index: usize, e: Error) -> Error {
    match e.into_kind() {
        ErrorKind::InvalidInput { field, value, reason } => {
            ErrorKind::InvalidRecord { index, field, value, reason }.into()
        }
        kind => kind.into(),
    }
}

/// Whether every time zone's wall clock at `at` is inside chrono's range: UTC offsets are
/// under a day, so a day's margin from either limit is enough.
fn local_in_range(at: DateTime<Utc>) -> bool {
    let margin = Duration::days(1);
    DateTime::<Utc>::MIN_UTC.checked_add_signed(margin).is_some_and(|lo| at >= lo)
        && DateTime::<Utc>::MAX_UTC.checked_sub_signed(margin).is_some_and(|hi| at <= hi)
}

fn validate_input(config: &CareConfig, now: DateTime<Utc>, input: &CareInput<'_>) -> Result<()> {
    if !local_in_range(now) {
        return Err(Error::invalid("now", now, "within a day of the limits of representable time"));
    }
    let mut ids: Vec<(CustomerId, usize)> =
        input.customers.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
    ids.sort_unstable();
    for w in ids.windows(2) {
        if let [(a, _), (b, j)] = w {
            if a == b {
                return Err(Error::invalid_record(*j, "id", b, "customer id given twice"));
            }
        }
    }
    for (i, o) in input.orders.iter().enumerate() {
        o.check().map_err(|e| at_record(i, e))?;
    }
    for (i, p) in input.promotions.iter().enumerate() {
        p.check().map_err(|e| at_record(i, e))?;
    }
    for (i, c) in input.contacts.iter().enumerate() {
        if !local_in_range(c.at) {
            return Err(Error::invalid_record(
                i,
                "at",
                c.at,
                "within a day of the limits of representable time",
            ));
        }
    }
    if let Some(min) = &config.win_back.min_value {
        for c in input.customers {
            if let Some(v) = &c.value {
                if v.currency() != min.currency() {
                    return Err(ErrorKind::CurrencyMismatch {
                        left: min.currency().to_string(),
                        right: v.currency().to_string(),
                    }
                    .into());
                }
            }
        }
    }
    Ok(())
}
