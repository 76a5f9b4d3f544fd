//! Criterion benchmarks for `loyalty::clv`.
//!
//! Targets (issue 4): BG/NBD fit on the CDNOW sample <= 1 ms; Pareto/NBD fit on a
//! 20,000-customer synthetic summary <= 50 ms; CLV scoring (BG/NBD + Gamma-Gamma, 12 months)
//! at 100x lifetimes' throughput (see `benches/peers/compare_clv.py` for the peer numbers).
//!
//! `cargo bench --bench clv -- --warm-up-time 1 --measurement-time 2`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use loyalty::clv::{
    hyp2f1, BgNbd, ClvModel, ClvOptions, Customer, FitOptions, GammaGamma, Histogram, MbgNbd,
    ParetoNbd,
};
use loyalty::rfm::Period;

const SUMMARY: &str = include_str!("../tests/data/cdnow_customers_summary_with_transactions.csv");

fn cdnow() -> Vec<Customer> {
    SUMMARY
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<f64> = l.split(',').map(|v| v.parse().unwrap()).collect();
            Customer::new(f[1], f[2], f[3], Period::WEEK).unwrap().with_monetary_value(f[4])
        })
        .collect()
}

/// Knuth's MMIX LCG, as in `benches/peers/compare_clv.py`.
struct Lcg(u64);

impl Lcg {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 11) as f64 + 0.5) / 9007199254740992.0
    }
    fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.uniform(), self.uniform());
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
    /// Marsaglia & Tsang (2000).
    fn gamma(&mut self, shape: f64) -> f64 {
        if shape < 1.0 {
            return self.gamma(shape + 1.0) * self.uniform().powf(1.0 / shape);
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = (1.0 + c * x).powi(3);
            if v > 0.0 && self.uniform().ln() < 0.5 * x * x + d - d * v + d * v.ln() {
                return d * v;
            }
        }
    }
}

/// Pareto/NBD summaries simulated from the CDNOW estimates: first purchases over 12 weeks, a
/// 39-week window, same-day purchases merged, times in days / 7 (the design of the peer
/// script's synthetic data set).
fn synthetic_pareto(n: usize) -> Vec<Customer> {
    let (r, alpha, s, beta) = (0.5533, 10.578, 0.6062, 11.668);
    let mut rng = Lcg(20260101);
    (0..n)
        .map(|_| {
            let start = (rng.uniform() * 84.0).floor();
            let t_days = 273.0 - start;
            let lam = rng.gamma(r) / alpha;
            let mu = rng.gamma(s) / beta;
            let death = -rng.uniform().ln() / mu;
            let end = death.min(t_days / 7.0);
            let (mut t, mut last, mut x) = (0.0, 0.0, 0.0);
            for _ in 0..100_000 {
                t += -rng.uniform().ln() / lam;
                if t > end {
                    break;
                }
                let day = (t * 7.0_f64).floor();
                if day > last {
                    x += 1.0;
                    last = day;
                }
            }
            Customer::new(x, last / 7.0, t_days / 7.0, Period::WEEK).unwrap()
        })
        .collect()
}

fn fits(c: &mut Criterion) {
    let customers = cdnow();
    let opts = FitOptions::default();
    c.bench_function("clv/histogram/build/cdnow_2357", |b| {
        b.iter(|| Histogram::from_customers(black_box(&customers)).unwrap())
    });
    let hist = Histogram::from_customers(&customers).unwrap();
    c.bench_function("clv/bgnbd/fit_histogram/cdnow_2357", |b| {
        b.iter(|| BgNbd::fit(black_box(&hist), &opts).unwrap())
    });
    c.bench_function("clv/bgnbd/fit/cdnow_2357", |b| {
        b.iter(|| {
            let h = Histogram::from_customers(black_box(&customers)).unwrap();
            BgNbd::fit(&h, &opts).unwrap()
        })
    });
    c.bench_function("clv/mbgnbd/fit/cdnow_2357", |b| {
        b.iter(|| {
            let h = Histogram::from_customers(black_box(&customers)).unwrap();
            MbgNbd::fit(&h, &opts).unwrap()
        })
    });
    c.bench_function("clv/gamma_gamma/fit/cdnow_946", |b| {
        b.iter(|| GammaGamma::fit(black_box(&customers), &opts).unwrap())
    });
    let synth = synthetic_pareto(20_000);
    c.bench_function("clv/pareto_nbd/fit/synthetic_20000", |b| {
        b.iter(|| {
            let h = Histogram::from_customers(black_box(&synth)).unwrap();
            ParetoNbd::fit(&h, &opts).unwrap()
        })
    });
}

fn scoring(c: &mut Criterion) {
    let rows = cdnow();
    let h = Histogram::from_customers(&rows).unwrap();
    let bg = BgNbd::fit(&h, &FitOptions::default()).unwrap().params;
    let gg = GammaGamma::fit(&rows, &FitOptions::default()).unwrap().params;
    // The CDNOW summary is in weeks.
    let model = ClvModel::new(bg, gg);
    let o = ClvOptions::default();
    let n = 100_000;
    let repeated: Vec<Customer> = rows.iter().cycle().take(n).copied().collect();
    let mut distinct = repeated.clone();
    for (i, c) in distinct.iter_mut().enumerate() {
        c.t += i as f64 * 1e-9;
    }
    let mut group = c.benchmark_group("clv/score/bgnbd_gg_12m");
    group.throughput(criterion::Throughput::Elements(n as u64));
    group.bench_function("cdnow_repeated_100000", |b| {
        b.iter(|| model.score(black_box(&repeated), &o).unwrap())
    });
    group.bench_function("distinct_t_100000", |b| {
        b.iter(|| model.score(black_box(&distinct), &o).unwrap())
    });
    group.finish();
}

fn special(c: &mut Criterion) {
    c.bench_function("clv/hyp2f1/z_0.55", |b| {
        b.iter(|| hyp2f1(black_box(0.97), black_box(-0.21), black_box(5.2), black_box(0.55)))
    });
}

criterion_group!(benches, fits, scoring, special);
criterion_main!(benches);
