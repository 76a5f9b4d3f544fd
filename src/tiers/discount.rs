//! Member discounts by cumulative spend, and the margin guard that caps discount plus points.
//!
//! "Repeat buyers with 1000 in total enjoy 2 % off, 3000 enjoy 5 % off": a spend-based
//! schedule computed apart from points. Sellers learned to keep the two separate so that
//! loyalty does not eat the margin; [`MarginGuard`] caps what one order can give away in
//! total (discount plus the money value of the points it earns or burns).

use rust_decimal::Decimal;

use super::history::{Activity, QualifyingEvent};
use crate::error::{Error, ErrorKind, Result};
use crate::money::{Money, Rounding};
use crate::units::Share;

/// A discount schedule on cumulative spend: strictly increasing spend thresholds, each with
/// a discount rate.
///
/// # Example
///
/// ```
/// use loyalty::tiers::MemberDiscount;
/// use loyalty::{Currency, Money, Rounding, Share};
/// use rust_decimal::Decimal;
///
/// let pct = |p| Share::from_percent(Decimal::from(p));
/// let schedule = MemberDiscount::new(vec![
///     (Decimal::from(1000), pct(2)?),
///     (Decimal::from(3000), pct(5)?),
/// ])?;
/// assert_eq!(schedule.rate(Decimal::from(999)), Share::ZERO);
/// assert_eq!(schedule.rate(Decimal::from(1000)), pct(2)?);
/// let order = Money::new(Decimal::new(12_345, 2), Currency::CNY);
/// let off = schedule.quote(Money::new(Decimal::from(3200), Currency::CNY), order, Rounding::HalfUp)?;
/// assert_eq!(off.amount(), Decimal::new(617, 2)); // 5 % of 123.45 = 6.1725
/// # Ok::<(), loyalty::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "Vec<(Decimal, Share)>", into = "Vec<(Decimal, Share)>")
)]
pub struct MemberDiscount {
    steps: Vec<(Decimal, Share)>,
}

impl MemberDiscount {
    /// A schedule of `(cumulative spend threshold, discount)` steps.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::EmptyInput`](crate::ErrorKind::EmptyInput) with no step;
    /// [`ErrorKind::InvalidRecord`](crate::ErrorKind::InvalidRecord) for a negative
    /// threshold or one not strictly above the previous (unsorted or duplicate).
    pub fn new(steps: Vec<(Decimal, Share)>) -> Result<MemberDiscount> {
        if steps.is_empty() {
            return Err(Error::empty("discount schedule"));
        }
        for (i, &(threshold, _)) in steps.iter().enumerate() {
            if threshold.is_sign_negative() && !threshold.is_zero() {
                return Err(Error::invalid_record(
                    i,
                    "threshold",
                    threshold,
                    "must not be negative",
                ));
            }
            if let Some(&(prev, _)) = i.checked_sub(1).and_then(|p| steps.get(p)) {
                if prev >= threshold {
                    return Err(Error::invalid_record(
                        i,
                        "threshold",
                        threshold,
                        format!("must be above the previous threshold {prev}"),
                    ));
                }
            }
        }
        Ok(MemberDiscount { steps })
    }

    /// The steps.
    #[must_use]
    pub fn steps(&self) -> &[(Decimal, Share)] {
        &self.steps
    }

    /// The rate for a cumulative spend (0 below the first threshold).
    #[must_use]
    pub fn rate(&self, cumulative_spend: Decimal) -> Share {
        let n = self.steps.partition_point(|&(t, _)| t <= cumulative_spend);
        n.checked_sub(1).and_then(|i| self.steps.get(i)).map_or(Share::ZERO, |&(_, s)| s)
    }

    /// The discount on `order` for a member whose cumulative spend before this order is
    /// `spend_before` (see [`spend_before`]), rounded to the currency's minor units. The
    /// spend and the order must be in the same currency: a CNY spend against a USD order is
    /// an error, not a silent comparison of numbers.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::CurrencyMismatch`](crate::ErrorKind::CurrencyMismatch) when the spend
    /// and the order differ in currency;
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a negative order;
    /// [`ErrorKind::Overflow`](crate::ErrorKind::Overflow).
    pub fn quote(&self, spend_before: Money, order: Money, rounding: Rounding) -> Result<Money> {
        if spend_before.currency() != order.currency() {
            return Err(ErrorKind::CurrencyMismatch {
                left: spend_before.currency().to_string(),
                right: order.currency().to_string(),
            }
            .into());
        }
        if order.is_negative() {
            return Err(Error::invalid("order", order, "must not be negative"));
        }
        Ok(self.rate(spend_before.amount()).of(order)?.round(rounding))
    }
}

impl TryFrom<Vec<(Decimal, Share)>> for MemberDiscount {
    type Error = Error;

    fn try_from(steps: Vec<(Decimal, Share)>) -> Result<MemberDiscount> {
        MemberDiscount::new(steps)
    }
}

impl From<MemberDiscount> for Vec<(Decimal, Share)> {
    fn from(d: MemberDiscount) -> Vec<(Decimal, Share)> {
        d.steps
    }
}

/// Lifetime net spend (orders minus refunds) of the events at or before `now`, the order
/// at `now` included. For the spend a [`MemberDiscount`] quote wants, the spend *before* an
/// order, use [`spend_before`].
///
/// # Errors
///
/// [`ErrorKind::InvalidRecord`](crate::ErrorKind::InvalidRecord) for a negative amount;
/// [`ErrorKind::Overflow`](crate::ErrorKind::Overflow).
pub fn cumulative_spend(
    history: &[QualifyingEvent],
    now: chrono::NaiveDateTime,
) -> Result<Decimal> {
    let mut total = Decimal::ZERO;
    for (i, e) in history.iter().enumerate() {
        if let Err((field, value, reason)) = e.check() {
            return Err(Error::invalid_record(i, field, value, reason));
        }
        if e.at > now {
            continue;
        }
        let delta = match e.activity {
            Activity::Order { amount } => amount,
            Activity::Refund { amount, .. } => -amount,
            _ => Decimal::ZERO,
        };
        total = total.checked_add(delta).ok_or_else(|| Error::overflow("cumulative spend"))?;
    }
    Ok(total)
}

/// Lifetime net spend (orders minus refunds) of the events strictly before `at`, in the
/// program's `currency`: what [`MemberDiscount::quote`] wants for an order placed at `at`
/// (the order itself, and anything else at that instant, does not count).
///
/// # Errors
///
/// As [`cumulative_spend`].
pub fn spend_before(
    history: &[QualifyingEvent],
    at: chrono::NaiveDateTime,
    currency: crate::money::Currency,
) -> Result<Money> {
    let mut total = Decimal::ZERO;
    for (i, e) in history.iter().enumerate() {
        if let Err((field, value, reason)) = e.check() {
            return Err(Error::invalid_record(i, field, value, reason));
        }
        if e.at >= at {
            continue;
        }
        let delta = match e.activity {
            Activity::Order { amount } => amount,
            Activity::Refund { amount, .. } => -amount,
            _ => Decimal::ZERO,
        };
        total = total.checked_add(delta).ok_or_else(|| Error::overflow("cumulative spend"))?;
    }
    Ok(Money::new(total, currency))
}

/// Which give-away the margin guard trims first when an order exceeds its cap.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Trim {
    /// Trim the points value first (the member discount is the promised price).
    #[default]
    PointsFirst,
    /// Trim the discount first.
    DiscountFirst,
    /// Trim both in proportion to their size (the discount's share rounded half-up to
    /// minor units, the rest from points).
    Proportional,
}

/// How the cap was applied to one order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum CapApplied {
    /// Discount plus points value were within the cap.
    WithinCap,
    /// The total exceeded the cap by `excess`, taken off as stated.
    Trimmed {
        /// Discount plus points value minus the cap.
        excess: Money,
        /// Taken off the discount.
        from_discount: Money,
        /// Taken off the points value.
        from_points: Money,
    },
}

/// The give-aways of one order after the margin guard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Guarded {
    /// The discount to grant.
    pub discount: Money,
    /// The points value to grant (convert back to points with the program's point value,
    /// rounding down).
    pub points_value: Money,
    /// The cap for this order.
    pub cap: Money,
    /// How the cap was applied.
    pub applied: CapApplied,
}

/// Caps discount plus points value on one order at a share of the order.
///
/// # Example
///
/// ```
/// use loyalty::tiers::{CapApplied, MarginGuard, Trim};
/// use loyalty::{Currency, Money, Share};
/// use rust_decimal::Decimal;
///
/// let usd = |a| Money::new(Decimal::from(a), Currency::USD);
/// let guard = MarginGuard::new(Share::from_percent(Decimal::from(8))?);
/// // 200 order: 10 discount + 12 of points = 22 > cap 16; points trimmed by 6.
/// let g = guard.apply(usd(200), usd(10), usd(12))?;
/// assert_eq!((g.discount, g.points_value, g.cap), (usd(10), usd(6), usd(16)));
/// assert!(matches!(g.applied, CapApplied::Trimmed { .. }));
/// # Ok::<(), loyalty::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MarginGuard {
    cap: Share,
    trim: Trim,
}

impl MarginGuard {
    /// A guard capping discount plus points value at `cap` of the order, trimming points
    /// first.
    #[must_use]
    pub fn new(cap: Share) -> MarginGuard {
        MarginGuard { cap, trim: Trim::PointsFirst }
    }

    /// Sets which give-away is trimmed first.
    #[must_use]
    pub fn trim(mut self, trim: Trim) -> MarginGuard {
        self.trim = trim;
        self
    }

    /// The cap.
    #[must_use]
    pub fn cap(&self) -> Share {
        self.cap
    }

    /// Applies the cap to one order. The cap is rounded down to the currency's minor units
    /// so it is never exceeded.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::CurrencyMismatch`](crate::ErrorKind::CurrencyMismatch) when the amounts
    /// are in different currencies; [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput)
    /// for a negative amount; [`ErrorKind::Overflow`](crate::ErrorKind::Overflow).
    pub fn apply(&self, order: Money, discount: Money, points_value: Money) -> Result<Guarded> {
        let currency = order.currency();
        discount.ensure_same_currency(currency)?;
        points_value.ensure_same_currency(currency)?;
        for (field, m) in [("order", order), ("discount", discount), ("points value", points_value)]
        {
            if m.is_negative() {
                return Err(Error::invalid(field, m, "must not be negative"));
            }
        }
        let cap = self.cap.of(order)?.round(Rounding::Floor);
        let total = discount.checked_add(points_value)?;
        let excess = total.checked_sub(cap)?;
        if !excess.is_positive() {
            return Ok(Guarded { discount, points_value, cap, applied: CapApplied::WithinCap });
        }
        let (from_discount, from_points) = match self.trim {
            Trim::PointsFirst => {
                let p = excess.amount().min(points_value.amount());
                (excess.amount() - p, p)
            }
            Trim::DiscountFirst => {
                let d = excess.amount().min(discount.amount());
                (d, excess.amount() - d)
            }
            Trim::Proportional => {
                let share = discount.ratio(total)?;
                let d = Money::new(
                    excess
                        .amount()
                        .checked_mul(share)
                        .ok_or_else(|| Error::overflow("margin guard"))?,
                    currency,
                )
                .round(Rounding::HalfUp)
                .amount()
                // Rounding must not push either share below zero (inputs finer than the
                // currency's minor unit can otherwise leave the points a fraction short).
                .max(excess.amount() - points_value.amount())
                .min(discount.amount());
                (d, excess.amount() - d)
            }
        };
        let from_discount = Money::new(from_discount, currency);
        let from_points = Money::new(from_points, currency);
        Ok(Guarded {
            discount: discount.checked_sub(from_discount)?,
            points_value: points_value.checked_sub(from_points)?,
            cap,
            applied: CapApplied::Trimmed { excess, from_discount, from_points },
        })
    }

    /// Caps any number of concessions on one order (discount, points value, free postage,
    /// gifts, ...), given in order of precedence: the excess over the cap is trimmed from the
    /// last concession backwards, so the first is kept longest. Returns the amounts granted,
    /// in the same order. ([`MarginGuard::apply`] is the two-slot form with a choice of
    /// [`Trim`]; this form ignores the guard's `Trim` setting.)
    ///
    /// # Example
    ///
    /// ```
    /// use loyalty::tiers::MarginGuard;
    /// use loyalty::{Currency, Money, Share};
    /// use rust_decimal::Decimal;
    ///
    /// let usd = |n| Money::new(Decimal::from(n), Currency::USD);
    /// let guard = MarginGuard::new(Share::from_percent(Decimal::from(10))?);
    /// // Cap 20 on a 200 order: discount 12, postage 6, points 5, gift 4 -> 20.
    /// let granted = guard.apply_all(usd(200), &[usd(12), usd(6), usd(5), usd(4)])?;
    /// assert_eq!(granted, vec![usd(12), usd(6), usd(2), usd(0)]);
    /// # Ok::<(), loyalty::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`MarginGuard::apply`].
    pub fn apply_all(&self, order: Money, concessions: &[Money]) -> Result<Vec<Money>> {
        let currency = order.currency();
        if order.is_negative() {
            return Err(Error::invalid("order", order, "must not be negative"));
        }
        let mut total = Money::new(Decimal::ZERO, currency);
        for (i, c) in concessions.iter().enumerate() {
            c.ensure_same_currency(currency)?;
            if c.is_negative() {
                return Err(Error::invalid_record(i, "concession", c, "must not be negative"));
            }
            total = total.checked_add(*c)?;
        }
        let cap = self.cap.of(order)?.round(Rounding::Floor);
        let mut excess = total.checked_sub(cap)?.amount().max(Decimal::ZERO);
        let mut granted = concessions.to_vec();
        for g in granted.iter_mut().rev() {
            let cut = excess.min(g.amount());
            *g = Money::new(g.amount() - cut, currency);
            excess -= cut;
        }
        Ok(granted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn usd(cents: i64) -> Money {
        Money::new(Decimal::new(cents, 2), Currency::USD)
    }

    #[test]
    fn schedule_boundaries() {
        let pct = |p| Share::from_percent(Decimal::from(p)).unwrap();
        let s =
            MemberDiscount::new(vec![(Decimal::from(1000), pct(2)), (Decimal::from(3000), pct(5))])
                .unwrap();
        for (spend, want) in [(0, 0), (999, 0), (1000, 2), (2999, 2), (3000, 5), (100_000, 5)] {
            assert_eq!(s.rate(Decimal::from(spend)), pct(want), "spend {spend}");
        }
        assert!(MemberDiscount::new(vec![]).is_err());
        assert!(MemberDiscount::new(vec![
            (Decimal::from(3000), pct(5)),
            (Decimal::from(1000), pct(2))
        ])
        .is_err());
        assert!(MemberDiscount::new(vec![
            (Decimal::from(1000), pct(2)),
            (Decimal::from(1000), pct(5))
        ])
        .is_err());
        assert!(MemberDiscount::new(vec![(Decimal::from(-1), pct(2))]).is_err());
        assert!(s.quote(usd(5000), usd(-100), Rounding::HalfUp).is_err());
    }

    #[test]
    fn guard_trims_as_asked() {
        let cap = Share::from_percent(Decimal::from(10)).unwrap();
        // Order 100.00, cap 10.00; discount 6.00 + points 8.00 = 14.00, excess 4.00.
        let g = MarginGuard::new(cap).apply(usd(10_000), usd(600), usd(800)).unwrap();
        assert_eq!((g.discount, g.points_value), (usd(600), usd(400)));
        let g = MarginGuard::new(cap)
            .trim(Trim::DiscountFirst)
            .apply(usd(10_000), usd(600), usd(800))
            .unwrap();
        assert_eq!((g.discount, g.points_value), (usd(200), usd(800)));
        // Proportional: 4.00 × 6/14 = 1.714… → 1.71 off the discount, 2.29 off points.
        let g = MarginGuard::new(cap)
            .trim(Trim::Proportional)
            .apply(usd(10_000), usd(600), usd(800))
            .unwrap();
        assert_eq!((g.discount, g.points_value), (usd(429), usd(571)));
        assert_eq!(
            g.applied,
            CapApplied::Trimmed {
                excess: usd(400),
                from_discount: usd(171),
                from_points: usd(229)
            }
        );
        // Order 50.00, cap 5.00; 9.00 + 3.00 = 12.00, excess 7.00 > points 3.00: the other
        // 4.00 comes off the discount.
        let g = MarginGuard::new(cap).apply(usd(5_000), usd(900), usd(300)).unwrap();
        assert_eq!((g.discount, g.points_value), (usd(500), usd(0)));
        // Within the cap.
        let g = MarginGuard::new(cap).apply(usd(10_000), usd(500), usd(500)).unwrap();
        assert_eq!(g.applied, CapApplied::WithinCap);
        // Cap rounds down: 10 % of 0.99 = 0.099 → 0.09.
        let g = MarginGuard::new(cap).apply(usd(99), usd(0), usd(10)).unwrap();
        assert_eq!((g.cap, g.points_value), (usd(9), usd(9)));
    }

    #[test]
    fn proportional_trim_with_sub_cent_inputs_stays_non_negative() {
        // Cap 0: everything is excess. 0.004 of discount and 0.001 of points: the discount's
        // share rounds to 0.00, which would leave the points at -0.004.
        let g = MarginGuard::new(Share::ZERO).trim(Trim::Proportional);
        let m = |v: i64| Money::new(Decimal::new(v, 3), Currency::USD);
        let out = g.apply(usd(100), m(4), m(1)).unwrap();
        assert_eq!((out.discount, out.points_value), (m(0), m(0)));
        assert!(!out.discount.is_negative() && !out.points_value.is_negative());
    }

    #[test]
    fn guard_rejects_bad_input() {
        let g = MarginGuard::new(Share::ONE);
        assert!(g.apply(usd(100), usd(-1), usd(0)).is_err());
        let eur = Money::new(Decimal::ONE, Currency::EUR);
        assert!(g.apply(usd(100), eur, usd(0)).is_err());
    }
}
