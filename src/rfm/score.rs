//! R, F and M scores 1..=k.

use std::fmt;

use rust_decimal::prelude::ToPrimitive;

use super::summary::Summary;
use crate::error::{Error, Result};

/// The largest number of bins per dimension (the SPSS limit; one decimal digit per code).
pub const MAX_BINS: u8 = 9;

/// One of the three RFM dimensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Dimension {
    /// How recently the customer bought.
    Recency,
    /// How often.
    Frequency,
    /// For how much.
    Monetary,
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dimension::Recency => "recency",
            Dimension::Frequency => "frequency",
            Dimension::Monetary => "monetary",
        })
    }
}

/// A customer's three measures, the input of scoring.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RfmValues {
    /// Time since the last purchase (any unit; smaller is more recent and scores higher).
    pub recency: f64,
    /// Purchases (periods or orders).
    pub frequency: f64,
    /// Spend. Scoring is a statistic, so money enters as `f64` (exact for amounts of up to 15
    /// significant digits, which keeps equal amounts equal).
    pub monetary: f64,
}

/// Which frequency [`RfmScorer::score_summary`] scores.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum RfmFrequency {
    /// Distinct purchase periods, the first included (the RFM convention).
    #[default]
    PurchasePeriods,
    /// Transactions (rows), as R's `rfm` package counts them.
    Orders,
    /// The summary's own [`frequency`](super::CustomerSummary::frequency) (repeat periods with
    /// lifetimes' defaults).
    Summary,
}

/// Which monetary measure [`RfmScorer::score_summary`] scores.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum RfmMonetary {
    /// Total spend in the window, first purchase included (R `rfm`, Python `rfm`).
    #[default]
    TotalSpend,
    /// The summary's own [`monetary_value`](super::CustomerSummary::monetary_value).
    Summary,
}

/// How [`RfmScorer::score_summary`] reads R, F and M from summary rows. Recency is always the
/// unit periods since the last purchase
/// ([`periods_since_last_purchase`](super::CustomerSummary::periods_since_last_purchase)).
///
/// The defaults are the RFM segmentation measures (first purchase included, total spend),
/// not lifetimes' CLV inputs: the two answer different questions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RfmMeasures {
    frequency: RfmFrequency,
    monetary: RfmMonetary,
}

impl RfmMeasures {
    /// The frequency measure (default: purchase periods, first included).
    #[must_use]
    pub fn frequency(mut self, frequency: RfmFrequency) -> Self {
        self.frequency = frequency;
        self
    }

    /// The monetary measure (default: total spend).
    #[must_use]
    pub fn monetary(mut self, monetary: RfmMonetary) -> Self {
        self.monetary = monetary;
        self
    }
}

/// How bins are found.
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum ScoreMethod {
    /// Value quantiles, equal values always in one bin (R `rfm` 0.3, SPSS "same bin"): the
    /// `k − 1` inner type-7 sample quantiles at `i/k` (linear interpolation at position
    /// `(n − 1)·i/k` of the sorted values) plus one are the breaks; bin `i` is
    /// `[b_{i−1}, b_i)`. Skewed data gives uneven or empty bins, reported as warnings.
    #[default]
    Quantile,
    /// Equal-count bins on ranks, as pandas `qcut(rank(method="first"), k)`: rank `r` of `n`
    /// goes to bin `max(1, ⌈(r − 1)·k/(n − 1)⌉)`. Bins are never empty when `n ≥ k`, but equal
    /// values can get different scores. Ties are ranked by **customer key, ascending** (never
    /// by input order); for recency the ranking runs over time since the last purchase, so
    /// among equally recent customers the smaller key gets the higher R score.
    ///
    /// The bin is computed exactly. pandas computes the bin edges `1 + (n − 1)·i/k` in
    /// floating point, so when that edge is a whole number but `i/k` is not a binary fraction
    /// (`k` of 3, 5, 6, 7 or 9), the rounding can leave the edge just below the rank on it,
    /// which pandas then puts one bin higher (12 of 9,104 scores in a random comparison with
    /// pandas 1.5.3 at `k` of 7 and 9; how the edge rounds differs between pandas versions).
    RankFirst,
    /// Breaks the user gives, `k − 1` ascending finite values per dimension (recency in time
    /// since the last purchase, ascending); bin `i` is `[b_{i−1}, b_i)`, as R `rfm` treats a
    /// vector of `*_bins`. Equal breaks leave the bins between them empty, as the
    /// [`Thresholds`] of a quantile scoring over tied values do, so those thresholds can score
    /// new customers the same way.
    Fixed {
        /// Recency breaks (time since the last purchase).
        recency: Vec<f64>,
        /// Frequency breaks.
        frequency: Vec<f64>,
        /// Monetary breaks.
        monetary: Vec<f64>,
    },
}

/// Independent or nested binning (SPSS).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Binning {
    /// R, F and M binned separately over all customers: each score has one meaning.
    #[default]
    Independent,
    /// R over all customers, F within each R score, M within each (R, F) cell: a more even
    /// spread over the cells, but F and M are only comparable inside their parent cell.
    Nested,
}

/// Options of an [`RfmScorer`].
///
/// # Example
///
/// ```
/// use loyalty::rfm::{Binning, RfmScorer, ScoreMethod, ScoreOptions};
///
/// let options = ScoreOptions::default()
///     .bins_per_dimension(5, 4, 3)
///     .method(ScoreMethod::RankFirst)
///     .binning(Binning::Nested);
/// assert!(RfmScorer::new(options).is_ok());
/// assert!(RfmScorer::new(ScoreOptions::default().bins(10)).is_err());
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ScoreOptions {
    bins: [u8; 3],
    method: ScoreMethod,
    binning: Binning,
}

impl Default for ScoreOptions {
    fn default() -> Self {
        ScoreOptions { bins: [5; 3], method: ScoreMethod::Quantile, binning: Binning::Independent }
    }
}

impl ScoreOptions {
    /// The same number of bins `k` for R, F and M (1 to 9; default 5).
    #[must_use]
    pub fn bins(mut self, k: u8) -> Self {
        self.bins = [k; 3];
        self
    }

    /// Bins for R, F and M separately.
    #[must_use]
    pub fn bins_per_dimension(mut self, r: u8, f: u8, m: u8) -> Self {
        self.bins = [r, f, m];
        self
    }

    /// The method (default: value quantiles).
    #[must_use]
    pub fn method(mut self, method: ScoreMethod) -> Self {
        self.method = method;
        self
    }

    /// Independent or nested (default: independent).
    #[must_use]
    pub fn binning(mut self, binning: Binning) -> Self {
        self.binning = binning;
        self
    }
}

/// A customer's R, F and M scores, each in `1..=k`; recent, frequent, big spenders score high.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "[u8; 3]", into = "[u8; 3]")
)]
pub struct RfmScore {
    r: u8,
    f: u8,
    m: u8,
}

impl TryFrom<[u8; 3]> for RfmScore {
    type Error = Error;
    fn try_from(s: [u8; 3]) -> Result<RfmScore> {
        RfmScore::new(s[0], s[1], s[2])
    }
}

impl From<RfmScore> for [u8; 3] {
    fn from(s: RfmScore) -> [u8; 3] {
        [s.r, s.f, s.m]
    }
}

impl RfmScore {
    /// A score triple.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) unless each score is in `1..=9`.
    pub fn new(r: u8, f: u8, m: u8) -> Result<RfmScore> {
        for (name, s) in [("r score", r), ("f score", f), ("m score", m)] {
            if !(1..=MAX_BINS).contains(&s) {
                return Err(Error::invalid(name, s, "must be in 1..=9"));
            }
        }
        Ok(RfmScore { r, f, m })
    }

    /// The recency score.
    #[must_use]
    pub fn r(self) -> u8 {
        self.r
    }

    /// The frequency score.
    #[must_use]
    pub fn f(self) -> u8 {
        self.f
    }

    /// The monetary score.
    #[must_use]
    pub fn m(self) -> u8 {
        self.m
    }

    /// The numeric code `R·100 + F·10 + M` (R `rfm`, SPSS).
    #[must_use]
    pub fn code(self) -> u16 {
        u16::from(self.r) * 100 + u16::from(self.f) * 10 + u16::from(self.m)
    }
}

impl fmt::Display for RfmScore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{}", self.r, self.f, self.m)
    }
}

/// The breaks used, so a scoring can be inspected (and, except for rank-first ties,
/// reproduced with [`ScoreMethod::Fixed`]).
///
/// Each list holds `k − 1` ascending breaks: bin `i` (counting from 1, ascending values) is
/// `[b_{i−1}, b_i)`. For recency the values are time since the last purchase and the R score
/// is `k + 1 − i`. For rank-first scoring, `b_i` is the smallest value placed in bin `i + 1` or
/// above (equal values may straddle it).
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Thresholds {
    /// Recency breaks.
    pub recency: Vec<f64>,
    /// Frequency breaks: one list for independent binning; for nested binning one per R
    /// score (index `r − 1`), empty when no customer has that R score.
    pub frequency: Vec<Vec<f64>>,
    /// Monetary breaks: one list for independent binning; for nested binning one per (R, F)
    /// cell (index `(r − 1)·k_f + (f − 1)`), empty when the cell has no customer.
    pub monetary: Vec<Vec<f64>>,
}

/// Something about the data that makes the scores less informative than asked for. Never an
/// error: the scores are still valid.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum ScoreWarning {
    /// There were no customers to score.
    NoCustomers,
    /// Only one customer: every score is its own bin's.
    SingleCustomer,
    /// All customers of a group share one value of a dimension, so they share one score.
    IdenticalValues {
        /// The dimension.
        dimension: Dimension,
        /// The parent cell under nested binning (`(r, None)` for F, `(r, Some(f))` for M).
        parent: Option<(u8, Option<u8>)>,
    },
    /// No customer of a group got this score (tied values, skewed data, few customers).
    EmptyBin {
        /// The dimension.
        dimension: Dimension,
        /// The score nobody got.
        score: u8,
        /// The parent cell under nested binning.
        parent: Option<(u8, Option<u8>)>,
    },
}

/// The scores of a batch of customers.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "RfmScoresRepr", into = "RfmScoresRepr")
)]
pub struct RfmScores {
    scores: Vec<RfmScore>,
    bins: [u8; 3],
    thresholds: Thresholds,
    warnings: Vec<ScoreWarning>,
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct RfmScoresRepr {
    #[serde(default = "crate::version::v1")]
    version: u32,
    scores: Vec<RfmScore>,
    bins: [u8; 3],
    thresholds: Thresholds,
    warnings: Vec<ScoreWarning>,
}

#[cfg(feature = "serde")]
impl TryFrom<RfmScoresRepr> for RfmScores {
    type Error = Error;
    fn try_from(r: RfmScoresRepr) -> Result<RfmScores> {
        crate::version::check("rfm scores", r.version, 2)?;
        let [kr, kf, km] = r.bins;
        if r.bins.iter().any(|k| !(1..=MAX_BINS).contains(k))
            || r.scores.iter().any(|s| s.r > kr || s.f > kf || s.m > km)
        {
            return Err(crate::ErrorKind::InvalidState {
                reason: "scores must lie within bins of 1..=9".into(),
            }
            .into());
        }
        check_thresholds(r.bins, &r.thresholds, &r.scores).map_err(|e| {
            Error::from(crate::ErrorKind::InvalidState { reason: format!("thresholds: {e}") })
        })?;
        Ok(RfmScores {
            scores: r.scores,
            bins: r.bins,
            thresholds: r.thresholds,
            warnings: r.warnings,
        })
    }
}

#[cfg(feature = "serde")]
impl From<RfmScores> for RfmScoresRepr {
    fn from(s: RfmScores) -> RfmScoresRepr {
        RfmScoresRepr {
            version: 2,
            scores: s.scores,
            bins: s.bins,
            thresholds: s.thresholds,
            warnings: s.warnings,
        }
    }
}

impl RfmScores {
    /// One score per customer, in input order.
    #[must_use]
    pub fn scores(&self) -> &[RfmScore] {
        &self.scores
    }

    /// Bins per dimension `[k_r, k_f, k_m]`.
    #[must_use]
    pub fn bins(&self) -> [u8; 3] {
        self.bins
    }

    /// The breaks used.
    #[must_use]
    pub fn thresholds(&self) -> &Thresholds {
        &self.thresholds
    }

    /// Warnings about degenerate data.
    #[must_use]
    pub fn warnings(&self) -> &[ScoreWarning] {
        &self.warnings
    }
}

/// Scores customers 1..=k on R, F and M.
///
/// All work is columnar: a few sorts of `n` values and no allocation per customer.
///
/// # Example
///
/// The worked example of R `rfm`'s quantile breaks: frequencies {60 × 1, 20 × 2, 10 × 3,
/// 10 × 5} give the breaks 2, 2, 2.4, 3.2, and score 2 stays empty.
///
/// ```
/// use loyalty::rfm::{Dimension, RfmScorer, RfmValues, ScoreOptions, ScoreWarning};
///
/// let freq = std::iter::repeat(1.0).take(60)
///     .chain(std::iter::repeat(2.0).take(20))
///     .chain(std::iter::repeat(3.0).take(10))
///     .chain(std::iter::repeat(5.0).take(10));
/// let values: Vec<RfmValues> =
///     freq.map(|f| RfmValues { recency: 1.0, frequency: f, monetary: 1.0 }).collect();
/// let keys: Vec<u32> = (0..100).collect();
/// let scored = RfmScorer::new(ScoreOptions::default())?.score(&keys, &values)?;
/// assert_eq!(scored.thresholds().frequency[0], [2.0, 2.0, 2.4, 3.2]);
/// let f: Vec<u8> = [0, 60, 80, 90].iter().map(|&i| scored.scores()[i].f()).collect();
/// assert_eq!(f, [1, 3, 4, 5]);
/// assert!(scored.warnings().contains(&ScoreWarning::EmptyBin {
///     dimension: Dimension::Frequency, score: 2, parent: None,
/// }));
/// # Ok::<(), loyalty::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RfmScorer {
    options: ScoreOptions,
}

impl RfmScorer {
    /// A scorer with checked options.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when a bin count is outside `1..=9`, fixed breaks are not
    /// `k − 1` ascending finite values, or fixed breaks are combined with nested
    /// binning (fixed breaks do not depend on the parent cell).
    pub fn new(options: ScoreOptions) -> Result<RfmScorer> {
        for (dim, k) in DIMS.iter().zip(options.bins) {
            if !(1..=MAX_BINS).contains(&k) {
                return Err(Error::invalid(bins_field(*dim), k, "must be in 1..=9"));
            }
        }
        if let ScoreMethod::Fixed { recency, frequency, monetary } = &options.method {
            if options.binning == Binning::Nested {
                return Err(Error::invalid(
                    "binning",
                    "nested",
                    "fixed breaks are the same in every parent cell; use independent binning",
                ));
            }
            for ((dim, k), breaks) in
                DIMS.iter().zip(options.bins).zip([recency, frequency, monetary])
            {
                check_breaks(*dim, k, breaks)?;
            }
        }
        Ok(RfmScorer { options })
    }

    /// The options.
    #[must_use]
    pub fn options(&self) -> &ScoreOptions {
        &self.options
    }

    /// Scores the rows of a summary, reading the measures as `measures` says. Rows are in
    /// customer key order, which is the rank-first tie-break.
    ///
    /// # Errors
    ///
    /// As [`RfmScorer::score`].
    pub fn score_summary<K>(
        &self,
        summary: &Summary<K>,
        measures: RfmMeasures,
    ) -> Result<RfmScores> {
        let rows = summary.rows();
        let mut cols = [Vec::with_capacity(rows.len()), Vec::new(), Vec::new()];
        cols[1].reserve(rows.len());
        cols[2].reserve(rows.len());
        for row in rows {
            cols[0].push(f64::from(row.periods_since_last_purchase()));
            cols[1].push(f64::from(match measures.frequency {
                RfmFrequency::PurchasePeriods => row.purchase_periods(),
                RfmFrequency::Orders => row.orders(),
                RfmFrequency::Summary => row.frequency(),
            }));
            let m = match measures.monetary {
                RfmMonetary::TotalSpend => row.total_spend(),
                RfmMonetary::Summary => row.monetary_value(),
            };
            // A Decimal is at most 7.9e28: always a finite f64.
            cols[2].push(m.to_f64().unwrap_or(0.0));
        }
        self.score_columns(cols, None)
    }

    /// Scores customers given their keys and values (same length, keys distinct). Keys only
    /// break ties under [`ScoreMethod::RankFirst`].
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when the slices differ in length.
    /// - [`ErrorKind::InvalidRecord`](crate::ErrorKind::InvalidRecord) for a non-finite value or a repeated key.
    pub fn score<K: Ord>(&self, customers: &[K], values: &[RfmValues]) -> Result<RfmScores> {
        if customers.len() != values.len() {
            return Err(Error::invalid(
                "values",
                values.len(),
                format!("must have one entry per customer ({})", customers.len()),
            ));
        }
        let key_rank = if matches!(self.options.method, ScoreMethod::RankFirst) {
            let mut order: Vec<u32> = (0..customers.len() as u32).collect();
            order.sort_unstable_by(|&a, &b| customers[a as usize].cmp(&customers[b as usize]));
            let mut rank = vec![0u32; customers.len()];
            for (r, w) in order.iter().enumerate() {
                rank[*w as usize] = r as u32;
            }
            if let Some(w) =
                order.windows(2).find(|w| customers[w[0] as usize] == customers[w[1] as usize])
            {
                return Err(Error::invalid_record(
                    w[0].max(w[1]) as usize,
                    "customer",
                    "(repeated key)",
                    "keys must be distinct to break ties",
                ));
            }
            Some(rank)
        } else {
            None
        };
        let cols = [
            values.iter().map(|v| v.recency).collect(),
            values.iter().map(|v| v.frequency).collect(),
            values.iter().map(|v| v.monetary).collect(),
        ];
        self.score_columns(cols, key_rank.as_deref())
    }

    fn score_columns(
        &self,
        mut cols: [Vec<f64>; 3],
        key_rank: Option<&[u32]>,
    ) -> Result<RfmScores> {
        let n = cols[0].len();
        if u32::try_from(n).is_err() {
            return Err(Error::invalid("customers", n, "at most 2^32 − 1 customers per batch"));
        }
        for (dim, col) in DIMS.iter().zip(cols.iter_mut()) {
            for (i, v) in col.iter_mut().enumerate() {
                if !v.is_finite() {
                    return Err(Error::invalid_record(i, field(*dim), v, "must be finite"));
                }
                // -0.0 and 0.0 are equal values and must share a bin.
                *v += 0.0;
            }
        }
        let [kr, kf, km] = self.options.bins;
        let mut warnings = Vec::new();
        match n {
            0 => warnings.push(ScoreWarning::NoCustomers),
            1 => warnings.push(ScoreWarning::SingleCustomer),
            _ => {}
        }
        let mut out = [vec![0u8; n], vec![0u8; n], vec![0u8; n]];
        let all: Vec<u32> = (0..n as u32).collect();
        let mut ctx = Ctx { method: &self.options.method, key_rank, warnings: &mut warnings };

        let recency = ctx.bin(Dimension::Recency, kr, &all, &cols[0], &mut out[0], None);
        let (frequency, monetary) = match self.options.binning {
            Binning::Independent => {
                let f = ctx.bin(Dimension::Frequency, kf, &all, &cols[1], &mut out[1], None);
                let m = ctx.bin(Dimension::Monetary, km, &all, &cols[2], &mut out[2], None);
                (vec![f], vec![m])
            }
            Binning::Nested => {
                let by_r = group_by(&all, kr, |i| out[0][i] - 1);
                let mut f_breaks = Vec::with_capacity(usize::from(kr));
                for (r, group) in by_r.iter().enumerate() {
                    let parent = Some((r as u8 + 1, None));
                    f_breaks.push(if group.is_empty() {
                        Vec::new()
                    } else {
                        ctx.bin(Dimension::Frequency, kf, group, &cols[1], &mut out[1], parent)
                    });
                }
                let cells = usize::from(kr) * usize::from(kf);
                let by_rf = group_by(&all, cells as u8, |i| (out[0][i] - 1) * kf + (out[1][i] - 1));
                let mut m_breaks = Vec::with_capacity(cells);
                for (c, group) in by_rf.iter().enumerate() {
                    let parent = Some((c as u8 / kf + 1, Some(c as u8 % kf + 1)));
                    m_breaks.push(if group.is_empty() {
                        Vec::new()
                    } else {
                        ctx.bin(Dimension::Monetary, km, group, &cols[2], &mut out[2], parent)
                    });
                }
                (f_breaks, m_breaks)
            }
        };
        let [r, f, m] = out;
        let scores = r.into_iter().zip(f).zip(m).map(|((r, f), m)| RfmScore { r, f, m }).collect();
        Ok(RfmScores {
            scores,
            bins: self.options.bins,
            thresholds: Thresholds { recency, frequency, monetary },
            warnings,
        })
    }
}

const DIMS: [Dimension; 3] = [Dimension::Recency, Dimension::Frequency, Dimension::Monetary];

fn field(dim: Dimension) -> &'static str {
    match dim {
        Dimension::Recency => "recency",
        Dimension::Frequency => "frequency",
        Dimension::Monetary => "monetary",
    }
}

fn bins_field(dim: Dimension) -> &'static str {
    match dim {
        Dimension::Recency => "recency bins",
        Dimension::Frequency => "frequency bins",
        Dimension::Monetary => "monetary bins",
    }
}

fn check_breaks(dim: Dimension, k: u8, breaks: &[f64]) -> Result<()> {
    let name = match dim {
        Dimension::Recency => "recency breaks",
        Dimension::Frequency => "frequency breaks",
        Dimension::Monetary => "monetary breaks",
    };
    if breaks.len() + 1 != usize::from(k) {
        return Err(Error::invalid(name, breaks.len(), format!("{k} bins need {} breaks", k - 1)));
    }
    if let Some(b) = breaks.iter().find(|b| !b.is_finite()) {
        return Err(Error::invalid(name, b, "must be finite"));
    }
    if breaks.windows(2).any(|w| w[0] > w[1]) {
        return Err(Error::invalid(name, format!("{breaks:?}"), "must be ascending"));
    }
    Ok(())
}

/// Checks stored thresholds against the bins and scores they came with: each list as
/// [`ScoreMethod::Fixed`]'s breaks are checked, one list per dimension (independent binning)
/// or one per parent cell (nested), and a list empty exactly where no customer was binned.
#[cfg(feature = "serde")]
fn check_thresholds(bins: [u8; 3], t: &Thresholds, scores: &[RfmScore]) -> Result<()> {
    let [kr, kf, km] = bins;
    let shape =
        |what: &str| Error::invalid("thresholds", what.to_string(), "do not fit the scores");
    let list = |dim: Dimension, k: u8, breaks: &[f64], binned: bool| -> Result<()> {
        match (breaks.is_empty(), binned) {
            (true, false) => Ok(()),
            (true, true) if k == 1 => Ok(()),
            (true, true) => Err(shape("an empty list for binned customers")),
            (false, false) => Err(shape("breaks for a group with no customer")),
            (false, true) => check_breaks(dim, k, breaks),
        }
    };
    list(Dimension::Recency, kr, &t.recency, !scores.is_empty())?;
    let (nf, nm) = (t.frequency.len(), t.monetary.len());
    if nf == 1 && nm == 1 {
        list(Dimension::Frequency, kf, &t.frequency[0], !scores.is_empty())?;
        return list(Dimension::Monetary, km, &t.monetary[0], !scores.is_empty());
    }
    if nf != usize::from(kr) || nm != usize::from(kr) * usize::from(kf) {
        return Err(shape("a list count that is neither one nor one per parent cell"));
    }
    for (r, breaks) in (1..=kr).zip(&t.frequency) {
        list(Dimension::Frequency, kf, breaks, scores.iter().any(|s| s.r == r))?;
    }
    for (c, breaks) in t.monetary.iter().enumerate() {
        let (r, f) = (c / usize::from(kf) + 1, c % usize::from(kf) + 1);
        let binned = scores.iter().any(|s| usize::from(s.r) == r && usize::from(s.f) == f);
        list(Dimension::Monetary, km, breaks, binned)?;
    }
    Ok(())
}

/// Splits `items` into `groups` lists by `key` (a counting sort; order kept within a group).
fn group_by(items: &[u32], groups: u8, key: impl Fn(usize) -> u8) -> Vec<Vec<u32>> {
    let mut out: Vec<Vec<u32>> = vec![Vec::new(); usize::from(groups)];
    for &i in items {
        out[usize::from(key(i as usize))].push(i);
    }
    out
}

struct Ctx<'a> {
    method: &'a ScoreMethod,
    key_rank: Option<&'a [u32]>,
    warnings: &'a mut Vec<ScoreWarning>,
}

impl Ctx<'_> {
    /// Bins the values of `group` into `1..=k`, writing scores into `out` and returning the
    /// breaks.
    fn bin(
        &mut self,
        dim: Dimension,
        k: u8,
        group: &[u32],
        values: &[f64],
        out: &mut [u8],
        parent: Option<(u8, Option<u8>)>,
    ) -> Vec<f64> {
        let reversed = dim == Dimension::Recency;
        let score = |ascending: u8| if reversed { k + 1 - ascending } else { ascending };
        let mut counts = [0usize; MAX_BINS as usize];
        let breaks = match self.method {
            ScoreMethod::Fixed { recency, frequency, monetary } => {
                let b = match dim {
                    Dimension::Recency => recency,
                    Dimension::Frequency => frequency,
                    Dimension::Monetary => monetary,
                };
                for &i in group {
                    let a = ascending_bin(b, values[i as usize]);
                    counts[usize::from(a - 1)] += 1;
                    out[i as usize] = score(a);
                }
                b.clone()
            }
            ScoreMethod::Quantile => {
                let mut sorted: Vec<f64> = group.iter().map(|&i| values[i as usize]).collect();
                sorted.sort_unstable_by(f64::total_cmp);
                let b = quantile_breaks(&sorted, k);
                for &i in group {
                    let a = ascending_bin(&b, values[i as usize]);
                    counts[usize::from(a - 1)] += 1;
                    out[i as usize] = score(a);
                }
                b
            }
            ScoreMethod::RankFirst => {
                let mut order: Vec<u32> = group.to_vec();
                let key = |i: u32| self.key_rank.map_or(i, |r| r[i as usize]);
                order.sort_unstable_by(|&a, &b| {
                    values[a as usize].total_cmp(&values[b as usize]).then(key(a).cmp(&key(b)))
                });
                let n = order.len() as u64;
                let mut b = vec![f64::NAN; usize::from(k) - 1];
                for (rank, &i) in order.iter().enumerate() {
                    let a = if n <= 1 {
                        1
                    } else {
                        // ⌈rank·k/(n − 1)⌉ with the zero-based rank, at least 1.
                        (rank as u64 * u64::from(k)).div_ceil(n - 1).max(1) as u8
                    };
                    counts[usize::from(a - 1)] += 1;
                    out[i as usize] = score(a);
                    // The first value of each bin is the break below it.
                    for slot in b.iter_mut().take(usize::from(a) - 1) {
                        if slot.is_nan() {
                            *slot = values[i as usize];
                        }
                    }
                }
                // Bins above the last occupied one start at the largest value.
                let max = order.last().map_or(0.0, |&i| values[i as usize]);
                for slot in &mut b {
                    if slot.is_nan() {
                        *slot = max;
                    }
                }
                b
            }
        };
        self.warn(dim, group, values, &counts[..usize::from(k)], parent, score);
        breaks
    }

    /// Warns of a group whose values are all equal and of each empty bin (`counts` per
    /// ascending bin, `score` turning an ascending bin into the score shown).
    fn warn(
        &mut self,
        dim: Dimension,
        group: &[u32],
        values: &[f64],
        counts: &[usize],
        parent: Option<(u8, Option<u8>)>,
        score: impl Fn(u8) -> u8,
    ) {
        if group.len() > 1 {
            let first = values[group[0] as usize];
            if group.iter().all(|&i| values[i as usize] == first) {
                self.warnings.push(ScoreWarning::IdenticalValues { dimension: dim, parent });
            }
        }
        for (a, &c) in counts.iter().enumerate() {
            if c == 0 && !group.is_empty() {
                self.warnings.push(ScoreWarning::EmptyBin {
                    dimension: dim,
                    score: score(a as u8 + 1),
                    parent,
                });
            }
        }
    }
}

/// `1 + #{b ≤ v}`: the bin `[b_{i−1}, b_i)` holding `v`.
#[inline]
fn ascending_bin(breaks: &[f64], v: f64) -> u8 {
    1 + breaks.iter().filter(|&&b| b <= v).count() as u8
}

/// R `rfm`'s breaks: the inner type-7 quantiles of `sorted` at `i/k`, plus one.
fn quantile_breaks(sorted: &[f64], k: u8) -> Vec<f64> {
    let n = sorted.len();
    if n == 0 {
        return Vec::new();
    }
    (1..u64::from(k))
        .map(|i| {
            // Position (n − 1)·i/k, split exactly into whole and fractional parts.
            let num = (n as u64 - 1) * i;
            let lo = (num / u64::from(k)) as usize;
            let h = (num % u64::from(k)) as f64 / f64::from(k);
            // R's `quantile` (type 7) interpolates only between two different values: in
            // floating point `(1 − h)·a + h·a` is often not `a` (15.000000000000002 for
            // a = 15, h = 0.4), which would move customers at `a + 1` down a bin.
            let (a, b) = (sorted[lo], sorted.get(lo + 1).copied().unwrap_or(sorted[lo]));
            let q = if h == 0.0 || a == b { a } else { (1.0 - h) * a + h * b };
            q + 1.0
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_rfm_worked_example_breaks() {
        // reference rfm.md §2.1: {60 × 1, 20 × 2, 10 × 3, 10 × 5} → 2, 2, 2.4, 3.2.
        let mut v = vec![1.0; 60];
        v.extend([2.0; 20]);
        v.extend([3.0; 10]);
        v.extend([5.0; 10]);
        let b = quantile_breaks(&v, 5);
        let expected = [2.0, 2.0, 2.4, 3.2];
        assert!(b.iter().zip(expected).all(|(x, y)| (x - y).abs() < 1e-12), "{b:?}");
        assert_eq!([1.0, 2.0, 3.0, 5.0].map(|x| ascending_bin(&b, x)), [1, 3, 4, 5]);
    }

    #[test]
    fn bins_are_half_open_on_the_right() {
        assert_eq!(ascending_bin(&[2.0, 4.0], 1.999), 1);
        assert_eq!(ascending_bin(&[2.0, 4.0], 2.0), 2);
        assert_eq!(ascending_bin(&[2.0, 4.0], 4.0), 3);
        assert!(quantile_breaks(&[], 5).is_empty());
        assert_eq!(quantile_breaks(&[7.0], 3), [8.0, 8.0]);
        // Ties at a fractional position give the tied value exactly (R skips the
        // interpolation there): breaks 15, 15.4, 16, 16, so the 14s score 1 and the 15s 2.
        let ties = [14.0, 14.0, 14.0, 15.0, 15.0, 15.0, 15.0];
        let b = quantile_breaks(&ties, 5);
        assert_eq!(b[0], 15.0);
        assert_eq!(b[2..], [16.0, 16.0]);
        assert!((b[1] - 15.4).abs() < 1e-12, "{b:?}");
        assert_eq!([14.0, 15.0].map(|x| ascending_bin(&b, x)), [1, 2]);
        // Every tie of whole numbers up to 2,000 at every bin count.
        for a in 0..2_000 {
            let a = f64::from(a);
            for k in 2..=9u8 {
                for n in 2..=12 {
                    let v = vec![a; n];
                    assert!(quantile_breaks(&v, k).iter().all(|&q| q == a + 1.0), "{a} {k} {n}");
                }
            }
        }
    }

    #[test]
    fn code_and_display() {
        let s = RfmScore::new(5, 4, 3).unwrap();
        assert_eq!((s.code(), s.to_string()), (543, "543".to_string()));
    }
}
