//! SLA policies: ordered filters over customer facts, each with targets per metric.
//!
//! Policies are matched in order and the first match wins (Zendesk `position`, Freshdesk,
//! JSM). A [`PolicySet`] always ends in a catch-all: either required of the caller or
//! synthesised from fallback targets, so every conversation gets exactly one policy. A policy
//! that can never match because an earlier policy's filter covers it is reported as a
//! [`PolicyWarning::Shadowed`].
//!
//! # Example
//!
//! ```
//! use loyalty::sla::{
//!     CatchAll, CustomerFacts, CustomerKind, Filter, MessageKind, Policy, PolicySet, Target,
//!     Targets, TimeSpan,
//! };
//!
//! // "Emails from old customers must be replied to the same day; tell them the message was
//! // received; never reply later than three days."
//! let old = Policy::new(
//!     "returning customers",
//!     Filter::any().customer(CustomerKind::Returning),
//!     Targets::none().first_reply(Target::business_days(0)).next_reply(Target::business_days(0)),
//! )?
//! .reply_kinds(&[MessageKind::AgentReply, MessageKind::AutoAcknowledgement])?
//! .cap(TimeSpan::days(3)?)?;
//! let fallback = Targets::none().first_reply(Target::working(TimeSpan::hours(24)?)?);
//! let set = PolicySet::new(vec![old], CatchAll::Synthesize(fallback))?;
//!
//! let facts = CustomerFacts { customer: CustomerKind::Returning, ..Default::default() };
//! assert_eq!(set.select(&facts).name(), "returning customers");
//! assert_eq!(set.select(&CustomerFacts::default()).name(), "catch-all");
//! # Ok::<(), loyalty::Error>(())
//! ```

use std::collections::BTreeSet;

use super::duration::{Cap, Target, TimeSpan};
use crate::error::{Error, Result};

/// Whether the customer has bought or written before.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum CustomerKind {
    /// A first-time customer.
    #[default]
    New,
    /// A returning ("old") customer.
    Returning,
}

/// Ticket priority.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Priority {
    /// Low.
    Low,
    /// Normal.
    #[default]
    Normal,
    /// High.
    High,
    /// Urgent.
    Urgent,
}

/// Who wrote a message and how it reaches the customer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum MessageKind {
    /// A message from the customer.
    Customer,
    /// A public reply written by an agent.
    AgentReply,
    /// A public note by an agent.
    PublicNote,
    /// A private note, invisible to the customer.
    InternalNote,
    /// An automatic "your message has been received" acknowledgement.
    AutoAcknowledgement,
    /// A bot or AI message.
    Bot,
}

/// Conversation status; some statuses pause the clock (see [`Policy::pause_on`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Status {
    /// Being worked on.
    #[default]
    Open,
    /// Waiting for the customer to answer.
    WaitingOnCustomer,
    /// Waiting for a supplier, carrier or other third party.
    WaitingOnThirdParty,
    /// Solved; a later customer message reopens it.
    Solved,
}

/// What is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Metric {
    /// First customer message → first qualifying reply. One cycle; never resets.
    FirstReply,
    /// Oldest unanswered customer message → next qualifying reply, after the first reply.
    NextReply,
    /// Qualifying reply → next qualifying reply while the conversation is open.
    PeriodicUpdate,
    /// First customer message (or a reopening message) → status solved.
    Resolution,
}

/// The facts a host supplies about a conversation's customer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CustomerFacts {
    /// New or returning.
    pub customer: CustomerKind,
    /// Loyalty tier name, if any.
    pub tier: Option<String>,
    /// RFM segment name, if any.
    pub segment: Option<String>,
    /// Ticket priority.
    pub priority: Priority,
    /// Channel (email, chat, marketplace, ...), if known.
    pub channel: Option<String>,
    /// Tags.
    pub tags: BTreeSet<String>,
}

/// Conditions on [`CustomerFacts`]; an empty set means "any". All conditions must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Filter {
    customers: BTreeSet<CustomerKind>,
    tiers: BTreeSet<String>,
    segments: BTreeSet<String>,
    priorities: BTreeSet<Priority>,
    channels: BTreeSet<String>,
    tags: BTreeSet<String>,
}

impl Filter {
    /// Matches every conversation (a catch-all).
    #[must_use]
    pub fn any() -> Filter {
        Filter::default()
    }

    /// Also accepts customers of this kind (any-of).
    #[must_use]
    pub fn customer(mut self, kind: CustomerKind) -> Filter {
        self.customers.insert(kind);
        self
    }

    /// Also accepts this tier (any-of).
    #[must_use]
    pub fn tier(mut self, tier: impl Into<String>) -> Filter {
        self.tiers.insert(tier.into());
        self
    }

    /// Also accepts this RFM segment (any-of).
    #[must_use]
    pub fn segment(mut self, segment: impl Into<String>) -> Filter {
        self.segments.insert(segment.into());
        self
    }

    /// Also accepts this priority (any-of).
    #[must_use]
    pub fn priority(mut self, priority: Priority) -> Filter {
        self.priorities.insert(priority);
        self
    }

    /// Also accepts this channel (any-of).
    #[must_use]
    pub fn channel(mut self, channel: impl Into<String>) -> Filter {
        self.channels.insert(channel.into());
        self
    }

    /// Requires this tag (all-of).
    #[must_use]
    pub fn tag(mut self, tag: impl Into<String>) -> Filter {
        self.tags.insert(tag.into());
        self
    }

    /// Whether the filter matches everything.
    #[must_use]
    pub fn is_catch_all(&self) -> bool {
        *self == Filter::default()
    }

    /// Whether `facts` satisfy every condition.
    #[must_use]
    pub fn matches(&self, facts: &CustomerFacts) -> bool {
        fn one_of<T: Ord>(set: &BTreeSet<T>, v: Option<&T>) -> bool {
            set.is_empty() || v.is_some_and(|v| set.contains(v))
        }
        one_of(&self.customers, Some(&facts.customer))
            && one_of(&self.tiers, facts.tier.as_ref())
            && one_of(&self.segments, facts.segment.as_ref())
            && one_of(&self.priorities, Some(&facts.priority))
            && one_of(&self.channels, facts.channel.as_ref())
            && self.tags.is_subset(&facts.tags)
    }

    /// Whether every conversation `other` matches is also matched by `self`.
    #[must_use]
    pub fn covers(&self, other: &Filter) -> bool {
        fn wider<T: Ord>(a: &BTreeSet<T>, b: &BTreeSet<T>) -> bool {
            a.is_empty() || (!b.is_empty() && b.is_subset(a))
        }
        wider(&self.customers, &other.customers)
            && wider(&self.tiers, &other.tiers)
            && wider(&self.segments, &other.segments)
            && wider(&self.priorities, &other.priorities)
            && wider(&self.channels, &other.channels)
            && self.tags.is_subset(&other.tags)
    }
}

/// Targets per metric; a metric without a target is tracked but never breached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Targets {
    first_reply: Option<Target>,
    next_reply: Option<Target>,
    periodic_update: Option<Target>,
    resolution: Option<Target>,
}

impl Targets {
    /// No targets.
    #[must_use]
    pub fn none() -> Targets {
        Targets::default()
    }

    /// Sets the first-reply target.
    #[must_use]
    pub fn first_reply(mut self, t: Target) -> Targets {
        self.first_reply = Some(t);
        self
    }

    /// Sets the next-reply target.
    #[must_use]
    pub fn next_reply(mut self, t: Target) -> Targets {
        self.next_reply = Some(t);
        self
    }

    /// Sets the periodic-update target.
    #[must_use]
    pub fn periodic_update(mut self, t: Target) -> Targets {
        self.periodic_update = Some(t);
        self
    }

    /// Sets the resolution target.
    #[must_use]
    pub fn resolution(mut self, t: Target) -> Targets {
        self.resolution = Some(t);
        self
    }

    /// Checks every target (see `Target::checked`).
    pub(crate) fn checked(self) -> Result<Targets> {
        [self.first_reply, self.next_reply, self.periodic_update, self.resolution]
            .into_iter()
            .flatten()
            .try_for_each(|t| t.checked().map(|_| ()))?;
        Ok(self)
    }

    /// The target of `metric`, if any.
    #[must_use]
    pub fn of(&self, metric: Metric) -> Option<Target> {
        match metric {
            Metric::FirstReply => self.first_reply,
            Metric::NextReply => self.next_reply,
            Metric::PeriodicUpdate => self.periodic_update,
            Metric::Resolution => self.resolution,
        }
    }
}

/// One SLA policy: a filter, targets, an absolute cap, what counts as a reply and which
/// statuses pause the clock.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "PolicyRepr", into = "PolicyRepr"))]
pub struct Policy {
    name: String,
    filter: Filter,
    targets: Targets,
    cap: Option<Cap>,
    reply_kinds: BTreeSet<MessageKind>,
    pause_on: BTreeSet<Status>,
}

impl Policy {
    /// A policy counting agent replies and public notes as replies (Freshdesk's rule) and
    /// pausing while waiting on the customer.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for an empty name or a
    /// negative target (one built from [`Target`]'s variants past its constructors).
    pub fn new(name: impl Into<String>, filter: Filter, targets: Targets) -> Result<Policy> {
        let name = name.into();
        if name.trim().is_empty() {
            return Err(Error::invalid("policy name", name, "must not be empty"));
        }
        Ok(Policy {
            name,
            filter,
            targets: targets.checked()?,
            cap: None,
            reply_kinds: [MessageKind::AgentReply, MessageKind::PublicNote].into_iter().collect(),
            pause_on: [Status::WaitingOnCustomer].into_iter().collect(),
        })
    }

    /// Sets an absolute cap per cycle, counted from the cycle start and not moved by pauses
    /// ("never later than three days"). A [`TimeSpan`] is elapsed time (72 hours for three
    /// days); [`Cap::CalendarDays`] counts dates in the calendar's zone (see [`Cap`]).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a negative cap.
    pub fn cap(mut self, cap: impl Into<Cap>) -> Result<Policy> {
        self.cap = Some(cap.into().checked()?);
        Ok(self)
    }

    /// Sets the message kinds that fulfil reply metrics ("an acknowledgement counts").
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for an empty list or one
    /// containing [`MessageKind::Customer`].
    pub fn reply_kinds(mut self, kinds: &[MessageKind]) -> Result<Policy> {
        if kinds.is_empty() {
            return Err(Error::empty("reply kinds"));
        }
        if kinds.contains(&MessageKind::Customer) {
            return Err(Error::invalid(
                "reply kinds",
                "Customer",
                "a customer message is not a reply",
            ));
        }
        self.reply_kinds = kinds.iter().copied().collect();
        Ok(self)
    }

    /// Sets the statuses that pause every running clock (an empty list: never pause).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when `Open` or `Solved`
    /// is listed.
    pub fn pause_on(mut self, statuses: &[Status]) -> Result<Policy> {
        if let Some(s) = statuses.iter().find(|s| matches!(s, Status::Open | Status::Solved)) {
            return Err(Error::invalid("pause status", format!("{s:?}"), "cannot pause the clock"));
        }
        self.pause_on = statuses.iter().copied().collect();
        Ok(self)
    }

    /// The name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The filter.
    #[must_use]
    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    /// The targets.
    #[must_use]
    pub fn targets(&self) -> &Targets {
        &self.targets
    }

    /// The absolute cap, if any.
    #[must_use]
    pub fn cap_bound(&self) -> Option<Cap> {
        self.cap
    }

    /// The absolute cap as elapsed time, if the cap is one ([`Cap::Elapsed`]).
    #[must_use]
    pub fn cap_span(&self) -> Option<TimeSpan> {
        match self.cap {
            Some(Cap::Elapsed(span)) => Some(span),
            _ => None,
        }
    }

    /// Whether a message of `kind` fulfils reply metrics under this policy.
    #[must_use]
    pub fn counts_as_reply(&self, kind: MessageKind) -> bool {
        self.reply_kinds.contains(&kind)
    }

    /// Whether `status` pauses the clock.
    #[must_use]
    pub fn pauses(&self, status: Status) -> bool {
        self.pause_on.contains(&status)
    }
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct PolicyRepr {
    name: String,
    filter: Filter,
    targets: Targets,
    cap: Option<Cap>,
    reply_kinds: Vec<MessageKind>,
    pause_on: Vec<Status>,
}

#[cfg(feature = "serde")]
impl TryFrom<PolicyRepr> for Policy {
    type Error = Error;
    fn try_from(r: PolicyRepr) -> Result<Policy> {
        let p = Policy::new(r.name, r.filter, r.targets)?
            .reply_kinds(&r.reply_kinds)?
            .pause_on(&r.pause_on)?;
        match r.cap {
            Some(c) => p.cap(c),
            None => Ok(p),
        }
    }
}

#[cfg(feature = "serde")]
impl From<Policy> for PolicyRepr {
    fn from(p: Policy) -> PolicyRepr {
        PolicyRepr {
            name: p.name,
            filter: p.filter,
            targets: p.targets,
            cap: p.cap,
            reply_kinds: p.reply_kinds.into_iter().collect(),
            pause_on: p.pause_on.into_iter().collect(),
        }
    }
}

/// How a [`PolicySet`] guarantees that every conversation matches a policy.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CatchAll {
    /// The last policy must match everything.
    Require,
    /// Append a policy named `catch-all` with these targets (default reply kinds and pauses).
    Synthesize(Targets),
}

/// A problem in a policy list that does not make it invalid.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum PolicyWarning {
    /// `policy` can never match because the earlier `by` matches everything it does.
    Shadowed {
        /// The unreachable policy.
        policy: String,
        /// The earlier, broader policy.
        by: String,
    },
}

/// Ordered policies, first match wins, always ending in a catch-all.
///
/// Stored with a format version (see [`crate::version`]): `{"version": 2, "policies":
/// [...]}`; the bare list of policies written before versions were recorded reads as
/// version 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicySet {
    /// The policies before the catch-all.
    rules: Vec<Policy>,
    catch_all: Policy,
    warnings: Vec<PolicyWarning>,
}

impl PolicySet {
    /// Validates the order of `policies`.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for two policies with one
    ///   name;
    /// - [`ErrorKind::RuleViolation`](crate::ErrorKind::RuleViolation) (rule `catch-all`) when
    ///   [`CatchAll::Require`] is given and the last policy does not match everything (or the
    ///   list is empty).
    pub fn new(mut policies: Vec<Policy>, catch_all: CatchAll) -> Result<PolicySet> {
        if let CatchAll::Synthesize(targets) = catch_all {
            if !policies.last().is_some_and(|p| p.filter.is_catch_all()) {
                policies.push(Policy::new("catch-all", Filter::any(), targets)?);
            }
        }
        if !policies.last().is_some_and(|p| p.filter.is_catch_all()) {
            return Err(crate::ErrorKind::RuleViolation {
                rule: "catch-all",
                detail: "the last policy must match every conversation".into(),
            }
            .into());
        }
        let mut names = BTreeSet::new();
        for p in &policies {
            if !names.insert(p.name.as_str()) {
                return Err(Error::invalid("policy name", &p.name, "given twice"));
            }
        }
        let mut warnings = Vec::new();
        for (j, later) in policies.iter().enumerate() {
            if let Some(earlier) = policies.iter().take(j).find(|e| e.filter.covers(&later.filter))
            {
                warnings.push(PolicyWarning::Shadowed {
                    policy: later.name.clone(),
                    by: earlier.name.clone(),
                });
            }
        }
        let Some(catch_all) = policies.pop() else {
            return Err(Error::empty("policies"));
        };
        Ok(PolicySet { rules: policies, catch_all, warnings })
    }

    /// The first policy whose filter matches.
    #[must_use]
    pub fn select(&self, facts: &CustomerFacts) -> &Policy {
        self.rules.iter().find(|p| p.filter.matches(facts)).unwrap_or(&self.catch_all)
    }

    /// The policies, in matching order, the catch-all last.
    pub fn policies(&self) -> impl Iterator<Item = &Policy> {
        self.rules.iter().chain(std::iter::once(&self.catch_all))
    }

    /// Shadowed policies found at construction.
    #[must_use]
    pub fn warnings(&self) -> &[PolicyWarning] {
        &self.warnings
    }
}

impl TryFrom<Vec<Policy>> for PolicySet {
    type Error = Error;
    fn try_from(v: Vec<Policy>) -> Result<PolicySet> {
        PolicySet::new(v, CatchAll::Require)
    }
}

impl From<PolicySet> for Vec<Policy> {
    fn from(s: PolicySet) -> Vec<Policy> {
        let mut v = s.rules;
        v.push(s.catch_all);
        v
    }
}
