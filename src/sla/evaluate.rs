//! Evaluation: a conversation's events and `now` → the state of every metric cycle.
//!
//! [`evaluate`] is a pure function of (events, policy, calendars, now). Each metric is a
//! sequence of cycles, as in Zendesk's metric events: first reply has one cycle; a
//! next-reply cycle starts at the **oldest** unanswered customer message after a reply; a
//! periodic-update cycle runs from each qualifying reply to the next; a resolution cycle
//! runs from the first (or a reopening) customer message to `Solved`.
//!
//! Rules pinned here:
//!
//! - A message fulfils reply metrics only when its kind is one of the policy's reply kinds.
//! - Before any customer message, a qualifying reply opens the conversation as a customer
//!   message would (a conversation the agent started: the first reply is the agent's next
//!   one, as Zendesk measures a ticket an agent created), and any other agent-side message (a bot greeting, a note) is not
//!   measured. The first message opens the conversation whatever status came before it.
//! - A second qualifying reply in the same second as the reply that started the running
//!   periodic-update cycle neither ends it nor starts another (an event delivered twice).
//! - Entering a status the policy pauses on pauses every running cycle; leaving it (or a
//!   customer message, which ends the wait and sets the status back to open) resumes them. The
//!   deadline moves forward by the paused time measured in the target's own time: a working-
//!   time target re-counts its remaining working time from the resume (Appfire's rule).
//! - `Solved` fulfils every open cycle; a later customer message, or a status change out of
//!   `Solved`, reopens the conversation and starts a resolution cycle (paused when the new
//!   status pauses the clock).
//! - A calendar change keeps the time already used by an open cycle and measures the rest on
//!   the new calendar from the change. A fulfilled cycle is frozen: its deadline and remaining
//!   time stay as they were at fulfilment, measured on the calendar in force then. Calendars
//!   are named ([`Calendar::name`]); [`EventKind::CalendarChange`] refers to one by name.
//! - A targets change keeps the time used and records a breach it causes at
//!   the change, never earlier (Zendesk); a breach that happened before the change stands
//!   at its time, and a cycle whose target the change leaves as it was is not touched. A
//!   manual due date replaces the computed deadline of the open cycle and survives later
//!   target changes (Freshdesk); a breach before it stands too.
//! - A [`Target::BusinessDays`] or [`Target::SameOrNextBusinessDay`] target is turned into
//!   working time at the cycle start on the calendar in force then (the working time from
//!   the start to the business-day deadline), also when a targets change applies it later,
//!   and a [`Target::CalendarDays`] target into elapsed time, so pauses work the same way.
//! - The policy cap bounds every deadline at `start + cap` in calendar time, pauses included:
//!   a computed deadline, a manual due date (a due date five days out under a three-day cap
//!   is due at three days), and a metric with no target at all (a policy with a cap and no
//!   targets still breaches at the cap). "Three days" in a cap is 72 elapsed hours given as a
//!   [`TimeSpan`] ([`Cap::Elapsed`](super::Cap::Elapsed)), or three calendar days in the zone of the calendar in
//!   force at the cycle start ([`Cap::CalendarDays`](super::Cap::CalendarDays): the same wall time three dates later,
//!   71 or 73 hours across a DST change), the same choice as [`Target::Calendar`] vs
//!   [`Target::CalendarDays`]. The cap instant is fixed at the cycle start.
//! - A periodic-update cycle started by a reply while the status pauses the clock (waiting
//!   on the customer) starts paused, and runs from the customer's next message or the status
//!   change that ends the wait.
//! - A reply exactly at the deadline is on time; `remaining` is `deadline − now` in calendar
//!   time for running and paused cycles (negative once breached), `deadline − fulfilled_at`
//!   for fulfilled ones. A paused cycle's deadline is where it would fall if resumed at `now`.
//!
//! # Example
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use loyalty::sla::{
//!     evaluate, Calendar, CycleState, EvaluateOptions, Event, Filter, Metric, Policy, Shift,
//!     Target, Targets, TimeSpan,
//! };
//!
//! let cal = Calendar::builder("Europe/Berlin").weekdays(&[Shift::hm(9, 0, 17, 0)?]).build()?;
//! let policy = Policy::new(
//!     "default",
//!     Filter::any(),
//!     Targets::none().first_reply(Target::working(TimeSpan::hours(4)?)?),
//! )?;
//! // A message on Friday 2024-06-14 at 15:00 CEST (13:00 UTC): 2 h on Friday, 2 h on Monday.
//! let events = [Event::customer_message(Utc.with_ymd_and_hms(2024, 6, 14, 13, 0, 0).unwrap())];
//! let now = Utc.with_ymd_and_hms(2024, 6, 15, 8, 0, 0).unwrap();
//! let eval = evaluate(&events, &policy, &[cal], now, &EvaluateOptions::default())?;
//! let first = eval.current(Metric::FirstReply).unwrap();
//! assert_eq!(first.state, CycleState::Active);
//! assert_eq!(first.deadline, Some(Utc.with_ymd_and_hms(2024, 6, 17, 9, 0, 0).unwrap()));
//! assert!(!first.is_breached());
//! # Ok::<(), loyalty::Error>(())
//! ```

use chrono::{DateTime, Utc};

use super::calendar::{from_secs, to_secs, Calendar};
use super::duration::{Cap, Target, TimeSpan};
use super::policy::{MessageKind, Metric, Policy, Status, Targets};
use crate::error::{Error, Result};

/// What happened in a conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum EventKind {
    /// A message (customer, reply, note, acknowledgement, bot).
    Message(MessageKind),
    /// A status change.
    Status(Status),
    /// From now on measure open cycles on the calendar with this
    /// [`name`](Calendar::name) (fulfilled cycles keep the calendar they ended on).
    CalendarChange(String),
    /// New targets apply from now on (a priority change re-selecting the policy, an edit).
    TargetsChange(Targets),
    /// A manual due date for the open cycle of `metric`.
    DueDate {
        /// The metric.
        metric: Metric,
        /// The due instant.
        due: DateTime<Utc>,
    },
}

/// An event with its time. Events must be given in time order.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Event {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened.
    pub kind: EventKind,
}

impl Event {
    /// An event.
    #[must_use]
    pub fn new(at: DateTime<Utc>, kind: EventKind) -> Event {
        Event { at, kind }
    }

    /// A customer message.
    #[must_use]
    pub fn customer_message(at: DateTime<Utc>) -> Event {
        Event::new(at, EventKind::Message(MessageKind::Customer))
    }

    /// An agent's public reply.
    #[must_use]
    pub fn agent_reply(at: DateTime<Utc>) -> Event {
        Event::new(at, EventKind::Message(MessageKind::AgentReply))
    }

    /// An automatic acknowledgement.
    #[must_use]
    pub fn acknowledgement(at: DateTime<Utc>) -> Event {
        Event::new(at, EventKind::Message(MessageKind::AutoAcknowledgement))
    }

    /// A status change.
    #[must_use]
    pub fn status(at: DateTime<Utc>, status: Status) -> Event {
        Event::new(at, EventKind::Status(status))
    }
}

/// Where a cycle is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum CycleState {
    /// The clock runs.
    Active,
    /// The clock is stopped (waiting on the customer).
    Paused,
    /// Completed.
    Fulfilled,
}

/// How urgent a cycle is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Risk {
    /// Within target with more than the warning threshold left (or no target).
    OnTrack,
    /// Open, not breached, at most the warning threshold left.
    Warning,
    /// The deadline passed before fulfilment.
    Breached,
}

/// Options of [`evaluate`]. Read back through serde, they are checked as
/// [`EvaluateOptions::warn_within`] checks them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "EvaluateOptionsRepr"))]
pub struct EvaluateOptions {
    warn_within: TimeSpan,
}

/// Wire form of [`EvaluateOptions`], validated on the way in.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
struct EvaluateOptionsRepr {
    warn_within: TimeSpan,
}

#[cfg(feature = "serde")]
impl TryFrom<EvaluateOptionsRepr> for EvaluateOptions {
    type Error = Error;
    fn try_from(r: EvaluateOptionsRepr) -> Result<EvaluateOptions> {
        EvaluateOptions::default().warn_within(r.warn_within)
    }
}

impl Default for EvaluateOptions {
    /// Warn one hour (calendar time) before a deadline.
    fn default() -> EvaluateOptions {
        EvaluateOptions { warn_within: TimeSpan::seconds(3600) }
    }
}

impl EvaluateOptions {
    /// Warn when at most `span` of calendar time is left.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a negative span.
    pub fn warn_within(mut self, span: TimeSpan) -> Result<EvaluateOptions> {
        if span.is_negative() {
            return Err(Error::invalid("warning threshold", span, "must not be negative"));
        }
        self.warn_within = span;
        Ok(self)
    }
}

/// The state of one cycle of one metric at `now`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct CycleReport {
    /// The metric.
    pub metric: Metric,
    /// 1-based cycle number within the metric.
    pub cycle: u32,
    /// When the cycle started.
    pub started_at: DateTime<Utc>,
    /// Active, paused or fulfilled.
    pub state: CycleState,
    /// The deadline, when the metric has a target (or a manual due date).
    pub deadline: Option<DateTime<Utc>>,
    /// When the breach is recorded: the deadline, or the time the target was applied if
    /// later (never back-dated).
    pub breached_at: Option<DateTime<Utc>>,
    /// Calendar time left (negative once breached); see the module docs.
    pub remaining: Option<TimeSpan>,
    /// When the cycle was fulfilled.
    pub fulfilled_at: Option<DateTime<Utc>>,
    /// On track, warning or breached.
    pub risk: Risk,
}

impl CycleReport {
    /// Whether the deadline was missed.
    #[must_use]
    pub fn is_breached(&self) -> bool {
        self.breached_at.is_some()
    }

    /// Calendar time from start to fulfilment.
    #[must_use]
    pub fn reply_time(&self) -> Option<TimeSpan> {
        self.fulfilled_at.map(|f| TimeSpan::seconds(f.timestamp() - self.started_at.timestamp()))
    }
}

/// All cycles of a conversation, in the order they started.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Evaluation {
    /// The cycles.
    pub cycles: Vec<CycleReport>,
}

impl Evaluation {
    /// The latest cycle of `metric`.
    #[must_use]
    pub fn current(&self, metric: Metric) -> Option<&CycleReport> {
        self.cycles.iter().rev().find(|c| c.metric == metric)
    }

    /// The earliest deadline among open (active or paused) cycles.
    #[must_use]
    pub fn next_deadline(&self) -> Option<DateTime<Utc>> {
        self.cycles
            .iter()
            .filter(|c| c.state != CycleState::Fulfilled)
            .filter_map(|c| c.deadline)
            .min()
    }

    /// Whether any cycle is breached.
    #[must_use]
    pub fn is_breached(&self) -> bool {
        self.cycles.iter().any(CycleReport::is_breached)
    }
}

/// Target in seconds of calendar or working time.
#[derive(Clone, Copy, Debug)]
enum Clock {
    Calendar(i64),
    Working(i64),
}

#[derive(Debug)]
struct Cycle {
    metric: Metric,
    number: u32,
    start: i64,
    /// The calendar in force at the start: business-day and calendar-day targets are
    /// turned into time on it, whenever they are (re)applied.
    start_cal: usize,
    target: Option<Clock>,
    applied_at: i64,
    /// A breach recorded under targets (or a due date) since replaced: it stands.
    breached_before: Option<i64>,
    /// Closed stretches of running clock: (from, to, calendar).
    stretches: Vec<(i64, i64, usize)>,
    /// The running stretch: (from, calendar).
    running: Option<(i64, usize)>,
    fulfilled: Option<i64>,
    /// The calendar in force when the cycle was fulfilled: its deadline stays frozen.
    fulfilled_on: Option<usize>,
    manual_due: Option<i64>,
    /// The policy cap as an instant, fixed at the cycle start.
    cap_at: Option<i64>,
}

fn resolve_target(t: Option<Target>, cal: &Calendar, start: i64) -> Result<Option<Clock>> {
    Ok(match t {
        None => None,
        Some(Target::Calendar(s)) => Some(Clock::Calendar(s.as_secs())),
        Some(Target::Working(s)) => Some(Clock::Working(s.as_secs())),
        Some(t @ Target::CalendarDays(_)) => {
            Some(Clock::Calendar(cal.deadline_secs(start, t)? - start))
        }
        Some(t @ (Target::BusinessDays(_) | Target::SameOrNextBusinessDay(_))) => {
            let end = cal.deadline_secs(start, t)?;
            Some(Clock::Working(cal.between_secs(start, end)?))
        }
    })
}

fn measure(clock: Clock, cal: &Calendar, a: i64, b: i64) -> Result<i64> {
    match clock {
        Clock::Calendar(_) => Ok(b - a),
        Clock::Working(_) => cal.between_secs(a, b),
    }
}

fn advance(clock: Clock, cal: &Calendar, a: i64, d: i64) -> Result<i64> {
    match clock {
        // Through the calendar for its range check: a deadline past 2100 is an error.
        Clock::Calendar(_) => cal.deadline_secs(a, Target::Calendar(TimeSpan::seconds(d))),
        Clock::Working(_) => cal.add_secs(a, d),
    }
}

impl Cycle {
    fn is_open(&self) -> bool {
        self.fulfilled.is_none()
    }

    fn pause(&mut self, t: i64) {
        if let Some((from, cal)) = self.running.take() {
            self.stretches.push((from, t, cal));
        }
    }

    fn resume(&mut self, t: i64, cal: usize) {
        if self.running.is_none() {
            self.running = Some((t, cal));
        }
    }

    /// The deadline computed from the target; `resume_at` is where a paused clock restarts.
    fn computed_deadline(
        &self,
        cals: &[Calendar],
        cal_now: usize,
        resume_at: i64,
    ) -> Result<Option<i64>> {
        let Some(clock) = self.target else { return Ok(None) };
        let target = match clock {
            Clock::Calendar(s) | Clock::Working(s) => s,
        };
        let mut used = 0i64;
        for &(a, b, ci) in &self.stretches {
            let cal = calendar(cals, ci)?;
            let m = measure(clock, cal, a, b)?;
            if used + m >= target {
                return Ok(Some(advance(clock, cal, a, target - used)?));
            }
            used += m;
        }
        let (from, ci) = self.running.unwrap_or((resume_at, self.fulfilled_on.unwrap_or(cal_now)));
        Ok(Some(advance(clock, calendar(cals, ci)?, from, target - used)?))
    }

    /// The deadline at `end` (now, or the fulfilment): the manual due date or the computed
    /// one, bounded by the cap; the cap alone for a metric with neither.
    fn deadline(&self, cals: &[Calendar], cal_now: usize, end: i64) -> Result<Option<i64>> {
        let own = match self.manual_due {
            Some(d) => Some(d),
            None => self.computed_deadline(cals, cal_now, end)?,
        };
        Ok(match (own, self.cap_at) {
            (Some(d), Some(b)) => Some(d.min(b)),
            (d, b) => d.or(b),
        })
    }

    /// When the cycle is breached at `end` under what is in force: the deadline, or the
    /// time it was applied if later (never back-dated); a breach recorded before stands.
    fn breach(&self, deadline: Option<i64>, end: i64) -> Option<i64> {
        self.breached_before.or(match deadline {
            Some(d) if end > d => Some(d.max(self.applied_at)),
            _ => None,
        })
    }

    /// Keeps a breach that happened before `t` under what is in force, before a targets
    /// change or a due date replaces it.
    fn record_breach(&mut self, cals: &[Calendar], cal_now: usize, t: i64) -> Result<()> {
        let deadline = self.deadline(cals, cal_now, t)?;
        self.breached_before = self.breach(deadline, t);
        Ok(())
    }
}

fn calendar(cals: &[Calendar], i: usize) -> Result<&Calendar> {
    cals.get(i).ok_or_else(|| Error::invalid("calendar index", i, "no such calendar"))
}

/// Evaluates a conversation at `now` under `policy`, measuring on `calendars[0]` until a
/// [`EventKind::CalendarChange`] names another of `calendars` (by [`Calendar::name`]). See
/// the module docs for the rules.
///
/// # Errors
///
/// - [`ErrorKind::EmptyInput`](crate::ErrorKind::EmptyInput) for no calendars;
/// - [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for two calendars with the
///   same non-empty name;
/// - [`ErrorKind::InvalidRecord`](crate::ErrorKind::InvalidRecord) naming the event: out of
///   time order, after `now`, an unknown calendar name, a due date with no open cycle of its
///   metric, a targets change with a negative target;
/// - [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for instants outside
///   1970..2100, deadlines past 2100, or a negative target in the policy (one built from
///   [`Target`]'s variants past its constructors).
pub fn evaluate(
    events: &[Event],
    policy: &Policy,
    calendars: &[Calendar],
    now: DateTime<Utc>,
    options: &EvaluateOptions,
) -> Result<Evaluation> {
    if calendars.is_empty() {
        return Err(Error::empty("calendars"));
    }
    for (i, c) in calendars.iter().enumerate() {
        if !c.name().is_empty() && calendars[..i].iter().any(|d| d.name() == c.name()) {
            return Err(Error::invalid("calendar name", c.name(), "given to two calendars"));
        }
    }
    let now_s = to_secs(now)?;
    let mut conv = Conversation::new(policy, calendars);
    for (i, ev) in events.iter().enumerate() {
        let t = checked_time(i, ev, conv.prev, now_s)?;
        conv.prev = t;
        conv.apply(i, t, &ev.kind)?;
    }
    conv.report(now_s, options)
}

/// The event's time in seconds, checked against the previous event, `now` and the range.
fn checked_time(i: usize, ev: &Event, prev: i64, now_s: i64) -> Result<i64> {
    let t = ev.at.timestamp();
    if t < prev {
        return Err(Error::invalid_record(
            i,
            "at",
            ev.at.to_rfc3339(),
            "earlier than the previous event",
        ));
    }
    if t > now_s {
        return Err(Error::invalid_record(i, "at", ev.at.to_rfc3339(), "later than now"));
    }
    to_secs(ev.at)
        .map_err(|_| Error::invalid_record(i, "at", ev.at.to_rfc3339(), "outside 1970..2100"))
}

/// The replay state: the cycles so far and what is in force (targets, calendar, status).
struct Conversation<'a> {
    policy: &'a Policy,
    calendars: &'a [Calendar],
    cycles: Vec<Cycle>,
    counts: [u32; 4],
    targets: Targets,
    cal_idx: usize,
    status: Status,
    seen_customer: bool,
    prev: i64,
}

impl<'a> Conversation<'a> {
    fn new(policy: &'a Policy, calendars: &'a [Calendar]) -> Conversation<'a> {
        Conversation {
            policy,
            calendars,
            cycles: Vec::new(),
            counts: [0; 4],
            targets: *policy.targets(),
            cal_idx: 0,
            status: Status::Open,
            seen_customer: false,
            prev: i64::MIN,
        }
    }

    fn open_cycles(&mut self) -> impl Iterator<Item = &mut Cycle> {
        self.cycles.iter_mut().filter(|c| c.is_open())
    }

    fn start_cycle(&mut self, metric: Metric, t: i64, paused: bool) -> Result<()> {
        let slot = metric_slot(metric);
        let n = self.counts.get(slot).copied().unwrap_or(0) + 1;
        if let Some(c) = self.counts.get_mut(slot) {
            *c = n;
        }
        let cal = calendar(self.calendars, self.cal_idx)?;
        let target = resolve_target(self.targets.of(metric), cal, t)?;
        // Fixed at the start on the calendar in force then: a later calendar change does not
        // move an absolute bound.
        // A cap past the supported range (2100) never binds within it.
        let cap_at = self.policy.cap_bound().map(|c| match c {
            Cap::Elapsed(span) => t.saturating_add(span.as_secs()),
            Cap::CalendarDays(_) => cal.deadline_secs(t, c.as_target()).unwrap_or(i64::MAX),
        });
        self.cycles.push(Cycle {
            metric,
            number: n,
            start: t,
            start_cal: self.cal_idx,
            target,
            applied_at: t,
            breached_before: None,
            stretches: Vec::new(),
            running: if paused { None } else { Some((t, self.cal_idx)) },
            fulfilled: None,
            fulfilled_on: None,
            manual_due: None,
            cap_at,
        });
        Ok(())
    }

    /// Fulfils a cycle at `t`, freezing the calendar it is measured on from then on.
    fn fulfil(c: &mut Cycle, t: i64, cal_idx: usize) {
        c.pause(t);
        c.fulfilled = Some(t);
        c.fulfilled_on = Some(cal_idx);
    }

    fn apply(&mut self, i: usize, t: i64, kind: &EventKind) -> Result<()> {
        match kind {
            EventKind::Message(MessageKind::Customer) => self.customer_message(t),
            EventKind::Message(kind) => self.reply(t, *kind),
            EventKind::Status(s) => self.status_change(t, *s),
            EventKind::CalendarChange(name) => self.calendar_change(i, t, name),
            EventKind::TargetsChange(new) => self.targets_change(i, t, *new),
            EventKind::DueDate { metric, due } => self.due_date(i, t, *metric, *due),
        }
    }

    /// A customer message: resumes paused clocks, starts the first cycles, reopens a solved
    /// conversation, and starts a next-reply cycle when no reply is awaited.
    fn customer_message(&mut self, t: i64) -> Result<()> {
        let paused = self.policy.pauses(self.status);
        if paused {
            self.status = Status::Open;
            let cal_idx = self.cal_idx;
            for c in self.open_cycles() {
                c.resume(t, cal_idx);
            }
        }
        if !self.seen_customer {
            self.seen_customer = true;
            // The first message opens the conversation whatever status came before it.
            self.status = Status::Open;
            self.start_cycle(Metric::FirstReply, t, false)?;
            return self.start_cycle(Metric::Resolution, t, false);
        }
        if self.status == Status::Solved {
            self.status = Status::Open;
            self.start_cycle(Metric::Resolution, t, false)?;
        }
        let awaiting = self
            .cycles
            .iter()
            .any(|c| c.is_open() && matches!(c.metric, Metric::FirstReply | Metric::NextReply));
        if !awaiting {
            self.start_cycle(Metric::NextReply, t, false)?;
        }
        Ok(())
    }

    /// An agent-side message: a qualifying reply fulfils the reply cycles and starts the
    /// next periodic-update cycle (paused when the status pauses the clock). Before any
    /// customer message, a qualifying reply opens the conversation as a customer message
    /// would (an agent-created conversation: the first reply is the agent's next one), and
    /// any other agent-side message (a bot greeting, a note) is not measured.
    fn reply(&mut self, t: i64, kind: MessageKind) -> Result<()> {
        if !self.policy.counts_as_reply(kind) {
            return Ok(());
        }
        if !self.seen_customer {
            return self.customer_message(t);
        }
        // A second reply in the second that started the running periodic-update cycle
        // neither ends it nor starts another: a cycle of no length measures nothing, and
        // an event delivered twice would count twice.
        let repeat = |c: &Cycle| c.metric == Metric::PeriodicUpdate && c.start == t;
        let cal_idx = self.cal_idx;
        let mut again = false;
        for c in self.open_cycles() {
            if repeat(c) {
                again = true;
            } else if c.metric != Metric::Resolution {
                Conversation::fulfil(c, t, cal_idx);
            }
        }
        if !again
            && self.status != Status::Solved
            && self.targets.of(Metric::PeriodicUpdate).is_some()
        {
            let paused = self.policy.pauses(self.status);
            self.start_cycle(Metric::PeriodicUpdate, t, paused)?;
        }
        Ok(())
    }

    fn status_change(&mut self, t: i64, s: Status) -> Result<()> {
        let cal_idx = self.cal_idx;
        if self.status == Status::Solved && s != Status::Solved && self.seen_customer {
            // Reopened by the agent's side: resolution runs again from the reopening, as
            // from a customer's reopening message.
            self.status = s;
            return self.start_cycle(Metric::Resolution, t, self.policy.pauses(s));
        }
        if s == Status::Solved {
            for c in self.open_cycles() {
                Conversation::fulfil(c, t, cal_idx);
            }
        } else {
            let was = self.policy.pauses(self.status);
            let will = self.policy.pauses(s);
            for c in self.open_cycles() {
                if will && !was {
                    c.pause(t);
                } else if was && !will {
                    c.resume(t, cal_idx);
                }
            }
        }
        self.status = s;
        Ok(())
    }

    fn calendar_change(&mut self, i: usize, t: i64, name: &str) -> Result<()> {
        let Some(ci) = self.calendars.iter().position(|c| c.name() == name) else {
            return Err(Error::invalid_record(i, "calendar", name, "no calendar of that name"));
        };
        // Only open cycles move to the new calendar; fulfilled ones are frozen.
        for c in self.open_cycles() {
            if c.running.is_some() {
                c.pause(t);
                c.resume(t, ci);
            }
        }
        self.cal_idx = ci;
        Ok(())
    }

    /// New targets for the open cycles whose target they change; a breach already
    /// recorded stands, and one the change causes is recorded at the change.
    fn targets_change(&mut self, i: usize, t: i64, new: Targets) -> Result<()> {
        let new = new
            .checked()
            .map_err(|e| Error::invalid_record(i, "targets", e, "a target must not be negative"))?;
        let old = std::mem::replace(&mut self.targets, new);
        let (cals, cal_now) = (self.calendars, self.cal_idx);
        for c in self.cycles.iter_mut().filter(|c| c.is_open()) {
            if new.of(c.metric) == old.of(c.metric) {
                continue;
            }
            c.record_breach(cals, cal_now, t)?;
            c.target = resolve_target(new.of(c.metric), calendar(cals, c.start_cal)?, c.start)?;
            c.applied_at = t;
        }
        Ok(())
    }

    fn due_date(&mut self, i: usize, t: i64, metric: Metric, due: DateTime<Utc>) -> Result<()> {
        let due_s = to_secs(due)
            .map_err(|_| Error::invalid_record(i, "due", due.to_rfc3339(), "outside 1970..2100"))?;
        let Some(c) = self.cycles.iter_mut().rev().find(|c| c.metric == metric && c.is_open())
        else {
            return Err(Error::invalid_record(i, "metric", format!("{metric:?}"), "no open cycle"));
        };
        c.record_breach(self.calendars, self.cal_idx, t)?;
        c.manual_due = Some(due_s);
        c.applied_at = t;
        Ok(())
    }

    /// One report per cycle at `now`.
    fn report(&self, now_s: i64, options: &EvaluateOptions) -> Result<Evaluation> {
        let mut reports = Vec::with_capacity(self.cycles.len());
        for c in &self.cycles {
            let end = c.fulfilled.unwrap_or(now_s);
            let deadline = c.deadline(self.calendars, self.cal_idx, end)?;
            let state = if c.fulfilled.is_some() {
                CycleState::Fulfilled
            } else if c.running.is_some() {
                CycleState::Active
            } else {
                CycleState::Paused
            };
            let breached_at = c.breach(deadline, end).map(from_secs).transpose()?;
            let remaining = deadline.map(|d| TimeSpan::seconds(d - end));
            let risk = match (breached_at, remaining) {
                (Some(_), _) => Risk::Breached,
                (None, Some(r)) if c.fulfilled.is_none() && r <= options.warn_within => {
                    Risk::Warning
                }
                _ => Risk::OnTrack,
            };
            reports.push(CycleReport {
                metric: c.metric,
                cycle: c.number,
                started_at: from_secs(c.start)?,
                state,
                deadline: deadline.map(from_secs).transpose()?,
                breached_at,
                remaining,
                fulfilled_at: c.fulfilled.map(from_secs).transpose()?,
                risk,
            });
        }
        Ok(Evaluation { cycles: reports })
    }
}

fn metric_slot(m: Metric) -> usize {
    match m {
        Metric::FirstReply => 0,
        Metric::NextReply => 1,
        Metric::PeriodicUpdate => 2,
        Metric::Resolution => 3,
    }
}
