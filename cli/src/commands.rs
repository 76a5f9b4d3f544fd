//! `summary`, `score` and `fit`: per-customer tables and model fits.

use loyalty::clv::{self, FitReport, FitStatus, Method, TransactionModel};
use rust_decimal::prelude::ToPrimitive;
use serde_json::{json, Map, Value};

use crate::analysis::{self, ModelArg};
use crate::cli::{ClvArgs, FitModel, InputArgs, OutputArgs};
use crate::error::{Failure, Result};
use crate::ids::IdBook;
use crate::input::{self, Log};
use crate::output::{self, Cells, Table, Values};

/// Reads the log of `args`.
pub fn read(args: &InputArgs) -> Result<Log> {
    input::read(&args.input, &args.read_options())
}

/// The summary columns of lifetimes' `summary_data_from_transaction_data`.
///
/// Every column is computed from the summary's rows as it is written: the ids are written
/// through their book (no string per row) and the monetary values (a `Decimal` division
/// each) are worked out on every core in the writer's pass. Stored first, the columns of
/// 400,000 customers took about as long to build as to write.
fn summary_table<'a>(
    ids: &'a IdBook,
    summary: &'a loyalty::rfm::Summary<crate::ids::Id>,
) -> Table<'a> {
    let rows = summary.rows();
    let n = rows.len();
    let mut t = Table::default();
    t.push(
        "customer_id",
        Values::Ids { keys: Cells::computed(n, |i| *rows[i].customer()), book: ids },
    );
    t.push("frequency", Values::Count(Cells::computed(n, |i| rows[i].frequency())));
    t.push("recency", Values::Real(Cells::computed(n, |i| Some(rows[i].recency()))));
    t.push("T", Values::Real(Cells::computed(n, |i| Some(rows[i].t()))));
    t.push("monetary_value", Values::Exact(Cells::computed(n, |i| rows[i].monetary_value())));
    t
}

fn note(quiet: bool, summary: &loyalty::rfm::Summary<crate::ids::Id>) {
    if !quiet && summary.excluded_after_as_of() > 0 {
        crate::output::note(format_args!(
            "note: {} transactions after {} left out",
            summary.excluded_after_as_of(),
            summary.as_of().date()
        ));
    }
}

/// `loyalty summary`: straight from the file into the library's stream when the file allows
/// (a plain CSV with each customer's purchases in time order, see [`input::summary_streamed`]),
/// otherwise from the log read whole.
pub fn summary(input: &InputArgs, out: &OutputArgs) -> Result<()> {
    let options = loyalty::rfm::SummaryOptions::default().period(input.period.period());
    let as_of = input.as_of.map(chrono::NaiveDateTime::from);
    if let Some(s) = input::summary_streamed(&input.input, &input.read_options(), (as_of, options))
    {
        // An as-of before the first purchase is an error, which the whole read reports.
        if input.as_of.is_none_or(|d| d >= s.first.date()) {
            note(input.quiet, &s.summary);
            return output::write(&summary_table(&s.ids, &s.summary), &out.destination());
        }
    }
    let log = read(input)?;
    let end = analysis::observation_end(&log, input.as_of, &input.input)?;
    let s = analysis::summary(&log, end, input.period)?;
    note(input.quiet, &s);
    // The transactions go before the output's columns are built: the peak memory is the
    // log's or the output's, not both.
    let Log { transactions, ids, .. } = log;
    drop(transactions);
    let table = summary_table(&ids, &s);
    output::write(&table, &out.destination())
}

/// `loyalty score`.
pub fn score(input: &InputArgs, clv_args: &ClvArgs, out: &OutputArgs) -> Result<()> {
    let log = read(input)?;
    let end = analysis::observation_end(&log, input.as_of, &input.input)?;
    let s = analysis::summary(&log, end, input.period)?;
    note(input.quiet, &s);
    let mut t = summary_table(&log.ids, &s);
    let (scores, ids, map) = analysis::segments(&s)?;
    t.push("r_score", Values::Count(scores.iter().map(|s| u32::from(s.r())).collect()));
    t.push("f_score", Values::Count(scores.iter().map(|s| u32::from(s.f())).collect()));
    t.push("m_score", Values::Count(scores.iter().map(|s| u32::from(s.m())).collect()));
    t.push("segment", Values::Text(ids.iter().map(|&i| map.name(i).to_string()).collect()));
    let n = s.len();
    // The RFM columns stand without the models: when they cannot be fitted (nobody bought
    // twice, no maximum of the likelihood) the model columns are empty and stderr says why.
    let m = analysis::models(&s, clv_args.model, clv_args.horizon_months, clv_args.discount_rate);
    let col = |f: &dyn Fn(usize) -> f64| -> Values {
        Values::Real(match &m {
            Ok(_) => (0..n).map(|i| Some(f(i))).collect(),
            Err(_) => vec![None; n].into(),
        })
    };
    match &m {
        Ok(m) => {
            if m.stand_ins > 0 && !input.quiet {
                crate::output::note(format_args!(
                    "note: {} repeat buyers with no positive repeat spend valued at the mean spend {:.2}",
                    m.stand_ins,
                    m.spend.mean_spend()
                ));
            }
        }
        Err(e) => {
            crate::output::note(format_args!("warning: model columns left empty: {}", e.reason()))
        }
    }
    let get =
        |f: fn(&analysis::Models, usize) -> f64| col(&|i| m.as_ref().map_or(0.0, |m| f(m, i)));
    t.push("p_alive", get(|m, i| m.scores[i].p_alive));
    t.push("expected_purchases", get(|m, i| m.scores[i].expected_purchases));
    t.push("expected_spend", get(|m, i| m.expected_spend[i]));
    t.push("clv", get(|m, i| m.scores[i].clv));
    output::write(&t, &out.destination())
}

/// Parameter names (lifetimes') of a purchase model, with their values.
pub fn params(model: &TransactionModel) -> Vec<(&'static str, f64)> {
    match model {
        TransactionModel::BgNbd(p) => {
            vec![("r", p.r()), ("alpha", p.alpha()), ("a", p.a()), ("b", p.b())]
        }
        TransactionModel::MbgNbd(p) => {
            vec![("r", p.r()), ("alpha", p.alpha()), ("a", p.a()), ("b", p.b())]
        }
        TransactionModel::ParetoNbd(p) => {
            vec![("r", p.r()), ("alpha", p.alpha()), ("s", p.s()), ("beta", p.beta())]
        }
        _ => Vec::new(),
    }
}

/// A fit as JSON.
pub fn fit_json(model: &str, params: &[(&str, f64)], report: &FitReport) -> Value {
    let mut p = Map::new();
    let mut se = Map::new();
    for (i, (name, v)) in params.iter().enumerate() {
        p.insert((*name).to_string(), json!(v));
        se.insert(
            (*name).to_string(),
            report.standard_errors.get(i).map_or(Value::Null, |s| json!(s)),
        );
    }
    let method = match report.method {
        Method::Newton => "newton",
        Method::Bfgs => "bfgs",
        Method::NelderMead => "nelder-mead",
        _ => "other",
    };
    // The optimiser converged either way; `status` says whether at an interior optimum or at
    // the boundary of the parameter space, where the standard errors are null.
    let (status, boundary): (&str, &[String]) = match &report.status {
        FitStatus::Converged => ("converged", &[]),
        FitStatus::AtBoundary { parameters } => ("boundary", parameters),
        _ => ("other", &[]),
    };
    json!({
        "model": model,
        "params": p,
        "standard_errors": se,
        "log_likelihood": report.log_likelihood,
        "iterations": report.iterations,
        "method": method,
        "converged": true,
        "status": status,
        "boundary_parameters": boundary,
        "customers": report.customers,
    })
}

/// `loyalty fit`; with `repeat` above 1 the fit runs that many times and `seconds` is the
/// fastest.
pub fn fit(model: FitModel, summary_input: bool, repeat: u32, input: &InputArgs) -> Result<()> {
    // The lines of a summary file's rows: a row the models refuse is reported at its line.
    let (customers, lines) = if summary_input {
        let s = read_summary(input)?;
        (s.customers, Some(s.lines))
    } else {
        let log = read(input)?;
        let end = analysis::observation_end(&log, input.as_of, &input.input)?;
        let s = analysis::summary(&log, end, input.period)?;
        note(input.quiet, &s);
        (analysis::customers(&s), None)
    };
    // The spend model's rows, chosen before the clock starts, as the peer script hands
    // lifetimes its repeat buyers.
    let (customers, chosen) = match model {
        FitModel::GammaGamma => {
            let chosen = analysis::spender_indices(&customers);
            (chosen.iter().map(|&i| customers[i]).collect(), Some(chosen))
        }
        _ => (customers, None),
    };
    let located = |f: Failure| match (&lines, &chosen) {
        (Some(lines), Some(chosen)) => {
            f.reindex(|i| chosen.get(i).copied()).at_rows(&input.input, lines)
        }
        (Some(lines), None) => f.at_rows(&input.input, lines),
        (None, _) => f,
    };
    let mut best: Option<(f64, Fitted)> = None;
    for _ in 0..repeat.max(1) {
        // The fit alone, without reading the file: for the peer comparison of fit times.
        let start = std::time::Instant::now();
        let fitted = fit_once(model, &customers).map_err(located)?;
        let seconds = start.elapsed().as_secs_f64();
        if best.as_ref().is_none_or(|(s, _)| seconds < *s) {
            best = Some((seconds, fitted));
        }
    }
    let Some((seconds, Fitted { mut json, boundary })) = best else {
        return Err(Failure::new("no fit was run"));
    };
    // The JSON is the fit as found; stderr says in words that it is not an estimate to use.
    if let Some(e) = boundary {
        crate::output::note(format_args!("warning: {e} (standard errors null)"));
    }
    json["seconds"] = json!(seconds);
    output::print(&format!("{json}\n"))
}

/// A fit as JSON, with the library's error for a fit at the boundary of the parameter space.
struct Fitted {
    json: Value,
    boundary: Option<loyalty::Error>,
}

/// One fit of `model` on `customers` (for the spend model, those of [`analysis::spender_indices`]), as
/// JSON.
fn fit_once(model: FitModel, customers: &[clv::Customer]) -> Result<Fitted> {
    Ok(match model {
        FitModel::GammaGamma => {
            let f = analysis::fit_spenders(customers)?;
            let p = f.params;
            Fitted {
                json: fit_json(
                    "gamma-gamma",
                    &[("p", p.p()), ("q", p.q()), ("v", p.v())],
                    &f.report,
                ),
                boundary: f.report.ensure_interior("gamma-gamma").err(),
            }
        }
        m => {
            let (arg, name) = match m {
                FitModel::Bgnbd => (ModelArg::Bgnbd, "bgnbd"),
                FitModel::Mbgnbd => (ModelArg::Mbgnbd, "mbgnbd"),
                _ => (ModelArg::ParetoNbd, "pareto-nbd"),
            };
            let (model, report) = analysis::fit_model(arg, customers)?;
            Fitted {
                json: fit_json(name, &params(&model), &report),
                boundary: report.ensure_interior(arg.key()).err(),
            }
        }
    })
}

/// A per-customer summary read from a file.
struct SummaryInput {
    /// Customer ids (the row number when the file has none).
    ids: Vec<String>,
    /// The models' inputs, one per row.
    customers: Vec<clv::Customer>,
    /// Each row's line (text formats) or row (Parquet, Arrow), for the errors the models
    /// find in a row.
    lines: Vec<u64>,
}

/// A per-customer summary: columns `frequency`, `recency`, `T` and (optional)
/// `monetary_value` and `customer_id`, or CDNOW's `x`, `t_x`, `T`, `zbar` and `ID`; in the
/// format of `--input-format` or the file's extension, as a log is.
fn read_summary(input: &InputArgs) -> Result<SummaryInput> {
    use crate::input::summaries::{self, Wanted};
    let path = input.input.as_str();
    let meta = std::fs::metadata(path).map_err(|e| Failure::in_file(path, input::os_reason(&e)))?;
    if meta.is_dir() {
        return Err(Failure::in_file(path, "is a directory, not a file"));
    }
    let format = input.input_format.unwrap_or_else(|| input::InputFormat::from_path(path));
    let wanted = [
        Wanted { names: &["frequency", "x"], required: true },
        Wanted { names: &["recency", "t_x"], required: true },
        Wanted { names: &["T"], required: true },
        Wanted { names: &["monetary_value", "zbar"], required: false },
        Wanted { names: &["customer_id", "ID", "id"], required: false },
    ];
    let period = input.period.period();
    let mut out = SummaryInput { ids: Vec::new(), customers: Vec::new(), lines: Vec::new() };
    summaries::read(path, format, &wanted, &mut |line, cells| {
        let num = |(name, v): (&str, Option<&str>)| -> Result<f64> {
            let v = v.unwrap_or("");
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| Failure::at(path, line, name, v, "not a number"))
        };
        let c = clv::Customer::new(num(cells[0])?, num(cells[1])?, num(cells[2])?, period)
            .map_err(|e| Failure::at_line(path, line, e.to_string()))?;
        let c = match cells[3] {
            (_, None) => c,
            m => c.with_monetary_value(num(m)?),
        };
        out.customers.push(c);
        out.lines.push(line);
        out.ids.push(match cells[4] {
            (_, Some(id)) => id.trim().to_string(),
            (_, None) => out.customers.len().to_string(),
        });
        Ok(())
    })?;
    if out.customers.is_empty() {
        return Err(Failure::in_file(path, "no customers: the file has a header only"));
    }
    Ok(out)
}

/// Money as `f64` for charts and model arithmetic.
pub fn to_f64(d: rust_decimal::Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

/// `loyalty score --summary-input`: the model columns for a summary read from a file.
pub fn score_summary(input: &InputArgs, clv_args: &ClvArgs, out: &OutputArgs) -> Result<()> {
    let SummaryInput { ids, customers, lines } = read_summary(input)?;
    let mut t = Table::default();
    t.push("customer_id", Values::Text(ids));
    t.push("frequency", Values::Real(customers.iter().map(|c| Some(c.frequency)).collect()));
    t.push("recency", Values::Real(customers.iter().map(|c| Some(c.recency)).collect()));
    t.push("T", Values::Real(customers.iter().map(|c| Some(c.t)).collect()));
    t.push(
        "monetary_value",
        Values::Real(customers.iter().map(|c| Some(c.monetary_value)).collect()),
    );
    let m = analysis::models_of(
        customers,
        clv_args.model,
        clv_args.horizon_months,
        clv_args.discount_rate,
    )
    .map_err(|f| f.at_rows(&input.input, &lines))?;
    t.push("p_alive", Values::Real(m.scores.iter().map(|s| Some(s.p_alive)).collect()));
    t.push(
        "expected_purchases",
        Values::Real(m.scores.iter().map(|s| Some(s.expected_purchases)).collect()),
    );
    t.push("expected_spend", Values::Real(m.expected_spend.iter().map(|&s| Some(s)).collect()));
    t.push("clv", Values::Real(m.scores.iter().map(|s| Some(s.clv)).collect()));
    output::write(&t, &out.destination())
}
