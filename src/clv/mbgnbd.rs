//! MBG/NBD (Batislam, Denizel & Filiztekin 2007; Wagner & Hoppe 2008 erratum).

use crate::error::Result;

use super::bg_family;
use super::bgnbd::A_ONE_STEP;
use super::fit::{fit_model, Estimable, Fit, FitOptions};
use super::histogram::{Histogram, Prepared};
use super::params::model_params;
use super::purchase::formulas;
use super::special::{hyp2f1, hyp2f1_many, ln_gamma, ln_rising_ratio, logistic_of_neg, softplus};
use super::{finite, probability, Customer};
use crate::rfm::Period;

model_params! {
    /// MBG/NBD parameters `r, α, a, b`: as BG/NBD, but a customer may also drop out right after
    /// the first purchase, so customers without repeat purchases are not certainly alive.
    ///
    /// Batislam, Denizel & Filiztekin (2007), *IJRM* 24(3), with the Wagner & Hoppe (2008)
    /// correction; likelihood and predictions as implemented in lifetimes 0.11.3
    /// (`ModifiedBetaGeoFitter`), with Euler-transformed hypergeometric functions so large
    /// frequencies do not overflow (lifetimes #374).
    ///
    /// # Example
    ///
    /// ```
    /// use loyalty::clv::{Customer, MbgNbd, PurchaseModel, Span};
    /// use loyalty::rfm::Period;
    ///
    /// let m = MbgNbd::new(0.525, 6.183, 0.891, 1.614, Period::WEEK)?;
    /// let c = Customer::new(2.0, 30.43, 38.86, Period::WEEK)?;
    /// assert!((m.conditional_expected_purchases(&c, Span::weeks(39.0)?)? - 1.226).abs() < 0.05);
    /// // Unlike BG/NBD, a customer without repeat purchases may have left.
    /// assert!(m.probability_alive(&Customer::new(0.0, 0.0, 38.0, Period::WEEK)?)? < 1.0);
    /// # Ok::<(), loyalty::Error>(())
    /// ```
    pub struct MbgNbd {
        r: f64,
        alpha: f64,
        a: f64,
        b: f64,
    }
    serde MbgNbdRepr;
}

impl MbgNbd {
    model_params! {
        /// Parameters `r, α, a, b`, all finite and positive, with `α` per `period`.
        ///
        /// # Errors
        ///
        /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming the parameter.
        pub fn new(r, alpha, a, b) -> MbgNbd;

        /// Shape `r` of the purchase-rate distribution.
        pub fn r;
        /// Rate `α` of the purchase-rate distribution.
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
    /// As [`BgNbd::fit`](super::BgNbd::fit).
    pub fn fit(histogram: &Histogram, options: &FitOptions) -> Result<Fit<MbgNbd>> {
        fit_model(histogram, options)
    }

    /// Log-likelihood of one customer.
    pub(crate) fn ll_at(&self, x: f64, tx: f64, t: f64) -> Result<f64> {
        Ok(ll(self, x, tx, t))
    }

    /// `P(alive | x, t_x, T) = 1/(1 + a/(b+x) · ((α+T)/(α+t_x))^(r+x))`, for every `x`.
    pub(crate) fn p_alive_at(&self, x: f64, tx: f64, t: f64) -> Result<f64> {
        Ok(self.p_alive_unchecked(x, tx, t))
    }

    pub(crate) fn p_alive_unchecked(&self, x: f64, tx: f64, t: f64) -> f64 {
        let d = (self.r + x) * ((self.alpha + t) / (self.alpha + tx)).ln()
            + (self.a / (self.b + x)).ln();
        logistic_of_neg(d)
    }

    /// Unconditional `E[X(t)] = b/(a−1) · [1 − (α/(α+t))^r 2F1(r, b+1; a+b; t/(α+t))]`.
    ///
    pub(crate) fn expected_at(&self, t: f64) -> Result<f64> {
        // Same bracket as the conditional form at x = 0, T = 0, with prefactor b/(a−1).
        let scale = self.b / (self.a + self.b);
        finite("expected purchases", scale * self.conditional_mean(0.0, 0.0, t)?)
    }

    /// `P(X(t) = n)`: probability of `n` purchases in `(0, t]` for a customer just acquired.
    ///
    /// The customer survives the dropout chance at time 0 and after each of the first `n`
    /// purchases and makes no `(n+1)`-th purchase by `t`, or drops out right after the `n`-th
    /// purchase (at time 0 when `n = 0`), which needs that purchase by `t`:
    ///
    /// ```text
    /// P(X(t)=n) = B(a, b+n+1)/B(a,b) · Γ(r+n)/(Γ(r) n!) · (α/(α+t))^r · (t/(α+t))^n
    ///           + B(a+1, b+n)/B(a,b) · [1 − (α/(α+t))^r Σ_{j=0}^{n−1} Γ(r+j)/(Γ(r) j!) (t/(α+t))^j]
    /// ```
    ///
    /// (Batislam, Denizel & Filiztekin 2007; the same expression as lifetimes'
    /// `ModifiedBetaGeoFitter.probability_of_n_purchases_up_to_time`). Unlike BG/NBD, the second
    /// term is present for `n = 0` too (the bracket is then 1): `P(X(t)=0)` is the time-0
    /// dropout share `a/(a+b)` plus `b/(a+b)` times a BG/NBD-type zero. The bracket is the
    /// negative binomial tail, evaluated as the regularised incomplete beta `I_{t/(α+t)}(n, r)`
    /// so there is no `1 − Σ` cancellation; the Gamma and Beta ratios are taken in log space.
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
        // B(a, b+n+1)/B(a,b) = Π_{k≤n} (b+k)/(a+b+k); Γ(r+n)/(Γ(r) n!) = Π_{k<n} (r+k)/(1+k).
        let first = (ln_rising_ratio(b, a + b, n.saturating_add(1))
            + ln_rising_ratio(r, 1.0, n)
            + r * (alpha / (alpha + t)).ln()
            + nq)
            .exp();
        let tail = if n == 0 {
            1.0
        } else {
            statrs::function::beta::checked_beta_reg(nf, r, t / (alpha + t))
                .map_err(|e| super::special::numerical("incomplete beta", e.to_string()))?
        };
        // B(a+1, b+n)/B(a,b) = a/(a+b) · Π_{k<n} (b+k)/(a+b+1+k).
        let second = ((a / (a + b)).ln() + ln_rising_ratio(b, a + b + 1.0, n)).exp() * tail;
        probability("purchase probability", first + second)
    }

    /// `E[Y(t) | x, t_x, T]`, expected purchases in `(T, T+t]`.
    pub(crate) fn conditional_expected_at(&self, c: &Customer, t: f64) -> Result<f64> {
        let pa = self.p_alive_unchecked(c.frequency, c.recency, c.t);
        finite("conditional expected purchases", self.conditional_mean(c.frequency, c.t, t)? * pa)
    }

    /// `(a+b+x)/(a−1) · [1 − ((α+T)/(α+T+t))^(a−1) 2F1(a+b−r, a−1; a+b+x; z)]`.
    fn conditional_mean(&self, x: f64, big_t: f64, t: f64) -> Result<f64> {
        if t == 0.0 {
            return Ok(0.0);
        }
        let z = t / (self.alpha + big_t + t);
        let ln1z = ((self.alpha + big_t) / (self.alpha + big_t + t)).ln();
        let f = |a: f64| -> Result<f64> {
            let h = hyp2f1(a + self.b - self.r, a - 1.0, a + self.b + x, z)?;
            let bracket = -(((a - 1.0) * ln1z).exp_m1() * h + (h - 1.0));
            Ok((a + self.b + x) / (a - 1.0) * bracket)
        };
        if (self.a - 1.0).abs() < A_ONE_STEP {
            Ok(0.5 * (f(1.0 + A_ONE_STEP)? + f(1.0 - A_ONE_STEP)?))
        } else {
            f(self.a)
        }
    }

    pub(crate) fn conditional_means(
        &self,
        x: f64,
        big_t: f64,
        ts: &[f64],
        zs: &mut [f64],
        out: &mut [f64],
    ) -> Result<()> {
        if (self.a - 1.0).abs() < A_ONE_STEP {
            for (o, t) in out.iter_mut().zip(ts) {
                *o = self.conditional_mean(x, big_t, *t)?;
            }
            return Ok(());
        }
        let a = self.a;
        for (z, t) in zs.iter_mut().zip(ts) {
            *z = t / (self.alpha + big_t + t);
        }
        hyp2f1_many(a + self.b - self.r, a - 1.0, a + self.b + x, zs, out)?;
        let k = (a + self.b + x) / (a - 1.0);
        for (o, t) in out.iter_mut().zip(ts) {
            let ln1z = ((self.alpha + big_t) / (self.alpha + big_t + t)).ln();
            let h = *o;
            *o = -k * (((a - 1.0) * ln1z).exp_m1() * h + (h - 1.0));
        }
        Ok(())
    }

    /// `P(Y(t) = n | x, t_x, T)`: probability of `n` purchases in `(T, T+t]` for a customer
    /// with history `(x, t_x, T)`.
    ///
    /// A customer who has dropped out makes no more purchases; given alive at `T`, the
    /// posterior of the purchase rate is `Gamma(r+x, α+T)` (the Poisson likelihood
    /// `λ^x e^(−λT)`), the dropout probability's is `Beta(a, b+x+1)` (the time-0 chance and x
    /// purchases survived; the next chance comes after the next purchase, as in BG/NBD), and by
    /// memorylessness the purchases in `(T, T+t]` follow the unconditional BG/NBD PMF with
    /// those parameters:
    ///
    /// ```text
    /// P(Y(t)=n | x, t_x, T) = (1 − P(alive)) · 1[n=0] + P(alive) · P'(X(t)=n)
    /// ```
    ///
    /// `P'` being the BG/NBD PMF at `(r+x, α+T, a, b+x+1)`. Its mean is exactly
    /// [`MbgNbd::conditional_expected_at`], which the tests check.
    pub(crate) fn conditional_pmf_at(&self, c: &Customer, n: u32, t: f64) -> Result<f64> {
        let pa = self.p_alive_unchecked(c.frequency, c.recency, c.t);
        let x = c.frequency;
        let bg =
            super::BgNbd::new(self.r + x, self.alpha + c.t, self.a, self.b + x + 1.0, self.period)?;
        let p = bg.pmf_at(n, t)?;
        probability("purchase probability", if n == 0 { (1.0 - pa) + pa * p } else { pa * p })
    }
}

formulas!(MbgNbd);

impl Estimable for MbgNbd {
    type Objective<'a> = bg_family::Likelihood<'a>;

    fn objective(prep: &Prepared) -> bg_family::Likelihood<'_> {
        bg_family::Likelihood::new(prep, bg_family::MBG)
    }

    fn from_estimate([r, alpha, a, b]: [f64; 4], scale: f64, period: Period) -> Result<MbgNbd> {
        MbgNbd::new(r, alpha * scale, a, b, period)
    }
}

fn ll(m: &MbgNbd, x: f64, tx: f64, t: f64) -> f64 {
    let MbgNbd { r, alpha, a, b, .. } = *m;
    let a1 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln();
    let a2 = ln_gamma(a + b) + ln_gamma(b + x + 1.0) - ln_gamma(b) - ln_gamma(a + b + x + 1.0);
    let a3 = -(r + x) * (alpha + t).ln();
    let a4 = a.ln() - (b + x).ln() + (r + x) * ((alpha + t).ln() - (alpha + tx).ln());
    a1 + a2 + a3 + softplus(a4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clv::fit::checks;
    #[allow(unused_imports)]
    use crate::clv::{PurchaseModel, Span};
    #[allow(unused_imports)]
    use crate::rfm::Period;

    #[test]
    fn gradient_matches_finite_differences() {
        let customers = [
            Customer::new(0.0, 0.0, 38.0, Period::WEEK).unwrap(),
            Customer::new(2.0, 30.43, 38.86, Period::WEEK).unwrap(),
            Customer::new(300.0, 20.0, 38.0, Period::WEEK).unwrap(),
        ];
        let h = Histogram::from_customers(&customers).unwrap();
        let prep = Prepared::new(&h).unwrap();
        checks::gradient_matches_finite_differences(
            &bg_family::Likelihood::new(&prep, bg_family::MBG),
            [0.5, 0.16, 0.9, 1.6],
        );
    }

    #[test]
    fn unconditional_equals_direct_formula() {
        // b/(a−1) · [1 − (α/(α+t))^r 2F1(r, b+1; a+b; t/(α+t))], untransformed.
        let m = MbgNbd::new(0.525, 6.183, 0.891, 1.614, Period::WEEK).unwrap();
        let t = 20.0;
        let (r, al, a, b): (f64, f64, f64, f64) = (0.525, 6.183, 0.891, 1.614);
        let direct = b / (a - 1.0)
            * (1.0 - (al / (al + t)).powf(r) * hyp2f1(r, b + 1.0, a + b, t / (al + t)).unwrap());
        let got = m.expected_purchases(Span::weeks(t).unwrap()).unwrap();
        assert!((got / direct - 1.0).abs() < 1e-12, "{got} vs {direct}");
    }

    #[test]
    fn pmf_equals_the_literal_lifetimes_expression() {
        // lifetimes' ModifiedBetaGeoFitter.probability_of_n_purchases_up_to_time, term by term
        // with plain Gamma/Beta functions and the finite sum over j = 0..n−1.
        use statrs::function::gamma::gamma;
        let (r, al, a, b) = (0.5248_f64, 6.1830_f64, 0.8914_f64, 1.6140_f64);
        let m = MbgNbd::new(r, al, a, b, Period::WEEK).unwrap();
        let beta = |x: f64, y: f64| gamma(x) * gamma(y) / gamma(x + y);
        for t in [0.5, 10.0, 39.0] {
            for n in 0..12u32 {
                let nf = f64::from(n);
                let first =
                    beta(a, b + nf + 1.0) / beta(a, b) * gamma(r + nf) / gamma(r) / gamma(nf + 1.0)
                        * (al / (al + t)).powf(r)
                        * (t / (al + t)).powf(nf);
                let finite_sum: f64 = (0..n)
                    .map(|j| {
                        let j = f64::from(j);
                        gamma(r + j) / gamma(r) / gamma(j + 1.0) * (t / (al + t)).powf(j)
                    })
                    .sum();
                let second = beta(a + 1.0, b + nf) / beta(a, b)
                    * (1.0 - (al / (al + t)).powf(r) * finite_sum);
                let want = first + second;
                let got = m.probability_of_purchases(n, Span::weeks(t).unwrap()).unwrap();
                assert!((got - want).abs() < 1e-12, "t {t} n {n}: {got} vs {want}");
            }
        }
    }
}
