//! Tests that span modules or use the bundled data files.

mod care;
mod care_quiet;
mod clv;
mod clv_path;
mod clv_validation;
mod economics;
mod points;
mod rfm;
mod sla;
mod sla_oracle;
mod tiers;
