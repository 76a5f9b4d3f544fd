//! The exact Hessian of the Pareto/NBD likelihood, so the fit takes Newton steps (a handful of
//! evaluations where BFGS took about 35, Hessian by differences included) and the standard
//! errors come from the last one.
//!
//! A row with `t_x < T` adds `ln(1 + y)`, `y = c K`, `c = s/(r+s+x)`,
//! `K = H(t_x) e^E − H(T)` and `E = (r+x) ln((α+T)/(α+t_x)) + s ln((β+T)/(β+t_x))` (the
//! parent module's likelihood). Its Hessian `∇²y/(1+y) − ∇y ∇yᵀ/(1+y)²`, with
//! `∇²y = c [K (∇ln c ∇ln cᵀ + ∇² ln c) + ∇ln c ∇Kᵀ + ∇K ∇ln cᵀ + ∇²K]` and
//! `∇²K = e^E [∇²H(t_x) + ∇H(t_x) ∇Eᵀ + ∇E ∇H(t_x)ᵀ + H(t_x)(∇E ∇Eᵀ + ∇²E)] − ∇²H(T)`,
//! is not summed row by row: what multiplies a quantity of one frequency (`c` and its
//! derivatives) is summed per frequency, and what multiplies a quantity of one series
//! (`∇²H`, `∇H`) is summed per series, so a row costs two outer products of 4-vectors
//! (`∇E ∇Eᵀ` and `∇y ∇yᵀ`) besides what its gradient costs, and each series' Hessian is
//! formed once per evaluation, weighted by the sum of its rows' coefficients.

use super::Likelihood;
use crate::clv::optim::second_order;
use crate::clv::special::{
    hyp2f1_one_many_second, ln_rising_table, softplus, Series2, FIT_SERIES_TERMS,
};

/// Parameter indices.
const R: usize = 0;
const A: usize = 1;
const S: usize = 2;
const B: usize = 3;

/// A symmetric 4×4 matrix, kept in its upper triangle (`i ≤ j`).
type Mat = [[f64; 4]; 4];

/// `h += coef u uᵀ` (upper triangle).
#[inline]
fn add_outer(h: &mut Mat, coef: f64, u: &[f64; 4]) {
    for i in 0..4 {
        let ci = coef * u[i];
        for j in i..4 {
            h[i][j] += ci * u[j];
        }
    }
}

/// `h += coef (u vᵀ + v uᵀ)` (upper triangle).
#[inline]
fn add_sym(h: &mut Mat, coef: f64, u: &[f64; 4], v: &[f64; 4]) {
    for i in 0..4 {
        for j in i..4 {
            h[i][j] += coef * (u[i] * v[j] + v[i] * u[j]);
        }
    }
}

/// `h[i][j] += v` for any order of `i` and `j`.
#[inline]
fn add_at(h: &mut Mat, i: usize, j: usize, v: f64) {
    h[i.min(j)][i.max(j)] += v;
}

/// Which of `α`, `β` is larger decides the series' form (the parent module's docs): `m` the
/// larger, `n` the smaller, with their parameter indices.
#[derive(Clone, Copy)]
struct Geometry {
    ge: bool,
    m: f64,
    n: f64,
    im: usize,
    inn: usize,
}

impl Geometry {
    fn new(alpha: f64, beta: f64) -> Geometry {
        if alpha >= beta {
            Geometry { ge: true, m: alpha, n: beta, im: A, inn: B }
        } else {
            Geometry { ge: false, m: beta, n: alpha, im: B, inn: A }
        }
    }

    /// Index of the parameter the series' `b` moves with (`b = r+x` or `s+1`).
    fn b_index(self) -> usize {
        if self.ge {
            R
        } else {
            S
        }
    }

    /// The series argument `z = (m−n)/(m+τ)` with its nonzero first derivatives
    /// `∂z/∂m = (n+τ)/(m+τ)²`, `∂z/∂n = −1/(m+τ)` and second `∂²z/∂m² = −2(n+τ)/(m+τ)³`,
    /// `∂²z/∂m∂n = 1/(m+τ)²`.
    fn z(self, tau: f64) -> Z {
        let q = 1.0 / (self.m + tau);
        let nq = (self.n + tau) * q * q;
        Z { z: (self.m - self.n) * q, zm: nq, zn: -q, zmm: -2.0 * nq * q, zmn: q * q }
    }

    /// `∇z` as a 4-vector.
    fn grad_z(self, z: &Z) -> [f64; 4] {
        let mut u = [0.0; 4];
        u[self.im] = z.zm;
        u[self.inn] = z.zn;
        u
    }

    /// `∇b` as a 4-vector.
    fn grad_b(self) -> [f64; 4] {
        let mut u = [0.0; 4];
        u[self.b_index()] = 1.0;
        u
    }

    /// The series `G = F` (or `(1−z) F` when `α < β`) as a function of `b`, `c` and `z`:
    /// `[G, G_b, G_c, G_z, G_bb, G_bc, G_bz, G_cc, G_cz, G_zz]`.
    fn g(self, f: &Series2, z: f64) -> Series2 {
        if self.ge {
            return *f;
        }
        let w = 1.0 - z;
        let [f0, fb, fc, fz, fbb, fbc, fbz, fcc, fcz, fzz] = *f;
        [
            w * f0,
            w * fb,
            w * fc,
            w * fz - f0,
            w * fbb,
            w * fbc,
            w * fbz - fb,
            w * fcc,
            w * fcz - fc,
            w * fzz - 2.0 * fz,
        ]
    }

    /// Value and gradient in `(r, α, s, β)` of a series `g` (from [`Geometry::g`]).
    fn value_grad(self, g: &Series2, z: &Z) -> (f64, [f64; 4]) {
        let mut grad = [0.0; 4];
        grad[self.b_index()] += g[1];
        grad[R] += g[2];
        grad[S] += g[2];
        grad[self.im] += g[3] * z.zm;
        grad[self.inn] += g[3] * z.zn;
        (g[0], grad)
    }
}

/// The series argument at one time and its derivatives ([`Geometry::z`]).
#[derive(Clone, Copy)]
struct Z {
    z: f64,
    zm: f64,
    zn: f64,
    zmm: f64,
    zmn: f64,
}

/// `Σ weight ∇²G + Σ (∇G vᵀ + v ∇Gᵀ)` over the series, summed by what each term's vectors
/// depend on: `∇b` and `∇c` are constant (`b` and `c` are linear in the parameters), `∇z`
/// and `∇²z` depend on the time only. So a series adds a few scalars and two 4-vectors, and
/// the outer products are taken once per time.
#[derive(Default)]
struct SeriesSums {
    bb: f64,
    bc: f64,
    cc: f64,
    /// `Σ G_b v`, `Σ G_c v`.
    vb: [f64; 4],
    vc: [f64; 4],
    /// Per time: `Σ weight G_z`, `Σ weight G_zz`, `Σ weight G_bz`, `Σ weight G_cz`, `Σ G_z v`.
    per_time: Vec<([f64; 4], [f64; 4])>,
}

impl SeriesSums {
    fn new(times: usize) -> SeriesSums {
        SeriesSums { per_time: vec![([0.0; 4], [0.0; 4]); times], ..SeriesSums::default() }
    }

    fn add(&mut self, g: &Series2, weight: f64, v: &[f64; 4], time: usize) -> Option<()> {
        let [_, gb, gc, gz, gbb, gbc, gbz, gcc, gcz, gzz] = *g;
        self.bb += weight * gbb;
        self.bc += weight * gbc;
        self.cc += weight * gcc;
        let (s, vz) = self.per_time.get_mut(time)?;
        s[0] += weight * gz;
        s[1] += weight * gzz;
        s[2] += weight * gbz;
        s[3] += weight * gcz;
        for i in 0..4 {
            self.vb[i] += gb * v[i];
            self.vc[i] += gc * v[i];
            vz[i] += gz * v[i];
        }
        Some(())
    }

    fn into_hessian(self, h: &mut Mat, geo: Geometry, zs: &[Z]) {
        let ub = geo.grad_b();
        let uc = [1.0, 0.0, 1.0, 0.0];
        add_outer(h, self.bb, &ub);
        add_sym(h, self.bc, &ub, &uc);
        add_outer(h, self.cc, &uc);
        add_sym(h, 1.0, &ub, &self.vb);
        add_sym(h, 1.0, &uc, &self.vc);
        for ((s, vz), z) in self.per_time.iter().zip(zs) {
            let [gz, gzz, gbz, gcz] = *s;
            let uz = geo.grad_z(z);
            let v: [f64; 4] = std::array::from_fn(|i| gbz * ub[i] + gcz * uc[i]);
            add_sym(h, 1.0, &v, &uz);
            add_sym(h, 1.0, &uz, vz);
            add_outer(h, gzz, &uz);
            add_at(h, geo.im, geo.im, gz * z.zmm);
            add_at(h, geo.im, geo.inn, gz * z.zmn);
        }
    }
}

/// Per distinct time `τ`: `ln(α+τ)`, `1/(α+τ)`, `ln(β+τ)`, `1/(β+τ)`.
#[derive(Clone, Copy)]
struct Time {
    la: f64,
    qa: f64,
    lb: f64,
    qb: f64,
}

/// Per distinct frequency, what its rows add up: `[Σw, Σw ln(α+T), Σw/(α+T), Σw/(α+T)²,
/// Σw ln(β+T), Σw/(β+T), Σw/(β+T)²]` for the part every row has; for the `ln(1+y)` term the
/// coefficient sums of `c`'s derivatives, `Σ u K` and `Σ u ∇K` (`u = w c/(1+y)`), and the
/// weight of rows whose `E` passes 300.
#[derive(Clone, Copy, Default)]
struct PerX {
    base: [f64; 7],
    uk: f64,
    u_dk: [f64; 4],
    big: f64,
}

/// Per series: its value and gradient (what the rows read), and the sums the rows leave for
/// it: the weight of its Hessian and the vector its gradient's outer product is taken with.
#[derive(Clone, Copy, Default)]
struct PerSeries {
    h: f64,
    grad: [f64; 4],
    weight: f64,
    with_grad: [f64; 4],
}

impl Likelihood<'_> {
    /// The series of every `(frequency, time)` pair with their second derivatives, in pair
    /// order, grouped by frequency as [`Likelihood::tables`] sums them (the same values).
    fn series_second(&self, r: f64, s: f64, geo: Geometry, zt: &[Z]) -> Option<Vec<Series2>> {
        let prep = self.prep;
        let mut out = Vec::with_capacity(self.pairs.len());
        let (mut zs, mut group_out) = (Vec::new(), Vec::new());
        for group in self.pairs.chunk_by(|p, q| p.0 == q.0) {
            let x = *prep.xs.get(group.first()?.0 as usize)?;
            let rx = r + x;
            let b = if geo.ge { rx } else { s + 1.0 };
            let c = rx + s + 1.0;
            zs.clear();
            for &(_, it) in group {
                zs.push(zt.get(it as usize)?.z);
            }
            hyp2f1_one_many_second(b, c, &zs, FIT_SERIES_TERMS, &mut group_out).ok()?;
            out.extend_from_slice(&group_out);
        }
        Some(out)
    }

    /// Mean negative log-likelihood with its gradient and Hessian in `(r, α, s, β)`.
    // One pass over the rows that leaves sums per frequency and per series, then the assembly
    // from them: split, the pieces would pass those sums between them.
    #[allow(clippy::too_many_lines)]
    pub(super) fn value_grad_hessian(&self, p: [f64; 4]) -> Option<(f64, [f64; 4], Mat)> {
        let [r, alpha, s, beta] = p;
        let prep = self.prep;
        let geo = Geometry::new(alpha, beta);
        let times: Vec<Time> = prep
            .times
            .iter()
            .map(|&u| {
                let (qa, qb) = (1.0 / (alpha + u), 1.0 / (beta + u));
                Time { la: (alpha + u).ln(), qa, lb: (beta + u).ln(), qb }
            })
            .collect();
        let zt: Vec<Z> = prep.times.iter().map(|&u| geo.z(u)).collect();
        // Each series as a function of (b, c, z), then its value and gradient.
        let mut series = self.series_second(r, s, geo, &zt)?;
        let mut per_series: Vec<PerSeries> = Vec::with_capacity(series.len());
        for (f, &(_, it)) in series.iter_mut().zip(&self.pairs) {
            let z = zt.get(it as usize)?;
            *f = geo.g(f, z.z);
            let (h, grad) = geo.value_grad(f, z);
            per_series.push(PerSeries { h, grad, ..PerSeries::default() });
        }
        // Per x: c = s/(r+s+x) and the nonzero (r, s) entries of ∇ln c.
        let cs: Vec<(f64, f64, f64)> = prep
            .xs
            .iter()
            .map(|&x| {
                let rsx = r + x + s;
                (s / rsx, -1.0 / rsx, 1.0 / s - 1.0 / rsx)
            })
            .collect();
        let mut per_x = vec![PerX::default(); prep.xs.len()];
        let mut ll = 0.0;
        let mut g = [0.0; 4];
        let mut h: Mat = [[0.0; 4]; 4];
        for (row, &(itx, it)) in prep.rows.iter().zip(&self.row_pairs) {
            let w = row.w;
            let acc = per_x.get_mut(row.x as usize)?;
            let tt = *times.get(row.t as usize)?;
            acc.base[0] += w;
            acc.base[1] += w * tt.la;
            acc.base[2] += w * tt.qa;
            acc.base[3] += w * tt.qa * tt.qa;
            acc.base[4] += w * tt.lb;
            acc.base[5] += w * tt.qb;
            acc.base[6] += w * tt.qb * tt.qb;
            if row.tx == row.t {
                continue;
            }
            let t0 = *times.get(row.tx as usize)?;
            let rx = r + row.xf;
            let (dqa, dqb) = (tt.qa - t0.qa, tt.qb - t0.qb);
            let (dla, dlb) = (tt.la - t0.la, tt.lb - t0.lb);
            let e = rx * dla + s * dlb;
            let ge = [dla, rx * dqa, dlb, s * dqb];
            // ∇²E: (r, α) ΔQa, (α, α) −(r+x) Δ(Qa²), (s, β) ΔQb, (β, β) −s Δ(Qb²).
            let d2e = [
                dqa,
                -rx * (tt.qa * tt.qa - t0.qa * t0.qa),
                dqb,
                -s * (tt.qb * tt.qb - t0.qb * t0.qb),
            ];
            let (h1, g1) = per_series.get(itx as usize).map(|p| (p.h, p.grad))?;
            let h0 = per_series.get(it as usize)?.h;
            let &(c, lc_r, lc_s) = cs.get(row.x as usize)?;
            if e >= 300.0 {
                // ln(1+y) = ln c + E + ln H(t_x) + ln(1 − ρ) + ln(1 + 1/y) with
                // ρ = H(T) e^(−E)/H(t_x) and 1/y both below e^(−280): to double precision the
                // derivatives are those of ln c + E + ln H(t_x).
                let ratio = h0 / h1 * (-e).exp();
                ll += w * softplus(c.ln() + e + h1.ln() + (-ratio).ln_1p());
                acc.big += w;
                for i in 0..4 {
                    g[i] += w * (ge[i] + g1[i] / h1);
                }
                per_series.get_mut(itx as usize)?.weight += w / h1;
                add_outer(&mut h, -w / (h1 * h1), &g1);
                add_second_e(&mut h, w, &d2e);
                continue;
            }
            let ee = e.exp();
            let k = h1 * ee - h0;
            if k <= 0.0 {
                continue;
            }
            let g0 = per_series.get(it as usize)?.grad;
            let y = c * k;
            let inv = 1.0 / (1.0 + y);
            ll += w * (1.0 + y).ln();
            let dk: [f64; 4] = std::array::from_fn(|i| ee * (g1[i] + h1 * ge[i]) - g0[i]);
            let u = w * c * inv;
            acc.uk += u * k;
            for (a, d) in acc.u_dk.iter_mut().zip(dk) {
                *a += u * d;
            }
            let uee = u * ee;
            let s1 = per_series.get_mut(itx as usize)?;
            s1.weight += uee;
            for (a, d) in s1.with_grad.iter_mut().zip(ge) {
                *a += uee * d;
            }
            per_series.get_mut(it as usize)?.weight -= u;
            add_outer(&mut h, uee * h1, &ge);
            add_second_e(&mut h, uee * h1, &d2e);
            let dy = [c * (k * lc_r + dk[R]), c * dk[A], c * (k * lc_s + dk[S]), c * dk[B]];
            add_outer(&mut h, -w * inv * inv, &dy);
        }
        // The per-series sums: Σ weight ∇²H + Σ (∇H with_gradᵀ + with_grad ∇Hᵀ).
        let mut sums = SeriesSums::new(zt.len());
        for ((ps, g), &(_, it)) in per_series.iter().zip(&series).zip(&self.pairs) {
            sums.add(g, ps.weight, &ps.with_grad, it as usize)?;
        }
        sums.into_hessian(&mut h, geo, &zt);
        // The per-frequency sums.
        let mut rise = Vec::new();
        ln_rising_table(r, &prep.xs, 0.0, &mut rise);
        let (ln_a, ln_b) = (alpha.ln(), beta.ln());
        let head = r * ln_a + s * ln_b;
        for ((&x, acc), (&[lg, dg, tg], &(_, lc_r, lc_s))) in
            prep.xs.iter().zip(&per_x).zip(rise.iter().zip(&cs))
        {
            let [n, la, qa, qa2, lb, qb, qb2] = acc.base;
            let rx = r + x;
            // ln Γ(r+x) − ln Γ(r) + r ln α + s ln β − (r+x) ln(α+T) − s ln(β+T).
            ll += n * (lg + head) - rx * la - s * lb;
            g[R] += n * (dg + ln_a) - la;
            g[A] += n * r / alpha - rx * qa;
            g[S] += n * ln_b - lb;
            g[B] += n * s / beta - s * qb;
            h[R][R] += n * tg;
            h[R][A] += n / alpha - qa;
            h[A][A] += rx * qa2 - n * r / (alpha * alpha);
            h[S][B] += n / beta - qb;
            h[B][B] += s * qb2 - n * s / (beta * beta);
            // ln c: Σ u K (∇ln c ∇ln cᵀ + ∇² ln c) + (∇ln c Σu∇Kᵀ + transpose), and the rows
            // past E = 300 with weight 1 on ln c.
            let lc = [lc_r, 0.0, lc_s, 0.0];
            let inv_rsx = -lc_r;
            let (hrr, hss) = (inv_rsx * inv_rsx, inv_rsx * inv_rsx - 1.0 / (s * s));
            for i in 0..4 {
                g[i] += (acc.uk + acc.big) * lc[i] + acc.u_dk[i];
            }
            add_outer(&mut h, acc.uk, &lc);
            let wc = acc.uk + acc.big;
            h[R][R] += wc * hrr;
            h[R][S] += wc * hrr;
            h[S][S] += wc * hss;
            add_sym(&mut h, 1.0, &lc, &acc.u_dk);
        }
        let n = prep.weight;
        second_order(-ll / n, g.map(|v| -v / n), |i, j| -h[i][j] / n)
    }
}

/// `h += coef ∇²E`, the four nonzero entries of `d2e` (see the row pass).
#[inline]
fn add_second_e(h: &mut Mat, coef: f64, d2e: &[f64; 4]) {
    h[R][A] += coef * d2e[0];
    h[A][A] += coef * d2e[1];
    h[S][B] += coef * d2e[2];
    h[B][B] += coef * d2e[3];
}
