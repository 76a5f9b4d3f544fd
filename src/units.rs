//! Small validated quantities shared across modules: [`Share`] (a fraction in `[0, 1]`, such
//! as a margin, a discount or a cap on an order) and [`Multiplier`] (a non-negative factor,
//! such as a tier's points multiplier).
//!
//! # Example
//!
//! ```
//! use loyalty::{Currency, Money, Multiplier, Share};
//! use rust_decimal::Decimal;
//!
//! let margin = Share::from_percent(Decimal::from(30))?;
//! let revenue = Money::new(Decimal::from(200), Currency::USD);
//! assert_eq!(margin.of(revenue)?.amount(), Decimal::from(60));
//!
//! let gold = Multiplier::new(Decimal::new(15, 1))?; // 1.5×
//! assert_eq!(gold.apply(Decimal::from(40))?, Decimal::from(60));
//! assert!(Share::new(Decimal::from(2)).is_err());
//! # Ok::<(), loyalty::Error>(())
//! ```

use std::fmt;

use rust_decimal::Decimal;

use crate::error::{Error, Result};
use crate::money::Money;

/// A fraction in `[0, 1]`: a margin, a discount rate, a share of an order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "Decimal", into = "Decimal")
)]
pub struct Share(Decimal);

impl Share {
    /// 0.
    pub const ZERO: Share = Share(Decimal::ZERO);
    /// 1 (all of it).
    pub const ONE: Share = Share(Decimal::ONE);

    /// A share given as a fraction.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) outside `[0, 1]`.
    pub fn new(fraction: Decimal) -> Result<Share> {
        if fraction < Decimal::ZERO || fraction > Decimal::ONE {
            return Err(Error::invalid("share", fraction, "must be in [0, 1]"));
        }
        Ok(Share(fraction))
    }

    /// A share given in percent (`5` is 5 %).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) outside `[0, 100]`.
    pub fn from_percent(percent: Decimal) -> Result<Share> {
        if percent < Decimal::ZERO || percent > Decimal::ONE_HUNDRED {
            return Err(Error::invalid("percent", percent, "must be in [0, 100]"));
        }
        Ok(Share(percent / Decimal::ONE_HUNDRED))
    }

    /// The fraction.
    #[must_use]
    pub fn value(self) -> Decimal {
        self.0
    }

    /// The share in percent.
    #[must_use]
    pub fn percent(self) -> Decimal {
        self.0 * Decimal::ONE_HUNDRED
    }

    /// `1 - self`.
    #[must_use]
    pub fn complement(self) -> Share {
        Share(Decimal::ONE - self.0)
    }

    /// This share of an amount, unrounded.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Overflow`](crate::ErrorKind::Overflow).
    pub fn of(self, money: Money) -> Result<Money> {
        money.checked_mul(self.0)
    }
}

impl TryFrom<Decimal> for Share {
    type Error = Error;

    fn try_from(d: Decimal) -> Result<Share> {
        Share::new(d)
    }
}

impl From<Share> for Decimal {
    fn from(s: Share) -> Decimal {
        s.0
    }
}

impl fmt::Display for Share {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.percent().normalize())
    }
}

/// A non-negative factor: a points multiplier, a bonus factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "Decimal", into = "Decimal")
)]
pub struct Multiplier(Decimal);

impl Default for Multiplier {
    fn default() -> Multiplier {
        Multiplier::ONE
    }
}

impl Multiplier {
    /// 1× (no change).
    pub const ONE: Multiplier = Multiplier(Decimal::ONE);

    /// A multiplier.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when negative.
    pub fn new(factor: Decimal) -> Result<Multiplier> {
        if factor < Decimal::ZERO {
            return Err(Error::invalid("multiplier", factor, "must not be negative"));
        }
        Ok(Multiplier(factor))
    }

    /// The factor.
    #[must_use]
    pub fn value(self) -> Decimal {
        self.0
    }

    /// `value × self`, unrounded.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Overflow`](crate::ErrorKind::Overflow).
    pub fn apply(self, value: Decimal) -> Result<Decimal> {
        value.checked_mul(self.0).ok_or_else(|| Error::overflow("multiplier"))
    }

    /// The product of two multipliers (stacking).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Overflow`](crate::ErrorKind::Overflow).
    pub fn then(self, other: Multiplier) -> Result<Multiplier> {
        self.0.checked_mul(other.0).map(Multiplier).ok_or_else(|| Error::overflow("multiplier"))
    }
}

impl TryFrom<Decimal> for Multiplier {
    type Error = Error;

    fn try_from(d: Decimal) -> Result<Multiplier> {
        Multiplier::new(d)
    }
}

impl From<Multiplier> for Decimal {
    fn from(m: Multiplier) -> Decimal {
        m.0
    }
}

impl fmt::Display for Multiplier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x", self.0.normalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn share_bounds() {
        assert!(Share::new(Decimal::ZERO).is_ok());
        assert!(Share::new(Decimal::ONE).is_ok());
        assert!(Share::new(Decimal::new(-1, 3)).is_err());
        assert!(Share::new(Decimal::new(1001, 3)).is_err());
        assert_eq!(Share::from_percent(Decimal::from(5)).unwrap().value(), Decimal::new(5, 2));
        assert!(Share::from_percent(Decimal::from(101)).is_err());
        assert_eq!(Share::new(Decimal::new(25, 2)).unwrap().to_string(), "25%");
        assert_eq!(
            Share::new(Decimal::new(25, 2)).unwrap().complement().value(),
            Decimal::new(75, 2)
        );
    }

    #[test]
    fn multiplier_bounds() {
        assert!(Multiplier::new(Decimal::new(-1, 1)).is_err());
        let m = Multiplier::new(Decimal::from(2)).unwrap();
        assert_eq!(m.then(m).unwrap().value(), Decimal::from(4));
        assert!(Multiplier::new(Decimal::MAX).unwrap().then(m).is_err());
        assert_eq!(m.to_string(), "2x");
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serde_validates() {
        let s: Share = serde_json::from_str("\"0.3\"").unwrap();
        assert_eq!(s.value(), Decimal::new(3, 1));
        assert!(serde_json::from_str::<Share>("\"1.3\"").is_err());
        assert!(serde_json::from_str::<Multiplier>("\"-2\"").is_err());
        let m = Multiplier::new(Decimal::new(125, 2)).unwrap();
        let back: Multiplier = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back, m);
    }

    proptest! {
        #[test]
        fn constructors_never_panic(d: Decimal) {
            let _ = Share::new(d);
            let _ = Share::from_percent(d);
            if let Ok(m) = Multiplier::new(d) {
                let _ = m.apply(d);
                let _ = m.then(m);
            }
        }
    }
}
