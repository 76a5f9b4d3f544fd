//! Segment maps: names for the cells of the score cube.

use std::fmt;
use std::ops::RangeInclusive;

use super::score::{RfmScore, RfmScores, MAX_BINS};
use crate::error::{Error, Result};

/// One named segment: the score cells it claims, as explicit codes and/or ranges.
///
/// # Example
///
/// ```
/// use loyalty::rfm::SegmentRule;
///
/// let vip = SegmentRule::new("VIP").codes(&[555, 554]).cells(4..=5, 5..=5, 5..=5);
/// assert_eq!(vip.name(), "VIP");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SegmentRule {
    name: String,
    /// Inclusive `(low, high)` score ranges for R, F and M.
    cells: Vec<[(u8, u8); 3]>,
}

impl SegmentRule {
    /// A segment with no cells yet.
    #[must_use]
    pub fn new(name: impl Into<String>) -> SegmentRule {
        SegmentRule { name: name.into(), cells: Vec::new() }
    }

    /// Claims the cells of three-digit codes `R·100 + F·10 + M` (checked by
    /// [`SegmentMap::new`]).
    #[must_use]
    pub fn codes(mut self, codes: &[u16]) -> SegmentRule {
        for &c in codes {
            // Codes above 999 keep an out-of-range digit and are rejected at build time.
            let d = |x: u16| u8::try_from(x).unwrap_or(u8::MAX);
            let (r, f, m) = (d(c / 100), d(c / 10 % 10), d(c % 10));
            self.cells.push([(r, r), (f, f), (m, m)]);
        }
        self
    }

    /// Claims every cell with R in `r`, F in `f` and M in `m` (inclusive).
    #[must_use]
    pub fn cells(
        mut self,
        r: RangeInclusive<u8>,
        f: RangeInclusive<u8>,
        m: RangeInclusive<u8>,
    ) -> SegmentRule {
        self.cells.push([(*r.start(), *r.end()), (*f.start(), *f.end()), (*m.start(), *m.end())]);
        self
    }

    /// The segment's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A segment of a [`SegmentMap`] (its position in the map's rules).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SegmentId(u8);

impl SegmentId {
    /// Position of the segment in the map's rule list.
    #[must_use]
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// Named segments covering a `k_r × k_f × k_m` score cube **exactly once**: building fails if
/// any code is claimed by no segment or by two, so every customer gets exactly one segment
/// and no rule is shadowed (the defects of first-match maps such as R `rfm`'s defaults).
///
/// # Example
///
/// ```
/// use loyalty::rfm::{RfmScore, SegmentMap, SegmentRule};
///
/// let map = SegmentMap::new([2, 2, 1], vec![
///     SegmentRule::new("active").cells(2..=2, 1..=2, 1..=1),
///     SegmentRule::new("lapsed").cells(1..=1, 1..=2, 1..=1),
/// ])?;
/// let id = map.segment(RfmScore::new(2, 1, 1)?)?;
/// assert_eq!(map.name(id), "active");
///
/// // 211 claimed twice, 111 and 121 by nobody:
/// let err = SegmentMap::new([2, 2, 1], vec![
///     SegmentRule::new("a").cells(2..=2, 1..=2, 1..=1),
///     SegmentRule::new("b").codes(&[211]),
/// ]);
/// assert!(err.is_err());
/// # Ok::<(), loyalty::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "SegmentMapRepr", into = "SegmentMapRepr")
)]
pub struct SegmentMap {
    bins: [u8; 3],
    rules: Vec<SegmentRule>,
    /// Segment index per cell, at `((r − 1)·k_f + (f − 1))·k_m + (m − 1)`.
    table: Vec<u8>,
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct SegmentMapRepr {
    #[serde(default = "crate::version::v1")]
    version: u32,
    bins: [u8; 3],
    rules: Vec<SegmentRule>,
}

#[cfg(feature = "serde")]
impl TryFrom<SegmentMapRepr> for SegmentMap {
    type Error = Error;
    fn try_from(r: SegmentMapRepr) -> Result<SegmentMap> {
        crate::version::check("rfm segment map", r.version, 2)?;
        SegmentMap::new(r.bins, r.rules)
    }
}

#[cfg(feature = "serde")]
impl From<SegmentMap> for SegmentMapRepr {
    fn from(m: SegmentMap) -> SegmentMapRepr {
        SegmentMapRepr { version: 2, bins: m.bins, rules: m.rules }
    }
}

const UNCLAIMED: u8 = u8::MAX;

impl SegmentMap {
    /// A map over `bins = [k_r, k_f, k_m]` from `rules`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when a bin count is
    /// outside `1..=9`; there are no rules or more than 254; a name is empty or repeated; a
    /// rule has no cells; a range is reversed or leaves the cube; a code is claimed twice
    /// (naming both segments); or a code is claimed by none.
    pub fn new(bins: [u8; 3], rules: Vec<SegmentRule>) -> Result<SegmentMap> {
        if let Some(k) = bins.iter().find(|k| !(1..=MAX_BINS).contains(k)) {
            return Err(Error::invalid("segment map bins", k, "must be in 1..=9"));
        }
        if rules.is_empty() || rules.len() >= usize::from(UNCLAIMED) {
            return Err(Error::invalid("segment rules", rules.len(), "need 1 to 254 segments"));
        }
        let [kr, kf, km] = bins.map(usize::from);
        let mut table = vec![UNCLAIMED; kr * kf * km];
        for (s, rule) in rules.iter().enumerate() {
            if rule.name.trim().is_empty() {
                return Err(Error::invalid("segment name", "", "must not be empty"));
            }
            if rules[..s].iter().any(|r| r.name == rule.name) {
                return Err(Error::invalid("segment name", &rule.name, "is used twice"));
            }
            if rule.cells.is_empty() {
                return Err(Error::invalid("segment", &rule.name, "claims no codes"));
            }
            for cell in &rule.cells {
                for (&(lo, hi), k) in cell.iter().zip(bins) {
                    if lo < 1 || lo > hi || hi > k {
                        return Err(Error::invalid(
                            "segment cells",
                            format!("{}: {lo}..={hi}", rule.name),
                            format!("ranges must lie within 1..={k} and not be reversed"),
                        ));
                    }
                }
                let [(r0, r1), (f0, f1), (m0, m1)] = *cell;
                for r in r0..=r1 {
                    for f in f0..=f1 {
                        for m in m0..=m1 {
                            let at = cell_index(bins, r, f, m);
                            let owner = table[at];
                            if owner != UNCLAIMED && usize::from(owner) != s {
                                return Err(Error::invalid(
                                    "segment map",
                                    format!("{r}{f}{m}"),
                                    format!(
                                        "code claimed by both `{}` and `{}`",
                                        rules[usize::from(owner)].name,
                                        rule.name
                                    ),
                                ));
                            }
                            if owner == UNCLAIMED {
                                table[at] = s as u8;
                            } else {
                                return Err(Error::invalid(
                                    "segment map",
                                    format!("{r}{f}{m}"),
                                    format!("code claimed twice by `{}`", rule.name),
                                ));
                            }
                        }
                    }
                }
            }
        }
        if let Some(at) = table.iter().position(|&s| s == UNCLAIMED) {
            let (r, f, m) = (at / (kf * km) + 1, at / km % kf + 1, at % km + 1);
            return Err(Error::invalid(
                "segment map",
                format!("{r}{f}{m}"),
                "code claimed by no segment",
            ));
        }
        Ok(SegmentMap { bins, rules, table })
    }

    /// The 11-segment map over 5 × 5 × 5 (all 125 codes, as published by the Squeezely and
    /// Spotler RFM apps): Champions, Loyal, Potential Loyalist, New Customers, Promising, Need
    /// Attention, About To Sleep, At Risk, Cannot Lose Them, Hibernating, Lost.
    #[must_use]
    pub fn eleven_segments() -> SegmentMap {
        let rules: Vec<SegmentRule> =
            ELEVEN.iter().map(|(name, codes)| SegmentRule::new(*name).codes(codes)).collect();
        // The table is a verified exact partition (unit tests).
        SegmentMap::new([5, 5, 5], rules).unwrap_or_else(|e| unreachable!("preset: {e}"))
    }

    /// The 10-segment map over R and F (5 × 5, M ignored: every M from 1 to 5 maps alike),
    /// matched on the whole (R, F) pair rather than the unanchored regular expressions it is
    /// usually copied as.
    #[must_use]
    pub fn rf_ten_segments() -> SegmentMap {
        let all = 1..=5;
        let rule = |name: &str, cells: &[(RangeInclusive<u8>, RangeInclusive<u8>)]| {
            cells.iter().fold(SegmentRule::new(name), |s, (r, f)| {
                s.cells(r.clone(), f.clone(), all.clone())
            })
        };
        let rules = vec![
            rule("Hibernating", &[(1..=2, 1..=2)]),
            rule("At Risk", &[(1..=2, 3..=4)]),
            rule("Can't Lose", &[(1..=2, 5..=5)]),
            rule("About To Sleep", &[(3..=3, 1..=2)]),
            rule("Need Attention", &[(3..=3, 3..=3)]),
            rule("Loyal Customers", &[(3..=4, 4..=5)]),
            rule("Promising", &[(4..=4, 1..=1)]),
            rule("New Customers", &[(5..=5, 1..=1)]),
            rule("Potential Loyalists", &[(4..=5, 2..=3)]),
            rule("Champions", &[(5..=5, 4..=5)]),
        ];
        SegmentMap::new([5, 5, 5], rules).unwrap_or_else(|e| unreachable!("preset: {e}"))
    }

    /// Bins per dimension `[k_r, k_f, k_m]` the map covers.
    #[must_use]
    pub fn bins(&self) -> [u8; 3] {
        self.bins
    }

    /// The rules, in order ([`SegmentId::index`] indexes them).
    #[must_use]
    pub fn rules(&self) -> &[SegmentRule] {
        &self.rules
    }

    /// Number of segments.
    #[must_use]
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Always false: a map has at least one segment.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The name of a segment of this map (an id from another map with more segments gives
    /// `""`).
    #[must_use]
    pub fn name(&self, id: SegmentId) -> &str {
        self.rules.get(id.index()).map_or("", |r| r.name.as_str())
    }

    /// The segment of one score.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when a score exceeds the
    /// map's bins.
    pub fn segment(&self, score: RfmScore) -> Result<SegmentId> {
        let [kr, kf, km] = self.bins;
        if score.r() > kr || score.f() > kf || score.m() > km {
            return Err(Error::invalid(
                "score",
                score,
                format!("outside the map's {kr}×{kf}×{km} grid"),
            ));
        }
        Ok(SegmentId(self.table[cell_index(self.bins, score.r(), score.f(), score.m())]))
    }

    /// The segments of a batch of scores, in order.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when the scores were made
    /// with other bin counts than the map's.
    pub fn assign(&self, scores: &RfmScores) -> Result<Vec<SegmentId>> {
        if scores.bins() != self.bins {
            return Err(Error::invalid(
                "scores",
                format!("{:?}", scores.bins()),
                format!("bins differ from the segment map's {:?}", self.bins),
            ));
        }
        scores.scores().iter().map(|&s| self.segment(s)).collect()
    }
}

impl fmt::Display for SegmentMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.rules.iter().map(|r| r.name.as_str()).collect();
        write!(f, "{}×{}×{}: {}", self.bins[0], self.bins[1], self.bins[2], names.join(", "))
    }
}

#[inline]
fn cell_index(bins: [u8; 3], r: u8, f: u8, m: u8) -> usize {
    let [_, kf, km] = bins.map(usize::from);
    (usize::from(r - 1) * kf + usize::from(f - 1)) * km + usize::from(m - 1)
}

/// The 11-segment map, verbatim from the published code lists.
const ELEVEN: [(&str, &[u16]); 11] = [
    ("Champions", &[555, 554, 545, 544, 455, 454, 445]),
    ("Loyal", &[543, 444, 435, 355, 354, 345, 344, 335]),
    (
        "Potential Loyalist",
        &[
            553, 552, 551, 542, 541, 533, 532, 531, 453, 452, 451, 442, 441, 433, 432, 431, 423,
            353, 352, 351, 342, 341, 333, 323,
        ],
    ),
    ("New Customers", &[512, 511, 422, 421, 412, 411, 311]),
    (
        "Promising",
        &[525, 524, 523, 522, 521, 515, 514, 513, 425, 424, 415, 414, 413, 315, 314, 313],
    ),
    ("Need Attention", &[535, 534, 443, 434, 343, 334, 325, 324]),
    ("About To Sleep", &[331, 321, 312, 251, 241, 231, 221, 213]),
    (
        "At Risk",
        &[
            255, 254, 253, 252, 245, 244, 243, 242, 235, 234, 225, 224, 153, 152, 145, 143, 142,
            135, 134, 133, 125, 124,
        ],
    ),
    ("Cannot Lose Them", &[215, 214, 155, 154, 144, 115, 114, 113]),
    ("Hibernating", &[332, 322, 233, 232, 223, 222, 212, 211, 132, 123, 122]),
    ("Lost", &[151, 141, 131, 121, 112, 111]),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eleven_segment_cell_counts_match_the_reference() {
        let map = SegmentMap::eleven_segments();
        let mut counts = vec![0; map.len()];
        for &s in &map.table {
            counts[usize::from(s)] += 1;
        }
        assert_eq!(counts, [7, 8, 24, 7, 16, 8, 8, 22, 8, 11, 6]);
        assert_eq!(ELEVEN.iter().map(|(_, c)| c.len()).sum::<usize>(), 125);
    }

    #[test]
    fn rf_map_cell_counts_match_the_reference() {
        let map = SegmentMap::rf_ten_segments();
        let mut counts = vec![0; map.len()];
        for &s in &map.table {
            counts[usize::from(s)] += 1;
        }
        // Five M values per (R, F) cell.
        assert_eq!(counts, [4, 4, 2, 2, 1, 4, 1, 1, 4, 2].map(|c| c * 5));
    }
}
