//! BG/NBD (Fader, Hardie & Lee 2005).

use crate::error::Result;

use super::bg_family::{self, Family, Variant};
use super::finite;
use super::fit::{fit_model, Fit, FitOptions};
use super::histogram::Histogram;
use super::params::model_params;
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
}

impl Variant for BgNbd {
    const FAMILY: Family = bg_family::BG;
    const NAME: &'static str = "bg/nbd";

    fn at([r, alpha, a, b]: [f64; 4], period: Period) -> Result<BgNbd> {
        BgNbd::new(r, alpha, a, b, period)
    }

    /// Unconditional `E[X(t)]`: expected purchases in `(0, t]` of a customer just acquired
    /// (FHL 2005 eq. 9, Euler-transformed): the conditional mean at `x = 0`, `T = 0`; no
    /// convergence when `t/(α+t)` is so close to 1 that the series cannot be summed.
    fn unconditional_mean(&self, t: f64) -> Result<f64> {
        finite("expected purchases", self.shape().conditional_mean(0.0, 0.0, t)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clv::fit::checks;
    use crate::clv::histogram::Prepared;
    use crate::clv::{Customer, PurchaseModel, Span};

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
