//! Stored-state format versions: golden files of every version the crate wrote read back,
//! and a newer version is refused (see `loyalty::version` and tests/data/golden/README.md).

use loyalty::ErrorKind;

include!("../data/golden/samples.rs");

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
        "points_account" | "points_account_receiver" => as_type!(loyalty::points::Account),
        "tiers_program" => as_type!(loyalty::tiers::Program),
        "referral_book" => as_type!(loyalty::referral::ReferralBook),
        "sla_calendar" => as_type!(loyalty::sla::Calendar),
        "sla_policies" => as_type!(loyalty::sla::PolicySet),
        "care_config" => as_type!(loyalty::care::CareConfig),
        "rfm_summary" => as_type!(loyalty::rfm::Summary<u32>),
        "clv_bgnbd" => as_type!(loyalty::clv::BgNbd),
        "clv_mbgnbd" => as_type!(loyalty::clv::MbgNbd),
        "clv_pareto_nbd" => as_type!(loyalty::clv::ParetoNbd),
        "clv_gamma_gamma" => as_type!(loyalty::clv::GammaGamma),
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

#[test]
fn current_golden_files_match_what_this_build_writes() {
    for (name, json) in golden_samples() {
        assert_eq!(golden(&format!("{name}.json")), json + "\n", "{name}: format changed");
    }
}

#[test]
fn version_1_golden_files_read_back_as_the_same_values() {
    // Written by the crate before versions were recorded (no `version` field; points
    // keys as JSON numbers): each reads back, and writes out exactly as the value this
    // build makes does.
    for (name, json) in golden_samples() {
        let old = reread_v1(name, &golden(&format!("{name}.v1.json")))
            .unwrap_or_else(|e| panic!("{name} v1: {e}"));
        assert_eq!(old, json, "{name}: v1 reads back as another value");
    }
    // The purchase models as version 1 wrote them with its version field.
    for name in ["clv_bgnbd", "clv_mbgnbd", "clv_pareto_nbd"] {
        let json = golden_samples().into_iter().find(|(n, _)| *n == name).unwrap().1;
        let old = reread_v1(name, &golden(&format!("{name}.v1-field.json"))).unwrap();
        assert_eq!(old, json, "{name}: v1 with its field reads back as another value");
    }
}

#[test]
fn newer_or_unknown_versions_are_refused() {
    for (name, json) in golden_samples() {
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
    // Not yet versioned: a policy set is stored as a bare JSON array, and a care
    // configuration's serialized form is derived on the public struct.
    let pending = ["sla_policies", "care_config"];
    for (name, json) in golden_samples().into_iter().filter(|(n, _)| !pending.contains(n)) {
        assert!(json.starts_with("{\n  \"version\": "), "{name} has no version field");
    }
}

/// Rewrites the current golden files: `cargo test --test integration
/// write_current_golden_files -- --ignored` (only when a format changes on purpose).
#[test]
#[ignore]
fn write_current_golden_files() {
    let dir = format!("{}/tests/data/golden", env!("CARGO_MANIFEST_DIR"));
    for (name, json) in golden_samples() {
        std::fs::write(format!("{dir}/{name}.json"), json + "\n").unwrap();
    }
}
