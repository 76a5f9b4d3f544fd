//! Times batch CLV scoring (BG/NBD + Gamma-Gamma, 12 months, 1 % monthly, weekly model) for the
//! peer comparison: fits both models on a summary CSV, replicates its rows to N customers and
//! scores them once.
//!
//! ```text
//! cargo run --release --example clv_score -- tests/data/cdnow_customers_summary_with_transactions.csv 100000
//! ```
//!
//! With `--distinct`, every replicated customer gets its own `T` (shifted by a multiple of
//! 1e-9 periods), which defeats the scorer's reuse of shared `(x, T)` pairs: the worst case.
//!
//! Prints one JSON object: `customers`, `seconds` (scoring only), `customers_per_second` and
//! the first three CLVs.

use std::process::ExitCode;
use std::time::Instant;

use loyalty::rfm::Period;

use loyalty::clv::{BgNbd, ClvModel, ClvOptions, Customer, FitOptions, GammaGamma, Histogram};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let distinct = std::env::args().any(|a| a == "--distinct");
    let mut args = std::env::args().skip(1).filter(|a| a != "--distinct");
    let path = args.next().ok_or("usage: clv_score INPUT.csv [N]")?;
    let n: usize = args.next().map(|v| v.parse()).transpose()?.unwrap_or(100_000);
    let text = std::fs::read_to_string(&path)?;
    // `ID,x,t_x,T,zbar` (or lifetimes' frequency,recency,T,monetary_value in that order).
    let mut rows = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<f64> = line.split(',').map(str::parse).collect::<Result<_, _>>()?;
        let (x, tx, t, m) = (f[1], f[2], f[3], f[4]);
        rows.push(Customer::new(x, tx, t)?.with_monetary_value(m));
    }
    let bg = BgNbd::fit(&Histogram::from_customers(&rows)?, &FitOptions::default())?.params;
    let gg = GammaGamma::fit(&rows, &FitOptions::default())?.params;
    let mut customers: Vec<Customer> = rows.iter().cycle().take(n).copied().collect();
    if distinct {
        for (i, c) in customers.iter_mut().enumerate() {
            c.t += i as f64 * 1e-9;
        }
    }
    let start = Instant::now();
    // The summary is in weeks, so the model is: 12 months are 52.14 weeks.
    let model = ClvModel::new(bg, gg, Period::WEEK);
    let scores = model.score(&customers, &ClvOptions::default())?;
    let seconds = start.elapsed().as_secs_f64();
    let first: Vec<String> = scores.iter().take(3).map(|s| format!("{:.6}", s.clv)).collect();
    println!(
        "{{\"customers\":{n},\"seconds\":{seconds},\"customers_per_second\":{},\"first\":[{}]}}",
        n as f64 / seconds,
        first.join(",")
    );
    Ok(())
}
