//! Fitting recovers the parameters of synthetic customer bases drawn with
//! [`loyalty::clv::generate`] from a seeded host RNG: each estimate within three of its
//! standard errors of the truth.

use loyalty::clv::{
    generate, BgNbd, ClvModel, FitOptions, FitReport, GammaGamma, Histogram, Horizon, MbgNbd,
    ParetoNbd, TransactionModel,
};
use loyalty::rfm::Period;
use loyalty::ErrorKind;
use rand_core::SeedableRng;
use rand_xorshift::XorShiftRng;

const SPEND: [f64; 3] = [6.0, 4.0, 15.0];

fn within_three_se(name: &str, truth: &[f64], estimate: &[f64], report: &FitReport) {
    for ((t, e), se) in truth.iter().zip(estimate).zip(&report.standard_errors) {
        assert!((t - e).abs() < 3.0 * se, "{name}: estimate {e} vs truth {t} (se {se})");
    }
}

fn draw(purchases: impl Into<TransactionModel>, seed: u64) -> Vec<loyalty::clv::Customer> {
    let spend = GammaGamma::new(SPEND[0], SPEND[1], SPEND[2]).unwrap();
    let model = ClvModel::new(purchases, spend);
    let mut rng = XorShiftRng::seed_from_u64(seed);
    generate(&model, Horizon::new(78, Period::WEEK).unwrap(), 4000, &mut rng).unwrap()
}

#[test]
fn bgnbd_and_gamma_gamma_fits_recover_the_truth() {
    let truth = [0.25, 4.0, 0.8, 2.5];
    let customers =
        draw(BgNbd::new(truth[0], truth[1], truth[2], truth[3], Period::WEEK).unwrap(), 11);
    let fit = BgNbd::fit(&Histogram::from_customers(&customers).unwrap(), &FitOptions::default())
        .unwrap();
    let p = fit.params;
    within_three_se("bg/nbd", &truth, &[p.r(), p.alpha(), p.a(), p.b()], &fit.report);
    let spend = GammaGamma::fit(&customers, &FitOptions::default()).unwrap();
    let g = spend.params;
    within_three_se("gamma-gamma", &SPEND, &[g.p(), g.q(), g.v()], &spend.report);
}

#[test]
fn mbgnbd_fit_recovers_the_truth() {
    let truth = [0.5, 6.0, 0.9, 1.6];
    let customers =
        draw(MbgNbd::new(truth[0], truth[1], truth[2], truth[3], Period::WEEK).unwrap(), 12);
    let fit = MbgNbd::fit(&Histogram::from_customers(&customers).unwrap(), &FitOptions::default())
        .unwrap();
    let p = fit.params;
    within_three_se("mbg/nbd", &truth, &[p.r(), p.alpha(), p.a(), p.b()], &fit.report);
    // MBG/NBD lets customers leave at time 0: some never repeat although long observed.
    assert!(customers.iter().any(|c| c.frequency == 0.0));
}

#[test]
fn pareto_nbd_fit_recovers_the_truth() {
    let truth = [0.55, 10.5, 0.6, 11.7];
    let customers =
        draw(ParetoNbd::new(truth[0], truth[1], truth[2], truth[3], Period::WEEK).unwrap(), 13);
    let fit =
        ParetoNbd::fit(&Histogram::from_customers(&customers).unwrap(), &FitOptions::default())
            .unwrap();
    let p = fit.params;
    within_three_se("pareto/nbd", &truth, &[p.r(), p.alpha(), p.s(), p.beta()], &fit.report);
}

#[test]
fn generation_is_deterministic_and_checked() {
    let bg = BgNbd::new(0.25, 4.0, 0.8, 2.5, Period::WEEK).unwrap();
    let a = draw(bg, 5);
    let b = draw(bg, 5);
    assert_eq!(a, b);
    assert_ne!(a, draw(bg, 6));
    // Times are in the model's period: 78 weeks; spend is 0 exactly without repeat purchases.
    for c in &a {
        assert_eq!(c.t, 78.0);
        assert!(c.recency <= c.t && (c.frequency == 0.0) == (c.monetary_value == 0.0));
    }
    let daily = BgNbd::new(0.25, 4.0, 0.8, 2.5, Period::DAY).unwrap();
    let model = ClvModel::new(daily, GammaGamma::new(6.0, 4.0, 15.0).unwrap());
    let mut rng = XorShiftRng::seed_from_u64(1);
    // A year of a daily model is 360 days.
    let year = generate(&model, Horizon::months(12).unwrap(), 3, &mut rng).unwrap();
    assert!(year.iter().all(|c| c.t == 360.0));
    let e = generate(&model, Horizon::months(12).unwrap(), 0, &mut rng).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidInput { field: "customers", .. }));
}
