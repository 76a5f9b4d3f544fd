//! Special functions for the CLV models: `ln Γ`, `ψ` (from `statrs`), the Gauss
//! hypergeometric function `2F1` (in-crate: no maintained crate ships one), log-sum-exp, and
//! forward-mode dual numbers so every likelihood is written once and differentiated exactly.
//!
//! # References
//!
//! - Abramowitz & Stegun (1964), 15.1.1 (the `2F1` series) and 15.3.3 (Euler's transformation
//!   `2F1(a, b; c; z) = (1−z)^(c−a−b) 2F1(c−a, c−b; c; z)`).
//! - Fader & Hardie, note 027 (2013), "Overcoming the BG/NBD model's #NUM! error problem".

use std::ops::{Add, Div, Mul, Neg, Sub};

use crate::error::{Error, ErrorKind, Result};

/// Upper bound on the number of `2F1` series terms before giving up with
/// [`ErrorKind::NoConvergence`]; reached only for `z` within about `2e-4` of 1 (horizons thousands of times `α + T`).
pub(crate) const MAX_SERIES_TERMS: usize = 200_000;

/// Series-term budget inside likelihood evaluations during a fit: enough for `z` up to about
/// 0.99 (rates `α`, `β` within a factor 100 of each other); beyond it the objective is treated
/// as infinite so the optimiser stays where evaluations are cheap and accurate.
pub(crate) const FIT_SERIES_TERMS: usize = 5_000;

/// Relative size of the last term at which a series is considered summed.
const SERIES_EPS: f64 = 1e-17;

/// The arithmetic the likelihoods need, implemented for `f64` and for [`Dual`] numbers.
pub(crate) trait Real:
    Copy
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + Add<f64, Output = Self>
    + Sub<f64, Output = Self>
    + Mul<f64, Output = Self>
    + Div<f64, Output = Self>
{
    /// A constant.
    fn cst(v: f64) -> Self;
    /// The value (dropping derivatives).
    fn val(self) -> f64;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// Exponential.
    fn exp(self) -> Self;
    /// `ln(1 + x)`.
    fn ln_1p(self) -> Self;
    /// `ln Γ(x)` for `x > 0`.
    fn ln_gamma(self) -> Self;
    /// A value `v` of a function of `args`, given its partial derivatives `∂v/∂args[i]`.
    fn lift<const K: usize>(v: f64, args: [(f64, Self); K]) -> Self;
}

impl Real for f64 {
    #[inline]
    fn cst(v: f64) -> f64 {
        v
    }
    #[inline]
    fn val(self) -> f64 {
        self
    }
    #[inline]
    fn ln(self) -> f64 {
        f64::ln(self)
    }
    #[inline]
    fn exp(self) -> f64 {
        f64::exp(self)
    }
    #[inline]
    fn ln_1p(self) -> f64 {
        f64::ln_1p(self)
    }
    #[inline]
    fn ln_gamma(self) -> f64 {
        ln_gamma(self)
    }
    #[inline]
    fn lift<const K: usize>(v: f64, _args: [(f64, f64); K]) -> f64 {
        v
    }
}

/// `ln Γ(x)` for `x > 0` (statrs' Lanczos approximation, about 1e-15 relative).
#[inline]
pub(crate) fn ln_gamma(x: f64) -> f64 {
    statrs::function::gamma::ln_gamma(x)
}

/// `ln B(a, b)`.
#[inline]
pub(crate) fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// A forward-mode dual number: a value and its gradient with respect to `N` variables.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Dual<const N: usize> {
    /// Value.
    pub v: f64,
    /// Partial derivatives.
    pub d: [f64; N],
}

impl<const N: usize> Dual<N> {
    /// The `i`-th of `N` independent variables, at value `v`, with derivative `dv`.
    pub(crate) fn var(v: f64, i: usize, dv: f64) -> Self {
        let mut d = [0.0; N];
        if let Some(slot) = d.get_mut(i) {
            *slot = dv;
        }
        Dual { v, d }
    }

    #[inline]
    fn chain(self, v: f64, dv: f64) -> Self {
        let mut d = self.d;
        for x in &mut d {
            *x *= dv;
        }
        Dual { v, d }
    }
}

impl<const N: usize> Add for Dual<N> {
    type Output = Self;
    #[inline]
    fn add(self, o: Self) -> Self {
        let mut d = self.d;
        for (x, y) in d.iter_mut().zip(o.d) {
            *x += y;
        }
        Dual { v: self.v + o.v, d }
    }
}

impl<const N: usize> Sub for Dual<N> {
    type Output = Self;
    #[inline]
    fn sub(self, o: Self) -> Self {
        let mut d = self.d;
        for (x, y) in d.iter_mut().zip(o.d) {
            *x -= y;
        }
        Dual { v: self.v - o.v, d }
    }
}

impl<const N: usize> Mul for Dual<N> {
    type Output = Self;
    #[inline]
    fn mul(self, o: Self) -> Self {
        let mut d = self.d;
        for (x, y) in d.iter_mut().zip(o.d) {
            *x = *x * o.v + self.v * y;
        }
        Dual { v: self.v * o.v, d }
    }
}

impl<const N: usize> Div for Dual<N> {
    type Output = Self;
    #[inline]
    fn div(self, o: Self) -> Self {
        let v = self.v / o.v;
        let inv = 1.0 / o.v;
        let mut d = self.d;
        for (x, y) in d.iter_mut().zip(o.d) {
            *x = (*x - v * y) * inv;
        }
        Dual { v, d }
    }
}

impl<const N: usize> Neg for Dual<N> {
    type Output = Self;
    #[inline]
    fn neg(self) -> Self {
        self.chain(-self.v, -1.0)
    }
}

impl<const N: usize> Add<f64> for Dual<N> {
    type Output = Self;
    #[inline]
    fn add(self, o: f64) -> Self {
        Dual { v: self.v + o, d: self.d }
    }
}

impl<const N: usize> Sub<f64> for Dual<N> {
    type Output = Self;
    #[inline]
    fn sub(self, o: f64) -> Self {
        Dual { v: self.v - o, d: self.d }
    }
}

impl<const N: usize> Mul<f64> for Dual<N> {
    type Output = Self;
    #[inline]
    fn mul(self, o: f64) -> Self {
        self.chain(self.v * o, o)
    }
}

impl<const N: usize> Div<f64> for Dual<N> {
    type Output = Self;
    #[inline]
    fn div(self, o: f64) -> Self {
        self.chain(self.v / o, 1.0 / o)
    }
}

impl<const N: usize> Real for Dual<N> {
    #[inline]
    fn cst(v: f64) -> Self {
        Dual { v, d: [0.0; N] }
    }
    #[inline]
    fn val(self) -> f64 {
        self.v
    }
    #[inline]
    fn ln(self) -> Self {
        self.chain(self.v.ln(), 1.0 / self.v)
    }
    #[inline]
    fn exp(self) -> Self {
        let e = self.v.exp();
        self.chain(e, e)
    }
    #[inline]
    fn ln_1p(self) -> Self {
        self.chain(self.v.ln_1p(), 1.0 / (1.0 + self.v))
    }
    #[inline]
    fn ln_gamma(self) -> Self {
        self.chain(ln_gamma(self.v), statrs::function::gamma::digamma(self.v))
    }
    #[inline]
    fn lift<const K: usize>(v: f64, args: [(f64, Self); K]) -> Self {
        let mut d = [0.0; N];
        for (partial, x) in args {
            for (o, dx) in d.iter_mut().zip(x.d) {
                *o += partial * dx;
            }
        }
        Dual { v, d }
    }
}

/// `ln(1 + e^a)` without overflow.
///
/// `ln(1 + u)` for `u = e^(−|a|) ∈ [0, 1]` is taken as `ln` of `1 + u`: its absolute error is
/// below 2.3e-16, which is all a log-likelihood sum needs, and glibc's `ln` is several times
/// faster than its `log1p` (the likelihoods' hot spot).
#[inline]
pub(crate) fn softplus<D: Real>(a: D) -> D {
    if a.val() > 0.0 {
        a + ((-a).exp() + 1.0).ln()
    } else {
        (a.exp() + 1.0).ln()
    }
}

/// `1 / (1 + e^a)`, exactly 0 for huge `a` and exactly 1 for very negative `a`, with no
/// overflow.
#[inline]
pub(crate) fn logistic_of_neg(a: f64) -> f64 {
    if a > 0.0 {
        let e = (-a).exp();
        e / (1.0 + e)
    } else {
        1.0 / (1.0 + a.exp())
    }
}

/// The Gauss hypergeometric function `2F1(a, b; c; z)` for real parameters and `0 ≤ z < 1`,
/// summed as its power series (A&S 15.1.1).
///
/// Callers pass Euler-transformed arguments (A&S 15.3.3) so that large frequencies do not make
/// the terms grow before they shrink.
///
/// # Errors
///
/// [`ErrorKind::InvalidInput`] for non-finite parameters, `z` outside `[0, 1)`, or `c` a
/// non-positive integer (a pole); [`ErrorKind::NoConvergence`] when the series needs more than
/// 200,000 terms (`z` within about 2e-4 of 1); [`ErrorKind::Numerical`] when the sum
/// overflows.
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> Result<f64> {
    check_hyp2f1_args(a, b, c, z)?;
    let mut sum = 1.0;
    let mut term = 1.0;
    let mut k = 0.0;
    for _ in 0..MAX_SERIES_TERMS {
        let ratio = (a + k) * (b + k) / ((c + k) * (k + 1.0)) * z;
        term *= ratio;
        sum += term;
        if term == 0.0 || (ratio.abs() < 1.0 && term.abs() <= SERIES_EPS * sum.abs()) {
            return finite_sum(sum);
        }
        if !sum.is_finite() {
            return finite_sum(sum);
        }
        k += 1.0;
        if hopeless(k, term, sum, ratio, z) {
            break;
        }
    }
    Err(ErrorKind::NoConvergence { method: "hyp2f1 series", iterations: MAX_SERIES_TERMS }.into())
}

/// Every 4096 terms: `true` when even at the most optimistic rate (the smaller of the current
/// term ratio and its limit `z`) the series cannot reach its tolerance within
/// [`MAX_SERIES_TERMS`], so callers fail fast instead of spinning to the cap.
#[inline]
fn hopeless(k: f64, term: f64, sum: f64, ratio: f64, z: f64) -> bool {
    // `k` counts terms (a whole number below 2^53): an integer test, where `k % 4096.0` is a
    // call to `fmod` on every term (a tenth of a Pareto/NBD fit's time).
    if (k as u64) & 4095 != 0 {
        return false;
    }
    let rate = ratio.abs().min(z);
    if !(rate > 0.0 && rate < 1.0) || term == 0.0 {
        return false;
    }
    let needed = (SERIES_EPS * sum.abs() / term.abs()).ln() / rate.ln();
    k + needed > MAX_SERIES_TERMS as f64
}

/// `2F1(a, b; c; z_i)` for several ascending `z_i` sharing the parameters: the series
/// coefficients are computed once, and each `z_i` drops out of the loop once its own sum has
/// converged. Writes into `out` (same length as `zs`).
///
/// # Errors
///
/// As [`hyp2f1`], for the largest `z`.
pub(crate) fn hyp2f1_many(a: f64, b: f64, c: f64, zs: &[f64], out: &mut [f64]) -> Result<()> {
    let n = zs.len().min(out.len());
    let (zs, out) = (&zs[..n], &mut out[..n]);
    let (Some(&zmin), Some(&zmax)) = (zs.first(), zs.last()) else {
        return Ok(());
    };
    check_hyp2f1_args(a, b, c, zmax)?;
    check_hyp2f1_args(a, b, c, zmin)?;
    let mut pows = [1.0_f64; 64];
    if n > pows.len() || zs.windows(2).any(|w| w[0] > w[1]) {
        for (o, z) in out.iter_mut().zip(zs) {
            *o = hyp2f1(a, b, c, *z)?;
        }
        return Ok(());
    }
    let pows = &mut pows[..n];
    for o in out.iter_mut() {
        *o = 1.0;
    }
    let mut coef = 1.0;
    let mut lo = 0;
    let mut k = 0.0;
    for _ in 0..MAX_SERIES_TERMS {
        let rk = (a + k) * (b + k) / ((c + k) * (k + 1.0));
        coef *= rk;
        if coef == 0.0 {
            return Ok(());
        }
        for ((o, p), z) in out[lo..].iter_mut().zip(&mut pows[lo..]).zip(&zs[lo..]) {
            *p *= z;
            *o += coef * *p;
        }
        while let (Some(o), Some(p), Some(z)) = (out.get(lo), pows.get(lo), zs.get(lo)) {
            if (rk * z).abs() < 1.0 && (coef * p).abs() <= SERIES_EPS * o.abs() {
                lo += 1;
            } else {
                break;
            }
        }
        if lo == n {
            return out.iter().try_for_each(|o| finite_sum(*o).map(|_| ()));
        }
        if !out[lo].is_finite() {
            return finite_sum(out[lo]).map(|_| ());
        }
        k += 1.0;
        if hopeless(k, coef * pows[n - 1], out[n - 1], rk * zmax, zmax) {
            break;
        }
    }
    Err(ErrorKind::NoConvergence { method: "hyp2f1 series", iterations: MAX_SERIES_TERMS }.into())
}

/// `2F1(1, b; c; z)` for `0 ≤ z < 1` and `0 < b < c`, generic over [`Real`]: every term is
/// positive and the term ratio `z (b+k)/(c+k)` is below `z`, so the partial sums rise
/// monotonically (the Pareto/NBD likelihood after Euler's transformation, Abramowitz & Stegun 15.3.3). The series is summed in
/// `f64` together with its partial derivatives in `b`, `c` and `z`
/// (`∂t_k/∂b = t_k Σ_{j<k} 1/(b+j)`, `∂t_k/∂c = −t_k Σ_{j<k} 1/(c+j)`, `∂t_k/∂z = k t_k/z`),
/// which are then chained onto the arguments' derivatives.
pub(crate) fn hyp2f1_one<D: Real>(b: D, c: D, z: D, cap: usize) -> Result<D> {
    let (bv, cv, zv) = (b.val(), c.val(), z.val());
    if !(0.0..1.0).contains(&zv) {
        return Err(Error::invalid("z", zv, "must be in [0, 1)"));
    }
    let (mut sum, mut sb, mut sc, mut sz) = (1.0, 0.0, 0.0, 0.0);
    let (mut term, mut hb, mut hc) = (1.0, 0.0, 0.0);
    let mut k = 0.0;
    for _ in 0..cap.min(MAX_SERIES_TERMS) {
        let ib = 1.0 / (bv + k);
        let ic = 1.0 / (cv + k);
        term *= (bv + k) * ic * zv;
        hb += ib;
        hc += ic;
        k += 1.0;
        sum += term;
        sb += term * hb;
        sc -= term * hc;
        sz += term * k;
        if term <= SERIES_EPS * sum {
            if !sum.is_finite() {
                return Err(numerical("hyp2f1 series", "sum overflowed"));
            }
            // Σ k t_k / z, written without dividing by a possibly zero z: t_k/z = t_{k-1}·ratio/z.
            let dz = if zv > 0.0 { sz / zv } else { bv / cv };
            return Ok(D::lift(sum, [(sb, b), (sc, c), (dz, z)]));
        }
        if hopeless(k, term, sum, (bv + k) / (cv + k) * zv, zv) {
            break;
        }
    }
    Err(ErrorKind::NoConvergence { method: "hyp2f1 series", iterations: cap.min(MAX_SERIES_TERMS) }
        .into())
}

/// [`hyp2f1_one`] at several `z` sharing `b` and `c` (the Pareto/NBD series of one frequency
/// at every time), written into `out` in the order of `zs`.
///
/// The term ratio `(b+k)/(c+k)` and the running sums `Σ 1/(b+j)` and `Σ 1/(c+j)` are the same
/// for every `z`, so a term costs three divisions once per `k` for all of them, and the sums
/// for different `z` are independent chains the processor overlaps, where one series at a
/// time waits on its own additions. Each `z` takes the same terms, in the same order and
/// rounding, as [`hyp2f1_one`]; a `z` leaves the loop once its own sum has converged and so
/// have all after it (put the larger `z` first, as a frequency's times in ascending order
/// give them).
///
/// # Errors
///
/// As [`hyp2f1_one`].
pub(crate) fn hyp2f1_one_many<D: Real>(
    b: D,
    c: D,
    zs: &[D],
    cap: usize,
    out: &mut Vec<D>,
) -> Result<()> {
    let (bv, cv) = (b.val(), c.val());
    // Per z: [term, sum, ∂/∂b, ∂/∂c, Σ k t_k].
    let (mut hb, mut hc) = (0.0, 0.0);
    let add = |step: Step, acc: &mut [[f64; 5]]| {
        hb += step.ib;
        hc += step.ic;
        for (a, z) in acc.iter_mut().zip(zs) {
            let term = a[0] * step.ratio * z.val();
            a[0] = term;
            a[1] += term;
            a[2] += term * hb;
            a[3] -= term * hc;
            a[4] += term * step.k;
        }
    };
    let start = [1.0, 1.0, 0.0, 0.0, 0.0];
    let acc = many_terms((bv, cv), (zs.len(), |i| zs[i].val()), cap, start, add, |a| {
        a[0] > SERIES_EPS * a[1]
    })?;
    out.clear();
    for (a, &z) in acc.iter().zip(zs) {
        let [_, sum, sb, sc, sz] = *a;
        if !sum.is_finite() {
            return Err(numerical("hyp2f1 series", "sum overflowed"));
        }
        let zv = z.val();
        let dz = if zv > 0.0 { sz / zv } else { bv / cv };
        out.push(D::lift(sum, [(sb, b), (sc, c), (dz, z)]));
    }
    Ok(())
}

/// What one step of the many-z series shares among its `z`: `1/(b+k)`, `1/(c+k)`, the ratio
/// `(b+k)/(c+k)` of consecutive coefficients, and `k + 1` (the term's index after the step).
#[derive(Clone, Copy)]
struct Step {
    ib: f64,
    ic: f64,
    ratio: f64,
    k: f64,
}

/// The loop [`hyp2f1_one_many`] and [`hyp2f1_one_many_second`] share: checks every `z` (of
/// `n`, read by `z`) lies in `[0, 1)`, starts one accumulator per `z` at `start`, and calls
/// `add` with each step's shared factors and the accumulators still running, a prefix of
/// them: the last ones leave once `going` no longer says their term still counts (the larger
/// `z`, which converge later, come first; a term that is not a number leaves too, and the
/// caller's check of the sums reports it). At most `cap` (and [`MAX_SERIES_TERMS`]) steps.
fn many_terms<A: Clone>(
    (b, c): (f64, f64),
    (n, z): (usize, impl Fn(usize) -> f64),
    cap: usize,
    start: A,
    mut add: impl FnMut(Step, &mut [A]),
    going: impl Fn(&A) -> bool,
) -> Result<Vec<A>> {
    for i in 0..n {
        let zv = z(i);
        if !(0.0..1.0).contains(&zv) {
            return Err(Error::invalid("z", zv, "must be in [0, 1)"));
        }
    }
    let mut acc = vec![start; n];
    let mut k = 0.0;
    let mut active = n;
    let mut steps = 0;
    while active > 0 {
        if steps == cap.min(MAX_SERIES_TERMS) {
            return Err(
                ErrorKind::NoConvergence { method: "hyp2f1 series", iterations: steps }.into()
            );
        }
        steps += 1;
        let ib = 1.0 / (b + k);
        let ic = 1.0 / (c + k);
        let ratio = (b + k) * ic;
        k += 1.0;
        if let Some(running) = acc.get_mut(..active) {
            add(Step { ib, ic, ratio, k }, running);
        }
        while active.checked_sub(1).and_then(|i| acc.get(i)).is_some_and(|a| !going(a)) {
            active -= 1;
        }
    }
    Ok(acc)
}

/// `2F1(1, b; c; z)` with its first and second partial derivatives in `b`, `c` and `z`, in the
/// order `[F, F_b, F_c, F_z, F_bb, F_bc, F_bz, F_cc, F_cz, F_zz]`: what the Pareto/NBD
/// Hessian needs of its series.
pub(crate) type Series2 = [f64; 10];

/// [`hyp2f1_one_many`] with second derivatives, for plain parameters: the Pareto/NBD series of
/// one frequency at every time, for Newton's method.
///
/// With `t_k = z^k Π_{j<k} (b+j)/(c+j)`, `ln t_k` has the partials `B_k = Σ_{j<k} 1/(b+j)`,
/// `−C_k = −Σ_{j<k} 1/(c+j)` and `k/z`, and second partials `−Σ 1/(b+j)²`, `+Σ 1/(c+j)²` and
/// `−k/z²` (no mixed ones), so `∂²t_k/∂u∂v = t_k (∂_u ln t_k ∂_v ln t_k + ∂²_uv ln t_k)`:
/// ten running sums per `z` over the same terms, in the same order and rounding, as
/// [`hyp2f1_one_many`] (so the values agree bit for bit). The `k`-dependent factors are shared
/// by every `z`. At `z = 0` (and below `1e-100`, where `t_2/z²` would underflow) the
/// derivatives come from the series' first two coefficients.
///
/// # Errors
///
/// As [`hyp2f1_one`].
pub(crate) fn hyp2f1_one_many_second(
    b: f64,
    c: f64,
    zs: &[f64],
    cap: usize,
    out: &mut Vec<Series2>,
) -> Result<()> {
    // Per z: the term and its ten sums [Σt, ΣtB, ΣtC, Σtk, Σt(B²−B₂), Σt(C²+C₂), ΣtBC, ΣtBk,
    // ΣtCk, Σtk(k−1)].
    let (mut hb, mut hc, mut hb2, mut hc2) = (0.0, 0.0, 0.0, 0.0);
    let add = |step: Step, acc: &mut [(f64, [f64; 10])]| {
        let (ib, ic, k) = (step.ib, step.ic, step.k);
        hb += ib;
        hc += ic;
        hb2 += ib * ib;
        hc2 += ic * ic;
        let f = [hb, hc, k, hb * hb - hb2, hc * hc + hc2, hb * hc, hb * k, hc * k, k * (k - 1.0)];
        for ((term, sums), &z) in acc.iter_mut().zip(zs) {
            let t = *term * step.ratio * z;
            *term = t;
            sums[0] += t;
            for (s, fi) in sums[1..].iter_mut().zip(f) {
                *s += t * fi;
            }
        }
    };
    let start = (1.0, [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    let acc = many_terms((b, c), (zs.len(), |i| zs[i]), cap, start, add, |(t, sums)| {
        *t > SERIES_EPS * sums[0]
    })?;
    out.clear();
    for ((_, s), &z) in acc.iter().zip(zs) {
        if !s.iter().all(|v| v.is_finite()) {
            return Err(numerical("hyp2f1 series", "sum overflowed"));
        }
        out.push(if z > 1e-100 {
            let (iz, iz2) = (1.0 / z, 1.0 / (z * z));
            [s[0], s[1], -s[2], s[3] * iz, s[4], -s[6], s[7] * iz, s[5], -s[8] * iz, s[9] * iz2]
        } else {
            // F = 1 + (b/c) z + b(b+1)/(c(c+1)) z² + …
            let t2 = b * (b + 1.0) / (c * (c + 1.0));
            [s[0], 0.0, 0.0, b / c, 0.0, 0.0, 1.0 / c, 0.0, -b / (c * c), 2.0 * t2]
        });
    }
    Ok(())
}

fn check_hyp2f1_args(a: f64, b: f64, c: f64, z: f64) -> Result<()> {
    for (name, v) in [("a", a), ("b", b), ("c", c)] {
        if !v.is_finite() {
            return Err(Error::invalid(name, v, "hyp2f1 parameter must be finite"));
        }
    }
    if !(0.0..1.0).contains(&z) {
        return Err(Error::invalid("z", z, "must be in [0, 1)"));
    }
    if c <= 0.0 && c.fract() == 0.0 {
        return Err(Error::invalid("c", c, "hyp2f1 has a pole at non-positive integer c"));
    }
    Ok(())
}

fn finite_sum(sum: f64) -> Result<f64> {
    if sum.is_finite() {
        Ok(sum)
    } else {
        Err(numerical("hyp2f1 series", "sum overflowed"))
    }
}

/// `ln[Γ(b+n) Γ(c) / (Γ(b) Γ(c+n))] = ln Π_{k<n} (b+k)/(c+k)`: as a product (a few ulps) for
/// `n ≤ 256`, where differences of large `lnΓ` values would lose digits (for `c = 10⁶`,
/// `lnΓ(c) ≈ 1.3·10⁷` carries an absolute rounding error near `3·10⁻⁹`); as `lnΓ` differences
/// beyond.
pub(crate) fn ln_rising_ratio(b: f64, c: f64, n: u32) -> f64 {
    if n <= 256 {
        let mut acc = 0.0;
        let mut prod = 1.0_f64;
        for k in 0..n {
            let k = f64::from(k);
            prod *= (b + k) / (c + k);
            // Keep the running product in range; fold it into the log now and then.
            if !(1e-200..=1e200).contains(&prod) {
                acc += prod.ln();
                prod = 1.0;
            }
        }
        acc + prod.ln()
    } else {
        let nf = f64::from(n);
        ln_gamma(b + nf) - ln_gamma(b) + ln_gamma(c) - ln_gamma(c + nf)
    }
}

/// `ln Γ(y + x + offset) − ln Γ(y)` with its first and second derivatives in `y`,
/// `ψ(y + x + offset) − ψ(y)` and `ψ'(y + x + offset) − ψ'(y)`, for each of the ascending
/// non-negative integers `xs`, written into `out`.
///
/// The likelihoods need these for every distinct frequency at every evaluation. Frequencies
/// are small integers in practice, so walking `k = 0, 1, …` once and summing `ln(y + k)`,
/// `1/(y + k)` and `−1/(y + k)²` costs one logarithm per step, where `ln Γ`, `ψ` and `ψ'` cost
/// tens of operations each per frequency; the walk is taken when it has at most about eight
/// steps per distinct frequency, and `ln Γ` / `ψ` / `ψ'` differences otherwise (a few large
/// frequencies). The sums carry an absolute rounding error of about `k · 1e-16 |ln(y + k)|`,
/// below what the differences of large `ln Γ` values lose.
pub(crate) fn ln_rising_table(y: f64, xs: &[f64], offset: f64, out: &mut Vec<[f64; 3]>) {
    out.clear();
    let last = xs.last().map_or(0.0, |x| x + offset);
    if last <= 64.0 + 8.0 * xs.len() as f64 {
        let (mut k, mut value, mut slope, mut curvature) = (0.0, 0.0, 0.0, 0.0);
        for &x in xs {
            let stop = x + offset;
            while k < stop {
                let u = y + k;
                let inv = 1.0 / u;
                value += u.ln();
                slope += inv;
                curvature -= inv * inv;
                k += 1.0;
            }
            out.push([value, slope, curvature]);
        }
    } else {
        let (lg, dg, tg) = (ln_gamma(y), statrs::function::gamma::digamma(y), trigamma(y));
        for &x in xs {
            let u = y + x + offset;
            out.push([
                ln_gamma(u) - lg,
                statrs::function::gamma::digamma(u) - dg,
                trigamma(u) - tg,
            ]);
        }
    }
}

/// The trigamma function `ψ'(y) = Σ_k 1/(y + k)²` for `y > 0`: the recurrence
/// `ψ'(y) = ψ'(y + 1) + 1/y²` up to `y ≥ 10`, then the asymptotic expansion
/// `1/y + 1/(2y²) + Σ B_2k / y^(2k+1)` (A&S 6.4.12) through `B_12`, whose first omitted term
/// is below `1e-15` relative there.
pub(crate) fn trigamma(y: f64) -> f64 {
    let (mut y, mut acc) = (y, 0.0);
    while y < 10.0 {
        acc += 1.0 / (y * y);
        y += 1.0;
    }
    let w = 1.0 / (y * y);
    // B2 = 1/6, B4 = −1/30, B6 = 1/42, B8 = −1/30, B10 = 5/66, B12 = −691/2730.
    let series = w
        * (1.0 / 6.0
            + w * (-1.0 / 30.0
                + w * (1.0 / 42.0 + w * (-1.0 / 30.0 + w * (5.0 / 66.0 + w * (-691.0 / 2730.0))))));
    acc + 1.0 / y + 0.5 * w + series / y
}

/// `ln Σ_k t_k` for a hypergeometric-type series `t_0 = 1`,
/// `t_{k+1} = t_k (p+k)(q+k)/((c+k)(k+1)) w` whose term ratios are never negative: either all
/// of `p, q, c` positive with `0 ≤ w < 1`, or `p = −m` a non-positive integer with `w ≤ 0`
/// (a terminating 2F1 after Pfaff's transformation, A&S 15.3.4). Summed relative to a running
/// scale, so sums far beyond `f64` range are fine.
///
/// # Errors
///
/// [`ErrorKind::NoConvergence`] after [`MAX_SERIES_TERMS`] terms; [`ErrorKind::Numerical`] if a
/// term ratio is negative or not finite.
pub(crate) fn ln_positive_series(p: f64, q: f64, c: f64, w: f64) -> Result<f64> {
    let (mut ln_scale, mut sum, mut term) = (0.0_f64, 1.0_f64, 1.0_f64);
    let mut k = 0.0;
    for _ in 0..MAX_SERIES_TERMS {
        let ratio = (p + k) * (q + k) / ((c + k) * (k + 1.0)) * w;
        if !(ratio >= 0.0 && ratio.is_finite()) {
            return Err(numerical("positive series", format!("term ratio {ratio}")));
        }
        term *= ratio;
        sum += term;
        if term == 0.0 || (ratio < 1.0 && term <= SERIES_EPS * sum) {
            return Ok(ln_scale + sum.ln());
        }
        if sum > 1e250 {
            ln_scale += sum.ln();
            term /= sum;
            sum = 1.0;
        }
        k += 1.0;
    }
    Err(ErrorKind::NoConvergence { method: "positive series", iterations: MAX_SERIES_TERMS }.into())
}

/// A [`ErrorKind::Numerical`] error.
#[cold]
pub(crate) fn numerical(what: &'static str, detail: impl Into<String>) -> Error {
    ErrorKind::Numerical { what, detail: detail.into() }.into()
}

#[cfg(test)]
mod tests {

    #[test]
    fn ln_rising_table_equals_gamma_differences() {
        use statrs::function::gamma::digamma;
        let mut out = Vec::new();
        // Walked (small frequencies) and by ln Γ differences (one large frequency).
        for xs in [vec![0.0, 1.0, 2.0, 7.0, 30.0], vec![0.0, 3.0, 5000.0]] {
            for y in [0.05, 0.8, 2.4, 350.0] {
                for offset in [0.0, 1.0] {
                    ln_rising_table(y, &xs, offset, &mut out);
                    assert_eq!(out.len(), xs.len());
                    for (&x, &[v, d, c]) in xs.iter().zip(&out) {
                        let want = ln_gamma(y + x + offset) - ln_gamma(y);
                        let dwant = digamma(y + x + offset) - digamma(y);
                        let cwant = trigamma(y + x + offset) - trigamma(y);
                        assert!((v - want).abs() <= 1e-11 * want.abs().max(1.0), "{y} {x}: {v}");
                        assert!((d - dwant).abs() <= 1e-11 * dwant.abs().max(1.0), "{y} {x}: {d}");
                        assert!((c - cwant).abs() <= 1e-11 * cwant.abs().max(1.0), "{y} {x}: {c}");
                    }
                }
            }
        }
    }

    use super::*;

    #[test]
    fn trigamma_known_values() {
        // ψ'(1) = π²/6, ψ'(1/2) = π²/2 (A&S 6.4.2, 6.4.4); ψ'(y) − ψ'(y+1) = 1/y².
        let pi2 = std::f64::consts::PI * std::f64::consts::PI;
        assert!((trigamma(1.0) / (pi2 / 6.0) - 1.0).abs() < 1e-14, "{}", trigamma(1.0));
        assert!((trigamma(0.5) / (pi2 / 2.0) - 1.0).abs() < 1e-14, "{}", trigamma(0.5));
        for y in [0.01, 3.7, 9.5, 10.0, 250.0, 1e6] {
            let step = trigamma(y) - trigamma(y + 1.0);
            assert!((step * y * y - 1.0).abs() < 1e-9, "{y}: {step}");
        }
    }

    #[test]
    fn hyp2f1_closed_forms() {
        // 2F1(1, 1; 2; z) = −ln(1−z)/z.
        for z in [0.1, 0.5, 0.9, 0.99] {
            let got = hyp2f1(1.0, 1.0, 2.0, z).unwrap();
            let want = -(1.0 - z).ln() / z;
            assert!((got / want - 1.0).abs() < 1e-13, "z={z}: {got} vs {want}");
        }
        // 2F1(a, b; b; z) = (1−z)^−a.
        let got = hyp2f1(0.7, 2.5, 2.5, 0.6).unwrap();
        assert!((got / 0.4f64.powf(-0.7) - 1.0).abs() < 1e-13);
        // Terminating series: 2F1(−2, b; c; z) = 1 − 2bz/c + b(b+1)z²/(c(c+1)).
        let (b, c, z) = (1.5, 2.5, 0.3);
        let want = 1.0 - 2.0 * b * z / c + b * (b + 1.0) * z * z / (c * (c + 1.0));
        assert!((hyp2f1(-2.0, b, c, z).unwrap() - want).abs() < 1e-15);
    }

    #[test]
    fn hyp2f1_refuses_bad_arguments() {
        assert!(hyp2f1(1.0, 1.0, 2.0, 1.0).is_err());
        assert!(hyp2f1(1.0, 1.0, 2.0, -0.1).is_err());
        assert!(hyp2f1(1.0, 1.0, -1.0, 0.5).is_err());
        assert!(hyp2f1(f64::NAN, 1.0, 2.0, 0.5).is_err());
        // z this close to 1 with c − a − b < 0 needs more terms than the cap.
        let e = hyp2f1(1.0, 1.0, 1.5, 1.0 - 1e-9).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::NoConvergence { .. }), "{e}");
    }

    #[test]
    fn hyp2f1_many_matches_single() {
        let zs = [0.1, 0.3, 0.55, 0.9];
        let mut out = [0.0; 4];
        hyp2f1_many(-0.3, 1.7, 3.2, &zs, &mut out).unwrap();
        for (z, o) in zs.iter().zip(out) {
            let want = hyp2f1(-0.3, 1.7, 3.2, *z).unwrap();
            assert!((o - want).abs() <= 1e-14 * want.abs().max(1.0), "z={z}");
        }
    }

    #[test]
    fn hyp2f1_one_matches_general_and_differentiates() {
        let got = hyp2f1_one(2.5_f64, 4.0, 0.7, MAX_SERIES_TERMS).unwrap();
        let want = hyp2f1(1.0, 2.5, 4.0, 0.7).unwrap();
        assert!((got - want).abs() < 1e-14 * want);
        // d/dz 2F1(1, b; c; z) = (b/c) 2F1(2, b+1; c+1; z).
        let z = Dual::<1>::var(0.7, 0, 1.0);
        let g = hyp2f1_one(Dual::cst(2.5), Dual::cst(4.0), z, MAX_SERIES_TERMS).unwrap();
        let want_d = 2.5 / 4.0 * hyp2f1(2.0, 3.5, 5.0, 0.7).unwrap();
        assert!((g.d[0] / want_d - 1.0).abs() < 1e-12);
    }

    /// The second-derivative series at `zs` and the first-derivative one through dual numbers
    /// in `b`, `c` and `z`.
    fn both_series(b: f64, c: f64, zs: &[f64]) -> (Vec<Series2>, Vec<Dual<3>>) {
        let mut second = Vec::new();
        hyp2f1_one_many_second(b, c, zs, MAX_SERIES_TERMS, &mut second).unwrap();
        let duals: Vec<_> = zs.iter().map(|&z| Dual::<3>::var(z, 2, 1.0)).collect();
        let (bd, cd) = (Dual::<3>::var(b, 0, 1.0), Dual::var(c, 1, 1.0));
        let mut first = Vec::new();
        hyp2f1_one_many(bd, cd, &duals, MAX_SERIES_TERMS, &mut first).unwrap();
        (second, first)
    }

    /// Pinned output of both many-z series (first derivatives through dual numbers, second
    /// through the ten sums), bit for bit, as the loops before `many_terms` gave them: equal
    /// `z` converge at the same step and must leave together (a convergence check that let
    /// one leave per step would give the later ones extra terms), and a `z` of 1e-120 takes
    /// its derivatives from the series' coefficients.
    // A long test: one table of cases, each compared bit for bit with the loop it replaced.
    #[test]
    fn many_z_series_keep_their_bits() {
        let first_a: [[u64; 4]; 3] = [
            [0x3ffe22dde94b946d, 0x3febaf1b58fcbad8, 0xbfdf7604afd8884f, 0x40060eaec9ca5d84],
            [0x3ff5e6f144aafb88, 0x3fd1c286880a8cc2, 0xbfc2d5694ffcccca, 0x3ff1ce8e8975821a],
            [0x3ff0000000000000, 0x0, 0x0, 0x3fe0000000000000],
        ];
        let second_a: [[u64; 10]; 3] = [
            [
                0x3ffe22dde94b946d,
                0x3febaf1b58fcbad8,
                0xbfdf7604afd8884f,
                0x40060eaec9ca5d85,
                0x3fe3ed7bfde3691d,
                0xbfe391fbb40e3f64,
                0x400e5a9e56a242fe,
                0x3fdf214b7cabbfe6,
                0xc0029d11aa2c40b4,
                0x4028dc368f1d3c88,
            ],
            [
                0x3ff5e6f144aafb88,
                0x3fd1c286880a8cc2,
                0xbfc2d5694ffcccca,
                0x3ff1ce8e8975821a,
                0x3fb650a35d042ae9,
                0xbfc0632f5f221f03,
                0x3ff046c53678d005,
                0x3fbc32b4ee2f6379,
                0xbfe2065a1c900527,
                0x400344140c25dcda,
            ],
            [
                0x3ff0000000000000,
                0x0,
                0x0,
                0x3fe0000000000000,
                0x0,
                0x0,
                0x3fd2d2d2d2d2d2d3,
                0x0,
                0xbfc2d2d2d2d2d2d3,
                0x3fe3a2e8ba2e8ba2,
            ],
        ];
        let first_b: [[u64; 4]; 3] = [
            [0x3ff0e92cf0d79746, 0x3fbc016483ecd9f9, 0xbf78288fa0df2ee3, 0x3fb132be80225d0c],
            [0x3ff08325f4b00f32, 0x3faeb85fcf85c006, 0xbf695c096500f07d, 0x3fadd0e226f1e391],
            [0x3ff0000000000000, 0x26cd82ece43c6150, 0xa6873003459d27e4, 0x3fa924924924924a],
        ];
        let second_b: [[u64; 10]; 3] = [
            [
                0x3ff0e92cf0d79746,
                0x3fbc016483ecd9f9,
                0xbf78288fa0df2ee3,
                0x3fb132be80225d0c,
                0x3f972fac6f3a5f2a,
                0xbf8876510d9f8a72,
                0x3fc1846b1451d85a,
                0x3f5405f465b9b43f,
                0xbf80aad93bfe90a5,
                0x3f9bdb29b5a1a879,
            ],
            [
                0x3ff08325f4b00f32,
                0x3faeb85fcf85c006,
                0xbf695c096500f07d,
                0x3fadd0e226f1e391,
                0x3f7b5d032bcaaa47,
                0xbf786f1c9e2ee7e4,
                0x3fbccebc205422d4,
                0x3f438ba5be68b3ad,
                0xbf78fefa5b5bfbf2,
                0x3f93228ec28f0df1,
            ],
            [
                0x3ff0000000000000,
                0x0,
                0x0,
                0x3fa924924924924a,
                0x0,
                0x0,
                0x3fb6db6db6db6db7,
                0x0,
                0xbf71f58d0fac687e,
                0x3f898e16c83e59f0,
            ],
        ];
        let cases: [(f64, f64, &[f64], &[usize]); 2] = [
            (1.7, 3.4, &[0.8, 0.5, 0.5, 0.5, 0.0], &[0, 1, 1, 1, 2]),
            (0.55, 11.2, &[0.999, 0.6, 0.6, 1e-120], &[0, 1, 1, 2]),
        ];
        for ((b, c, zs, which), (first, second)) in
            cases.into_iter().zip([(first_a, second_a), (first_b, second_b)])
        {
            let (got, dual) = both_series(b, c, zs);
            for ((g, d), &w) in got.iter().zip(&dual).zip(which) {
                assert_eq!(g.map(f64::to_bits), second[w], "b {b} z {w}");
                let d = [d.v, d.d[0], d.d[1], d.d[2]].map(f64::to_bits);
                assert_eq!(d, first[w], "b {b} z {w}");
            }
        }
    }

    #[test]
    fn the_two_many_z_series_agree_to_the_bit() {
        // The same terms in the same order: the values are equal bit for bit, so Newton's
        // steps (second derivatives) and the gradient (dual numbers) see one likelihood.
        for (b, c, zs) in [
            (1.7, 3.4, vec![0.8, 0.3, 0.0]),
            (0.55, 11.2, vec![0.999, 0.5, 1e-120]),
            (40.0, 2.5, vec![0.97, 0.96, 0.2]),
        ] {
            let mut plain = Vec::new();
            hyp2f1_one_many(b, c, &zs, MAX_SERIES_TERMS, &mut plain).unwrap();
            let (second, first) = both_series(b, c, &zs);
            for (p, s) in plain.iter().zip(&second) {
                assert_eq!(p.to_bits(), s[0].to_bits(), "b {b} c {c}");
            }
            for (d, s) in first.iter().zip(&second) {
                assert_eq!(d.v.to_bits(), s[0].to_bits());
                // The z-derivative at a tiny z comes from the coefficients in the second.
                for i in 0..3 {
                    assert!((d.d[i] - s[i + 1]).abs() <= 1e-12 * s[i + 1].abs().max(1.0));
                }
            }
        }
        assert!(hyp2f1_one_many(1.0, 2.0, &[1.0], MAX_SERIES_TERMS, &mut Vec::new()).is_err());
        assert!(
            hyp2f1_one_many_second(1.0, 2.0, &[-0.1], MAX_SERIES_TERMS, &mut Vec::new()).is_err()
        );
        assert!(hyp2f1_one_many_second(1.0, 2.0, &[0.99], 3, &mut Vec::new()).is_err());
        assert!(hyp2f1_one_many(1.0, 2.0, &[0.99], 3, &mut Vec::new()).is_err());
    }

    #[test]
    fn hyp2f1_second_derivatives_match_differences() {
        let (b, c) = (1.7, 3.4);
        let zs = [0.8, 0.3, 0.0];
        let mut out = Vec::new();
        hyp2f1_one_many_second(b, c, &zs, MAX_SERIES_TERMS, &mut out).unwrap();
        // First derivatives from the dual-number series; second by central differences of them.
        let first = |b: f64, c: f64, z: f64| -> [f64; 4] {
            let d = hyp2f1_one(
                Dual::<3>::var(b, 0, 1.0),
                Dual::var(c, 1, 1.0),
                Dual::var(z, 2, 1.0),
                MAX_SERIES_TERMS,
            )
            .unwrap();
            [d.v, d.d[0], d.d[1], d.d[2]]
        };
        for (&z, got) in zs.iter().zip(&out) {
            let f = first(b, c, z);
            for i in 0..4 {
                assert!((got[i] - f[i]).abs() <= 1e-13 * f[i].abs().max(1.0), "z {z} {i}");
            }
            let h = 1e-5;
            let d = |i: usize| -> [f64; 4] {
                let (mut bu, mut cu, mut zu) = (b, c, z);
                let (mut bd, mut cd, mut zd) = (b, c, z);
                match i {
                    0 => (bu, bd) = (b + h, b - h),
                    1 => (cu, cd) = (c + h, c - h),
                    // One-sided at z = 0 (z may not go negative).
                    _ => (zu, zd) = (z + h, if z > h { z - h } else { z }),
                }
                let (u, v) = (first(bu, cu, zu), first(bd, cd, zd));
                let span = if i == 2 { zu - zd } else { 2.0 * h };
                std::array::from_fn(|j| (u[j] - v[j]) / span)
            };
            let (db, dc, dz) = (d(0), d(1), d(2));
            // [F_bb, F_bc, F_bz, F_cc, F_cz, F_zz] against differences of [F_b, F_c, F_z].
            let want = [db[1], db[2], db[3], dc[2], dc[3], dz[3]];
            for (j, (g, w)) in got[4..].iter().zip(want).enumerate() {
                let tol = if z == 0.0 { 1e-4 } else { 1e-6 };
                assert!((g - w).abs() <= tol * w.abs().max(1.0), "z {z} {j}: {g} vs {w}");
            }
        }
    }

    #[test]
    fn dual_rules() {
        let x = Dual::<1>::var(2.5, 0, 1.0);
        let h = 1e-6;
        let f = |x: f64| (Real::ln_gamma(x) * x.ln() / (x + 1.0)).exp().ln_1p() - x * 3.0;
        let fd = (f(2.5 + h) - f(2.5 - h)) / (2.0 * h);
        let y = (x.ln_gamma() * x.ln() / (x + 1.0)).exp().ln_1p() - x * 3.0;
        assert!((y.v - f(2.5)).abs() < 1e-15);
        assert!((y.d[0] - fd).abs() < 1e-8, "{} vs {fd}", y.d[0]);
    }

    #[test]
    fn logistic_extremes() {
        assert_eq!(logistic_of_neg(1e6), 0.0);
        assert_eq!(logistic_of_neg(-1e6), 1.0);
        assert!((logistic_of_neg(0.0) - 0.5).abs() < 1e-16);
        assert!((softplus(800.0) - 800.0).abs() < 1e-12);
        assert!((softplus(0.0) - 2f64.ln()).abs() < 1e-16);
    }
}
