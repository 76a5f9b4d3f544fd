//! Fits a CLV model to a lifetimes-style summary CSV and prints one JSON object.
//!
//! ```text
//! cargo run --release --example fit -- --model bgnbd|mbgnbd|pareto-nbd|gamma-gamma INPUT.csv
//! ```
//!
//! INPUT has a header row with lifetimes' summary columns `frequency,recency,T`, plus
//! `monetary_value` for `gamma-gamma` (which uses the rows with `frequency > 0`). Other columns
//! are ignored. The column names of the CDNOW files bundled with lifetimes (`x`, `t_x`, `zbar`)
//! are accepted as synonyms of `frequency`, `recency` and `monetary_value`.
//!
//! Output: `{"model": ..., <parameters under lifetimes' names>, "log_likelihood": ...,
//! "iterations": ..., "converged": true, "seconds": ...}`; `seconds` times the histogram
//! build and the fit (not reading the file). A fit that does not converge exits with an error.

use std::process::ExitCode;
use std::time::Instant;

use loyalty::clv::{BgNbd, Customer, FitOptions, GammaGamma, Histogram, MbgNbd, ParetoNbd};
use serde_json::{json, Map, Value};

fn main() -> ExitCode {
    match run() {
        Ok(v) => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<Value, String> {
    let mut model = None;
    let mut input = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--model" => model = args.next(),
            "-h" | "--help" => {
                return Err(
                    "usage: fit --model bgnbd|mbgnbd|pareto-nbd|gamma-gamma INPUT.csv".into()
                )
            }
            _ => input = Some(a),
        }
    }
    let model = model.ok_or("missing --model")?;
    let input = input.ok_or("missing INPUT.csv")?;
    let text = std::fs::read_to_string(&input).map_err(|e| format!("{input}: {e}"))?;
    let customers = read(&text, model == "gamma-gamma").map_err(|e| format!("{input}: {e}"))?;
    let options = FitOptions::default();
    let start = Instant::now();
    let mut out = Map::new();
    out.insert("model".into(), json!(model));
    let report = match model.as_str() {
        "bgnbd" | "mbgnbd" | "pareto-nbd" => {
            let h = Histogram::from_customers(&customers).map_err(|e| e.to_string())?;
            match model.as_str() {
                "bgnbd" => {
                    let f = BgNbd::fit(&h, &options).map_err(|e| e.to_string())?;
                    let p = f.params;
                    params(
                        &mut out,
                        &[("r", p.r()), ("alpha", p.alpha()), ("a", p.a()), ("b", p.b())],
                    );
                    f.report
                }
                "mbgnbd" => {
                    let f = MbgNbd::fit(&h, &options).map_err(|e| e.to_string())?;
                    let p = f.params;
                    params(
                        &mut out,
                        &[("r", p.r()), ("alpha", p.alpha()), ("a", p.a()), ("b", p.b())],
                    );
                    f.report
                }
                _ => {
                    let f = ParetoNbd::fit(&h, &options).map_err(|e| e.to_string())?;
                    let p = f.params;
                    params(
                        &mut out,
                        &[("r", p.r()), ("alpha", p.alpha()), ("s", p.s()), ("beta", p.beta())],
                    );
                    f.report
                }
            }
        }
        "gamma-gamma" => {
            let f = GammaGamma::fit(&customers, &options).map_err(|e| e.to_string())?;
            let p = f.params;
            params(&mut out, &[("p", p.p()), ("q", p.q()), ("v", p.v())]);
            f.report
        }
        other => return Err(format!("unknown model `{other}`")),
    };
    let seconds = start.elapsed().as_secs_f64();
    out.insert("log_likelihood".into(), json!(report.log_likelihood));
    out.insert("iterations".into(), json!(report.iterations));
    out.insert("converged".into(), json!(true));
    out.insert("seconds".into(), json!(seconds));
    Ok(Value::Object(out))
}

fn params(out: &mut Map<String, Value>, ps: &[(&str, f64)]) {
    for (k, v) in ps {
        out.insert((*k).into(), json!(v));
    }
}

/// Reads the summary columns by header name; errors name the line.
fn read(text: &str, monetary: bool) -> Result<Vec<Customer>, String> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().ok_or("empty file")?.split(',').map(str::trim).collect();
    let col = |names: &[&str]| {
        header
            .iter()
            .position(|h| names.contains(&h.trim_matches('"')))
            .ok_or(format!("missing column {}", names[0]))
    };
    let (fi, ri, ti) = (col(&["frequency", "x"])?, col(&["recency", "t_x"])?, col(&["T"])?);
    let mi = if monetary { Some(col(&["monetary_value", "zbar"])?) } else { None };
    let mut out = Vec::new();
    for (n, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(',').collect();
        let num = |i: usize| -> Result<f64, String> {
            f.get(i).and_then(|v| v.trim().parse().ok()).ok_or(format!(
                "line {}: bad number in column {}",
                n + 2,
                i + 1
            ))
        };
        let c = Customer {
            frequency: num(fi)?,
            recency: num(ri)?,
            t: num(ti)?,
            monetary_value: match mi {
                Some(i) => num(i)?,
                None => 0.0,
            },
        };
        out.push(c);
    }
    Ok(out)
}
