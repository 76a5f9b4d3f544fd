//! The CLV path from a transaction log to per-customer values ([`loyalty::clv::predict`]):
//! equal to lifetimes' defaults-only workflow on CDNOW, one time unit from log to value, and
//! typed errors for the inputs that cannot be scored.

use chrono::NaiveDate;
use loyalty::clv::{
    predict, predict_summary, BgNbd, ClvModel, ClvOptions, Customer, FitOptions, GammaGamma,
    Histogram, Horizon, ModelKind, PredictOptions, PurchaseModel, Span,
};
use loyalty::rfm::{summarize, FirstPurchase, Period, SummaryOptions};
use loyalty::ErrorKind;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

/// `(customer, values...)` rows of a CSV with a header.
fn csv(name: &str) -> Vec<(u32, Vec<f64>)> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let mut f = l.split(',');
            let id = f.next().unwrap().parse().unwrap();
            (id, f.map(|v| v.parse().unwrap()).collect())
        })
        .collect()
}

#[test]
fn defaults_only_pipeline_equals_lifetimes_daily_clv_on_cdnow_master() {
    // lifetimes 0.11.3, all defaults (tests/data/generate_clv_expected.py): daily summary as of
    // 1998-06-30, BetaGeoFitter, GammaGammaFitter on the repeat buyers, P(alive), expected
    // purchases over 360 days, expected spend, customer_lifetime_value(time=12,
    // discount_rate=0.01, freq="D"), for all 23,570 customers.
    let log = crate::cdnow::master();
    let p = predict(&log, d("1998-06-30"), &PredictOptions::default()).unwrap();
    assert_eq!(p.model.period(), Period::DAY);
    let params: Vec<f64> = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/clv_cdnow_master_daily_params.csv"
    ))
    .unwrap()
    .lines()
    .skip(1)
    .map(|l| l.rsplit(',').next().unwrap().parse().unwrap())
    .collect();
    let loyalty::clv::TransactionModel::BgNbd(bg) = p.model.purchases() else { panic!() };
    let gg = p.model.spend();
    let ours = [bg.r(), bg.alpha(), bg.a(), bg.b(), gg.p(), gg.q(), gg.v()];
    for (o, l) in ours.iter().zip(&params) {
        assert!(rel(*o, *l) < 1e-6, "parameter {o} vs lifetimes {l}");
    }
    assert_eq!(p.spend_fit.customers, 11_515);
    let expected = csv("clv_cdnow_master_daily_lifetimes.csv");
    assert_eq!(p.rows.len(), 23_570);
    assert_eq!(expected.len(), 23_570);
    // 1e-6 relative; values below 1e-6 (a P(alive) of 6e-17) to 1e-12 absolute, as the
    // parameters themselves agree to ~1e-7 only.
    let mut worst = [0.0f64; 4];
    for (row, (id, want)) in p.rows.iter().zip(&expected) {
        assert_eq!(row.customer, *id);
        let got = [row.p_alive, row.expected_purchases, row.expected_spend, row.clv];
        for k in 0..4 {
            let e = (got[k] - want[k]).abs() / want[k].abs().max(1e-6);
            worst[k] = worst[k].max(e);
            assert!(e < 1e-6, "customer {id} column {k}: {} vs lifetimes {}", got[k], want[k]);
        }
    }
    eprintln!("worst relative differences (p_alive, E[Y], spend, clv): {worst:?}");
    // The same by the parts, as the new user went: summarize with
    // `SummaryOptions::default()`, fit both models with `FitOptions::default()`, score with
    // `ClvOptions::default()` (once a weekly default, which made this CLV 6.3x too low).
    let summary = summarize(&log, d("1998-06-30"), SummaryOptions::default()).unwrap();
    let customers: Vec<Customer> =
        summary.rows().iter().map(|r| Customer::from(r.clv_inputs())).collect();
    let histogram = Histogram::from_customers(&customers).unwrap();
    let bg = BgNbd::fit(&histogram, &FitOptions::default()).unwrap().params;
    let spenders: Vec<Customer> =
        customers.iter().filter(|c| c.frequency > 0.0 && c.monetary_value > 0.0).copied().collect();
    let gg = GammaGamma::fit(&spenders, &FitOptions::default()).unwrap().params;
    let scores = ClvModel::new(bg, gg).score(&customers, &ClvOptions::default()).unwrap();
    assert_eq!(scores.len(), 23_570);
    for (s, r) in scores.iter().zip(&p.rows) {
        assert_eq!(
            (s.p_alive, s.expected_purchases, s.expected_spend, s.clv),
            (r.p_alive, r.expected_purchases, r.expected_spend, r.clv),
            "customer {}",
            r.customer
        );
    }
}

#[test]
fn one_time_buyers_are_alive_under_bgnbd_only() {
    // BG/NBD lets customers drop out only after a repeat purchase: every one-time buyer has
    // P(alive) = 1 (documented on `Score::p_alive`). MBG/NBD and Pareto/NBD, one option away,
    // give the long-gone ones a P(alive) below 1.
    let log = crate::cdnow::sample();
    let end = d("1998-06-30");
    let summary = summarize(&log, end, SummaryOptions::default()).unwrap();
    let once: Vec<usize> =
        (0..summary.len()).filter(|&i| summary.rows()[i].frequency() == 0).collect();
    assert_eq!(once.len(), 1_218);
    let bg = predict(&log, end, &PredictOptions::default()).unwrap();
    assert!(once.iter().all(|&i| bg.rows[i].p_alive == 1.0));
    for kind in [ModelKind::MbgNbd, ModelKind::ParetoNbd] {
        let p = predict(&log, end, &PredictOptions::default().with_model(kind)).unwrap();
        assert!(once.iter().all(|&i| p.rows[i].p_alive < 1.0), "{kind:?}");
        let mean = once.iter().map(|&i| p.rows[i].p_alive).sum::<f64>() / once.len() as f64;
        assert!(mean < 0.6, "{kind:?}: mean P(alive) of one-time buyers {mean}");
        // Repeat buyers are scored by the chosen model too, and still rank by CLV.
        assert!(p.rows.iter().all(|r| r.clv.is_finite() && r.clv >= 0.0));
    }
}

#[test]
fn horizon_goes_through_the_model_period() {
    // 12 months of a daily model are 360 days (lifetimes' 30 days a month), of a weekly model
    // 52.14 weeks, of a fortnightly one 26.07 fortnights.
    let gg = GammaGamma::new(6.25, 3.74, 15.44).unwrap();
    let year = Horizon::months(12).unwrap();
    for (period, periods) in [
        (Period::DAY, 360.0),
        (Period::WEEK, 12.0 * 4.345),
        (Period::new(loyalty::rfm::PeriodUnit::Week, 2).unwrap(), 26.07),
    ] {
        let bg = BgNbd::new(0.243, 4.414, 0.793, 2.426, period).unwrap();
        let c = Customer::new(2.0, 30.0, 38.0, period).unwrap().with_monetary_value(20.0);
        let model = ClvModel::new(bg, gg);
        let e = model.conditional_expected_purchases(&c, year).unwrap();
        let by_count =
            bg.conditional_expected_purchases(&c, Span::new(periods, period).unwrap()).unwrap();
        assert!(rel(e, by_count) < 1e-12, "{period}: {e} vs {by_count}");
        let s = model.score(&[c], &ClvOptions::default()).unwrap();
        assert!(rel(s[0].expected_purchases, by_count) < 1e-12);
        // A customer in another period is refused, not read in the model's unit.
        let other = if period == Period::DAY { Period::WEEK } else { Period::DAY };
        let wrong = Customer { period: other, ..c };
        for e in [
            bg.probability_alive(&wrong).unwrap_err(),
            model.score(&[c, wrong], &ClvOptions::default()).unwrap_err(),
        ] {
            assert!(
                matches!(
                    e.kind(),
                    ErrorKind::InvalidInput { field: "period", .. }
                        | ErrorKind::InvalidRecord { index: 1, field: "period", .. }
                ),
                "{e}"
            );
        }
    }
}

#[test]
fn a_day_model_asked_about_weeks_counts_seven_days() {
    // BTYD's BG/NBD estimates on CDNOW, in weeks, and the same model in days (α × 7).
    let (r, alpha, a, b) = (0.2425982, 4.4136842, 0.7929899, 2.4261667);
    let weekly = BgNbd::new(r, alpha, a, b, Period::WEEK).unwrap();
    let daily = BgNbd::new(r, 7.0 * alpha, a, b, Period::DAY).unwrap();
    let c1516_weeks = Customer::new(26.0, 30.85714, 31.0, Period::WEEK).unwrap();
    let c1516_days = Customer::new(26.0, 7.0 * 30.85714, 7.0 * 31.0, Period::DAY).unwrap();
    for k in [1.0, 4.0, 39.0, 52.0] {
        // The conversion is exact: k weeks are 7k days, not k / 4.345 lifetimes months.
        assert_eq!(Span::weeks(k).unwrap().in_periods(Period::DAY).unwrap(), 7.0 * k);
        let in_weeks = daily.conditional_expected_purchases(&c1516_days, Span::weeks(k).unwrap());
        let in_days =
            daily.conditional_expected_purchases(&c1516_days, Span::days(7.0 * k).unwrap());
        assert_eq!(in_weeks.unwrap(), in_days.unwrap());
        // And agrees with the weekly model (the same model in another unit).
        let w = weekly.conditional_expected_purchases(&c1516_weeks, Span::weeks(k).unwrap());
        let d = daily.conditional_expected_purchases(&c1516_days, Span::weeks(k).unwrap());
        assert!(rel(w.unwrap(), d.unwrap()) < 1e-12);
        let (ew, ed) = (
            weekly.expected_purchases(Span::weeks(k).unwrap()).unwrap(),
            daily.expected_purchases(Span::weeks(k).unwrap()).unwrap(),
        );
        assert!(rel(ew, ed) < 1e-12, "{k}: {ew} vs {ed}");
    }
    // FHL 2005 / BTYD: customer 1516's expected purchases over the next 52 weeks, 25.75659,
    // from the daily model asked in weeks.
    let e = daily.conditional_expected_purchases(&c1516_days, Span::weeks(52.0).unwrap());
    assert!((e.unwrap() - 25.75659).abs() < 1e-4);
    // lifetimes' daily CDNOW fit (tests/data/clv_cdnow_master_daily_params.csv) asked about
    // 12 months equals the same model asked about 360 days and 8,640 hours.
    let year_days = daily.expected_purchases(Span::days(360.0).unwrap()).unwrap();
    assert_eq!(daily.expected_purchases(Horizon::months(12).unwrap()).unwrap(), year_days);
    assert_eq!(daily.expected_purchases(Span::hours(8640.0).unwrap()).unwrap(), year_days);
}

#[test]
fn predict_equals_its_parts_and_refuses_mixed_units() {
    let log = crate::cdnow::sample();
    let weekly = SummaryOptions::default().period(Period::WEEK);
    let options = PredictOptions::default().with_summary(weekly).with_model(ModelKind::ParetoNbd);
    let p = predict(&log, d("1997-09-30"), &options).unwrap();
    assert_eq!(p.model.period(), Period::WEEK);
    let summary = summarize(&log, d("1997-09-30"), weekly).unwrap();
    let again = predict_summary(&summary, &options).unwrap();
    assert_eq!(p, again);
    // The parts: the model scores the summary it was fitted on to the same rows.
    let scores = p.model.score_summary(&summary, &p.clv).unwrap();
    for (s, r) in scores.iter().zip(&p.rows) {
        assert_eq!(
            (s.p_alive, s.expected_purchases, s.clv),
            (r.p_alive, r.expected_purchases, r.clv)
        );
    }
    // A daily summary cannot be scored with the weekly model.
    let daily = summarize(&log, d("1997-09-30"), SummaryOptions::default()).unwrap();
    let e = p.model.score_summary(&daily, &p.clv).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidInput { field: "period", .. }), "{e}");
    // A summary that counts the first purchase is not what the models assume.
    let rfm = summarize(
        &log,
        d("1997-09-30"),
        SummaryOptions::default().first_purchase(FirstPurchase::Included),
    )
    .unwrap();
    let e = predict_summary(&rfm, &PredictOptions::default()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidInput { field: "summary options", .. }), "{e}");
    // Nor can a fitted model score it.
    let e = p.model.score_summary(&rfm, &p.clv).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidInput { field: "summary options", .. }), "{e}");
    // An empty log.
    let e = predict::<u32>(&[], d("1997-09-30"), &options).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::EmptyInput { .. }), "{e}");
}

#[test]
fn bad_horizons_and_rates_are_typed_errors() {
    assert!(matches!(
        Horizon::months(0).unwrap_err().kind(),
        ErrorKind::InvalidInput { field: "horizon", .. }
    ));
    for rate in [-1.0, -2.0, f64::NAN, f64::INFINITY] {
        let e = ClvOptions::default().with_monthly_discount_rate(rate).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::InvalidInput { field: "discount rate", .. }));
    }
    // 52 weeks are not a whole number of lifetimes months: monthly CLV refuses them.
    let bg = BgNbd::new(0.243, 4.414, 0.793, 2.426, Period::WEEK).unwrap();
    let gg = GammaGamma::new(6.25, 3.74, 15.44).unwrap();
    let model = ClvModel::new(bg, gg);
    let c = Customer::new(2.0, 30.0, 38.0, Period::WEEK).unwrap().with_monetary_value(20.0);
    let weeks = ClvOptions::default().with_horizon(Horizon::new(52, Period::WEEK).unwrap());
    let e = model.score(&[c], &weeks).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidInput { field: "horizon", .. }), "{e}");
    // Nor are 90 days, to a weekly model: they are 12.857 weeks (as its other predictions
    // take them), 2.96 of lifetimes' 4.345-week months. Scoring them as 3 months would count
    // 13.035 weeks of purchases where `conditional_expected_purchases` counts 12.857.
    let days = ClvOptions::default().with_horizon(Horizon::new(90, Period::DAY).unwrap());
    let e = model.score(&[c], &days).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidInput { field: "horizon", .. }), "{e}");
    // To a daily model 90 days are 3 months (30 days each), and the score's expected
    // purchases are the model's over the same 90 days.
    let daily =
        ClvModel::new(BgNbd::new(0.243, 7.0 * 4.414, 0.793, 2.426, Period::DAY).unwrap(), gg);
    let cd = Customer::new(2.0, 210.0, 266.0, Period::DAY).unwrap().with_monetary_value(20.0);
    let three = ClvOptions::default().with_horizon(Horizon::months(3).unwrap());
    let s = daily.score(&[cd], &days).unwrap();
    assert_eq!(s, daily.score(&[cd], &three).unwrap());
    let e90 = daily.conditional_expected_purchases(&cd, Horizon::new(90, Period::DAY).unwrap());
    assert!(rel(s[0].expected_purchases, e90.unwrap()) < 1e-12);
    // 2,160 hours are the same 90 days.
    let hours = ClvOptions::default().with_horizon(Horizon::new(2160, Period::HOUR).unwrap());
    assert_eq!(daily.score(&[cd], &hours).unwrap(), s);
}

#[test]
fn defaults_fit_every_calibration_window_of_cdnow() {
    // The obvious path must not fail where a looser tolerance succeeds: an earlier Gamma-Gamma
    // fit stopped at rounding just short of the default gradient tolerance on the 1997-09-30
    // calibration window and reported no convergence. Every month end of the log's second
    // half is a calibration end a user may pick; the defaults fit each, and equal the fit at
    // a tolerance ten times looser.
    let log = crate::cdnow::master();
    let loose =
        PredictOptions::default().with_fit(loyalty::clv::FitOptions::default().tolerance(1e-9));
    for end in [
        "1997-06-30",
        "1997-07-31",
        "1997-08-31",
        "1997-09-30",
        "1997-10-31",
        "1997-11-30",
        "1997-12-31",
        "1998-01-31",
        "1998-02-28",
        "1998-03-31",
        "1998-04-30",
        "1998-05-31",
    ] {
        let p = predict(&log, d(end), &PredictOptions::default())
            .unwrap_or_else(|e| panic!("defaults at {end}: {e}"));
        let q = predict(&log, d(end), &loose).unwrap();
        let (a, b) = (p.model.spend(), q.model.spend());
        for (x, y) in [(a.p(), b.p()), (a.q(), b.q()), (a.v(), b.v())] {
            assert!(rel(x, y) < 1e-5, "{end}: {x} vs {y}");
        }
    }
}

#[test]
fn a_log_of_early_january_buyers_is_refused_as_a_fit_at_the_boundary() {
    // 30 customers who bought only in the first days of January, summarized as of 1 June:
    // the even ones once, the odd ones twice, two days apart, each repeat spend 20. With at
    // most one repeat purchase each, BG/NBD's likelihood rises with the dropout probability
    // p = a/(a + b) all the way to p = 1 (b = 0). Before the boundary check this failed with
    // a numerical error about the Hessian that did not say why; on similar data the fit was
    // reported as converged and scoring failed with "hyp2f1 series: sum overflowed".
    use loyalty::rfm::Transaction;
    use rust_decimal::Decimal;
    let mut log = Vec::new();
    for i in 0..30u32 {
        let first = d("2024-01-01") + chrono::Days::new(u64::from(i % 5));
        log.push(Transaction::on(i, first, Decimal::new(2000, 2)));
        if i % 2 == 1 {
            log.push(Transaction::on(i, first + chrono::Days::new(2), Decimal::new(2000, 2)));
        }
    }
    let e = predict(&log, d("2024-06-01"), &PredictOptions::default()).unwrap_err();
    assert_eq!(
        e.kind(),
        &ErrorKind::AtBoundary { model: "bg/nbd", parameters: vec!["b".to_string()] }
    );
    assert_eq!(
        e.to_string(),
        "bg/nbd fit at the boundary of the parameter space: b ran beyond a factor of 1e6 of the \
         data's scale, so the data do not identify them"
    );
    // The fit itself returns, its report saying where it stopped.
    let summary = summarize(&log, d("2024-06-01"), SummaryOptions::default()).unwrap();
    let customers: Vec<Customer> =
        summary.rows().iter().map(|r| Customer::from(r.clv_inputs())).collect();
    let fit = BgNbd::fit(&Histogram::from_customers(&customers).unwrap(), &FitOptions::default())
        .unwrap();
    assert_eq!(
        fit.report.status,
        loyalty::clv::FitStatus::AtBoundary { parameters: vec!["b".to_string()] }
    );
    assert!(fit.report.standard_errors.is_empty());
}
