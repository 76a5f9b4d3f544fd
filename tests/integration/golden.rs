//! Stored-state format versions: golden files of every version the crate wrote read back,
//! and a newer version is refused (see `loyalty::version` and tests/data/golden/README.md).

use loyalty::ErrorKind;

include!("../data/golden/samples.rs");
include!("../data/golden/samples_stored.rs");

/// Reads `json` as the type stored under `name` and returns it written out again.
fn reread(name: &str, json: &str) -> Result<String, serde_json::Error> {
    macro_rules! as_type {
        ($t:ty) => {{
            let value: $t = serde_json::from_str(json)?;
            serde_json::to_string_pretty(&value)
        }};
    }
    match name {
        "points_program" => as_type!(loyalty::points::Program),
        "points_account" | "points_account_receiver" | "points_account_compacted" => {
            as_type!(loyalty::points::Account)
        }
        "tiers_program" | "tiers_program_criteria" => as_type!(loyalty::tiers::Program),
        "referral_book" => as_type!(loyalty::referral::ReferralBook),
        "sla_calendar" => as_type!(loyalty::sla::Calendar),
        "sla_policies" => as_type!(loyalty::sla::PolicySet),
        "care_config" => as_type!(loyalty::care::CareConfig),
        "rfm_summary" => as_type!(loyalty::rfm::Summary<u32>),
        "clv_bgnbd" => as_type!(loyalty::clv::BgNbd),
        "clv_mbgnbd" => as_type!(loyalty::clv::MbgNbd),
        "clv_pareto_nbd" => as_type!(loyalty::clv::ParetoNbd),
        "clv_gamma_gamma" => as_type!(loyalty::clv::GammaGamma),
        "clv_fit" => as_type!(loyalty::clv::Fit<loyalty::clv::BgNbd>),
        "clv_model" => as_type!(loyalty::clv::ClvModel),
        "clv_prediction" => as_type!(loyalty::clv::Prediction<u32>),
        "clv_histogram" => as_type!(loyalty::clv::Histogram),
        "tiers_standing" => as_type!(loyalty::tiers::Standing),
        "care_plan" => as_type!(loyalty::care::CarePlan),
        "rfm_loyalty_index" => as_type!(loyalty::rfm::LoyaltyIndex),
        "rfm_segment_map" => as_type!(loyalty::rfm::SegmentMap),
        "rfm_scores" => as_type!(loyalty::rfm::RfmScores),
        other => panic!("no type for golden file {other}"),
    }
}

/// Reads a version 1 file: as [`reread`], except that the purchase models, which version 1
/// stored without their period, read through `Version1` with the period of the sample (weeks).
fn reread_v1(name: &str, json: &str) -> Result<String, serde_json::Error> {
    use loyalty::clv::{BgNbd, MbgNbd, ParetoNbd, Version1};
    use loyalty::rfm::Period;
    macro_rules! as_v1 {
        ($t:ty) => {{
            let old: Version1<$t> = serde_json::from_str(json)?;
            // Unread version 1 must not pass as the current type.
            assert!(serde_json::from_str::<$t>(json).is_err(), "{name}: v1 read without a period");
            serde_json::to_string_pretty(&old.in_period(Period::WEEK).unwrap())
        }};
    }
    match name {
        "clv_bgnbd" => as_v1!(BgNbd),
        "clv_mbgnbd" => as_v1!(MbgNbd),
        "clv_pareto_nbd" => as_v1!(ParetoNbd),
        _ => reread(name, json),
    }
}

fn golden(file: &str) -> String {
    let path = format!("{}/tests/data/golden/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The samples of `samples.rs` (which builds against the commit that wrote version 1), of
/// `samples_stored.rs` (types first versioned later, built against the commit before),
/// and those of types or fields added since: a compacted points account (account version
/// 3 on, checkpoint version 1 on), the sample account folded before Jan 8 with outcomes
/// kept from Jan 6.
fn all_samples() -> Vec<(&'static str, String)> {
    let mut out = golden_samples();
    out.extend(stored_samples());
    let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 1, d).unwrap();
    let account = &out.iter().find(|(n, _)| *n == "points_account").unwrap().1;
    let mut a: loyalty::points::Account = serde_json::from_str(account).unwrap();
    a.compact(day(8), day(6)).unwrap();
    out.push(("points_account_compacted", serde_json::to_string_pretty(&a).unwrap()));
    out
}

#[test]
fn current_golden_files_match_what_this_build_writes() {
    for (name, json) in all_samples() {
        assert_eq!(golden(&format!("{name}.json")), json + "\n", "{name}: format changed");
    }
}

#[test]
fn version_1_golden_files_read_back_as_the_same_values() {
    // Written by the crate before versions were recorded (no `version` field; points
    // keys as JSON numbers): each reads back, and writes out exactly as the value this
    // build makes does. Shapes version 1 could not express (tier criteria) have no file.
    let new_in_v2 = ["tiers_program_criteria"];
    for (name, json) in golden_samples().into_iter().filter(|(n, _)| !new_in_v2.contains(n)) {
        let old = reread_v1(name, &golden(&format!("{name}.v1.json")))
            .unwrap_or_else(|e| panic!("{name} v1: {e}"));
        assert_eq!(old, json, "{name}: v1 reads back as another value");
    }
    // Types versioned later: version 1 is what the crate wrote before (commit 763a19a).
    for (name, json) in stored_samples() {
        if name == "tiers_standing" {
            // One metric's figure, without the metric: not read (see `loyalty::version`).
            let e = reread(name, &golden(&format!("{name}.v1.json"))).unwrap_err();
            assert!(e.to_string().contains("missing field `figures`"), "{e}");
            continue;
        }
        let old = reread(name, &golden(&format!("{name}.v1.json")))
            .unwrap_or_else(|e| panic!("{name} v1: {e}"));
        assert_eq!(old, json, "{name}: v1 reads back as another value");
    }
    // The purchase models as version 1 wrote them with its version field.
    for name in ["clv_bgnbd", "clv_mbgnbd", "clv_pareto_nbd", "tiers_program"] {
        let json = golden_samples().into_iter().find(|(n, _)| *n == name).unwrap().1;
        let old = reread_v1(name, &golden(&format!("{name}.v1-field.json"))).unwrap();
        assert_eq!(old, json, "{name}: v1 with its field reads back as another value");
    }
}

#[test]
fn version_2_golden_files_read_back_as_the_same_values() {
    // Points accounts before compaction existed (version 2: keys as strings, no
    // checkpoint).
    for (name, json) in
        golden_samples().into_iter().filter(|(n, _)| n.starts_with("points_account"))
    {
        let old = golden(&format!("{name}.v2.json"));
        assert!(old.starts_with("{\n  \"version\": 2,"), "{name}");
        let back = reread(name, &old).unwrap_or_else(|e| panic!("{name} v2: {e}"));
        assert_eq!(back, json, "{name}: v2 reads back as another value");
    }
}

#[test]
fn version_2_clv_golden_files_read_back_as_converged_fits() {
    // A fit and a prediction before fit reports had a status (version 2): they read back as
    // the same values with the status `Converged`, and are written as version 3.
    for name in ["clv_fit", "clv_prediction"] {
        let json = all_samples().into_iter().find(|(n, _)| *n == name).unwrap().1;
        let old = golden(&format!("{name}.v2.json"));
        assert!(old.starts_with("{\n  \"version\": 2,") && !old.contains("status"), "{name}");
        let back = reread(name, &old).unwrap_or_else(|e| panic!("{name} v2: {e}"));
        assert_eq!(back, json, "{name}: v2 reads back as another value");
        assert!(back.starts_with("{\n  \"version\": 3,"), "{name}");
        assert!(back.contains("\"status\": \"Converged\""), "{name}");
    }
}

/// The sample as an account of an older version reads back: a checkpoint written before
/// version 3 of checkpoints did not record the last activity of the folded history.
fn without_folded_activity(json: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(json).unwrap();
    if let Some(c) = v.get_mut("checkpoint") {
        c["last_activity"] = serde_json::Value::Null;
    }
    let a: loyalty::points::Account = serde_json::from_value(v).unwrap();
    serde_json::to_string_pretty(&a).unwrap()
}

#[test]
fn version_3_golden_files_read_back_as_the_same_values() {
    // Points accounts before lifetime totals were widened to u128 (version 3: totals as
    // u64 JSON numbers; the compacted one holds a checkpoint of version 1).
    for (name, json) in all_samples().into_iter().filter(|(n, _)| n.starts_with("points_account")) {
        let old = golden(&format!("{name}.v3.json"));
        assert!(old.starts_with("{\n  \"version\": 3,"), "{name}");
        assert!(!old.contains("\"earned\": \""), "{name}: v3 totals are numbers");
        let back = reread(name, &old).unwrap_or_else(|e| panic!("{name} v3: {e}"));
        assert_eq!(back, without_folded_activity(&json), "{name}: v3 reads back as another value");
    }
}

#[test]
fn version_4_golden_files_read_back_as_the_same_values() {
    // Points accounts before rollbacks (version 4: no `rolled_back` total, which reads as
    // zero; the compacted one holds a checkpoint of version 2, without the folded
    // history's last activity).
    for (name, json) in all_samples().into_iter().filter(|(n, _)| n.starts_with("points_account")) {
        let old = golden(&format!("{name}.v4.json"));
        assert!(old.starts_with("{\n  \"version\": 4,"), "{name}");
        assert!(!old.contains("rolled_back"), "{name}");
        let back = reread(name, &old).unwrap_or_else(|e| panic!("{name} v4: {e}"));
        assert_eq!(back, without_folded_activity(&json), "{name}: v4 reads back as another value");
    }
}

#[test]
fn current_golden_files_read_back_as_themselves() {
    // Version 5 of a points account (totals as decimal strings, rollbacks) and the newest
    // version of every other type.
    for (name, _) in all_samples() {
        let now = golden(&format!("{name}.json"));
        let back = reread(name, &now).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(back + "\n", now, "{name}: reads back as another value");
    }
    let account = golden("points_account.json");
    assert!(account.starts_with("{\n  \"version\": 5,"));
    assert!(account.contains("\"earned\": \"627\","), "totals are decimal strings");
}

#[test]
fn the_compacted_golden_account_keeps_its_checkpoint() {
    let json = golden("points_account_compacted.json");
    let a: loyalty::points::Account = serde_json::from_str(&json).unwrap();
    let c = a.checkpoint().expect("a checkpoint");
    // Entries of Jan 2 to Jan 7 folded: earns (3), activation, reservation and commit,
    // reservation and release, redemption; outcomes kept for replays from Jan 6 on.
    assert_eq!((c.folded(), c.forgotten_keys()), (9, 6));
    assert_eq!(c.totals().redeemed, loyalty::points::Points::new(300));
    assert_eq!(a.balances(), {
        let full: loyalty::points::Account =
            serde_json::from_str(&golden("points_account.json")).unwrap();
        full.balances()
    });
    a.check().unwrap();
}

#[test]
fn newer_or_unknown_versions_are_refused() {
    for (name, json) in all_samples() {
        let Some(at) = json.find("\"version\": ") else {
            continue;
        };
        let end = at + json[at..].find(',').unwrap();
        let current = &json[at..end];
        for bad in ["0", "99"] {
            let tampered = json.replacen(current, &format!("\"version\": {bad}"), 1);
            let err = reread(name, &tampered).expect_err(name).to_string();
            assert!(err.contains(&format!("format version {bad}")), "{name}: {err}");
        }
    }
    // The error kind behind the serde message.
    let e = loyalty::Error::from(ErrorKind::UnsupportedVersion {
        what: "points account",
        found: 3,
        newest: 2,
    });
    assert!(matches!(e.kind(), ErrorKind::UnsupportedVersion { found: 3, .. }));
}

#[test]
fn every_stored_type_writes_its_version_first() {
    for (name, json) in all_samples() {
        assert!(json.starts_with("{\n  \"version\": "), "{name} has no version field");
    }
}

/// Rewrites the current golden files: `cargo test --test integration
/// write_current_golden_files -- --ignored` (only when a format changes on purpose).
#[test]
#[ignore]
fn write_current_golden_files() {
    let dir = format!("{}/tests/data/golden", env!("CARGO_MANIFEST_DIR"));
    for (name, json) in all_samples() {
        std::fs::write(format!("{dir}/{name}.json"), json + "\n").unwrap();
    }
}
