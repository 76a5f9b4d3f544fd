// Sample values of the stored types that were first versioned by format version 2 (clv
// fits, models, predictions and histograms; tier standings; care plans; rfm loyalty
// indexes, segment maps and scores), for the golden files in this directory.
//
// Included both by `generate.rs` (which writes the files) and by the integration tests
// (which read them back). Like `samples.rs`, it uses only API that existed when these
// types were unversioned, so it builds against that commit too (see README.md).

/// (file stem, pretty JSON of a sample value).
#[allow(dead_code)]
fn stored_samples() -> Vec<(&'static str, String)> {
    use chrono::{NaiveDate, TimeZone, Utc};
    use rust_decimal::Decimal;

    fn json<T: serde::Serialize>(v: &T) -> String {
        serde_json::to_string_pretty(v).unwrap()
    }
    let mut out = Vec::new();

    // ----- clv: a fit (the CDNOW BG/NBD estimate of lifetimes, with its report as
    // published), the model it makes with Gamma-Gamma, a prediction and a histogram.
    {
        use loyalty::clv::{
            BgNbd, ClvModel, ClvOptions, Customer, Fit, FitReport, FitStatus, GammaGamma,
            Histogram, Method, Prediction, PredictionRow,
        };
        use loyalty::rfm::Period;
        let params = BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258, Period::WEEK).unwrap();
        let report = FitReport {
            log_likelihood: -9582.43,
            iterations: 23,
            method: Method::Bfgs,
            standard_errors: vec![0.0126, 0.3783, 0.1853, 0.7057],
            customers: 2357,
            status: FitStatus::Converged,
        };
        out.push(("clv_fit", json(&Fit { params, report: report.clone() })));
        let model = ClvModel::new(params, GammaGamma::new(6.25, 3.74, 15.45).unwrap());
        out.push(("clv_model", json(&model)));
        let spend_fit = FitReport {
            log_likelihood: -4064.87,
            iterations: 31,
            method: Method::Bfgs,
            standard_errors: vec![1.19, 0.44, 3.98],
            customers: 946,
            status: FitStatus::Converged,
        };
        let rows = vec![PredictionRow {
            customer: 18u32,
            p_alive: 0.5,
            expected_purchases: 1.25,
            expected_spend: 32.5,
            clv: 38.75,
        }];
        let prediction = Prediction {
            model,
            purchase_fit: report,
            spend_fit,
            clv: ClvOptions::default(),
            rows,
        };
        out.push(("clv_prediction", json(&prediction)));
        let h = Histogram::from_customers(&[
            Customer::new(2.0, 30.43, 38.86, Period::WEEK).unwrap(),
            Customer::new(0.0, 0.0, 38.86, Period::WEEK).unwrap(),
            Customer::new(0.0, 0.0, 38.86, Period::WEEK).unwrap(),
        ])
        .unwrap();
        out.push(("clv_histogram", json(&h)));
    }

    // ----- tiers: a member's standing (gold on a spend ladder, by calendar year).
    {
        use loyalty::tiers::{Demotion, Ladder, Metric, Policy, Program, QualifyingEvent, Tier, Window};
        let at = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(12, 0, 0).unwrap();
        let ladder = Ladder::new(
            Metric::Spend,
            vec![
                Tier::new("bronze", Decimal::ZERO).unwrap(),
                Tier::new("silver", Decimal::from(500)).unwrap(),
                Tier::new("gold", Decimal::from(2000)).unwrap(),
            ],
        )
        .unwrap();
        let program = Program::new(
            ladder,
            Window::CalendarYear,
            Policy::default().demotion(Demotion::OneLevel),
        )
        .unwrap();
        let joined = NaiveDate::from_ymd_opt(2024, 1, 10).unwrap();
        let history = [
            QualifyingEvent::order(at(2024, 1, 10), Decimal::from(100)).unwrap(),
            QualifyingEvent::order(at(2024, 3, 5), Decimal::from(2400)).unwrap(),
        ];
        let standing = program.evaluate(joined, &history, at(2026, 1, 1)).unwrap();
        out.push(("tiers_standing", json(&standing)));
    }

    // ----- care: a plan with a birthday greeting.
    {
        use loyalty::care::{due, Birthday, CareConfig, CareInput, Channel, ContactCap, Customer, CustomerId};
        let b: Birthday = "07-02".parse().unwrap();
        let customers = [Customer::new(CustomerId(1), "Asia/Shanghai")
            .unwrap()
            .consent(Channel::Email)
            .language("en")
            .birthday(b)];
        let mut cfg = CareConfig::default();
        cfg.pressure.quiet_hours = None;
        cfg.pressure.cap = ContactCap { max_contacts: 10, period_days: 7 };
        let now = Utc.with_ymd_and_hms(2026, 7, 2, 2, 0, 0).unwrap();
        let plan = due(now, &cfg, &CareInput::new(&customers)).unwrap();
        assert_eq!(plan.actions.len(), 1);
        out.push(("care_plan", json(&plan)));
    }

    // ----- rfm: a loyalty index, a segment map and scores.
    {
        use loyalty::rfm::{
            LoyaltyIndex, LoyaltyWeights, RfmScorer, RfmValues, Saturation, ScoreOptions,
            SegmentMap,
        };
        let index = LoyaltyIndex::new(LoyaltyWeights::default(), Saturation::default()).unwrap();
        out.push(("rfm_loyalty_index", json(&index)));
        out.push(("rfm_segment_map", json(&SegmentMap::rf_ten_segments())));
        let v = |recency, frequency, monetary| RfmValues { recency, frequency, monetary };
        let values = [v(3.0, 5.0, 120.0), v(40.0, 1.0, 20.0), v(10.0, 2.0, 60.0)];
        let scores = RfmScorer::new(ScoreOptions::default())
            .unwrap()
            .score(&[1u32, 2, 3], &values)
            .unwrap();
        out.push(("rfm_scores", json(&scores)));
    }
    out
}
