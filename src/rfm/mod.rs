//! RFM: from a transaction log to per-customer summaries, R/F/M scores, segments and a
//! loyalty index.
//!
//! # What RFM is
//!
//! A seller judges loyalty by how **r**ecently, how **f**requently and for how much
//! **m**oney a customer buys. This module turns a raw log of purchases into those three
//! measures per customer, scores each from 1 to k against the rest of the customer base,
//! names the resulting cells with a segment map ("Champions", "At Risk", ...), and folds the
//! scores together with derivative behaviour (referrals, reviews, word of mouth, tips) into a
//! single loyalty index.
//!
//! # Pipeline
//!
//! 1. [`summarize`] (`summarize_par` with the `rayon` feature): a slice of
//!    [`Transaction`]s, an `as_of` and [`SummaryOptions`] give a [`Summary`], one
//!    [`CustomerSummary`] per customer. The defaults are exactly lifetimes'
//!    `summary_data_from_transaction_data` (period flooring, one purchase per period,
//!    frequency = repeat periods, monetary value = mean repeat spend), so the rows feed the
//!    CLV models directly through [`CustomerSummary::clv_inputs`]. Summaries of disjoint
//!    groups of customers [`merge`](Summary::merge) into the summary of the whole.
//! 2. [`calibration_and_holdout`]: lifetimes' `calibration_and_holdout_data` split.
//! 3. [`RfmScorer`]: scores 1..=k per dimension with R's `rfm` value quantiles (ties share a
//!    bin), rank-first equal-count bins with the customer key as tie-break, or fixed
//!    breakpoints; independent or nested binning; the thresholds used and typed
//!    [`ScoreWarning`]s come back with the scores.
//! 4. [`SegmentMap`]: named segments over the score cube, checked when built (every code
//!    claimed exactly once); presets [`SegmentMap::eleven_segments`] and
//!    [`SegmentMap::rf_ten_segments`].
//! 5. [`LoyaltyIndex`]: a weighted 0–100 index of the scores and [`Derivative`] behaviour.
//!
//! # Example
//!
//! ```
//! use chrono::NaiveDate;
//! use loyalty::rfm::{
//!     summarize, FirstPurchase, MonetaryMeasure, RfmMeasures, RfmScorer, ScoreOptions,
//!     SegmentMap, SummaryOptions, Transaction,
//! };
//! use rust_decimal::Decimal;
//!
//! let day = |m, d| NaiveDate::from_ymd_opt(2024, m, d).unwrap();
//! let log = vec![
//!     Transaction::on("ann", day(1, 5), Decimal::new(4000, 2)),
//!     Transaction::on("ann", day(6, 1), Decimal::new(2500, 2)),
//!     Transaction::on("bob", day(2, 9), Decimal::new(990, 2)),
//!     Transaction::on("cy", day(6, 20), Decimal::new(12000, 2)),
//!     Transaction::on("cy", day(6, 20), Decimal::new(500, 2)), // same day: one purchase
//! ];
//! // RFM convention: every purchase counts, monetary value is total spend.
//! let options = SummaryOptions::default()
//!     .first_purchase(FirstPurchase::Included)
//!     .monetary(MonetaryMeasure::Total);
//! let summary = summarize(&log, day(6, 30), options)?;
//! assert_eq!(summary.get(&"cy").unwrap().frequency(), 1);
//! assert_eq!(summary.get(&"cy").unwrap().total_spend(), Decimal::new(12500, 2));
//!
//! let scores = RfmScorer::new(ScoreOptions::default().bins(3))?
//!     .score_summary(&summary, RfmMeasures::default())?;
//! let ann = scores.scores()[0]; // rows are in customer order: ann, bob, cy
//! assert_eq!((ann.r(), ann.f(), ann.m()), (2, 2, 2));
//! assert_eq!(scores.scores()[2].r(), 3); // cy bought most recently
//! // The 11-segment preset is a 5 × 5 × 5 map: 3-bin scores are refused, not misread.
//! assert!(SegmentMap::eleven_segments().assign(&scores).is_err());
//! # Ok::<(), loyalty::Error>(())
//! ```
//!
//! # References
//!
//! - Fader, Hardie & Lee (2005), "RFM and CLV: Using iso-value curves for customer base
//!   analysis", *Journal of Marketing Research* 42(4); the `lifetimes` 0.11.3 Python package
//!   (`lifetimes.utils`), whose summaries this module reproduces.
//! - R package `rfm` 0.3.0 (`rfm_table_order`): type-7 quantile breaks plus one, ties in one
//!   bin. IBM SPSS Statistics "RFM Binning": independent and nested binning, at most 9 bins.
//! - The 11-segment 125-code map of the Squeezely and Spotler RFM apps; the 10-segment R+F map
//!   widely copied from the same sources.

mod holdout;
mod index;
mod period;
mod score;
mod segment;
pub(crate) mod span;
mod summary;

pub use holdout::{calibration_and_holdout, CalibrationHoldout, HoldoutRow};
pub use index::{Derivative, LoyaltyIndex, LoyaltyWeights, Saturation};
pub use period::{MonthLength, Period, PeriodUnit};
pub use score::{
    Binning, Dimension, RfmFrequency, RfmMeasures, RfmMonetary, RfmScore, RfmScorer, RfmScores,
    RfmValues, ScoreMethod, ScoreOptions, ScoreWarning, Thresholds,
};
pub use segment::{SegmentId, SegmentMap, SegmentRule};
pub use span::{periods_per_month, Span};
pub use summary::{
    summarize, summarize_with_hasher, ClvInputs, CustomerSummary, Cutoff, FirstPurchase,
    FrequencyCount, KeyHasher, MonetaryMeasure, NegativeAmounts, Summary, SummaryOptions,
    SummaryStream, Transaction,
};
#[cfg(feature = "rayon")]
pub use summary::{summarize_par, summarize_par_with_hasher};
