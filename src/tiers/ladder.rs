//! Tiers, their thresholds and the ladder that orders them.

use std::fmt;

use rust_decimal::Decimal;

use super::benefits::Benefits;
use super::criterion::{metric_of, slot, Criterion, Figures, METRICS};
use crate::error::{Error, ErrorKind, Result};

/// What the ladder measures.
///
/// Never the spendable points balance: spending points must not demote a member, and a
/// balance-based level was a real bug (Open Loyalty #131). Points are counted as *earned*
/// (minus reversals of earned points).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Metric {
    /// Money spent: orders minus refunds, in the program currency.
    Spend,
    /// Number of orders, minus whole-order refunds.
    OrderCount,
    /// Points earned, minus reversals of earned points.
    PointsEarned,
}

impl Metric {
    /// Whether the metric counts whole units (thresholds must then be whole numbers).
    #[must_use]
    pub fn is_count(self) -> bool {
        !matches!(self, Metric::Spend)
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Metric::Spend => "spend",
            Metric::OrderCount => "orders",
            Metric::PointsEarned => "points earned",
        })
    }
}

/// Whether a tier, once reached, can be lost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum TierRetention {
    /// The demotion policy applies.
    #[default]
    Demotable,
    /// Never demoted below this tier once reached (a permanent VIP level).
    Permanent,
}

/// What a tier asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Requirement {
    /// A threshold of the ladder's [`Metric`] (the single-metric ladder).
    Threshold(Decimal),
    /// The tier's own [`Criterion`] (several metrics, either-or or all of them).
    Criterion(Criterion),
}

/// One step of a ladder: a name, what it requires, benefits.
///
/// [`Tier::new`] takes a threshold of the ladder's metric (the simple ladder);
/// [`Tier::by_criterion`] takes a [`Criterion`] of its own ("6 orders or 3000 spent").
///
/// # Example
///
/// ```
/// use loyalty::tiers::{Criterion, Metric, Tier, TierRetention};
/// use rust_decimal::Decimal;
///
/// let gold = Tier::new("gold", Decimal::from(1000))?.with_retention(TierRetention::Permanent);
/// assert_eq!(gold.threshold(), Some(Decimal::from(1000)));
/// assert!(Tier::new("bad", Decimal::from(-1)).is_err());
/// let either = Criterion::any_of([(Metric::OrderCount, Decimal::from(6)), (Metric::Spend, Decimal::from(3000))])?;
/// assert_eq!(Tier::by_criterion("gold", either)?.threshold(), None);
/// # Ok::<(), loyalty::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "TierRepr", into = "TierRepr")
)]
pub struct Tier {
    name: String,
    requirement: Requirement,
    benefits: Benefits,
    retention: TierRetention,
}

/// Stored with either `threshold` (format version 1 and the simple ladder) or `criterion`.
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct TierRepr {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    threshold: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    criterion: Option<Criterion>,
    #[serde(default)]
    benefits: Benefits,
    #[serde(default)]
    retention: TierRetention,
}

#[cfg(feature = "serde")]
impl TryFrom<TierRepr> for Tier {
    type Error = Error;

    fn try_from(r: TierRepr) -> Result<Tier> {
        let tier = match (r.threshold, r.criterion) {
            (Some(th), None) => Tier::new(r.name, th)?,
            (None, Some(c)) => Tier::by_criterion(r.name, c)?,
            (Some(_), Some(_)) => {
                return Err(Error::invalid("tier", r.name, "has both a threshold and a criterion"))
            }
            (None, None) => {
                return Err(Error::invalid(
                    "tier",
                    r.name,
                    "has neither a threshold nor a criterion",
                ))
            }
        };
        Ok(tier.with_benefits(r.benefits).with_retention(r.retention))
    }
}

#[cfg(feature = "serde")]
impl From<Tier> for TierRepr {
    fn from(t: Tier) -> TierRepr {
        let (threshold, criterion) = match t.requirement {
            Requirement::Threshold(th) => (Some(th), None),
            Requirement::Criterion(c) => (None, Some(c)),
        };
        TierRepr {
            name: t.name,
            threshold,
            criterion,
            benefits: t.benefits,
            retention: t.retention,
        }
    }
}

impl Tier {
    /// A tier reached when the ladder's metric is at least `threshold`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] when the name is empty or the threshold is negative.
    pub fn new(name: impl Into<String>, threshold: Decimal) -> Result<Tier> {
        if threshold.is_sign_negative() && !threshold.is_zero() {
            return Err(Error::invalid("threshold", threshold, "must not be negative"));
        }
        Tier::with_requirement(name.into(), Requirement::Threshold(threshold))
    }

    /// A tier reached when `criterion` is met, whatever the ladder's metric.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] when the name is empty.
    pub fn by_criterion(name: impl Into<String>, criterion: Criterion) -> Result<Tier> {
        Tier::with_requirement(name.into(), Requirement::Criterion(criterion))
    }

    fn with_requirement(name: String, requirement: Requirement) -> Result<Tier> {
        if name.trim().is_empty() {
            return Err(Error::invalid("tier name", name, "must not be empty"));
        }
        Ok(Tier {
            name,
            requirement,
            benefits: Benefits::none(),
            retention: TierRetention::Demotable,
        })
    }

    /// Sets the benefits.
    #[must_use]
    pub fn with_benefits(mut self, benefits: Benefits) -> Tier {
        self.benefits = benefits;
        self
    }

    /// Sets whether the tier can be lost.
    #[must_use]
    pub fn with_retention(mut self, retention: TierRetention) -> Tier {
        self.retention = retention;
        self
    }

    /// The name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the tier asks for.
    #[must_use]
    pub fn requirement(&self) -> Requirement {
        self.requirement
    }

    /// The threshold of the ladder's metric (`None` for a tier with its own criterion; see
    /// [`Ladder::criterion`] for what any tier asks).
    #[must_use]
    pub fn threshold(&self) -> Option<Decimal> {
        match self.requirement {
            Requirement::Threshold(th) => Some(th),
            Requirement::Criterion(_) => None,
        }
    }

    /// The benefits.
    #[must_use]
    pub fn benefits(&self) -> &Benefits {
        &self.benefits
    }

    /// Whether the tier can be lost.
    #[must_use]
    pub fn retention(&self) -> TierRetention {
        self.retention
    }
}

/// Tiers ordered from the lowest, each asking for more than the one below.
///
/// A tier is named by its rank, its position in the ladder (0 = lowest). The simple ladder
/// has thresholds of one [`Metric`], strictly increasing. Tiers may instead carry their own
/// [`Criterion`] over several metrics ("gold if 6 orders or 3000 spent"); the ladder then
/// checks that the tiers are ordered: every member who meets a tier meets the one below,
/// and not the other way round (so each tier asks for more, and every route into a tier
/// passes the tier below). A member holds the highest tier they meet.
///
/// A member who meets no tier holds none (`None`); make the first tier one that everyone
/// meets (a threshold of 0) for a ladder where everyone has a tier.
///
/// # Example
///
/// ```
/// use loyalty::tiers::{Criterion, Figures, Ladder, Metric, Tier};
/// use rust_decimal::Decimal;
///
/// let spend = |x: i64| Figures::default().with(Metric::Spend, Decimal::from(x));
/// let ladder = Ladder::new(Metric::Spend, vec![
///     Tier::new("bronze", Decimal::ZERO)?,
///     Tier::new("silver", Decimal::from(500))?,
///     Tier::new("gold", Decimal::from(2000))?,
/// ])?;
/// assert_eq!(ladder.tier_for(&spend(499)), Some(0));
/// assert_eq!(ladder.tier_for(&spend(500)), Some(1));
/// assert_eq!(ladder.tier_for(&spend(10_000)), Some(2));
///
/// // Thresholds must be strictly increasing.
/// assert!(Ladder::new(Metric::Spend, vec![
///     Tier::new("silver", Decimal::from(500))?,
///     Tier::new("bronze", Decimal::from(100))?,
/// ]).is_err());
///
/// // Silver on 3 orders, gold on 6 orders or 3000 spent: the spend route skips silver.
/// let gold = Criterion::any_of([(Metric::OrderCount, Decimal::from(6)), (Metric::Spend, Decimal::from(3000))])?;
/// assert!(Ladder::new(Metric::OrderCount, vec![
///     Tier::new("silver", Decimal::from(3))?,
///     Tier::by_criterion("gold", gold)?,
/// ]).is_err());
/// # Ok::<(), loyalty::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "LadderRepr", into = "LadderRepr")
)]
pub struct Ladder {
    metric: Metric,
    tiers: Vec<Tier>,
    /// What each tier asks for, thresholds resolved to the ladder's metric.
    criteria: Vec<Criterion>,
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct LadderRepr {
    metric: Metric,
    tiers: Vec<Tier>,
}

#[cfg(feature = "serde")]
impl TryFrom<LadderRepr> for Ladder {
    type Error = Error;

    fn try_from(r: LadderRepr) -> Result<Ladder> {
        Ladder::new(r.metric, r.tiers)
    }
}

#[cfg(feature = "serde")]
impl From<Ladder> for LadderRepr {
    fn from(l: Ladder) -> LadderRepr {
        LadderRepr { metric: l.metric, tiers: l.tiers }
    }
}

impl Ladder {
    /// A validated ladder. `metric` is what [`Tier::new`] thresholds measure; tiers made
    /// with [`Tier::by_criterion`] name their own metrics.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::EmptyInput`] with no tier;
    /// - [`ErrorKind::InvalidRecord`] (index of the tier) when a threshold is not strictly
    ///   above the previous one (unsorted or duplicate thresholds), a count metric has a
    ///   fractional threshold, a name repeats, or (field `criterion`) a tier can be met
    ///   without the tier below or asks for no more than it.
    pub fn new(metric: Metric, tiers: Vec<Tier>) -> Result<Ladder> {
        if tiers.is_empty() {
            return Err(Error::empty("tier ladder"));
        }
        if tiers.len() > usize::from(u16::MAX) {
            return Err(Error::invalid("tier count", tiers.len(), "must be at most 65535"));
        }
        let mut criteria: Vec<Criterion> = Vec::with_capacity(tiers.len());
        for (i, t) in tiers.iter().enumerate() {
            let c = match t.requirement {
                Requirement::Threshold(th) => Criterion::reach(metric, th).map_err(|e| {
                    let reason = match e.kind() {
                        ErrorKind::InvalidInput { reason, .. } => reason.to_string(),
                        _ => e.to_string(),
                    };
                    Error::invalid_record(i, "threshold", th, reason)
                })?,
                Requirement::Criterion(c) => c,
            };
            if let Some((prev, pc)) =
                i.checked_sub(1).and_then(|p| Some((tiers.get(p)?, criteria.get(p)?)))
            {
                if let (Some(a), Some(b)) = (prev.threshold(), t.threshold()) {
                    if a >= b {
                        return Err(Error::invalid_record(
                            i,
                            "threshold",
                            b,
                            format!("must be above the threshold {a} of tier `{}`", prev.name),
                        ));
                    }
                } else if !c.implies(pc) {
                    return Err(Error::invalid_record(
                        i,
                        "criterion",
                        c,
                        format!(
                            "can be met without tier `{}` ({pc}): every route into a tier must pass the tier below",
                            prev.name
                        ),
                    ));
                } else if pc.implies(&c) {
                    return Err(Error::invalid_record(
                        i,
                        "criterion",
                        c,
                        format!("asks for no more than tier `{}` ({pc})", prev.name),
                    ));
                }
            }
            if tiers[..i].iter().any(|o| o.name == t.name) {
                return Err(ErrorKind::InvalidRecord {
                    index: i,
                    field: "tier name",
                    value: t.name.clone(),
                    reason: "name used twice".into(),
                }
                .into());
            }
            criteria.push(c);
        }
        Ok(Ladder { metric, tiers, criteria })
    }

    /// The metric of [`Tier::new`] thresholds.
    #[must_use]
    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// Every metric some tier asks for, in [`Metric`] order.
    pub fn metrics(&self) -> impl Iterator<Item = Metric> + '_ {
        let used = self.used();
        (0..METRICS).filter(move |&i| used[i]).map(metric_of)
    }

    /// Which metric slots some tier asks for.
    pub(crate) fn used(&self) -> [bool; METRICS] {
        let mut used = [false; METRICS];
        for c in &self.criteria {
            for (m, _) in c.targets() {
                used[slot(m)] = true;
            }
        }
        used
    }

    /// The tiers, lowest first.
    #[must_use]
    pub fn tiers(&self) -> &[Tier] {
        &self.tiers
    }

    /// The tier of a rank.
    #[must_use]
    pub fn tier(&self, rank: usize) -> Option<&Tier> {
        self.tiers.get(rank)
    }

    /// The rank of a tier by name.
    #[must_use]
    pub fn rank_of(&self, name: &str) -> Option<usize> {
        self.tiers.iter().position(|t| t.name == name)
    }

    /// The highest tier `figures` meet (`None` when they meet none). Metrics missing from
    /// `figures` count as 0.
    #[must_use]
    pub fn tier_for(&self, figures: &Figures) -> Option<usize> {
        // Tiers are ordered, so the tiers met are a prefix for figures not below zero; the
        // highest met also places figures driven negative by refunds.
        self.criteria.iter().rposition(|c| c.is_met(figures))
    }

    /// The tier every member holds, with nothing done (`None` unless the first tier is met
    /// by figures of 0).
    #[must_use]
    pub fn entry(&self) -> Option<usize> {
        self.tier_for(&Figures::default())
    }

    /// What a rank asks for (`None` for no tier or an unknown rank), thresholds of
    /// [`Tier::new`] as a [`Criterion`] of the ladder's metric.
    #[must_use]
    pub fn criterion(&self, rank: Option<usize>) -> Option<Criterion> {
        rank.and_then(|r| self.criteria.get(r)).copied()
    }

    /// Whether `figures` meet the tier of `rank`.
    pub(crate) fn meets(&self, rank: usize, figures: &Figures) -> bool {
        self.criteria.get(rank).is_some_and(|c| c.is_met(figures))
    }

    /// The name of a rank, or `"none"`.
    #[must_use]
    pub fn name(&self, rank: Option<usize>) -> &str {
        rank.and_then(|r| self.tiers.get(r)).map_or("none", |t| t.name.as_str())
    }

    /// The highest permanent tier at or below `rank`.
    pub(crate) fn permanent_floor(&self, rank: Option<usize>) -> Option<usize> {
        let r = rank?;
        (0..=r.min(self.tiers.len().saturating_sub(1)))
            .rev()
            .find(|&i| self.tiers.get(i).is_some_and(|t| t.retention == TierRetention::Permanent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tier(name: &str, th: i64) -> Tier {
        Tier::new(name, Decimal::from(th)).unwrap()
    }

    fn spend(x: i64) -> Figures {
        Figures::default().with(Metric::Spend, Decimal::from(x))
    }

    #[test]
    fn selection_at_every_boundary() {
        // ERPNext #22167: the wrong tier was chosen when looping from the top with min 0.
        let l = Ladder::new(
            Metric::Spend,
            vec![tier("bronze", 0), tier("silver", 500), tier("gold", 2000)],
        )
        .unwrap();
        let cases = [
            (-1, None),
            (0, Some(0)),
            (499, Some(0)),
            (500, Some(1)),
            (1999, Some(1)),
            (2000, Some(2)),
            (9999, Some(2)),
        ];
        for (figure, want) in cases {
            assert_eq!(l.tier_for(&spend(figure)), want, "figure {figure}");
        }
        let l = Ladder::new(Metric::Spend, vec![tier("silver", 100)]).unwrap();
        assert_eq!(l.tier_for(&spend(99)), None);
    }

    #[test]
    fn bad_ladders() {
        let e = Ladder::new(Metric::Spend, vec![]).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::EmptyInput { .. }));
        let e = Ladder::new(Metric::Spend, vec![tier("a", 10), tier("b", 5)]).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::InvalidRecord { index: 1, field: "threshold", .. }));
        let e = Ladder::new(Metric::Spend, vec![tier("a", 10), tier("b", 10)]).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::InvalidRecord { index: 1, field: "threshold", .. }));
        let e = Ladder::new(Metric::Spend, vec![tier("a", 1), tier("a", 10)]).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::InvalidRecord { field: "tier name", .. }));
        let half = Tier::new("a", Decimal::new(5, 1)).unwrap();
        assert!(Ladder::new(Metric::OrderCount, vec![half]).is_err());
        assert!(Tier::new("", Decimal::ONE).is_err());
        let e = Tier::new("x", Decimal::from(-5)).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::InvalidInput { field: "threshold", .. }));
    }

    #[test]
    fn permanent_floor() {
        let l = Ladder::new(
            Metric::Spend,
            vec![
                tier("a", 0),
                tier("b", 10).with_retention(TierRetention::Permanent),
                tier("c", 20),
            ],
        )
        .unwrap();
        assert_eq!(l.permanent_floor(Some(2)), Some(1));
        assert_eq!(l.permanent_floor(Some(0)), None);
        assert_eq!(l.permanent_floor(None), None);
    }
}
