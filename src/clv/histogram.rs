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
        let mut patterns = Vec::with_capacity(customers.len());
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
            patterns.push(Pattern {
                frequency: c.frequency as u32,
                recency: c.recency,
                t: c.t,
                count: 1,
            });
        }
        Ok(Histogram { patterns: compress(patterns), period })
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
    // turning −0 into +0), and integer keys sort faster than `total_cmp` chains.
    for p in &mut patterns {
        p.recency += 0.0;
        p.t += 0.0;
    }
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
                x: find(&xs, f64::from(p.frequency)),
                tx: find(&times, p.recency / scale),
                t: find(&times, p.t / scale),
                w: p.count as f64,
                xf: f64::from(p.frequency),
            })
            .collect();
        let weight = h.customers() as f64;
        Ok(Prepared { xs, times, rows, weight, scale })
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
