//! `loyalty`: the pure-logic core of customer retention.
//!
//! Winning a new customer costs a seller five to six times more than keeping an old one. This
//! crate is what a shop backend, a CRM or a data pipeline embeds to keep customers coming back:
//! acquisition economics, RFM scoring, predictive customer lifetime value, a points ledger,
//! tiers and referrals, reply SLAs, and a care schedule.
//!
//! Everything here is pure logic: no I/O, no clock (time comes in as `now`), no randomness, no
//! global state. Money is [`rust_decimal::Decimal`], points are integers, statistical models
//! work in `f64`. Bad input gets a typed [`Error`], never a panic or a NaN.
//!
//! # Example
//!
//! ```
//! use loyalty::economics::{cac, clv_retention, ClvToCac, DiscountRate, Retention, Verdict, VerdictThresholds};
//! use loyalty::{Currency, Money, Rounding};
//! use rust_decimal::dec;
//!
//! // 12,000 USD of marketing brought 400 new customers: CAC = 30 USD.
//! let cac = cac(Money::new(dec!(12000), Currency::USD), 400)?;
//! assert_eq!(cac.amount(), dec!(30));
//!
//! // 40 USD margin a year, 80 % retention, 10 % discount rate: CLV = 40 × 0.8 / 0.3.
//! let margin = Money::new(dec!(40), Currency::USD);
//! let clv = clv_retention(margin, Retention::new(dec!(0.8))?, DiscountRate::new(dec!(0.1))?)?;
//! assert_eq!(clv.round(Rounding::HalfUp).amount(), dec!(106.67));
//!
//! let ratio = ClvToCac::new(clv, cac)?;
//! assert_eq!(ratio.verdict(VerdictThresholds::default()), Verdict::Healthy); // 3.56
//! # Ok::<(), loyalty::Error>(())
//! ```
//!
//! # Crate features
//!
//! - `serde` (default): `Serialize`/`Deserialize` for every public data type. Decimals are
//!   written as strings, so nothing is lost in JSON.
//! - `rayon`: multi-core batch scoring.

// The crate is arithmetic and bookkeeping: nothing here needs `unsafe`.
#![forbid(unsafe_code)]
// Every public item is documented.
#![deny(missing_docs)]
// Values users print while debugging must be printable.
#![warn(missing_debug_implementations)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod care;
pub mod clv;
pub mod economics;
mod error;
pub mod money;
pub mod points;
pub mod referral;
pub mod rfm;
pub mod sla;
pub mod tiers;
mod units;

pub use crate::error::{Error, ErrorKind, Result};
pub use crate::money::{Currency, ExchangeRate, ExchangeRates, Money, Rounding};
pub use crate::units::{Multiplier, Share};

// The README's code blocks are compiled and run as doc-tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
