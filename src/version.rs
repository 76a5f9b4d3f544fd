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
//! | [`points::Account`](crate::points::Account) | 5 | 5: rollback entries and the `rolled_back` total (absent before: zero); 4: lifetime totals are `u128` decimal strings (1-3: `u64` JSON numbers); 3: optional `checkpoint` of a compacted account; 2: idempotency keys are decimal strings (1: JSON numbers) |
//! | [`points::Checkpoint`](crate::points::Checkpoint) (inside an account) | 3 | 3: the last activity of the folded history (absent before: the cut bounds it) and the `rolled_back` total (absent before: zero); 2: totals as in account version 4 |
//! | [`points::Program`](crate::points::Program) | 1 | |
//! | [`tiers::Program`](crate::tiers::Program) | 1 | |
//! | [`referral::ReferralBook`](crate::referral::ReferralBook) | 1 | |
//! | [`sla::Calendar`](crate::sla::Calendar) | 1 | |
//! | [`rfm::Summary`](crate::rfm::Summary) | 1 | |
//! | [`clv::BgNbd`](crate::clv::BgNbd), [`clv::MbgNbd`](crate::clv::MbgNbd), [`clv::ParetoNbd`](crate::clv::ParetoNbd) | 2 | 2: the period of the parameters (1 had none: read it with [`clv::Version1`](crate::clv::Version1), giving the period) |
//! | [`clv::GammaGamma`](crate::clv::GammaGamma) | 1 | |
//! | [`sla::PolicySet`](crate::sla::PolicySet) | 2 | 2: an object `{"version", "policies"}` (1: the bare JSON array of policies) |
//! | [`care::CareConfig`](crate::care::CareConfig) | 2 | 2: the `version` field (1: none) |
//! | [`clv::Fit`](crate::clv::Fit), [`clv::Prediction`](crate::clv::Prediction) | 3 | 3: the fit reports' `status`, converged or at the boundary of the parameter space (absent before: converged); 2: the `version` field (1: none) |
//! | [`clv::ClvModel`](crate::clv::ClvModel), [`clv::Histogram`](crate::clv::Histogram) | 2 | 2: the `version` field (1: none) |
//! | [`tiers::Standing`](crate::tiers::Standing) (a member's tier history) | 2 | 2: the `version` field, the `figures` of every metric the ladder measures and explanations by criterion (either-or tiers); 1 (no field) held one metric's `figure` without naming the metric and is **not read**: a standing is derived state, so re-evaluate it from the stored history and program |
//! | [`care::CarePlan`](crate::care::CarePlan) | 2 | 2: the `version` field (1: none) |
//! | [`rfm::LoyaltyIndex`](crate::rfm::LoyaltyIndex), [`rfm::SegmentMap`](crate::rfm::SegmentMap), [`rfm::RfmScores`](crate::rfm::RfmScores) | 2 | 2: the `version` field (1: none) |
//! | [`ExchangeRates`](crate::ExchangeRates) | 2 | 2: the `version` field (1: none) |
//!
//! A type whose first version has no `version` field got the field as version 2, so that
//! "absent" keeps meaning version 1. Values nested inside a stored type (a fit's report,
//! a policy, a rule, an action, a tier event) travel with their container's version.
//! Records a host builds from its own data and passes in (orders, transactions,
//! customers, festivals, qualifying events) and reports computed afresh
//! on each call (evaluations, triage lists, economics reports, fit checks) carry none.
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
//! assert!(json.starts_with(r#"{"version":5,"#));
//! let newer = json.replace(r#""version":5"#, r#""version":6"#);
//! let err = serde_json::from_str::<Account>(&newer).unwrap_err();
//! assert!(err.to_string().contains("unsupported points account format version 6"));
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

/// Serde for a stored struct whose fields serialize as they are: a `version` field first
/// (`NEWEST` on writing; a missing field reads as 1), then the fields in order, with the
/// version checked on reading. For the data records a host stores whole (a fit, a plan, a
/// standing), which validate nothing else when read.
///
/// `versioned_serde!(Type<G>, "what", NEWEST, { field: FieldType, ... });` in the type's
/// module, for a type that derives no serde itself.
macro_rules! versioned_serde {
    ($ty:ident $(<$g:ident>)?, $what:literal, $newest:expr, { $($f:ident : $t:ty),+ $(,)? }) => {
        #[cfg(feature = "serde")]
        const _: () = {
            #[derive(serde::Serialize)]
            struct Out<'a $(, $g)?> {
                version: u32,
                $($f: &'a $t,)+
            }

            #[derive(serde::Deserialize)]
            struct In $(<$g>)? {
                #[serde(default = "crate::version::v1")]
                version: u32,
                $($f: $t,)+
            }

            impl $(<$g: serde::Serialize>)? serde::Serialize for $ty $(<$g>)? {
                fn serialize<S: serde::Serializer>(
                    &self,
                    s: S,
                ) -> core::result::Result<S::Ok, S::Error> {
                    Out { version: $newest, $($f: &self.$f,)+ }.serialize(s)
                }
            }

            impl<'de $(, $g: serde::Deserialize<'de>)?> serde::Deserialize<'de>
                for $ty $(<$g>)?
            {
                fn deserialize<D: serde::Deserializer<'de>>(
                    d: D,
                ) -> core::result::Result<Self, D::Error> {
                    let r = <In $(<$g>)? as serde::Deserialize>::deserialize(d)?;
                    crate::version::check($what, r.version, $newest)
                        .map_err(<D::Error as serde::de::Error>::custom)?;
                    Ok($ty { $($f: r.$f,)+ })
                }
            }
        };
    };
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
