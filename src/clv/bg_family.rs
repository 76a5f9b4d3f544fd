//! What BG/NBD and MBG/NBD share: the per-customer formulas (likelihood, P(alive), the
//! conditional expectation and both PMFs), the fit, and the likelihood with its exact gradient
//! and Hessian in one pass over the histogram. The two models differ only by the [`Family`]
//! constants below; each model's file keeps its parameters, docs and `E[X(t)]`.
//!
//! Both models give a customer `(x, t_x, T)` the log-likelihood
//!
//! ```text
//! ln L = A(x) − (r+x) ln(α+T) + [softplus(d)],   d = c(x) − (r+x) (ln(α+t_x) − ln(α+T))
//! A(x) = ln Γ(r+x)/Γ(r) + r ln α + ln Γ(b+x+o)/Γ(b) − ln Γ(a+b+x+o)/Γ(a+b)
//! c(x) = ln a − ln(b+x−1+o)
//! ```
//!
//! with `o = 0` and the bracket only for `x > 0` (BG/NBD, FHL 2005 eq. 6), or `o = 1` and the
//! bracket for every row (MBG/NBD, Batislam et al. 2007). Everything but the bracket's
//! `softplus` depends on the row through `x` and `ln(α+τ)` only, so a row costs one `exp` and
//! one `ln` and adds scalar sums per distinct frequency; the derivatives of `A` and `c` are
//! taken once per frequency. The Hessian of the bracket is `σ(1−σ) ∇d ∇dᵀ + σ ∇²d` with
//! `σ = softplus'(d)`, so it needs per row only products of quantities already at hand.

use crate::error::Result;
use crate::rfm::Period;

use super::fit::{Estimable, Names, Objective};
use super::histogram::Prepared;
use super::optim::second_order;
use super::purchase::sealed::Formulas;
use super::special::{
    hyp2f1, hyp2f1_many, ln_gamma, ln_rising_ratio, ln_rising_table, logistic_of_neg, numerical,
    softplus, Real,
};
use super::{finite, probability, Customer, PurchaseModel};

/// Which of the two models.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Family {
    /// `o`: 0 for BG/NBD, 1 for MBG/NBD.
    pub offset: f64,
    /// Whether rows with `x = 0` carry the dropout bracket (MBG/NBD).
    pub dropout_at_zero: bool,
}

/// BG/NBD's shape of the likelihood.
pub(crate) const BG: Family = Family { offset: 0.0, dropout_at_zero: false };
/// MBG/NBD's shape of the likelihood.
pub(crate) const MBG: Family = Family { offset: 1.0, dropout_at_zero: true };

/// Half-width of the symmetric average used at the removable singularities `a = 1` and
/// `a + b + x − 1 = 0`.
pub(crate) const A_ONE_STEP: f64 = 1e-5;

/// A model of the family: its parameters and which of the two it is. Implementing it gives the
/// model its formulas ([`Formulas`], hence the provided methods of
/// [`PurchaseModel`]) and its fit ([`Estimable`]).
pub(crate) trait Variant: PurchaseModel {
    /// The model's family constants.
    const FAMILY: Family;

    /// The model's name in messages (`bg/nbd`).
    const NAME: &'static str;

    /// The model at `[r, α, a, b]` in `period`, validated.
    fn at(params: [f64; 4], period: Period) -> Result<Self>;

    /// The shared formulas at this model's parameters.
    fn shape(&self) -> Shape {
        let [r, alpha, a, b] = self.parameters();
        Shape { r, alpha, a, b, family: Self::FAMILY }
    }

    /// `E[X(t)]`, the one formula the models do not share in form (each model's file).
    fn unconditional_mean(&self, t: f64) -> Result<f64>;
}

impl<M: Variant> Formulas for M {
    fn ll_at(&self, x: f64, tx: f64, t: f64) -> Result<f64> {
        Ok(self.shape().ll(x, tx, t))
    }
    fn p_alive_at(&self, x: f64, tx: f64, t: f64) -> Result<f64> {
        Ok(self.shape().p_alive(x, tx, t))
    }
    fn expected_at(&self, t: f64) -> Result<f64> {
        self.unconditional_mean(t)
    }
    fn conditional_expected_at(&self, c: &Customer, t: f64) -> Result<f64> {
        self.shape().conditional_expected(c, t)
    }
    fn pmf_at(&self, n: u32, t: f64) -> Result<f64> {
        self.shape().pmf(n, t)
    }
    fn conditional_pmf_at(&self, c: &Customer, n: u32, t: f64) -> Result<f64> {
        self.shape().conditional_pmf(c, n, t)
    }
}

impl<M: Variant> Estimable for M {
    const NAMES: Names<4> = Names { model: M::NAME, parameters: ["r", "alpha", "a", "b"] };

    type Objective<'a> = Likelihood<'a>;

    fn objective(prep: &Prepared) -> Likelihood<'_> {
        Likelihood::new(prep, M::FAMILY)
    }

    fn from_estimate([r, alpha, a, b]: [f64; 4], scale: f64, period: Period) -> Result<M> {
        M::at([r, alpha * scale, a, b], period)
    }
}

/// Parameters `r, α, a, b` of either model with its family: the formulas written once. `o` in
/// the comments is the family's offset.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shape {
    r: f64,
    alpha: f64,
    a: f64,
    b: f64,
    family: Family,
}

impl Shape {
    /// ln L of one customer (the module docs' form, with `ln Γ` directly).
    pub(crate) fn ll(&self, x: f64, tx: f64, t: f64) -> f64 {
        let Shape { r, alpha, a, b, family } = *self;
        let o = family.offset;
        let a1 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln();
        let a2 = ln_gamma(a + b) + ln_gamma(b + x + o) - ln_gamma(b) - ln_gamma(a + b + x + o);
        let a3 = -(r + x) * (alpha + t).ln();
        if x > 0.0 || family.dropout_at_zero {
            let d =
                a.ln() - (b + x - 1.0 + o).ln() + (r + x) * ((alpha + t).ln() - (alpha + tx).ln());
            a1 + a2 + a3 + softplus(d)
        } else {
            a1 + a2 + a3
        }
    }

    /// `P(alive | x, t_x, T) = 1/(1 + a/(b+x−1+o) · ((α+T)/(α+t_x))^(r+x))` (Fader & Hardie
    /// note 021 for BG/NBD); exactly 1 for BG/NBD at `x = 0`, whose customers drop out only
    /// right after a repeat purchase.
    pub(crate) fn p_alive(&self, x: f64, tx: f64, t: f64) -> f64 {
        if x == 0.0 && !self.family.dropout_at_zero {
            return 1.0;
        }
        let d = (self.r + x) * ((self.alpha + t) / (self.alpha + tx)).ln()
            + (self.a / (self.b + x - 1.0 + self.family.offset)).ln();
        logistic_of_neg(d)
    }

    /// `E[Y(t) | x, t_x, T]`: expected purchases in `(T, T+t]` (FHL 2005 eq. 10, lifetimes'
    /// `conditional_expected_number_of_purchases_up_to_time`).
    pub(crate) fn conditional_expected(&self, c: &Customer, t: f64) -> Result<f64> {
        let pa = self.p_alive(c.frequency, c.recency, c.t);
        finite("conditional expected purchases", self.conditional_mean(c.frequency, c.t, t)? * pa)
    }

    /// `(k+x)/(a−1) · [1 − ((α+T)/(α+T+t))^(a−1) · 2F1(k−r, a−1; k+x; z)]` with
    /// `k = a+b−1+o` and `z = t/(α+T+t)`: the conditional expectation of an alive customer.
    pub(crate) fn conditional_mean(&self, x: f64, big_t: f64, t: f64) -> Result<f64> {
        if t == 0.0 {
            return Ok(0.0);
        }
        let (o, r) = (self.family.offset, self.r);
        let z = t / (self.alpha + big_t + t);
        let ln1z = ((self.alpha + big_t) / (self.alpha + big_t + t)).ln();
        let g = |a: f64, b: f64| -> Result<f64> {
            let k = a + b - 1.0 + o;
            let h = hyp2f1(k - r, a - 1.0, k + x, z)?;
            let bracket = -(((a - 1.0) * ln1z).exp_m1() * h + (h - 1.0));
            Ok((k + x) / (a - 1.0) * bracket)
        };
        // a + b + x − 1 = 0 (BG/NBD at x = 0, a + b = 1) is a pole of the 2F1 cancelled by the
        // prefactor: the value is smooth in b, so average b ± h there, as for a = 1 below.
        let f = |a: f64| -> Result<f64> {
            if o == 0.0 && (a + self.b + x - 1.0).abs() < A_ONE_STEP {
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

    /// [`Shape::conditional_mean`] at several horizons for one alive customer (the CLV inner
    /// loop: one batch of 2F1 series sharing their parameters); `zs` is scratch space.
    pub(crate) fn conditional_means(
        &self,
        x: f64,
        big_t: f64,
        ts: &[f64],
        zs: &mut [f64],
        out: &mut [f64],
    ) -> Result<()> {
        let (a, o) = (self.a, self.family.offset);
        let k = a + self.b - 1.0 + o;
        if (a - 1.0).abs() < A_ONE_STEP || (o == 0.0 && (k + x).abs() < 2.0 * A_ONE_STEP) {
            for (out, t) in out.iter_mut().zip(ts) {
                *out = self.conditional_mean(x, big_t, *t)?;
            }
            return Ok(());
        }
        for (z, t) in zs.iter_mut().zip(ts) {
            *z = t / (self.alpha + big_t + t);
        }
        hyp2f1_many(k - self.r, a - 1.0, k + x, zs, out)?;
        let scale = (k + x) / (a - 1.0);
        for (out, t) in out.iter_mut().zip(ts) {
            let ln1z = ((self.alpha + big_t) / (self.alpha + big_t + t)).ln();
            let h = *out;
            *out = -scale * (((a - 1.0) * ln1z).exp_m1() * h + (h - 1.0));
        }
        Ok(())
    }

    /// `P(X(t) = n)` for a customer just acquired. The customer survives the dropout chances
    /// (after each of the first `n` purchases, and at time 0 under MBG/NBD) and makes no
    /// `(n+1)`-th purchase by `t`, or drops out right after the `n`-th purchase (at time 0 when
    /// `n = 0`, MBG/NBD only), which needs that purchase by `t`:
    ///
    /// ```text
    /// P(X(t)=n) = B(a, b+n+o)/B(a,b) · Γ(r+n)/(Γ(r) n!) · (α/(α+t))^r · (t/(α+t))^n
    ///           + B(a+1, b+n−1+o)/B(a,b) · I_{t/(α+t)}(n, r)      (the second for n−1+o ≥ 0)
    /// ```
    ///
    /// FHL 2005 eq. 8 for BG/NBD; for MBG/NBD the expression of lifetimes'
    /// `ModifiedBetaGeoFitter.probability_of_n_purchases_up_to_time` (Batislam, Denizel &
    /// Filiztekin 2007). The negative binomial tail `1 − (α/(α+t))^r Σ_{j<n} …` is the
    /// regularised incomplete beta `I_{t/(α+t)}(n, r)` (1 for `n = 0`), so no `1 − Σ`
    /// cancellation; the Gamma and Beta ratios are taken in log space. A numerical error if the
    /// incomplete beta fails.
    pub(crate) fn pmf(&self, n: u32, t: f64) -> Result<f64> {
        if t == 0.0 {
            // X(0) = 0 surely; exact, rather than a sum of rounded exponentials.
            return Ok(if n == 0 { 1.0 } else { 0.0 });
        }
        let Shape { r, alpha, a, b, family } = *self;
        let survive = if family.dropout_at_zero { n.saturating_add(1) } else { n };
        let nf = f64::from(n);
        let nq = if n == 0 { 0.0 } else { nf * (t / (alpha + t)).ln() };
        // B(a, b+m)/B(a,b) = Π_{k<m} (b+k)/(a+b+k); Γ(r+n)/(Γ(r) n!) = Π_{k<n} (r+k)/(1+k).
        let first = (ln_rising_ratio(b, a + b, survive)
            + ln_rising_ratio(r, 1.0, n)
            + r * (alpha / (alpha + t)).ln()
            + nq)
            .exp();
        // B(a+1, b+m)/B(a,b) = a/(a+b) · Π_{k<m} (b+k)/(a+b+1+k), m = n−1+o.
        let Some(m) = survive.checked_sub(1) else {
            return probability("purchase probability", first);
        };
        let tail = if n == 0 {
            1.0
        } else {
            statrs::function::beta::checked_beta_reg(nf, r, t / (alpha + t))
                .map_err(|e| numerical("incomplete beta", e.to_string()))?
        };
        let second = ((a / (a + b)).ln() + ln_rising_ratio(b, a + b + 1.0, m)).exp() * tail;
        probability("purchase probability", first + second)
    }

    /// `P(Y(t) = n | x, t_x, T)`: probability of `n` purchases in `(T, T+t]` for a customer
    /// with history `(x, t_x, T)`.
    ///
    /// A customer who has dropped out makes no more purchases; given alive at `T`, the
    /// posterior of the purchase rate is `Gamma(r+x, α+T)` (the Poisson likelihood
    /// `λ^x e^(−λT)`), the dropout probability's is `Beta(a, b+x+o)` (the dropout chances
    /// survived; the next comes after the next purchase under both models), and by
    /// memorylessness the purchases in `(T, T+t]` follow the unconditional BG/NBD PMF with
    /// those parameters:
    ///
    /// ```text
    /// P(Y(t)=n | x, t_x, T) = (1 − P(alive)) · 1[n=0] + P(alive) · P'(X(t)=n)
    /// ```
    ///
    /// `P'` being the BG/NBD [`Shape::pmf`] at `(r+x, α+T, a, b+x+o)` (FHL 2005's conditional
    /// argument, eq. 10, applied to the PMF). Its mean is exactly
    /// [`Shape::conditional_expected`], which the tests check.
    pub(crate) fn conditional_pmf(&self, c: &Customer, n: u32, t: f64) -> Result<f64> {
        let pa = self.p_alive(c.frequency, c.recency, c.t);
        let x = c.frequency;
        let after = [self.r + x, self.alpha + c.t, self.a, self.b + x + self.family.offset];
        // The updated parameters are checked as a model's would be.
        let p = super::BgNbd::at(after, c.period)?.shape().pmf(n, t)?;
        probability("purchase probability", if n == 0 { (1.0 - pa) + pa * p } else { pa * p })
    }
}

/// The fit objective of either model on prepared data.
pub(crate) struct Likelihood<'a> {
    prep: &'a Prepared,
    family: Family,
}

impl<'a> Likelihood<'a> {
    pub(crate) fn new(prep: &'a Prepared, family: Family) -> Self {
        Likelihood { prep, family }
    }
}

impl Objective<4> for Likelihood<'_> {
    /// The likelihood written once for any [`Real`] (the dual-number form the tests check the
    /// hand-derived derivatives against).
    fn mean_nll<D: Real>(&self, p: [D; 4]) -> Option<D> {
        let [r, alpha, a, b] = p;
        let (prep, o) = (self.prep, self.family.offset);
        let (lg_r, lg_b, lg_ab) = (r.ln_gamma(), b.ln_gamma(), (a + b).ln_gamma());
        let r_ln_alpha = r * alpha.ln();
        let ln_a = a.ln();
        // Per distinct frequency: A(x), r + x and c(x).
        let mut per_x = Vec::with_capacity(prep.xs.len());
        for &x in &prep.xs {
            let rx = r + x;
            let a12 = rx.ln_gamma() - lg_r + r_ln_alpha + (b + (x + o)).ln_gamma() - lg_b + lg_ab
                - (a + b + (x + o)).ln_gamma();
            let bracket = x > 0.0 || self.family.dropout_at_zero;
            let c = if bracket { ln_a - (b + (x - 1.0 + o)).ln() } else { D::cst(0.0) };
            per_x.push((a12, rx, c));
        }
        let ln_at: Vec<D> = prep.times.iter().map(|&u| (alpha + u).ln()).collect();
        let mut total = D::cst(0.0);
        for row in &prep.rows {
            let (a12, rx, c) = *per_x.get(row.x as usize)?;
            let lt = *ln_at.get(row.t as usize)?;
            let mut l = a12 - rx * lt;
            if row.xf > 0.0 || self.family.dropout_at_zero {
                let ltx = *ln_at.get(row.tx as usize)?;
                l = l + softplus(c - rx * (ltx - lt));
            }
            total = total + l * row.w;
        }
        let f = -(total / prep.weight);
        f.val().is_finite().then_some(f)
    }

    /// Hand-derived gradient (checked against finite differences and against the dual-number
    /// form by the tests), from [`mean_nll_hessian`].
    fn mean_nll_grad(&self, p: [f64; 4]) -> Option<(f64, [f64; 4])> {
        mean_nll_hessian(self.prep, p, self.family).map(|(f, g, _)| (f, g))
    }

    fn mean_nll_hessian(&self, p: [f64; 4]) -> Option<(f64, [f64; 4], [[f64; 4]; 4])> {
        mean_nll_hessian(self.prep, p, self.family)
    }
}

/// Per-frequency sums over rows: weight, `ln(α+T)`, `1/(α+T)`, `1/(α+T)²`, the softplus, and
/// the `σ` and `σ(1−σ)` weighted moments of `Δ = ln(α+t_x) − ln(α+T)` and
/// `Δq = 1/(α+t_x) − 1/(α+T)`.
#[derive(Clone, Copy, Default)]
struct Sums {
    w: f64,
    l: f64,
    q: f64,
    q2: f64,
    sp: f64,
    s: f64,
    s_d: f64,
    s_dq: f64,
    s_dq2: f64,
    v: f64,
    v_d: f64,
    v_dq: f64,
    v_dd: f64,
    v_ddq: f64,
    v_dqdq: f64,
}

/// Mean negative log-likelihood at `[r, α, a, b]` with its gradient and Hessian; `None`
/// outside the domain or when a value is not finite.
// One pass that accumulates every sum and then assembles value, gradient and Hessian: split,
// the pieces would have to pass fifteen sums per frequency between them.
#[allow(clippy::too_many_lines)]
pub(crate) fn mean_nll_hessian(
    prep: &Prepared,
    p: [f64; 4],
    family: Family,
) -> Option<(f64, [f64; 4], [[f64; 4]; 4])> {
    let [r, alpha, a, b] = p;
    let o = family.offset;
    let (mut rise_r, mut rise_b, mut rise_ab) = (Vec::new(), Vec::new(), Vec::new());
    ln_rising_table(r, &prep.xs, 0.0, &mut rise_r);
    ln_rising_table(b, &prep.xs, o, &mut rise_b);
    ln_rising_table(a + b, &prep.xs, o, &mut rise_ab);
    let ln_a = a.ln();
    // Per distinct x: c(x) and 1/(b+x−1+o) (unused when the row has no bracket).
    let per_x: Vec<(f64, f64)> = prep
        .xs
        .iter()
        .map(|&x| {
            let u = b + (x - 1.0 + o);
            if u > 0.0 {
                (ln_a - u.ln(), 1.0 / u)
            } else {
                (0.0, 0.0)
            }
        })
        .collect();
    // Per distinct time: ln(α+τ), 1/(α+τ).
    let lq: Vec<(f64, f64)> =
        prep.times.iter().map(|&u| ((alpha + u).ln(), 1.0 / (alpha + u))).collect();
    let mut sums = vec![Sums::default(); prep.xs.len()];
    for row in &prep.rows {
        let acc = sums.get_mut(row.x as usize)?;
        let &(l_t, q_t) = lq.get(row.t as usize)?;
        let w = row.w;
        acc.w += w;
        acc.l += w * l_t;
        acc.q += w * q_t;
        acc.q2 += w * q_t * q_t;
        if row.xf > 0.0 || family.dropout_at_zero {
            let &(l_tx, q_tx) = lq.get(row.tx as usize)?;
            let c = per_x.get(row.x as usize)?.0;
            let dl = l_tx - l_t;
            let dq = q_tx - q_t;
            let d = c - (r + row.xf) * dl;
            let e = (-d.abs()).exp();
            let inv = 1.0 / (1.0 + e);
            let sigma = if d > 0.0 { inv } else { e * inv };
            // σ(1−σ) = e/(1+e)² on either side.
            let v = w * e * inv * inv;
            let ws = w * sigma;
            acc.sp += w * (d.max(0.0) + (1.0 + e).ln());
            acc.s += ws;
            acc.s_d += ws * dl;
            acc.s_dq += ws * dq;
            acc.s_dq2 += ws * (q_tx * q_tx - q_t * q_t);
            acc.v += v;
            acc.v_d += v * dl;
            acc.v_dq += v * dq;
            acc.v_dd += v * dl * dl;
            acc.v_ddq += v * dl * dq;
            acc.v_dqdq += v * dq * dq;
        }
    }
    let ln_alpha = alpha.ln();
    let mut ll = 0.0;
    let mut g = [0.0; 4];
    let mut h = [[0.0; 4]; 4];
    for (i, (&x, s)) in prep.xs.iter().zip(&sums).enumerate() {
        let (gr, gb, gab) = (rise_r.get(i)?, rise_b.get(i)?, rise_ab.get(i)?);
        let rx = r + x;
        // A(x) and its derivatives.
        ll += s.w * (gr[0] + r * ln_alpha + gb[0] - gab[0]);
        g[0] += s.w * (gr[1] + ln_alpha);
        g[1] += s.w * r / alpha;
        g[2] -= s.w * gab[1];
        g[3] += s.w * (gb[1] - gab[1]);
        h[0][0] += s.w * gr[2];
        h[0][1] += s.w / alpha;
        h[1][1] -= s.w * r / (alpha * alpha);
        h[2][2] -= s.w * gab[2];
        h[2][3] -= s.w * gab[2];
        h[3][3] += s.w * (gb[2] - gab[2]);
        // −(r+x) ln(α+T).
        ll -= rx * s.l;
        g[0] -= s.l;
        g[1] -= rx * s.q;
        h[0][1] -= s.q;
        h[1][1] += rx * s.q2;
        // softplus(d): ∇d = [−Δ, −(r+x)Δq, 1/a, −1/(b+x−1+o)].
        let (ca, cb) = (1.0 / a, -per_x.get(i)?.1);
        ll += s.sp;
        g[0] -= s.s_d;
        g[1] -= rx * s.s_dq;
        g[2] += ca * s.s;
        g[3] += cb * s.s;
        h[0][0] += s.v_dd;
        h[0][1] += rx * s.v_ddq - s.s_dq;
        h[0][2] -= ca * s.v_d;
        h[0][3] -= cb * s.v_d;
        h[1][1] += rx * rx * s.v_dqdq + rx * s.s_dq2;
        h[1][2] -= rx * ca * s.v_dq;
        h[1][3] -= rx * cb * s.v_dq;
        h[2][2] += ca * ca * (s.v - s.s);
        h[2][3] += ca * cb * s.v;
        h[3][3] += cb * cb * (s.v + s.s);
    }
    let n = prep.weight;
    second_order(-ll / n, g.map(|v| -v / n), |i, j| -h[i][j] / n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clv::fit::checks;
    use crate::clv::{Customer, Histogram};
    use crate::rfm::Period;

    /// The one pass's gradient equals the dual-number gradient of the generic value, and its
    /// Hessian equals differences of that gradient, for both models: rows with `x = 0` (with
    /// and without the bracket), `t_x < T`, and large frequencies (the `ln Γ` path of the
    /// rising tables).
    #[test]
    fn hand_gradient_and_hessian_equal_the_dual_forms() {
        let customers = [
            Customer::new(0.0, 0.0, 38.0, Period::WEEK).unwrap(),
            Customer::new(0.0, 0.0, 30.0, Period::WEEK).unwrap(),
            Customer::new(2.0, 30.43, 38.86, Period::WEEK).unwrap(),
            Customer::new(2.0, 10.0, 38.86, Period::WEEK).unwrap(),
            Customer::new(26.0, 30.85714, 31.0, Period::WEEK).unwrap(),
            Customer::new(500.0, 20.0, 38.0, Period::WEEK).unwrap(),
        ];
        let h = Histogram::from_customers(&customers).unwrap();
        let prep = Prepared::new(&h).unwrap();
        for family in [BG, MBG] {
            let obj = Likelihood::new(&prep, family);
            for p in [[0.3, 0.12, 0.8, 2.4], [2.0, 3.0, 0.2, 0.1], [0.01, 0.5, 5.0, 30.0]] {
                checks::hand_gradient_equals_dual_gradient(&obj, p);
                checks::hessian_matches_gradient_differences(&obj, p);
            }
        }
    }
}
