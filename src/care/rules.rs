//! The rules: configuration and the candidates each rule proposes for one customer.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use super::facts::{Channel, Contact, Customer, LeapDayPolicy, Order, Promotion};
use super::festival::FestivalCalendar;
use super::pressure::{local_datetime, Pressure};
use super::{ActionKind, IntervalSource, ReasonCode, Trigger};
use crate::error::{Error, Result};
use crate::money::Money;

/// Whether a rule runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Switch {
    /// The rule proposes actions.
    #[default]
    On,
    /// The rule is skipped.
    Off,
}

/// Settings every rule has.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RuleBase {
    /// On or off.
    pub switch: Switch,
    /// Higher goes first in the output and wins when the cap leaves room for fewer actions.
    pub priority: u8,
    /// No action of this kind if the customer got one less than this many days ago.
    pub cool_down_days: u32,
    /// Channels in order of preference; the first one the customer consented to is used.
    pub channels: Vec<Channel>,
}

impl RuleBase {
    fn new(priority: u8, cool_down_days: u32) -> RuleBase {
        RuleBase {
            switch: Switch::On,
            priority,
            cool_down_days,
            channels: vec![Channel::Email, Channel::Messenger, Channel::Push, Channel::Sms],
        }
    }

    fn validate(&self, rule: &'static str) -> Result<()> {
        if self.switch == Switch::On && self.channels.is_empty() {
            return Err(Error::invalid(rule, "channels = []", "an enabled rule needs a channel"));
        }
        Ok(())
    }

    fn on(&self) -> bool {
        self.switch == Switch::On
    }
}

/// Birthday greeting on the customer's local date.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct BirthdayRule {
    /// Common settings (default priority 90, cool-down 30 days).
    pub base: RuleBase,
    /// 29 February in non-leap years.
    pub leap_day: LeapDayPolicy,
}

impl Default for BirthdayRule {
    fn default() -> BirthdayRule {
        BirthdayRule { base: RuleBase::new(90, 30), leap_day: LeapDayPolicy::default() }
    }
}

/// Festival greeting for the customer's market, on the local date.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct FestivalRule {
    /// Common settings (default priority 85, cool-down 2 days).
    pub base: RuleBase,
}

impl Default for FestivalRule {
    fn default() -> FestivalRule {
        FestivalRule { base: RuleBase::new(85, 2) }
    }
}

/// Days between delivery and the check-in: at least 1 (default 7).
///
/// Zero is unrepresentable: a check-in on the day of delivery asks about goods not yet used.
/// Its serde form is the bare number of days, validated when read.
///
/// # Example
///
/// ```
/// use loyalty::care::CheckInDelay;
/// use loyalty::ErrorKind;
///
/// assert_eq!(CheckInDelay::default().days(), 7);
/// assert_eq!(CheckInDelay::new(5)?.days(), 5);
/// let err = CheckInDelay::new(0).unwrap_err();
/// assert!(matches!(err.kind(), ErrorKind::InvalidInput { field: "check_in.delay_days", .. }));
/// # Ok::<(), loyalty::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "u32", into = "u32"))]
pub struct CheckInDelay(u32);

impl CheckInDelay {
    /// A delay of `days` days after delivery.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for field
    /// `check_in.delay_days` when `days` is zero.
    pub fn new(days: u32) -> Result<CheckInDelay> {
        if days == 0 {
            return Err(Error::invalid("check_in.delay_days", 0, "must be at least 1"));
        }
        Ok(CheckInDelay(days))
    }

    /// The delay in days (at least 1).
    #[must_use]
    pub fn days(self) -> u32 {
        self.0
    }
}

impl Default for CheckInDelay {
    /// Seven days: about a week after the goods arrive.
    fn default() -> CheckInDelay {
        CheckInDelay(7)
    }
}

impl std::fmt::Display for CheckInDelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} days", self.0)
    }
}

impl TryFrom<u32> for CheckInDelay {
    type Error = Error;
    fn try_from(days: u32) -> Result<CheckInDelay> {
        CheckInDelay::new(days)
    }
}

impl From<CheckInDelay> for u32 {
    fn from(d: CheckInDelay) -> u32 {
        d.0
    }
}

/// Check-in a few days after delivery.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct CheckInRule {
    /// Common settings (default priority 80, cool-down 3 days).
    pub base: RuleBase,
    /// Days after delivery (default 7, never zero).
    pub delay_days: CheckInDelay,
    /// Extra days the check-in stays due if a daily run was missed (default 3).
    pub window_days: u32,
}

impl Default for CheckInRule {
    fn default() -> CheckInRule {
        CheckInRule {
            base: RuleBase::new(80, 3),
            delay_days: CheckInDelay::default(),
            window_days: 3,
        }
    }
}

/// Use-and-upkeep tips for delivered goods in categories that need care.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct CareTipRule {
    /// Common settings (default priority 45, cool-down 3 days).
    pub base: RuleBase,
    /// Categories that need upkeep (`"cast-iron"`, `"leather"`); empty: the rule never fires.
    pub upkeep_categories: BTreeSet<String>,
    /// Days after delivery (default 10; zero allowed: tips on the day of arrival).
    pub delay_days: u32,
    /// Extra days the tip stays due (default 3).
    pub window_days: u32,
}

impl Default for CareTipRule {
    fn default() -> CareTipRule {
        CareTipRule {
            base: RuleBase::new(45, 3),
            upkeep_categories: BTreeSet::new(),
            delay_days: 10,
            window_days: 3,
        }
    }
}

/// Which interval drives a replenishment reminder.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum IntervalPreference {
    /// The customer's own interval when they bought the category often enough, else the
    /// product's nominal cycle.
    #[default]
    OwnThenNominal,
    /// The nominal cycle when the host gave one, else the customer's own interval.
    NominalThenOwn,
}

/// Replenishment reminders for categories that run out.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct ReplenishRule {
    /// Common settings (default priority 60, cool-down 7 days).
    pub base: RuleBase,
    /// Categories that run out, each with its nominal cycle in days when known
    /// (`"coffee-beans" -> Some(30)`); empty: the rule never fires. A run reminds of the
    /// most overdue category not yet reminded since its last purchase.
    pub categories: BTreeMap<String, Option<u32>>,
    /// Own interval or nominal cycle first.
    pub prefer: IntervalPreference,
    /// Purchases on distinct days needed before the own interval is trusted (default 2,
    /// at least 2). The own interval is `(last − first) / (purchases − 1)` days, rounded down.
    pub min_purchases_for_own: u32,
    /// Remind this many days before the interval is up (default 3).
    pub lead_days: u32,
    /// Stop reminding once the purchase is this many intervals old (default 3; at least 1):
    /// by then the customer is a win-back case.
    pub give_up_after_intervals: u32,
}

impl Default for ReplenishRule {
    fn default() -> ReplenishRule {
        ReplenishRule {
            base: RuleBase::new(60, 7),
            categories: BTreeMap::new(),
            prefer: IntervalPreference::default(),
            min_purchases_for_own: 2,
            lead_days: 3,
            give_up_after_intervals: 3,
        }
    }
}

/// A promotion carries one of the customer's preference tags.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct PreferenceRule {
    /// Common settings (default priority 30, cool-down 7 days).
    pub base: RuleBase,
}

impl Default for PreferenceRule {
    fn default() -> PreferenceRule {
        PreferenceRule { base: RuleBase::new(30, 7) }
    }
}

/// Win-back for valuable customers who are slipping away.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct WinBackRule {
    /// Common settings (default priority 70, cool-down 90 days).
    pub base: RuleBase,
    /// RFM segments that count as slipping away (default `"At Risk"`, `"Cannot Lose Them"`).
    pub segments: BTreeSet<String>,
    /// Minimum customer value; `None`: any value. A customer without a value never passes
    /// a threshold.
    pub min_value: Option<Money>,
    /// For customers with no segment: slipping away when the last order is at least this
    /// many days old. `None` (default): customers without a segment are never won back.
    pub quiet_days_without_segment: Option<u32>,
}

impl Default for WinBackRule {
    fn default() -> WinBackRule {
        WinBackRule {
            base: RuleBase::new(70, 90),
            segments: ["At Risk", "Cannot Lose Them"].into_iter().map(String::from).collect(),
            min_value: None,
            quiet_days_without_segment: None,
        }
    }
}

/// Review request a few days after a check-in was sent.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct ReviewRule {
    /// Common settings (default priority 50, cool-down 30 days).
    pub base: RuleBase,
    /// Days after the check-in (default 3).
    pub delay_days: u32,
    /// Extra days the request stays due (default 7).
    pub window_days: u32,
}

impl Default for ReviewRule {
    fn default() -> ReviewRule {
        ReviewRule { base: RuleBase::new(50, 30), delay_days: 3, window_days: 7 }
    }
}

/// The whole configuration: every rule and the contact pressure.
///
/// Plain data with defaults; [`due`](super::due) validates it on every call (cheap), and it
/// can be checked ahead with [`CareConfig::validate`].
///
/// Deserialization validates too: a stored configuration with, say, a check-in delay of zero
/// is rejected when it is read. Missing fields take their defaults, in the configuration and
/// in each rule and the pressure settings (a rule's `base`, a cap and quiet hours are read
/// whole).
///
/// Stored with a format version (see [`crate::version`]): a `version` field (2) before the
/// rules; a configuration without it, as written before versions were recorded, reads as
/// version 1 (the same fields).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "CareConfigRepr", into = "CareConfigRepr"))]
pub struct CareConfig {
    /// Birthday greetings.
    pub birthday: BirthdayRule,
    /// Festival greetings.
    pub festival: FestivalRule,
    /// Post-delivery check-ins.
    pub check_in: CheckInRule,
    /// Care tips.
    pub care_tip: CareTipRule,
    /// Replenishment reminders.
    pub replenish: ReplenishRule,
    /// Preference matches.
    pub preference: PreferenceRule,
    /// Win-back.
    pub win_back: WinBackRule,
    /// Review requests.
    pub review: ReviewRule,
    /// Cap, quiet hours, cool-down policy.
    pub pressure: Pressure,
}

/// The newest format version of a stored [`CareConfig`]: 2 adds the `version` field (1:
/// none, the same rules).
#[cfg(feature = "serde")]
const CARE_CONFIG_VERSION: u32 = 2;

/// The unvalidated wire form of [`CareConfig`].
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(default)]
struct CareConfigRepr {
    version: u32,
    birthday: BirthdayRule,
    festival: FestivalRule,
    check_in: CheckInRule,
    care_tip: CareTipRule,
    replenish: ReplenishRule,
    preference: PreferenceRule,
    win_back: WinBackRule,
    review: ReviewRule,
    pressure: Pressure,
}

#[cfg(feature = "serde")]
impl Default for CareConfigRepr {
    fn default() -> CareConfigRepr {
        // A missing field means a configuration written before versions were recorded.
        CareConfigRepr { version: 1, ..CareConfigRepr::from(CareConfig::default()) }
    }
}

#[cfg(feature = "serde")]
impl TryFrom<CareConfigRepr> for CareConfig {
    type Error = Error;
    fn try_from(r: CareConfigRepr) -> Result<CareConfig> {
        crate::version::check("care configuration", r.version, CARE_CONFIG_VERSION)?;
        let c = CareConfig {
            birthday: r.birthday,
            festival: r.festival,
            check_in: r.check_in,
            care_tip: r.care_tip,
            replenish: r.replenish,
            preference: r.preference,
            win_back: r.win_back,
            review: r.review,
            pressure: r.pressure,
        };
        c.validate()?;
        Ok(c)
    }
}

#[cfg(feature = "serde")]
impl From<CareConfig> for CareConfigRepr {
    fn from(c: CareConfig) -> CareConfigRepr {
        CareConfigRepr {
            version: CARE_CONFIG_VERSION,
            birthday: c.birthday,
            festival: c.festival,
            check_in: c.check_in,
            care_tip: c.care_tip,
            replenish: c.replenish,
            preference: c.preference,
            win_back: c.win_back,
            review: c.review,
            pressure: c.pressure,
        }
    }
}

impl CareConfig {
    /// Checks every parameter.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming the parameter: an
    /// enabled rule without channels, a zero cap period, quiet hours with equal start and
    /// end, fewer than two purchases for an own interval, a zero nominal cycle or give-up
    /// multiple. (A zero check-in delay cannot be built: see [`CheckInDelay`].)
    pub fn validate(&self) -> Result<()> {
        self.birthday.base.validate("birthday.channels")?;
        self.festival.base.validate("festival.channels")?;
        self.check_in.base.validate("check_in.channels")?;
        self.care_tip.base.validate("care_tip.channels")?;
        self.replenish.base.validate("replenish.channels")?;
        self.preference.base.validate("preference.channels")?;
        self.win_back.base.validate("win_back.channels")?;
        self.review.base.validate("review.channels")?;
        let r = &self.replenish;
        if r.min_purchases_for_own < 2 {
            return Err(Error::invalid(
                "replenish.min_purchases_for_own",
                r.min_purchases_for_own,
                "an interval needs at least 2 purchases",
            ));
        }
        if r.give_up_after_intervals == 0 {
            return Err(Error::invalid(
                "replenish.give_up_after_intervals",
                0,
                "must be at least 1",
            ));
        }
        for (cat, cycle) in &r.categories {
            if *cycle == Some(0) {
                return Err(Error::invalid(
                    "replenish.categories",
                    cat,
                    "nominal cycle must be at least 1 day",
                ));
            }
        }
        self.pressure.validate()
    }

    /// The common settings (switch, priority, cool-down, channels) of the rule behind
    /// `kind`.
    #[must_use]
    pub fn base(&self, kind: ActionKind) -> &RuleBase {
        match kind {
            ActionKind::Birthday => &self.birthday.base,
            ActionKind::Festival => &self.festival.base,
            ActionKind::CheckIn => &self.check_in.base,
            ActionKind::CareTip => &self.care_tip.base,
            ActionKind::Replenish => &self.replenish.base,
            ActionKind::PreferenceMatch => &self.preference.base,
            ActionKind::WinBack => &self.win_back.base,
            ActionKind::ReviewRequest => &self.review.base,
        }
    }
}

/// One rule's proposal before contact pressure is applied.
#[derive(Clone, Debug)]
pub(crate) struct Candidate {
    pub kind: ActionKind,
    pub reason: ReasonCode,
    pub trigger: Trigger,
}

/// Everything the rules see about one customer.
pub(crate) struct View<'a> {
    pub today: NaiveDate,
    /// The local date birthday greetings are judged on ([`GreetingDay`](super::GreetingDay)).
    pub greeting_day: NaiveDate,
    /// The same for festival greetings (their channel's quiet hours may differ).
    pub festival_day: NaiveDate,
    pub customer: &'a Customer,
    /// The customer's orders sorted by order date.
    pub orders: &'a [&'a Order],
    /// The customer's contacts sorted by (kind, time).
    pub contacts: &'a [Contact],
    pub calendar: &'a FestivalCalendar,
    /// Promotions sorted by (valid_until, id, ...).
    pub promotions: &'a [&'a Promotion],
    /// (tag, position in `promotions`) for every tag of every promotion, sorted.
    pub promotion_tags: &'a [(&'a str, usize)],
}

impl View<'_> {
    /// The last contact of a kind.
    pub fn last(&self, kind: ActionKind) -> Option<DateTime<Utc>> {
        // Contacts are sorted by (kind, at): the last of the run is the latest.
        let end = self.contacts.partition_point(|c| c.kind <= kind);
        self.contacts[..end].last().filter(|c| c.kind == kind).map(|c| c.at)
    }

    fn tz(&self) -> Tz {
        self.customer.time_zone
    }

    fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        // `due` rejects contacts whose local time is out of range, so the fallback is never
        // taken; it keeps this path free of chrono's panicking conversion.
        local_datetime(at, self.tz()).map_or(NaiveDate::MIN, |t| t.date())
    }

    /// Whether a contact of `kind` was made on or after the local date `since`.
    fn contacted_since(&self, kind: ActionKind, since: NaiveDate) -> bool {
        self.last(kind).is_some_and(|at| self.local_date(at) >= since)
    }

    fn days_since(&self, date: NaiveDate) -> i64 {
        (self.today - date).num_days()
    }
}

fn days_u32(d: i64) -> u32 {
    u32::try_from(d.max(0)).unwrap_or(u32::MAX)
}

/// Appends the candidates of every enabled rule for one customer.
pub(crate) fn candidates(cfg: &CareConfig, v: &View<'_>, out: &mut Vec<Candidate>) -> Result<()> {
    if cfg.birthday.base.on() {
        birthday(cfg, v, out);
    }
    if cfg.festival.base.on() {
        if let Some(f) = v.calendar.festival_on(&v.customer.market, v.festival_day) {
            out.push(Candidate {
                kind: ActionKind::Festival,
                reason: ReasonCode::FestivalToday,
                trigger: Trigger::Festival {
                    market: v.customer.market.clone(),
                    festival: f.name.clone(),
                    local_date: v.festival_day,
                },
            });
        }
    }
    if cfg.check_in.base.on() {
        check_in(cfg, v, out);
    }
    if cfg.care_tip.base.on() {
        care_tip(cfg, v, out);
    }
    if cfg.replenish.base.on() {
        replenish(cfg, v, out);
    }
    if cfg.preference.base.on() {
        preference(v, out);
    }
    if cfg.win_back.base.on() {
        win_back(cfg, v, out)?;
    }
    if cfg.review.base.on() {
        review(cfg, v, out);
    }
    Ok(())
}

fn birthday(cfg: &CareConfig, v: &View<'_>, out: &mut Vec<Candidate>) {
    use chrono::Datelike;
    let Some(b) = v.customer.birthday else { return };
    let day = v.greeting_day;
    let Some(observed) = b.observed_in(day.year(), cfg.birthday.leap_day) else { return };
    if observed == day {
        out.push(Candidate {
            kind: ActionKind::Birthday,
            reason: ReasonCode::BirthdayToday,
            trigger: Trigger::Birthday { birthday: b, local_date: day },
        });
    }
}

fn check_in(cfg: &CareConfig, v: &View<'_>, out: &mut Vec<Candidate>) {
    let r = &cfg.check_in;
    let lo = i64::from(r.delay_days.days());
    let hi = lo + i64::from(r.window_days);
    // The most recent qualifying delivery; ties on the order id.
    let best = v
        .orders
        .iter()
        .filter_map(|o| o.delivered.map(|d| (d, *o)))
        .filter(|(d, _)| (lo..=hi).contains(&v.days_since(*d)))
        .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.id.cmp(&a.1.id)));
    let Some((delivered, order)) = best else { return };
    if v.contacted_since(ActionKind::CheckIn, delivered) {
        return;
    }
    out.push(Candidate {
        kind: ActionKind::CheckIn,
        reason: ReasonCode::DeliveredDaysAgo,
        trigger: Trigger::CheckIn {
            order: order.id.clone(),
            ordered: order.ordered,
            delivered,
            days_since_delivery: days_u32(v.days_since(delivered)),
        },
    });
}

fn care_tip(cfg: &CareConfig, v: &View<'_>, out: &mut Vec<Candidate>) {
    let r = &cfg.care_tip;
    if r.upkeep_categories.is_empty() {
        return;
    }
    let lo = i64::from(r.delay_days);
    let hi = lo + i64::from(r.window_days);
    let mut best: Option<(NaiveDate, &Order, &String)> = None;
    for o in v.orders {
        let Some(d) = o.delivered else { continue };
        if !(lo..=hi).contains(&v.days_since(d)) {
            continue;
        }
        // Both sets are sorted: the first shared category.
        let Some(cat) = o.categories.iter().find(|c| r.upkeep_categories.contains(*c)) else {
            continue;
        };
        let better = match best {
            None => true,
            Some((bd, bo, _)) => d > bd || (d == bd && o.id < bo.id),
        };
        if better {
            best = Some((d, o, cat));
        }
    }
    let Some((delivered, order, category)) = best else { return };
    if v.contacted_since(ActionKind::CareTip, delivered) {
        return;
    }
    out.push(Candidate {
        kind: ActionKind::CareTip,
        reason: ReasonCode::UpkeepCategory,
        trigger: Trigger::CareTip {
            order: order.id.clone(),
            category: category.clone(),
            delivered,
            days_since_delivery: days_u32(v.days_since(delivered)),
        },
    });
}

fn replenish(cfg: &CareConfig, v: &View<'_>, out: &mut Vec<Candidate>) {
    let r = &cfg.replenish;
    // (overdue days, category, last, interval, source, purchases)
    let mut best: Option<(i64, &String, NaiveDate, u32, IntervalSource, u32)> = None;
    for (cat, nominal) in &r.categories {
        let mut first = None;
        let mut last: Option<NaiveDate> = None;
        let mut distinct = 0u32;
        for o in v.orders.iter().filter(|o| o.categories.contains(cat)) {
            // Orders are sorted by date, so a new date is a new purchase day.
            if last != Some(o.ordered) {
                distinct = distinct.saturating_add(1);
                first = first.or(Some(o.ordered));
                last = Some(o.ordered);
            }
        }
        let (Some(first), Some(last)) = (first, last) else { continue };
        let own = (distinct >= r.min_purchases_for_own).then(|| {
            let span = (last - first).num_days();
            days_u32(span / i64::from(distinct - 1))
        });
        let chosen = match (r.prefer, own, *nominal) {
            (IntervalPreference::OwnThenNominal, Some(o), _) => Some((o, IntervalSource::Own)),
            (IntervalPreference::OwnThenNominal, None, Some(n)) => {
                Some((n, IntervalSource::Nominal))
            }
            (IntervalPreference::NominalThenOwn, _, Some(n)) => Some((n, IntervalSource::Nominal)),
            (IntervalPreference::NominalThenOwn, Some(o), None) => Some((o, IntervalSource::Own)),
            _ => None,
        };
        let Some((interval, source)) = chosen else { continue };
        if interval == 0 {
            continue;
        }
        let since = v.days_since(last);
        let due_from = i64::from(interval) - i64::from(r.lead_days);
        // Two u32 factors can exceed i64; past i64::MAX days nothing is ever given up on.
        let give_up = i64::from(interval).saturating_mul(i64::from(r.give_up_after_intervals));
        // A purchase dated after today (a pre-order) is nothing to replenish yet, however
        // long the lead.
        if since < 0 || since < due_from || since > give_up {
            continue;
        }
        // A category already reminded since its last purchase is done with; it must not
        // hide another that is due (reminders are kept per kind, not per category).
        if v.contacted_since(ActionKind::Replenish, last) {
            continue;
        }
        let overdue = since - i64::from(interval);
        // Most overdue first; categories iterate in name order, so ties keep the first name.
        if best.as_ref().is_none_or(|b| overdue > b.0) {
            best = Some((overdue, cat, last, interval, source, distinct));
        }
    }
    let Some((_, cat, last, interval, source, purchases)) = best else { return };
    out.push(Candidate {
        kind: ActionKind::Replenish,
        reason: match source {
            IntervalSource::Own => ReasonCode::OwnIntervalElapsed,
            IntervalSource::Nominal => ReasonCode::NominalCycleElapsed,
        },
        trigger: Trigger::Replenish {
            category: cat.clone(),
            last_purchase: last,
            interval_days: interval,
            source,
            purchases,
            days_since_purchase: days_u32(v.days_since(last)),
        },
    });
}

fn preference(v: &View<'_>, out: &mut Vec<Candidate>) {
    let c = v.customer;
    if c.tags.is_empty() {
        return;
    }
    // Look the customer's tags up in the tag index rather than scanning every promotion.
    // Promotions are sorted by (valid_until, id): the lowest position ends soonest.
    let mut best: Option<usize> = None;
    for tag in &c.tags {
        let lo = v.promotion_tags.partition_point(|(t, _)| *t < tag.as_str());
        for &(t, i) in &v.promotion_tags[lo..] {
            if t != tag.as_str() {
                break;
            }
            if best.is_some_and(|b| b <= i) {
                continue;
            }
            let Some(p) = v.promotions.get(i) else { continue };
            if p.valid_from <= v.today
                && v.today <= p.valid_until
                && (p.markets.is_empty() || p.markets.contains(&c.market))
            {
                best = Some(i);
            }
        }
    }
    let Some(p) = best.and_then(|i| v.promotions.get(i)) else { return };
    out.push(Candidate {
        kind: ActionKind::PreferenceMatch,
        reason: ReasonCode::PromotionMatchesTag,
        trigger: Trigger::PreferenceMatch {
            promotion: p.id.clone(),
            matched_tags: p.tags.intersection(&c.tags).cloned().collect(),
            valid_until: p.valid_until,
        },
    });
}

fn win_back(cfg: &CareConfig, v: &View<'_>, out: &mut Vec<Candidate>) -> Result<()> {
    let r = &cfg.win_back;
    let c = v.customer;
    let last_order = v.orders.iter().map(|o| o.ordered).max();
    let days = last_order.map(|d| days_u32(v.days_since(d)));
    let reason = match (&c.segment, r.quiet_days_without_segment, days) {
        (Some(s), _, _) if r.segments.contains(s) => ReasonCode::AtRiskSegment,
        (None, Some(q), Some(d)) if d >= q => ReasonCode::QuietSinceLastOrder,
        _ => return Ok(()),
    };
    if let Some(min) = &r.min_value {
        let Some(value) = &c.value else { return Ok(()) };
        if value.try_cmp(min)? == std::cmp::Ordering::Less {
            return Ok(());
        }
    }
    out.push(Candidate {
        kind: ActionKind::WinBack,
        reason,
        trigger: Trigger::WinBack {
            segment: c.segment.clone(),
            value: c.value,
            last_order,
            days_since_last_order: days,
        },
    });
    Ok(())
}

fn review(cfg: &CareConfig, v: &View<'_>, out: &mut Vec<Candidate>) {
    let r = &cfg.review;
    let Some(at) = v.last(ActionKind::CheckIn) else { return };
    let since = v.days_since(v.local_date(at));
    let lo = i64::from(r.delay_days);
    if !(lo..=lo + i64::from(r.window_days)).contains(&since) {
        return;
    }
    if v.last(ActionKind::ReviewRequest).is_some_and(|t| t >= at) {
        return;
    }
    out.push(Candidate {
        kind: ActionKind::ReviewRequest,
        reason: ReasonCode::AfterCheckIn,
        trigger: Trigger::ReviewRequest { checked_in_at: at, days_since_check_in: days_u32(since) },
    });
}
