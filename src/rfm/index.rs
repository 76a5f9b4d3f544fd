//! The loyalty index: RFM scores and derivative behaviour in one number.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use super::score::{RfmScore, MAX_BINS};
use crate::error::{Error, Result};

/// Derivative loyalty behaviour the host observed for a customer over the same window as the
/// scores: what the customer does for the seller beyond buying.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Derivative {
    /// Referrals made (introductions of new customers).
    pub referrals: u32,
    /// Reviews written.
    pub reviews: u32,
    /// Word-of-mouth mentions (social posts, shares, tagged mentions).
    pub mentions: u32,
    /// Tips given, as an amount (never negative).
    pub tips: Decimal,
}

/// Relative weights of the seven components of a [`LoyaltyIndex`] (finite, non-negative,
/// not all zero; only their ratios matter).
///
/// The defaults, 25/25/20 for R/F/M and 15/5/5/5 for referrals, reviews, mentions and tips,
/// give purchase behaviour 70 % of the index and derivative behaviour 30 %, with referrals, the
/// derivative behaviour that brings revenue directly, weighted most. They are a starting
/// point; a seller tunes them to its own evidence (for example the revenue per referral).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LoyaltyWeights {
    /// Weight of the R score.
    pub recency: f64,
    /// Weight of the F score.
    pub frequency: f64,
    /// Weight of the M score.
    pub monetary: f64,
    /// Weight of referrals.
    pub referrals: f64,
    /// Weight of reviews.
    pub reviews: f64,
    /// Weight of mentions.
    pub mentions: f64,
    /// Weight of tips.
    pub tips: f64,
}

impl Default for LoyaltyWeights {
    fn default() -> Self {
        LoyaltyWeights {
            recency: 0.25,
            frequency: 0.25,
            monetary: 0.20,
            referrals: 0.15,
            reviews: 0.05,
            mentions: 0.05,
            tips: 0.05,
        }
    }
}

/// Half-saturation points of the derivative components: the count (or tip amount) at which a
/// component reaches one half. A component is `x / (x + h)`: 0 for nothing, rising with
/// diminishing returns towards 1, so a single prolific reviewer cannot dominate the index.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Saturation {
    /// Referrals giving one half (default 1).
    pub referrals: f64,
    /// Reviews giving one half (default 2).
    pub reviews: f64,
    /// Mentions giving one half (default 3).
    pub mentions: f64,
    /// Tip amount giving one half (default 10, in the log's currency).
    pub tips: Decimal,
}

impl Default for Saturation {
    fn default() -> Self {
        Saturation { referrals: 1.0, reviews: 2.0, mentions: 3.0, tips: Decimal::TEN }
    }
}

/// A configurable loyalty index in `[0, 100]`.
///
/// ```text
/// index = 100 · Σ wᵢ·cᵢ / Σ wᵢ
/// c_R = (R − 1)/(k_R − 1)   (and F, M alike; 1 when k = 1)
/// c_referrals = n/(n + h)   (and reviews, mentions, tips alike)
/// ```
///
/// Loyalty shows in basic behaviour (how recently, often and much a customer buys: the RFM
/// scores) and in derivative behaviour (recommendations, word of mouth, introductions,
/// tipping); the index weighs both. Scores enter through their rank in `1..=k`, so the index
/// inherits the scoring's comparability; derivative counts enter through a saturating curve.
///
/// # Example
///
/// ```
/// use loyalty::rfm::{Derivative, LoyaltyIndex, LoyaltyWeights, RfmScore, Saturation};
/// use rust_decimal::Decimal;
///
/// let index = LoyaltyIndex::new(LoyaltyWeights::default(), Saturation::default())?;
/// let champion = RfmScore::new(5, 5, 5)?;
/// let quiet = Derivative::default();
/// let advocate = Derivative { referrals: 3, reviews: 2, mentions: 6, tips: Decimal::TEN };
/// assert_eq!(index.value(champion, [5, 5, 5], &quiet)?, 70.0);
/// let v = index.value(champion, [5, 5, 5], &advocate)?;
/// // 70 + 100·(0.15·3/4 + 0.05·1/2 + 0.05·2/3 + 0.05·1/2)
/// assert!((v - 89.5833333).abs() < 1e-6);
/// # Ok::<(), loyalty::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "LoyaltyIndexRepr", into = "LoyaltyIndexRepr")
)]
pub struct LoyaltyIndex {
    weights: LoyaltyWeights,
    saturation: Saturation,
    /// The weights divided by the largest, cached: in `[0, 1]`, so that neither huge
    /// weights (1e307: Σ wᵢ·cᵢ·100 overflows) nor subnormal ones (5e-324: wᵢ·cᵢ rounds to
    /// a multiple of the smallest double) change the index, which depends on their ratios
    /// alone.
    scaled: LoyaltyWeights,
    /// Σ of the scaled weights, in `[1, 7]`.
    total: f64,
    tips_half: f64,
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct LoyaltyIndexRepr {
    #[serde(default = "crate::version::v1")]
    version: u32,
    weights: LoyaltyWeights,
    saturation: Saturation,
}

#[cfg(feature = "serde")]
impl TryFrom<LoyaltyIndexRepr> for LoyaltyIndex {
    type Error = Error;
    fn try_from(r: LoyaltyIndexRepr) -> Result<LoyaltyIndex> {
        crate::version::check("loyalty index", r.version, 2)?;
        LoyaltyIndex::new(r.weights, r.saturation)
    }
}

#[cfg(feature = "serde")]
impl From<LoyaltyIndex> for LoyaltyIndexRepr {
    fn from(i: LoyaltyIndex) -> LoyaltyIndexRepr {
        LoyaltyIndexRepr { version: 2, weights: i.weights, saturation: i.saturation }
    }
}

impl LoyaltyIndex {
    /// An index with checked weights and saturation points.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when a weight is negative
    /// or not finite, all weights are zero, or a half-saturation point is not a positive
    /// finite number.
    pub fn new(weights: LoyaltyWeights, saturation: Saturation) -> Result<LoyaltyIndex> {
        let w = weights;
        let named = [
            ("recency weight", w.recency),
            ("frequency weight", w.frequency),
            ("monetary weight", w.monetary),
            ("referrals weight", w.referrals),
            ("reviews weight", w.reviews),
            ("mentions weight", w.mentions),
            ("tips weight", w.tips),
        ];
        for (name, v) in named {
            if !v.is_finite() || v < 0.0 {
                return Err(Error::invalid(name, v, "must be finite and not negative"));
            }
        }
        let max = named.iter().map(|(_, v)| *v).fold(0.0, f64::max);
        if max == 0.0 {
            return Err(Error::invalid("weights", max, "must not all be zero"));
        }
        let scale = |v: f64| v / max;
        let scaled = LoyaltyWeights {
            recency: scale(w.recency),
            frequency: scale(w.frequency),
            monetary: scale(w.monetary),
            referrals: scale(w.referrals),
            reviews: scale(w.reviews),
            mentions: scale(w.mentions),
            tips: scale(w.tips),
        };
        let total: f64 = named.iter().map(|(_, v)| scale(*v)).sum();
        let s = saturation;
        for (name, v) in [
            ("referrals saturation", s.referrals),
            ("reviews saturation", s.reviews),
            ("mentions saturation", s.mentions),
        ] {
            if !v.is_finite() || v <= 0.0 {
                return Err(Error::invalid(name, v, "must be positive and finite"));
            }
        }
        if s.tips <= Decimal::ZERO {
            return Err(Error::invalid("tips saturation", s.tips, "must be positive"));
        }
        let tips_half = s.tips.to_f64().unwrap_or(f64::MAX);
        Ok(LoyaltyIndex { weights, saturation, scaled, total, tips_half })
    }

    /// The weights.
    #[must_use]
    pub fn weights(&self) -> LoyaltyWeights {
        self.weights
    }

    /// The half-saturation points.
    #[must_use]
    pub fn saturation(&self) -> Saturation {
        self.saturation
    }

    /// The index of one customer, in `[0, 100]`, from its scores (made with `bins`
    /// `[k_r, k_f, k_m]`) and its derivative behaviour.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when a score exceeds its
    /// bins, a bin count is outside `1..=9`, or tips are negative.
    pub fn value(&self, score: RfmScore, bins: [u8; 3], behaviour: &Derivative) -> Result<f64> {
        let w = &self.scaled;
        let mut sum = 0.0;
        for ((s, k), weight) in [score.r(), score.f(), score.m()].into_iter().zip(bins).zip([
            w.recency,
            w.frequency,
            w.monetary,
        ]) {
            if !(1..=MAX_BINS).contains(&k) || s > k {
                return Err(Error::invalid(
                    "score",
                    score,
                    format!("must lie within bins {bins:?} (each 1..=9)"),
                ));
            }
            let c = if k == 1 { 1.0 } else { f64::from(s - 1) / f64::from(k - 1) };
            sum += weight * c;
        }
        if behaviour.tips < Decimal::ZERO {
            return Err(Error::invalid("tips", behaviour.tips, "must not be negative"));
        }
        let sat = |x: f64, h: f64| x / (x + h);
        let s = &self.saturation;
        sum += w.referrals * sat(f64::from(behaviour.referrals), s.referrals);
        sum += w.reviews * sat(f64::from(behaviour.reviews), s.reviews);
        sum += w.mentions * sat(f64::from(behaviour.mentions), s.mentions);
        sum += w.tips * sat(behaviour.tips.to_f64().unwrap_or(f64::MAX), self.tips_half);
        // Each component is in [0, 1]; the clamp only absorbs rounding above 100.
        Ok((100.0 * sum / self.total).min(100.0))
    }

    /// The index of a batch: `scores[i]` with `behaviour[i]`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when the slices differ in
    /// length; [`ErrorKind::InvalidRecord`](crate::ErrorKind::InvalidRecord) naming the first
    /// bad entry otherwise.
    pub fn values(
        &self,
        scores: &[RfmScore],
        bins: [u8; 3],
        behaviour: &[Derivative],
    ) -> Result<Vec<f64>> {
        if scores.len() != behaviour.len() {
            return Err(Error::invalid(
                "behaviour",
                behaviour.len(),
                format!("must have one entry per score ({})", scores.len()),
            ));
        }
        scores
            .iter()
            .zip(behaviour)
            .enumerate()
            .map(|(i, (s, b))| {
                self.value(*s, bins, b).map_err(|e| {
                    Error::invalid_record(i, "loyalty index input", e.to_string(), "rejected")
                })
            })
            .collect()
    }
}
