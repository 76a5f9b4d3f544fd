//! MBG/NBD (Batislam, Denizel & Filiztekin 2007; Wagner & Hoppe 2008 erratum).

use crate::error::Result;

use super::bg_family::{self, Family, Variant};
use super::finite;
use super::fit::{fit_model, Fit, FitOptions};
use super::histogram::Histogram;
use super::params::model_params;
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
}

impl Variant for MbgNbd {
    const FAMILY: Family = bg_family::MBG;
    const NAME: &'static str = "mbg/nbd";

    fn at([r, alpha, a, b]: [f64; 4], period: Period) -> Result<MbgNbd> {
        MbgNbd::new(r, alpha, a, b, period)
    }

    /// Unconditional `E[X(t)] = b/(a−1) · [1 − (α/(α+t))^r 2F1(r, b+1; a+b; t/(α+t))]`: the
    /// conditional mean at `x = 0`, `T = 0` (prefactor `(a+b)/(a−1)`) scaled by `b/(a+b)`.
    fn unconditional_mean(&self, t: f64) -> Result<f64> {
        let scale = self.b / (self.a + self.b);
        finite("expected purchases", scale * self.shape().conditional_mean(0.0, 0.0, t)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clv::fit::checks;
    use crate::clv::histogram::Prepared;
    use crate::clv::special::hyp2f1;
    use crate::clv::{Customer, PurchaseModel, Span};

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
