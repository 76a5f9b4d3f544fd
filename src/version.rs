//! Format versions of stored state.
//!
//! A host keeps the crate's state for years (a points account in a database row, a fitted
//! model in a file), while the crate moves on. Every type a host stores carries a format
//! version in its serialized form, as a `version` field next to its data:
//!
//! - a value is always written at the newest version its type has;
//! - reading accepts every version the crate ever wrote for that type, converting older
//!   ones on the way in; a value without the field is version 1, the format written
//!   before versions were recorded, so state stored by earlier releases still reads;
//! - a newer or unknown version is refused with
//!   [`UnsupportedVersion`](crate::ErrorKind::UnsupportedVersion), naming the
//!   type and both versions, rather than being guessed at.
//!
//! | Type | Newest | Changes |
//! |---|---|---|
//! | [`points::Account`](crate::points::Account) | 2 | 2: idempotency keys are decimal strings (1: JSON numbers) |
//! | [`points::Program`](crate::points::Program) | 1 | |
//! | [`tiers::Program`](crate::tiers::Program) | 1 | |
//! | [`referral::ReferralBook`](crate::referral::ReferralBook) | 1 | |
//! | [`sla::Calendar`](crate::sla::Calendar) | 1 | |
//! | [`rfm::Summary`](crate::rfm::Summary) | 1 | |
//! | [`clv::BgNbd`](crate::clv::BgNbd), [`clv::MbgNbd`](crate::clv::MbgNbd), [`clv::ParetoNbd`](crate::clv::ParetoNbd) | 2 | 2: the period of the parameters (1 had none: read it with [`clv::Version1`](crate::clv::Version1), giving the period) |
//! | [`clv::GammaGamma`](crate::clv::GammaGamma) | 1 | |
//!
//! Not yet versioned: [`sla::PolicySet`](crate::sla::PolicySet) (stored as a bare JSON
//! array) and [`care::CareConfig`](crate::care::CareConfig).
//!
//! Binary formats carry the field too (it is an ordinary struct field).
//!
//! # Example
//!
//! ```
//! # #[cfg(feature = "serde")] {
//! use chrono::NaiveDate;
//! use loyalty::points::{Account, MemberId};
//! use loyalty::ErrorKind;
//!
//! let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
//! let json = serde_json::to_string(&Account::new(MemberId::new(7), day)).unwrap();
//! assert!(json.starts_with(r#"{"version":2,"#));
//! let newer = json.replace(r#""version":2"#, r#""version":3"#);
//! let err = serde_json::from_str::<Account>(&newer).unwrap_err();
//! assert!(err.to_string().contains("unsupported points account format version 3"));
//! # }
//! ```

#[cfg(feature = "serde")]
use crate::error::{ErrorKind, Result};

/// The version of a value written before versions were recorded.
#[cfg(feature = "serde")]
pub(crate) const fn v1() -> u32 {
    1
}

/// Checks that `found` is a version of `what` this build reads (1 to `newest`).
///
/// # Errors
///
/// [`ErrorKind::UnsupportedVersion`] otherwise.
#[cfg(feature = "serde")]
pub(crate) fn check(what: &'static str, found: u32, newest: u32) -> Result<u32> {
    if (1..=newest).contains(&found) {
        Ok(found)
    } else {
        Err(ErrorKind::UnsupportedVersion { what, found, newest }.into())
    }
}

#[cfg(all(test, feature = "serde"))]
mod tests {
    use super::*;

    #[test]
    fn versions_one_to_newest_are_read() {
        assert_eq!(check("x", 1, 2).unwrap(), 1);
        assert_eq!(check("x", 2, 2).unwrap(), 2);
        for bad in [0, 3, u32::MAX] {
            let e = check("points account", bad, 2).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("unsupported points account format version {bad}: this build reads versions 1 to 2")
            );
        }
    }
}
