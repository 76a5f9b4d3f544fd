//! Synthetic customer bases drawn from the models (lifetimes' `generate_data`): pure functions
//! of the parameters and a host-supplied random number generator, for simulation studies and
//! for showing that fitting recovers the parameters.

use rand_core::Rng;

use crate::error::{Error, Result};

use super::{ClvModel, Customer, Horizon, TransactionModel};

/// Draws `customers` customers from `model`, each observed for `observation` from its first
/// purchase: repeat purchases, recency and `T` in the model's period from the purchase model,
/// and the mean spend of the repeat purchases from the Gamma-Gamma model (0 without repeat
/// purchases).
///
/// Per customer, as lifetimes' generators do:
///
/// - BG/NBD (Fader, Hardie & Lee 2005): `λ ~ Gamma(r, α)`, `p ~ Beta(a, b)`; purchases at
///   exponential(λ) intervals, after each of which the customer drops out with probability
///   `p`.
/// - MBG/NBD (Batislam et al. 2007): the same, with a drop-out chance at time 0 as well.
/// - Pareto/NBD (Schmittlein et al. 1987): `λ ~ Gamma(r, α)`, `μ ~ Gamma(s, β)`; purchases at
///   exponential(λ) intervals until an exponential(μ) lifetime ends.
/// - Gamma-Gamma (Fader, Hardie & Lee 2005, JMR): `ν ~ Gamma(q, γ)` and each repeat purchase's
///   value `z ~ Gamma(p, ν)` (rates).
///
/// The random numbers come from `rng`; the function is deterministic given its state. Gamma
/// variates use Marsaglia & Tsang (2000), in log space below shape 1 so that small shapes
/// do not underflow.
///
/// # Errors
///
/// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) naming `customers` when it is 0.
///
/// # Example
///
/// ```
/// use loyalty::clv::{generate, BgNbd, ClvModel, FitOptions, GammaGamma, Histogram, Horizon};
/// use loyalty::rfm::Period;
/// use rand_xorshift::XorShiftRng;
/// use rand_core::SeedableRng;
///
/// let truth = ClvModel::new(
///     BgNbd::new(0.25, 4.0, 0.8, 2.5, Period::WEEK)?,
///     GammaGamma::new(6.0, 4.0, 15.0)?,
/// );
/// let mut rng = XorShiftRng::seed_from_u64(7);
/// let customers = generate(&truth, Horizon::new(52, Period::WEEK)?, 2000, &mut rng)?;
/// assert_eq!(customers.len(), 2000);
/// assert!(customers.iter().all(|c| c.t == 52.0 && c.recency <= c.t));
/// let fit = BgNbd::fit(&Histogram::from_customers(&customers)?, &FitOptions::default())?;
/// assert!((fit.params.r() - 0.25).abs() < 3.0 * fit.report.standard_errors[0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn generate<R: Rng + ?Sized>(
    model: &ClvModel,
    observation: Horizon,
    customers: usize,
    rng: &mut R,
) -> Result<Vec<Customer>> {
    if customers == 0 {
        return Err(Error::invalid("customers", 0, "must be at least 1"));
    }
    let t = observation.in_periods(model.period());
    let spend = model.spend();
    let mut out = Vec::with_capacity(customers);
    for _ in 0..customers {
        let (x, recency) = match model.purchases() {
            TransactionModel::BgNbd(m) => {
                let lambda = gamma(rng, m.r()) / m.alpha();
                let p = beta(rng, m.a(), m.b());
                geometric_dropout(rng, lambda, p, t, false)
            }
            TransactionModel::MbgNbd(m) => {
                let lambda = gamma(rng, m.r()) / m.alpha();
                let p = beta(rng, m.a(), m.b());
                geometric_dropout(rng, lambda, p, t, true)
            }
            TransactionModel::ParetoNbd(m) => {
                let lambda = gamma(rng, m.r()) / m.alpha();
                let mu = gamma(rng, m.s()) / m.beta();
                let end = t.min(exponential(rng) / mu);
                purchases_until(rng, lambda, end)
            }
        };
        let monetary_value = if x == 0 {
            0.0
        } else {
            let nu = gamma(rng, spend.q()) / spend.v();
            (0..x).map(|_| gamma(rng, spend.p()) / nu).sum::<f64>() / f64::from(x)
        };
        out.push(Customer {
            frequency: f64::from(x),
            recency,
            t,
            monetary_value,
            period: model.period(),
        });
    }
    Ok(out)
}

/// BG/NBD and MBG/NBD purchases in `(0, t]`: repeat purchases and the time of the last.
fn geometric_dropout<R: Rng + ?Sized>(
    rng: &mut R,
    lambda: f64,
    p: f64,
    t: f64,
    dropout_at_zero: bool,
) -> (u32, f64) {
    let (mut x, mut last) = (0u32, 0.0);
    if dropout_at_zero && uniform(rng) < p {
        return (x, last);
    }
    let mut next = exponential(rng) / lambda;
    while next <= t && x < u32::MAX {
        x += 1;
        last = next;
        if uniform(rng) < p {
            break;
        }
        next += exponential(rng) / lambda;
    }
    (x, last)
}

/// Poisson(λ) purchases in `(0, end]`: their number and the time of the last.
fn purchases_until<R: Rng + ?Sized>(rng: &mut R, lambda: f64, end: f64) -> (u32, f64) {
    let (mut x, mut last) = (0u32, 0.0);
    let mut next = exponential(rng) / lambda;
    while next <= end && x < u32::MAX {
        x += 1;
        last = next;
        next += exponential(rng) / lambda;
    }
    (x, last)
}

/// A uniform variate in `(0, 1)`: 53 random bits, never 0.
fn uniform<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    loop {
        let u = (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
        if u > 0.0 {
            return u;
        }
    }
}

fn exponential<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    -uniform(rng).ln()
}

/// A standard normal variate (Marsaglia's polar method, one of the pair).
fn normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    loop {
        let u = 2.0 * uniform(rng) - 1.0;
        let v = 2.0 * uniform(rng) - 1.0;
        let s = u * u + v * v;
        if s > 0.0 && s < 1.0 {
            return u * (-2.0 * s.ln() / s).sqrt();
        }
    }
}

/// `ln G` for `G ~ Gamma(shape, 1)`: Marsaglia & Tsang (2000), with `G(k) = G(k+1) U^(1/k)`
/// for `k < 1` taken in logs (a shape of 0.05 gives variates below 1e-300).
fn ln_gamma_variate<R: Rng + ?Sized>(rng: &mut R, shape: f64) -> f64 {
    if shape < 1.0 {
        return ln_gamma_variate(rng, shape + 1.0) + uniform(rng).ln() / shape;
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let z = normal(rng);
        let v = 1.0 + c * z;
        if v <= 0.0 {
            continue;
        }
        let v3 = v * v * v;
        let u = uniform(rng);
        if u.ln() < 0.5 * z * z + d - d * v3 + d * v3.ln() {
            return d.ln() + v3.ln();
        }
    }
}

fn gamma<R: Rng + ?Sized>(rng: &mut R, shape: f64) -> f64 {
    ln_gamma_variate(rng, shape).exp()
}

/// `Beta(a, b)` as `X / (X + Y)` of two gamma variates, from their logs so that small shapes
/// give 0 < p < 1 rather than 0 / 0.
fn beta<R: Rng + ?Sized>(rng: &mut R, a: f64, b: f64) -> f64 {
    let lx = ln_gamma_variate(rng, a);
    let ly = ln_gamma_variate(rng, b);
    1.0 / (1.0 + (ly - lx).exp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;
    use rand_xorshift::XorShiftRng;

    #[test]
    fn variates_have_their_moments() {
        let mut rng = XorShiftRng::seed_from_u64(1);
        let n = 200_000;
        for shape in [0.3, 1.0, 4.5] {
            let xs: Vec<f64> = (0..n).map(|_| gamma(&mut rng, shape)).collect();
            let mean = xs.iter().sum::<f64>() / n as f64;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
            // Gamma(k, 1): mean k, variance k; 5 standard errors of the mean.
            assert!((mean - shape).abs() < 5.0 * (shape / n as f64).sqrt(), "{shape}: {mean}");
            assert!((var / shape - 1.0).abs() < 0.05, "{shape}: {var}");
        }
        let (a, b) = (0.8, 2.5);
        let ps: Vec<f64> = (0..n).map(|_| beta(&mut rng, a, b)).collect();
        let mean = ps.iter().sum::<f64>() / n as f64;
        assert!((mean - a / (a + b)).abs() < 0.003, "{mean}");
        assert!(ps.iter().all(|p| *p > 0.0 && *p < 1.0));
        // Tiny shapes stay positive and finite.
        assert!((0..1000).all(|_| {
            let g = gamma(&mut rng, 0.02);
            g.is_finite() && g >= 0.0
        }));
    }
}
