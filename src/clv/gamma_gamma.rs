//! Gamma-Gamma spend model (Fader, Hardie & Lee 2005, JMR; Fader & Hardie 2013, note 025).

use crate::error::{Error, Result};

use super::fit::{estimate, Fit, FitOptions, Names, Objective};
use super::optim::second_order;
use super::special::{ln_gamma, Real};
use super::{check_param, finite, Customer, Problem};

/// The names in the fit's reports and errors.
const NAMES: Names<3> = Names { model: "gamma-gamma", parameters: ["p", "q", "v"] };

/// Gamma-Gamma parameters: each transaction value `z ~ Gamma(p, ν)`, and `ν ~ Gamma(q, γ)`
/// across customers (lifetimes calls `γ` `v`).
///
/// `q` must exceed 1: at `q ≤ 1` the population mean spend `pγ/(q−1)` is infinite, which other
/// tools turn into negative CLV (lifetimes #146, #362, #370). Such parameters, and fits that
/// land there, are refused with an error.
///
/// # Example
///
/// ```
/// use loyalty::clv::{Customer, GammaGamma};
/// use loyalty::rfm::Period;
///
/// let gg = GammaGamma::new(6.25, 3.74, 15.44)?;
/// let c = Customer::new(2.0, 30.43, 38.86, Period::WEEK)?.with_monetary_value(22.35);
/// assert!((gg.conditional_expected_average_spend(&c)? - 24.65).abs() < 0.1);
/// assert!(GammaGamma::new(6.25, 0.9, 15.44).is_err());
/// # Ok::<(), loyalty::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "GammaGammaRepr", into = "GammaGammaRepr")
)]
pub struct GammaGamma {
    p: f64,
    q: f64,
    v: f64,
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct GammaGammaRepr {
    #[serde(default = "crate::version::v1")]
    version: u32,
    p: f64,
    q: f64,
    v: f64,
}

#[cfg(feature = "serde")]
impl TryFrom<GammaGammaRepr> for GammaGamma {
    type Error = Error;
    fn try_from(r: GammaGammaRepr) -> Result<GammaGamma> {
        crate::version::check("GammaGamma", r.version, 1)?;
        GammaGamma::new(r.p, r.q, r.v)
    }
}

#[cfg(feature = "serde")]
impl From<GammaGamma> for GammaGammaRepr {
    fn from(g: GammaGamma) -> GammaGammaRepr {
        GammaGammaRepr { version: 1, p: g.p, q: g.q, v: g.v }
    }
}

impl GammaGamma {
    /// Parameters `p, q, γ` (lifetimes' `p, q, v`).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a non-positive or
    /// non-finite parameter, or `q <= 1` (infinite mean spend).
    pub fn new(p: f64, q: f64, v: f64) -> Result<GammaGamma> {
        check_param("p", p)?;
        check_param("q", q)?;
        check_param("v", v)?;
        if q <= 1.0 {
            return Err(Error::invalid(
                "q",
                q,
                "must exceed 1: with q <= 1 the mean spend is infinite and CLV meaningless \
                 (rescale spend or check for outliers)",
            ));
        }
        Ok(GammaGamma { p, q, v })
    }

    /// Shape `p` of a transaction value.
    #[must_use]
    pub fn p(&self) -> f64 {
        self.p
    }
    /// Shape `q` of the customers' scale distribution.
    #[must_use]
    pub fn q(&self) -> f64 {
        self.q
    }
    /// Scale `γ` (lifetimes' `v`).
    #[must_use]
    pub fn v(&self) -> f64 {
        self.v
    }

    /// Population mean of a customer's mean spend, `pγ/(q−1)`.
    #[must_use]
    pub fn mean_spend(&self) -> f64 {
        self.p * self.v / (self.q - 1.0)
    }

    /// Maximum-likelihood fit on the repeat buyers (`frequency > 0`) of `customers`; the
    /// others are skipped after validation.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidRecord`](crate::ErrorKind::InvalidRecord) for an invalid row
    /// (including `monetary_value <= 0` for a repeat buyer);
    /// [`ErrorKind::EmptyInput`](crate::ErrorKind::EmptyInput) without rows;
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when no row is a repeat buyer
    /// or the estimate has `q <= 1`; [`ErrorKind::NoConvergence`](crate::ErrorKind::NoConvergence)
    /// when the optimiser fails.
    pub fn fit(customers: &[Customer], options: &FitOptions) -> Result<Fit<GammaGamma>> {
        if customers.is_empty() {
            return Err(Error::empty("customers"));
        }
        let mut rows = Vec::new();
        for (i, c) in customers.iter().enumerate() {
            c.check_for_fit().map_err(|p| p.at(i))?;
            c.check_monetary_for_fit().map_err(|p| p.at(i))?;
            if c.frequency > 0.0 {
                rows.push((c.frequency, c.monetary_value));
            }
        }
        if rows.is_empty() {
            return Err(Error::invalid(
                "frequency",
                0,
                "every customer has frequency 0: the spend model needs repeat buyers",
            ));
        }
        let data = Data::new(rows);
        let est = estimate(&data, data.moment_start(), options, &NAMES)?;
        let [p, q, v] = est.params;
        // Spend was fitted in units of its mean (so that the start γ = 1 is near): γ scales
        // with the unit, and each buyer's density of m carries a factor 1/scale.
        let v = v * data.scale;
        let params = GammaGamma::new(p, q, v)?;
        let n = data.weight;
        let log_likelihood = finite("log-likelihood", -(est.nll + data.scale.ln()) * n)?;
        let report = est.report(&[p, q, v], &NAMES, n, log_likelihood, n as u64);
        Ok(Fit { params, report })
    }

    /// Log-density of a repeat buyer's mean spend `m_x` over `x` repeat purchases (note 025
    /// eq. 1a).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for an invalid customer or
    /// `frequency = 0` (no repeat spend to explain).
    pub fn log_likelihood(&self, c: &Customer) -> Result<f64> {
        c.check_transactions().map_err(Problem::single)?;
        c.check_monetary_for_fit().map_err(Problem::single)?;
        if c.frequency == 0.0 {
            return Err(Error::invalid("frequency", 0, "the spend model needs a repeat buyer"));
        }
        let (x, m) = (c.frequency, c.monetary_value);
        let (p, q, v) = (self.p, self.q, self.v);
        finite(
            "log-likelihood",
            ln_gamma(p * x + q) - ln_gamma(p * x) - ln_gamma(q)
                + q * v.ln()
                + (p * x - 1.0) * m.ln()
                + p * x * x.ln()
                - (p * x + q) * (v + x * m).ln(),
        )
    }

    /// `E[Z | p, q, γ, m_x, x] = p(γ + x m_x)/(px + q − 1)`: the expected average spend of a
    /// customer's future purchases (lifetimes' `conditional_expected_average_profit`); the
    /// population mean `pγ/(q−1)` for `x = 0` (lifetimes #315).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for an invalid customer.
    pub fn conditional_expected_average_spend(&self, c: &Customer) -> Result<f64> {
        c.check_transactions().map_err(Problem::single)?;
        c.check_monetary().map_err(Problem::single)?;
        finite("expected spend", self.spend_unchecked(c.frequency, c.monetary_value))
    }

    pub(crate) fn spend_unchecked(&self, x: f64, m: f64) -> f64 {
        if x == 0.0 {
            return self.mean_spend();
        }
        self.p * (self.v + x * m) / (self.p * x + self.q - 1.0)
    }
}

/// The repeat buyers laid out for the likelihood, which separates (note 025 eq. 1a):
/// `ln Γ(px + q) − ln Γ(px) + px ln x` depends on a buyer's frequency only and is computed once
/// per distinct `x`; `(px − 1) ln m` sums to `p x Σ ln m − Σ ln m` per frequency with the sums
/// taken once; only `(px + q) ln(γ + x m)` needs a logarithm per distinct `(x, m)` pair and
/// evaluation. Spend is measured in units of its mean, so that parameters start near the
/// optimum whatever the currency.
struct Data {
    /// One group per distinct frequency, ascending.
    groups: Vec<Group>,
    /// Distinct `x m` per group, in group order.
    xm: Vec<f64>,
    /// How many buyers share each `(x, m)` pair (parallel to `xm`).
    count: Vec<f64>,
    /// Number of buyers.
    weight: f64,
    /// The unit of spend (the mean `m`).
    scale: f64,
}

struct Group {
    x: f64,
    /// Buyers with this frequency.
    count: f64,
    /// `Σ ln m` over them.
    sum_ln_m: f64,
    /// Their pairs in `Data::xm`.
    start: usize,
    end: usize,
}

impl Data {
    /// From validated `(x, m)` rows with `x > 0` and `m > 0`.
    fn new(mut rows: Vec<(f64, f64)>) -> Data {
        sort_rows(&mut rows);
        let scale = rows.iter().map(|r| r.1).sum::<f64>() / rows.len().max(1) as f64;
        let mut data =
            Data { groups: Vec::new(), xm: Vec::new(), count: Vec::new(), weight: 0.0, scale };
        let mut last: Option<(f64, f64)> = None;
        for (x, m) in rows {
            if data.groups.last().is_none_or(|g| g.x != x) {
                let start = data.xm.len();
                data.groups.push(Group { x, count: 0.0, sum_ln_m: 0.0, start, end: start });
            }
            let Some(g) = data.groups.last_mut() else { continue };
            if last == Some((x, m)) {
                if let Some(c) = data.count.last_mut() {
                    *c += 1.0;
                }
            } else {
                data.xm.push(x * (m / scale));
                data.count.push(1.0);
                g.end += 1;
            }
            g.count += 1.0;
            g.sum_ln_m += (m / scale).ln();
            data.weight += 1.0;
            last = Some((x, m));
        }
        data
    }

    /// A start for the optimiser from moments, `[1, 1, 1]` when they do not give one. Given
    /// `ν`, a buyer's mean `m` of `x` spends has mean `p/ν` and variance `p/(x ν²)`; over
    /// `ν ~ Gamma(q, γ)` that makes `E[m] = pγ/(q−1)` (1 in the fit's unit) and
    /// `E[m²] = A + B/x` with `A = (q−1)/(q−2)` and `B = A/p`. A least-squares line of `m²`
    /// on `1/x` gives `A` and `B`, hence `q = (2A−1)/(A−1)`, `p = A/B` and `γ = (q−1)/p`.
    /// Only the number of iterations depends on it, not the optimum.
    fn moment_start(&self) -> [f64; 3] {
        let (mut s, mut su, mut sy, mut suu, mut suy) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for g in &self.groups {
            let u = 1.0 / g.x;
            let (Some(xm), Some(count)) =
                (self.xm.get(g.start..g.end), self.count.get(g.start..g.end))
            else {
                continue;
            };
            for (&xm, &c) in xm.iter().zip(count) {
                let m = xm * u;
                s += c;
                su += c * u;
                sy += c * m * m;
                suu += c * u * u;
                suy += c * u * m * m;
            }
        }
        let b = (s * suy - su * sy) / (s * suu - su * su);
        let a = (sy - b * su) / s;
        let q = (2.0 * a - 1.0) / (a - 1.0);
        let p = a / b;
        let start = [p, q, (q - 1.0) / p];
        if a > 1.0 && b > 0.0 && start.iter().all(|v| v.is_finite() && *v > 0.0) {
            start
        } else {
            [1.0; 3]
        }
    }

    /// Per group, `ln Γ(px + q) − ln Γ(px) + px ln x` with its gradient.
    fn per_x<'a, D: Real + 'a>(
        &'a self,
        p: D,
        q: D,
    ) -> impl Iterator<Item = (&'a Group, D, D)> + 'a {
        self.groups.iter().map(move |g| {
            let px = p * g.x;
            (g, px, (px + q).ln_gamma() - px.ln_gamma() + px * g.x.ln())
        })
    }
}

/// Sorts validated `(x, m)` rows (whole `x > 0`, `m > 0`) by `x`, then `m`: by a counting
/// sort on `x` when the frequencies are small whole numbers, as they are, then each
/// frequency's spends by their bits (for non-negative values, bit order is value order, and
/// integer keys sort fastest); by one sort on both keys otherwise. The same order either way.
fn sort_rows(rows: &mut Vec<(f64, f64)>) {
    let max_x = rows.iter().fold(0.0_f64, |m, r| m.max(r.0));
    if max_x.is_nan() || max_x > (4 * rows.len() + 64) as f64 {
        rows.sort_unstable_by_key(|&(x, m)| (x.to_bits(), m.to_bits()));
        return;
    }
    let slot = |x: f64| x as usize;
    let mut starts = vec![0usize; slot(max_x) + 2];
    for r in rows.iter() {
        if let Some(c) = starts.get_mut(slot(r.0) + 1) {
            *c += 1;
        }
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let bounds = starts.clone();
    let mut out = vec![(0.0, 0.0); rows.len()];
    for &r in rows.iter() {
        if let Some(s) = starts.get_mut(slot(r.0)) {
            if let Some(o) = out.get_mut(*s) {
                *o = r;
            }
            *s += 1;
        }
    }
    for w in bounds.windows(2) {
        if let Some(group) = out.get_mut(w[0]..w[1]) {
            group.sort_unstable_by_key(|r| r.1.to_bits());
        }
    }
    *rows = out;
}

impl Objective<3> for Data {
    fn mean_nll<D: Real>(&self, prm: [D; 3]) -> Option<D> {
        let [p, q, v] = prm;
        let head = q * v.ln() - q.ln_gamma();
        let mut total = D::cst(0.0);
        for (g, px, lg) in self.per_x(p, q) {
            let xm = self.xm.get(g.start..g.end)?;
            let count = self.count.get(g.start..g.end)?;
            let mut sum_ln = D::cst(0.0);
            for (&xm, &c) in xm.iter().zip(count) {
                sum_ln = sum_ln + (v + xm).ln() * c;
            }
            total = total + lg * g.count + (px - 1.0) * g.sum_ln_m - (px + q) * sum_ln;
        }
        let f = -(total / self.weight + head);
        f.val().is_finite().then_some(f)
    }

    /// Hand-derived gradient (the tests check it against the dual-number form): the terms in
    /// `ln Γ` are differentiated once per distinct frequency, and a pair adds one logarithm and
    /// one reciprocal to two sums.
    fn mean_nll_grad(&self, prm: [f64; 3]) -> Option<(f64, [f64; 3])> {
        use super::special::Dual;
        let [p, q, v] = prm;
        let (pd, qd) = (Dual::<3>::var(p, 0, 1.0), Dual::<3>::var(q, 1, 1.0));
        let mut ll = 0.0;
        let mut g = [0.0; 3];
        for (grp, _, lg) in self.per_x(pd, qd) {
            let xm = self.xm.get(grp.start..grp.end)?;
            let count = self.count.get(grp.start..grp.end)?;
            let (mut sum_ln, mut sum_inv) = (0.0, 0.0);
            for (&xm, &c) in xm.iter().zip(count) {
                let u = v + xm;
                sum_ln += c * u.ln();
                sum_inv += c / u;
            }
            let pxq = p * grp.x + q;
            ll += grp.count * lg.v + (p * grp.x - 1.0) * grp.sum_ln_m - pxq * sum_ln;
            g[0] += grp.count * lg.d[0] + grp.x * (grp.sum_ln_m - sum_ln);
            g[1] += grp.count * lg.d[1] - sum_ln;
            g[2] -= pxq * sum_inv;
        }
        let n = self.weight;
        let head = q * v.ln() - super::special::ln_gamma(q);
        let f = -(ll / n + head);
        let dg_q = statrs::function::gamma::digamma(q);
        let g = [-g[0] / n, -(g[1] / n + v.ln() - dg_q), -(g[2] / n + q / v)];
        (f.is_finite() && g.iter().all(|v| v.is_finite())).then_some((f, g))
    }

    /// Value, gradient and Hessian in one pass: per group the `ψ` and `ψ'` of `px + q` and
    /// `px`, per pair one logarithm and one reciprocal (its square is the curvature in `γ`).
    fn mean_nll_hessian(&self, prm: [f64; 3]) -> Option<(f64, [f64; 3], [[f64; 3]; 3])> {
        use super::special::trigamma;
        use statrs::function::gamma::digamma;
        let [p, q, v] = prm;
        let mut ll = 0.0;
        let mut g = [0.0; 3];
        let mut h = [[0.0; 3]; 3];
        for grp in &self.groups {
            let xm = self.xm.get(grp.start..grp.end)?;
            let count = self.count.get(grp.start..grp.end)?;
            let (mut sum_ln, mut sum_inv, mut sum_inv2) = (0.0, 0.0, 0.0);
            for (&xm, &c) in xm.iter().zip(count) {
                let u = v + xm;
                let inv = 1.0 / u;
                sum_ln += c * u.ln();
                sum_inv += c * inv;
                sum_inv2 += c * inv * inv;
            }
            let (x, n) = (grp.x, grp.count);
            let px = p * x;
            let pxq = px + q;
            let ln_x = x.ln();
            // ln Γ(px+q) − ln Γ(px) + px ln x and its derivatives in p and q.
            let lg = ln_gamma(pxq) - ln_gamma(px) + px * ln_x;
            let (dg_pxq, dg_px) = (digamma(pxq), digamma(px));
            let (tg_pxq, tg_px) = (trigamma(pxq), trigamma(px));
            ll += n * lg + (px - 1.0) * grp.sum_ln_m - pxq * sum_ln;
            g[0] += n * x * (dg_pxq - dg_px + ln_x) + x * (grp.sum_ln_m - sum_ln);
            g[1] += n * dg_pxq - sum_ln;
            g[2] -= pxq * sum_inv;
            h[0][0] += n * x * x * (tg_pxq - tg_px);
            h[0][1] += n * x * tg_pxq;
            h[1][1] += n * tg_pxq;
            h[0][2] -= x * sum_inv;
            h[1][2] -= sum_inv;
            h[2][2] += pxq * sum_inv2;
        }
        let n = self.weight;
        // The head q ln γ − ln Γ(q), once per buyer.
        let f = -(ll / n + q * v.ln() - ln_gamma(q));
        let g = [-g[0] / n, -(g[1] / n + v.ln() - digamma(q)), -(g[2] / n + q / v)];
        let head = [[0.0, 0.0, 0.0], [0.0, -trigamma(q), 1.0 / v], [0.0, 1.0 / v, -q / (v * v)]];
        second_order(f, g, |i, j| -(h[i][j] / n + head[i][j]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clv::fit::checks;
    use crate::rfm::Period;

    /// Repeat buyers with shared frequencies and a repeated `(x, m)` pair.
    fn data() -> Data {
        Data::new(vec![(1.0, 20.0), (3.0, 35.5), (1.0, 12.25), (3.0, 35.5), (7.0, 110.0)])
    }

    #[test]
    fn groups_frequencies_and_pairs() {
        let d = data();
        assert_eq!(d.weight, 5.0);
        assert_eq!(d.scale, 42.65);
        assert_eq!(d.groups.len(), 3);
        let unscaled: Vec<f64> = d.xm.iter().map(|v| v * 42.65).collect();
        for (got, want) in unscaled.iter().zip([12.25, 20.0, 106.5, 770.0]) {
            assert!((got - want).abs() < 1e-12 * want, "{got} vs {want}");
        }
        assert_eq!(d.count, vec![1.0, 1.0, 2.0, 1.0]);
        let g = &d.groups[1];
        assert_eq!((g.x, g.count, g.start, g.end), (3.0, 2.0, 2, 3));
        assert!((g.sum_ln_m - 2.0 * (35.5f64 / 42.65).ln()).abs() < 1e-15);
    }

    #[test]
    fn objective_equals_per_customer_log_likelihood() {
        let (p, q, v) = (6.25, 3.74, 15.44);
        let gg = GammaGamma::new(p, q, v).unwrap();
        let rows = [(1.0, 20.0), (3.0, 35.5), (1.0, 12.25), (3.0, 35.5), (7.0, 110.0)];
        let direct: f64 = rows
            .iter()
            .map(|&(x, m)| {
                let c = Customer::new(x, x, 10.0, Period::WEEK).unwrap().with_monetary_value(m);
                gg.log_likelihood(&c).unwrap()
            })
            .sum();
        let d = data();
        let got = -(d.mean_nll([p, q, v / d.scale]).unwrap() + d.scale.ln()) * 5.0;
        assert!((got - direct).abs() < 1e-11 * direct.abs(), "{got} vs {direct}");
    }

    #[test]
    fn hand_gradient_is_exact() {
        let d = data();
        for p in [[6.25, 3.74, 15.44], [0.5, 1.5, 0.2], [40.0, 12.0, 300.0]] {
            checks::gradient_matches_finite_differences(&d, p);
            checks::hand_gradient_equals_dual_gradient(&d, p);
            checks::hessian_matches_gradient_differences(&d, p);
        }
    }
}
