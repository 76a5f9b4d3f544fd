//! The likelihood BG/NBD and MBG/NBD share, with its exact gradient and Hessian in one pass
//! over the histogram.
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

use super::fit::Objective;
use super::histogram::Prepared;
use super::optim::second_order;
use super::special::{ln_rising_table, softplus, Real};

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
