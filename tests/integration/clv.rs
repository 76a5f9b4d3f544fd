//! Integration tests for `loyalty::clv` on the CDNOW sample summary (FHL 2005's data), with the
//! published reference values of `clv-models.md` §10 at their stated tolerances.

use loyalty::clv::{BgNbd, Customer, FitOptions, Histogram};

const SUMMARY: &str = include_str!("../data/cdnow_customers_summary.csv");
const WITH_SPEND: &str = include_str!("../data/cdnow_customers_summary_with_transactions.csv");

/// `ID,frequency,recency,T` rows.
fn cdnow() -> Vec<Customer> {
    SUMMARY
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<f64> = l.split(',').map(|v| v.parse().unwrap()).collect();
            Customer::new(f[1], f[2], f[3]).unwrap()
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
            Customer::new(f[1], f[2], f[3]).unwrap().with_monetary_value(f[4])
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
}
