//! BG/NBD (Fader, Hardie & Lee 2005).

use crate::error::Result;

use super::bg_family;
use super::fit::{fit_model, Estimable, Fit, FitOptions};
use super::histogram::{Histogram, Prepared};
use super::params::model_params;
use super::purchase::formulas;
use super::special::{
    hyp2f1, hyp2f1_many, ln_gamma, ln_rising_ratio, log_add_exp, logistic_of_neg,
};
use super::{finite, probability, Customer};
use crate::rfm::Period;

model_params! {
    /// BG/NBD parameters: purchase rate `λ ~ Gamma(r, α)` while active, dropout probability after
    /// each purchase `p ~ Beta(a, b)`.
    ///
    /// Fader, Hardie & Lee (2005), "Counting your customers the easy way", *Marketing Science*
    /// 24(2): likelihood eq. 6, `P(X(t) = x)` eq. 8, `E[X(t)]` eq. 9, conditional expectation
    /// eq. 10; `P(alive)` from Fader & Hardie note 021; stable forms from note 027.
    ///
    /// # Example
    ///
    /// Predictions are the methods of [`PurchaseModel`](super::PurchaseModel).
    ///
    /// # P(alive) of one-time buyers
    ///
    /// `P(alive)` (note 021) is exactly 1 for `x = 0`, and exactly 0 without overflow when the
    /// odds of having dropped out are astronomically large. The 1 for `x = 0` is the model, not
    /// a rounding: BG/NBD customers drop out only right after a repeat purchase, so one who
    /// never bought again is alive by construction however long ago the first purchase was (on
    /// CDNOW, 3,018 of the 3,019 customers an RFM map calls "Lost"). Their expected purchases
    /// still fall with `T`. Where P(alive) of one-time buyers matters, use
    /// [`MbgNbd`](super::MbgNbd) or [`ParetoNbd`](super::ParetoNbd)
    /// ([`ModelKind`](super::ModelKind) in [`predict`](super::predict)).
    ///
    /// ```
    /// use loyalty::clv::{BgNbd, Customer, PurchaseModel, Span};
    /// use loyalty::rfm::Period;
    ///
    /// // BTYD's estimates on CDNOW (weeks).
    /// let m = BgNbd::new(0.2425982, 4.4136842, 0.7929899, 2.4261667, Period::WEEK)?;
    /// let c1516 = Customer::new(26.0, 30.85714, 31.0, Period::WEEK)?;
    /// let year = Span::weeks(52.0)?;
    /// assert!((m.conditional_expected_purchases(&c1516, year)? - 25.75659).abs() < 1e-4);
    /// assert!((m.probability_alive(&c1516)? - 0.9688523).abs() < 1e-6);
    /// # Ok::<(), loyalty::Error>(())
    /// ```
    pub struct BgNbd {
        r: f64,
        alpha: f64,
        a: f64,
        b: f64,
    }
    serde BgNbdRepr;
}

/// Half-width of the symmetric average used at the removable singularity `a = 1`.
pub(crate) const A_ONE_STEP: f64 = 1e-5;

impl BgNbd {
    model_params! {
        /// Parameters `r, α, a, b` (lifetimes' names), all finite and positive, with `α` per
        /// `period`.
        ///
        /// # Errors
        ///
        /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming the parameter.
        pub fn new(r, alpha, a, b) -> BgNbd;

        /// Shape `r` of the purchase-rate distribution.
        pub fn r;
        /// Rate `α` of the purchase-rate distribution (per model period).
        pub fn alpha;
        /// Beta parameter `a` of the dropout probability.
        pub fn a;
        /// Beta parameter `b` of the dropout probability.
        pub fn b;
    }

    /// Maximum-likelihood fit on a histogram of `(x, t_x, T)` patterns.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when every frequency is 0 or
    /// the options are invalid; [`ErrorKind::NoConvergence`](crate::ErrorKind::NoConvergence)
    /// or [`ErrorKind::Numerical`](crate::ErrorKind::Numerical) when the optimum cannot be
    /// found or is not identified.
    pub fn fit(histogram: &Histogram, options: &FitOptions) -> Result<Fit<BgNbd>> {
        fit_model(histogram, options)
    }

    /// Log-likelihood of one customer (FHL 2005 eq. 6, log-sum-exp form).
    pub(crate) fn ll_at(&self, x: f64, tx: f64, t: f64) -> Result<f64> {
        Ok(ll(self, x, tx, t))
    }

    /// `P(alive | x, t_x, T)` (note 021; see the type's docs).
    pub(crate) fn p_alive_at(&self, x: f64, tx: f64, t: f64) -> Result<f64> {
        Ok(self.p_alive_unchecked(x, tx, t))
    }

    pub(crate) fn p_alive_unchecked(&self, x: f64, tx: f64, t: f64) -> f64 {
        if x == 0.0 {
            return 1.0;
        }
        let d = (self.r + x) * ((self.alpha + t) / (self.alpha + tx)).ln()
            + (self.a / (self.b + x - 1.0)).ln();
        logistic_of_neg(d)
    }

    /// Unconditional `E[X(t)]`: expected purchases in `(0, t]` of a customer just acquired
    /// (FHL 2005 eq. 9, Euler-transformed); no convergence when `t/(α+t)` is so close to 1
    /// that the series cannot be summed.
    pub(crate) fn expected_at(&self, t: f64) -> Result<f64> {
        finite("expected purchases", self.conditional_mean(0.0, 0.0, t)?)
    }

    /// `E[Y(t) | x, t_x, T]`: expected purchases in `(T, T+t]` (FHL 2005 eq. 10, lifetimes'
    /// `conditional_expected_number_of_purchases_up_to_time`).
    pub(crate) fn conditional_expected_at(&self, c: &Customer, t: f64) -> Result<f64> {
        let pa = self.p_alive_unchecked(c.frequency, c.recency, c.t);
        finite("conditional expected purchases", self.conditional_mean(c.frequency, c.t, t)? * pa)
    }

    /// `(a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(a−1) · 2F1(a+b−1−r, a−1; a+b+x−1; z)]`, the
    /// conditional expectation of an alive customer.
    fn conditional_mean(&self, x: f64, big_t: f64, t: f64) -> Result<f64> {
        if t == 0.0 {
            return Ok(0.0);
        }
        let z = t / (self.alpha + big_t + t);
        let ln1z = ((self.alpha + big_t) / (self.alpha + big_t + t)).ln();
        let g = |a: f64, b: f64| -> Result<f64> {
            let h = hyp2f1(a + b - 1.0 - self.r, a - 1.0, a + b + x - 1.0, z)?;
            let bracket = -(((a - 1.0) * ln1z).exp_m1() * h + (h - 1.0));
            Ok((a + b + x - 1.0) / (a - 1.0) * bracket)
        };
        // a + b + x − 1 = 0 (x = 0, a + b = 1) is a pole of the 2F1 cancelled by the prefactor:
        // the value is smooth in b, so average b ± h there, as for a = 1 below.
        let f = |a: f64| -> Result<f64> {
            if (a + self.b + x - 1.0).abs() < A_ONE_STEP {
                Ok(0.5 * (g(a, self.b + A_ONE_STEP)? + g(a, self.b - A_ONE_STEP)?))
            } else {
                g(a, self.b)
            }
        };
        if (self.a - 1.0).abs() < A_ONE_STEP {
            // Removable singularity: the value is smooth in a, so the mean of a ± h is exact to
            // O(h²).
            Ok(0.5 * (f(1.0 + A_ONE_STEP)? + f(1.0 - A_ONE_STEP)?))
        } else {
            f(self.a)
        }
    }

    /// Conditional expectations at several horizons for one alive customer (CLV inner loop).
    pub(crate) fn conditional_means(
        &self,
        x: f64,
        big_t: f64,
        ts: &[f64],
        zs: &mut [f64],
        out: &mut [f64],
    ) -> Result<()> {
        if (self.a - 1.0).abs() < A_ONE_STEP || (self.a + self.b + x - 1.0).abs() < 2.0 * A_ONE_STEP
        {
            for (o, t) in out.iter_mut().zip(ts) {
                *o = self.conditional_mean(x, big_t, *t)?;
            }
            return Ok(());
        }
        let a = self.a;
        for (z, t) in zs.iter_mut().zip(ts) {
            *z = t / (self.alpha + big_t + t);
        }
        hyp2f1_many(a + self.b - 1.0 - self.r, a - 1.0, a + self.b + x - 1.0, zs, out)?;
        let k = (a + self.b + x - 1.0) / (a - 1.0);
        for (o, t) in out.iter_mut().zip(ts) {
            let ln1z = ((self.alpha + big_t) / (self.alpha + big_t + t)).ln();
            let h = *o;
            *o = -k * (((a - 1.0) * ln1z).exp_m1() * h + (h - 1.0));
        }
        Ok(())
    }

    /// `P(X(t) = n)` for a customer just acquired (FHL 2005 eq. 8); the tail of the negative
    /// binomial is the regularised incomplete beta `I_{t/(α+t)}(n, r)`, so no `1 − Σ`
    /// cancellation.
    ///
    /// A numerical error if the incomplete beta fails.
    pub(crate) fn pmf_at(&self, n: u32, t: f64) -> Result<f64> {
        if t == 0.0 {
            // X(0) = 0 surely; exact, rather than a sum of rounded exponentials.
            return Ok(if n == 0 { 1.0 } else { 0.0 });
        }
        let (r, alpha, a, b) = (self.r, self.alpha, self.a, self.b);
        let nf = f64::from(n);
        let nq = if n == 0 { 0.0 } else { nf * (t / (alpha + t)).ln() };
        // B(a, b+n)/B(a,b) = Π_{k<n} (b+k)/(a+b+k); Γ(r+n)/(Γ(r) n!) = Π_{k<n} (r+k)/(1+k).
        let first = (ln_rising_ratio(b, a + b, n)
            + ln_rising_ratio(r, 1.0, n)
            + r * (alpha / (alpha + t)).ln()
            + nq)
            .exp();
        let second = if n == 0 {
            0.0
        } else {
            let tail = statrs::function::beta::checked_beta_reg(nf, r, t / (alpha + t))
                .map_err(|e| super::special::numerical("incomplete beta", e.to_string()))?;
            // B(a+1, b+n−1)/B(a,b) = a/(a+b) · Π_{k<n−1} (b+k)/(a+b+1+k).
            ((a / (a + b)).ln() + ln_rising_ratio(b, a + b + 1.0, n - 1)).exp() * tail
        };
        probability("purchase probability", first + second)
    }

    /// `P(Y(t) = n | x, t_x, T)`: probability of `n` purchases in `(T, T+t]` for a customer
    /// with history `(x, t_x, T)`.
    ///
    /// A customer who has dropped out makes no more purchases; given alive at `T`, the
    /// posterior of the purchase rate is `Gamma(r+x, α+T)` (the Poisson likelihood
    /// `λ^x e^(−λT)`), the dropout probability's is `Beta(a, b+x)` (x purchases
    /// survived), and by memorylessness the purchases in `(T, T+t]` follow the
    /// unconditional PMF with those parameters:
    ///
    /// ```text
    /// P(Y(t)=n | x, t_x, T) = (1 − P(alive)) · 1[n=0] + P(alive) · P'(X(t)=n)
    /// ```
    ///
    /// `P'` being [`BgNbd::pmf_at`] at `(r+x, α+T, a, b+x)` (FHL 2005's conditional
    /// argument, eq. 10, applied to the PMF). Its mean is exactly
    /// [`BgNbd::conditional_expected_at`], which the tests check.
    pub(crate) fn conditional_pmf_at(&self, c: &Customer, n: u32, t: f64) -> Result<f64> {
        let pa = self.p_alive_unchecked(c.frequency, c.recency, c.t);
        let x = c.frequency;
        let p = BgNbd::new(self.r + x, self.alpha + c.t, self.a, self.b + x, self.period)?
            .pmf_at(n, t)?;
        probability("purchase probability", if n == 0 { (1.0 - pa) + pa * p } else { pa * p })
    }
}

formulas!(BgNbd);

impl Estimable for BgNbd {
    type Objective<'a> = bg_family::Likelihood<'a>;

    fn objective(prep: &Prepared) -> bg_family::Likelihood<'_> {
        bg_family::Likelihood::new(prep, bg_family::BG)
    }

    fn from_estimate([r, alpha, a, b]: [f64; 4], scale: f64, period: Period) -> Result<BgNbd> {
        BgNbd::new(r, alpha * scale, a, b, period)
    }
}

/// ln L for one customer (lifetimes' A1..A4 form).
fn ll(m: &BgNbd, x: f64, tx: f64, t: f64) -> f64 {
    let BgNbd { r, alpha, a, b, .. } = *m;
    let a1 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln();
    let a2 = ln_gamma(a + b) + ln_gamma(b + x) - ln_gamma(b) - ln_gamma(a + b + x);
    let a3 = -(r + x) * (alpha + t).ln();
    if x > 0.0 {
        let a4 = a.ln() - (b + x - 1.0).ln() - (r + x) * (alpha + tx).ln();
        a1 + a2 + log_add_exp(a3, a4)
    } else {
        a1 + a2 + a3
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clv::fit::checks;
    #[allow(unused_imports)]
    use crate::clv::{PurchaseModel, Span};
    #[allow(unused_imports)]
    use crate::rfm::Period;

    // Note 027's example, PyMC-Marketing / btyd reference (decimal 5).
    #[test]
    fn single_customer_likelihood_note_027() {
        let m = BgNbd::new(0.25, 4.0, 0.8, 2.5, Period::WEEK).unwrap();
        let l0 = m.log_likelihood(&Customer::new(0.0, 0.0, 40.0, Period::WEEK).unwrap()).unwrap();
        assert!((l0 - -0.59947382).abs() < 1.5e-5, "{l0}");
        let l200 =
            m.log_likelihood(&Customer::new(200.0, 38.0, 40.0, Period::WEEK).unwrap()).unwrap();
        assert!((l200 - 100.7957).abs() < 1.5e-4, "{l200}");
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let customers = [
            Customer::new(0.0, 0.0, 38.0, Period::WEEK).unwrap(),
            Customer::new(2.0, 30.43, 38.86, Period::WEEK).unwrap(),
            Customer::new(26.0, 30.85714, 31.0, Period::WEEK).unwrap(),
            Customer::new(500.0, 20.0, 38.0, Period::WEEK).unwrap(),
        ];
        let h = Histogram::from_customers(&customers).unwrap();
        let prep = Prepared::new(&h).unwrap();
        let p = [0.3, 0.12, 0.8, 2.4];
        let g = checks::gradient_matches_finite_differences(
            &bg_family::Likelihood::new(&prep, bg_family::BG),
            p,
        );
        // And the objective equals the direct per-customer likelihood.
        let m = BgNbd::new(p[0], p[1] * prep.scale, p[2], p[3], Period::WEEK).unwrap();
        let direct = -m.total_log_likelihood(&h).unwrap() / 4.0;
        let shift: f64 = customers.iter().map(|c| c.frequency).sum::<f64>() * prep.scale.ln() / 4.0;
        assert!((g.v - (direct - shift)).abs() < 1e-9, "{} vs {}", g.v, direct - shift);
    }

    #[test]
    fn p_alive_extremes() {
        let m = BgNbd::new(0.243, 4.414, 0.793, 2.426, Period::WEEK).unwrap();
        assert_eq!(
            m.probability_alive(&Customer::new(1000.0, 10.0, 100.0, Period::WEEK).unwrap())
                .unwrap(),
            0.0
        );
        assert_eq!(
            m.probability_alive(&Customer::new(0.0, 0.0, 1.0, Period::WEEK).unwrap()).unwrap(),
            1.0
        );
    }

    #[test]
    fn a_equal_one_is_continuous() {
        let at = |a: f64| BgNbd::new(0.3, 4.0, a, 2.0, Period::WEEK).unwrap();
        let c = Customer::new(3.0, 20.0, 30.0, Period::WEEK).unwrap();
        let v1 = at(1.0).conditional_expected_purchases(&c, Span::weeks(10.0).unwrap()).unwrap();
        let v2 =
            at(1.0 + 1e-3).conditional_expected_purchases(&c, Span::weeks(10.0).unwrap()).unwrap();
        let v3 =
            at(1.0 - 1e-3).conditional_expected_purchases(&c, Span::weeks(10.0).unwrap()).unwrap();
        assert!((v1 - 0.5 * (v2 + v3)).abs() < 1e-6, "{v1} {v2} {v3}");
        assert!(at(1.0).expected_purchases(Span::weeks(52.0).unwrap()).unwrap() > 0.0);
    }

    #[test]
    fn pmf_sums_to_one() {
        let m = BgNbd::new(0.243, 4.414, 0.793, 2.426, Period::WEEK).unwrap();
        let s: f64 = (0..2000)
            .map(|n| m.probability_of_purchases(n, Span::weeks(10.0).unwrap()).unwrap())
            .sum();
        assert!((s - 1.0).abs() < 1e-9, "{s}");
        // Mean of the PMF equals E[X(t)].
        let mean: f64 = (0..4000)
            .map(|n| {
                f64::from(n) * m.probability_of_purchases(n, Span::weeks(10.0).unwrap()).unwrap()
            })
            .sum();
        let e = m.expected_purchases(Span::weeks(10.0).unwrap()).unwrap();
        assert!((mean - e).abs() < 1e-8, "{mean} vs {e}");
    }

    #[test]
    fn a_plus_b_equal_one_is_continuous() {
        // x = 0 and a + b = 1 put the Euler-form 2F1 at its pole c = 0; E[X(t)] is smooth there.
        let at = |b: f64| BgNbd::new(0.3, 2.0, 0.4, b, Period::WEEK).unwrap();
        for t in [1.0, 39.0] {
            let v1 = at(0.6).expected_purchases(Span::weeks(t).unwrap()).unwrap();
            let v2 = at(0.6 + 1e-3).expected_purchases(Span::weeks(t).unwrap()).unwrap();
            let v3 = at(0.6 - 1e-3).expected_purchases(Span::weeks(t).unwrap()).unwrap();
            assert!((v1 - 0.5 * (v2 + v3)).abs() < 1e-6 * v1, "{v1} {v2} {v3}");
            // And it is the mean of the PMF.
            let m = at(0.6);
            let mean: f64 = (0..4000)
                .map(|n| {
                    f64::from(n) * m.probability_of_purchases(n, Span::weeks(t).unwrap()).unwrap()
                })
                .sum();
            assert!((mean / v1 - 1.0).abs() < 1e-8, "{mean} vs {v1}");
        }
    }
}
