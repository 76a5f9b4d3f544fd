//! CDNOW section: predictive CLV, the whole path from the log to values.
//!
//! First the models earn trust: BG/NBD and Gamma-Gamma are fitted on the calibration window
//! (1997-01-01 to 1997-09-30) and their predictions compared with what customers did in the
//! holdout (to 1998-06-30): per-customer errors, the means by calibration frequency, the
//! tracking of cumulative repeat purchases and the period-transactions check. Then the models
//! are refitted on the whole log and score every customer as of its end, with lifetimes'
//! defaults (daily periods, 12 months, 1 % monthly discount), and the customers at risk are
//! ranked by the value still at stake.

use chrono::NaiveDate;
use loyalty::clv::{
    evaluate_holdout, period_transactions, predict_summary, tracking, ModelKind, PredictOptions,
    TransactionModel,
};
use loyalty::rfm::{calibration_and_holdout, summarize, SummaryOptions, Transaction};

use super::data::Purchase;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

pub fn report(log: &[Purchase]) {
    println!("== Predictive CLV (BG/NBD + Gamma-Gamma, daily, lifetimes' defaults) ==");
    let txs: Vec<Transaction<u32>> =
        log.iter().map(|p| Transaction::on(p.customer, p.date, p.amount)).collect();
    if let Err(e) = holdout(&txs) {
        println!("holdout check: {e}");
    }
    println!();
    if let Err(e) = scores(&txs) {
        println!("scores: {e}");
    }
}

/// Calibration to 1997-09-30, holdout to 1998-06-30.
fn holdout(txs: &[Transaction<u32>]) -> loyalty::Result<()> {
    let (cal_end, end) = (date(1997, 9, 30), date(1998, 6, 30));
    let options = PredictOptions::default();
    let calibration = summarize(txs, cal_end, SummaryOptions::default())?;
    let fitted = predict_summary(&calibration, &options)?;
    let split = calibration_and_holdout(txs, cal_end, end, SummaryOptions::default())?;
    let eval = evaluate_holdout(&fitted.model, &split)?;
    println!(
        "Holdout check: fitted on {} customers to {cal_end}, predicting {} days to {end}",
        eval.customers.len(),
        split.duration_holdout.count()
    );
    println!(
        "  repeat purchases in the holdout: actual {}, predicted {:.1} ({:+.1} %)",
        eval.total_actual,
        eval.total_predicted,
        100.0 * (eval.total_predicted / eval.total_actual as f64 - 1.0)
    );
    println!(
        "  per customer: MAE {:.3}, RMSE {:.3}, correlation {}",
        eval.mae,
        eval.rmse,
        eval.correlation.map_or("n/a".to_string(), |r| format!("{r:.3}"))
    );
    println!("  {:>22} {:>9} {:>8} {:>9}", "calibration purchases", "customers", "actual", "model");
    for g in eval.by_frequency.iter().take(7) {
        println!(
            "  {:>22} {:>9} {:>8.3} {:>9.3}",
            g.calibration_frequency, g.customers, g.actual, g.predicted
        );
    }
    let points = tracking(&fitted.model, txs, end)?;
    println!("  cumulative repeat purchases (tracking):");
    for p in points.iter().filter(|p| {
        let d = p.period_start.date();
        d == cal_end || d == end || d == date(1997, 6, 30) || d == date(1998, 1, 31)
    }) {
        println!(
            "    by {}: actual {:>6}, model {:>8.1}",
            p.period_start.date(),
            p.actual_cumulative,
            p.expected_cumulative
        );
    }
    let bins = period_transactions(&fitted.model, &calibration, 6)?;
    let line = |f: &dyn Fn(&loyalty::clv::RepeatCount) -> String| {
        bins.iter().map(f).collect::<Vec<_>>().join(" ")
    };
    println!("  customers by repeat purchases in calibration (0 1 2 3 4 5 6+):");
    println!("    actual {}", line(&|b| format!("{:>6}", b.actual)));
    println!("    model  {}", line(&|b| format!("{:>6.0}", b.expected)));
    Ok(())
}

/// Scores as of the end of the log and the customers at risk.
fn scores(txs: &[Transaction<u32>]) -> loyalty::Result<()> {
    let end = date(1998, 6, 30);
    let summary = summarize(txs, end, SummaryOptions::default())?;
    let p = predict_summary(&summary, &PredictOptions::default())?;
    if let TransactionModel::BgNbd(bg) = p.model.purchases() {
        println!(
            "BG/NBD on {} customers to {end}: r {:.4}, alpha {:.3}, a {:.4}, b {:.4} \
             (log-likelihood {:.1})",
            p.purchase_fit.customers,
            bg.r(),
            bg.alpha(),
            bg.a(),
            bg.b(),
            p.purchase_fit.log_likelihood
        );
    }
    let g = p.model.spend();
    println!(
        "Gamma-Gamma on {} repeat buyers: p {:.3}, q {:.3}, v {:.3}; mean spend {:.2}",
        p.spend_fit.customers,
        g.p(),
        g.q(),
        g.v(),
        g.mean_spend()
    );
    let total: f64 = p.rows.iter().map(|r| r.clv).sum();
    let expected: f64 = p.rows.iter().map(|r| r.expected_purchases).sum();
    println!(
        "Next 12 months: {expected:.0} purchases expected, {total:.0} dollars of discounted value"
    );
    // At risk: repeat buyers the model thinks more likely gone than not, ranked by the value
    // still expected from them.
    let rows = summary.rows();
    let mut at_risk: Vec<usize> =
        (0..rows.len()).filter(|&i| rows[i].frequency() > 0 && p.rows[i].p_alive < 0.5).collect();
    at_risk.sort_by(|&i, &j| p.rows[j].clv.total_cmp(&p.rows[i].clv));
    let stake: f64 = at_risk.iter().map(|&i| p.rows[i].clv).sum();
    println!(
        "At risk (repeat buyers with P(alive) < 0.5): {} customers, {stake:.0} dollars of CLV; \
         the ten with most at stake:",
        at_risk.len()
    );
    println!(
        "{:>8} {:>5} {:>8} {:>6} {:>9} {:>8} {:>9} {:>8}",
        "customer", "x", "t_x", "T", "m_x", "P(alive)", "E[Y(12m)]", "CLV"
    );
    for &i in at_risk.iter().take(10) {
        let (s, r) = (&rows[i], &p.rows[i]);
        println!(
            "{:>8} {:>5} {:>8} {:>6} {:>9.2} {:>8.3} {:>9.3} {:>8.2}",
            r.customer,
            s.frequency(),
            s.recency(),
            s.t(),
            s.monetary_value(),
            r.p_alive,
            r.expected_purchases,
            r.clv
        );
    }
    // BG/NBD cannot call a one-time buyer gone; MBG/NBD can.
    let once: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].frequency() == 0).collect();
    let mbg = predict_summary(&summary, &PredictOptions::default().with_model(ModelKind::MbgNbd))?;
    let mean = |rows: &[loyalty::clv::PredictionRow<u32>]| {
        once.iter().map(|&i| rows[i].p_alive).sum::<f64>() / once.len().max(1) as f64
    };
    println!(
        "{} one-time buyers: mean P(alive) {:.3} under BG/NBD (1 by construction), {:.3} under \
         MBG/NBD",
        once.len(),
        mean(&p.rows),
        mean(&mbg.rows)
    );
    Ok(())
}
