//! Validation data of the CLV models (holdout, tracking, period transactions, matrices) against
//! lifetimes 0.11.3 on the CDNOW sample, daily, calibration to 1997-09-30 and holdout to
//! 1998-06-30 (`tests/data/generate_clv_expected.py`).

use chrono::NaiveDate;
use loyalty::clv::{
    evaluate_holdout, frequency_recency_matrix, period_transactions, predict_summary, tracking,
    BgNbd, ClvModel, GammaGamma, Horizon, PredictOptions, TransactionModel,
};
use loyalty::rfm::{calibration_and_holdout, summarize, Period, PeriodUnit, SummaryOptions};
use loyalty::ErrorKind;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// Rows of numbers of a CSV with a header.
fn csv(name: &str) -> Vec<Vec<f64>> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect()
}

/// lifetimes' BG/NBD fit on the daily calibration summary, as a daily model.
fn lifetimes_model() -> ClvModel {
    let path =
        format!("{}/tests/data/clv_cdnow_sample_validation_params.csv", env!("CARGO_MANIFEST_DIR"));
    let p: Vec<f64> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    let bg = BgNbd::new(p[0], p[1], p[2], p[3], Period::DAY).unwrap();
    // The spend model plays no part in these checks.
    ClvModel::new(bg, GammaGamma::new(6.0, 4.0, 15.0).unwrap())
}

fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() <= 1e-9 * b.abs().max(1e-3), "{what}: {a} vs lifetimes {b}");
}

#[test]
fn calibration_fit_equals_lifetimes() {
    let calibration =
        summarize(&crate::cdnow::sample(), d("1997-09-30"), SummaryOptions::default()).unwrap();
    let p = predict_summary(&calibration, &PredictOptions::default()).unwrap();
    let TransactionModel::BgNbd(ours) = p.model.purchases() else { panic!() };
    let TransactionModel::BgNbd(theirs) = lifetimes_model().purchases().to_owned() else {
        panic!()
    };
    for (o, t) in [
        (ours.r(), theirs.r()),
        (ours.alpha(), theirs.alpha()),
        (ours.a(), theirs.a()),
        (ours.b(), theirs.b()),
    ] {
        assert!((o - t).abs() < 1e-5 * t, "{o} vs lifetimes {t}");
    }
}

#[test]
fn holdout_evaluation_equals_lifetimes() {
    let log = crate::cdnow::sample();
    let split =
        calibration_and_holdout(&log, d("1997-09-30"), d("1998-06-30"), SummaryOptions::default())
            .unwrap();
    assert_eq!(split.duration_holdout, loyalty::rfm::Span::days(273.0).unwrap());
    let eval = evaluate_holdout(&lifetimes_model(), &split).unwrap();
    let want = csv("clv_cdnow_sample_holdout_lifetimes.csv");
    assert_eq!(eval.customers.len(), want.len());
    for (row, w) in eval.customers.iter().zip(&want) {
        assert_eq!(f64::from(row.customer), w[0]);
        assert_eq!(f64::from(row.calibration_frequency), w[1]);
        assert_eq!(f64::from(row.actual), w[4]);
        close(row.predicted, w[5], "holdout prediction");
    }
    let groups = csv("clv_cdnow_sample_holdout_by_frequency_lifetimes.csv");
    assert_eq!(eval.by_frequency.len(), groups.len());
    for (g, w) in eval.by_frequency.iter().zip(&groups) {
        assert_eq!(f64::from(g.calibration_frequency), w[0]);
        assert_eq!(g.customers as f64, w[1]);
        close(g.actual, w[2], "group actual");
        close(g.predicted, w[3], "group predicted");
    }
    // Error measures, from lifetimes' per-customer predictions.
    let n = want.len() as f64;
    let total_actual: f64 = want.iter().map(|w| w[4]).sum();
    let total_predicted: f64 = want.iter().map(|w| w[5]).sum();
    let mae = want.iter().map(|w| (w[5] - w[4]).abs()).sum::<f64>() / n;
    let rmse = (want.iter().map(|w| (w[5] - w[4]).powi(2)).sum::<f64>() / n).sqrt();
    assert_eq!(eval.total_actual as f64, total_actual);
    close(eval.total_predicted, total_predicted, "total predicted");
    close(eval.mae, mae, "mae");
    close(eval.rmse, rmse, "rmse");
    // Pearson's r of lifetimes' per-customer predictions and the actual holdout purchases.
    let (ma, mp) = (total_actual / n, total_predicted / n);
    let (mut sap, mut saa, mut spp) = (0.0, 0.0, 0.0);
    for w in &want {
        let (a, p) = (w[4] - ma, w[5] - mp);
        sap += a * p;
        saa += a * a;
        spp += p * p;
    }
    close(eval.correlation.unwrap(), sap / (saa * spp).sqrt(), "correlation");
}

#[test]
fn tracking_equals_lifetimes() {
    let points = tracking(&lifetimes_model(), &crate::cdnow::sample(), d("1998-06-30")).unwrap();
    let want = csv("clv_cdnow_sample_tracking_lifetimes.csv");
    assert_eq!(points.len(), 546);
    assert_eq!(want.len(), 546);
    assert_eq!(points[0].period_start, d("1997-01-01").into());
    let (mut previous, mut previous_actual) = (0.0, 0.0);
    for (p, w) in points.iter().zip(&want) {
        assert_eq!(p.actual_cumulative as f64, w[1], "day {}", w[0]);
        assert_eq!(p.actual as f64, w[1] - previous_actual, "day {}", w[0]);
        close(p.expected_cumulative, w[2], "expected cumulative");
        close(p.expected, w[2] - previous, "expected incremental");
        (previous, previous_actual) = (w[2], w[1]);
    }
}

#[test]
fn period_transactions_equal_lifetimes() {
    let calibration =
        summarize(&crate::cdnow::sample(), d("1997-09-30"), SummaryOptions::default()).unwrap();
    let bins = period_transactions(&lifetimes_model(), &calibration, 6).unwrap();
    let want = csv("clv_cdnow_sample_period_transactions_lifetimes.csv");
    assert_eq!(bins.len(), 7);
    for (b, w) in bins.iter().zip(&want) {
        assert_eq!(f64::from(b.repeat_purchases), w[0]);
        assert_eq!(b.or_more, b.repeat_purchases == 6);
        assert_eq!(b.actual as f64, w[1]);
        close(b.expected, w[2], "expected customers");
    }
    let e = period_transactions(&lifetimes_model(), &calibration, 0).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidInput { field: "last", .. }));
}

#[test]
fn frequency_recency_matrices_equal_lifetimes() {
    let calibration =
        summarize(&crate::cdnow::sample(), d("1997-09-30"), SummaryOptions::default()).unwrap();
    let one_day = Horizon::new(1, Period::DAY).unwrap();
    let m = frequency_recency_matrix(&lifetimes_model(), &calibration, one_day).unwrap();
    assert_eq!((m.max_frequency, m.max_recency, m.t), (29, 272, 272.0));
    let want = csv("clv_cdnow_sample_matrix_lifetimes.csv");
    assert_eq!(want.len(), 30 * 273);
    for w in &want {
        let (x, r) = (w[0] as usize, w[1] as usize);
        close(m.expected_purchases[r][x], w[2], "expected purchases cell");
        close(m.p_alive[r][x], w[3], "p_alive cell");
    }
}

#[test]
fn validation_refuses_a_summary_in_another_period() {
    let log = crate::cdnow::sample();
    let weekly = SummaryOptions::default().period(Period::WEEK);
    let calibration = summarize(&log, d("1997-09-30"), weekly).unwrap();
    let model = lifetimes_model();
    let e = period_transactions(&model, &calibration, 6).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidInput { field: "period", .. }), "{e}");
    let e =
        frequency_recency_matrix(&model, &calibration, Horizon::months(1).unwrap()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidInput { field: "period", .. }), "{e}");
    let split = calibration_and_holdout(&log, d("1997-09-30"), d("1998-06-30"), weekly).unwrap();
    let e = evaluate_holdout(&model, &split).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidInput { field: "period", .. }), "{e}");
    // A holdout end before the calibration end, and an empty holdout, are refused by the split.
    let daily = SummaryOptions::default();
    let e = calibration_and_holdout(&log, d("1997-09-30"), d("1997-09-01"), daily).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidInput { .. }), "{e}");
    let e = calibration_and_holdout(&log, d("1998-06-30"), d("1998-12-31"), daily).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::EmptyInput { .. }), "{e}");
    let e = tracking(&model, &log, d("1996-12-31")).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::EmptyInput { .. }), "{e}");
}

#[test]
fn an_empty_holdout_and_an_unusable_period_are_typed_errors() {
    let log = crate::cdnow::sample();
    // Calibration to Wednesday 1998-06-24, observation to the Sunday after: 21 purchases in
    // the holdout, but both ends in one Monday-to-Sunday week, so a weekly model has no time
    // to predict them in.
    let weekly = SummaryOptions::default().period(Period::WEEK);
    let split = calibration_and_holdout(&log, d("1998-06-24"), d("1998-06-28"), weekly).unwrap();
    assert_eq!(split.holdout_transactions, 21);
    assert_eq!(split.duration_holdout.count(), 0.0);
    let TransactionModel::BgNbd(daily) = lifetimes_model().purchases().to_owned() else { panic!() };
    let bg = BgNbd::new(daily.r(), daily.alpha() / 7.0, daily.a(), daily.b(), Period::WEEK);
    let model = ClvModel::new(bg.unwrap(), GammaGamma::new(6.0, 4.0, 15.0).unwrap());
    let e = evaluate_holdout(&model, &split).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::EmptyInput { what } if what.contains("0 periods")),
        "{e}"
    );
    // The same ends with daily periods are 4 days apart: evaluated.
    let daily_split =
        calibration_and_holdout(&log, d("1998-06-24"), d("1998-06-28"), SummaryOptions::default())
            .unwrap();
    let eval = evaluate_holdout(&lifetimes_model(), &daily_split).unwrap();
    assert_eq!(eval.total_actual, 21);
    assert!(eval.total_predicted > 0.0);
    // A split without customers.
    let mut none = daily_split.clone();
    none.rows.clear();
    let e = evaluate_holdout(&lifetimes_model(), &none).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::EmptyInput { .. }), "{e}");
    // Tracking counts periods of one unit: a model in periods of two days is refused.
    let two_days = Period::new(PeriodUnit::Day, 2).unwrap();
    let bg2 = BgNbd::new(daily.r(), daily.alpha() / 2.0, daily.a(), daily.b(), two_days);
    let model2 = ClvModel::new(bg2.unwrap(), GammaGamma::new(6.0, 4.0, 15.0).unwrap());
    let e = tracking(&model2, &log, d("1998-06-30")).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidInput { field: "period", .. }), "{e}");
}
