//! Tests that span modules or use the bundled data files.

mod care;
mod clv;
mod economics;
#[cfg(feature = "serde")]
mod golden;
mod points;
mod rfm;
mod sla;
mod tiers;
