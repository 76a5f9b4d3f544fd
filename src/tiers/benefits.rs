//! What a tier gives its members.

use crate::error::{Error, ErrorKind, Result};
use crate::units::{Multiplier, Share};

/// One benefit attached to a tier.
///
/// The list is open: [`Benefit::Custom`] carries anything a host wants to attach (a support
/// line, a lounge pass) as a key and a value, kept in order and round-tripped through serde.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Benefit {
    /// A discount on every order.
    Discount(Share),
    /// A factor on points earned (the points rules take it as input).
    PointsMultiplier(Multiplier),
    /// Free shipping.
    FreeShipping,
    /// Early access to sales.
    EarlyAccess,
    /// A coupon once a year on the member's birthday.
    BirthdayCoupon(Share),
    /// A host-defined benefit.
    Custom {
        /// Identifier of the benefit.
        key: String,
        /// Its value, as text.
        value: String,
    },
}

impl Benefit {
    /// Whether two benefits fill the same slot (two of one slot cannot sit on one tier):
    /// built-ins by kind, custom ones by key, so a custom key may share a built-in's name
    /// without clashing with it.
    fn same_slot(&self, other: &Benefit) -> bool {
        match (self, other) {
            (Benefit::Custom { key: a, .. }, Benefit::Custom { key: b, .. }) => a == b,
            (Benefit::Custom { .. }, _) | (_, Benefit::Custom { .. }) => false,
            _ => std::mem::discriminant(self) == std::mem::discriminant(other),
        }
    }

    /// The name of a benefit's slot, for error messages.
    fn slot(&self) -> Option<&str> {
        match self {
            Benefit::Discount(_) => Some("discount"),
            Benefit::PointsMultiplier(_) => Some("points multiplier"),
            Benefit::FreeShipping => Some("free shipping"),
            Benefit::EarlyAccess => Some("early access"),
            Benefit::BirthdayCoupon(_) => Some("birthday coupon"),
            Benefit::Custom { key, .. } => Some(key.as_str()),
        }
    }
}

/// The benefits of one tier: at most one benefit of each kind (and one custom benefit per
/// key).
///
/// # Example
///
/// ```
/// use loyalty::tiers::{Benefit, Benefits};
/// use loyalty::{Multiplier, Share};
/// use rust_decimal::Decimal;
///
/// let gold = Benefits::new(vec![
///     Benefit::Discount(Share::from_percent(Decimal::from(5))?),
///     Benefit::PointsMultiplier(Multiplier::new(Decimal::new(15, 1))?),
///     Benefit::FreeShipping,
///     Benefit::Custom { key: "concierge".into(), value: "24/7".into() },
/// ])?;
/// assert_eq!(gold.discount().percent(), Decimal::from(5));
/// assert_eq!(gold.multiplier().value(), Decimal::new(15, 1));
/// assert!(gold.free_shipping() && !gold.early_access());
/// assert_eq!(gold.custom("concierge"), Some("24/7"));
/// # Ok::<(), loyalty::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "Vec<Benefit>", into = "Vec<Benefit>")
)]
pub struct Benefits(Vec<Benefit>);

impl Benefits {
    /// A validated list of benefits.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] when two benefits have the same kind (or the same custom
    /// key), or a custom key is empty.
    pub fn new(list: Vec<Benefit>) -> Result<Benefits> {
        for (i, b) in list.iter().enumerate() {
            if let Benefit::Custom { key, .. } = b {
                if key.trim().is_empty() {
                    return Err(Error::invalid("benefit key", key, "must not be empty"));
                }
            }
            if list[..i].iter().any(|other| other.same_slot(b)) {
                return Err(ErrorKind::InvalidInput {
                    field: "benefits",
                    value: b.slot().unwrap_or_default().to_string(),
                    reason: "benefit listed twice".into(),
                }
                .into());
            }
        }
        Ok(Benefits(list))
    }

    /// No benefits.
    #[must_use]
    pub fn none() -> Benefits {
        Benefits(Vec::new())
    }

    /// The benefits, in the order given.
    #[must_use]
    pub fn as_slice(&self) -> &[Benefit] {
        &self.0
    }

    /// The order discount (0 when the tier has none).
    #[must_use]
    pub fn discount(&self) -> Share {
        self.0
            .iter()
            .find_map(|b| if let Benefit::Discount(s) = b { Some(*s) } else { None })
            .unwrap_or(Share::ZERO)
    }

    /// The points multiplier (1× when the tier has none).
    #[must_use]
    pub fn multiplier(&self) -> Multiplier {
        self.0
            .iter()
            .find_map(|b| if let Benefit::PointsMultiplier(m) = b { Some(*m) } else { None })
            .unwrap_or(Multiplier::ONE)
    }

    /// Whether shipping is free.
    #[must_use]
    pub fn free_shipping(&self) -> bool {
        self.0.contains(&Benefit::FreeShipping)
    }

    /// Whether the tier has early access to sales.
    #[must_use]
    pub fn early_access(&self) -> bool {
        self.0.contains(&Benefit::EarlyAccess)
    }

    /// The birthday coupon, if any.
    #[must_use]
    pub fn birthday_coupon(&self) -> Option<Share> {
        self.0.iter().find_map(|b| if let Benefit::BirthdayCoupon(s) = b { Some(*s) } else { None })
    }

    /// The value of a custom benefit.
    #[must_use]
    pub fn custom(&self, key: &str) -> Option<&str> {
        self.0.iter().find_map(|b| match b {
            Benefit::Custom { key: k, value } if k == key => Some(value.as_str()),
            _ => None,
        })
    }
}

impl TryFrom<Vec<Benefit>> for Benefits {
    type Error = Error;

    fn try_from(list: Vec<Benefit>) -> Result<Benefits> {
        Benefits::new(list)
    }
}

impl From<Benefits> for Vec<Benefit> {
    fn from(b: Benefits) -> Vec<Benefit> {
        b.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    #[test]
    fn duplicates_are_rejected() {
        let five = Share::from_percent(Decimal::from(5)).unwrap();
        assert!(Benefits::new(vec![Benefit::Discount(five), Benefit::Discount(five)]).is_err());
        assert!(Benefits::new(vec![Benefit::FreeShipping, Benefit::FreeShipping]).is_err());
        let c = |k: &str| Benefit::Custom { key: k.into(), value: "x".into() };
        assert!(Benefits::new(vec![c("a"), c("a")]).is_err());
        assert!(Benefits::new(vec![c(" ")]).is_err());
        assert!(Benefits::new(vec![c("a"), c("b")]).is_ok());
        // A custom key named like a built-in is its own slot.
        let both = Benefits::new(vec![Benefit::Discount(five), c("discount")]).unwrap();
        assert_eq!((both.discount(), both.custom("discount")), (five, Some("x")));
    }

    #[test]
    fn defaults_when_absent() {
        let b = Benefits::none();
        assert_eq!(b.discount(), Share::ZERO);
        assert_eq!(b.multiplier(), Multiplier::ONE);
        assert_eq!(b.birthday_coupon(), None);
        assert!(!b.free_shipping());
    }
}
