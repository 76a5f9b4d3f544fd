//! Goodness-of-fit checks on the calibration data, as data a host can plot: how many
//! customers made 0, 1, 2, ... repeat purchases against the model's expectation (lifetimes'
//! `plot_period_transactions`), and the frequency/recency matrices of expected purchases and
//! P(alive) (`plot_frequency_recency_matrix`, `plot_probability_alive_matrix`).

use crate::error::{Error, Result};
use crate::rfm::Summary;

use super::{ClvModel, Customer, Horizon, PurchaseModel, Span};

/// Customers with a number of repeat purchases in the calibration window: actual and expected.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RepeatCount {
    /// The number of repeat purchases (the last bin: this many or more).
    pub repeat_purchases: u32,
    /// Whether the bin counts `repeat_purchases` or more.
    pub or_more: bool,
    /// Customers of the summary in the bin.
    pub actual: u64,
    /// Customers the model expects in the bin: `Σ_i P(X(T_i) = x)` over the summary's
    /// customers, each observed for its own `T_i`.
    pub expected: f64,
}

/// Actual and expected numbers of customers with 0, 1, ..., `last − 1` and `last` or more
/// repeat purchases in `summary` (for example `last = 6` gives 0..5 and 6+).
///
/// lifetimes' `plot_period_transactions` compares the actual counts with those of data
/// simulated from the model; the exact expectation is used here, as Fader, Hardie & Lee (2005)
/// do for their histogram of repeat transactions.
///
/// # Errors
///
/// [`ErrorKind::EmptyInput`](crate::ErrorKind::EmptyInput) for an empty summary;
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming `period` when the summary
/// is not in the model's period, or `last` when it is 0; numerical errors of the model.
pub fn period_transactions<K>(
    model: &ClvModel,
    summary: &Summary<K>,
    last: u32,
) -> Result<Vec<RepeatCount>> {
    if last == 0 {
        return Err(Error::invalid("last", 0, "must be at least 1"));
    }
    let customers = model.customers(summary)?;
    if customers.is_empty() {
        return Err(Error::empty("summary"));
    }
    let mut bins: Vec<RepeatCount> = (0..=last)
        .map(|x| RepeatCount { repeat_purchases: x, or_more: x == last, actual: 0, expected: 0.0 })
        .collect();
    for c in &customers {
        let x = (c.frequency as u32).min(last);
        bins[x as usize].actual += 1;
        let mut below = 0.0;
        for (x, bin) in bins.iter_mut().take(last as usize).enumerate() {
            let p =
                model.purchases().probability_of_purchases(x as u32, Span::new(c.t, c.period)?)?;
            bin.expected += p;
            below += p;
        }
        bins[last as usize].expected += 1.0 - below;
    }
    Ok(bins)
}

/// Expected purchases over a horizon and P(alive) on a grid of frequency and recency, for a
/// customer observed for `t` periods: the matrices lifetimes plots.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FrequencyRecencyMatrix {
    /// Frequencies `0..=max_frequency` (columns).
    pub max_frequency: u32,
    /// Recencies `0..=max_recency` model periods (rows).
    pub max_recency: u32,
    /// `T` of every cell, in model periods (`max_recency`).
    pub t: f64,
    /// The horizon of the expected purchases.
    pub horizon: Horizon,
    /// `expected_purchases[recency][frequency]`: `E[Y(h) | x, t_x, T]`.
    pub expected_purchases: Vec<Vec<f64>>,
    /// `p_alive[recency][frequency]`: `P(alive | x, t_x, T)`.
    pub p_alive: Vec<Vec<f64>>,
}

/// The frequency/recency matrices of `model` over the range of `summary`: frequencies up to
/// its largest, recencies up to its longest `T` in whole periods, every cell observed for that
/// `T` (lifetimes' `plot_frequency_recency_matrix(model, T=horizon)` and
/// `conditional_probability_alive_matrix()` on the data the model was fitted on).
///
/// # Errors
///
/// [`ErrorKind::EmptyInput`](crate::ErrorKind::EmptyInput) for an empty summary;
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming `period` when the summary
/// is not in the model's period; numerical errors of the model.
pub fn frequency_recency_matrix<K>(
    model: &ClvModel,
    summary: &Summary<K>,
    horizon: Horizon,
) -> Result<FrequencyRecencyMatrix> {
    let customers = model.customers(summary)?;
    if customers.is_empty() {
        return Err(Error::empty("summary"));
    }
    let max_frequency = customers.iter().map(|c| c.frequency as u32).max().unwrap_or(0);
    // T of a summary is at most u32::MAX periods; lifetimes truncates it to whole periods.
    let max_recency = customers.iter().map(|c| c.t).fold(0.0, f64::max).floor() as u32;
    let t = f64::from(max_recency);
    let mut expected_purchases = Vec::with_capacity(max_recency as usize + 1);
    let mut p_alive = Vec::with_capacity(max_recency as usize + 1);
    for recency in 0..=max_recency {
        let mut e = Vec::with_capacity(max_frequency as usize + 1);
        let mut a = Vec::with_capacity(max_frequency as usize + 1);
        for frequency in 0..=max_frequency {
            let c = Customer::new(f64::from(frequency), f64::from(recency), t, model.period())?;
            e.push(model.purchases().conditional_expected_purchases(&c, horizon)?);
            a.push(model.purchases().probability_alive(&c)?);
        }
        expected_purchases.push(e);
        p_alive.push(a);
    }
    Ok(FrequencyRecencyMatrix {
        max_frequency,
        max_recency,
        t,
        horizon,
        expected_purchases,
        p_alive,
    })
}
