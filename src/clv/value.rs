//! Customer lifetime value: lifetimes' discrete monthly convention and a continuous-time form.

use crate::error::{Error, Result};

/// The lifetimes `freq` presets: model periods per month in `customer_lifetime_value`.
///
/// These are a compatibility preset (`clv-models.md` §9.1): a month is 4.345 weeks, 30 days or
/// 720 hours there. Use [`ClvOptions::periods_per_month`] to state your own (for example
/// 30.4375 days).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum PeriodUnit {
    /// Weeks: 4.345 per month (lifetimes `freq = "W"`).
    #[default]
    Week,
    /// Months: 1 per month (`"M"`).
    Month,
    /// Days: 30 per month (`"D"`).
    Day,
    /// Hours: 720 per month (`"H"`).
    Hour,
}

impl PeriodUnit {
    /// lifetimes' factor: model periods per month.
    #[must_use]
    pub fn lifetimes_periods_per_month(self) -> f64 {
        match self {
            PeriodUnit::Week => 4.345,
            PeriodUnit::Month => 1.0,
            PeriodUnit::Day => 30.0,
            PeriodUnit::Hour => 720.0,
        }
    }
}

/// How CLV is computed: lifetimes' `customer_lifetime_value` convention,
///
/// `CLV = Σ_{k=1..H} m · [E(Y(k f)) − E(Y((k−1) f))] / (1+d)^k`,
///
/// with `H` the horizon in months, `d` the monthly discount rate, `f` model periods per month
/// and `m` the Gamma-Gamma expected average spend. Defaults: 12 months, `d = 0.01`, weekly model
/// (`f = 4.345`), as lifetimes with `freq = "W"`.
///
/// # Example
///
/// ```
/// use loyalty::clv::{ClvOptions, PeriodUnit};
///
/// let daily = ClvOptions::default().unit(PeriodUnit::Day).horizon_months(6);
/// assert_eq!(daily.periods_per_month_value(), 30.0);
/// let exact = daily.periods_per_month(30.4375)?;
/// assert_eq!(exact.periods_per_month_value(), 30.4375);
/// # Ok::<(), loyalty::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ClvOptions {
    horizon_months: u32,
    monthly_discount_rate: f64,
    periods_per_month: f64,
}

impl Default for ClvOptions {
    fn default() -> Self {
        ClvOptions {
            horizon_months: 12,
            monthly_discount_rate: 0.01,
            periods_per_month: PeriodUnit::Week.lifetimes_periods_per_month(),
        }
    }
}

impl ClvOptions {
    /// Horizon in months (lifetimes' `time`). Default 12.
    #[must_use]
    pub fn horizon_months(self, horizon_months: u32) -> Self {
        ClvOptions { horizon_months, ..self }
    }

    /// Monthly discount rate `d` (lifetimes' `discount_rate`). Default 0.01.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) unless finite and `>= 0`.
    pub fn monthly_discount_rate(self, rate: f64) -> Result<Self> {
        if !(rate.is_finite() && rate >= 0.0) {
            return Err(Error::invalid("discount_rate", rate, "must be finite and >= 0"));
        }
        Ok(ClvOptions { monthly_discount_rate: rate, ..self })
    }

    /// Model periods per month, stated explicitly.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) unless finite and `> 0`.
    pub fn periods_per_month(self, periods: f64) -> Result<Self> {
        if !(periods.is_finite() && periods > 0.0) {
            return Err(Error::invalid("periods_per_month", periods, "must be finite and > 0"));
        }
        Ok(ClvOptions { periods_per_month: periods, ..self })
    }

    /// Model periods per month from lifetimes' preset table.
    #[must_use]
    pub fn unit(self, unit: PeriodUnit) -> Self {
        ClvOptions { periods_per_month: unit.lifetimes_periods_per_month(), ..self }
    }

    /// The horizon in months.
    #[must_use]
    pub fn horizon_months_value(&self) -> u32 {
        self.horizon_months
    }

    /// The monthly discount rate.
    #[must_use]
    pub fn monthly_discount_rate_value(&self) -> f64 {
        self.monthly_discount_rate
    }

    /// Model periods per month.
    #[must_use]
    pub fn periods_per_month_value(&self) -> f64 {
        self.periods_per_month
    }

    /// The horizon in model periods.
    #[must_use]
    pub fn horizon_periods(&self) -> f64 {
        f64::from(self.horizon_months) * self.periods_per_month
    }

    pub(crate) fn validate(&self) -> Result<()> {
        // Deserialized options bypass the setters.
        ClvOptions::default()
            .monthly_discount_rate(self.monthly_discount_rate)?
            .periods_per_month(self.periods_per_month)?;
        Ok(())
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
        assert!(ClvOptions::default().monthly_discount_rate(-0.1).is_err());
        assert!(ClvOptions::default().monthly_discount_rate(f64::NAN).is_err());
        assert!(ClvOptions::default().periods_per_month(0.0).is_err());
        assert_eq!(ClvOptions::default().unit(PeriodUnit::Hour).periods_per_month_value(), 720.0);
        assert!((ClvOptions::default().horizon_periods() - 52.14).abs() < 1e-12);
    }
}
