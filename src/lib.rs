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
//! # Tour
//!
//! | module | what it answers |
//! |---|---|
//! | [`money`] | amounts: [`Money`], [`Currency`], explicit [`Rounding`], host-supplied [`ExchangeRate`]s |
//! | [`economics`] | what a new customer costs (CAC) and is worth (CLV); CLV:CAC and payback |
//! | [`rfm`] | per-customer summaries of a transaction log (lifetimes-compatible), R/F/M scores, segments, a loyalty index |
//! | [`clv`] | BG/NBD, MBG/NBD, Pareto/NBD and Gamma-Gamma: P(alive), expected purchases, CLV |
//! | [`points`] | earning rules and a points ledger that never loses or mints a point |
//! | [`tiers`] | tier ladders, qualification windows, promotion and demotion, benefits, member discounts |
//! | [`referral`] | referral rewards with fraud limits |
//! | [`sla`] | reply deadlines on business calendars, breach checks and triage |
//! | [`care`] | whom to contact today, and why |
//!
//! ## Economics first
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
//! ## From a transaction log to segments and P(alive)
//!
//! ```
//! use chrono::NaiveDate;
//! use loyalty::clv::{BgNbd, ClvModel, ClvOptions, GammaGamma};
//! use loyalty::rfm::{summarize, Period, SummaryOptions, Transaction};
//! use rust_decimal::dec;
//!
//! let day = |m, d| NaiveDate::from_ymd_opt(2024, m, d).unwrap();
//! let log = [
//!     Transaction::on("ann", day(1, 5), dec!(30)),
//!     Transaction::on("ann", day(3, 1), dec!(45)),
//!     Transaction::on("ann", day(6, 20), dec!(25)),
//!     Transaction::on("bob", day(2, 14), dec!(80)),
//! ];
//! // lifetimes' semantics: frequency = repeat days, recency and T in days, monetary = mean
//! // of the repeat purchases.
//! let summary = summarize(&log, day(6, 30), SummaryOptions::default())?;
//! let ann = &summary.rows()[0];
//! assert_eq!((ann.frequency(), ann.recency(), ann.t()), (2, 167.0, 177.0));
//! assert_eq!(ann.monetary_value(), dec!(35));
//!
//! // Published BG/NBD estimates for CDNOW are in weeks, so the model is weekly and scores a
//! // weekly summary (a daily one is refused). Real use fits the models: `clv::predict`.
//! let model = ClvModel::new(
//!     BgNbd::new(0.2426, 4.4137, 0.7930, 2.4262, Period::WEEK)?,
//!     GammaGamma::new(6.25, 3.74, 15.44)?,
//! );
//! let weekly = summarize(&log, day(6, 30), SummaryOptions::default().period(Period::WEEK))?;
//! let scores = model.score_summary(&weekly, &ClvOptions::default())?;
//! assert!(scores[0].p_alive > 0.5 && scores[0].p_alive < 1.0);
//! assert!(model.score_summary(&summary, &ClvOptions::default()).is_err());
//! # Ok::<(), loyalty::Error>(())
//! ```
//!
//! # Outcomes are plain data
//!
//! What an operation or an evaluation returns (a points [`EarnQuote`](points::EarnQuote) or
//! [`RedeemOutcome`](points::RedeemOutcome), a tier [`Standing`](tiers::Standing), an SLA
//! [`Evaluation`](sla::Evaluation), a [`CarePlan`], a referral
//! [`Settlement`](referral::Settlement), ...) is a plain record: public fields, read
//! directly, and `#[non_exhaustive]`, so the crate can add a field without breaking a host
//! (match them with `..`; hosts never build them). Accessor methods are kept for what holds
//! an invariant: configuration, stored state and validated values (a
//! [`Ladder`], a [`Calendar`], a points [`Account`](points::Account)), whose fields are
//! private and checked when built or read back. An outcome has one way to read each
//! concept, its field; its methods compute something (such as
//! [`Balances::outstanding`](points::Balances::outstanding)).
//!
//! Each module's documentation continues the story with its own runnable example; the
//! programs in `examples/` run the whole chain on the bundled CDNOW data.
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

// First: its `versioned_serde!` macro serves the modules below.
#[macro_use]
pub mod version;
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

pub use crate::care::{CareConfig, CareInput, CarePlan};
pub use crate::clv::{BgNbd, ClvOptions, GammaGamma, Histogram, MbgNbd, ParetoNbd};
pub use crate::points::{EarnRules, OpKey, Points, RedemptionRules};
pub use crate::referral::{ReferralBook, ReferralRules};
pub use crate::rfm::{LoyaltyIndex, RfmScorer, SegmentMap, SummaryOptions};
pub use crate::sla::{Calendar, PolicySet, Shift};
pub use crate::tiers::{Ladder, MarginGuard, MemberDiscount, Tier};

// The README's code blocks are compiled and run as doc-tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
