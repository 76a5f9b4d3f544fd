//! Maximum-likelihood fitting shared by the models: options, report, and the driver that runs
//! Newton's method on log-parameters with each model's exact Hessian (BG/NBD, MBG/NBD,
//! Pareto/NBD, Gamma-Gamma), BFGS with exact gradients when Newton fails, falls back to
//! Nelder–Mead, and derives standard errors from the Hessian.
//!
//! # Where a fit's time goes
//!
//! A whole fit is three parts: the input laid out once (the customers ordered into the
//! histogram of distinct `(x, t_x, T)` patterns, or for Gamma-Gamma the distinct `(x, m)`
//! pairs grouped by frequency); the optimiser; and the Hessian behind the standard errors,
//! which is Newton's last one, so it costs nothing extra. Every model takes Newton steps,
//! each one pass over the data for value, gradient and Hessian together. A purchase model on
//! more than 800 patterns first finds the optimum of every 8th pattern (to gradient 1e-4,
//! 4 to 6 iterations at an eighth of the cost each) and from there needs 3 Newton iterations
//! on the whole data, 4 evaluations with the last; from the default start (all parameters 1
//! on the scaled axis) it needed 6 to 8 (see `coarse_start`). The log-likelihood reported is
//! the optimiser's last value, not a second pass over the data.
//!
//! Laying out the input: a summary's times take few distinct values (whole days or weeks: 274
//! on the peer script's 20,000 customers), so each time is replaced by its rank among the
//! distinct ones (a small hash table, given up for a comparison sort past 2^16 values or when
//! its probes pass a linear budget) and the patterns, one integer key each, are ordered by a
//! three-pass radix sort; the likelihood's tables of distinct times come from the same ranks.
//! On 20,000 customers that is about 0.4 ms, measured in one process (warm, under load): 40 %
//! of a BG/NBD or MBG/NBD fit there now that the optimiser takes about five evaluations'
//! worth. It cannot go below one validation and one table lookup per customer; a single walk
//! over the customers instead of three, and one hash lookup per time instead of two, were
//! tried and gained nothing measurable. Gamma-Gamma's rows are grouped by a counting sort on
//! frequency and each group's spends sorted by their bits.
//!
//! Per evaluation, what each model cannot avoid and what it does beyond that:
//!
//! - BG/NBD and MBG/NBD: one `exp` and one `ln` per pattern (the softplus of its two terms),
//!   which is the floor of this likelihood, plus about twenty multiply-adds for the gradient
//!   and Hessian sums per frequency; per distinct time one `ln` and one reciprocal, and per
//!   distinct frequency the ratios `ln Γ(y + x)/Γ(y)` with their first and second derivatives,
//!   walked once up to the largest frequency (one `ln` per step). On the 20,000-customer
//!   summary (7,395 patterns) the evaluations are about half of an MBG/NBD fit (`perf`), of
//!   which the `exp` and `ln` are two fifths: the fit is within about 2.5x of its floor of
//!   four whole passes of two transcendental calls per pattern plus the layout. MBG/NBD took
//!   longer than BG/NBD there (1.46 against 1.23 ms) because from the default start its first
//!   Newton step overshoots (`r` from 1 to 5.4, the optimum 1.1) and it needed 8 iterations to
//!   BG/NBD's 6; from the sample's optimum both take 3.
//! - Gamma-Gamma: one `ln` and one reciprocal per distinct `(x, m)` pair, the floor, since
//!   `ln(γ + x m)` mixes the parameter with every pair; `ln Γ`, `ψ` and `ψ'` once per distinct
//!   frequency and `Σ ln m` once per frequency for the whole fit. On 7,816 repeat buyers
//!   (6,750 distinct pairs) the logarithms are about a quarter of the fit, the validation and
//!   grouping of the rows (one `ln` each for `Σ ln m`) and the sort most of the rest.
//! - Pareto/NBD: above the floor of one `exp` and one `ln` per pattern with `t_x < T`, one
//!   Gauss hypergeometric series per distinct (frequency, time) pair, summed with its first
//!   and second derivatives in its three arguments (ten running sums; the series of one
//!   frequency at all its times share their coefficients and run together,
//!   `special::hyp2f1_one_many_second`). A series needs about `ln(1e-17)/ln z` terms, so few
//!   near the optimum on weekly data (`z` below 0.1). The Hessian's row terms are summed per
//!   frequency and per series (`pareto_nbd::hessian`), so a row costs two outer products of
//!   4-vectors beyond its gradient. On CDNOW (1,016 patterns, 940 series) the row pass is a
//!   quarter of the fit, the series a fifth, `exp` and `ln` a tenth and the layout about a
//!   tenth (`perf`): within about 3x of four passes of two
//!   transcendental calls per pattern and one series per pair. Until the exact Hessian, BFGS
//!   took about 30 iterations and the standard errors 4 more gradients (about 35 evaluations,
//!   1.6 ms under load); Newton's method takes 6 from the default start and 3 (4 evaluations)
//!   from the sample's optimum (0.6 ms under load).
//!
//! Measured with `python3 benches/peers/compare_clv.py --fits-only` and `loyalty fit
//! --repeat` (ratios to lifetimes 0.11.3 in the same run; README, "Predictive CLV against
//! lifetimes 0.11.3").

use crate::error::{Error, ErrorKind, Result};

use super::histogram::{Histogram, Prepared};
use super::optim::{bfgs, nelder_mead, newton, spd_inverse_diagonal, Minimum, Second};
use super::special::{Dual, Real};
use super::{finite, PurchaseModel};
use crate::rfm::Period;

/// Options of a maximum-likelihood fit.
///
/// # Example
///
/// ```
/// use loyalty::clv::FitOptions;
///
/// let options = FitOptions::default().penalizer(0.001).max_iterations(500);
/// assert_eq!(options.penalizer_coefficient(), 0.001);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FitOptions {
    penalizer: f64,
    max_iterations: usize,
    tolerance: f64,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions { penalizer: 0.0, max_iterations: 1000, tolerance: 1e-10 }
    }
}

impl FitOptions {
    /// L2 penalty as in lifetimes: `penalizer · Σ θ²` added to the mean negative
    /// log-likelihood, with θ the parameters on the time axis rescaled so the longest `T` is 1.
    /// lifetimes documents 0.001–0.1 as the useful range. Default 0.
    #[must_use]
    pub fn penalizer(self, penalizer: f64) -> Self {
        FitOptions { penalizer, ..self }
    }

    /// Maximum optimiser iterations (each of BFGS and the Nelder–Mead fallback). Default 1000.
    #[must_use]
    pub fn max_iterations(self, max_iterations: usize) -> Self {
        FitOptions { max_iterations, ..self }
    }

    /// Convergence threshold on the largest gradient component of the mean negative
    /// log-likelihood in log-parameter space. Default `1e-10`.
    #[must_use]
    pub fn tolerance(self, tolerance: f64) -> Self {
        FitOptions { tolerance, ..self }
    }

    /// The L2 penalizer.
    #[must_use]
    pub fn penalizer_coefficient(&self) -> f64 {
        self.penalizer
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if !(self.penalizer >= 0.0 && self.penalizer.is_finite()) {
            return Err(Error::invalid("penalizer", self.penalizer, "must be finite and >= 0"));
        }
        if self.max_iterations == 0 {
            return Err(Error::invalid("max_iterations", 0, "must be at least 1"));
        }
        if !(self.tolerance > 0.0 && self.tolerance.is_finite()) {
            return Err(Error::invalid("tolerance", self.tolerance, "must be finite and > 0"));
        }
        Ok(())
    }
}

/// Which optimiser produced the estimate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Method {
    /// Newton's method with the exact Hessian on log-parameters.
    Newton,
    /// BFGS with exact gradients on log-parameters (when Newton failed or the model has no
    /// Hessian).
    Bfgs,
    /// Nelder–Mead (after BFGS failed), polished by BFGS.
    NelderMead,
}

/// Parameters beyond this factor of the data's own scale, up or down, are at the boundary of
/// the parameter space (see [`FitStatus::AtBoundary`]). The fit measures times in units of
/// the longest `T` and spend in units of the mean spend, so every parameter is a pure number
/// of order 1 when the data determine it; a shape parameter of 10⁶ is a mixing distribution
/// with a coefficient of variation of 0.001, which no sample tells from none at all.
pub(crate) const BOUNDARY: f64 = 1e6;

/// Where a converged fit's optimum lies: inside the parameter space, where the standard errors
/// apply, or at its boundary, where the data do not determine the parameters.
///
/// A likelihood that keeps rising as some parameters run to 0 or to infinity (all customers
/// of a log bought only in its first days, say, so nothing tells the spread of their dropout
/// probabilities) lets the optimiser stop, its gradient vanishing, at values such as
/// `a ≈ 3e9`: numbers that look like an estimate but only say "as large as the optimiser
/// went", and on which predictions can overflow. Such a fit is reported as
/// [`AtBoundary`](FitStatus::AtBoundary), with no standard errors, rather than as an
/// ordinary estimate. [`FitReport::ensure_interior`] turns it into an error for callers
/// that must not go on with it.
///
/// # Example
///
/// ```
/// use loyalty::clv::{BgNbd, Customer, FitOptions, FitStatus, Histogram};
/// use loyalty::rfm::Period;
///
/// // Ten customers who each bought twice in the first days of a 150-day log and never again.
/// let customers: Vec<Customer> = (0..10)
///     .map(|i| Customer::new(1.0, 2.0 + f64::from(i % 3), 150.0 - f64::from(i % 5), Period::DAY))
///     .collect::<Result<_, _>>()?;
/// let fit = BgNbd::fit(&Histogram::from_customers(&customers)?, &FitOptions::default())?;
/// assert!(matches!(&fit.report.status, FitStatus::AtBoundary { parameters } if !parameters.is_empty()));
/// assert!(fit.report.standard_errors.is_empty());
/// assert!(fit.report.ensure_interior("bg/nbd").is_err());
/// # Ok::<(), loyalty::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum FitStatus {
    /// An interior optimum: every parameter within a factor of 10⁶ of the data's scale
    /// and a positive-definite Hessian, whose inverse gives the standard errors.
    #[default]
    Converged,
    /// The optimum lies at the boundary of the parameter space: the named parameters ran
    /// beyond a factor of 10⁶ of the data's scale (times in units of the longest `T`, spend
    /// in units of the mean spend) towards 0 or infinity, where the likelihood no longer
    /// changes with them. The data do not identify them; the parameters are the optimiser's
    /// last point, standard errors are undefined (the report has none), and predictions may
    /// fail or mean little. Typical causes: too few customers, or a log too short for the
    /// model's spread to show (nobody bought again after the first days).
    AtBoundary {
        /// The parameters at the boundary, by their names
        /// ([`PurchaseModel::parameter_names`], or `p`, `q`, `v` for Gamma-Gamma), in the
        /// model's order.
        parameters: Vec<String>,
    },
}

impl FitStatus {
    /// Whether the optimum is an interior one ([`FitStatus::Converged`]).
    #[must_use]
    pub fn is_converged(&self) -> bool {
        matches!(self, FitStatus::Converged)
    }
}

/// What a fit reports besides the parameters. A fit that did not converge is an error, so a
/// report always describes a converged optimum; [`status`](FitReport::status) says whether
/// it lies inside the parameter space (with a positive-definite Hessian) or at its boundary.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FitReport {
    /// Total log-likelihood at the estimate, in the data's own time unit (comparable with
    /// published values such as −9582.43 for BG/NBD on CDNOW).
    pub log_likelihood: f64,
    /// Optimiser iterations in all: on a sample of the patterns first for a large histogram
    /// of a purchase model, then on the whole data (Newton, or BFGS and Nelder–Mead when
    /// they were needed).
    pub iterations: usize,
    /// The optimiser that converged.
    pub method: Method,
    /// Asymptotic standard errors of the parameters, in the order of the model's parameters,
    /// from the inverse Hessian of the total negative log-likelihood (delta method from
    /// log-parameters; equal to the natural-parameter Hessian at the optimum). Empty for a
    /// fit [at the boundary](FitStatus::AtBoundary), where they are undefined.
    pub standard_errors: Vec<f64>,
    /// Customers (or repeat buyers for Gamma-Gamma) in the fit.
    pub customers: u64,
    /// Whether the optimum is an interior one or lies at the boundary of the parameter space.
    /// Stored fits of format versions 1 and 2, which had no status, read as
    /// [`FitStatus::Converged`].
    #[cfg_attr(feature = "serde", serde(default))]
    pub status: FitStatus,
}

impl FitReport {
    /// `Ok` for a fit at an interior optimum; an error for one at the boundary of the
    /// parameter space, for callers that must not go on with it (as [`predict`](super::predict)
    /// does not). `model` names the model in the message (for example `"bg/nbd"`).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::AtBoundary`] naming `model` and the parameters when the status is
    /// [`FitStatus::AtBoundary`].
    ///
    /// # Example
    ///
    /// ```
    /// use loyalty::clv::{FitReport, FitStatus, Method};
    ///
    /// let mut report = FitReport {
    ///     log_likelihood: -120.5,
    ///     iterations: 9,
    ///     method: Method::Newton,
    ///     standard_errors: Vec::new(),
    ///     customers: 30,
    ///     status: FitStatus::AtBoundary { parameters: vec!["a".into(), "b".into()] },
    /// };
    /// let e = report.ensure_interior("bg/nbd").unwrap_err();
    /// assert_eq!(
    ///     e.to_string(),
    ///     "bg/nbd fit at the boundary of the parameter space: a, b ran beyond a factor of \
    ///      1e6 of the data's scale, so the data do not identify them",
    /// );
    /// report.status = FitStatus::Converged;
    /// assert!(report.ensure_interior("bg/nbd").is_ok());
    /// ```
    pub fn ensure_interior(&self, model: &'static str) -> Result<()> {
        match &self.status {
            FitStatus::AtBoundary { parameters } => {
                Err(ErrorKind::AtBoundary { model, parameters: parameters.clone() }.into())
            }
            _ => Ok(()),
        }
    }
}

/// Fitted parameters and the report of the fit.
///
/// Stored with a format version (see [`crate::version`]): a `version` field (3) before
/// `params` and `report`; version 2 had no [`FitReport::status`] (it reads as converged),
/// and a fit without the field, as written before versions were recorded, reads as
/// version 1 (the fields of version 2).
#[derive(Clone, Debug, PartialEq)]
pub struct Fit<P> {
    /// The estimate.
    pub params: P,
    /// How it was obtained.
    pub report: FitReport,
}

versioned_serde!(Fit<P>, "clv fit", 3, { params: P, report: FitReport });

/// A negative log-likelihood over `N` parameters on prepared data.
pub(crate) trait Objective<const N: usize> {
    /// Mean negative log-likelihood (unpenalized) at natural parameters `p` (on the scaled
    /// axis); `None` outside the domain or when a series fails.
    fn mean_nll<D: Real>(&self, p: [D; N]) -> Option<D>;

    /// Value and gradient with respect to the natural parameters. By default by forward-mode
    /// dual numbers through [`Objective::mean_nll`]; a model may supply a hand-derived form.
    fn mean_nll_grad(&self, p: [f64; N]) -> Option<(f64, [f64; N])> {
        let mut d = [Dual::<N>::cst(0.0); N];
        for (i, (slot, v)) in d.iter_mut().zip(p).enumerate() {
            *slot = Dual::var(v, i, 1.0);
        }
        let f = self.mean_nll(d)?;
        Some((f.v, f.d))
    }

    /// Value, gradient and Hessian with respect to the natural parameters, when the model
    /// supplies them (then the fit takes Newton steps); `None` by default.
    fn mean_nll_hessian(&self, _p: [f64; N]) -> Option<(f64, [f64; N], [[f64; N]; N])> {
        None
    }
}

/// A four-parameter purchase model (BG/NBD, MBG/NBD, Pareto/NBD), fitted by [`fit_model`].
pub(crate) trait Estimable: PurchaseModel + Sized {
    /// The model's name and its parameters' names ([`PurchaseModel::parameter_names`]).
    const NAMES: Names<4>;

    /// The model's likelihood as the optimiser sees it.
    type Objective<'a>: Objective<4>;

    fn objective(prep: &Prepared) -> Self::Objective<'_>;

    /// The model in `period` at parameters estimated on the scaled time axis of [`Prepared`],
    /// so with the parameters measured in time (`α`, and `β` for Pareto/NBD) multiplied by
    /// `scale`.
    fn from_estimate(params: [f64; 4], scale: f64, period: Period) -> Result<Self>;
}

/// Maximum-likelihood fit of a purchase model on a histogram of `(x, t_x, T)` patterns; the
/// model is in the histogram's period.
pub(crate) fn fit_model<M: Estimable>(
    histogram: &Histogram,
    options: &FitOptions,
) -> Result<Fit<M>> {
    let prep = Prepared::new(histogram)?;
    let (start, first_pass) = coarse_start::<M>(&prep, options);
    let objective = M::objective(&prep);
    let mut est = match estimate(&objective, start, options, &M::NAMES) {
        Ok(est) => est,
        // Where the sample led astray, the default start decides.
        Err(_) if start != [1.0; 4] => estimate(&objective, [1.0; 4], options, &M::NAMES)?,
        Err(e) => return Err(e),
    };
    est.iterations += first_pass;
    let params = M::from_estimate(est.params, prep.scale, histogram.period())?;
    // The likelihood of `x` purchase times carries the unit time^−x, so on the data's own axis
    // it is the scaled one less Σ x ln(scale): no second pass over the patterns.
    let purchases: f64 = prep.rows.iter().map(|r| r.w * r.xf).sum();
    let log_likelihood =
        finite("log-likelihood", -est.nll * prep.weight - purchases * prep.scale.ln())?;
    let report = est.report(
        &params.parameters(),
        &M::NAMES,
        prep.weight,
        log_likelihood,
        histogram.customers(),
    );
    Ok(Fit { params, report })
}

/// Patterns above which a fit first finds the optimum of a sample of them
/// ([`Prepared::sample`]).
const SAMPLE_ABOVE: usize = 800;

/// One pattern in this many goes into the first pass.
const SAMPLE_STEP: usize = 8;

/// The first pass's tolerance: the sample's optimum is only a start, and its distance from
/// the whole data's is far above what a tighter tolerance would resolve.
const SAMPLE_TOLERANCE: f64 = 1e-4;

/// Newton iterations allowed on the sample (it takes 4 to 6).
const SAMPLE_MAX_ITERATIONS: usize = 30;

/// Where the optimiser starts on the whole data, with the iterations it took to get there:
/// for a histogram of more than [`SAMPLE_ABOVE`] patterns the optimum, to a loose tolerance,
/// of every [`SAMPLE_STEP`]-th pattern (the early iterations from the default start, where
/// Newton's steps are damped or cut short, cost an eighth as much there), from which Newton's
/// method reaches the whole data's optimum in about three iterations; otherwise, or when the
/// sample's fit fails, the default start, all parameters 1 on the scaled axis. Only the
/// number of iterations depends on the start, not the optimum: the whole data's fit runs to
/// the caller's tolerance either way.
///
/// Measured (`loyalty fit --repeat 100`, under load, alternating runs): on the peer script's
/// 20,000-customer summary (7,395 patterns) BG/NBD went from 1.23 to 0.95 ms, MBG/NBD from
/// 1.46 to 0.99 ms and Pareto/NBD from 3.84 to 3.17 ms; on CDNOW (1,016 patterns) Pareto/NBD
/// from 0.78 to 0.63 ms, with BG/NBD and MBG/NBD within ±10 %. Every 4th pattern gained less
/// on both; every 16th took Pareto/NBD on CDNOW (64 patterns) to 7 iterations on the whole
/// data instead of 3.
fn coarse_start<M: Estimable>(prep: &Prepared, options: &FitOptions) -> ([f64; 4], usize) {
    let default = ([1.0; 4], 0);
    if prep.rows.len() <= SAMPLE_ABOVE {
        return default;
    }
    let sample = prep.sample(SAMPLE_STEP);
    let objective = M::objective(&sample);
    let pen = options.penalizer;
    // Newton's method alone, with few iterations: a sample on which it fails (one that does
    // not identify the parameters, say) only costs those, not the fallbacks' thousands.
    let tolerance = options.tolerance.max(SAMPLE_TOLERANCE);
    let found = newton(
        |th| value_grad_hess(&objective, th, pen),
        &[0.0; 4],
        options.max_iterations.min(SAMPLE_MAX_ITERATIONS),
        tolerance,
    );
    // A sample that does not identify the parameters (no repeat buyers in it, say) can let
    // Newton's method stop on a plateau, where its Hessian is not positive definite, or run
    // to the boundary, from where the whole data's flat likelihood could not lead back.
    let identified = found.hess.as_deref().and_then(spd_inverse_diagonal).is_some()
        && beyond_bound(&found.x).is_empty();
    if !found.converged || !identified {
        return ([1.0; 4], found.iterations);
    }
    let mut start = [1.0; 4];
    for (p, th) in start.iter_mut().zip(&found.x) {
        *p = th.exp();
    }
    (start, found.iterations)
}

pub(crate) struct Estimate<const N: usize> {
    /// Parameters (scaled axis).
    pub params: [f64; N],
    pub iterations: usize,
    pub method: Method,
    /// Where the optimum lies, with what the standard errors need at an interior one.
    pub curvature: Curvature<N>,
    /// The unpenalized mean negative log-likelihood at `params`.
    pub nll: f64,
}

/// A model's name and its parameters' names, in the order of its estimate, for the reports
/// and errors of its fit.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Names<const N: usize> {
    /// As in the library's messages (`bg/nbd`).
    pub model: &'static str,
    pub parameters: [&'static str; N],
}

/// Where an estimate lies in the parameter space.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Curvature<const N: usize> {
    /// Inside, with a positive-definite Hessian.
    Interior {
        /// `diag(H⁻¹)` of the mean NLL in log space (multiply by `p²/weight` for variances).
        inv_hessian_diag: [f64; N],
    },
    /// At the boundary: the positions of the parameters beyond a factor of [`BOUNDARY`] of 1.
    Boundary { parameters: Vec<usize> },
}

/// The positions of the log-parameters `theta` (on the scaled axis) beyond a factor of
/// [`BOUNDARY`] of 1, up or down.
fn beyond_bound(theta: &[f64]) -> Vec<usize> {
    let limit = BOUNDARY.ln();
    theta.iter().enumerate().filter(|(_, t)| t.abs() > limit).map(|(i, _)| i).collect()
}

fn value_grad<const N: usize, O: Objective<N>>(
    o: &O,
    theta: &[f64],
    penalizer: f64,
) -> Option<(f64, Vec<f64>)> {
    let mut p = [0.0; N];
    for (slot, th) in p.iter_mut().zip(theta) {
        if th.abs() > 40.0 {
            return None;
        }
        *slot = th.exp();
    }
    let (mut f, mut g) = o.mean_nll_grad(p)?;
    if penalizer > 0.0 {
        for (gi, q) in g.iter_mut().zip(p) {
            f += penalizer * q * q;
            *gi += 2.0 * penalizer * q;
        }
    }
    // d/dθ = p d/dp on log-parameters.
    let g: Vec<f64> = g.iter().zip(p).map(|(gi, q)| gi * q).collect();
    (f.is_finite() && g.iter().all(|v| v.is_finite())).then_some((f, g))
}

/// Value, gradient and Hessian of the penalized mean NLL over log-parameters `θ = ln p`:
/// `∂f/∂θ_i = p_i g_i` and `∂²f/∂θ_i∂θ_j = p_i p_j H_ij + δ_ij p_i g_i`.
fn value_grad_hess<const N: usize, O: Objective<N>>(
    o: &O,
    theta: &[f64],
    penalizer: f64,
) -> Second {
    let mut p = [0.0; N];
    for (slot, th) in p.iter_mut().zip(theta) {
        if th.abs() > 40.0 {
            return None;
        }
        *slot = th.exp();
    }
    let (mut f, mut g, mut h) = o.mean_nll_hessian(p)?;
    if penalizer > 0.0 {
        for (i, q) in p.iter().enumerate() {
            f += penalizer * q * q;
            g[i] += 2.0 * penalizer * q;
            h[i][i] += 2.0 * penalizer;
        }
    }
    let gl: Vec<f64> = g.iter().zip(p).map(|(gi, q)| gi * q).collect();
    let hl: Vec<Vec<f64>> = (0..N)
        .map(|i| (0..N).map(|j| p[i] * p[j] * h[i][j] + if i == j { gl[i] } else { 0.0 }).collect())
        .collect();
    let finite = f.is_finite()
        && gl.iter().all(|v| v.is_finite())
        && hl.iter().flatten().all(|v| v.is_finite());
    finite.then_some((f, gl, hl))
}

fn value<const N: usize, O: Objective<N>>(o: &O, theta: &[f64], penalizer: f64) -> f64 {
    let mut p = [0.0; N];
    for (slot, th) in p.iter_mut().zip(theta) {
        if th.abs() > 40.0 {
            return f64::INFINITY;
        }
        *slot = th.exp();
    }
    match o.mean_nll(p) {
        Some(f) => f + penalizer * p.iter().map(|q| q * q).sum::<f64>(),
        None => f64::INFINITY,
    }
}

// Small dense matrices: index loops read best.
#[allow(clippy::needless_range_loop)]
/// Minimises the penalized mean NLL over log-parameters from `start` (natural, scaled axis).
pub(crate) fn estimate<const N: usize, O: Objective<N>>(
    o: &O,
    start: [f64; N],
    options: &FitOptions,
    names: &Names<N>,
) -> Result<Estimate<N>> {
    options.validate()?;
    let pen = options.penalizer;
    let theta0: Vec<f64> = start.iter().map(|v| v.ln()).collect();
    let vg = |th: &[f64]| value_grad(o, th, pen);
    let vgh = |th: &[f64]| value_grad_hess(o, th, pen);
    // Newton steps where the model has an exact Hessian; BFGS, then Nelder–Mead, otherwise or
    // when Newton fails.
    let mut m = newton(vgh, &theta0, options.max_iterations, options.tolerance);
    let mut method = Method::Newton;
    let mut iterations = m.iterations;
    if !m.converged {
        m = bfgs(vg, &theta0, options.max_iterations, options.tolerance);
        method = Method::Bfgs;
        iterations += m.iterations;
    }
    if !m.converged {
        let from = if m.f.is_finite() { m.x.clone() } else { theta0.clone() };
        let nm = nelder_mead(|th| value(o, th, pen), &from, options.max_iterations * 4, 1e-14);
        iterations += nm.iterations;
        if nm.f.is_finite() {
            let polish = bfgs(vg, &nm.x, options.max_iterations, options.tolerance);
            iterations += polish.iterations;
            m = if polish.f.is_finite() && polish.f <= nm.f { polish } else { nm };
            method = Method::NelderMead;
        }
    }
    if !m.converged || !m.f.is_finite() {
        // Still descending where the search gave up, with parameters beyond the bound (up to
        // the edge of the box `|θ| <= 40` it searches): the likelihood's supremum lies at the
        // boundary, which no number of iterations reaches. The value there is not reported:
        // so far out, it can be rounding.
        let beyond = if m.f.is_finite() { beyond_bound(&m.x) } else { Vec::new() };
        if !beyond.is_empty() {
            let parameters = beyond.iter().map(|&i| names.parameters[i].to_string()).collect();
            return Err(ErrorKind::AtBoundary { model: names.model, parameters }.into());
        }
        return Err(ErrorKind::NoConvergence { method: "bfgs and nelder-mead", iterations }.into());
    }
    let mut params = [0.0; N];
    for (p, th) in params.iter_mut().zip(&m.x) {
        *p = th.exp();
    }
    // At the boundary the likelihood is flat along the parameters that ran off: the Hessian
    // there is singular (or positive only by rounding) and no standard errors exist.
    let parameters = beyond_bound(&m.x);
    if !parameters.is_empty() {
        let nll = if pen == 0.0 { m.f } else { value(o, &m.x, 0.0) };
        let nll = finite("log-likelihood", nll)?;
        let curvature = Curvature::Boundary { parameters };
        return Ok(Estimate { params, iterations, method, curvature, nll });
    }
    // The Hessian of the unpenalized mean NLL in log space: exact where the model has one
    // (Newton's last one, without a penalty), else by differences of the exact gradient.
    let exact = match (&m.hess, pen == 0.0) {
        (Some(hess), true) => Some((m.f, hess.clone())),
        _ => value_grad_hess(o, &m.x, 0.0).map(|(f, _, hess)| (f, hess)),
    };
    let (nll, hess) = match exact {
        Some(found) => found,
        None => finite_difference_hessian(o, &m, pen)?,
    };
    let diag = spd_inverse_diagonal(&hess).ok_or_else(hessian_error)?;
    let inv_hessian_diag: [f64; N] = std::array::from_fn(|i| diag[i]);
    let curvature = Curvature::Interior { inv_hessian_diag };
    Ok(Estimate { params, iterations, method, curvature, nll })
}

/// The log-space Hessian of the unpenalized mean NLL at `m.x` by forward differences of the
/// exact gradient (step 1e-6: truncation error ~1e-6 relative, rounding ~1e-10), symmetrised,
/// with the value there.
#[allow(clippy::needless_range_loop)] // dense index arithmetic
fn finite_difference_hessian<const N: usize, O: Objective<N>>(
    o: &O,
    m: &Minimum,
    penalizer: f64,
) -> Result<(f64, Vec<Vec<f64>>)> {
    let h = 1e-6;
    let mut hess = vec![vec![0.0; N]; N];
    // Without a penalty the optimiser's last value and gradient are the ones needed.
    let (nll, g0) = match (&m.grad, penalizer == 0.0) {
        (Some(g), true) => (m.f, g.clone()),
        _ => value_grad(o, &m.x, 0.0).ok_or_else(hessian_error)?,
    };
    for j in 0..N {
        let mut up = m.x.clone();
        up[j] += h;
        let Some((_, gu)) = value_grad(o, &up, 0.0) else {
            return Err(hessian_error());
        };
        for i in 0..N {
            hess[i][j] = (gu[i] - g0[i]) / h;
        }
    }
    for i in 0..N {
        for j in 0..i {
            let s = 0.5 * (hess[i][j] + hess[j][i]);
            hess[i][j] = s;
            hess[j][i] = s;
        }
    }
    Ok((nll, hess))
}

fn hessian_error() -> Error {
    ErrorKind::Numerical {
        what: "fit",
        detail: "the hessian at the optimum is not positive definite: the data do not identify \
                 the parameters"
            .into(),
    }
    .into()
}

impl<const N: usize> Estimate<N> {
    /// The report of a fit at natural parameters `natural`, named `names`, on `weight`
    /// customers.
    pub(crate) fn report(
        &self,
        natural: &[f64; N],
        names: &Names<N>,
        weight: f64,
        log_likelihood: f64,
        customers: u64,
    ) -> FitReport {
        let at_boundary = |positions: &[usize]| {
            let parameters = positions.iter().map(|&i| names.parameters[i].to_string()).collect();
            (Vec::new(), FitStatus::AtBoundary { parameters })
        };
        let (standard_errors, status) = match &self.curvature {
            Curvature::Interior { inv_hessian_diag } => {
                // A parameter whose log-space standard error exceeds ln BOUNDARY is one the
                // data leave free over more than that factor either way: as good as at the
                // boundary, short of which the optimiser stopped only because the likelihood
                // there is too flat for its tolerance to tell (a loose tolerance, say).
                let limit = BOUNDARY.ln();
                let free: Vec<usize> =
                    (0..N).filter(|&i| (inv_hessian_diag[i] / weight).sqrt() > limit).collect();
                if free.is_empty() {
                    let se = natural
                        .iter()
                        .zip(inv_hessian_diag)
                        .map(|(p, d)| p * (d / weight).sqrt())
                        .collect();
                    (se, FitStatus::Converged)
                } else {
                    at_boundary(&free)
                }
            }
            Curvature::Boundary { parameters } => at_boundary(parameters),
        };
        FitReport {
            log_likelihood,
            iterations: self.iterations,
            method: self.method,
            standard_errors,
            customers,
            status,
        }
    }
}

/// Gradient checks shared by the models' likelihood tests.
#[cfg(test)]
pub(crate) mod checks {
    use super::Objective;
    use crate::clv::special::Dual;

    /// Asserts the dual-number gradient of [`Objective::mean_nll`] at `p` matches central
    /// differences (step `1e-6 p`), and returns the dual value for further checks.
    pub(crate) fn gradient_matches_finite_differences<const N: usize, O: Objective<N>>(
        obj: &O,
        p: [f64; N],
    ) -> Dual<N> {
        let duals: [Dual<N>; N] = std::array::from_fn(|i| Dual::var(p[i], i, 1.0));
        let g = obj.mean_nll(duals).unwrap();
        for i in 0..N {
            let step = 1e-6 * p[i];
            let (mut up, mut dn) = (p, p);
            up[i] += step;
            dn[i] -= step;
            let fd = (obj.mean_nll(up).unwrap() - obj.mean_nll(dn).unwrap()) / (2.0 * step);
            assert!(
                (g.d[i] - fd).abs() <= 1e-6 * fd.abs().max(1.0),
                "{p:?} {i}: {} vs {fd}",
                g.d[i]
            );
        }
        g
    }

    /// Asserts [`Objective::mean_nll_hessian`] at `p` gives the value and gradient of
    /// [`Objective::mean_nll_grad`] and a Hessian equal to central differences of that gradient
    /// (step `1e-5 p`).
    pub(crate) fn hessian_matches_gradient_differences<const N: usize, O: Objective<N>>(
        obj: &O,
        p: [f64; N],
    ) {
        let (f, g, h) = obj.mean_nll_hessian(p).unwrap();
        let (f0, g0) = obj.mean_nll_grad(p).unwrap();
        assert!((f - f0).abs() <= 1e-13 * f0.abs().max(1.0), "{f} vs {f0}");
        for (a, b) in g.iter().zip(g0) {
            assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "{a} vs {b}");
        }
        for j in 0..N {
            let step = 1e-5 * p[j];
            let (mut up, mut dn) = (p, p);
            up[j] += step;
            dn[j] -= step;
            let gu = obj.mean_nll_grad(up).unwrap().1;
            let gd = obj.mean_nll_grad(dn).unwrap().1;
            for i in 0..N {
                let fd = (gu[i] - gd[i]) / (2.0 * step);
                let scale = fd.abs().max(h[i][i].abs().sqrt() * h[j][j].abs().sqrt()).max(1e-3);
                assert!(
                    (h[i][j] - fd).abs() <= 1e-6 * scale,
                    "{p:?} ({i}, {j}): {} vs {fd}",
                    h[i][j]
                );
                assert_eq!(h[i][j], h[j][i]);
            }
        }
    }

    /// Asserts a hand-derived [`Objective::mean_nll_grad`] equals the dual-number form at `p`.
    pub(crate) fn hand_gradient_equals_dual_gradient<const N: usize, O: Objective<N>>(
        obj: &O,
        p: [f64; N],
    ) {
        let duals: [Dual<N>; N] = std::array::from_fn(|i| Dual::var(p[i], i, 1.0));
        let want = obj.mean_nll(duals).unwrap();
        let (f, g) = obj.mean_nll_grad(p).unwrap();
        assert!((f - want.v).abs() < 1e-12 * want.v.abs().max(1.0), "{f} vs {}", want.v);
        for (i, (gi, wi)) in g.iter().zip(want.d).enumerate() {
            assert!((gi - wi).abs() < 1e-10 * wi.abs().max(1.0), "{p:?} {i}: {gi} vs {wi}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clv::{BgNbd, Customer, GammaGamma, MbgNbd, ParetoNbd};

    fn cdnow() -> Histogram {
        let customers: Vec<Customer> = include_str!("../../tests/data/cdnow_customers_summary.csv")
            .lines()
            .skip(1)
            .map(|line| {
                let v: Vec<f64> = line.split(',').skip(1).map(|f| f.parse().unwrap()).collect();
                Customer::new(v[0], v[1], v[2], Period::WEEK).unwrap()
            })
            .collect();
        Histogram::from_customers(&customers).unwrap()
    }

    /// The fit from the sample's optimum against Newton's method from the default start on
    /// the same objective: the same estimate, to well below the 1e-6 the peers are held to.
    fn same_optimum<M: Estimable>(h: &Histogram) {
        let prep = Prepared::new(h).unwrap();
        assert!(prep.rows.len() > SAMPLE_ABOVE, "the sample pass must run");
        let (start, first) = coarse_start::<M>(&prep, &FitOptions::default());
        assert!(first > 0 && start != [1.0; 4], "{first} {start:?}");
        let o = FitOptions::default();
        let from_sample = estimate(&M::objective(&prep), start, &o, &M::NAMES).unwrap();
        let plain = estimate(&M::objective(&prep), [1.0; 4], &o, &M::NAMES).unwrap();
        for (a, b) in from_sample.params.iter().zip(plain.params) {
            // Both runs stop at gradient 1e-10, which leaves the flattest direction free to
            // about 1e-8 (MBG/NBD's r: 4e-9).
            assert!((a / b - 1.0).abs() < 1e-7, "{a} vs {b}");
        }
        let (
            Curvature::Interior { inv_hessian_diag: from_sample },
            Curvature::Interior { inv_hessian_diag: plain },
        ) = (from_sample.curvature, plain.curvature)
        else {
            panic!("an optimum at the boundary");
        };
        for (a, b) in from_sample.iter().zip(plain) {
            assert!((a / b - 1.0).abs() < 1e-6, "{a} vs {b}");
        }
    }

    #[test]
    fn the_sample_start_changes_only_the_path() {
        let h = cdnow();
        same_optimum::<BgNbd>(&h);
        same_optimum::<MbgNbd>(&h);
        same_optimum::<ParetoNbd>(&h);
    }

    /// 30 customers of a log as of 1 June whose purchases all fell in the first days of
    /// January (days 0 to 4): the even ones bought once, the odd ones twice, two days apart.
    fn early_january() -> Vec<Customer> {
        (0..30u32)
            .map(|i| {
                let t = 152.0 - f64::from(i % 5);
                let (x, tx) = if i % 2 == 1 { (1.0, 2.0) } else { (0.0, 0.0) };
                Customer::new(x, tx, t, Period::DAY).unwrap()
            })
            .collect()
    }

    /// `Σ ln L` of BG/NBD at `(r, α, a, b)` over `customers`.
    fn bgnbd_log_likelihood(customers: &[Customer], [r, alpha, a, b]: [f64; 4]) -> f64 {
        let m = BgNbd::new(r, alpha, a, b, Period::DAY).unwrap();
        customers.iter().map(|c| m.log_likelihood(c).unwrap()).sum()
    }

    #[test]
    fn bgnbd_on_early_january_buyers_runs_b_to_the_boundary() {
        // With at most one repeat purchase each, `a` and `b` enter the likelihood only as
        // p = a/(a + b) (B(a, b + 1)/B(a, b) = 1 − p, B(a + 1, b)/B(a, b) = p), and a repeat
        // buyer's likelihood r α^r [(1 − p)/(α + T)^(r+1) + p/(α + 2)^(r+1)] rises with p as
        // 2 < T: every repeat buyer dropped out at the repeat purchase, so the supremum is
        // p = 1, b = 0, outside the parameter space. (Before the boundary check this fit
        // failed with "the hessian at the optimum is not positive definite", which did not say
        // why; at tolerance 1e-6, below, it was reported as converged.)
        let customers = early_january();
        let fit =
            BgNbd::fit(&Histogram::from_customers(&customers).unwrap(), &FitOptions::default())
                .unwrap();
        let p = fit.params;
        assert_eq!(fit.report.status, FitStatus::AtBoundary { parameters: vec!["b".into()] });
        assert!(p.b() < 1e-6 && p.a() > 1.0, "{p:?}");
        assert_eq!(fit.report.standard_errors, Vec::<f64>::new());
        assert_eq!(fit.report.customers, 30);
        // The likelihood rises as b falls towards 0, whatever the other parameters.
        let mut last = f64::NEG_INFINITY;
        for b in [1.0, 0.1, 0.01, 1e-4, 1e-8] {
            let ll = bgnbd_log_likelihood(&customers, [p.r(), p.alpha(), p.a(), b]);
            assert!(ll > last, "b {b}: {ll} after {last}");
            last = ll;
        }
        assert!((fit.report.log_likelihood - last).abs() < 1e-6, "{}", fit.report.log_likelihood);
        let e = fit.report.ensure_interior("bg/nbd").unwrap_err();
        assert_eq!(
            e.kind(),
            &ErrorKind::AtBoundary { model: "bg/nbd", parameters: vec!["b".into()] }
        );
    }

    #[test]
    fn a_fit_reported_as_converged_before_is_at_the_boundary() {
        // 30 customers as of day 152: ten bought again 1, 3.5, 6 or 8.5 days after their
        // first purchase and never since, twenty bought once. As above only p = a/(a + b) is
        // identified and it runs to 1; before the boundary check this fit was reported as
        // converged at b ≈ 1.4e-9 with a standard error of 8e7 for a.
        let customers: Vec<Customer> = (0..30u32)
            .map(|i| {
                let t = 152.0 - f64::from(i % 5);
                let (x, tx) = if i < 10 { (1.0, 1.0 + f64::from(i % 4) * 2.5) } else { (0.0, 0.0) };
                Customer::new(x, tx, t, Period::DAY).unwrap()
            })
            .collect();
        let h = Histogram::from_customers(&customers).unwrap();
        let fit = BgNbd::fit(&h, &FitOptions::default()).unwrap();
        assert_eq!(fit.report.status, FitStatus::AtBoundary { parameters: vec!["b".into()] });
        assert!(fit.params.b() < 1e-6, "{:?}", fit.params);
        assert!(fit.report.standard_errors.is_empty());
    }

    #[test]
    fn a_loose_tolerance_stopping_short_of_the_boundary_is_reported_too() {
        // At tolerance 1e-6 the optimiser stops at a ≈ 560, b ≈ 1e-3, inside the bound, but
        // only p = a/(a + b) is identified (see above): a and b are free along a+b, their
        // log-space standard errors in the millions.
        let h = Histogram::from_customers(&early_january()).unwrap();
        let fit = BgNbd::fit(&h, &FitOptions::default().tolerance(1e-6)).unwrap();
        let p = fit.params;
        assert!(p.a() < BOUNDARY && p.b() > 1.0 / BOUNDARY, "{p:?}");
        let parameters = vec!["a".to_string(), "b".to_string()];
        assert_eq!(fit.report.status, FitStatus::AtBoundary { parameters });
        assert!(fit.report.standard_errors.is_empty());
    }

    #[test]
    fn the_other_purchase_models_on_early_january_buyers_stop_at_the_boundary() {
        // Their likelihoods keep rising towards the edge of the optimiser's box without
        // settling: no estimate, a typed error naming the parameters that ran off.
        let h = Histogram::from_customers(&early_january()).unwrap();
        let e = MbgNbd::fit(&h, &FitOptions::default()).unwrap_err();
        let parameters = ["r", "a", "b"].map(String::from).to_vec();
        assert_eq!(e.kind(), &ErrorKind::AtBoundary { model: "mbg/nbd", parameters });
        let e = ParetoNbd::fit(&h, &FitOptions::default()).unwrap_err();
        let parameters = ["r", "s"].map(String::from).to_vec();
        assert_eq!(e.kind(), &ErrorKind::AtBoundary { model: "pareto/nbd", parameters });
        assert_eq!(
            e.to_string(),
            "pareto/nbd fit at the boundary of the parameter space: r, s ran beyond a factor \
             of 1e6 of the data's scale, so the data do not identify them"
        );
    }

    #[test]
    fn gamma_gamma_on_equal_spends_runs_to_the_boundary() {
        // Twelve repeat buyers spending 20.00 or 20.01 a purchase: no spread between
        // customers, so the spend distribution's shapes p and q run to infinity.
        let buyers: Vec<Customer> = (0..12)
            .map(|i| {
                let c = Customer::new(1.0 + f64::from(i % 3), 1.0, 5.0, Period::WEEK).unwrap();
                c.with_monetary_value(20.0 + f64::from(i % 2) * 0.01)
            })
            .collect();
        let e = GammaGamma::fit(&buyers, &FitOptions::default()).unwrap_err();
        let parameters = vec!["p".to_string(), "q".to_string()];
        assert_eq!(e.kind(), &ErrorKind::AtBoundary { model: "gamma-gamma", parameters });
    }

    #[cfg(feature = "serde")]
    #[test]
    fn a_fit_at_the_boundary_is_stored_with_its_status() {
        let h = Histogram::from_customers(&early_january()).unwrap();
        let fit = BgNbd::fit(&h, &FitOptions::default()).unwrap();
        let json = serde_json::to_string(&fit).unwrap();
        assert!(json.starts_with(r#"{"version":3,"#), "{json}");
        assert!(json.contains(r#""standard_errors":[],"#), "{json}");
        assert!(json.ends_with(r#""status":{"AtBoundary":{"parameters":["b"]}}}}"#), "{json}");
        let back: Fit<BgNbd> = serde_json::from_str(&json).unwrap();
        // serde_json's default float parsing may move the last bit of a parameter.
        assert_eq!(back.report, fit.report);
    }

    #[test]
    fn fits_on_cdnow_are_interior() {
        let h = cdnow();
        let o = FitOptions::default();
        let reports = [
            BgNbd::fit(&h, &o).unwrap().report,
            MbgNbd::fit(&h, &o).unwrap().report,
            ParetoNbd::fit(&h, &o).unwrap().report,
        ];
        for r in reports {
            assert_eq!(r.status, FitStatus::Converged);
            assert!(r.status.is_converged());
            assert_eq!(r.standard_errors.len(), 4);
            r.ensure_interior("cdnow").unwrap();
        }
    }

    #[test]
    fn a_sample_without_repeat_buyers_falls_back_to_the_default_start() {
        // 801 patterns without repeat purchases (positions 0 to 800 once sorted), then 7 with
        // (801 to 807): every 8th pattern has none, so the sample's likelihood has no optimum.
        let mut customers = Vec::new();
        for i in 0..808u32 {
            let t = 10.0 + f64::from(i) * 0.01;
            let (x, tx) = if i < 801 { (0.0, 0.0) } else { (2.0, t * 0.5) };
            customers.push(Customer::new(x, tx, t, Period::WEEK).unwrap());
        }
        let h = Histogram::from_customers(&customers).unwrap();
        let prep = Prepared::new(&h).unwrap();
        assert!(prep.rows.len() > SAMPLE_ABOVE);
        assert!(prep.sample(SAMPLE_STEP).rows.iter().all(|r| r.xf == 0.0));
        let (start, iterations) = coarse_start::<BgNbd>(&prep, &FitOptions::default());
        assert_eq!(start, [1.0; 4]);
        assert!(iterations <= SAMPLE_MAX_ITERATIONS);
    }
}
