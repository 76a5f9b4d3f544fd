//! Tests that span modules or use the bundled data files.

mod care;
mod care_greetings;
mod care_quiet;
mod clv;
mod economics;
mod points;
mod rfm;
mod sla;
mod sla_oracle;
mod sla_promise;
mod tiers;
