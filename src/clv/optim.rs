//! Small minimisers for the 3–4 log-parameters of the CLV models: Newton's method for
//! objectives with an exact Hessian, BFGS with a backtracking Armijo line search for those
//! with an exact gradient only, and a Nelder–Mead fallback.
//!
//! Why not `argmin`: the objectives have at most four parameters and exact derivatives, so the
//! solvers are a few dozen lines with the crate's own error type, and it keeps `anyhow`,
//! `paste` and `rand` out of the dependency tree. What was measured: on the CDNOW sample the
//! BG/NBD fit took 25 BFGS iterations and 30 objective evaluations in all (Hessian for the
//! standard errors included); with the exact Hessian Newton's method takes 7 iterations, and
//! its last Hessian gives the standard errors.
//!
//! # References
//!
//! - Nocedal & Wright (2006), *Numerical Optimization*, algorithm 6.1 (BFGS), 3.1
//!   (backtracking line search) and §3.4 (Newton's method with Hessian modification).
//! - Lagarias, Reeds, Wright & Wright (1998), convergence properties of the Nelder–Mead simplex.

/// Outcome of a minimisation.
#[derive(Clone, Debug)]
pub(crate) struct Minimum {
    pub x: Vec<f64>,
    pub f: f64,
    pub iterations: usize,
    pub converged: bool,
    /// The gradient at `x`, when the method computed it.
    pub grad: Option<Vec<f64>>,
    /// The Hessian at `x`, when the method computed it.
    pub hess: Option<Vec<Vec<f64>>>,
}

impl Minimum {
    /// No minimum: the start `x` is outside the domain.
    fn outside(x: Vec<f64>) -> Minimum {
        Minimum { x, f: f64::INFINITY, iterations: 0, converged: false, grad: None, hess: None }
    }
}

/// Value, gradient and Hessian at a point; `None` outside the domain.
pub(crate) type Second = Option<(f64, Vec<f64>, Vec<Vec<f64>>)>;

/// An objective's value, gradient and Hessian as Newton's method takes them, the Hessian
/// filled from its upper triangle `upper(i, j)` (`i <= j`); `None` when any of them is not
/// finite, which Newton's method treats as a failed step.
pub(crate) fn second_order<const N: usize>(
    f: f64,
    g: [f64; N],
    upper: impl Fn(usize, usize) -> f64,
) -> Option<(f64, [f64; N], [[f64; N]; N])> {
    let hess: [[f64; N]; N] =
        std::array::from_fn(|i| std::array::from_fn(|j| upper(i.min(j), i.max(j))));
    let finite = f.is_finite()
        && g.iter().all(|v| v.is_finite())
        && hess.iter().flatten().all(|v| v.is_finite());
    finite.then_some((f, g, hess))
}

/// Newton's method with a backtracking Armijo line search, for objectives with an exact
/// Hessian: near the optimum each step doubles the correct digits, so a fit takes a handful of
/// evaluations where BFGS, which learns the curvature from gradients, takes dozens. Where the
/// Hessian is not positive definite (far from the optimum) it is shifted by a multiple of the
/// identity until it is (Levenberg–Marquardt damping, Nocedal & Wright §3.4), which turns the
/// step towards steepest descent.
pub(crate) fn newton<F>(f: F, x0: &[f64], max_iter: usize, gtol: f64) -> Minimum
where
    F: Fn(&[f64]) -> Second,
{
    let mut x = x0.to_vec();
    let ok = |r: &(f64, Vec<f64>, Vec<Vec<f64>>)| {
        finite(r.0, &r.1) && r.2.iter().flatten().all(|v| v.is_finite())
    };
    let Some((mut fx, mut g, mut h)) = f(&x).filter(ok) else {
        return Minimum::outside(x);
    };
    let mut iterations = 0;
    let done = |x, fx, iterations, converged, g, h| Minimum {
        x,
        f: fx,
        iterations,
        converged,
        grad: Some(g),
        hess: Some(h),
    };
    while iterations < max_iter {
        if norm_inf(&g) <= gtol {
            return done(x, fx, iterations, true, g, h);
        }
        iterations += 1;
        let Some(mut p) = damped_newton_step(&h, &g) else {
            return done(x, fx, iterations, false, g, h);
        };
        let mut slope = dot(&p, &g);
        if slope >= 0.0 {
            p = g.iter().map(|v| -v).collect();
            slope = dot(&p, &g);
        }
        let accepted = line_search(&x, fx, &p, slope, |xn| f(xn).filter(ok));
        let Some((xn, fn_, gn, hn)) = accepted else {
            // No decrease along the direction: either converged to rounding or stuck.
            let converged = norm_inf(&g) <= gtol * 1e3;
            return done(x, fx, iterations, converged, g, h);
        };
        x = xn;
        fx = fn_;
        g = gn;
        h = hn;
    }
    let converged = norm_inf(&g) <= gtol;
    done(x, fx, iterations, converged, g, h)
}

/// The solution `p` of `(H + λI) p = −g` for the smallest `λ` in `0, 1e-8·s, 1e-7·s, …`
/// (`s` the largest diagonal magnitude) at which `H + λI` is positive definite.
#[allow(clippy::needless_range_loop)] // dense index arithmetic
fn damped_newton_step(h: &[Vec<f64>], g: &[f64]) -> Option<Vec<f64>> {
    let n = g.len();
    let s = h.iter().enumerate().fold(0.0_f64, |m, (i, row)| m.max(row[i].abs())).max(1e-300);
    let mut lambda = 0.0;
    for _ in 0..40 {
        let mut a = h.to_vec();
        for i in 0..n {
            a[i][i] += lambda;
        }
        if let Some(l) = cholesky(&a) {
            // L y = −g, then Lᵀ p = y.
            let mut y = vec![0.0; n];
            for i in 0..n {
                let mut v = -g[i];
                for k in 0..i {
                    v -= l[i][k] * y[k];
                }
                y[i] = v / l[i][i];
            }
            let mut p = vec![0.0; n];
            for i in (0..n).rev() {
                let mut v = y[i];
                for k in i + 1..n {
                    v -= l[k][i] * p[k];
                }
                p[i] = v / l[i][i];
            }
            return p.iter().all(|v| v.is_finite()).then_some(p);
        }
        lambda = if lambda == 0.0 { 1e-8 * s } else { lambda * 10.0 };
    }
    None
}

/// The Cholesky factor `L` (lower triangular, `A = L Lᵀ`) of a symmetric matrix; `None` when
/// it is not positive definite.
#[allow(clippy::needless_range_loop)] // dense index arithmetic
fn cholesky(a: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = a.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i][j];
            for k in 0..j {
                s -= l[i][k] * l[j][k];
            }
            if i == j {
                if !(s > 0.0 && s.is_finite()) {
                    return None;
                }
                l[i][i] = s.sqrt();
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    Some(l)
}

/// BFGS on `f` (returns value and gradient; `None` or non-finite means "outside the domain").
pub(crate) fn bfgs<F>(f: F, x0: &[f64], max_iter: usize, gtol: f64) -> Minimum
where
    F: Fn(&[f64]) -> Option<(f64, Vec<f64>)>,
{
    let n = x0.len();
    let mut x = x0.to_vec();
    let Some((mut fx, mut g)) = f(&x).filter(|(v, g)| finite(*v, g)) else {
        return Minimum::outside(x);
    };
    let mut h = identity(n);
    let mut iterations = 0;
    let mut stalls = 0;
    while iterations < max_iter {
        if norm_inf(&g) <= gtol {
            return Minimum { x, f: fx, iterations, converged: true, grad: Some(g), hess: None };
        }
        iterations += 1;
        let mut p = mat_vec(&h, &g);
        for v in &mut p {
            *v = -*v;
        }
        let mut slope = dot(&p, &g);
        if slope >= 0.0 {
            // Not a descent direction: restart from steepest descent.
            h = identity(n);
            p = g.iter().map(|v| -v).collect();
            slope = dot(&p, &g);
        }
        let accepted = line_search(&x, fx, &p, slope, |xn| {
            f(xn).filter(|(v, g)| finite(*v, g)).map(|(v, g)| (v, g, ()))
        });
        let Some((xn, fn_, gn, ())) = accepted else {
            // No decrease along the direction: either converged to rounding or stuck.
            let ok = norm_inf(&g) <= gtol * 1e3;
            return Minimum { x, f: fx, iterations, converged: ok, grad: Some(g), hess: None };
        };
        let s: Vec<f64> = xn.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = gn.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy > 1e-300 {
            if iterations == 1 {
                // Scale the first inverse-Hessian guess (Nocedal & Wright eq. 6.20).
                let scale = sy / dot(&y, &y);
                for (i, row) in h.iter_mut().enumerate() {
                    for (j, v) in row.iter_mut().enumerate() {
                        *v = if i == j { scale } else { 0.0 };
                    }
                }
            }
            bfgs_update(&mut h, &s, &y, sy);
        }
        let improvement = fx - fn_;
        x = xn;
        fx = fn_;
        g = gn;
        if improvement <= 0.0 {
            stalls += 1;
            if stalls >= 3 {
                let ok = norm_inf(&g) <= gtol * 1e3;
                return Minimum { x, f: fx, iterations, converged: ok, grad: Some(g), hess: None };
            }
        } else {
            stalls = 0;
        }
    }
    let converged = norm_inf(&g) <= gtol;
    Minimum { x, f: fx, iterations, converged, grad: Some(g), hess: None }
}

/// Backtracking along `p` from `x` (value `fx`, directional derivative `slope < 0`): the first
/// of the steps 1, 1/2, 1/4, … (at most 2 in any coordinate, so the first steps do not jump far
/// in log space) whose point `eval` accepts and which passes Armijo's test, or, once decreases
/// are lost in rounding, does not raise the value beyond rounding and shrinks the directional
/// derivative. Returns the point, its value, gradient and whatever else `eval` gave.
fn line_search<T>(
    x: &[f64],
    fx: f64,
    p: &[f64],
    slope: f64,
    eval: impl Fn(&[f64]) -> Option<(f64, Vec<f64>, T)>,
) -> Option<(Vec<f64>, f64, Vec<f64>, T)> {
    let pn = norm_inf(p);
    let mut step = if pn > 2.0 { 2.0 / pn } else { 1.0 };
    let noise = 1e-13 * fx.abs().max(1.0);
    for _ in 0..60 {
        let xn: Vec<f64> = x.iter().zip(p).map(|(a, b)| a + step * b).collect();
        if let Some((fn_, gn, extra)) = eval(&xn) {
            if fn_ <= fx + 1e-4 * step * slope
                || (fn_ <= fx + noise && dot(&gn, p).abs() < 0.5 * slope.abs())
            {
                return Some((xn, fn_, gn, extra));
            }
        }
        step *= 0.5;
    }
    None
}

/// Nelder–Mead with the standard coefficients; converged when the simplex's function values
/// and extent are both below the tolerances.
// Over ~80 lines: the reflect, expand, contract and shrink steps share the sorted simplex
// and read as the textbook iteration only together.
pub(crate) fn nelder_mead<F>(f: F, x0: &[f64], max_iter: usize, ftol: f64) -> Minimum
where
    F: Fn(&[f64]) -> f64,
{
    let n = x0.len();
    let eval = |x: &[f64]| {
        let v = f(x);
        if v.is_finite() {
            v
        } else {
            f64::INFINITY
        }
    };
    let mut simplex: Vec<(Vec<f64>, f64)> = Vec::with_capacity(n + 1);
    simplex.push((x0.to_vec(), eval(x0)));
    for i in 0..n {
        let mut x = x0.to_vec();
        if let Some(v) = x.get_mut(i) {
            *v += 0.5;
        }
        let fx = eval(&x);
        simplex.push((x, fx));
    }
    let mut iterations = 0;
    let mut converged = false;
    while iterations < max_iter {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let (best, worst) = (simplex[0].1, simplex[n].1);
        let extent = simplex
            .iter()
            .skip(1)
            .flat_map(|(x, _)| x.iter().zip(&simplex[0].0).map(|(a, b)| (a - b).abs()))
            .fold(0.0_f64, f64::max);
        if (worst - best).abs() <= ftol * best.abs().max(1.0) && extent <= 1e-8 {
            converged = best.is_finite();
            break;
        }
        iterations += 1;
        let mut centroid = vec![0.0; n];
        for (x, _) in simplex.iter().take(n) {
            for (c, v) in centroid.iter_mut().zip(x) {
                *c += v / n as f64;
            }
        }
        let towards = |t: f64| -> Vec<f64> {
            centroid.iter().zip(&simplex[n].0).map(|(c, w)| c + t * (w - c)).collect()
        };
        let xr = towards(-1.0);
        let fr = eval(&xr);
        if fr < simplex[0].1 {
            let xe = towards(-2.0);
            let fe = eval(&xe);
            simplex[n] = if fe < fr { (xe, fe) } else { (xr, fr) };
        } else if fr < simplex[n - 1].1 {
            simplex[n] = (xr, fr);
        } else {
            let (xc, fc) = if fr < simplex[n].1 {
                let xc = towards(-0.5);
                let fc = eval(&xc);
                (xc, fc)
            } else {
                let xc = towards(0.5);
                let fc = eval(&xc);
                (xc, fc)
            };
            if fc < simplex[n].1.min(fr) {
                simplex[n] = (xc, fc);
            } else {
                let x0 = simplex[0].0.clone();
                for (x, fx) in simplex.iter_mut().skip(1) {
                    for (v, b) in x.iter_mut().zip(&x0) {
                        *v = b + 0.5 * (*v - b);
                    }
                    *fx = eval(x);
                }
            }
        }
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (x, f) = simplex.swap_remove(0);
    Minimum { x, f, iterations, converged, grad: None, hess: None }
}

/// Inverse and diagonal of a symmetric positive-definite matrix by Cholesky; `None` when not
/// positive definite.
#[allow(clippy::needless_range_loop)] // dense index arithmetic
pub(crate) fn spd_inverse_diagonal(a: &[Vec<f64>]) -> Option<Vec<f64>> {
    let n = a.len();
    let l = cholesky(a)?;
    // Columns of L⁻¹; diag(A⁻¹)_j = Σ_i (L⁻¹)_{ij}².
    let mut diag = vec![0.0; n];
    for col in 0..n {
        let mut y = vec![0.0; n];
        for i in col..n {
            let mut s = if i == col { 1.0 } else { 0.0 };
            for k in col..i {
                s -= l[i][k] * y[k];
            }
            y[i] = s / l[i][i];
        }
        // (A⁻¹)_{jj} = Σ_i ((L⁻¹)_{i j})² where y holds column `col` of L⁻¹.
        diag[col] = y.iter().map(|v| v * v).sum();
    }
    if diag.iter().all(|v| v.is_finite() && *v > 0.0) {
        Some(diag)
    } else {
        None
    }
}

fn bfgs_update(h: &mut [Vec<f64>], s: &[f64], y: &[f64], sy: f64) {
    let rho = 1.0 / sy;
    let hy = mat_vec(h, y);
    let yhy = dot(y, &hy);
    let n = s.len();
    for i in 0..n {
        for j in 0..n {
            h[i][j] += (1.0 + rho * yhy) * rho * s[i] * s[j] - rho * (hy[i] * s[j] + s[i] * hy[j]);
        }
    }
}

fn identity(n: usize) -> Vec<Vec<f64>> {
    (0..n).map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect()).collect()
}

fn mat_vec(m: &[Vec<f64>], v: &[f64]) -> Vec<f64> {
    m.iter().map(|row| dot(row, v)).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm_inf(v: &[f64]) -> f64 {
    v.iter().fold(0.0_f64, |m, x| m.max(x.abs()))
}

fn finite(v: f64, g: &[f64]) -> bool {
    v.is_finite() && g.iter().all(|x| x.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rosenbrock(x: &[f64]) -> (f64, Vec<f64>) {
        let (a, b) = (x[0], x[1]);
        let f = (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2);
        let g = vec![-2.0 * (1.0 - a) - 400.0 * a * (b - a * a), 200.0 * (b - a * a)];
        (f, g)
    }

    #[test]
    fn bfgs_finds_rosenbrock_minimum() {
        let m = bfgs(|x| Some(rosenbrock(x)), &[-1.2, 1.0], 500, 1e-10);
        assert!(m.converged, "{m:?}");
        assert!((m.x[0] - 1.0).abs() < 1e-6 && (m.x[1] - 1.0).abs() < 1e-6, "{m:?}");
    }

    #[test]
    fn nelder_mead_finds_rosenbrock_minimum() {
        let m = nelder_mead(|x| rosenbrock(x).0, &[-1.2, 1.0], 5000, 1e-14);
        assert!(m.converged, "{m:?}");
        assert!((m.x[0] - 1.0).abs() < 1e-4 && (m.x[1] - 1.0).abs() < 1e-4, "{m:?}");
    }

    #[test]
    fn bfgs_reports_failure_outside_domain() {
        let m = bfgs(|_| None, &[0.0], 10, 1e-8);
        assert!(!m.converged);
    }

    #[test]
    fn inverse_diagonal_of_known_matrix() {
        // [[4, 2], [2, 3]]⁻¹ = [[3, −2], [−2, 4]] / 8.
        let d = spd_inverse_diagonal(&[vec![4.0, 2.0], vec![2.0, 3.0]]).unwrap();
        assert!((d[0] - 3.0 / 8.0).abs() < 1e-15 && (d[1] - 0.5).abs() < 1e-15);
        assert!(spd_inverse_diagonal(&[vec![1.0, 2.0], vec![2.0, 1.0]]).is_none());
    }
}
