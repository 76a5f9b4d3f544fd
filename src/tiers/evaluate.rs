//! The tier program (ladder, window, policy) and its evaluation by replaying history.

use std::fmt;
use std::num::NonZeroU32;

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use rust_decimal::Decimal;

use super::criterion::{Criterion, Figures, METRICS};
use super::history::{QualifyingEvent, Recorded};
use super::ladder::Ladder;
use super::window::{add_months, Lower, Period, Window};
use crate::error::{Error, Result};

/// When a member who reaches a higher threshold moves up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum PromotionTiming {
    /// At the event that crosses the threshold.
    #[default]
    Immediate,
    /// At the next review point (the end of the period in which the threshold was reached),
    /// judged on the figure of that whole period.
    NextPeriod,
}

/// What happens at a review point (a period end) to a member whose figure for the ending
/// period is below the threshold of their tier.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Demotion {
    /// Tiers are never lost (only a refund can undo a promotion, see [`RefundEffect`]).
    #[default]
    Never,
    /// Down one level per period end.
    OneLevel,
    /// Down to whatever the figure of the ending period supports (several levels at once).
    Reevaluate,
}

/// How long a member keeps a tier after a review decided to demote them. Meeting the
/// tier's threshold again during the grace period (in the current window) cancels the
/// demotion.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Grace {
    /// Demotions take effect at the review point.
    #[default]
    None,
    /// Demotions take effect this many days after the review point.
    Days(NonZeroU32),
    /// Demotions take effect this many months after the review point (clamped to month
    /// ends like every month step).
    Months(NonZeroU32),
    /// Demotions take effect at the end of the period that starts at the review point (the
    /// tier is kept for one more full period).
    NextPeriodEnd,
}

impl Grace {
    /// A grace period of `days` days.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when `days` is zero.
    pub fn days(days: u32) -> Result<Grace> {
        NonZeroU32::new(days)
            .map(Grace::Days)
            .ok_or_else(|| Error::invalid("grace days", days, "must be at least 1"))
    }

    /// A grace period of `months` months.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when `months` is zero.
    pub fn months(months: u32) -> Result<Grace> {
        NonZeroU32::new(months)
            .map(Grace::Months)
            .ok_or_else(|| Error::invalid("grace months", months, "must be at least 1"))
    }

    fn deadline(
        self,
        review: NaiveDateTime,
        window: Window,
        joined: NaiveDate,
    ) -> Result<Option<NaiveDateTime>> {
        Ok(match self {
            Grace::None => None,
            Grace::Days(d) => Some(
                review
                    .checked_add_signed(Duration::days(i64::from(d.get())))
                    .ok_or_else(|| Error::overflow("grace deadline"))?,
            ),
            Grace::Months(m) => {
                Some(add_months(review.date(), i64::from(m.get()))?.and_time(review.time()))
            }
            Grace::NextPeriodEnd => window.next_review(review, joined)?,
        })
    }
}

/// What a refund does to a promotion gained in the current period.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum RefundEffect {
    /// A refund (or points reversal) that takes the figure back below the threshold of a
    /// tier gained since the last review undoes that promotion at once, back to the tier the
    /// figure supports but never below the tier held at the last review (Open Loyalty's
    /// automatic mode: "can return to previous level").
    #[default]
    UndoPromotion,
    /// Refunds only lower the figure; the next review judges it.
    AtReview,
}

/// The policy options of a program: [`Default`] plus consuming setters.
///
/// # Example
///
/// ```
/// use loyalty::tiers::{Demotion, Grace, Policy, PromotionTiming};
///
/// let policy = Policy::default().demotion(Demotion::OneLevel).grace(Grace::days(30)?);
/// assert_eq!(policy.promotion_timing(), PromotionTiming::Immediate);
/// # Ok::<(), loyalty::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Policy {
    promotion: PromotionTiming,
    demotion: Demotion,
    grace: Grace,
    refunds: RefundEffect,
}

impl Policy {
    /// Sets when promotions happen.
    #[must_use]
    pub fn promotion(mut self, p: PromotionTiming) -> Policy {
        self.promotion = p;
        self
    }
    /// Sets the demotion policy.
    #[must_use]
    pub fn demotion(mut self, d: Demotion) -> Policy {
        self.demotion = d;
        self
    }
    /// Sets the grace period.
    #[must_use]
    pub fn grace(mut self, g: Grace) -> Policy {
        self.grace = g;
        self
    }
    /// Sets what refunds do.
    #[must_use]
    pub fn refunds(mut self, r: RefundEffect) -> Policy {
        self.refunds = r;
        self
    }
    /// When promotions happen.
    #[must_use]
    pub fn promotion_timing(&self) -> PromotionTiming {
        self.promotion
    }
    /// The demotion policy.
    #[must_use]
    pub fn demotion_policy(&self) -> Demotion {
        self.demotion
    }
    /// The grace period.
    #[must_use]
    pub fn grace_period(&self) -> Grace {
        self.grace
    }
    /// What refunds do.
    #[must_use]
    pub fn refund_effect(&self) -> RefundEffect {
        self.refunds
    }
}

/// The upper end of a measurement span.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Upper {
    /// Events at or before this instant count.
    Through(NaiveDateTime),
    /// Events strictly before this instant count (a review at a period end).
    Before(NaiveDateTime),
}

/// Why a tier changed: the window, the span measured, the figures and the criterion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Explanation {
    /// The window.
    pub window: Window,
    /// Start of the span measured.
    pub from: Lower,
    /// End of the span measured.
    pub to: Upper,
    /// The figure of each metric the ladder measures, over the span.
    pub figures: Figures,
    /// The criterion met (promotion) or missed (demotion, reversal); `None` for "no tier".
    pub criterion: Option<Criterion>,
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} over the {} ", self.figures, self.window)?;
        match self.from {
            Lower::Unbounded => f.write_str("(start")?,
            Lower::From(t) => write!(f, "[{t}")?,
            Lower::After(t) => write!(f, "({t}")?,
        }
        match self.to {
            Upper::Through(t) => write!(f, ", {t}]")?,
            Upper::Before(t) => write!(f, ", {t})")?,
        }
        let Some(c) = self.criterion else { return Ok(()) };
        let met = c.is_met(&self.figures);
        let mut targets = c.targets();
        match (targets.next(), targets.next()) {
            (Some((_, th)), None) if met => write!(f, " reached the threshold {th}"),
            (Some((_, th)), None) => write!(f, " is below the threshold {th}"),
            _ if met => write!(f, " met {c}"),
            _ => write!(f, " missed {c}"),
        }
    }
}

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum TierEventKind {
    /// Moved up.
    Promoted,
    /// Moved down by the demotion policy (at a review or when a grace period ran out).
    Demoted,
    /// Moved down because a refund undid a promotion ([`RefundEffect::UndoPromotion`]).
    Reverted,
    /// A review decided a demotion; it takes effect at `until` unless the member
    /// requalifies.
    GraceStarted {
        /// When the demotion takes effect.
        until: NaiveDateTime,
    },
    /// A pending demotion was cancelled: the member requalified.
    GraceCleared,
}

/// What triggered a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Cause {
    /// Activity reached a threshold.
    Qualified,
    /// A review at a period end.
    PeriodReview,
    /// A grace period ran out.
    GraceExpired,
    /// A refund or reversal lowered the figure.
    Refund,
}

/// A change of tier (or of a pending demotion), explaining itself.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct TierEvent {
    /// When.
    pub at: NaiveDateTime,
    /// What.
    pub kind: TierEventKind,
    /// Why.
    pub cause: Cause,
    /// Rank before (`None`: no tier).
    pub from: Option<usize>,
    /// Rank after (for grace events: the rank the pending demotion leads to).
    pub to: Option<usize>,
    /// Every tier entered or passed through, in the order crossed (upwards for a
    /// promotion, downwards for a demotion); empty for grace events.
    pub crossed: Vec<usize>,
    /// The figures behind the change.
    pub explanation: Explanation,
}

impl TierEvent {
    /// A sentence naming the tiers of `ladder`, e.g. "2024-03-01 12:00:00: promoted from
    /// bronze to gold, passing silver: spend 2500 over the calendar year ...".
    #[must_use]
    pub fn describe(&self, ladder: &Ladder) -> String {
        let (from, to) = (ladder.name(self.from), ladder.name(self.to));
        let what = match self.kind {
            TierEventKind::Promoted => format!("promoted from {from} to {to}"),
            TierEventKind::Demoted => format!("demoted from {from} to {to}"),
            TierEventKind::Reverted => {
                format!("promotion to {from} undone by a refund, back to {to}")
            }
            TierEventKind::GraceStarted { until } => {
                format!("{from} kept in grace until {until}, then {to}")
            }
            TierEventKind::GraceCleared => {
                format!("{from} requalified, pending demotion cancelled")
            }
        };
        let passed: Vec<&str> = self
            .crossed
            .iter()
            .filter(|&&r| Some(r) != self.to)
            .map(|&r| ladder.name(Some(r)))
            .collect();
        let passing = if passed.is_empty() {
            String::new()
        } else {
            format!(", passing {}", passed.join(", "))
        };
        format!("{}: {what}{passing}: {}", self.at, self.explanation)
    }
}

/// A demotion decided at a review and waiting for its grace period to run out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct PendingDemotion {
    /// The rank the member will drop to.
    pub target: Option<usize>,
    /// When.
    pub effective_at: NaiveDateTime,
    /// The review figures behind it.
    pub explanation: Explanation,
}

/// A member's position on the ladder at `now`, and the history of changes that led there.
///
/// Stored with a format version (see [`crate::version`]): a `version` field (2) first; a
/// standing without it, as written before versions were recorded, reads as version 1.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Standing {
    /// The current rank (`None`: no tier).
    pub tier: Option<usize>,
    /// When the current rank was entered (`None` if never changed).
    pub since: Option<NaiveDateTime>,
    /// The figures of the current window at `now`, one per metric the ladder measures.
    pub figures: Figures,
    /// The review period containing `now`.
    pub period: Period,
    /// The lowest rank the member can fall to: the highest permanent tier reached, or the
    /// entry tier (a first threshold of 0) that every member holds.
    pub floor: Option<usize>,
    /// A demotion in its grace period.
    pub pending: Option<PendingDemotion>,
    /// With [`PromotionTiming::NextPeriod`]: the rank the current figure already earns, to be
    /// granted at the period end.
    pub promotion_due: Option<usize>,
    /// Every change, oldest first.
    pub events: Vec<TierEvent>,
}

// Version 1 (no `version` field) held one figure of the ladder's only metric and explanations
// of one threshold; it is not read (see the table in `crate::version`).
versioned_serde!(Standing, "tier standing", 2, {
    tier: Option<usize>,
    since: Option<NaiveDateTime>,
    figures: Figures,
    period: Period,
    floor: Option<usize>,
    pending: Option<PendingDemotion>,
    promotion_due: Option<usize>,
    events: Vec<TierEvent>,
});

/// A tier program: a ladder, a qualification window and a policy.
///
/// Evaluation replays the member's history from scratch, so the result depends only on the
/// history (in any order), the join date and `now`. Events at one instant are applied
/// together; at an instant that is also a review point the review comes first (it judges
/// the period that ended), then an expiring grace period, then the events. Under
/// [`PromotionTiming::Immediate`] on a rolling window, the instant a refund leaves the window
/// (its time plus the window length, or the next midnight where month ends clamp) is
/// visited too: the figure rises without any event and may earn a promotion then.
///
/// Refunds count when they happen, not in the period of the order they refund (the
/// history carries no link between the two). For the other rule (a refund of last period's
/// order undoes that period's promotion) date the refund at the original order and record
/// when it was made ([`Recorded::late`]), then evaluate with [`Program::evaluate_as_known`]:
/// evaluations dated before the refund do not see it.
///
/// # Example
///
/// ```
/// use chrono::NaiveDate;
/// use loyalty::tiers::{Demotion, Ladder, Metric, Policy, Program, QualifyingEvent, Tier, Window};
/// use rust_decimal::Decimal;
///
/// let at = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(12, 0, 0).unwrap();
/// let ladder = Ladder::new(Metric::Spend, vec![
///     Tier::new("bronze", Decimal::ZERO)?,
///     Tier::new("silver", Decimal::from(500))?,
///     Tier::new("gold", Decimal::from(2000))?,
/// ])?;
/// let program = Program::new(ladder, Window::CalendarYear, Policy::default().demotion(Demotion::OneLevel))?;
/// let joined = NaiveDate::from_ymd_opt(2024, 1, 10).unwrap();
/// let history = [
///     QualifyingEvent::order(at(2024, 1, 10), Decimal::from(100))?,
///     QualifyingEvent::order(at(2024, 3, 5), Decimal::from(2400))?,
/// ];
/// let standing = program.evaluate(joined, &history, at(2025, 6, 1))?;
/// // Gold through 2024 (skipping silver), kept through 2025 on the 2024 figure.
/// assert_eq!(standing.tier, Some(2));
/// // Bronze (threshold 0) is held from the start: the first event is the move to gold.
/// assert_eq!(standing.events[0].crossed, vec![1, 2]);
/// // Nothing bought in 2025: silver from 1 January 2026.
/// assert_eq!(program.evaluate(joined, &history, at(2026, 1, 1))?.tier, Some(1));
/// # Ok::<(), loyalty::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "ProgramRepr", into = "ProgramRepr")
)]
pub struct Program {
    ladder: Ladder,
    window: Window,
    policy: Policy,
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct ProgramRepr {
    #[serde(default = "crate::version::v1")]
    version: u32,
    ladder: Ladder,
    window: Window,
    policy: Policy,
}

#[cfg(feature = "serde")]
impl TryFrom<ProgramRepr> for Program {
    type Error = Error;

    fn try_from(r: ProgramRepr) -> Result<Program> {
        crate::version::check("tiers program", r.version, 2)?;
        Program::new(r.ladder, r.window, r.policy)
    }
}

#[cfg(feature = "serde")]
impl From<Program> for ProgramRepr {
    fn from(p: Program) -> ProgramRepr {
        ProgramRepr { version: 2, ladder: p.ladder, window: p.window, policy: p.policy }
    }
}

impl Program {
    /// A program.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when a lifetime window
    /// (which has no period end) is combined with a demotion policy other than
    /// [`Demotion::Never`], a grace period or [`PromotionTiming::NextPeriod`]; or a rolling
    /// window longer than [`Window::rolling`] allows.
    pub fn new(ladder: Ladder, window: Window, policy: Policy) -> Result<Program> {
        // A window deserialized directly skips `Window::rolling`'s bounds.
        if let Window::Rolling { months, review_every } = window {
            Window::rolling(months.get(), review_every.get())?;
        }
        if window == Window::Lifetime {
            let reason = "a lifetime window has no period end";
            if policy.demotion != Demotion::Never {
                return Err(Error::invalid("demotion", format!("{:?}", policy.demotion), reason));
            }
            if policy.grace != Grace::None {
                return Err(Error::invalid("grace", format!("{:?}", policy.grace), reason));
            }
            if policy.promotion == PromotionTiming::NextPeriod {
                return Err(Error::invalid("promotion", "NextPeriod", reason));
            }
        }
        Ok(Program { ladder, window, policy })
    }

    /// The ladder.
    #[must_use]
    pub fn ladder(&self) -> &Ladder {
        &self.ladder
    }

    /// The window.
    #[must_use]
    pub fn window(&self) -> Window {
        self.window
    }

    /// The policy.
    #[must_use]
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// The member's standing at `now`, from their join date and history. Events after `now`
    /// are ignored (evaluation is "as of" `now`); a review point at exactly `now` has taken
    /// place. Events before the join date (imported history) count like any other. The join
    /// date anchors anniversary windows and rolling review cycles.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::InvalidRecord`](crate::ErrorKind::InvalidRecord) (index into
    ///   `history`) for a negative amount or points;
    /// - [`ErrorKind::Overflow`](crate::ErrorKind::Overflow) when sums or dates leave their
    ///   range.
    pub fn evaluate(
        &self,
        joined: NaiveDate,
        history: &[QualifyingEvent],
        now: NaiveDateTime,
    ) -> Result<Standing> {
        let prepared = Prepared::new(self.ladder.used(), history, now)?;
        self.run(joined, &prepared, now)
    }

    /// The member's standing at `now` as known at `now`: only events known by then
    /// (`known_at <= now`) count, each at its own `event.at` ([`Recorded`]). A refund of
    /// last period's order recorded at the order and known at the refund restates that
    /// period: an evaluation dated after the refund no longer sees the promotion the order
    /// earned (the standing and its events are the history as now known), while one dated
    /// before the refund is exactly what it was, so the refund never leaks backwards.
    /// Evaluations as of `t` depend on the events known at `t` only.
    ///
    /// # Errors
    ///
    /// As [`Program::evaluate`], and
    /// [`ErrorKind::InvalidRecord`](crate::ErrorKind::InvalidRecord) (index into `history`)
    /// for an event known before it happened.
    pub fn evaluate_as_known(
        &self,
        joined: NaiveDate,
        history: &[Recorded],
        now: NaiveDateTime,
    ) -> Result<Standing> {
        let mut known = Vec::with_capacity(history.len());
        for (i, r) in history.iter().enumerate() {
            if r.known_at < r.event.at {
                return Err(Error::invalid_record(
                    i,
                    "known at",
                    r.known_at,
                    "before the event it records",
                ));
            }
            if r.known_at <= now {
                known.push(r.event);
            }
        }
        self.evaluate(joined, &known, now)
    }

    /// Evaluates many members at `now`: `(join date, history)` each, results in the same
    /// order. Buffers are reused across members; with the `rayon` feature members are spread
    /// over threads (same results, same order).
    ///
    /// # Errors
    ///
    /// The first member (in input order) whose evaluation fails:
    /// [`ErrorKind::InvalidRecord`](crate::ErrorKind::InvalidRecord) with the member's index
    /// and the underlying error as its value.
    pub fn evaluate_all(
        &self,
        members: &[(NaiveDate, &[QualifyingEvent])],
        now: NaiveDateTime,
    ) -> Result<Vec<Standing>> {
        let used = self.ladder.used();
        let one = |p: &mut Prepared, (joined, history): &(NaiveDate, &[QualifyingEvent])| {
            p.fill(used, history, now)?;
            self.run(*joined, p, now)
        };
        let wrap = |m: usize, e: Error| Error::invalid_record(m, "member history", e, "rejected");
        #[cfg(feature = "rayon")]
        {
            use rayon::prelude::*;
            let results: Vec<Result<Standing>> =
                members.par_iter().map_init(Prepared::default, one).collect();
            results.into_iter().enumerate().map(|(m, r)| r.map_err(|e| wrap(m, e))).collect()
        }
        #[cfg(not(feature = "rayon"))]
        {
            let mut p = Prepared::default();
            members
                .iter()
                .enumerate()
                .map(|(m, member)| one(&mut p, member).map_err(|e| wrap(m, e)))
                .collect()
        }
    }

    /// Walks the member's history to `until`: events, reviews, the end of a grace period and
    /// refunds leaving a rolling window, in time order. One loop over the four kinds of
    /// instant, whose cursors (`i`, `k`, `drop_at`, `next_review`) each step reads and moves.
    pub(crate) fn run(
        &self,
        joined: NaiveDate,
        p: &Prepared,
        until: NaiveDateTime,
    ) -> Result<Standing> {
        // A first threshold of 0 is an entry tier everyone holds from the start: never
        // "promoted" into, and the floor no demotion or refund goes below.
        let entry = self.ladder.entry();
        let mut m = Machine {
            program: self,
            joined,
            tier: entry,
            since: None,
            secured: entry,
            floor: entry,
            secured_floor: entry,
            pending: None,
            events: Vec::new(),
        };
        let joined_at = joined.and_time(NaiveTime::MIN);
        let start = p.time(0).map_or(joined_at, |t| t.min(joined_at));
        let mut next_review = self.window.next_review(start, joined)?;
        let mut i = 0;
        // Refunds leaving a rolling window raise its figure without any event; under
        // immediate promotion those instants are visited too (`k`: the next refund row).
        let mut k = 0;
        let mut drop_at = None;
        loop {
            let event_at = p.time(i);
            if self.policy.promotion == PromotionTiming::Immediate {
                (k, drop_at) = p.next_dropout(self.window, k, drop_at)?;
            }
            let dropout_at = drop_at.filter(|&d| d <= until);
            let review_at = next_review.filter(|&r| r <= until);
            let grace_at = m.pending.map(|g| g.effective_at).filter(|&g| g <= until);
            let Some(t) = [event_at, review_at, grace_at, dropout_at].into_iter().flatten().min()
            else {
                break;
            };
            if review_at == Some(t) {
                m.review(p, t, i)?;
                next_review = self.window.next_review(t, joined)?;
            }
            if m.pending.is_some_and(|g| g.effective_at == t) {
                m.expire_grace(t);
            }
            if event_at == Some(t) {
                let j = p.run_end(i, t);
                m.batch(p, t, i, j)?;
                i = j;
            }
            if dropout_at == Some(t) {
                m.dropout(p, t, i)?;
                drop_at = None;
            }
            // The next refund to leave the window, before deciding what comes next: an idle
            // member skips ahead to it, and must not stop short when no event follows.
            if self.policy.promotion == PromotionTiming::Immediate {
                (k, drop_at) = p.next_dropout(self.window, k, drop_at)?;
            }
            // Reviews cannot change an idle member: skip them up to the next event, so the
            // cost follows the history, not the length of time covered.
            if m.idle() || m.quiet(p, i, next_review)? {
                let next = match (p.time(i), drop_at.filter(|&d| d <= until)) {
                    (Some(e), Some(d)) => Some(e.min(d)),
                    (e, d) => e.or(d),
                };
                match next {
                    None => break,
                    Some(next) => {
                        if next_review.is_some_and(|r| r <= next) {
                            m.secured = m.tier;
                            m.secured_floor = m.floor;
                            next_review = self.window.next_review(next, joined)?;
                        }
                    }
                }
            }
        }
        self.standing(m, p, joined, until)
    }

    /// The member's standing at `until` once the machine has walked the history: the
    /// figures of the window then, and a promotion due at the next period.
    fn standing(
        &self,
        m: Machine<'_>,
        p: &Prepared,
        joined: NaiveDate,
        until: NaiveDateTime,
    ) -> Result<Standing> {
        let lower = self.window.lower_at(until, joined)?;
        let figures = p.sum(lower, p.len())?;
        let promotion_due = match self.policy.promotion {
            PromotionTiming::NextPeriod => {
                self.ladder.tier_for(&figures).filter(|&r| Some(r) > m.tier)
            }
            PromotionTiming::Immediate => None,
        };
        Ok(Standing {
            tier: m.tier,
            since: m.since,
            figures,
            period: self.window.period(until, joined)?,
            floor: m.floor,
            pending: m.pending,
            promotion_due,
            events: m.events,
        })
    }
}

/// History sorted by time, reduced to the metrics the ladder measures, with prefix sums for
/// range queries.
#[derive(Debug, Default)]
pub(crate) struct Prepared {
    /// Which metric slots are measured (the others stay zero and are not reported).
    used: [bool; METRICS],
    rows: Vec<(NaiveDateTime, [Decimal; METRICS])>,
    /// Running totals per metric as exact mantissas at `scale`. `Decimal` totals round once
    /// they need more than 28 digits (amounts such as a third of an order), and the
    /// difference of two rounded totals could then fall short of a threshold that the
    /// window's own sum meets.
    prefix: Vec<[i128; METRICS]>,
    /// The finest scale among the contributions, per metric.
    scale: [u32; METRICS],
}

impl Prepared {
    pub(crate) fn new(
        used: [bool; METRICS],
        history: &[QualifyingEvent],
        cutoff: NaiveDateTime,
    ) -> Result<Prepared> {
        let mut p = Prepared::default();
        p.fill(used, history, cutoff)?;
        Ok(p)
    }

    /// Refills the buffers (kept across members in batch evaluation).
    pub(crate) fn fill(
        &mut self,
        used: [bool; METRICS],
        history: &[QualifyingEvent],
        cutoff: NaiveDateTime,
    ) -> Result<()> {
        self.used = used;
        self.rows.clear();
        self.prefix.clear();
        for (index, e) in history.iter().enumerate() {
            if let Err((field, value, reason)) = e.check() {
                return Err(Error::invalid_record(index, field, value, reason));
            }
            if e.at <= cutoff {
                let mut c = [Decimal::ZERO; METRICS];
                for (k, m) in c.iter_mut().enumerate() {
                    if used[k] {
                        *m = e.contribution(super::criterion::metric_of(k));
                    }
                }
                self.rows.push((e.at, c));
            }
        }
        // A total order on (time, contributions) makes the replay independent of the order
        // the history arrived in.
        self.rows.sort_unstable();
        for k in 0..METRICS {
            self.scale[k] = self.rows.iter().map(|r| r.1[k].scale()).max().unwrap_or(0);
        }
        let overflow = || Error::overflow("qualifying figure");
        let mut acc = [0i128; METRICS];
        self.prefix.push(acc);
        for (_, c) in &self.rows {
            for k in 0..METRICS {
                // `c[k].scale() <= self.scale[k] <= 28`.
                let m = 10i128
                    .checked_pow(self.scale[k] - c[k].scale())
                    .and_then(|f| c[k].mantissa().checked_mul(f))
                    .ok_or_else(overflow)?;
                acc[k] = acc[k].checked_add(m).ok_or_else(overflow)?;
            }
            self.prefix.push(acc);
        }
        Ok(())
    }

    /// The number of events.
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    fn time(&self, i: usize) -> Option<NaiveDateTime> {
        self.rows.get(i).map(|r| r.0)
    }

    /// The end of the run of events at instant `t` starting at `i`.
    fn run_end(&self, i: usize, t: NaiveDateTime) -> usize {
        i + self.rows.get(i..).map_or(0, |rest| rest.partition_point(|r| r.0 == t))
    }

    /// The next instant after which a figure-lowering row (from row `k` on) has left a
    /// rolling window (row time + window length: the window `(t - months, t]` excludes it
    /// from then on), and the row index after it. `current` is kept while unvisited.
    fn next_dropout(
        &self,
        window: Window,
        k: usize,
        current: Option<NaiveDateTime>,
    ) -> Result<(usize, Option<NaiveDateTime>)> {
        let Window::Rolling { months, .. } = window else { return Ok((k, None)) };
        if current.is_some() {
            return Ok((k, current));
        }
        let mut k = k;
        while let Some(&(t, c)) = self.rows.get(k) {
            k += 1;
            if lowering(&c) {
                // Past chrono's range the refund never leaves the window.
                let n = chrono::Months::new(months.get());
                let Some(d) = t.checked_add_months(n) else { return Ok((k, None)) };
                // Month ends clamp: 31 March + 1 month is 30 April, whose window still
                // reaches back past 31 March; the refund is out from the next midnight.
                if d.checked_sub_months(n).is_some_and(|back| back >= t) {
                    return Ok((k, Some(d)));
                }
                let next_day = d.date().succ_opt().map(|day| day.and_time(NaiveTime::MIN));
                return Ok((k, next_day));
            }
        }
        Ok((k, None))
    }

    /// Whether events `[i, j)` lower a figure (refunds, reversals).
    fn lowers(&self, i: usize, j: usize) -> bool {
        self.rows.get(i..j).is_some_and(|r| r.iter().any(|(_, c)| lowering(c)))
    }

    /// The figures of events `[.., hi)` admitted by `lower`.
    pub(crate) fn sum(&self, lower: Lower, hi: usize) -> Result<Figures> {
        let lo = match lower {
            Lower::Unbounded => 0,
            Lower::From(s) => self.rows.partition_point(|r| r.0 < s),
            Lower::After(s) => self.rows.partition_point(|r| r.0 <= s),
        }
        .min(hi);
        let (Some(a), Some(b)) = (self.prefix.get(hi), self.prefix.get(lo)) else {
            return Err(Error::invalid("history index", hi, "out of range"));
        };
        let mut out = Figures::default();
        for k in (0..METRICS).filter(|&k| self.used[k]) {
            let exact =
                a[k].checked_sub(b[k]).ok_or_else(|| Error::overflow("qualifying figure"))?;
            out = out.with(super::criterion::metric_of(k), figure(exact, self.scale[k])?);
        }
        Ok(out)
    }
}

/// Whether a row's contributions lower some figure.
fn lowering(c: &[Decimal; METRICS]) -> bool {
    c.iter().any(|x| x.is_sign_negative() && !x.is_zero())
}

/// The `Decimal` of the exact sum `m` at `scale`. A sum that needs more digits than a
/// `Decimal` holds (more than 28, from amounts with long fractions) drops its last digits,
/// rounding half to even: exact zeros first, so a whole figure such as 4066 comes out exact.
/// Rounding to nearest keeps figures monotone in the sums, so more spend never means a lower
/// figure.
///
/// # Errors
///
/// [`ErrorKind::Overflow`](crate::ErrorKind::Overflow) for a whole figure beyond `Decimal`.
fn figure(mut m: i128, mut scale: u32) -> Result<Decimal> {
    while scale > 0 && m.unsigned_abs() >> 96 != 0 {
        let (q, r) = (m / 10, m % 10);
        // Half to even, on the magnitude (`r` has the sign of `m`).
        let up = r.abs() > 5 || (r.abs() == 5 && q % 2 != 0);
        m = if up { q + m.signum() } else { q };
        scale -= 1;
    }
    Decimal::try_from_i128_with_scale(m, scale).map_err(|_| Error::overflow("qualifying figure"))
}

struct Machine<'a> {
    program: &'a Program,
    joined: NaiveDate,
    tier: Option<usize>,
    since: Option<NaiveDateTime>,
    /// The tier held after the last review: a refund never reverts below it.
    secured: Option<usize>,
    floor: Option<usize>,
    secured_floor: Option<usize>,
    pending: Option<PendingDemotion>,
    events: Vec<TierEvent>,
}

impl Machine<'_> {
    fn idle(&self) -> bool {
        let policy = self.program.policy;
        self.pending.is_none()
            && policy.promotion == PromotionTiming::Immediate
            && (policy.demotion == Demotion::Never || self.tier <= self.floor)
    }

    /// Whether every review up to the next event sees a figure of zero that keeps the
    /// current tier (no events left in its window and a threshold of zero or no tier).
    fn quiet(&self, p: &Prepared, i: usize, next_review: Option<NaiveDateTime>) -> Result<bool> {
        let program = self.program;
        if self.pending.is_some()
            || program.policy.promotion != PromotionTiming::Immediate
            || self.tier.is_some_and(|r| !program.ladder.meets(r, &Figures::default()))
        {
            return Ok(false);
        }
        let (Some(review), Some(last)) = (next_review, i.checked_sub(1).and_then(|k| p.time(k)))
        else {
            return Ok(true);
        };
        Ok(!program.window.lower_for_review(review, self.joined)?.admits(last))
    }

    fn explanation(
        &self,
        from: Lower,
        to: Upper,
        figures: Figures,
        criterion: Option<Criterion>,
    ) -> Explanation {
        Explanation { window: self.program.window, from, to, figures, criterion }
    }

    fn change(
        &mut self,
        at: NaiveDateTime,
        kind: TierEventKind,
        cause: Cause,
        to: Option<usize>,
        e: Explanation,
    ) {
        let from = self.tier;
        let crossed: Vec<usize> = if to > from {
            let first = from.map_or(0, |r| r + 1);
            to.map_or(Vec::new(), |t| (first..=t).collect())
        } else {
            let last = to.map_or(0, |r| r);
            from.map_or(Vec::new(), |f| (last..f).rev().collect())
        };
        self.events.push(TierEvent { at, kind, cause, from, to, crossed, explanation: e });
        if to > from {
            self.floor = self.floor.max(self.program.ladder.permanent_floor(to));
        }
        self.tier = to;
        self.since = Some(at);
    }

    fn mark(
        &mut self,
        at: NaiveDateTime,
        kind: TierEventKind,
        cause: Cause,
        to: Option<usize>,
        e: Explanation,
    ) {
        let from = self.tier;
        self.events.push(TierEvent {
            at,
            kind,
            cause,
            from,
            to,
            crossed: Vec::new(),
            explanation: e,
        });
    }

    fn batch(&mut self, p: &Prepared, t: NaiveDateTime, i: usize, j: usize) -> Result<()> {
        let ladder = &self.program.ladder;
        let policy = self.program.policy;
        let lower = self.program.window.lower_at(t, self.joined)?;
        let figures = p.sum(lower, j)?;
        let upper = Upper::Through(t);
        if policy.promotion == PromotionTiming::Immediate {
            let target = ladder.tier_for(&figures);
            if target > self.tier {
                let e = self.explanation(lower, upper, figures, ladder.criterion(target));
                self.change(t, TierEventKind::Promoted, Cause::Qualified, target, e);
                self.pending = None;
            }
        }
        if let (Some(g), Some(c)) = (self.pending, ladder.criterion(self.tier)) {
            if c.is_met(&figures) {
                let e = self.explanation(lower, upper, figures, Some(c));
                self.mark(t, TierEventKind::GraceCleared, Cause::Qualified, g.target, e);
                self.pending = None;
            }
        }
        let refunded = p.lowers(i, j);
        if policy.refunds == RefundEffect::UndoPromotion && refunded && self.tier > self.secured {
            if let Some(c) = ladder.criterion(self.tier) {
                if !c.is_met(&figures) {
                    let target = ladder.tier_for(&figures).max(self.secured);
                    let e = self.explanation(lower, upper, figures, Some(c));
                    self.change(t, TierEventKind::Reverted, Cause::Refund, target, e);
                    self.floor = self.secured_floor.max(ladder.permanent_floor(target));
                }
            }
        }
        Ok(())
    }

    /// A refund has just left the rolling window: the live figure may now earn a promotion.
    fn dropout(&mut self, p: &Prepared, t: NaiveDateTime, i: usize) -> Result<()> {
        let ladder = &self.program.ladder;
        let lower = self.program.window.lower_at(t, self.joined)?;
        let figures = p.sum(lower, i)?;
        let target = ladder.tier_for(&figures);
        if target > self.tier {
            let e = self.explanation(lower, Upper::Through(t), figures, ladder.criterion(target));
            self.change(t, TierEventKind::Promoted, Cause::Qualified, target, e);
            self.pending = None;
        }
        Ok(())
    }

    fn review(&mut self, p: &Prepared, b: NaiveDateTime, i: usize) -> Result<()> {
        let program = self.program;
        let ladder = &program.ladder;
        let lower = program.window.lower_for_review(b, self.joined)?;
        let figures = p.sum(lower, i)?;
        let upper = Upper::Before(b);
        let qualifies = ladder.tier_for(&figures);
        if program.policy.promotion == PromotionTiming::NextPeriod && qualifies > self.tier {
            let e = self.explanation(lower, upper, figures, ladder.criterion(qualifies));
            self.change(b, TierEventKind::Promoted, Cause::PeriodReview, qualifies, e);
            self.pending = None;
        } else {
            let held = ladder.criterion(self.tier);
            let keep = held.is_none_or(|c| c.is_met(&figures));
            let target = match program.policy.demotion {
                _ if keep => self.tier,
                Demotion::Never => self.tier,
                Demotion::OneLevel => self.tier.and_then(|r| r.checked_sub(1)),
                Demotion::Reevaluate => qualifies.min(self.tier),
            }
            .max(self.floor);
            let e = self.explanation(lower, upper, figures, held);
            if target < self.tier {
                match program.policy.grace.deadline(b, program.window, self.joined)? {
                    None => self.change(b, TierEventKind::Demoted, Cause::PeriodReview, target, e),
                    Some(until) => match &mut self.pending {
                        // Still short at a later review: the first deadline stands.
                        Some(g) => {
                            g.target = target;
                            g.explanation = e;
                        }
                        None => {
                            self.pending = Some(PendingDemotion {
                                target,
                                effective_at: until,
                                explanation: e,
                            });
                            self.mark(
                                b,
                                TierEventKind::GraceStarted { until },
                                Cause::PeriodReview,
                                target,
                                e,
                            );
                        }
                    },
                }
            } else if let Some(g) = self.pending.take() {
                self.mark(b, TierEventKind::GraceCleared, Cause::PeriodReview, g.target, e);
            }
        }
        self.secured = self.tier;
        self.secured_floor = self.floor;
        Ok(())
    }

    fn expire_grace(&mut self, t: NaiveDateTime) {
        if let Some(g) = self.pending.take() {
            let target = g.target.max(self.floor);
            if target < self.tier {
                self.change(t, TierEventKind::Demoted, Cause::GraceExpired, target, g.explanation);
            }
            self.secured = self.secured.min(self.tier);
            self.secured_floor = self.floor;
        }
    }
}

#[cfg(test)]
mod figure_tests {
    use super::figure;
    use rust_decimal::Decimal;

    #[test]
    fn exact_sums_convert_exactly_or_round_half_to_even() {
        // Fits: kept as it is, scale and all.
        assert_eq!(figure(40_660, 1).unwrap().to_string(), "4066.0");
        // 4066 at scale 27 needs more than 96 bits: trailing zeros go first, exactly.
        let m = 4066 * 10i128.pow(27);
        assert_eq!(figure(m, 27).unwrap(), Decimal::from(4066));
        // B.5 with B just below 2^96: one digit dropped, half to even.
        let even = (1i128 << 96) - 2;
        assert_eq!(figure(even * 10 + 5, 1).unwrap().mantissa(), even);
        let odd = (1i128 << 96) - 3;
        assert_eq!(figure(odd * 10 + 5, 1).unwrap().mantissa(), odd + 1);
        assert_eq!(figure(odd * 10 + 4, 1).unwrap().mantissa(), odd);
        // Negative figures round symmetrically.
        assert_eq!(figure(-(odd * 10 + 5), 1).unwrap().mantissa(), -(odd + 1));
        // A whole figure beyond Decimal is an error, not a clamp.
        assert!(figure(1i128 << 100, 0).is_err());
    }
}
