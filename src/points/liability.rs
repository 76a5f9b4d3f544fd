//! Points liability: what outstanding points are expected to cost.

use rust_decimal::prelude::FromPrimitive;
use rust_decimal::Decimal;

use super::{Account, Points, RedemptionRules};
use crate::error::{Error, Result};
use crate::money::Money;
use crate::units::Share;

/// The share of issued points expected never to be redeemed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Breakage {
    /// A rate the host supplies (from its accounting policy or experience).
    Given(Share),
    /// Estimated from the accounts' history with [`estimate_breakage`].
    Estimated,
}

/// Outstanding points priced as a liability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Liability {
    /// Points held: available + pending + reserved (debt is not netted: it is owed points,
    /// not cash).
    pub outstanding: Points,
    /// Their face value at the redemption rate, unrounded.
    pub face_value: Money,
    /// The breakage rate used.
    pub breakage: Share,
    /// `face_value × (1 - breakage)`, rounded half-up to the currency's minor unit.
    pub liability: Money,
}

/// Estimates breakage from history: of the points whose fate is settled by the member,
/// the share that expired, `expired / (expired + redeemed)` (points clawed back, cancelled
/// or moved by hand or by transfer are not a member's choice and are left out). Redeemed
/// points are counted net of rollbacks: points returned from a refunded order were not
/// redeemed in the end (those that came back expired count as expired).
///
/// This "resolved points" estimate is unbiased only once cohorts have fully matured; on a
/// young program it understates breakage, since the points still outstanding are the ones
/// most likely to expire.
///
/// # Errors
///
/// [`ErrorKind::EmptyInput`](crate::ErrorKind::EmptyInput) when nothing was redeemed or
/// expired yet; [`ErrorKind::Overflow`](crate::ErrorKind::Overflow).
pub fn estimate_breakage<'a>(accounts: impl IntoIterator<Item = &'a Account>) -> Result<Share> {
    let (mut expired, mut redeemed) = (Decimal::ZERO, Decimal::ZERO);
    for a in accounts {
        let t = a.totals();
        let ov = || Error::overflow("breakage totals");
        let dec = |t: crate::points::TotalPoints| Decimal::from_u128(t.value()).ok_or_else(ov);
        expired = expired.checked_add(dec(t.expired)?).ok_or_else(ov)?;
        // A checked account never rolls back more than it redeemed.
        let net = crate::points::TotalPoints::new(
            t.redeemed.value().saturating_sub(t.rolled_back.value()),
        );
        redeemed = redeemed.checked_add(dec(net)?).ok_or_else(ov)?;
    }
    let settled =
        expired.checked_add(redeemed).ok_or_else(|| Error::overflow("breakage totals"))?;
    if settled.is_zero() {
        return Err(Error::empty("redeemed or expired points"));
    }
    Share::new(expired / settled)
}

/// Prices the points outstanding in `accounts`: outstanding × value per point × (1 -
/// breakage).
///
/// # Errors
///
/// The errors of [`estimate_breakage`] for [`Breakage::Estimated`];
/// [`ErrorKind::Overflow`](crate::ErrorKind::Overflow).
///
/// # Example
///
/// ```
/// use loyalty::points::{liability, Account, Breakage, Points, RedemptionRules};
/// use loyalty::{Currency, Money, Share};
/// use rust_decimal::Decimal;
///
/// let rules = RedemptionRules::new(Points::new(100), Money::new(Decimal::from(10), Currency::USD))?;
/// let none: [&Account; 0] = [];
/// let l = liability(none, &rules, Breakage::Given(Share::from_percent(Decimal::from(20))?))?;
/// assert!(l.liability.is_zero());
/// # Ok::<(), loyalty::Error>(())
/// ```
pub fn liability<'a>(
    accounts: impl IntoIterator<Item = &'a Account> + Clone,
    rules: &RedemptionRules,
    breakage: Breakage,
) -> Result<Liability> {
    let breakage = match breakage {
        Breakage::Given(s) => s,
        Breakage::Estimated => estimate_breakage(accounts.clone())?,
    };
    let mut outstanding = Points::ZERO;
    for a in accounts {
        outstanding = outstanding.checked_add(a.balances().outstanding()?)?;
    }
    let face = Decimal::from(outstanding.value())
        .checked_mul(rules.value_per_point())
        .ok_or_else(|| Error::overflow("liability"))?;
    let face_value = Money::new(face, rules.currency());
    let liability = breakage.complement().of(face_value)?.round(crate::money::Rounding::HalfUp);
    Ok(Liability { outstanding, face_value, breakage, liability })
}
