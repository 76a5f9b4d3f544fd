//! What points are worth, and which redemptions a program accepts.

use rust_decimal::Decimal;

use super::Points;
use crate::error::{Error, ErrorKind, Result};
use crate::money::{Money, Rounding};
use crate::units::Share;

/// A program's redemption terms: the rate (`step` points are worth `step_value`), a minimum
/// and maximum per redemption, a maximum share of the order, and an increment.
///
/// The money value of a redemption is rounded **down** to the currency's minor unit, so a
/// discount is never worth more than the points given for it.
///
/// # Example
///
/// ```
/// use loyalty::points::{Points, RedemptionRules};
/// use loyalty::{Currency, Money, Share};
/// use rust_decimal::Decimal;
///
/// let usd = |cents: i64| Money::new(Decimal::new(cents, 2), Currency::USD);
/// let rules = RedemptionRules::new(Points::new(100), usd(1000))? // 100 points = $10
///     .minimum(Points::new(500))?
///     .max_share_of_order(Share::from_percent(Decimal::from(50))?);
/// assert_eq!(rules.value_of(Points::new(550))?, usd(5500));
/// assert!(rules.validate(Points::new(400), usd(10_000)).is_err()); // below the minimum
/// assert!(rules.validate(Points::new(600), usd(10_000)).is_err()); // $60 > 50% of $100
/// assert_eq!(rules.validate(Points::new(500), usd(10_000))?, usd(5000));
/// # Ok::<(), loyalty::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "RedemptionRepr", into = "RedemptionRepr")
)]
pub struct RedemptionRules {
    step: Points,
    step_value: Money,
    minimum: Points,
    maximum: Option<Points>,
    max_share: Option<Share>,
    increment: Points,
    // Derived: the exact value of one point when `step_value / step` is exact (10 USD per
    // 100 points: 0.1), so a redemption's value is one multiplication.
    per_point: Option<Decimal>,
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct RedemptionRepr {
    step: Points,
    step_value: Money,
    minimum: Points,
    maximum: Option<Points>,
    max_share: Option<Share>,
    increment: Points,
}

#[cfg(feature = "serde")]
impl TryFrom<RedemptionRepr> for RedemptionRules {
    type Error = Error;

    fn try_from(r: RedemptionRepr) -> Result<RedemptionRules> {
        let mut rules = RedemptionRules::new(r.step, r.step_value)?;
        check_limits(r.minimum, r.maximum)?;
        rules.minimum = r.minimum;
        rules.maximum = r.maximum;
        rules.max_share = r.max_share;
        if r.increment.is_zero() {
            return Err(Error::invalid("increment", 0, "must be positive"));
        }
        rules.increment = r.increment;
        Ok(rules)
    }
}

#[cfg(feature = "serde")]
impl From<RedemptionRules> for RedemptionRepr {
    fn from(r: RedemptionRules) -> RedemptionRepr {
        RedemptionRepr {
            step: r.step,
            step_value: r.step_value,
            minimum: r.minimum,
            maximum: r.maximum,
            max_share: r.max_share,
            increment: r.increment,
        }
    }
}

/// A minimum above the maximum would refuse every redemption.
fn check_limits(minimum: Points, maximum: Option<Points>) -> Result<()> {
    match maximum {
        Some(max) if minimum > max => Err(Error::invalid(
            "redemption minimum",
            minimum,
            format!("is above the maximum ({max})"),
        )),
        _ => Ok(()),
    }
}

impl RedemptionRules {
    /// `step` points are worth `step_value`. No minimum, maximum or share cap; increment 1.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] when `step` is zero or `step_value` is not positive.
    pub fn new(step: Points, step_value: Money) -> Result<RedemptionRules> {
        if step.is_zero() {
            return Err(Error::invalid("redemption step", step, "must be positive"));
        }
        if !step_value.is_positive() {
            return Err(Error::invalid("redemption value", step_value, "must be positive"));
        }
        let step_d = Decimal::from(step.value());
        let per_point = step_value
            .amount()
            .checked_div(step_d)
            .filter(|p| p.checked_mul(step_d) == Some(step_value.amount()));
        Ok(RedemptionRules {
            step,
            step_value,
            minimum: Points::ZERO,
            maximum: None,
            max_share: None,
            increment: Points::new(1),
            per_point,
        })
    }

    /// The smallest redemption accepted.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) above the maximum (no
    /// redemption could pass both).
    pub fn minimum(mut self, minimum: Points) -> Result<RedemptionRules> {
        check_limits(minimum, self.maximum)?;
        self.minimum = minimum;
        Ok(self)
    }

    /// The largest redemption accepted.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) below the minimum (no
    /// redemption could pass both).
    pub fn maximum(mut self, maximum: Points) -> Result<RedemptionRules> {
        check_limits(self.minimum, Some(maximum))?;
        self.maximum = Some(maximum);
        Ok(self)
    }

    /// The largest share of an order's total the discount may cover.
    #[must_use]
    pub fn max_share_of_order(mut self, share: Share) -> RedemptionRules {
        self.max_share = Some(share);
        self
    }

    /// Redemptions must be a multiple of `increment` points (Smile's "$1 per 100 points").
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] for zero.
    pub fn increment(mut self, increment: Points) -> Result<RedemptionRules> {
        if increment.is_zero() {
            return Err(Error::invalid("increment", increment, "must be positive"));
        }
        self.increment = increment;
        Ok(self)
    }

    /// The currency of redemption values.
    #[must_use]
    pub fn currency(&self) -> crate::money::Currency {
        self.step_value.currency()
    }

    /// The unrounded money value of one point.
    #[must_use]
    pub fn value_per_point(&self) -> Decimal {
        // step > 0 and step_value is finite: the division cannot fail.
        self.step_value.amount() / Decimal::from(self.step.value())
    }

    /// The minimum redemption.
    #[must_use]
    pub fn minimum_points(&self) -> Points {
        self.minimum
    }

    /// The money value of `points`, rounded down to the currency's minor unit.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Overflow`].
    pub fn value_of(&self, points: Points) -> Result<Money> {
        let v = match self.per_point {
            // An exact rate: one multiplication.
            Some(per_point) => Decimal::from(points.value()).checked_mul(per_point),
            None => Decimal::from(points.value())
                .checked_mul(self.step_value.amount())
                .and_then(|x| x.checked_div(Decimal::from(self.step.value()))),
        }
        .ok_or_else(|| Error::overflow("redemption value"))?;
        let currency = self.step_value.currency();
        if v.scale() <= u32::from(currency.minor_units()) {
            return Ok(Money::new(v, currency));
        }
        Ok(Money::new(v, currency).round(Rounding::Floor))
    }

    /// Checks a redemption of `points` against an order of `order_total` and returns the
    /// discount it is worth.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] for zero points or a non-positive order total;
    /// [`ErrorKind::CurrencyMismatch`] when the order is not in the program currency;
    /// [`ErrorKind::RuleViolation`] below the minimum, above the maximum, off the increment,
    /// or above the maximum share of the order; [`ErrorKind::Overflow`].
    pub fn validate(&self, points: Points, order_total: Money) -> Result<Money> {
        if points.is_zero() {
            return Err(Error::invalid("redemption points", points, "must be positive"));
        }
        order_total.ensure_same_currency(self.step_value.currency())?;
        if !order_total.is_positive() {
            return Err(Error::invalid("order total", order_total, "must be positive"));
        }
        if points < self.minimum {
            return Err(rule("minimum redemption", format!("{points} < {}", self.minimum)));
        }
        if let Some(max) = self.maximum {
            if points > max {
                return Err(rule("maximum redemption", format!("{points} > {max}")));
            }
        }
        if !points.value().is_multiple_of(self.increment.value()) {
            return Err(rule(
                "redemption increment",
                format!("{points} is not a multiple of {}", self.increment),
            ));
        }
        let value = self.value_of(points)?;
        if let Some(share) = self.max_share {
            let cap = share.of(order_total)?;
            if value.amount() > cap.amount() {
                return Err(rule(
                    "maximum share of order",
                    format!("{value} is more than {share} of {order_total}"),
                ));
            }
        }
        Ok(value)
    }
}

#[cold]
fn rule(rule: &'static str, detail: String) -> Error {
    ErrorKind::RuleViolation { rule, detail }.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn usd(cents: i64) -> Money {
        Money::new(Decimal::new(cents, 2), Currency::USD)
    }

    #[test]
    fn values_round_down_to_minor_units() {
        // 100 points = $10: 1 point = 10 cents; 3 points of a 7-for-$1 rate = 42.857 -> 42c.
        let r = RedemptionRules::new(Points::new(100), usd(1000)).unwrap();
        assert_eq!(r.value_of(Points::new(1)).unwrap(), usd(10));
        assert_eq!(r.value_per_point(), Decimal::new(1, 1));
        let odd = RedemptionRules::new(Points::new(7), usd(100)).unwrap();
        assert_eq!(odd.value_of(Points::new(3)).unwrap(), usd(42));
    }

    #[test]
    fn limits() {
        let r = RedemptionRules::new(Points::new(100), usd(1000))
            .unwrap()
            .minimum(Points::new(100))
            .unwrap()
            .maximum(Points::new(1000))
            .unwrap()
            .increment(Points::new(50))
            .unwrap()
            .max_share_of_order(Share::from_percent(Decimal::from(50)).unwrap());
        let order = usd(100_000);
        assert!(r.validate(Points::new(1000), order).is_ok());
        for bad in [0, 50, 1050, 125] {
            assert!(r.validate(Points::new(bad), order).is_err(), "{bad}");
        }
        // $100 order: at most $50 = 500 points.
        assert!(r.validate(Points::new(500), usd(10_000)).is_ok());
        assert!(r.validate(Points::new(550), usd(10_000)).is_err());
        let eur = Money::new(Decimal::from(100), Currency::EUR);
        assert!(matches!(
            r.validate(Points::new(500), eur).unwrap_err().kind(),
            ErrorKind::CurrencyMismatch { .. }
        ));
        assert!(r.validate(Points::new(500), usd(0)).is_err());
        assert!(r.validate(Points::new(500), usd(-100)).is_err());
    }

    #[test]
    fn bad_rates() {
        assert!(RedemptionRules::new(Points::ZERO, usd(1000)).is_err());
        assert!(RedemptionRules::new(Points::new(100), usd(0)).is_err());
        assert!(RedemptionRules::new(Points::new(100), usd(-5)).is_err());
        let r = RedemptionRules::new(Points::new(100), usd(1000)).unwrap();
        assert!(r.clone().increment(Points::ZERO).is_err());
        // Issue 18: a minimum above the maximum refuses every redemption, so it is refused,
        // in either order and when read back.
        let min = r.clone().minimum(Points::new(500)).unwrap();
        assert!(min.clone().maximum(Points::new(499)).is_err());
        assert!(min.maximum(Points::new(500)).is_ok());
        let max = r.maximum(Points::new(300)).unwrap();
        let e = max.minimum(Points::new(301)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid redemption minimum `301 pts`: is above the maximum (300 pts)"
        );
    }
    #[cfg(feature = "serde")]
    #[test]
    fn a_minimum_above_the_maximum_is_refused_when_read_back() {
        let rules = RedemptionRules::new(Points::new(100), usd(1000))
            .unwrap()
            .minimum(Points::new(300))
            .unwrap()
            .maximum(Points::new(300))
            .unwrap();
        let mut json = serde_json::to_value(&rules).unwrap();
        // Equal limits read back as written.
        let back: RedemptionRules = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, rules);
        // One point above the maximum: refused with the typed error's text.
        json["minimum"] = serde_json::to_value(Points::new(301)).unwrap();
        let text = serde_json::to_string(&json).unwrap();
        let e = serde_json::from_str::<RedemptionRules>(&text).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid redemption minimum `301 pts`: is above the maximum (300 pts)"
        );
    }
}
