//! Customer lifetime value options: lifetimes' discrete monthly convention.

use super::horizon::Horizon;
use crate::error::{Error, Result};

/// How CLV is computed: lifetimes' `customer_lifetime_value` convention,
///
/// `CLV = Σ_{k=1..H} m · [E(Y(k f)) − E(Y((k−1) f))] / (1+d)^k`,
///
/// with `H` the horizon in months, `d` the monthly discount rate, `f` model periods per month
/// and `m` the Gamma-Gamma expected average spend. The options say nothing about the model's
/// period: `f` comes from the period the model was fitted in ([`ClvModel::period`]) through
/// lifetimes' table ([`periods_per_month`]: 30 a day, 4.345 a week, 720 an hour), so a daily
/// model with the defaults equals lifetimes' `customer_lifetime_value(..., freq="D")`.
///
/// Defaults: 12 months, `d = 0.01`, as lifetimes.
///
/// [`ClvModel::period`]: super::ClvModel::period
/// [`periods_per_month`]: super::periods_per_month
///
/// # Example
///
/// ```
/// use loyalty::clv::{ClvOptions, Horizon};
///
/// let options = ClvOptions::default()
///     .with_horizon(Horizon::months(6)?)
///     .with_monthly_discount_rate(0.02)?;
/// assert_eq!(options.horizon().whole_months()?, 6);
/// assert_eq!(options.monthly_discount_rate(), 0.02);
/// assert!(ClvOptions::default().with_monthly_discount_rate(-1.0).is_err());
/// # Ok::<(), loyalty::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "ClvOptionsRepr", into = "ClvOptionsRepr")
)]
pub struct ClvOptions {
    horizon: Horizon,
    monthly_discount_rate: f64,
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct ClvOptionsRepr {
    horizon: Horizon,
    monthly_discount_rate: f64,
}

#[cfg(feature = "serde")]
impl TryFrom<ClvOptionsRepr> for ClvOptions {
    type Error = Error;
    fn try_from(r: ClvOptionsRepr) -> Result<ClvOptions> {
        ClvOptions::default()
            .with_horizon(r.horizon)
            .with_monthly_discount_rate(r.monthly_discount_rate)
    }
}

#[cfg(feature = "serde")]
impl From<ClvOptions> for ClvOptionsRepr {
    fn from(o: ClvOptions) -> ClvOptionsRepr {
        ClvOptionsRepr { horizon: o.horizon, monthly_discount_rate: o.monthly_discount_rate }
    }
}

impl Default for ClvOptions {
    fn default() -> Self {
        ClvOptions { horizon: Horizon::default(), monthly_discount_rate: 0.01 }
    }
}

impl ClvOptions {
    /// The horizon (lifetimes' `time`, in months). Default 12 months. CLV needs a whole number
    /// of months of the model's period ([`Horizon::months_in`]: 90 days are 3 months of a
    /// daily model but not of a weekly one); scoring checks it.
    #[must_use]
    pub fn with_horizon(self, horizon: Horizon) -> Self {
        ClvOptions { horizon, ..self }
    }

    /// Monthly discount rate `d` (lifetimes' `discount_rate`). Default 0.01. A negative rate
    /// above −1 (value growing with time) is accepted, as the formula allows.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) unless finite and `> -1`.
    pub fn with_monthly_discount_rate(self, rate: f64) -> Result<Self> {
        if !(rate.is_finite() && rate > -1.0) {
            return Err(Error::invalid("discount rate", rate, "must be finite and > -1"));
        }
        Ok(ClvOptions { monthly_discount_rate: rate, ..self })
    }

    /// The horizon.
    #[must_use]
    pub fn horizon(&self) -> Horizon {
        self.horizon
    }

    /// The monthly discount rate.
    #[must_use]
    pub fn monthly_discount_rate(&self) -> f64 {
        self.monthly_discount_rate
    }
}

/// Gauss–Legendre nodes and weights on `[0, 1]` (Newton on the Legendre recurrence).
pub(crate) fn gauss_legendre<const N: usize>() -> ([f64; N], [f64; N]) {
    let mut x = [0.0; N];
    let mut w = [0.0; N];
    let n = N as f64;
    for i in 0..N {
        let mut z = (std::f64::consts::PI * (i as f64 + 0.75) / (n + 0.5)).cos();
        let mut dp = 1.0;
        for _ in 0..100 {
            let (mut p0, mut p1) = (1.0, z);
            for k in 2..=N {
                let k = k as f64;
                let p2 = ((2.0 * k - 1.0) * z * p1 - (k - 1.0) * p0) / k;
                p0 = p1;
                p1 = p2;
            }
            dp = n * (z * p1 - p0) / (z * z - 1.0);
            let dz = p1 / dp;
            z -= dz;
            if dz.abs() < 1e-16 {
                break;
            }
        }
        x[i] = 0.5 * (1.0 - z);
        w[i] = 1.0 / ((1.0 - z * z) * dp * dp);
    }
    (x, w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quadrature_integrates_polynomials_and_exponentials() {
        let (x, w) = gauss_legendre::<16>();
        let wsum: f64 = w.iter().sum();
        assert!((wsum - 1.0).abs() < 1e-14);
        let p: f64 = x.iter().zip(&w).map(|(x, w)| w * x.powi(9)).sum();
        assert!((p - 0.1).abs() < 1e-14);
        let e: f64 = x.iter().zip(&w).map(|(x, w)| w * (-3.0 * x).exp()).sum();
        assert!((e - (1.0 - (-3.0f64).exp()) / 3.0).abs() < 1e-14);
    }

    #[test]
    fn options_validate() {
        let o = ClvOptions::default();
        assert!(o.with_monthly_discount_rate(-1.0).is_err());
        assert!(o.with_monthly_discount_rate(-1.5).is_err());
        assert!(o.with_monthly_discount_rate(f64::NAN).is_err());
        assert!(o.with_monthly_discount_rate(f64::INFINITY).is_err());
        assert_eq!(o.with_monthly_discount_rate(-0.5).unwrap().monthly_discount_rate(), -0.5);
        assert_eq!(o.horizon(), Horizon::months(12).unwrap());
        assert_eq!(o.monthly_discount_rate(), 0.01);
    }
}
