//! CDNOW section: predictive CLV. Summarises the calibration period (1997-01-01 to 1997-09-30,
//! 39 weeks) in weeks the way the published CDNOW summary does (same-day purchases merged,
//! weeks = days / 7, as in Fader, Hardie & Lee 2005), fits BG/NBD and Gamma-Gamma, and prints the
//! parameters and the ten customers with the highest 12-month CLV (1 % monthly discount).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use loyalty::clv::{BgNbd, ClvModel, ClvOptions, Customer, FitOptions, GammaGamma, Histogram};
use rust_decimal::prelude::ToPrimitive;

/// A simple (frequency, recency, T, monetary) weekly summary; the RFM module's summary will
/// replace it.
fn summary(log: &[super::data::Purchase], end: NaiveDate) -> Vec<(u32, Customer)> {
    let mut days: BTreeMap<u32, BTreeMap<NaiveDate, f64>> = BTreeMap::new();
    // Zero-dollar lines (free items) are not purchases for the spend model, which needs a
    // positive mean spend for every repeat buyer.
    for p in log.iter().filter(|p| p.date <= end && !p.amount.is_zero()) {
        *days.entry(p.customer).or_default().entry(p.date).or_default() +=
            p.amount.to_f64().unwrap_or(0.0);
    }
    days.into_iter()
        .filter_map(|(id, d)| {
            let first = *d.keys().next()?;
            let last = *d.keys().next_back()?;
            let x = (d.len() - 1) as f64;
            let weeks = |a: NaiveDate, b: NaiveDate| (b - a).num_days() as f64 / 7.0;
            let m = if x > 0.0 { d.values().skip(1).sum::<f64>() / x } else { 0.0 };
            let c = Customer::new(x, weeks(first, last), weeks(first, end)).ok()?;
            Some((id, c.with_monetary_value(m)))
        })
        .collect()
}

pub fn report(log: &[super::data::Purchase]) {
    println!();
    println!("== Predictive CLV (BG/NBD + Gamma-Gamma, weeks) ==");
    let Some(end) = NaiveDate::from_ymd_opt(1997, 9, 30) else { return };
    let rows = summary(log, end);
    let zero = log.iter().filter(|p| p.date <= end && p.amount.is_zero()).count();
    println!("calibration 1997-01-01..1997-09-30; {zero} zero-dollar lines left out");
    let customers: Vec<Customer> = rows.iter().map(|(_, c)| *c).collect();
    let result = (|| -> loyalty::Result<()> {
        let options = FitOptions::default();
        let bg = BgNbd::fit(&Histogram::from_customers(&customers)?, &options)?;
        let gg = GammaGamma::fit(&customers, &options)?;
        let p = bg.params;
        println!(
            "BG/NBD on {} customers: r {:.4}, alpha {:.4}, a {:.4}, b {:.4}; log-likelihood {:.2} ({} iterations)",
            bg.report.customers, p.r(), p.alpha(), p.a(), p.b(), bg.report.log_likelihood,
            bg.report.iterations
        );
        let g = gg.params;
        println!(
            "Gamma-Gamma on {} repeat buyers: p {:.4}, q {:.4}, v {:.4}; log-likelihood {:.2}",
            gg.report.customers,
            g.p(),
            g.q(),
            g.v(),
            gg.report.log_likelihood
        );
        let opts = ClvOptions::default();
        let scores = ClvModel::new(p, g, loyalty::rfm::Period::WEEK).score(&customers, &opts)?;
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by(|&i, &j| {
            scores[j].clv.total_cmp(&scores[i].clv).then(rows[i].0.cmp(&rows[j].0))
        });
        println!("Top 10 customers by 12-month CLV (1 % monthly discount):");
        println!(
            "{:>8} {:>5} {:>8} {:>6} {:>9} {:>8} {:>9} {:>10}",
            "customer", "x", "t_x", "T", "m_x", "P(alive)", "E[Y(12m)]", "CLV"
        );
        for &i in order.iter().take(10) {
            let (id, c) = rows[i];
            let s = scores[i];
            println!(
                "{:>8} {:>5} {:>8.2} {:>6.2} {:>9.2} {:>8.4} {:>9.3} {:>10.2}",
                id,
                c.frequency,
                c.recency,
                c.t,
                c.monetary_value,
                s.p_alive,
                s.expected_purchases,
                s.clv
            );
        }
        Ok(())
    })();
    if let Err(e) = result {
        println!("error: {e}");
    }
}
