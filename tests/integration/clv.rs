//! Integration tests for `loyalty::clv` on the CDNOW sample summary (FHL 2005's data), with the
//! published reference values of `clv-models.md` §10 at their stated tolerances.

use loyalty::clv::{
    BgNbd, ClvModel, ClvOptions, Customer, FitOptions, GammaGamma, Histogram, Horizon, MbgNbd,
    ParetoNbd, PurchaseModel, Span, TransactionModel,
};
use loyalty::rfm::Period;
use loyalty::ErrorKind;

const SUMMARY: &str = include_str!("../data/cdnow_customers_summary.csv");
const WITH_SPEND: &str = include_str!("../data/cdnow_customers_summary_with_transactions.csv");

/// `ID,frequency,recency,T` rows.
fn cdnow() -> Vec<Customer> {
    SUMMARY
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<f64> = l.split(',').map(|v| v.parse().unwrap()).collect();
            Customer::new(f[1], f[2], f[3], Period::WEEK).unwrap()
        })
        .collect()
}

/// `ID,x,t_x,T,zbar` rows.
fn cdnow_with_spend() -> Vec<Customer> {
    WITH_SPEND
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<f64> = l.split(',').map(|v| v.parse().unwrap()).collect();
            Customer::new(f[1], f[2], f[3], Period::WEEK).unwrap().with_monetary_value(f[4])
        })
        .collect()
}

/// Repeat buyers of the raw CDNOW sample with unrounded mean repeat spend: same-day purchases
/// merged, calibration to 1997-09-30 (clv-models.md §2.3). Only `frequency` and
/// `monetary_value` matter to Gamma-Gamma; recency and T are left at valid placeholders.
fn cdnow_sample_spend() -> Vec<Customer> {
    let raw = include_str!("../../examples/data/CDNOW_sample.txt");
    let mut days: std::collections::BTreeMap<u32, std::collections::BTreeMap<&str, f64>> =
        Default::default();
    for line in raw.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 5 || f[2] > "19970930" {
            continue;
        }
        *days.entry(f[1].parse().unwrap()).or_default().entry(f[2]).or_default() +=
            f[4].parse::<f64>().unwrap();
    }
    days.values()
        .filter(|d| d.len() > 1)
        .map(|d| {
            let x = (d.len() - 1) as f64;
            let m = d.values().skip(1).sum::<f64>() / x;
            Customer::new(x, 1.0, 1.0, Period::WEEK).unwrap().with_monetary_value(m)
        })
        .collect()
}

fn rel(got: f64, want: f64) -> f64 {
    (got / want - 1.0).abs()
}

#[test]
fn bgnbd_fit_on_cdnow() {
    let h = Histogram::from_customers(&cdnow()).unwrap();
    assert_eq!(h.customers(), 2357);
    let fit = BgNbd::fit(&h, &FitOptions::default()).unwrap();
    let p = fit.params;
    eprintln!("{fit:?}");
    for (got, want) in [(p.r(), 0.2426), (p.alpha(), 4.4135), (p.a(), 0.7929), (p.b(), 2.4258)] {
        assert!(rel(got, want) < 1e-3, "{got} vs {want}");
    }
    assert!(fit.report.log_likelihood >= -9582.43 - 1e-4, "{}", fit.report.log_likelihood);
    // lifetimes Quickstart standard errors 0.012557, 0.378221, 0.185719, 0.705345.
    for (got, want) in
        fit.report.standard_errors.iter().zip([0.012557, 0.378221, 0.185719, 0.705345])
    {
        assert!(rel(*got, want) < 1e-3, "SE {got} vs {want}");
    }
    assert!(fit.report.iterations > 0);
}

// ---------------------------------------------------------------------------------------------
// 2F1 against mpmath (tests/data/hyp2f1.csv).

#[test]
fn hyp2f1_matches_mpmath_table() {
    let table = include_str!("../data/hyp2f1.csv");
    let mut checked = 0;
    for line in table.lines().skip(1) {
        let f: Vec<f64> = line.split(',').map(|v| v.parse().unwrap()).collect();
        let (a, b, c, z, want) = (f[0], f[1], f[2], f[3], f[4]);
        let got = loyalty::clv::hyp2f1(a, b, c, z).unwrap();
        // Relative accuracy, or absolute when cancellation makes the value small.
        let tol = 1e-12 * want.abs().max(1.0) * if z > 0.96 { 100.0 } else { 1.0 };
        assert!((got - want).abs() <= tol, "2F1({a}, {b}; {c}; {z}) = {got}, mpmath {want}");
        checked += 1;
    }
    assert_eq!(checked, 1680);
}

// ---------------------------------------------------------------------------------------------
// BG/NBD predictions (clv-models.md §10.1).

/// BTYD vignette estimates (§10.1 "precise").
fn bg_btyd() -> BgNbd {
    BgNbd::new(0.2425982, 4.4136842, 0.7929899, 2.4261667, Period::WEEK).unwrap()
}

#[test]
fn bgnbd_unconditional_expectations() {
    // lifetimes "Hardie Excel sheet" values, decimal 3, at the unrounded fit.
    let fit = BgNbd::fit(&Histogram::from_customers(&cdnow()).unwrap(), &FitOptions::default())
        .unwrap()
        .params;
    let cases = [
        (0.1429, 0.0078),
        (1.0, 0.0532),
        (3.0, 0.1506),
        (31.8571, 1.0405),
        (32.0, 1.0437),
        (78.0, 1.8576),
    ];
    for (t, want) in cases {
        let got = fit.expected_purchases(Span::weeks(t).unwrap()).unwrap();
        assert!((got - want).abs() < 1.5e-3, "E[X({t})] = {got}, want {want}");
    }
    // BTYD E[X(52)] = 1.444004 at its own estimates (7 significant digits).
    let got = bg_btyd().expected_purchases(Span::weeks(52.0).unwrap()).unwrap();
    assert!(rel(got, 1.444004) < 1e-6, "{got}");
}

#[test]
fn bgnbd_conditional_and_alive() {
    let fit = BgNbd::fit(&Histogram::from_customers(&cdnow()).unwrap(), &FitOptions::default())
        .unwrap()
        .params;
    // lifetimes: E[Y(39) | 2, 30.43, 38.86] = 1.226 (abs 1e-3).
    let c = Customer::new(2.0, 30.43, 38.86, Period::WEEK).unwrap();
    let got = fit.conditional_expected_purchases(&c, Span::weeks(39.0).unwrap()).unwrap();
    assert!((got - 1.226).abs() < 1e-3, "{got}");
    // BTYD customer 1516 at BTYD's estimates: 25.75659 and 0.9688523. The printed parameters
    // reproduce 25.75659 only to 2.2e-6 relative (mpmath at 30 digits gives
    // 25.756536041055002, which is asserted at 1e-12), so the published value is held to 5e-6.
    let c1516 = Customer::new(26.0, 30.85714, 31.0, Period::WEEK).unwrap();
    let e = bg_btyd().conditional_expected_purchases(&c1516, Span::weeks(52.0).unwrap()).unwrap();
    assert!(rel(e, 25.75659) < 5e-6, "{e}");
    assert!(rel(e, 25.756536041055002) < 1e-12, "{e}");
    let pa = bg_btyd().probability_alive(&c1516).unwrap();
    assert!(rel(pa, 0.9688523) < 1e-6, "{pa}");
    // lifetimes: exactly 0 and exactly 1.
    let m = BgNbd::new(0.243, 4.414, 0.793, 2.426, Period::WEEK).unwrap();
    assert_eq!(
        m.probability_alive(&Customer::new(1000.0, 10.0, 100.0, Period::WEEK).unwrap()).unwrap(),
        0.0
    );
    assert_eq!(
        m.probability_alive(&Customer::new(0.0, 0.0, 1.0, Period::WEEK).unwrap()).unwrap(),
        1.0
    );
    // lifetimes' pinned case: x = 0, t_x = 1, T = 1 gives exactly 1.
    assert_eq!(
        m.probability_alive(&Customer::new(0.0, 1.0, 1.0, Period::WEEK).unwrap()).unwrap(),
        1.0
    );
    // Such a row is still refused where it matters: in a fit.
    let odd = Customer {
        frequency: 0.0,
        recency: 1.0,
        t: 1.0,
        monetary_value: 0.0,
        period: Period::WEEK,
    };
    assert!(loyalty::clv::Histogram::from_customers(&[odd]).is_err());
}

#[test]
fn bgnbd_purchase_probabilities() {
    // lifetimes at (0.243, 4.414, 0.793, 2.426): P(X(2)=10), P(X(39)=0), P(X(30)=11..20).
    let m = BgNbd::new(0.243, 4.414, 0.793, 2.426, Period::WEEK).unwrap();
    let p = m.probability_of_purchases(10, Span::weeks(2.0).unwrap()).unwrap();
    assert!(rel(p, 1.07869e-07) < 1e-5, "{p}");
    let p = m.probability_of_purchases(0, Span::weeks(39.0).unwrap()).unwrap();
    assert!(rel(p, 0.5737864) < 1e-6, "{p}");
    let table = [
        0.0019995214,
        0.0015170236,
        0.0011633150,
        0.0009003148,
        0.0007023638,
        0.0005517902,
        0.0004361913,
        0.0003467171,
        0.0002769613,
        0.0002222260,
    ];
    for (n, want) in (11..=20).zip(table) {
        let got = m.probability_of_purchases(n, Span::weeks(30.0).unwrap()).unwrap();
        assert!(rel(got, want) < 1e-6, "P(X(30)={n}) = {got}, want {want}");
    }
}

// ---------------------------------------------------------------------------------------------
// Gamma-Gamma (§10.4).

#[test]
fn gamma_gamma_fit_on_cdnow() {
    let customers = cdnow_with_spend();
    let fit = GammaGamma::fit(&customers, &FitOptions::default()).unwrap();
    let p = fit.params;
    assert_eq!(fit.report.customers, 946);
    for (got, want) in [(p.p(), 6.2488), (p.q(), 3.7446), (p.v(), 15.448)] {
        assert!(rel(got, want) < 1e-3, "{got} vs {want}: {fit:?}");
    }
    // Fader & Hardie 2013: LL −4055.9177. The bundled summary rounds `zbar` to cents, which
    // moves the likelihood to −4055.9232 at the same optimum; the unrounded spends, rebuilt
    // from the raw CDNOW sample, reproduce the published value.
    assert!((fit.report.log_likelihood - -4055.9177).abs() < 1e-2, "{fit:?}");
    let exact = GammaGamma::fit(&cdnow_sample_spend(), &FitOptions::default()).unwrap();
    assert!(exact.report.log_likelihood >= -4055.9177 - 1e-4, "{exact:?}");
    for (got, want) in
        [(exact.params.p(), 6.2488), (exact.params.q(), 3.7446), (exact.params.v(), 15.448)]
    {
        assert!(rel(got, want) < 1e-3, "{got} vs {want}");
    }
    // lifetimes "Hardie spreadsheet", first 10 customers (atol 0.1).
    let want = [24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17];
    for (c, w) in customers.iter().zip(want) {
        let got = p.conditional_expected_average_spend(c).unwrap();
        assert!((got - w).abs() < 0.1, "{c:?}: {got} vs {w}");
    }
}

#[test]
fn gamma_gamma_refuses_infinite_mean_and_bad_spend() {
    for q in [1.0, 0.5] {
        let e = GammaGamma::new(6.25, q, 15.44).unwrap_err();
        assert!(e.to_string().contains("mean spend is infinite"), "{e}");
    }
    let mut customers = cdnow_with_spend();
    customers[3] = Customer::new(2.0, 5.0, 30.0, Period::WEEK).unwrap().with_monetary_value(0.0);
    let e = GammaGamma::fit(&customers, &FitOptions::default()).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::InvalidRecord { index: 3, field: "monetary_value", .. }),
        "{e}"
    );
    let none: Vec<Customer> =
        (0..5).map(|_| Customer::new(0.0, 0.0, 3.0, Period::WEEK).unwrap()).collect();
    assert!(GammaGamma::fit(&none, &FitOptions::default()).is_err());
    assert!(matches!(
        GammaGamma::fit(&[], &FitOptions::default()).unwrap_err().kind(),
        ErrorKind::EmptyInput { .. }
    ));
}

// ---------------------------------------------------------------------------------------------
// Pareto/NBD (§10.3).

#[test]
fn pareto_nbd_fit_on_cdnow() {
    let h = Histogram::from_customers(&cdnow()).unwrap();
    let fit = ParetoNbd::fit(&h, &FitOptions::default()).unwrap();
    let p = fit.params;
    for (got, want) in [(p.r(), 0.5533), (p.alpha(), 10.578), (p.s(), 0.6062), (p.beta(), 11.668)] {
        assert!(rel(got, want) < 1e-3, "{got} vs {want}: {fit:?}");
    }
    // Published −9594.97 (2 decimals), −9594.976 (CLVTools), −9594.98 (FHL 2005): the
    // maximum found, −9594.9739, is above all three.
    assert!(fit.report.log_likelihood >= -9594.976 - 1e-4, "{fit:?}");
    assert!((fit.report.log_likelihood - -9594.97).abs() < 5e-3, "{fit:?}");
    // CLVTools standard errors 0.0476264, 0.8427222, 0.1872594, 6.2105448 (rel 1e-3 there;
    // the Hessian here is by finite differences of exact gradients, held to 1e-2).
    for (got, want) in
        fit.report.standard_errors.iter().zip([0.0476264, 0.8427222, 0.1872594, 6.2105448])
    {
        assert!(rel(*got, want) < 1e-2, "SE {got} vs {want}");
    }
}

#[test]
fn pareto_nbd_predictions() {
    let clvtools = ParetoNbd::new(0.55315, 10.57633, 0.60625, 11.67150, Period::WEEK).unwrap();
    let btyd = ParetoNbd::new(0.553, 10.580, 0.606, 11.656, Period::WEEK).unwrap();
    // lifetimes "from R BTYD", atol 0.01.
    let table = [
        0.0, 0.05077821, 0.09916088, 0.14542507, 0.18979930, 0.23247466, 0.27361274, 0.31335159,
        0.35181024, 0.38909211,
    ];
    assert_eq!(
        btyd.expected_purchases(Span::weeks(0.0).unwrap()).unwrap().to_bits(),
        0.0f64.to_bits()
    );
    for (t, want) in table.iter().enumerate() {
        let got = btyd.expected_purchases(Span::weeks(t as f64).unwrap()).unwrap();
        assert!((got - want).abs() < 0.01, "E[X({t})] = {got}");
    }
    // BTYD E[X(52)] = 1.473434; customer 1516 E[Y(52)] 25.45647, P(alive) 0.997874.
    let got = btyd.expected_purchases(Span::weeks(52.0).unwrap()).unwrap();
    assert!(rel(got, 1.473434) < 1e-3, "{got}");
    let c1516 = Customer::new(26.0, 30.85714, 31.0, Period::WEEK).unwrap();
    let e = clvtools.conditional_expected_purchases(&c1516, Span::weeks(52.0).unwrap()).unwrap();
    assert!((e - 25.45647).abs() < 0.01, "{e}");
    let pa = clvtools.probability_alive(&c1516).unwrap();
    assert!((pa - 0.997874).abs() < 1e-3, "{pa}");
    // lifetimes at PyMC-Marketing's parameters, t_x = 30.86: 25.46 (abs 0.01), 0.9979 (1e-3).
    let pymc = ParetoNbd::new(0.5534, 10.5802, 0.6061, 11.6562, Period::WEEK).unwrap();
    let c = Customer::new(26.0, 30.86, 31.0, Period::WEEK).unwrap();
    assert!(
        (pymc.conditional_expected_purchases(&c, Span::weeks(52.0).unwrap()).unwrap() - 25.46)
            .abs()
            < 0.01
    );
    assert!((pymc.probability_alive(&c).unwrap() - 0.9979).abs() < 1e-3);
    // BTYD example: P(alive)(0, 0, 39) = 0.2941633.
    let pa0 =
        btyd.probability_alive(&Customer::new(0.0, 0.0, 39.0, Period::WEEK).unwrap()).unwrap();
    assert!((pa0 - 0.2941633).abs() < 1e-3, "{pa0}");
    // Frequency paradox (BTYD): E[Y(52) | x, 20, 39] for x = 10, 15, 20, 25.
    for (x, want) in [(10.0, 0.7062289), (15.0, 0.1442396), (20.0, 0.02250658), (25.0, 0.00309267)]
    {
        let got = btyd
            .conditional_expected_purchases(
                &Customer::new(x, 20.0, 39.0, Period::WEEK).unwrap(),
                Span::weeks(52.0).unwrap(),
            )
            .unwrap();
        assert!(rel(got, want) < 1e-2, "x={x}: {got} vs {want}");
    }
    // Cross-implementation LL: x = 1, t_x = 1.5, T = 12 at (0.55, 10.58, 0.61, 11.67).
    let m = ParetoNbd::new(0.55, 10.58, 0.61, 11.67, Period::WEEK).unwrap();
    let ll = m.log_likelihood(&Customer::new(1.0, 1.5, 12.0, Period::WEEK).unwrap()).unwrap();
    assert!((ll - -4.0069487).abs() < 1.5e-6, "{ll}");
}

#[test]
fn pareto_nbd_guards() {
    // lifetimes overflow guard: finite likelihood terms and P(alive) in [0, 1].
    let m = ParetoNbd::new(10.465, 7.98565181e-03, 3.0516, 2.820, Period::WEEK).unwrap();
    for (x, tx, t) in [
        (400.0, 5.0, 6.0),
        (500.0, 1.0, 37.0),
        (500.0, 4.0, 37.0),
        (40.0, 5.0, 6.0),
        (50.0, 1.0, 37.0),
        (50.0, 4.0, 37.0),
    ] {
        let c = Customer::new(x, tx, t, Period::WEEK).unwrap();
        assert!(m.log_likelihood(&c).unwrap().is_finite());
        let pa = m.probability_alive(&c).unwrap();
        assert!((0.0..=1.0).contains(&pa), "{pa}");
    }
    // Underflow / smoothness guard (lifetimes): E[Y(10) | 132, 200, 200] = 6.2060517889632418,
    // x = 133 → 6.2528722475748113.
    let m = ParetoNbd::new(0.55, 10.58, 0.61, 11.67, Period::WEEK).unwrap();
    let a = m
        .conditional_expected_purchases(
            &Customer::new(132.0, 200.0, 200.0, Period::WEEK).unwrap(),
            Span::weeks(10.0).unwrap(),
        )
        .unwrap();
    let b = m
        .conditional_expected_purchases(
            &Customer::new(133.0, 200.0, 200.0, Period::WEEK).unwrap(),
            Span::weeks(10.0).unwrap(),
        )
        .unwrap();
    assert!(
        rel(a, 6.206_051_788_963_242) < 1e-6 && rel(b, 6.252_872_247_574_811) < 1e-6,
        "{a} {b}"
    );
    assert!((a - b).abs() < 0.05);
    // CLVTools' previously-NaN case.
    let m = ParetoNbd::new(0.5143, 2.8845, 0.2856, 14.1087, Period::WEEK).unwrap();
    for (x, tx, t) in [
        (221.0, 103.42857, 103.57143),
        (254.0, 97.14286, 97.28571),
        (161.0, 94.71429, 98.0),
        (204.0, 98.57143, 99.42857),
    ] {
        let c = Customer::new(x, tx, t, Period::WEEK).unwrap();
        let pa = m.probability_alive(&c).unwrap();
        assert!(pa.is_finite() && (0.0..=1.0).contains(&pa), "{pa}");
        assert!(m.log_likelihood(&c).unwrap().is_finite());
    }
}

// ---------------------------------------------------------------------------------------------
// MBG/NBD (§10.2).

#[test]
fn mbgnbd_fit_on_cdnow() {
    let h = Histogram::from_customers(&cdnow()).unwrap();
    let fit = MbgNbd::fit(&h, &FitOptions::default()).unwrap();
    let p = fit.params;
    for (got, want) in [(p.r(), 0.5248), (p.alpha(), 6.1830), (p.a(), 0.8914), (p.b(), 1.6140)] {
        assert!(rel(got, want) < 1e-3, "{got} vs {want}: {fit:?}");
    }
    // Published to 2 decimals (−9582.13); the maximum found (gradient < 1e-10) is −9582.1327,
    // so the check is half a unit of the last published digit.
    assert!((fit.report.log_likelihood - -9582.13).abs() < 5e-3, "{fit:?}");
    // lifetimes: E[Y(39) | 2, 30.43, 38.86] ≈ 1.226 (abs 0.05).
    let c = Customer::new(2.0, 30.43, 38.86, Period::WEEK).unwrap();
    assert!(
        (p.conditional_expected_purchases(&c, Span::weeks(39.0).unwrap()).unwrap() - 1.226).abs()
            < 0.05
    );
}

// ---------------------------------------------------------------------------------------------
// CLV (§9).

#[test]
fn clv_reproduces_lifetimes_quickstart() {
    // BG/NBD and Gamma-Gamma fitted on CDNOW, then lifetimes' Quickstart call with its default
    // freq = "D" on weekly data (12 × 30 weeks; lifetimes #137): first ten values.
    let bg = BgNbd::fit(&Histogram::from_customers(&cdnow()).unwrap(), &FitOptions::default())
        .unwrap()
        .params;
    let customers = cdnow_with_spend();
    let gg = GammaGamma::fit(&customers, &FitOptions::default()).unwrap().params;
    // The Quickstart's weekly data scored as if daily: the mistake now takes relabelling both
    // the model and the customers on purpose.
    let bg = BgNbd::new(bg.r(), bg.alpha(), bg.a(), bg.b(), Period::DAY).unwrap();
    let customers: Vec<Customer> =
        customers.iter().map(|c| Customer { period: Period::DAY, ..*c }).collect();
    let model = ClvModel::new(bg, gg);
    let scores = model.score(&customers[..10], &ClvOptions::default()).unwrap();
    let want = [
        140.096211,
        18.943467,
        38.180574,
        38.180574,
        38.180574,
        1003.868107,
        28.109683,
        38.180574,
        167.418216,
        38.180574,
    ];
    for (s, w) in scores.iter().zip(want) {
        assert!(rel(s.clv, w) < 1e-4, "{} vs {w}", s.clv);
    }
}

#[test]
fn clv_semantics_match_lifetimes() {
    // lifetimes' known-value test structure (§9.2): daily model, m = 1 (a Gamma-Gamma whose
    // expected spend is 1 for everybody is not expressible, so CLV is divided by the spend).
    let bg = BgNbd::new(0.16, 1.86, 1.85, 3.18, Period::DAY).unwrap();
    let gg = GammaGamma::new(6.0, 4.0, 15.0).unwrap();
    let model = ClvModel::new(bg, gg);
    let customers: Vec<Customer> = [
        (0.0, 0.0, 298.0),
        (0.0, 0.0, 224.0),
        (6.0, 142.0, 292.0),
        (0.0, 0.0, 147.0),
        (2.0, 9.0, 183.0),
    ]
    .iter()
    .map(|&(x, tx, t)| {
        Customer::new(x, tx, t, Period::DAY).unwrap().with_monetary_value(if x > 0.0 {
            5.0
        } else {
            0.0
        })
    })
    .collect();
    let day = ClvOptions::default();
    for c in &customers {
        let m = gg.conditional_expected_average_spend(c).unwrap();
        let e30 = bg.conditional_expected_purchases(c, Span::days(30.0).unwrap()).unwrap();
        let e60 = bg.conditional_expected_purchases(c, Span::days(60.0).unwrap()).unwrap();
        let clv = |h: u32, d: f64| {
            let o = day
                .with_horizon(Horizon::months(h).unwrap())
                .with_monthly_discount_rate(d)
                .unwrap();
            model.customer_lifetime_value(c, &o).unwrap() / m
        };
        assert!((clv(1, 0.0) - e30).abs() < 1e-12);
        assert!((clv(1, 1.0) - e30 / 2.0).abs() < 1e-12);
        assert!((clv(2, 0.0) - e60).abs() < 1e-12);
        assert!((clv(2, 1.0) - (e30 / 2.0 + (e60 - e30) / 4.0)).abs() < 1e-12);
        // lifetimes' looser checks (rtol 0.1).
        assert!(rel(clv(2, 0.0), 2.0 * e30) < 0.1);
        assert!(rel(clv(2, 1.0), 0.75 * e30) < 0.1);
    }
}

#[test]
fn continuous_discounting() {
    let bg = BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258, Period::WEEK).unwrap();
    let gg = GammaGamma::new(6.2488, 3.7446, 15.448).unwrap();
    let model = ClvModel::new(bg, gg);
    let c = Customer::new(2.0, 30.43, 38.86, Period::WEEK).unwrap().with_monetary_value(22.35);
    let m = gg.conditional_expected_average_spend(&c).unwrap();
    // Undiscounted: spend times expected purchases.
    let weeks52 = Horizon::new(52, Period::WEEK).unwrap();
    let undiscounted = model.discounted_value(&c, weeks52, 0.0).unwrap();
    let e52 = bg.conditional_expected_purchases(&c, Span::weeks(52.0).unwrap()).unwrap();
    assert!(rel(undiscounted, m * e52) < 1e-12);
    // Discounting lowers value, and a fine monthly discrete sum approaches the continuous form.
    let delta = 0.01_f64.ln_1p();
    let cont = model.discounted_value(&c, Horizon::months(12).unwrap(), delta).unwrap();
    assert!(cont < m * e52);
    let o = ClvOptions::default();
    let discrete = model.customer_lifetime_value(&c, &o).unwrap();
    assert!(rel(cont, discrete) < 0.01, "{cont} vs {discrete}");
}

#[test]
fn batch_scoring_validates_rows() {
    let bg = BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258, Period::WEEK).unwrap();
    let gg = GammaGamma::new(6.2488, 3.7446, 15.448).unwrap();
    let model = ClvModel::new(bg, gg);
    let mut customers = cdnow_with_spend();
    let o = ClvOptions::default();
    let all = model.score(&customers, &o).unwrap();
    assert_eq!(all.len(), 2357);
    for (s, c) in all.iter().zip(&customers) {
        let pa = model.probability_alive(c).unwrap();
        assert_eq!(s.p_alive, pa);
        let e = model.conditional_expected_purchases(c, o.horizon()).unwrap();
        // 12 months of a weekly model are 52.14 weeks.
        assert_eq!(
            e,
            bg.conditional_expected_purchases(c, Span::weeks(12.0 * 4.345).unwrap()).unwrap()
        );
        assert!((s.expected_purchases - e).abs() <= 1e-12 * e.max(1.0));
        assert!(s.clv >= 0.0);
    }
    customers[7].recency = customers[7].t + 1.0;
    let e = model.score(&customers, &o).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidRecord { index: 7, field: "recency", .. }), "{e}");
    customers[7].recency = 1.0;
    customers[7].frequency = 2.0;
    customers[7].monetary_value = -3.0;
    let e = model.score(&customers, &o).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::InvalidRecord { index: 7, field: "monetary_value", .. }),
        "{e}"
    );
    assert!(matches!(model.score(&[], &o).unwrap_err().kind(), ErrorKind::EmptyInput { .. }));
}

// ---------------------------------------------------------------------------------------------
// Bad input for the fits.

#[test]
fn fits_refuse_bad_input() {
    let opts = FitOptions::default();
    // Every frequency zero.
    let zeros: Vec<Customer> =
        (1..5).map(|t| Customer::new(0.0, 0.0, t as f64, Period::WEEK).unwrap()).collect();
    let h = Histogram::from_customers(&zeros).unwrap();
    assert!(BgNbd::fit(&h, &opts).is_err());
    assert!(MbgNbd::fit(&h, &opts).is_err());
    assert!(ParetoNbd::fit(&h, &opts).is_err());
    // Empty input.
    assert!(matches!(
        Histogram::from_customers(&[]).unwrap_err().kind(),
        ErrorKind::EmptyInput { .. }
    ));
    // Invalid rows, named by index.
    let mut rows = cdnow();
    for (field, bad) in [
        (
            "frequency",
            Customer {
                frequency: -1.0,
                recency: 0.0,
                t: 5.0,
                monetary_value: 0.0,
                period: Period::WEEK,
            },
        ),
        (
            "frequency",
            Customer {
                frequency: 1.5,
                recency: 1.0,
                t: 5.0,
                monetary_value: 0.0,
                period: Period::WEEK,
            },
        ),
        (
            "frequency",
            Customer {
                frequency: f64::NAN,
                recency: 1.0,
                t: 5.0,
                monetary_value: 0.0,
                period: Period::WEEK,
            },
        ),
        (
            "recency",
            Customer {
                frequency: 1.0,
                recency: 6.0,
                t: 5.0,
                monetary_value: 0.0,
                period: Period::WEEK,
            },
        ),
        (
            "recency",
            Customer {
                frequency: 0.0,
                recency: 1.0,
                t: 5.0,
                monetary_value: 0.0,
                period: Period::WEEK,
            },
        ),
        (
            "recency",
            Customer {
                frequency: 1.0,
                recency: -1.0,
                t: 5.0,
                monetary_value: 0.0,
                period: Period::WEEK,
            },
        ),
        (
            "T",
            Customer {
                frequency: 1.0,
                recency: 1.0,
                t: f64::INFINITY,
                monetary_value: 0.0,
                period: Period::WEEK,
            },
        ),
    ] {
        rows[42] = bad;
        let e = Histogram::from_customers(&rows).unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::InvalidRecord { index: 42, field: f, .. } if *f == field),
            "{e}"
        );
    }
    // Options.
    let h = Histogram::from_customers(&cdnow()).unwrap();
    assert!(BgNbd::fit(&h, &FitOptions::default().penalizer(-1.0)).is_err());
    assert!(BgNbd::fit(&h, &FitOptions::default().max_iterations(0)).is_err());
}

#[test]
fn penalizer_and_weights_behave_like_lifetimes() {
    let rows = cdnow();
    let h = Histogram::from_customers(&rows).unwrap();
    let plain = BgNbd::fit(&h, &FitOptions::default()).unwrap().params;
    // The penalty pulls parameters towards 0 in squared norm on the rescaled axis.
    let pen = BgNbd::fit(&h, &FitOptions::default().penalizer(0.1)).unwrap().params;
    let scale = 38.86;
    let norm =
        |m: &BgNbd| m.r().powi(2) + (m.alpha() / scale).powi(2) + m.a().powi(2) + m.b().powi(2);
    assert!(norm(&pen) < norm(&plain));
    // Fitting the merged histograms of two halves equals fitting the whole.
    let left = Histogram::from_customers(&rows[..1000]).unwrap();
    let right = Histogram::from_customers(&rows[1000..]).unwrap();
    let merged = BgNbd::fit(&left.merge(&right).unwrap(), &FitOptions::default()).unwrap().params;
    assert_eq!(merged, plain);
}

// ---------------------------------------------------------------------------------------------
// No NaN or infinity ever leaves the crate: extreme parameters and inputs through every
// prediction give a finite value or a typed error.

fn finite_or_error(what: &str, r: Result<f64, loyalty::Error>) {
    if let Ok(v) = r {
        assert!(v.is_finite(), "{what} returned {v}");
    }
}

#[test]
fn extreme_sweep_never_returns_nan_or_infinity() {
    let values = [1e-6, 0.05, 1.0, 20.0, 1e6];
    let customers = [
        Customer::new(0.0, 0.0, 0.0, Period::WEEK).unwrap(),
        Customer::new(0.0, 0.0, 1e-9, Period::WEEK).unwrap(),
        Customer::new(1.0, 1.0, 1.0, Period::WEEK).unwrap(),
        Customer::new(3.0, 0.0, 1e6, Period::WEEK).unwrap(),
        Customer::new(1e5, 1.0, 1e5, Period::WEEK).unwrap(),
        Customer::new(1000.0, 10.0, 100.0, Period::WEEK).unwrap(),
        Customer::new(7.0, 38.999, 39.0, Period::WEEK).unwrap(),
    ]
    .map(|c| c.with_monetary_value(if c.frequency > 0.0 { 1e-3 } else { 0.0 }));
    let horizons = [0.0, 1.0, 1e3];
    let spends =
        [GammaGamma::new(1e-6, 1.000001, 1e6).unwrap(), GammaGamma::new(1e6, 1e6, 1e-6).unwrap()];
    let options = ClvOptions::default().with_horizon(Horizon::months(3).unwrap());
    let mut calls = 0usize;
    for &p1 in &values {
        for &p2 in &values {
            for &p3 in &values {
                for &p4 in &values {
                    let models = [
                        TransactionModel::BgNbd(BgNbd::new(p1, p2, p3, p4, Period::WEEK).unwrap()),
                        TransactionModel::MbgNbd(
                            MbgNbd::new(p1, p2, p3, p4, Period::WEEK).unwrap(),
                        ),
                        TransactionModel::ParetoNbd(
                            ParetoNbd::new(p1, p2, p3, p4, Period::WEEK).unwrap(),
                        ),
                    ];
                    for (mi, model) in models.iter().enumerate() {
                        for &t in &horizons {
                            finite_or_error(
                                "E[X(t)]",
                                model.expected_purchases(Span::weeks(t).unwrap()),
                            );
                        }
                        for c in &customers {
                            let ctx = format!("model {mi} ({p1}, {p2}, {p3}, {p4}) {c:?}");
                            finite_or_error(&ctx, model.probability_alive(c));
                            if let Ok(p) = model.probability_alive(c) {
                                assert!((0.0..=1.0).contains(&p), "{ctx}: {p}");
                            }
                            for &t in &horizons {
                                finite_or_error(
                                    &ctx,
                                    model
                                        .conditional_expected_purchases(c, Span::weeks(t).unwrap()),
                                );
                            }
                            let ll = match model {
                                TransactionModel::BgNbd(m) => m.log_likelihood(c),
                                TransactionModel::MbgNbd(m) => m.log_likelihood(c),
                                TransactionModel::ParetoNbd(m) => m.log_likelihood(c),
                                _ => unreachable!(),
                            };
                            finite_or_error(&ctx, ll);
                            for gg in &spends {
                                let clv = ClvModel::new(*model, *gg);
                                finite_or_error(&ctx, clv.customer_lifetime_value(c, &options));
                                let ten = Horizon::new(10, Period::WEEK).unwrap();
                                finite_or_error(&ctx, clv.discounted_value(c, ten, 0.01));
                            }
                            calls += 1;
                        }
                    }
                    for (mi, model) in models.iter().enumerate() {
                        for n in [0, 1, 50] {
                            for &t in &horizons {
                                let ctx =
                                    format!("pmf model {mi} ({p1}, {p2}, {p3}, {p4}) {n} {t}");
                                let r = model.probability_of_purchases(n, Span::weeks(t).unwrap());
                                if let Ok(p) = r {
                                    assert!((0.0..=1.0).contains(&p), "{ctx}: {p}");
                                }
                                finite_or_error(&ctx, r);
                            }
                        }
                    }
                }
            }
        }
        for c in &customers {
            for gg in &spends {
                finite_or_error("spend", gg.conditional_expected_average_spend(c));
                if c.frequency > 0.0 {
                    finite_or_error("gg ll", gg.log_likelihood(c));
                }
            }
        }
    }
    assert_eq!(calls, 625 * 3 * customers.len());
    // Batch scoring over the same extreme customers: Ok values are finite.
    let m = ClvModel::new(BgNbd::new(1e-6, 1e6, 20.0, 1e-6, Period::WEEK).unwrap(), spends[0]);
    if let Ok(scores) = m.score(&customers, &options) {
        for s in scores {
            assert!(s.p_alive.is_finite() && s.expected_purchases.is_finite() && s.clv.is_finite());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Invariants and hard cases.

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn customer() -> impl Strategy<Value = Customer> {
        (0u32..300, 0.0f64..1.0, 0.01f64..200.0).prop_map(|(x, u, t)| {
            let tx = if x == 0 { 0.0 } else { u * t };
            Customer::new(f64::from(x), tx, t, Period::WEEK).unwrap()
        })
    }

    fn params() -> impl Strategy<Value = (f64, f64, f64, f64)> {
        (0.01f64..5.0, 0.1f64..50.0, 0.05f64..5.0, 0.05f64..20.0)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        /// P(alive) is a probability and expected purchases grow with the horizon.
        #[test]
        fn predictions_are_probabilities_and_monotone(c in customer(), (p1, p2, p3, p4) in params(),
                                                      t in 0.5f64..100.0) {
            let models = [
                TransactionModel::BgNbd(BgNbd::new(p1, p2, p3, p4, Period::WEEK).unwrap()),
                TransactionModel::MbgNbd(MbgNbd::new(p1, p2, p3, p4, Period::WEEK).unwrap()),
                TransactionModel::ParetoNbd(ParetoNbd::new(p1, p2, p3, p4, Period::WEEK).unwrap()),
            ];
            for m in models {
                let pa = m.probability_alive(&c).unwrap();
                prop_assert!((0.0..=1.0).contains(&pa));
                let e1 = m.conditional_expected_purchases(&c, Span::weeks(t).unwrap()).unwrap();
                let e2 = m.conditional_expected_purchases(&c, Span::weeks(2.0 * t).unwrap()).unwrap();
                prop_assert!(e1 >= 0.0 && e2 >= e1 * (1.0 - 1e-12), "{e1} {e2}");
                let u1 = m.expected_purchases(Span::weeks(t).unwrap()).unwrap();
                let u2 = m.expected_purchases(Span::weeks(2.0 * t).unwrap()).unwrap();
                prop_assert!(u1 >= 0.0 && u2 >= u1 * (1.0 - 1e-12));
            }
        }

        /// Changing the time unit (times × k, rates ÷ k) changes no prediction (lifetimes
        /// asserts P(alive) within 1e-4 after multiplying recency and T by 10).
        #[test]
        fn time_unit_does_not_matter(c in customer(), (p1, p2, p3, p4) in params(), k in 0.1f64..10.0) {
            let scaled = Customer::new(c.frequency, c.recency * k, c.t * k, Period::WEEK).unwrap();
            let pairs = [
                (TransactionModel::BgNbd(BgNbd::new(p1, p2, p3, p4, Period::WEEK).unwrap()),
                 TransactionModel::BgNbd(BgNbd::new(p1, p2 * k, p3, p4, Period::WEEK).unwrap())),
                (TransactionModel::MbgNbd(MbgNbd::new(p1, p2, p3, p4, Period::WEEK).unwrap()),
                 TransactionModel::MbgNbd(MbgNbd::new(p1, p2 * k, p3, p4, Period::WEEK).unwrap())),
                (TransactionModel::ParetoNbd(ParetoNbd::new(p1, p2, p3, p4, Period::WEEK).unwrap()),
                 TransactionModel::ParetoNbd(ParetoNbd::new(p1, p2 * k, p3, p4 * k, Period::WEEK).unwrap())),
            ];
            for (a, b) in pairs {
                let (pa, pb) = (a.probability_alive(&c).unwrap(), b.probability_alive(&scaled).unwrap());
                prop_assert!((pa - pb).abs() < 1e-9, "{pa} {pb}");
                let ea = a.conditional_expected_purchases(&c, Span::weeks(10.0).unwrap()).unwrap();
                let eb = b.conditional_expected_purchases(&scaled, Span::weeks(10.0 * k).unwrap()).unwrap();
                prop_assert!((ea - eb).abs() <= 1e-8 * ea.max(1.0), "{ea} {eb}");
            }
        }

        /// P(X(t) = n) is a probability, sums to 1 and has mean E[X(t)] for random parameters
        /// of every model (|Σ − 1| < 1e-9, mean to 1e-7 relative).
        #[test]
        fn pmf_is_a_distribution_with_the_model_mean(
            (p1, p2, p3, p4) in (0.05f64..3.0, 1.0f64..30.0, 0.05f64..5.0, 0.5f64..20.0),
            t in 0.05f64..40.0,
        ) {
            let models = [
                TransactionModel::BgNbd(BgNbd::new(p1, p2, p3, p4, Period::WEEK).unwrap()),
                TransactionModel::MbgNbd(MbgNbd::new(p1, p2, p3, p4, Period::WEEK).unwrap()),
                TransactionModel::ParetoNbd(ParetoNbd::new(p1, p2, p3, p4, Period::WEEK).unwrap()),
            ];
            for m in models {
                let e = m.expected_purchases(Span::weeks(t).unwrap()).unwrap();
                let (mut total, mut mean, mut n) = (0.0, 0.0, 0u32);
                loop {
                    let p = m.probability_of_purchases(n, Span::weeks(t).unwrap()).unwrap();
                    prop_assert!((0.0..=1.0).contains(&p), "{:?} {} {}: {}", m, t, n, p);
                    total += p;
                    mean += f64::from(n) * p;
                    if f64::from(n) > e && p < 1e-18 {
                        break;
                    }
                    n += 1;
                    prop_assert!(n < 20_000);
                }
                prop_assert!((total - 1.0).abs() < 1e-9, "{:?} {}: {}", m, t, total);
                prop_assert!((mean / e - 1.0).abs() < 1e-7, "{:?} {}: {} vs {}", m, t, mean, e);
            }
        }

        /// The histogram does not depend on row order and merging partitions equals the whole.
        #[test]
        fn histogram_merge(cs in proptest::collection::vec(customer(), 1..60), cut in 0usize..60) {
            let cut = cut.min(cs.len());
            let whole = Histogram::from_customers(&cs).unwrap();
            let mut rev = cs.clone();
            rev.reverse();
            prop_assert_eq!(&Histogram::from_customers(&rev).unwrap(), &whole);
            if cut > 0 && cut < cs.len() {
                let l = Histogram::from_customers(&cs[..cut]).unwrap();
                let r = Histogram::from_customers(&cs[cut..]).unwrap();
                prop_assert_eq!(&l.merge(&r).unwrap(), &whole);
                prop_assert_eq!(&r.merge(&l).unwrap(), &whole);
            }
            prop_assert_eq!(whole.customers(), cs.len() as u64);
        }
    }
}

#[test]
fn rescaled_fit_gives_same_predictions() {
    // lifetimes: fitting with recency and T × 10 leaves P(alive) unchanged (1e-4).
    let rows = cdnow();
    let scaled: Vec<Customer> = rows
        .iter()
        .map(|c| Customer::new(c.frequency, c.recency * 10.0, c.t * 10.0, Period::WEEK).unwrap())
        .collect();
    let a = BgNbd::fit(&Histogram::from_customers(&rows).unwrap(), &FitOptions::default()).unwrap();
    let b =
        BgNbd::fit(&Histogram::from_customers(&scaled).unwrap(), &FitOptions::default()).unwrap();
    assert!(rel(b.params.alpha(), 10.0 * a.params.alpha()) < 1e-6);
    for (c, s) in rows.iter().zip(&scaled).take(200) {
        let (pa, pb) =
            (a.params.probability_alive(c).unwrap(), b.params.probability_alive(s).unwrap());
        assert!((pa - pb).abs() < 1e-4);
    }
    // Log-likelihoods differ by the Jacobian of the time change only: −Σx ln 10.
    let sx: f64 = rows.iter().map(|c| c.frequency).sum();
    assert!((b.report.log_likelihood - (a.report.log_likelihood - sx * 10f64.ln())).abs() < 1e-6);
}

#[test]
fn hard_cases_converge_or_fail_with_typed_errors() {
    let opts = FitOptions::default();
    // Mostly one-time buyers: 5,000 customers, 1 % with repeat purchases.
    let mut rows: Vec<Customer> = (0..4950)
        .map(|i| Customer::new(0.0, 0.0, 10.0 + (i % 30) as f64, Period::WEEK).unwrap())
        .collect();
    rows.extend((0..50).map(|i| {
        Customer::new(1.0 + (i % 3) as f64, 5.0 + (i % 5) as f64, 39.0, Period::WEEK).unwrap()
    }));
    let h = Histogram::from_customers(&rows).unwrap();
    for r in [
        BgNbd::fit(&h, &opts).map(|f| f.report.log_likelihood),
        MbgNbd::fit(&h, &opts).map(|f| f.report.log_likelihood),
        ParetoNbd::fit(&h, &opts).map(|f| f.report.log_likelihood),
    ] {
        match r {
            Ok(ll) => assert!(ll.is_finite()),
            Err(e) => assert!(
                matches!(e.kind(), ErrorKind::NoConvergence { .. } | ErrorKind::Numerical { .. }),
                "{e}"
            ),
        }
    }
    // Large frequencies (daily buyers with thousands of purchases) next to CDNOW.
    let mut rows = cdnow();
    rows.extend(
        (0..20).map(|i| Customer::new(2000.0 + f64::from(i), 270.0, 272.0, Period::WEEK).unwrap()),
    );
    let h = Histogram::from_customers(&rows).unwrap();
    let bg = BgNbd::fit(&h, &opts).unwrap();
    assert!(bg.report.log_likelihood.is_finite());
    let p = ParetoNbd::fit(&h, &opts).unwrap();
    assert!(p.report.log_likelihood.is_finite());
    // Near-degenerate: every customer identical. Either a fit or a typed error, never NaN.
    let same = vec![Customer::new(2.0, 5.0, 10.0, Period::WEEK).unwrap(); 100];
    let h = Histogram::from_customers(&same).unwrap();
    for r in [
        BgNbd::fit(&h, &opts).map(|f| f.report.standard_errors),
        MbgNbd::fit(&h, &opts).map(|f| f.report.standard_errors),
        ParetoNbd::fit(&h, &opts).map(|f| f.report.standard_errors),
    ] {
        match r {
            Ok(se) => assert!(se.iter().all(|v| v.is_finite() && *v > 0.0)),
            Err(e) => assert!(
                matches!(e.kind(), ErrorKind::NoConvergence { .. } | ErrorKind::Numerical { .. }),
                "{e}"
            ),
        }
    }
}

#[cfg(feature = "serde")]
#[test]
fn parameters_round_trip_and_validate_through_serde() {
    let bg = BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258, Period::WEEK).unwrap();
    let json = serde_json::to_string(&bg).unwrap();
    assert_eq!(
        json,
        r#"{"version":2,"r":0.2426,"alpha":4.4135,"a":0.7929,"b":2.4258,"period":{"unit":"Week","multiple":1}}"#
    );
    assert_eq!(serde_json::from_str::<BgNbd>(&json).unwrap(), bg);
    assert!(serde_json::from_str::<BgNbd>(r#"{"r":-1,"alpha":1,"a":1,"b":1}"#).is_err());
    assert!(serde_json::from_str::<GammaGamma>(r#"{"p":6,"q":0.5,"v":15}"#).is_err());
    let p = ParetoNbd::new(0.55, 10.58, 0.61, 11.67, Period::WEEK).unwrap();
    assert_eq!(serde_json::from_str::<ParetoNbd>(&serde_json::to_string(&p).unwrap()).unwrap(), p);
    let m = MbgNbd::new(0.52, 6.18, 0.89, 1.61, Period::WEEK).unwrap();
    let model = TransactionModel::MbgNbd(m);
    let back: TransactionModel =
        serde_json::from_str(&serde_json::to_string(&model).unwrap()).unwrap();
    assert_eq!(back, model);
    let fit =
        BgNbd::fit(&Histogram::from_customers(&cdnow()).unwrap(), &FitOptions::default()).unwrap();
    // serde_json's default float parser may be 1 ULP off (its `float_roundtrip` feature is not
    // enabled in this crate's dev-dependencies), so compare within 2 ULP.
    let text = serde_json::to_string(&fit).unwrap();
    let back: loyalty::clv::Fit<BgNbd> = serde_json::from_str(&text).unwrap();
    assert_eq!(back.report.iterations, fit.report.iterations);
    let (a, b) = (back.params, fit.params);
    for (x, y) in [(a.r(), b.r()), (a.alpha(), b.alpha()), (a.a(), b.a()), (a.b(), b.b())] {
        assert!(rel(x, y) <= 4.5e-16, "{x} {y}");
    }
}

#[test]
fn pareto_nbd_holdout_expectations_by_frequency() {
    // BTYD: mean E[Y(39)] by calibration frequency x = 0…6, 7+ at its estimates, with group
    // sizes 1411, 439, 214, 100, 62, 38, 29, 64 (3 decimals).
    let m = ParetoNbd::new(0.553, 10.580, 0.606, 11.656, Period::WEEK).unwrap();
    let want = [0.138, 0.600, 1.196, 1.714, 2.399, 2.907, 3.819, 6.403];
    let sizes = [1411, 439, 214, 100, 62, 38, 29, 64];
    let mut sums = [0.0; 8];
    let mut n = [0usize; 8];
    for c in cdnow() {
        let g = (c.frequency as usize).min(7);
        sums[g] += m.conditional_expected_purchases(&c, Span::weeks(39.0).unwrap()).unwrap();
        n[g] += 1;
    }
    assert_eq!(n, sizes);
    for g in 0..8 {
        let got = sums[g] / n[g] as f64;
        assert!((got - want[g]).abs() < 1.5e-3, "x group {g}: {got} vs {}", want[g]);
    }
}

#[test]
fn large_batch_equals_single_customer_scoring() {
    // 10,000 rows span several parallel chunks with the `rayon` feature and exercise the
    // scorer's (x, T) cache; every score must equal the one-customer computation.
    let rows = cdnow_with_spend();
    let customers: Vec<Customer> = rows.iter().cycle().take(10_000).copied().collect();
    let gg = GammaGamma::new(6.2488, 3.7446, 15.448).unwrap();
    let o = ClvOptions::default().with_horizon(Horizon::months(6).unwrap());
    for model in [
        TransactionModel::BgNbd(BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258, Period::WEEK).unwrap()),
        TransactionModel::MbgNbd(
            MbgNbd::new(0.5248, 6.1830, 0.8914, 1.6140, Period::WEEK).unwrap(),
        ),
        TransactionModel::ParetoNbd(
            ParetoNbd::new(0.5533, 10.578, 0.6062, 11.668, Period::WEEK).unwrap(),
        ),
    ] {
        let model = ClvModel::new(model, gg);
        let scores = model.score(&customers, &o).unwrap();
        for i in (0..customers.len()).step_by(97) {
            let c = &customers[i];
            assert_eq!(scores[i].clv, model.customer_lifetime_value(c, &o).unwrap(), "row {i}");
            assert_eq!(scores[i].p_alive, model.probability_alive(c).unwrap());
        }
    }
    let mut bad = customers.clone();
    bad[9_000].t = -1.0;
    let e = ClvModel::new(BgNbd::new(0.3, 4.0, 0.8, 2.4, Period::WEEK).unwrap(), gg)
        .score(&bad, &o)
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidRecord { index: 9_000, field: "T", .. }), "{e}");
}

#[test]
fn mbgnbd_and_pareto_fits_do_not_depend_on_the_time_unit() {
    // lifetimes: hourly and daily MBG/NBD fits give equal 30-day predictions. Here: weeks vs
    // days (× 7) on CDNOW, 4 weeks vs 28 days.
    let weeks = cdnow();
    let days: Vec<Customer> = weeks
        .iter()
        .map(|c| Customer::new(c.frequency, c.recency * 7.0, c.t * 7.0, Period::WEEK).unwrap())
        .collect();
    let hw = Histogram::from_customers(&weeks).unwrap();
    let hd = Histogram::from_customers(&days).unwrap();
    let o = FitOptions::default();
    let pairs = [
        (
            TransactionModel::MbgNbd(MbgNbd::fit(&hw, &o).unwrap().params),
            TransactionModel::MbgNbd(MbgNbd::fit(&hd, &o).unwrap().params),
        ),
        (
            TransactionModel::ParetoNbd(ParetoNbd::fit(&hw, &o).unwrap().params),
            TransactionModel::ParetoNbd(ParetoNbd::fit(&hd, &o).unwrap().params),
        ),
    ];
    for (w, d) in pairs {
        for (cw, cd) in weeks.iter().zip(&days).step_by(50) {
            let ew = w.conditional_expected_purchases(cw, Span::weeks(4.0).unwrap()).unwrap();
            let ed = d.conditional_expected_purchases(cd, Span::weeks(28.0).unwrap()).unwrap();
            assert!((ew - ed).abs() <= 1e-5 * ew.max(1e-3), "{ew} vs {ed}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// P(X(t) = n) for a customer just acquired, every model. No published tables exist for the
// MBG/NBD and Pareto/NBD PMFs, so these tests check what must hold exactly: the PMF sums to 1,
// its mean is the model's own closed-form E[X(t)] (a different formula), X(0) = 0, the MBG/NBD
// time-0 dropout structure, and agreement with an independent numerical integration.

/// Parameter grid per model: CDNOW estimates, a < 1 / s < 1, large r, α far from β, a = 1
/// (removable singularity of E[X(t)]) and s = 1 (log limit of E[X(t)]).
fn pmf_models() -> Vec<TransactionModel> {
    let bg_like = [
        (0.2425982, 4.4136842, 0.7929899, 2.4261667),
        (0.5248, 6.1830, 0.8914, 1.6140),
        (0.3, 2.0, 0.4, 0.7),
        (25.0, 5.0, 2.0, 3.0),
        (1.3, 0.7, 1.0, 4.0),
    ];
    let pareto = [
        (0.55315, 10.57633, 0.60625, 11.67150),
        (25.0, 5.0, 0.8, 12.0),
        (0.4, 30.0, 0.3, 2.0),
        (0.7, 4.0, 1.0, 6.0),
        (2.0, 1.0, 3.0, 1.0),
    ];
    let mut v = Vec::new();
    for (r, al, a, b) in bg_like {
        v.push(TransactionModel::BgNbd(BgNbd::new(r, al, a, b, Period::WEEK).unwrap()));
        v.push(TransactionModel::MbgNbd(MbgNbd::new(r, al, a, b, Period::WEEK).unwrap()));
    }
    for (r, al, s, be) in pareto {
        v.push(TransactionModel::ParetoNbd(ParetoNbd::new(r, al, s, be, Period::WEEK).unwrap()));
    }
    v
}

#[test]
fn pmf_sums_to_one_and_its_mean_is_expected_purchases() {
    for m in pmf_models() {
        for t in [0.01, 1.0, 39.0, 78.0] {
            let e = m.expected_purchases(Span::weeks(t).unwrap()).unwrap();
            let (mut total, mut mean, mut n) = (0.0, 0.0, 0u32);
            loop {
                let p = m.probability_of_purchases(n, Span::weeks(t).unwrap()).unwrap();
                assert!(p.is_finite() && (0.0..=1.0).contains(&p), "{m:?} t {t} n {n}: {p}");
                total += p;
                mean += f64::from(n) * p;
                // Past the mean and negligible: the rest of the tail is below 1e-15 in total.
                if f64::from(n) > e && p < 1e-18 {
                    break;
                }
                n += 1;
                assert!(n < 20_000, "{m:?} t {t}: tail does not vanish");
            }
            assert!((total - 1.0).abs() < 1e-10, "{m:?} t {t}: Σ P = {total}");
            assert!((mean / e - 1.0).abs() < 1e-8, "{m:?} t {t}: Σ n P = {mean}, E[X(t)] = {e}");
        }
    }
}

#[test]
fn pmf_at_time_zero_is_a_point_mass_at_zero() {
    for m in pmf_models() {
        assert_eq!(m.probability_of_purchases(0, Span::weeks(0.0).unwrap()).unwrap(), 1.0, "{m:?}");
        for n in [1, 2, 100] {
            assert_eq!(
                m.probability_of_purchases(n, Span::weeks(0.0).unwrap()).unwrap(),
                0.0,
                "{m:?}"
            );
        }
    }
}

#[test]
fn pmf_refuses_bad_horizons_and_handles_huge_n() {
    for m in pmf_models() {
        for t in [-1.0, -1e-300, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let e = Span::weeks(t).unwrap_err();
            assert!(
                matches!(e.kind(), ErrorKind::InvalidInput { field: "span", .. }),
                "{m:?} {t}: {e}"
            );
        }
        for n in [10_000, u32::MAX] {
            let p = m.probability_of_purchases(n, Span::weeks(39.0).unwrap()).unwrap();
            assert!((0.0..1e-20).contains(&p), "{m:?} n {n}: {p}");
        }
    }
}

#[test]
fn mbgnbd_pmf_adds_the_time_zero_dropout_share() {
    // MBG/NBD: with probability p the customer leaves at time 0 (X(t) = 0 for sure); otherwise
    // it behaves as a BG/NBD customer. Averaged over p ~ Beta(a, b), P(X(t)=0) exceeds the
    // BG/NBD value with the same parameters by a/(a+b) · (1 − P_BG(X(t)=0)), and for n ≥ 1
    // P_MBG(n) = b/(a+b) · P_BG(n) with b + 1 in place of b (E[(1−p) g(p)] shifts b by one).
    for (r, al, a, b) in
        [(0.5248, 6.1830, 0.8914, 1.6140), (0.3, 2.0, 0.4, 0.6), (4.0, 1.0, 3.0, 0.2)]
    {
        let mbg = MbgNbd::new(r, al, a, b, Period::WEEK).unwrap();
        let bg = BgNbd::new(r, al, a, b, Period::WEEK).unwrap();
        let bg1 = BgNbd::new(r, al, a, b + 1.0, Period::WEEK).unwrap();
        let share = a / (a + b);
        for t in [0.5, 10.0, 39.0, 200.0] {
            let p0 = mbg.probability_of_purchases(0, Span::weeks(t).unwrap()).unwrap();
            let q0 = bg.probability_of_purchases(0, Span::weeks(t).unwrap()).unwrap();
            let want = q0 + share * (1.0 - q0);
            assert!((p0 - want).abs() < 1e-14, "t {t}: {p0} vs {want}");
            assert!(p0 >= share, "time-0 dropouts alone give P(X=0) ≥ a/(a+b)");
            for n in [1, 2, 5, 30] {
                let p = mbg.probability_of_purchases(n, Span::weeks(t).unwrap()).unwrap();
                let want = (1.0 - share)
                    * bg1.probability_of_purchases(n, Span::weeks(t).unwrap()).unwrap();
                assert!((p - want).abs() <= 1e-12 * want.max(1e-300), "t {t} n {n}: {p} vs {want}");
            }
        }
    }
}

/// Pareto/NBD `P(X(t) = n)` by direct numerical integration over the lifetime, independent of
/// the hypergeometric closed form: mixing the exponential lifetime over `μ ~ Gamma(s, β)` gives
/// the Pareto (Lomax) lifetime density `s β^s / (β+τ)^(s+1)` and survival `(β/(β+t))^s`, and
/// mixing Poisson(λτ) over `λ ~ Gamma(r, α)` the negative binomial `NB(n; τ)`, so
/// `P(X(t)=n) = (β/(β+t))^s NB(n; t) + ∫_0^t s β^s (β+τ)^−(s+1) NB(n; τ) dτ`, integrated here
/// with composite Simpson on 40,000 panels.
fn pareto_pmf_by_quadrature(r: f64, al: f64, s: f64, be: f64, n: u32, t: f64) -> f64 {
    fn ln_gamma(x: f64) -> f64 {
        // Lanczos (g = 7, n = 9), ample for a test oracle at 1e-9.
        const C: [f64; 9] = [
            0.999_999_999_999_809_9,
            676.520_368_121_885_1,
            -1_259.139_216_722_402_8,
            771.323_428_777_653_1,
            -176.615_029_162_140_6,
            12.507_343_278_686_905,
            -0.138_571_095_265_720_12,
            9.984_369_578_019_572e-6,
            1.505_632_735_149_311_6e-7,
        ];
        if x < 0.5 {
            return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln()
                - ln_gamma(1.0 - x);
        }
        let x = x - 1.0;
        let mut a = C[0];
        let tt = x + 7.5;
        for (i, c) in C.iter().enumerate().skip(1) {
            a += c / (x + i as f64);
        }
        0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * tt.ln() - tt + a.ln()
    }
    let nf = f64::from(n);
    let lc = ln_gamma(r + nf) - ln_gamma(r) - ln_gamma(nf + 1.0);
    let nb = |tau: f64| -> f64 {
        if tau == 0.0 {
            return if n == 0 { 1.0 } else { 0.0 };
        }
        (lc + r * (al / (al + tau)).ln() + nf * (tau / (al + tau)).ln()).exp()
    };
    let f = |tau: f64| s * be.powf(s) * (be + tau).powf(-(s + 1.0)) * nb(tau);
    let panels = 40_000;
    let h = t / f64::from(panels);
    let mut acc = f(0.0) + f(t);
    for k in 1..panels {
        acc += if k % 2 == 1 { 4.0 } else { 2.0 } * f(f64::from(k) * h);
    }
    (be / (be + t)).powf(s) * nb(t) + acc * h / 3.0
}

#[test]
fn pareto_nbd_pmf_matches_numerical_integration() {
    for (r, al, s, be) in
        [(0.55315, 10.57633, 0.60625, 11.67150), (0.4, 30.0, 0.3, 2.0), (3.0, 2.0, 1.5, 8.0)]
    {
        let m = ParetoNbd::new(r, al, s, be, Period::WEEK).unwrap();
        // t below and above min(α, β): both evaluation paths.
        for t in [0.7, 5.0, 39.0, 78.0] {
            for n in [0, 1, 2, 7, 20] {
                let got = m.probability_of_purchases(n, Span::weeks(t).unwrap()).unwrap();
                let want = pareto_pmf_by_quadrature(r, al, s, be, n, t);
                assert!(
                    (got - want).abs() <= 1e-9 * want + 1e-13,
                    "({r}, {al}, {s}, {be}) t {t} n {n}: {got} vs {want}"
                );
            }
        }
    }
}

#[test]
fn conditional_pmf_sums_to_one_and_its_mean_is_the_conditional_expectation() {
    // lifetimes checks that Pareto/NBD's conditional PMF over n = 0..19 sums to 1 (decimal 2) on
    // CDNOW; here every model, to 1e-10, with the mean against the closed-form E[Y(t) | ...].
    let models = [
        TransactionModel::BgNbd(bg_btyd()),
        TransactionModel::MbgNbd(
            MbgNbd::new(0.5248, 6.1830, 0.8914, 1.6140, Period::WEEK).unwrap(),
        ),
        TransactionModel::ParetoNbd(
            ParetoNbd::new(0.55315, 10.57633, 0.60625, 11.67150, Period::WEEK).unwrap(),
        ),
    ];
    let customers = [
        Customer::new(0.0, 0.0, 38.0, Period::WEEK).unwrap(),
        Customer::new(2.0, 30.43, 38.86, Period::WEEK).unwrap(),
        Customer::new(26.0, 30.85714, 31.0, Period::WEEK).unwrap(),
        Customer::new(10.0, 20.0, 39.0, Period::WEEK).unwrap(),
    ];
    for m in &models {
        for c in &customers {
            for t in [1.0, 39.0, 52.0] {
                let e = m.conditional_expected_purchases(c, Span::weeks(t).unwrap()).unwrap();
                let (mut total, mut mean, mut n) = (0.0, 0.0, 0u32);
                loop {
                    let p = m
                        .conditional_probability_of_purchases(c, n, Span::weeks(t).unwrap())
                        .unwrap();
                    assert!((0.0..=1.0).contains(&p), "{m:?} {c:?} {t} {n}: {p}");
                    total += p;
                    mean += f64::from(n) * p;
                    if n == 19 {
                        assert!((total - 1.0).abs() < 0.015 || e > 1.0, "lifetimes' check");
                    }
                    if f64::from(n) > e && p < 1e-18 {
                        break;
                    }
                    n += 1;
                    assert!(n < 20_000, "{m:?} {c:?} t {t}: tail does not vanish");
                }
                assert!((total - 1.0).abs() < 1e-10, "{m:?} {c:?} t {t}: Σ = {total}");
                assert!((mean / e - 1.0).abs() < 1e-8, "{m:?} {c:?} t {t}: {mean} vs {e}");
            }
        }
    }
    // A customer just acquired (x = 0, T = 0): conditional = unconditional.
    let new = Customer::new(0.0, 0.0, 0.0, Period::WEEK).unwrap();
    for m in &models {
        for n in [0, 1, 5] {
            let a = m
                .conditional_probability_of_purchases(&new, n, Span::weeks(10.0).unwrap())
                .unwrap();
            let b = m.probability_of_purchases(n, Span::weeks(10.0).unwrap()).unwrap();
            // (MBG/NBD: P(alive) = b/(a+b) at x = 0, T = 0, and the alive part is BG/NBD with
            // b + 1, so this also checks the unconditional MBG/NBD PMF a second way.)
            assert!((a - b).abs() < 1e-13 * b, "{m:?} {n}: {a} vs {b}");
        }
    }
    // Bad input: typed errors.
    for m in &models {
        assert!(Span::weeks(f64::NAN).is_err());
        assert!(Span::weeks(-1.0).is_err());
        let bad = Customer {
            frequency: 2.0,
            recency: 5.0,
            t: 3.0,
            monetary_value: 0.0,
            period: Period::WEEK,
        };
        let e =
            m.conditional_probability_of_purchases(&bad, 1, Span::weeks(1.0).unwrap()).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::InvalidInput { .. }), "{e}");
    }
}
