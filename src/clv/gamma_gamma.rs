//! Gamma-Gamma spend model (Fader, Hardie & Lee 2005, JMR; Fader & Hardie 2013, note 025).

use crate::error::{Error, Result};

use super::fit::{estimate, Fit, FitOptions, Objective};
use super::special::{ln_gamma, Real};
use super::{check_param, finite, Customer, Problem};

/// Gamma-Gamma parameters: each transaction value `z ~ Gamma(p, ν)`, and `ν ~ Gamma(q, γ)`
/// across customers (lifetimes calls `γ` `v`).
///
/// `q` must exceed 1: at `q ≤ 1` the population mean spend `pγ/(q−1)` is infinite, which other
/// tools turn into negative CLV (lifetimes #146, #362, #370). Such parameters, and fits that
/// land there, are refused with an error.
///
/// # Example
///
/// ```
/// use loyalty::clv::{Customer, GammaGamma};
/// use loyalty::rfm::Period;
///
/// let gg = GammaGamma::new(6.25, 3.74, 15.44)?;
/// let c = Customer::new(2.0, 30.43, 38.86, Period::WEEK)?.with_monetary_value(22.35);
/// assert!((gg.conditional_expected_average_spend(&c)? - 24.65).abs() < 0.1);
/// assert!(GammaGamma::new(6.25, 0.9, 15.44).is_err());
/// # Ok::<(), loyalty::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "GammaGammaRepr", into = "GammaGammaRepr")
)]
pub struct GammaGamma {
    p: f64,
    q: f64,
    v: f64,
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct GammaGammaRepr {
    #[serde(default = "crate::version::v1")]
    version: u32,
    p: f64,
    q: f64,
    v: f64,
}

#[cfg(feature = "serde")]
impl TryFrom<GammaGammaRepr> for GammaGamma {
    type Error = Error;
    fn try_from(r: GammaGammaRepr) -> Result<GammaGamma> {
        crate::version::check("GammaGamma", r.version, 1)?;
        GammaGamma::new(r.p, r.q, r.v)
    }
}

#[cfg(feature = "serde")]
impl From<GammaGamma> for GammaGammaRepr {
    fn from(g: GammaGamma) -> GammaGammaRepr {
        GammaGammaRepr { version: 1, p: g.p, q: g.q, v: g.v }
    }
}

impl GammaGamma {
    /// Parameters `p, q, γ` (lifetimes' `p, q, v`).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a non-positive or
    /// non-finite parameter, or `q <= 1` (infinite mean spend).
    pub fn new(p: f64, q: f64, v: f64) -> Result<GammaGamma> {
        check_param("p", p)?;
        check_param("q", q)?;
        check_param("v", v)?;
        if q <= 1.0 {
            return Err(Error::invalid(
                "q",
                q,
                "must exceed 1: with q <= 1 the mean spend is infinite and CLV meaningless \
                 (rescale spend or check for outliers)",
            ));
        }
        Ok(GammaGamma { p, q, v })
    }

    /// Shape `p` of a transaction value.
    #[must_use]
    pub fn p(&self) -> f64 {
        self.p
    }
    /// Shape `q` of the customers' scale distribution.
    #[must_use]
    pub fn q(&self) -> f64 {
        self.q
    }
    /// Scale `γ` (lifetimes' `v`).
    #[must_use]
    pub fn v(&self) -> f64 {
        self.v
    }

    /// Population mean of a customer's mean spend, `pγ/(q−1)`.
    #[must_use]
    pub fn mean_spend(&self) -> f64 {
        self.p * self.v / (self.q - 1.0)
    }

    /// Maximum-likelihood fit on the repeat buyers (`frequency > 0`) of `customers`; the
    /// others are skipped after validation.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidRecord`](crate::ErrorKind::InvalidRecord) for an invalid row
    /// (including `monetary_value <= 0` for a repeat buyer);
    /// [`ErrorKind::EmptyInput`](crate::ErrorKind::EmptyInput) without rows;
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when no row is a repeat buyer
    /// or the estimate has `q <= 1`; [`ErrorKind::NoConvergence`](crate::ErrorKind::NoConvergence)
    /// when the optimiser fails.
    pub fn fit(customers: &[Customer], options: &FitOptions) -> Result<Fit<GammaGamma>> {
        if customers.is_empty() {
            return Err(Error::empty("customers"));
        }
        let mut rows = Vec::new();
        for (i, c) in customers.iter().enumerate() {
            c.check_for_fit().map_err(|p| p.at(i))?;
            c.check_monetary_for_fit().map_err(|p| p.at(i))?;
            if c.frequency > 0.0 {
                rows.push((c.frequency, c.monetary_value));
            }
        }
        if rows.is_empty() {
            return Err(Error::invalid(
                "frequency",
                0,
                "every customer has frequency 0: the spend model needs repeat buyers",
            ));
        }
        rows.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let mut xs: Vec<f64> = rows.iter().map(|r| r.0).collect();
        xs.dedup();
        let data = Data {
            rows: rows
                .iter()
                .map(|&(x, m)| {
                    let ix = xs.partition_point(|v| *v < x);
                    (ix, m.ln(), x * m)
                })
                .collect(),
            xs,
        };
        let est = estimate(&data, [1.0; 3], options)?;
        let [p, q, v] = est.params;
        let params = GammaGamma::new(p, q, v)?;
        let n = data.rows.len() as f64;
        let log_likelihood =
            finite("log-likelihood", -data.mean_nll([p, q, v]).unwrap_or(f64::NAN) * n)?;
        let report = est.report(&[p, q, v], n, log_likelihood, data.rows.len() as u64);
        Ok(Fit { params, report })
    }

    /// Log-density of a repeat buyer's mean spend `m_x` over `x` repeat purchases (note 025
    /// eq. 1a).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for an invalid customer or
    /// `frequency = 0` (no repeat spend to explain).
    pub fn log_likelihood(&self, c: &Customer) -> Result<f64> {
        c.check_transactions().map_err(Problem::single)?;
        c.check_monetary_for_fit().map_err(Problem::single)?;
        if c.frequency == 0.0 {
            return Err(Error::invalid("frequency", 0, "the spend model needs a repeat buyer"));
        }
        let (x, m) = (c.frequency, c.monetary_value);
        let (p, q, v) = (self.p, self.q, self.v);
        finite(
            "log-likelihood",
            ln_gamma(p * x + q) - ln_gamma(p * x) - ln_gamma(q)
                + q * v.ln()
                + (p * x - 1.0) * m.ln()
                + p * x * x.ln()
                - (p * x + q) * (v + x * m).ln(),
        )
    }

    /// `E[Z | p, q, γ, m_x, x] = p(γ + x m_x)/(px + q − 1)`: the expected average spend of a
    /// customer's future purchases (lifetimes' `conditional_expected_average_profit`); the
    /// population mean `pγ/(q−1)` for `x = 0` (lifetimes #315).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for an invalid customer.
    pub fn conditional_expected_average_spend(&self, c: &Customer) -> Result<f64> {
        c.check_transactions().map_err(Problem::single)?;
        c.check_monetary().map_err(Problem::single)?;
        finite("expected spend", self.spend_unchecked(c.frequency, c.monetary_value))
    }

    pub(crate) fn spend_unchecked(&self, x: f64, m: f64) -> f64 {
        if x == 0.0 {
            return self.mean_spend();
        }
        self.p * (self.v + x * m) / (self.p * x + self.q - 1.0)
    }
}

struct Data {
    xs: Vec<f64>,
    /// (index of x, ln m, x m)
    rows: Vec<(usize, f64, f64)>,
}

impl Objective<3> for Data {
    fn mean_nll<D: Real>(&self, prm: [D; 3]) -> Option<D> {
        let [p, q, v] = prm;
        let head = q * v.ln() - q.ln_gamma();
        let per_x: Vec<(D, D)> = self
            .xs
            .iter()
            .map(|&x| {
                let px = p * x;
                (px, (px + q).ln_gamma() - px.ln_gamma() + px * x.ln())
            })
            .collect();
        let mut total = D::cst(0.0);
        for &(ix, ln_m, xm) in &self.rows {
            let &(px, g) = per_x.get(ix)?;
            total = total + g + (px - 1.0) * ln_m - (px + q) * (v + xm).ln();
        }
        let n = self.rows.len() as f64;
        let f = -(total / n + head);
        f.val().is_finite().then_some(f)
    }
}
