//! How far a member is from the next tier, what keeps the current one, and where the period
//! end will leave them.

use chrono::{NaiveDate, NaiveDateTime};

use super::criterion::{Criterion, Figures, Join};
use super::evaluate::{Demotion, Prepared, Program, PromotionTiming, Standing};
use super::history::QualifyingEvent;
use super::ladder::Ladder;
use crate::error::Result;

/// What is left to meet a tier's criterion.
///
/// For an either-or criterion, `needed` holds the nearest route only: the metric with the
/// smallest share of its threshold still missing (ties to the first in
/// [`Metric`](super::Metric) order). For an all-of criterion it holds every part, 0 where
/// met. A single threshold is one route: how much more of it (0 when met).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Gap {
    /// The rank concerned.
    pub tier: usize,
    /// What it asks for.
    pub criterion: Criterion,
    /// How much more of each metric is needed.
    pub needed: Figures,
}

impl Gap {
    /// Whether nothing is missing.
    #[must_use]
    pub fn is_met(&self) -> bool {
        self.needed.iter().all(|(_, n)| n.is_zero())
    }

    /// A sentence naming the tier of `ladder`: "2 more orders for gold (spend 3000 or
    /// orders 6)", "1500 more spend for gold (spend 3000 and orders 3)", "gold: met (...)".
    #[must_use]
    pub fn describe(&self, ladder: &Ladder) -> String {
        let name = ladder.name(Some(self.tier));
        let parts: Vec<String> = self
            .needed
            .iter()
            .filter(|(_, n)| !n.is_zero())
            .map(|(m, n)| format!("{n} more {m}"))
            .collect();
        if parts.is_empty() {
            return format!("{name}: met ({})", self.criterion);
        }
        let sep = match self.criterion.join() {
            Join::AllOf => " and ",
            Join::AnyOf => " or ",
        };
        format!("{} for {name} ({})", parts.join(sep), self.criterion)
    }
}

/// Progress on the ladder at `now`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Progress {
    /// The standing at `now`.
    pub standing: Standing,
    /// The next tier up and what reaching it takes (`None` at the top). With immediate
    /// promotion the gap is measured on the figure now; with promotion at the next period,
    /// on the figure the review at the period end will see.
    pub next: Option<Gap>,
    /// What the member must add by the period end to keep the current tier (`None` when the
    /// tier cannot be lost: no tier, a lifetime window, [`Demotion::Never`], or a permanent
    /// tier).
    pub keep: Option<Gap>,
    /// By when `keep` must be met: the end of a running grace period, else the period end.
    pub keep_by: Option<NaiveDateTime>,
    /// The next review point (`None` for a lifetime window).
    pub period_end: Option<NaiveDateTime>,
    /// The figures the review at the period end will see if nothing else happens (for a
    /// rolling window, older events will have dropped out by then).
    pub projected_figures: Figures,
    /// The rank right after the review at the period end, if nothing else happens (a grace
    /// period keeps the current rank for now; see `projected_pending`).
    pub projected: Option<usize>,
    /// Whether the review at the period end will start a grace period.
    pub projected_pending: bool,
}

impl Program {
    /// Progress and projection at `now`.
    ///
    /// # Errors
    ///
    /// As [`Program::evaluate`].
    ///
    /// # Example
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use loyalty::tiers::{Demotion, Ladder, Metric, Policy, Program, QualifyingEvent, Tier, Window};
    /// use rust_decimal::Decimal;
    ///
    /// let at = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(9, 0, 0).unwrap();
    /// let ladder = Ladder::new(Metric::Spend, vec![
    ///     Tier::new("silver", Decimal::from(500))?,
    ///     Tier::new("gold", Decimal::from(2000))?,
    /// ])?;
    /// let program = Program::new(ladder, Window::CalendarYear, Policy::default().demotion(Demotion::Reevaluate))?;
    /// let joined = NaiveDate::from_ymd_opt(2023, 5, 1).unwrap();
    /// let history = [
    ///     QualifyingEvent::order(at(2023, 6, 1), Decimal::from(2100))?,
    ///     QualifyingEvent::order(at(2024, 2, 1), Decimal::from(800))?,
    /// ];
    /// let p = program.progress(joined, &history, at(2024, 7, 1))?;
    /// assert_eq!(p.standing.tier, Some(1)); // gold, from 2023
    /// assert_eq!(p.keep.unwrap().needed.get(Metric::Spend), Some(Decimal::from(1200))); // 2000 - 800 by 31 December
    /// assert_eq!(p.projected, Some(0)); // silver on 1 January
    /// assert!(p.next.is_none());
    /// # Ok::<(), loyalty::Error>(())
    /// ```
    pub fn progress(
        &self,
        joined: NaiveDate,
        history: &[QualifyingEvent],
        now: NaiveDateTime,
    ) -> Result<Progress> {
        let ladder = self.ladder();
        let prepared = Prepared::new(ladder.used(), history, now)?;
        let standing = self.run(joined, &prepared, now)?;
        let period_end = standing.period.end();
        let (projected_figures, projected, projected_pending) = match period_end {
            None => (standing.figures, standing.tier, false),
            Some(end) => {
                let lower = self.window().lower_for_review(end, joined)?;
                let figure = prepared.sum(lower, prepared.len())?;
                let at_end = self.run(joined, &prepared, end)?;
                let pending = at_end.pending.is_some_and(|g| g.effective_at > end);
                (figure, at_end.tier, pending)
            }
        };
        // A figure driven far below zero by refunds can make the gap exceed `Decimal`.
        let gap = |tier: usize, basis: &Figures| -> Result<Option<Gap>> {
            ladder
                .criterion(Some(tier))
                .map(|c| Ok(Gap { tier, criterion: c, needed: c.shortfall(basis)? }))
                .transpose()
        };
        let next_rank = standing.tier.map_or(0, |r| r + 1);
        let next = match self.policy().promotion_timing() {
            PromotionTiming::Immediate => gap(next_rank, &standing.figures)?,
            PromotionTiming::NextPeriod => gap(next_rank, &projected_figures)?,
        };
        let losable = period_end.is_some()
            && self.policy().demotion_policy() != Demotion::Never
            && standing.tier > standing.floor;
        // In a grace period the member keeps the tier by requalifying in the current window
        // before the grace ends.
        let (keep, keep_by) = match (standing.tier, standing.pending) {
            (Some(r), Some(g)) => (gap(r, &standing.figures)?, Some(g.effective_at)),
            (Some(r), None) if losable => (gap(r, &projected_figures)?, period_end),
            _ => (None, None),
        };
        Ok(Progress {
            standing,
            next,
            keep,
            keep_by,
            period_end,
            projected_figures,
            projected,
            projected_pending,
        })
    }
}
