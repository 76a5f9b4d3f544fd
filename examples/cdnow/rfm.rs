//! RFM section of the CDNOW report: customers and revenue per segment of the 11-segment map.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use loyalty::rfm::{
    summarize, RfmMeasures, RfmScorer, ScoreOptions, SegmentMap, SummaryOptions, Transaction,
};
use rust_decimal::Decimal;

use super::data::Purchase;

/// Prints the segment table as of 1998-06-30 (R `rfm` value quantiles, 5 bins, on days since
/// the last purchase, purchase days and total spend) and returns each customer's segment for
/// the care section.
pub fn report(log: &[Purchase]) -> BTreeMap<u32, String> {
    let txs: Vec<Transaction<u32>> =
        log.iter().map(|p| Transaction::on(p.customer, p.date, p.amount)).collect();
    let as_of = NaiveDate::from_ymd_opt(1998, 6, 30).expect("valid date");
    let result = summarize(&txs, as_of, SummaryOptions::default()).and_then(|summary| {
        let scores = RfmScorer::new(ScoreOptions::default())?
            .score_summary(&summary, RfmMeasures::default())?;
        Ok((summary, scores))
    });
    let (summary, scores) = match result {
        Ok(x) => x,
        Err(e) => {
            println!("RFM: {e}");
            return BTreeMap::new();
        }
    };
    let map = SegmentMap::eleven_segments();
    let segments = match map.assign(&scores) {
        Ok(s) => s,
        Err(e) => {
            println!("RFM: {e}");
            return BTreeMap::new();
        }
    };
    let mut customers = vec![0usize; map.len()];
    let mut revenue = vec![Decimal::ZERO; map.len()];
    for (row, seg) in summary.rows().iter().zip(&segments) {
        customers[seg.index()] += 1;
        revenue[seg.index()] += row.total_spend();
    }
    let total_customers = summary.len() as f64;
    let total_revenue: Decimal = revenue.iter().sum();
    println!();
    println!("== RFM segments as of {as_of} (11-segment map, 5 value-quantile bins) ==");
    println!("{:<20} {:>9} {:>7} {:>13} {:>7}", "segment", "customers", "%", "revenue", "%");
    for (i, rule) in map.rules().iter().enumerate() {
        let share = |x: Decimal| {
            if total_revenue.is_zero() {
                Decimal::ZERO
            } else {
                (x * Decimal::ONE_HUNDRED / total_revenue).round_dp(1)
            }
        };
        println!(
            "{:<20} {:>9} {:>6.1}% {:>13} {:>6}%",
            rule.name(),
            customers[i],
            100.0 * customers[i] as f64 / total_customers,
            revenue[i].round_dp(2),
            share(revenue[i]),
        );
    }
    println!("{:<20} {:>9} {:>7} {:>13}", "total", summary.len(), "", total_revenue.round_dp(2));
    let t = scores.thresholds();
    println!(
        "breaks: days since last purchase {:?}; purchase days {:?}; total spend {:?}",
        t.recency, t.frequency[0], t.monetary[0]
    );
    if !scores.warnings().is_empty() {
        println!("warnings: {:?}", scores.warnings());
    }
    summary
        .rows()
        .iter()
        .zip(&segments)
        .map(|(row, seg)| (*row.customer(), map.name(*seg).to_string()))
        .collect()
}
