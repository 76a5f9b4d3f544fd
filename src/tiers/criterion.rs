//! What a tier asks for when one metric is not enough: "gold if 6 orders or 3000 spent".

use std::fmt;

use rust_decimal::Decimal;

use super::ladder::Metric;
use crate::error::{Error, Result};

/// How many metrics there are: a criterion names each at most once.
pub(crate) const METRICS: usize = 3;

/// The slot of a metric in per-metric arrays.
pub(crate) fn slot(metric: Metric) -> usize {
    match metric {
        Metric::Spend => 0,
        Metric::OrderCount => 1,
        Metric::PointsEarned => 2,
    }
}

/// The metric of a slot.
pub(crate) fn metric_of(slot: usize) -> Metric {
    match slot {
        0 => Metric::Spend,
        1 => Metric::OrderCount,
        _ => Metric::PointsEarned,
    }
}

/// How the targets of a [`Criterion`] combine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Join {
    /// Any one target is enough (either-or); a single target is this too.
    #[default]
    AnyOf,
    /// Every target must be met.
    AllOf,
}

/// What a tier requires: one or more metrics, each with a threshold, joined by "or"
/// ([`Join::AnyOf`]) or "and" ([`Join::AllOf`]). A metric appears at most once.
///
/// Every metric can only be added to (refunds aside), so meeting a criterion is monotone:
/// more of any metric never loses it. That is what lets a [`Ladder`](super::Ladder) check
/// that its tiers are ordered.
///
/// # Example
///
/// ```
/// use loyalty::tiers::{Criterion, Figures, Metric};
/// use rust_decimal::Decimal;
///
/// // Gold: 6 orders or 3000 spent.
/// let gold = Criterion::any_of([(Metric::OrderCount, Decimal::from(6)), (Metric::Spend, Decimal::from(3000))])?;
/// let by_orders = Figures::default().with(Metric::OrderCount, Decimal::from(6)).with(Metric::Spend, Decimal::from(400));
/// let by_spend = Figures::default().with(Metric::OrderCount, Decimal::from(2)).with(Metric::Spend, Decimal::from(3200));
/// assert!(gold.is_met(&by_orders) && gold.is_met(&by_spend));
/// assert_eq!(gold.to_string(), "spend 3000 or orders 6");
///
/// // An empty either-or and a metric named twice are refused.
/// assert!(Criterion::any_of([]).is_err());
/// assert!(Criterion::all_of([(Metric::Spend, Decimal::from(1)), (Metric::Spend, Decimal::from(2))]).is_err());
/// # Ok::<(), loyalty::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "CriterionRepr", into = "CriterionRepr")
)]
pub struct Criterion {
    join: Join,
    /// The threshold of each metric named, by [`slot`].
    thresholds: [Option<Decimal>; METRICS],
}

/// One metric and its threshold, as stored.
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct TargetRepr {
    metric: Metric,
    threshold: Decimal,
}

/// The stored form: `{"reach": {..}}`, `{"any_of": [..]}` or `{"all_of": [..]}`.
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
enum CriterionRepr {
    Reach(TargetRepr),
    AnyOf(Vec<TargetRepr>),
    AllOf(Vec<TargetRepr>),
}

#[cfg(feature = "serde")]
impl TryFrom<CriterionRepr> for Criterion {
    type Error = Error;

    fn try_from(r: CriterionRepr) -> Result<Criterion> {
        let pairs =
            |v: Vec<TargetRepr>| v.into_iter().map(|t| (t.metric, t.threshold)).collect::<Vec<_>>();
        match r {
            CriterionRepr::Reach(t) => Criterion::reach(t.metric, t.threshold),
            CriterionRepr::AnyOf(v) => Criterion::any_of(pairs(v)),
            CriterionRepr::AllOf(v) => Criterion::all_of(pairs(v)),
        }
    }
}

#[cfg(feature = "serde")]
impl From<Criterion> for CriterionRepr {
    fn from(c: Criterion) -> CriterionRepr {
        let mut v: Vec<TargetRepr> =
            c.targets().map(|(metric, threshold)| TargetRepr { metric, threshold }).collect();
        match c.join {
            _ if v.len() == 1 => CriterionRepr::Reach(v.remove(0)),
            Join::AnyOf => CriterionRepr::AnyOf(v),
            Join::AllOf => CriterionRepr::AllOf(v),
        }
    }
}

impl Criterion {
    /// One metric reaching `threshold`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a negative threshold,
    /// or a fractional one for a count metric.
    pub fn reach(metric: Metric, threshold: Decimal) -> Result<Criterion> {
        Criterion::build(Join::AnyOf, [(metric, threshold)])
    }

    /// Any one of the targets (either-or).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::EmptyInput`](crate::ErrorKind::EmptyInput) with no target;
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a metric named twice,
    /// a negative threshold or a fractional one for a count metric.
    pub fn any_of(targets: impl IntoIterator<Item = (Metric, Decimal)>) -> Result<Criterion> {
        Criterion::build(Join::AnyOf, targets)
    }

    /// Every one of the targets.
    ///
    /// # Errors
    ///
    /// As [`Criterion::any_of`].
    pub fn all_of(targets: impl IntoIterator<Item = (Metric, Decimal)>) -> Result<Criterion> {
        Criterion::build(Join::AllOf, targets)
    }

    fn build(
        join: Join,
        targets: impl IntoIterator<Item = (Metric, Decimal)>,
    ) -> Result<Criterion> {
        let mut thresholds = [None; METRICS];
        let mut count = 0;
        for (metric, threshold) in targets {
            check_threshold(metric, threshold)?;
            let s = &mut thresholds[slot(metric)];
            if s.is_some() {
                return Err(Error::invalid(
                    "criterion",
                    metric,
                    "metric named twice (one threshold per metric)",
                ));
            }
            *s = Some(threshold);
            count += 1;
        }
        match count {
            0 => Err(Error::empty(match join {
                Join::AnyOf => "any-of criterion",
                Join::AllOf => "all-of criterion",
            })),
            // "Any of one" and "all of one" are the same criterion: one form, so they compare
            // equal and store alike.
            1 => Ok(Criterion { join: Join::AnyOf, thresholds }),
            _ => Ok(Criterion { join, thresholds }),
        }
    }

    /// How the targets combine.
    #[must_use]
    pub fn join(&self) -> Join {
        self.join
    }

    /// The targets, `(metric, threshold)`, in [`Metric`] order.
    pub fn targets(&self) -> impl Iterator<Item = (Metric, Decimal)> + '_ {
        self.thresholds.iter().enumerate().filter_map(|(i, t)| t.map(|t| (metric_of(i), t)))
    }

    /// The threshold of `metric`, if the criterion names it.
    #[must_use]
    pub fn threshold(&self, metric: Metric) -> Option<Decimal> {
        self.thresholds[slot(metric)]
    }

    /// Whether `figures` meet the criterion (a metric missing from `figures` counts as 0).
    #[must_use]
    pub fn is_met(&self, figures: &Figures) -> bool {
        let mut hits = self.targets().map(|(m, th)| figures.value(m) >= th);
        match self.join {
            Join::AnyOf => hits.any(|h| h),
            Join::AllOf => hits.all(|h| h),
        }
    }

    /// Whether everyone who meets `self` meets `other`, for figures not below zero.
    ///
    /// Meeting is monotone in each metric, so it is enough to look at the least figures
    /// that meet each way into `self`: one target each under any-of, all targets at once
    /// under all-of, every other metric at 0 (nothing done; so a first tier of threshold 0
    /// sits below any criterion). Only refunds beyond what the window holds make a figure
    /// negative; a member is then still placed on the highest tier they meet.
    pub(crate) fn implies(&self, other: &Criterion) -> bool {
        let routes: Vec<[Option<Decimal>; METRICS]> = match self.join {
            Join::AnyOf => (0..METRICS)
                .filter(|&i| self.thresholds[i].is_some())
                .map(|i| {
                    let mut r = [None; METRICS];
                    r[i] = self.thresholds[i];
                    r
                })
                .collect(),
            Join::AllOf => vec![self.thresholds],
        };
        routes.iter().all(|least| {
            let mut hits =
                other.targets().map(|(m, th)| least[slot(m)].unwrap_or(Decimal::ZERO) >= th);
            match other.join {
                Join::AnyOf => hits.any(|h| h),
                Join::AllOf => hits.all(|h| h),
            }
        })
    }

    /// What `figures` lack: under any-of the nearest target (the one with the smallest
    /// share of its threshold still missing, ties to the first in [`Metric`] order), under
    /// all-of every target (0 where met).
    pub(crate) fn shortfall(&self, figures: &Figures) -> Result<Figures> {
        let mut need = Figures::default();
        let lack = |m: Metric, th: Decimal| -> Result<Decimal> {
            let n = th
                .checked_sub(figures.value(m))
                .ok_or_else(|| Error::overflow("amount needed for a tier"))?;
            Ok(n.max(Decimal::ZERO))
        };
        match self.join {
            Join::AllOf => {
                for (m, th) in self.targets() {
                    need = need.with(m, lack(m, th)?);
                }
            }
            Join::AnyOf => {
                let mut best: Option<(Decimal, Metric, Decimal)> = None;
                for (m, th) in self.targets() {
                    let n = lack(m, th)?;
                    // A zero threshold is met by anyone: share 0.
                    let share = if th.is_zero() {
                        Decimal::ZERO
                    } else {
                        n.checked_div(th).unwrap_or(Decimal::MAX)
                    };
                    if best.is_none_or(|(s, _, _)| share < s) {
                        best = Some((share, m, n));
                    }
                }
                if let Some((_, m, n)) = best {
                    need = need.with(m, n);
                }
            }
        }
        Ok(need)
    }
}

/// A threshold is not negative, and whole for a count metric.
pub(crate) fn check_threshold(metric: Metric, threshold: Decimal) -> Result<()> {
    if threshold.is_sign_negative() && !threshold.is_zero() {
        return Err(Error::invalid("threshold", threshold, "must not be negative"));
    }
    if metric.is_count() && !threshold.fract().is_zero() {
        return Err(Error::invalid(
            "threshold",
            threshold,
            format!("{metric} thresholds must be whole numbers"),
        ));
    }
    Ok(())
}

impl fmt::Display for Criterion {
    /// "spend 3000 or orders 6", "spend 1000 and orders 3", "spend 500".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sep = match self.join {
            Join::AnyOf => " or ",
            Join::AllOf => " and ",
        };
        for (i, (m, th)) in self.targets().enumerate() {
            if i > 0 {
                f.write_str(sep)?;
            }
            write!(f, "{m} {th}")?;
        }
        Ok(())
    }
}

/// A figure per metric: what a member has over a window, or what they still need.
/// Metrics not measured are absent ([`Figures::get`] gives `None`).
///
/// # Example
///
/// ```
/// use loyalty::tiers::{Figures, Metric};
/// use rust_decimal::Decimal;
///
/// let f = Figures::default().with(Metric::Spend, Decimal::from(120));
/// assert_eq!(f.get(Metric::Spend), Some(Decimal::from(120)));
/// assert_eq!(f.get(Metric::OrderCount), None);
/// assert_eq!(f.to_string(), "spend 120");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Figures {
    /// By [`slot`]; serialized as `[spend, orders, points earned]`.
    values: [Option<Decimal>; METRICS],
}

impl Figures {
    /// Sets the figure of `metric`.
    #[must_use]
    pub fn with(mut self, metric: Metric, value: Decimal) -> Figures {
        self.values[slot(metric)] = Some(value);
        self
    }

    /// The figure of `metric`, if measured.
    #[must_use]
    pub fn get(&self, metric: Metric) -> Option<Decimal> {
        self.values[slot(metric)]
    }

    /// The measured figures, `(metric, figure)`, in [`Metric`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Metric, Decimal)> + '_ {
        self.values.iter().enumerate().filter_map(|(i, v)| v.map(|v| (metric_of(i), v)))
    }

    /// The figure of `metric`, 0 when not measured.
    pub(crate) fn value(&self, metric: Metric) -> Decimal {
        self.get(metric).unwrap_or(Decimal::ZERO)
    }
}

impl fmt::Display for Figures {
    /// "spend 120, orders 2".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (m, v)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{m} {v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(x: i64) -> Decimal {
        Decimal::from(x)
    }

    #[test]
    fn implication_between_criteria() {
        let orders = |n| Criterion::reach(Metric::OrderCount, d(n)).unwrap();
        let either =
            |o, s| Criterion::any_of([(Metric::OrderCount, d(o)), (Metric::Spend, d(s))]).unwrap();
        let both =
            |o, s| Criterion::all_of([(Metric::OrderCount, d(o)), (Metric::Spend, d(s))]).unwrap();
        // 6 orders or 3000 implies 3 orders or 1000; not the other way round.
        assert!(either(6, 3000).implies(&either(3, 1000)));
        assert!(!either(3, 1000).implies(&either(6, 3000)));
        // The spend route into gold skips a silver of orders only.
        assert!(!either(6, 3000).implies(&orders(3)));
        // All-of implies each of its parts and any either-or it dominates.
        assert!(both(6, 3000).implies(&orders(6)));
        assert!(both(6, 3000).implies(&either(6, 3000)));
        assert!(!either(6, 3000).implies(&both(6, 3000)));
        assert!(orders(6).implies(&orders(6)));
    }

    #[test]
    fn shortfall_takes_the_nearest_route_or_every_part() {
        let f = Figures::default().with(Metric::OrderCount, d(4)).with(Metric::Spend, d(1500));
        // Orders: 2 of 6 missing (1/3); spend: 1500 of 3000 missing (1/2): orders are nearer.
        let c = Criterion::any_of([(Metric::OrderCount, d(6)), (Metric::Spend, d(3000))]).unwrap();
        assert_eq!(c.shortfall(&f).unwrap(), Figures::default().with(Metric::OrderCount, d(2)));
        let c = Criterion::all_of([(Metric::OrderCount, d(3)), (Metric::Spend, d(3000))]).unwrap();
        let want = Figures::default().with(Metric::OrderCount, d(0)).with(Metric::Spend, d(1500));
        assert_eq!(c.shortfall(&f).unwrap(), want);
    }

    #[test]
    fn bad_criteria() {
        use crate::ErrorKind;
        assert!(matches!(Criterion::any_of([]).unwrap_err().kind(), ErrorKind::EmptyInput { .. }));
        assert!(matches!(Criterion::all_of([]).unwrap_err().kind(), ErrorKind::EmptyInput { .. }));
        let twice = Criterion::any_of([(Metric::Spend, d(1)), (Metric::Spend, d(2))]).unwrap_err();
        assert!(matches!(twice.kind(), ErrorKind::InvalidInput { field: "criterion", .. }));
        let e = Criterion::reach(Metric::OrderCount, Decimal::new(15, 1)).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::InvalidInput { field: "threshold", .. }));
        assert!(Criterion::reach(Metric::Spend, d(-1)).is_err());
        // One target under all-of is the same criterion as under any-of.
        assert_eq!(
            Criterion::all_of([(Metric::Spend, d(5))]).unwrap(),
            Criterion::reach(Metric::Spend, d(5)).unwrap()
        );
    }
}
