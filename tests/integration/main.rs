//! Tests that span modules or use the bundled data files.

mod care;
mod clv;
mod economics;
mod points;
mod rfm;
mod rfm_keys;
mod sla;
mod tiers;
