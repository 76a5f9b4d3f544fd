//! Lifetime totals of points: counts that only grow, held in 128 bits.

use std::fmt;

use super::Points;
use crate::error::{Error, Result};

/// A lifetime total of points (what an account ever earned, redeemed, expired...), as an
/// unsigned 128-bit count.
///
/// Balances are [`Points`] (`u64`), since a member never holds more than that at once;
/// lifetime totals only grow, so they get 64 more bits: a total reaches 2^128 only after
/// 2^64 operations of `u64::MAX` points each. Adding past `u128::MAX` is
/// [`ErrorKind::Overflow`](crate::ErrorKind::Overflow), never a wrap or a clamp.
///
/// # Serialization
///
/// In human-readable formats (JSON) a total is a string holding its value in decimal, as
/// [`OpKey`](super::OpKey) is, so JavaScript hosts and `serde_json::Value` keep every digit.
/// A plain JSON unsigned integer is still read (accounts stored before format version 4
/// wrote their totals as numbers). Binary formats carry one `u128`.
///
/// # Example
///
/// ```
/// use loyalty::points::{Points, TotalPoints};
///
/// let t = TotalPoints::new(u128::from(u64::MAX));
/// let t = t.checked_add(Points::new(1))?;
/// assert_eq!(t.value(), 1 << 64);
/// assert!(TotalPoints::MAX.checked_add(Points::new(1)).is_err());
/// assert_eq!(TotalPoints::new(5), Points::new(5));
/// # #[cfg(feature = "serde")]
/// assert_eq!(serde_json::to_string(&t).unwrap(), "\"18446744073709551616\"");
/// # Ok::<(), loyalty::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TotalPoints(u128);

impl TotalPoints {
    /// No points.
    pub const ZERO: TotalPoints = TotalPoints(0);
    /// The largest representable total.
    pub const MAX: TotalPoints = TotalPoints(u128::MAX);

    /// A total of `n` points.
    #[must_use]
    pub const fn new(n: u128) -> TotalPoints {
        TotalPoints(n)
    }

    /// The number of points.
    #[must_use]
    pub const fn value(self) -> u128 {
        self.0
    }

    /// Whether this is zero.
    #[must_use]
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `self + points`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Overflow`](crate::ErrorKind::Overflow) beyond `u128::MAX`.
    pub fn checked_add(self, points: Points) -> Result<TotalPoints> {
        self.0
            .checked_add(u128::from(points.value()))
            .map(TotalPoints)
            .ok_or_else(|| Error::overflow("lifetime points total"))
    }

    /// `self + other`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Overflow`](crate::ErrorKind::Overflow) beyond `u128::MAX`.
    pub fn checked_add_total(self, other: TotalPoints) -> Result<TotalPoints> {
        self.0
            .checked_add(other.0)
            .map(TotalPoints)
            .ok_or_else(|| Error::overflow("lifetime points total"))
    }
}

impl From<Points> for TotalPoints {
    fn from(p: Points) -> TotalPoints {
        TotalPoints(u128::from(p.value()))
    }
}

impl PartialEq<Points> for TotalPoints {
    fn eq(&self, other: &Points) -> bool {
        self.0 == u128::from(other.value())
    }
}

impl PartialOrd<Points> for TotalPoints {
    fn partial_cmp(&self, other: &Points) -> Option<std::cmp::Ordering> {
        Some(self.0.cmp(&u128::from(other.value())))
    }
}

impl fmt::Display for TotalPoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} pts", self.0)
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for TotalPoints {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(&self.0)
        } else {
            s.serialize_u128(self.0)
        }
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for TotalPoints {
    fn deserialize<D: serde::Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<TotalPoints, D::Error> {
        struct TotalVisitor;

        impl serde::de::Visitor<'_> for TotalVisitor {
            type Value = TotalPoints;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a points total: a decimal string or an unsigned integer")
            }

            fn visit_str<E: serde::de::Error>(
                self,
                v: &str,
            ) -> std::result::Result<TotalPoints, E> {
                // Digits only: `u128::from_str` would also take a leading `+`.
                if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(E::invalid_value(serde::de::Unexpected::Str(v), &self));
                }
                v.parse::<u128>()
                    .map(TotalPoints)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Str(v), &self))
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<TotalPoints, E> {
                Ok(TotalPoints(u128::from(v)))
            }

            fn visit_u128<E: serde::de::Error>(
                self,
                v: u128,
            ) -> std::result::Result<TotalPoints, E> {
                Ok(TotalPoints(v))
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<TotalPoints, E> {
                u64::try_from(v)
                    .map(|v| TotalPoints(u128::from(v)))
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(v), &self))
            }
        }

        if d.is_human_readable() {
            d.deserialize_any(TotalVisitor)
        } else {
            d.deserialize_u128(TotalVisitor)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adding_past_the_bound_is_an_error() {
        let near = TotalPoints::new(u128::MAX - 2);
        assert_eq!(near.checked_add(Points::new(2)).unwrap(), TotalPoints::MAX);
        let e = near.checked_add(Points::new(3)).unwrap_err();
        assert!(matches!(e.kind(), crate::ErrorKind::Overflow { .. }), "{e}");
        assert!(TotalPoints::MAX.checked_add_total(TotalPoints::new(1)).is_err());
        assert_eq!(TotalPoints::new(7).to_string(), "7 pts");
        assert!(TotalPoints::new(8) > Points::new(7));
    }

    #[cfg(feature = "serde")]
    #[test]
    fn totals_go_to_json_as_decimal_strings_and_numbers_still_read() {
        let max = serde_json::to_string(&TotalPoints::MAX).unwrap();
        assert_eq!(max, "\"340282366920938463463374607431768211455\"");
        assert_eq!(serde_json::from_str::<TotalPoints>(&max).unwrap(), TotalPoints::MAX);
        let old = serde_json::from_str::<TotalPoints>("18446744073709551615").unwrap();
        assert_eq!(old, TotalPoints::new(u128::from(u64::MAX)));
        let past = "\"340282366920938463463374607431768211456\"";
        for bad in [past, "\"-1\"", "\"+1\"", "\"\"", "-1", "1.5", "null"] {
            assert!(serde_json::from_str::<TotalPoints>(bad).is_err(), "{bad}");
        }
    }
}
