//! The compressed input of the transaction-model fits: identical `(x, t_x, T)` rows counted
//! once (CLVTools' "compressed CBS").

use crate::error::{Error, Result};

use super::purchase::check_period;
use super::Customer;
use crate::rfm::Period;

/// One distinct `(frequency, recency, T)` pattern and how many customers share it.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Pattern {
    /// Number of repeat purchases `x`.
    pub frequency: u32,
    /// Time from first to last purchase `t_x`, in periods of the histogram.
    pub recency: f64,
    /// Time from first purchase to the end of the calibration window `T`, in periods of the
    /// histogram.
    pub t: f64,
    /// Number of customers with this pattern (at least 1).
    pub count: u64,
}

/// A histogram of identical `(x, t_x, T)` rows with counts: the input of every
/// transaction-model fit, in the [`Period`] its times are counted in (which the fitted model
/// keeps).
///
/// Patterns are kept sorted by `(frequency, recency, T)` and unique, so equal data give equal
/// histograms whatever the input order. Histograms built on different partitions of a customer
/// base [`merge`](Histogram::merge) into the histogram of the whole base, and fitting the merged
/// histogram equals fitting all rows at once.
///
/// # Example
///
/// ```
/// use loyalty::clv::{Customer, Histogram};
/// use loyalty::rfm::Period;
///
/// let day = Period::DAY;
/// let day1 = Histogram::from_customers(&[Customer::new(0.0, 0.0, 10.0, day)?])?;
/// let day2 = Histogram::from_customers(&[
///     Customer::new(0.0, 0.0, 10.0, day)?,
///     Customer::new(2.0, 4.0, 10.0, day)?,
/// ])?;
/// let all = day1.merge(&day2)?;
/// assert_eq!(all.patterns().len(), 2);
/// assert_eq!(all.customers(), 3);
/// assert_eq!(all.period(), day);
/// // Histograms in different periods do not merge.
/// let weekly = Histogram::from_customers(&[Customer::new(0.0, 0.0, 2.0, Period::WEEK)?])?;
/// assert!(all.merge(&weekly).is_err());
/// # Ok::<(), loyalty::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "HistogramRepr", into = "HistogramRepr")
)]
pub struct Histogram {
    patterns: Vec<Pattern>,
    period: Period,
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct HistogramRepr {
    #[serde(default = "crate::version::v1")]
    version: u32,
    patterns: Vec<Pattern>,
    period: Period,
}

#[cfg(feature = "serde")]
impl TryFrom<HistogramRepr> for Histogram {
    type Error = Error;
    fn try_from(r: HistogramRepr) -> Result<Histogram> {
        crate::version::check("clv histogram", r.version, 2)?;
        Histogram::from_patterns(r.patterns, r.period)
    }
}

#[cfg(feature = "serde")]
impl From<Histogram> for HistogramRepr {
    fn from(h: Histogram) -> HistogramRepr {
        HistogramRepr { version: 2, patterns: h.patterns, period: h.period }
    }
}

impl Histogram {
    /// Counts the `(x, t_x, T)` patterns of `customers` (their monetary values are ignored),
    /// in their period.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidRecord`](crate::ErrorKind::InvalidRecord) naming the first bad row
    /// (see [`Customer::validate`]) or the first row in another period than the first row's;
    /// [`ErrorKind::EmptyInput`](crate::ErrorKind::EmptyInput) for an empty slice.
    pub fn from_customers(customers: &[Customer]) -> Result<Histogram> {
        let Some(first) = customers.first() else {
            return Err(Error::empty("customers"));
        };
        let period = first.period;
        for (i, c) in customers.iter().enumerate() {
            c.check_for_fit().map_err(|p| p.at(i))?;
            if c.period != period {
                return Err(Error::invalid_record(
                    i,
                    "period",
                    c.period,
                    format!("differs from the first row's ({period})"),
                ));
            }
        }
        let pattern = |c: &Customer| Pattern {
            frequency: c.frequency as u32,
            recency: c.recency,
            t: c.t,
            count: 1,
        };
        // Ranked straight from the customers, one key each, without a pattern per customer.
        let patterns = compress_keys(customers.iter().map(pattern))
            .unwrap_or_else(|| compress(customers.iter().map(pattern).collect()));
        Ok(Histogram { patterns, period })
    }

    /// A histogram from patterns with times in `period`, which may repeat (their counts add up) and come in any order.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidRecord`](crate::ErrorKind::InvalidRecord) for a pattern with a zero
    /// count or invalid times (as [`Customer::validate`]).
    pub fn from_patterns(patterns: Vec<Pattern>, period: Period) -> Result<Histogram> {
        for (i, p) in patterns.iter().enumerate() {
            if p.count == 0 {
                return Err(Error::invalid_record(i, "count", 0, "must be at least 1"));
            }
            Customer {
                frequency: f64::from(p.frequency),
                recency: p.recency,
                t: p.t,
                monetary_value: 0.0,
                period,
            }
            .check_for_fit()
            .map_err(|e| e.at(i))?;
        }
        Ok(Histogram { patterns: compress(patterns), period })
    }

    /// The period the patterns' times are counted in.
    #[must_use]
    pub fn period(&self) -> Period {
        self.period
    }

    /// The distinct patterns, sorted by `(frequency, recency, T)`.
    #[must_use]
    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// The number of customers counted.
    #[must_use]
    pub fn customers(&self) -> u64 {
        self.patterns.iter().map(|p| p.count).fold(0, u64::saturating_add)
    }

    /// `true` when no customer is counted.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The histogram of both inputs together.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming `period` when the
    /// two are in different periods.
    pub fn merge(&self, other: &Histogram) -> Result<Histogram> {
        check_period(self.period, other.period)?;
        let mut all = Vec::with_capacity(self.patterns.len() + other.patterns.len());
        all.extend_from_slice(&self.patterns);
        all.extend_from_slice(&other.patterns);
        Ok(Histogram { patterns: compress(all), period: self.period })
    }
}

fn key_cmp(a: &Pattern, b: &Pattern) -> std::cmp::Ordering {
    a.frequency.cmp(&b.frequency).then(a.recency.total_cmp(&b.recency)).then(a.t.total_cmp(&b.t))
}

fn compress(mut patterns: Vec<Pattern>) -> Vec<Pattern> {
    // Validated times are non-negative, where the bit patterns order like the values (after
    // turning −0 into +0).
    for p in &mut patterns {
        p.recency += 0.0;
        p.t += 0.0;
    }
    match compress_by_rank(&patterns) {
        Some(out) => out,
        None => compress_by_sort(patterns),
    }
}

/// [`compress`] by a comparison sort of the patterns.
fn compress_by_sort(mut patterns: Vec<Pattern>) -> Vec<Pattern> {
    // Integer keys sort faster than `total_cmp` chains.
    patterns.sort_unstable_by_key(|p| (p.frequency, p.recency.to_bits(), p.t.to_bits()));
    let mut out: Vec<Pattern> = Vec::with_capacity(patterns.len());
    for p in patterns {
        match out.last_mut() {
            Some(last) if key_cmp(last, &p).is_eq() => {
                last.count = last.count.saturating_add(p.count);
            }
            _ => out.push(p),
        }
    }
    out
}

/// [`compress`] where the times take few distinct values (a summary's times are whole days or
/// periods, a few hundred of them): each time is replaced by its rank among the distinct ones,
/// so a pattern becomes one integer `(x, rank of t_x, rank of T)` that a radix sort orders in
/// a few linear passes, in the same order as the values. `None` (the caller sorts the
/// patterns) when the times or frequencies do not fit the key.
fn compress_by_rank(patterns: &[Pattern]) -> Option<Vec<Pattern>> {
    compress_keys(patterns.iter().copied())
}

/// [`compress_by_rank`] of patterns given by an iterator (walked three times).
fn compress_keys<I>(patterns: I) -> Option<Vec<Pattern>>
where
    I: Iterator<Item = Pattern> + Clone,
{
    // Validated times are non-negative; + 0.0 turns −0 into +0, whose bits order the same.
    let times = TimeRanks::new(patterns.clone().flat_map(|p| [p.recency + 0.0, p.t + 0.0]))?;
    let bits = u64::BITS - (times.values.len().max(2) as u64 - 1).leading_zeros();
    let max_x = patterns.clone().map(|p| p.frequency).max()?;
    let x_bits = u64::BITS - u64::from(max_x).leading_zeros();
    if 2 * bits + x_bits > 64 {
        return None;
    }
    let mut keyed: Vec<(u64, u64)> = Vec::with_capacity(patterns.size_hint().0);
    for p in patterns {
        let (r, t) = (times.rank(p.recency + 0.0)?, times.rank(p.t + 0.0)?);
        keyed.push(((u64::from(p.frequency) << (2 * bits)) | (r << bits) | t, p.count));
    }
    radix_sort(&mut keyed, 2 * bits + x_bits);
    let mask = (1u64 << bits) - 1;
    let mut out: Vec<Pattern> = Vec::new();
    let mut last_key = None;
    for (key, count) in keyed {
        if last_key == Some(key) {
            if let Some(last) = out.last_mut() {
                last.count = last.count.saturating_add(count);
            }
            continue;
        }
        last_key = Some(key);
        out.push(Pattern {
            frequency: u32::try_from(key >> (2 * bits)).ok()?,
            recency: *times.values.get(usize::try_from((key >> bits) & mask).ok()?)?,
            t: *times.values.get(usize::try_from(key & mask).ok()?)?,
            count,
        });
    }
    Some(out)
}

/// Least-significant-digit radix sort of `(key, payload)` on the low `bits` bits of the key,
/// 8 bits a pass (stable, so equal keys keep their order).
fn radix_sort(v: &mut Vec<(u64, u64)>, bits: u32) {
    let mut buf = vec![(0u64, 0u64); v.len()];
    let mut shift = 0;
    while shift < bits {
        let mut starts = [0usize; 257];
        for &(k, _) in v.iter() {
            starts[((k >> shift) & 0xff) as usize + 1] += 1;
        }
        for i in 1..257 {
            starts[i] += starts[i - 1];
        }
        for &item in v.iter() {
            let d = ((item.0 >> shift) & 0xff) as usize;
            buf[starts[d]] = item;
            starts[d] += 1;
        }
        std::mem::swap(v, &mut buf);
        shift += 8;
    }
}

/// The distinct values of a set of non-negative times and each one's rank among them, found
/// with a small open-addressing table keyed by the values' bits. Gives up (`None`) beyond
/// 2^16 distinct values, or when the table's probes pass a linear budget, as keys chosen to
/// collide would make them: the caller then sorts, so the worst case stays `O(n log n)`.
struct TimeRanks {
    /// Distinct values, ascending.
    values: Vec<f64>,
    /// Open-addressing table of `(bits + 1, rank)`, 0 marking an empty slot.
    slots: Vec<(u64, u32)>,
    shift: u32,
}

impl TimeRanks {
    const MAX_DISTINCT: usize = 1 << 16;

    fn new(times: impl Iterator<Item = f64>) -> Option<TimeRanks> {
        // Grown as values arrive, at most half full, so a few hundred distinct values stay
        // in a few kilobytes.
        let mut ranks = TimeRanks { values: Vec::new(), slots: vec![(0, 0); 1024], shift: 54 };
        let (mut probes, mut seen) = (0usize, 0usize);
        for v in times {
            seen += 1;
            let key = v.to_bits().wrapping_add(1);
            let (found, steps) = ranks.find(key)?;
            probes += steps;
            if probes > 8 * seen + 4096 {
                return None;
            }
            let slot = ranks.slots.get_mut(found)?;
            if slot.0 == 0 {
                *slot = (key, 0);
                ranks.values.push(v);
                if ranks.values.len() > Self::MAX_DISTINCT {
                    return None;
                }
                if 2 * ranks.values.len() > ranks.slots.len() {
                    ranks.rehash(ranks.slots.len() * 2)?;
                }
            }
        }
        ranks.values.sort_unstable_by_key(|v| v.to_bits());
        for rank in 0..ranks.values.len() {
            let key = ranks.values.get(rank)?.to_bits().wrapping_add(1);
            let (i, _) = ranks.find(key)?;
            *ranks.slots.get_mut(i)? = (key, u32::try_from(rank).ok()?);
        }
        Some(ranks)
    }

    /// The slot holding `key`, or the empty slot where it goes, with the probes it took.
    fn find(&self, key: u64) -> Option<(usize, usize)> {
        let mask = self.slots.len() - 1;
        let mut i = self.slot(key);
        for steps in 1..=self.slots.len() {
            let slot = self.slots.get(i)?;
            if slot.0 == key || slot.0 == 0 {
                return Some((i, steps));
            }
            i = (i + 1) & mask;
        }
        None
    }

    /// Moves the keys into a table of `size` slots (a power of two).
    fn rehash(&mut self, size: usize) -> Option<()> {
        let old = std::mem::replace(&mut self.slots, vec![(0, 0); size]);
        self.shift = 64 - size.trailing_zeros();
        for (key, rank) in old {
            if key != 0 {
                let (i, _) = self.find(key)?;
                *self.slots.get_mut(i)? = (key, rank);
            }
        }
        Some(())
    }

    fn slot(&self, key: u64) -> usize {
        // Fibonacci hashing: the top bits of the product mix every bit of the key.
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    /// The rank of a value that was among the times.
    fn rank(&self, v: f64) -> Option<u64> {
        let key = v.to_bits().wrapping_add(1);
        let (i, _) = self.find(key)?;
        let slot = self.slots.get(i)?;
        (slot.0 == key).then_some(u64::from(slot.1))
    }
}

/// A histogram laid out for fast likelihood evaluation: distinct frequencies and distinct
/// times are tabulated once, so the per-evaluation cost of `ln Γ` and `ln(α + t)` grows with
/// the number of distinct values, not with the number of patterns.
#[derive(Clone, Debug)]
pub(crate) struct Prepared {
    /// Distinct frequencies, ascending.
    pub xs: Vec<f64>,
    /// Distinct times (recency and T), ascending, divided by `scale`.
    pub times: Vec<f64>,
    /// One row per pattern.
    pub rows: Vec<Row>,
    /// Sum of counts.
    pub weight: f64,
    /// Time unit of the scaled data (the largest T), so parameters stay near 1.
    pub scale: f64,
}

/// Indices into [`Prepared`]'s tables.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Row {
    pub x: u32,
    pub tx: u32,
    pub t: u32,
    pub w: f64,
    /// The unscaled frequency (duplicated to avoid a lookup in hot loops).
    pub xf: f64,
}

impl Prepared {
    /// # Errors
    ///
    /// Empty histogram; every T zero; every frequency zero (nothing identifies the purchase
    /// rate or dropout).
    pub(crate) fn new(h: &Histogram) -> Result<Prepared> {
        if h.is_empty() {
            return Err(Error::empty("histogram"));
        }
        if h.patterns.iter().all(|p| p.frequency == 0) {
            return Err(Error::invalid(
                "frequency",
                0,
                "every customer has frequency 0: repeat purchases are needed to fit the model",
            ));
        }
        let scale = h.patterns.iter().fold(0.0_f64, |m, p| m.max(p.t));
        if scale.is_nan() || scale <= 0.0 {
            return Err(Error::invalid("T", 0, "every customer has T = 0"));
        }
        let mut xs: Vec<f64> = h.patterns.iter().map(|p| f64::from(p.frequency)).collect();
        xs.dedup();
        let (times, rows) = match Self::rows_by_rank(h, &xs, scale) {
            Some(found) => found,
            None => Self::rows_by_search(h, &xs, scale),
        };
        let weight = h.customers() as f64;
        Ok(Prepared { xs, times, rows, weight, scale })
    }

    /// Every `step`-th row, its weight multiplied by `step` (a systematic sample of the
    /// patterns, which come sorted by frequency and times, so neighbours are alike), with the
    /// same tables of frequencies and times: a cheaper likelihood whose optimum lies near the
    /// whole data's, for a first pass of the optimiser.
    pub(crate) fn sample(&self, step: usize) -> Prepared {
        let rows: Vec<Row> = self
            .rows
            .iter()
            .step_by(step.max(1))
            .map(|r| Row { w: r.w * step as f64, ..*r })
            .collect();
        let weight = rows.iter().map(|r| r.w).sum();
        Prepared { xs: self.xs.clone(), times: self.times.clone(), rows, weight, scale: self.scale }
    }

    /// The distinct scaled times and the rows, with each time's index found by binary search.
    fn rows_by_search(h: &Histogram, xs: &[f64], scale: f64) -> (Vec<f64>, Vec<Row>) {
        let mut times: Vec<f64> =
            h.patterns.iter().flat_map(|p| [p.recency / scale, p.t / scale]).collect();
        // Non-negative: bit order is value order.
        times.sort_unstable_by_key(|v| v.to_bits());
        times.dedup();
        let find = |v: &[f64], x: f64| v.partition_point(|a| *a < x) as u32;
        let rows = h
            .patterns
            .iter()
            .map(|p| Row {
                x: find(xs, f64::from(p.frequency)),
                tx: find(&times, p.recency / scale),
                t: find(&times, p.t / scale),
                w: p.count as f64,
                xf: f64::from(p.frequency),
            })
            .collect();
        (times, rows)
    }

    /// As [`Prepared::rows_by_search`], with the indices from [`TimeRanks`] (the same result:
    /// dividing by the scale keeps the order, and times it makes equal share an index).
    fn rows_by_rank(h: &Histogram, xs: &[f64], scale: f64) -> Option<(Vec<f64>, Vec<Row>)> {
        let ranks = TimeRanks::new(h.patterns.iter().flat_map(|p| [p.recency, p.t]))?;
        let mut times: Vec<f64> = Vec::with_capacity(ranks.values.len());
        // The index in `times` of each distinct unscaled time.
        let mut index = Vec::with_capacity(ranks.values.len());
        for v in &ranks.values {
            let u = v / scale;
            if times.last() != Some(&u) {
                times.push(u);
            }
            index.push(u32::try_from(times.len() - 1).ok()?);
        }
        let mut rows = Vec::with_capacity(h.patterns.len());
        let mut x = 0u32;
        for p in &h.patterns {
            let xf = f64::from(p.frequency);
            // The patterns are sorted by frequency, so its index only moves forward.
            while *xs.get(x as usize)? < xf {
                x += 1;
            }
            let at = |v: f64| -> Option<u32> {
                index.get(usize::try_from(ranks.rank(v)?).ok()?).copied()
            };
            rows.push(Row { x, tx: at(p.recency)?, t: at(p.t)?, w: p.count as f64, xf });
        }
        Some((times, rows))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compresses_and_is_order_independent() {
        let c = |x: f64, tx: f64, t: f64| Customer::new(x, tx, t, Period::DAY).unwrap();
        let a = vec![c(1.0, 2.0, 5.0), c(0.0, 0.0, 5.0), c(1.0, 2.0, 5.0), c(0.0, 0.0, 3.0)];
        let mut b = a.clone();
        b.reverse();
        let ha = Histogram::from_customers(&a).unwrap();
        assert_eq!(ha, Histogram::from_customers(&b).unwrap());
        assert_eq!(ha.patterns().len(), 3);
        assert_eq!(ha.customers(), 4);
        assert_eq!(ha.patterns()[2], Pattern { frequency: 1, recency: 2.0, t: 5.0, count: 2 });
    }

    /// The rank path of `compress` gives what sorting the patterns gives, with few and with
    /// many distinct times, repeated patterns and ties on every key; and keys chosen to collide
    /// in its table make it give up rather than slow down.
    #[test]
    fn rank_path_equals_sort_path() {
        let mut state = 7u64;
        let mut next = move || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            state >> 33
        };
        for distinct in [1u64, 5, 300, 100_000] {
            let patterns: Vec<Pattern> = (0..5000)
                .map(|_| {
                    let t = (next() % distinct) as f64 / 7.0 + 1.0;
                    let recency = t * ((next() % 8) as f64 / 8.0);
                    let frequency = (next() % 40) as u32;
                    Pattern { frequency, recency, t, count: 1 + next() % 3 }
                })
                .collect();
            let by_rank = compress_by_rank(&patterns).expect("few enough distinct times");
            let by_sort = compress_by_sort(patterns.clone());
            assert_eq!(by_rank, by_sort, "{distinct} distinct times");
            if distinct <= 300 {
                assert!(by_sort.len() < patterns.len(), "repeated patterns merge");
            }
        }
        // Times whose keys the multiplier sends to small products hash to slot 0 at every
        // table size: the probe budget gives up, and the sort gives the answer.
        let c = 0x9E37_79B9_7F4A_7C15_u64;
        let mut inv = c;
        for _ in 0..6 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(c.wrapping_mul(inv)));
        }
        assert_eq!(c.wrapping_mul(inv), 1);
        let colliding: Vec<Pattern> = (1..200_000u64)
            .map(|i| f64::from_bits(i.wrapping_mul(inv).wrapping_sub(1)))
            .filter(|t| t.is_finite() && *t > 0.0)
            .take(5000)
            .map(|t| Pattern { frequency: 1, recency: t, t, count: 1 })
            .collect();
        assert_eq!(colliding.len(), 5000);
        assert!(TimeRanks::new(colliding.iter().map(|p| p.t)).is_none());
        assert_eq!(compress(colliding.clone()), compress_by_sort(colliding));
    }

    #[test]
    fn merge_equals_whole() {
        let c = |x: f64, tx: f64, t: f64| Customer::new(x, tx, t, Period::DAY).unwrap();
        let all = vec![c(1.0, 2.0, 5.0), c(0.0, 0.0, 5.0), c(1.0, 2.0, 5.0), c(3.0, 4.0, 4.0)];
        let whole = Histogram::from_customers(&all).unwrap();
        let left = Histogram::from_customers(&all[..2]).unwrap();
        let right = Histogram::from_customers(&all[2..]).unwrap();
        assert_eq!(left.merge(&right).unwrap(), whole);
    }

    #[test]
    fn zero_count_pattern_is_refused() {
        let p = Pattern { frequency: 1, recency: 1.0, t: 2.0, count: 0 };
        assert!(Histogram::from_patterns(vec![p], Period::DAY).is_err());
        let bad = Pattern { frequency: 1, recency: 3.0, t: 2.0, count: 1 };
        assert!(Histogram::from_patterns(vec![bad], Period::DAY).is_err());
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serde_round_trip_and_validation() {
        let h = Histogram::from_customers(&[
            Customer::new(2.0, 30.43, 38.86, Period::WEEK).unwrap(),
            Customer::new(0.0, 0.0, 38.86, Period::WEEK).unwrap(),
        ])
        .unwrap();
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(serde_json::from_str::<Histogram>(&json).unwrap(), h);
        let bad = r#"{"patterns":[{"frequency":0,"recency":1.0,"t":2.0,"count":1}],"period":{"unit":"Day","multiple":1}}"#;
        assert!(serde_json::from_str::<Histogram>(bad).is_err());
    }
}
