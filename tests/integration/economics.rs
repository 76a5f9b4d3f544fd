//! Integration tests for `loyalty::economics`: cross-border inputs normalised with host rates.

use loyalty::economics::{
    cac_by_channel, clv_retention, clv_retention_finite, payback_periods, ChannelSpend, ClvToCac,
    DiscountRate, Retention, Verdict, VerdictThresholds,
};
use loyalty::{Currency, ErrorKind, ExchangeRate, ExchangeRates, Money, Rounding};
use rust_decimal::dec;

#[test]
fn cross_border_cac_after_normalising_to_the_base_currency() {
    let mut rates = ExchangeRates::new(Currency::USD);
    rates.insert(ExchangeRate::new(Currency::EUR, Currency::USD, dec!(1.10)).unwrap()).unwrap();
    rates.insert(ExchangeRate::new(Currency::JPY, Currency::USD, dec!(0.0067)).unwrap()).unwrap();
    let raw = [
        ("google-us", Money::new(dec!(5000), Currency::USD), 200u64),
        ("meta-de", Money::new(dec!(2000), Currency::EUR), 100),
        ("line-jp", Money::new(dec!(300000), Currency::JPY), 40),
    ];
    // Without normalising, the channels cannot be blended.
    let mixed: Vec<ChannelSpend> =
        raw.iter().map(|&(c, m, n)| ChannelSpend::new(c, m, n).unwrap()).collect();
    assert!(matches!(
        cac_by_channel(&mixed).unwrap_err().kind(),
        ErrorKind::CurrencyMismatch { .. }
    ));
    let spend: Vec<ChannelSpend> = raw
        .iter()
        .map(|&(c, m, n)| ChannelSpend::new(c, rates.to_base(m).unwrap(), n).unwrap())
        .collect();
    let report = cac_by_channel(&spend).unwrap();
    // 5000 + 2200 + 2010 = 9210 USD over 340 customers.
    assert_eq!(report.total_cost().amount(), dec!(9210));
    assert_eq!(report.blended().round(Rounding::HalfUp).amount(), dec!(27.09));
    assert_eq!(report.channels()[1].cac().unwrap().amount(), dec!(22));
    assert_eq!(report.channels()[2].cac().unwrap().amount(), dec!(50.25));
    // A currency without a rate is a typed error.
    let e = rates.to_base(Money::new(dec!(1), Currency::GBP)).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::MissingRate { .. }));
}

#[test]
fn business_is_sustainable_only_when_clv_covers_cac() {
    let usd = |x| Money::new(x, Currency::USD);
    let cac = usd(dec!(120));
    let margin = usd(dec!(40));
    let d = DiscountRate::new(dec!(0.08)).unwrap();
    // Low retention: 40 × 0.5 / 0.58 ≈ 34.48, far below CAC.
    let low = clv_retention(margin, Retention::new(dec!(0.5)).unwrap(), d).unwrap();
    let v = ClvToCac::new(low, cac).unwrap();
    assert_eq!(v.verdict(VerdictThresholds::default()), Verdict::Unsustainable);
    // High retention: 40 × 0.95 / 0.13 ≈ 292.31, a ratio of 2.44.
    let high = clv_retention(margin, Retention::new(dec!(0.95)).unwrap(), d).unwrap();
    let v = ClvToCac::new(high, cac).unwrap();
    assert_eq!(v.ratio().round_dp(2), dec!(2.44));
    assert_eq!(v.verdict(VerdictThresholds::default()), Verdict::Marginal);
    // A five-year horizon is worth less than the infinite one.
    let five = clv_retention_finite(margin, Retention::new(dec!(0.95)).unwrap(), d, 5).unwrap();
    assert!(five.amount() < high.amount());
    assert_eq!(payback_periods(cac, margin).unwrap(), dec!(3));
}

/// Stored tables and reports read back only when they are what the library would have
/// made (an adversarial review read back a USD table holding a EUR → GBP rate, whose
/// `to_base` then answered in GBP, and a CLV:CAC of a zero CAC).
#[cfg(feature = "serde")]
#[test]
fn stored_rates_and_reports_are_checked_on_the_way_in() {
    use serde_json::{json, Value};
    let mut rates = ExchangeRates::new(Currency::USD);
    rates.insert(ExchangeRate::new(Currency::EUR, Currency::USD, dec!(1.10)).unwrap()).unwrap();
    let json = serde_json::to_value(&rates).unwrap();
    assert_eq!(json["version"], 2);
    assert_eq!(serde_json::from_value::<ExchangeRates>(json.clone()).unwrap(), rates);
    let mut v1 = json.clone();
    v1.as_object_mut().unwrap().remove("version");
    assert_eq!(serde_json::from_value::<ExchangeRates>(v1).unwrap(), rates);
    let gbp = serde_json::to_value(Currency::GBP).unwrap();
    let mut wrong_base = json.clone();
    wrong_base["rates"][0]["to"] = gbp;
    let e = serde_json::from_value::<ExchangeRates>(wrong_base).unwrap_err().to_string();
    assert!(e.contains("mismatch"), "{e}");
    let mut twice = json.clone();
    let again = twice["rates"][0].clone();
    twice["rates"].as_array_mut().unwrap().push(again);
    assert!(serde_json::from_value::<ExchangeRates>(twice).is_err());
    let mut future = json.clone();
    future["version"] = json!(3);
    assert!(serde_json::from_value::<ExchangeRates>(future).is_err());

    let usd = |x| Money::new(x, Currency::USD);
    let ratio = ClvToCac::new(usd(dec!(300)), usd(dec!(100))).unwrap();
    let json = serde_json::to_value(ratio).unwrap();
    assert_eq!(serde_json::from_value::<ClvToCac>(json.clone()).unwrap(), ratio);
    let tamper = |field: &str, to: Value| {
        let mut t = json.clone();
        t[field] = to;
        serde_json::from_value::<ClvToCac>(t)
    };
    assert!(tamper("ratio", json!("0.5")).is_err());
    let mut zero_cac = json["cac"].clone();
    zero_cac["amount"] = json!("0");
    assert!(tamper("cac", zero_cac).is_err());

    let spend = [
        ChannelSpend::new("a", usd(dec!(500)), 10).unwrap(),
        ChannelSpend::new("b", usd(dec!(300)), 0).unwrap(),
    ];
    let report = cac_by_channel(&spend).unwrap();
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(
        serde_json::from_value::<loyalty::economics::CacReport>(json.clone()).unwrap(),
        report
    );
    let mut forged = json.clone();
    forged["blended"]["amount"] = json!("-7");
    assert!(serde_json::from_value::<loyalty::economics::CacReport>(forged).is_err());
    let mut forged = json;
    forged["new_customers"] = json!(11);
    assert!(serde_json::from_value::<loyalty::economics::CacReport>(forged).is_err());
}
