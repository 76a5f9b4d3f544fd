//! Tests that span modules or use the bundled data files.

mod care;
mod care_channels;
mod care_greetings;
mod care_quiet;
mod cdnow;
mod clv;
mod clv_generate;
mod clv_path;
mod clv_validation;
mod economics;
#[cfg(feature = "serde")]
mod golden;
mod points;
mod points_compact;
#[cfg(feature = "serde")]
mod points_forged;
mod points_transfer;
mod referral;
mod rfm;
mod rfm_keys;
mod sla;
mod sla_frozen;
mod sla_oracle;
mod sla_promise;
mod tiers;
mod tiers_as_known;
mod tiers_criteria;
mod zones;
