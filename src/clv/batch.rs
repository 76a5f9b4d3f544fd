//! Batch scoring: `P(alive)`, expected purchases and CLV for every customer of a slice.

use crate::error::{Error, Result};
use crate::rfm::Period;

use super::bg_family::Variant;
use super::purchase::sealed::Formulas;
use super::value::ClvOptions;
use super::{BgNbd, Customer, GammaGamma, MbgNbd, ParetoNbd, PurchaseModel};
use crate::rfm::periods_per_month;

/// The parameters of a purchase-process model, for scoring.
///
/// Its predictions are those of [`PurchaseModel`], in the period of the model inside.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum TransactionModel {
    /// BG/NBD.
    BgNbd(BgNbd),
    /// MBG/NBD.
    MbgNbd(MbgNbd),
    /// Pareto/NBD.
    ParetoNbd(ParetoNbd),
}

impl From<BgNbd> for TransactionModel {
    fn from(m: BgNbd) -> Self {
        TransactionModel::BgNbd(m)
    }
}
impl From<MbgNbd> for TransactionModel {
    fn from(m: MbgNbd) -> Self {
        TransactionModel::MbgNbd(m)
    }
}
impl From<ParetoNbd> for TransactionModel {
    fn from(m: ParetoNbd) -> Self {
        TransactionModel::ParetoNbd(m)
    }
}

/// One customer's scores.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Score {
    /// Probability the customer is still active at `T`.
    ///
    /// Under BG/NBD this is exactly 1 for a customer without repeat purchases (`frequency`
    /// 0), however long ago the first purchase was: the model lets a customer drop out only
    /// right after a purchase, so one who never bought again cannot have dropped out (Fader,
    /// Hardie & Lee 2005, eq. 11; lifetimes behaves the same). Such customers still get a
    /// low expected purchase count when `T` is long. MBG/NBD and Pareto/NBD let customers
    /// drop out at time 0 too and give them a P(alive) below 1: choose them
    /// ([`ModelKind`](super::ModelKind)) when P(alive) of one-time buyers matters.
    pub p_alive: f64,
    /// Expected purchases over the CLV horizon `E[Y(H f) | x, t_x, T]`, `H f` the horizon in
    /// model periods.
    pub expected_purchases: f64,
    /// Gamma-Gamma expected mean spend per future purchase (lifetimes'
    /// `conditional_expected_average_profit`): the population mean spend for a customer
    /// without repeat purchases, as lifetimes uses in its CLV.
    pub expected_spend: f64,
    /// Discounted value over the horizon (see [`ClvOptions`]).
    pub clv: f64,
}

/// Keys (bits of `x`, `T`) and values (`n` per slot) of the per-batch cache.
type Cache = (Vec<Option<(u64, u64)>>, Vec<f64>);

/// Slots of the per-batch cache of alive-customer expectations (`>> 52` of a 64-bit hash).
const CACHE_SLOTS: usize = 4096;

/// The longest CLV horizon in months.
const MAX_MONTHS: u32 = 120_000;

/// Months beyond which the per-horizon series are evaluated one by one.
const STACK_HORIZONS: usize = 64;

/// Calls `$e` with the model inside, whichever it is.
macro_rules! each {
    ($self:ident, $m:ident => $e:expr) => {
        match $self {
            TransactionModel::BgNbd($m) => $e,
            TransactionModel::MbgNbd($m) => $e,
            TransactionModel::ParetoNbd($m) => $e,
        }
    };
}

impl PurchaseModel for TransactionModel {
    fn parameters(&self) -> [f64; 4] {
        each!(self, m => m.parameters())
    }

    fn parameter_names(&self) -> [&'static str; 4] {
        each!(self, m => m.parameter_names())
    }

    fn period(&self) -> Period {
        each!(self, m => m.period())
    }
}

impl Formulas for TransactionModel {
    fn ll_at(&self, x: f64, tx: f64, t: f64) -> Result<f64> {
        each!(self, m => m.ll_at(x, tx, t))
    }

    fn p_alive_at(&self, x: f64, tx: f64, t: f64) -> Result<f64> {
        each!(self, m => m.p_alive_at(x, tx, t))
    }

    fn expected_at(&self, t: f64) -> Result<f64> {
        each!(self, m => m.expected_at(t))
    }

    fn conditional_expected_at(&self, c: &Customer, t: f64) -> Result<f64> {
        each!(self, m => m.conditional_expected_at(c, t))
    }

    fn pmf_at(&self, n: u32, t: f64) -> Result<f64> {
        each!(self, m => m.pmf_at(n, t))
    }

    fn conditional_pmf_at(&self, c: &Customer, n: u32, t: f64) -> Result<f64> {
        each!(self, m => m.conditional_pmf_at(c, n, t))
    }
}

impl TransactionModel {
    /// P(alive) and `E[Y(t_k)]` for every horizon `t_k` (`zs` is scratch space).
    pub(super) fn cumulative(
        &self,
        c: &Customer,
        ts: &[f64],
        zs: &mut [f64],
        out: &mut [f64],
    ) -> Result<f64> {
        self.alive_means(c.frequency, c.t, ts, zs, out)?;
        let pa = self.p_alive_unchecked(c)?;
        for o in out.iter_mut() {
            *o *= pa;
        }
        Ok(pa)
    }

    fn p_alive_unchecked(&self, c: &Customer) -> Result<f64> {
        self.p_alive_at(c.frequency, c.recency, c.t)
    }

    /// `E[Y(t_k)]` of a customer known to be alive: depends on `(x, T)` only, not on `t_x`.
    fn alive_means(
        &self,
        x: f64,
        t: f64,
        ts: &[f64],
        zs: &mut [f64],
        out: &mut [f64],
    ) -> Result<()> {
        match self {
            TransactionModel::BgNbd(m) => m.shape().conditional_means(x, t, ts, zs, out),
            TransactionModel::MbgNbd(m) => m.shape().conditional_means(x, t, ts, zs, out),
            TransactionModel::ParetoNbd(m) => {
                for (o, h) in out.iter_mut().zip(ts) {
                    *o = m.alive_mean(x, t, *h);
                }
                Ok(())
            }
        }
    }
}

/// Scores every customer into `out` (one slot per customer; see
/// [`ClvModel::score_into`](super::ClvModel::score_into)).
pub(super) fn score_into(
    model: &TransactionModel,
    spend: &GammaGamma,
    customers: &[Customer],
    options: &ClvOptions,
    out: &mut [Score],
) -> Result<()> {
    if customers.is_empty() {
        return Err(Error::empty("customers"));
    }
    if out.len() != customers.len() {
        return Err(Error::invalid("out", out.len(), "must have one slot per customer"));
    }
    let period = model.period();
    let ctx = Ctx::new(options, period)?;
    for (i, c) in customers.iter().enumerate() {
        c.check_transactions().map_err(|p| p.at(i))?;
        c.check_monetary().map_err(|p| p.at(i))?;
        if c.period != period {
            return Err(Error::invalid_record(
                i,
                "period",
                c.period,
                format!("the model is in periods of {period}"),
            ));
        }
    }
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        const CHUNK: usize = 4096;
        let results: Vec<Result<()>> = customers
            .par_chunks(CHUNK)
            .zip(out.par_chunks_mut(CHUNK))
            .enumerate()
            .map(|(k, (cs, os))| ctx.run(model, spend, cs, os, k * CHUNK))
            .collect();
        results.into_iter().collect::<Result<Vec<()>>>()?;
        Ok(())
    }
    #[cfg(not(feature = "rayon"))]
    {
        ctx.run(model, spend, customers, out, 0)
    }
}

struct Ctx {
    months: usize,
    periods: f64,
    rate: f64,
}

impl Ctx {
    fn new(o: &ClvOptions, period: Period) -> Result<Ctx> {
        // Months of the model's period, so that the horizon is as long here as in the model's
        // other predictions (`Horizon::in_periods`).
        let months = o.horizon().months_in(period)?;
        // The per-month buffers are allocated per call: a bound keeps a typo from asking for
        // gigabytes (10,000 years is beyond any use of a retention model).
        if months > MAX_MONTHS {
            return Err(Error::invalid("horizon", months, "must be at most 120,000 months"));
        }
        Ok(Ctx {
            months: months as usize,
            periods: periods_per_month(period),
            rate: o.monthly_discount_rate(),
        })
    }

    // One function over ~80 lines: the per-horizon buffers (on the stack up to
    // STACK_HORIZONS) are borrowed by the loop over customers that fills them, and
    // splitting the two would pass eight slices around.
    fn run(
        &self,
        model: &TransactionModel,
        spend: &GammaGamma,
        customers: &[Customer],
        out: &mut [Score],
        offset: usize,
    ) -> Result<()> {
        let n = self.months;
        let mut ts_buf = [0.0; STACK_HORIZONS];
        let mut zs_buf = [0.0; STACK_HORIZONS];
        let mut e_buf = [0.0; STACK_HORIZONS];
        let mut disc_buf = [0.0; STACK_HORIZONS];
        let (mut ts_v, mut zs_v, mut e_v, mut disc_v) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (ts, zs, e, disc): (&mut [f64], &mut [f64], &mut [f64], &mut [f64]) =
            if n <= STACK_HORIZONS {
                (&mut ts_buf[..n], &mut zs_buf[..n], &mut e_buf[..n], &mut disc_buf[..n])
            } else {
                ts_v.resize(n, 0.0);
                zs_v.resize(n, 0.0);
                e_v.resize(n, 0.0);
                disc_v.resize(n, 0.0);
                (&mut ts_v, &mut zs_v, &mut e_v, &mut disc_v)
            };
        for (k, (t, d)) in ts.iter_mut().zip(disc.iter_mut()).enumerate() {
            let month = (k + 1) as f64;
            *t = month * self.periods;
            *d = (1.0 + self.rate).powf(-month);
        }
        // 4096 slots of n values, allocated once per call (not per customer), and only for
        // batches large enough to repay it.
        let mut cache: Option<Cache> =
            (customers.len() >= 1024 && n > 0 && !matches!(model, TransactionModel::ParetoNbd(_)))
                .then(|| (vec![None; CACHE_SLOTS], vec![0.0; CACHE_SLOTS * n]));
        for (i, (c, o)) in customers.iter().zip(out.iter_mut()).enumerate() {
            let row = |e: Error| match e.into_kind() {
                crate::ErrorKind::InvalidInput { field, value, reason } => {
                    Error::invalid_record(offset + i, field, value, reason)
                }
                other => Error::from(other),
            };
            let m = spend.spend_unchecked(c.frequency, c.monetary_value);
            if n == 0 {
                let pa = model.probability_alive(c).map_err(row)?;
                *o = Score { p_alive: pa, expected_purchases: 0.0, expected_spend: m, clv: 0.0 };
                continue;
            }
            // The alive-customer expectations depend on (x, T) only, which real summaries
            // share widely (integer frequencies, T on a day grid): a small direct-mapped cache
            // keyed by their bits skips the series for repeated pairs. Values are identical
            // either way, so results do not depend on the cache.
            let key = (c.frequency.to_bits(), c.t.to_bits());
            let slot = cache.as_mut().map(|(keys, vals)| {
                let h = (key.0 ^ key.1.rotate_left(29)).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 52;
                (h as usize, keys, vals)
            });
            match slot {
                Some((h, keys, vals)) if keys.get(h) == Some(&Some(key)) => {
                    e.copy_from_slice(&vals[h * n..(h + 1) * n]);
                }
                Some((h, keys, vals)) => {
                    model.alive_means(c.frequency, c.t, ts, zs, e).map_err(row)?;
                    vals[h * n..(h + 1) * n].copy_from_slice(e);
                    keys[h] = Some(key);
                }
                None => model.alive_means(c.frequency, c.t, ts, zs, e).map_err(row)?,
            }
            let pa = model.p_alive_unchecked(c).map_err(row)?;
            for v in e.iter_mut() {
                *v *= pa;
            }
            let mut prev = 0.0;
            let mut clv = 0.0;
            for (v, d) in e.iter().zip(disc.iter()) {
                clv += (v - prev) * d;
                prev = *v;
            }
            let clv = m * clv;
            if !(clv.is_finite() && prev.is_finite()) {
                return Err(super::special::numerical(
                    "clv",
                    format!("row {}: not finite", offset + i),
                ));
            }
            *o = Score { p_alive: pa, expected_purchases: prev, expected_spend: m, clv };
        }
        Ok(())
    }
}
