//! Tiers, their thresholds and the ladder that orders them.

use std::fmt;

use rust_decimal::Decimal;

use super::benefits::Benefits;
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

/// One step of a ladder: a name, the threshold of the qualifying metric, benefits.
///
/// # Example
///
/// ```
/// use loyalty::tiers::{TierRetention, Tier};
/// use rust_decimal::Decimal;
///
/// let gold = Tier::new("gold", Decimal::from(1000))?.with_retention(TierRetention::Permanent);
/// assert_eq!(gold.threshold(), Decimal::from(1000));
/// assert!(Tier::new("bad", Decimal::from(-1)).is_err());
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
    threshold: Decimal,
    benefits: Benefits,
    retention: TierRetention,
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct TierRepr {
    name: String,
    threshold: Decimal,
    #[serde(default)]
    benefits: Benefits,
    #[serde(default)]
    retention: TierRetention,
}

#[cfg(feature = "serde")]
impl TryFrom<TierRepr> for Tier {
    type Error = Error;

    fn try_from(r: TierRepr) -> Result<Tier> {
        Ok(Tier::new(r.name, r.threshold)?.with_benefits(r.benefits).with_retention(r.retention))
    }
}

#[cfg(feature = "serde")]
impl From<Tier> for TierRepr {
    fn from(t: Tier) -> TierRepr {
        TierRepr {
            name: t.name,
            threshold: t.threshold,
            benefits: t.benefits,
            retention: t.retention,
        }
    }
}

impl Tier {
    /// A tier reached when the metric is at least `threshold`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] when the name is empty or the threshold is negative.
    pub fn new(name: impl Into<String>, threshold: Decimal) -> Result<Tier> {
        let name = name.into();
        if name.trim().is_empty() {
            return Err(Error::invalid("tier name", name, "must not be empty"));
        }
        if threshold.is_sign_negative() && !threshold.is_zero() {
            return Err(Error::invalid("threshold", threshold, "must not be negative"));
        }
        Ok(Tier {
            name,
            threshold,
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

    /// The threshold of the qualifying metric.
    #[must_use]
    pub fn threshold(&self) -> Decimal {
        self.threshold
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

/// Tiers ordered by strictly increasing thresholds of one [`Metric`].
///
/// A tier is named by its rank, its position in the ladder (0 = lowest). A member whose
/// metric is below the first threshold holds no tier (`None`); make the first threshold 0
/// for a ladder where everyone has a tier.
///
/// # Example
///
/// ```
/// use loyalty::tiers::{Ladder, Metric, Tier};
/// use rust_decimal::Decimal;
///
/// let ladder = Ladder::new(Metric::Spend, vec![
///     Tier::new("bronze", Decimal::ZERO)?,
///     Tier::new("silver", Decimal::from(500))?,
///     Tier::new("gold", Decimal::from(2000))?,
/// ])?;
/// assert_eq!(ladder.tier_for(Decimal::from(499)), Some(0));
/// assert_eq!(ladder.tier_for(Decimal::from(500)), Some(1));
/// assert_eq!(ladder.tier_for(Decimal::from(10_000)), Some(2));
///
/// // Thresholds must be strictly increasing.
/// assert!(Ladder::new(Metric::Spend, vec![
///     Tier::new("silver", Decimal::from(500))?,
///     Tier::new("bronze", Decimal::from(100))?,
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
    /// A validated ladder.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::EmptyInput`] with no tier;
    /// - [`ErrorKind::InvalidRecord`] (index of the tier) when a threshold is not strictly
    ///   above the previous one (unsorted or duplicate thresholds), a name repeats, or a count
    ///   metric has a fractional threshold.
    pub fn new(metric: Metric, tiers: Vec<Tier>) -> Result<Ladder> {
        if tiers.is_empty() {
            return Err(Error::empty("tier ladder"));
        }
        if tiers.len() > usize::from(u16::MAX) {
            return Err(Error::invalid("tier count", tiers.len(), "must be at most 65535"));
        }
        for (i, t) in tiers.iter().enumerate() {
            if metric.is_count() && !t.threshold.fract().is_zero() {
                return Err(Error::invalid_record(
                    i,
                    "threshold",
                    t.threshold,
                    format!("{metric} thresholds must be whole numbers"),
                ));
            }
            if i > 0 && tiers[i - 1].threshold >= t.threshold {
                return Err(Error::invalid_record(
                    i,
                    "threshold",
                    t.threshold,
                    format!(
                        "must be above the threshold {} of tier `{}`",
                        tiers[i - 1].threshold,
                        tiers[i - 1].name
                    ),
                ));
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
        }
        Ok(Ladder { metric, tiers })
    }

    /// The qualifying metric.
    #[must_use]
    pub fn metric(&self) -> Metric {
        self.metric
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

    /// The highest tier whose threshold `figure` reaches (`None` below the first threshold).
    #[must_use]
    pub fn tier_for(&self, figure: Decimal) -> Option<usize> {
        self.tiers.partition_point(|t| t.threshold <= figure).checked_sub(1)
    }

    /// The threshold of a rank (`None` for no tier or an unknown rank).
    #[must_use]
    pub fn threshold(&self, rank: Option<usize>) -> Option<Decimal> {
        rank.and_then(|r| self.tiers.get(r)).map(|t| t.threshold)
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
            assert_eq!(l.tier_for(Decimal::from(figure)), want, "figure {figure}");
        }
        let l = Ladder::new(Metric::Spend, vec![tier("silver", 100)]).unwrap();
        assert_eq!(l.tier_for(Decimal::from(99)), None);
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
