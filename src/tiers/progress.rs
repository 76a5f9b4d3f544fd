//! How far a member is from the next tier, what keeps the current one, and where the period
//! end will leave them.

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;

use super::evaluate::{Demotion, Prepared, Program, PromotionTiming, Standing};
use super::history::QualifyingEvent;
use crate::error::{Error, Result};

/// A distance to a threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Gap {
    /// The rank concerned.
    pub tier: usize,
    /// Its threshold.
    pub threshold: Decimal,
    /// How much more of the metric is needed (0 when already met).
    pub needed: Decimal,
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
    /// The figure the review at the period end will see if nothing else happens (for a
    /// rolling window, older events will have dropped out by then).
    pub projected_figure: Decimal,
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
    /// assert_eq!(p.keep.unwrap().needed, Decimal::from(1200)); // 2000 - 800 by 31 December
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
        let prepared = Prepared::new(ladder.metric(), history, now)?;
        let standing = self.run(joined, &prepared, now)?;
        let period_end = standing.period.end();
        let (projected_figure, projected, projected_pending) = match period_end {
            None => (standing.figure, standing.tier, false),
            Some(end) => {
                let lower = self.window().lower_for_review(end, joined)?;
                let figure = prepared.sum(lower, prepared.len())?;
                let at_end = self.run(joined, &prepared, end)?;
                let pending = at_end.pending.is_some_and(|g| g.effective_at > end);
                (figure, at_end.tier, pending)
            }
        };
        // A figure driven far below zero by refunds can make the gap exceed `Decimal`.
        let gap = |tier: usize, basis: Decimal| -> Result<Option<Gap>> {
            ladder
                .tier(tier)
                .map(|t| {
                    let needed = t
                        .threshold()
                        .checked_sub(basis)
                        .ok_or_else(|| Error::overflow("amount needed for a tier"))?;
                    Ok(Gap { tier, threshold: t.threshold(), needed: needed.max(Decimal::ZERO) })
                })
                .transpose()
        };
        let next_rank = standing.tier.map_or(0, |r| r + 1);
        let next = match self.policy().promotion_timing() {
            PromotionTiming::Immediate => gap(next_rank, standing.figure)?,
            PromotionTiming::NextPeriod => gap(next_rank, projected_figure)?,
        };
        let losable = period_end.is_some()
            && self.policy().demotion_policy() != Demotion::Never
            && standing.tier > standing.floor;
        // In a grace period the member keeps the tier by requalifying in the current window
        // before the grace ends.
        let (keep, keep_by) = match (standing.tier, standing.pending) {
            (Some(r), Some(g)) => (gap(r, standing.figure)?, Some(g.effective_at)),
            (Some(r), None) if losable => (gap(r, projected_figure)?, period_end),
            _ => (None, None),
        };
        Ok(Progress {
            standing,
            next,
            keep,
            keep_by,
            period_end,
            projected_figure,
            projected,
            projected_pending,
        })
    }
}
