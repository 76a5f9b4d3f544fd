//! `loyalty report`: the seller's report, as text on stdout and, with `--html`, one
//! self-contained HTML page with charts (inline SVG; no script, font or image fetched).

mod charts;
mod facts;
mod html;
mod programs;

use chrono::NaiveDate;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

use crate::analysis;
use crate::cli::{ClvArgs, InputArgs};
use crate::error::{Failure, Result};
use crate::validation;
pub use facts::Facts;

/// The report's options.
pub struct ReportArgs<'a> {
    /// Where the HTML page goes.
    pub html: Option<String>,
    /// Calibration end of the model check.
    pub calibration_end: Option<NaiveDate>,
    /// Gross margin share.
    pub margin: Decimal,
    /// Acquisition cost per new customer.
    pub cac: Option<Decimal>,
    /// The points program's JSON file.
    pub points_program: Option<String>,
    /// Breakage of the points liability.
    pub breakage: Decimal,
    /// The tier program's JSON file.
    pub tiers: Option<String>,
    /// The input.
    pub input: &'a InputArgs,
    /// The models.
    pub clv: &'a ClvArgs,
}

/// Money with thousands separators and two decimals (`12,345.68`), the one money format of
/// the report; half away from zero.
pub fn money(d: Decimal) -> String {
    let d = d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    let s = format!("{:.2}", d.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, "00"));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("{}{out}.{frac}", if d.is_sign_negative() && !d.is_zero() { "-" } else { "" })
}

/// [`money`] of a model value.
pub fn money_f(x: f64) -> String {
    money(Decimal::try_from(x).unwrap_or_default())
}

/// Counts with thousands separators.
pub fn count(n: impl Into<u128>) -> String {
    let s = n.into().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Computes the report's numbers.
///
/// # Errors
///
/// Reading the input, an `--as-of` before the data, the library's errors. Models that
/// cannot be fitted are not an error: their sections say why.
pub fn facts(args: &ReportArgs<'_>) -> Result<Facts> {
    let input = args.input;
    let log = crate::commands::read(input)?;
    let end = analysis::observation_end(&log, input.as_of, &input.input)?;
    let summary = analysis::summary(&log, end, input.period)?;
    if summary.is_empty() {
        return Err(Failure::new("no customer before the observation end"));
    }
    let (headline, cohorts) = facts::basics(&log, end, &summary);
    let (segments, names) = facts::segment_rows(&summary)?;
    let models =
        analysis::models(&summary, args.clv.model, args.clv.horizon_months, args.clv.discount_rate)
            .and_then(|m| {
                facts::model_facts(&log, &summary, &names, &m, args.clv.model.name(), input.period)
            })
            .map_err(|e| e.reason().to_string());
    // Two thirds of the way through by default, as a common calibration split.
    let first = headline.first;
    let cal = args.calibration_end.unwrap_or_else(|| first + (end.date() - first) * 2 / 3);
    let validation =
        validation::validate(&log, cal, end, input.as_of.is_some(), input.period, args.clv.model)
            .map_err(|e| e.reason().to_string());
    let margin = args.margin.to_f64().unwrap_or(0.0);
    if !(0.0..=1.0).contains(&margin) || args.margin <= Decimal::ZERO {
        return Err(Failure::new(format!("--margin {}: must be a share in (0, 1]", args.margin)));
    }
    let cac = args.cac.map(|c| c.to_f64().unwrap_or(0.0));
    if cac.is_some_and(|c| c <= 0.0) {
        return Err(Failure::new("--cac: must be positive"));
    }
    let economics = models.as_ref().ok().map(|mf| facts::economics(&summary, mf, margin, cac));
    let points = match &args.points_program {
        Some(path) => {
            let breakage = loyalty::Share::new(args.breakage).map_err(|_| {
                Failure::new(format!("--breakage {}: must be a share in [0, 1]", args.breakage))
            })?;
            let program = programs::read_json(path)?;
            Some(programs::points(&log, end, &program, breakage, path)?)
        }
        None => None,
    };
    let tiers = match &args.tiers {
        Some(path) => Some(programs::tiers(&log, end, &programs::read_json(path)?, path)?),
        None => None,
    };
    Ok(Facts {
        input: input.input.clone(),
        period: input.period,
        headline,
        cohorts,
        segments,
        models,
        validation,
        economics,
        points,
        tiers,
    })
}

/// `loyalty report`.
pub fn command(args: &ReportArgs<'_>) -> Result<()> {
    let f = facts(args)?;
    // The page first: a failure to write it leaves stdout empty too.
    if let Some(path) = &args.html {
        let page = html::page(&f).map_err(Failure::new)?;
        crate::output::atomic_write(path, |mut file| {
            use std::io::Write;
            file.write_all(page.as_bytes()).map_err(|e| crate::input::os_reason(&e))
        })?;
    }
    crate::output::print(&text(&f))
}

/// The text report.
pub fn text(f: &Facts) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let h = &f.headline;
    let pct = |a: f64| format!("{:.1}%", 100.0 * a);
    let share =
        |a: Decimal, b: Decimal| if b.is_zero() { 0.0 } else { (a / b).to_f64().unwrap_or(0.0) };
    let _ = writeln!(s, "Customer report: {} ({} to {})", f.input, h.first, h.end);
    let _ = writeln!(s);
    let line = |s: &mut String, k: &str, v: String| {
        let _ = writeln!(s, "  {k:<42}{v:>22}");
    };
    line(&mut s, "customers", count(h.customers));
    line(&mut s, "orders", count(h.orders));
    line(&mut s, "revenue", money(h.revenue));
    line(
        &mut s,
        "average order value",
        money(if h.orders == 0 { Decimal::ZERO } else { h.revenue / Decimal::from(h.orders) }),
    );
    line(
        &mut s,
        "customers who bought again",
        format!("{} ({})", count(h.repeaters), pct(h.repeaters as f64 / h.customers.max(1) as f64)),
    );
    line(
        &mut s,
        "revenue from repeat purchases",
        format!("{} ({})", money(h.repeat_revenue), pct(share(h.repeat_revenue, h.revenue))),
    );
    let _ = writeln!(s);
    let _ =
        writeln!(s, "RFM segments (scores are quintiles within this data: relative, not absolute)");
    let _ = writeln!(s, "  {:<20}{:>10}{:>18}  meaning", "segment", "customers", "revenue");
    for r in &f.segments {
        let _ = writeln!(
            s,
            "  {:<20}{:>10}{:>18}  {}",
            r.name,
            count(r.customers),
            money(r.revenue),
            r.meaning
        );
    }
    let _ = writeln!(s);
    match &f.models {
        Ok(m) => {
            let params: Vec<String> = m.params.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
            let _ = writeln!(
                s,
                "Predictive CLV: {} ({}), Gamma-Gamma spend; {} months, {}% monthly discount",
                m.name,
                params.join(", "),
                m.horizon_months,
                m.discount * 100.0
            );
            line(&mut s, "customers likely active (P(alive) >= 0.5)", count(m.likely_alive));
            line(
                &mut s,
                &format!("expected revenue, next {} months", m.horizon_months),
                money_f(m.horizon_revenue),
            );
            line(&mut s, "customer lifetime value, all customers", money_f(m.total_clv));
            let _ = writeln!(s);
            let _ = writeln!(s, "Top customers by CLV");
            ranked(&mut s, &m.top);
            if !m.at_risk.is_empty() {
                let _ = writeln!(s, "At-risk customers (At Risk, Cannot Lose Them) by CLV");
                ranked(&mut s, &m.at_risk);
            }
        }
        Err(e) => {
            let _ = writeln!(s, "Predictive CLV: not available ({e})");
        }
    }
    match &f.validation {
        Ok(v) => {
            let _ = writeln!(
                s,
                "Model check: fitted up to {}, holdout to {}: {} repeat purchases expected, {} made",
                v.calibration_end,
                v.observation_end,
                count(v.holdout.total_predicted.round() as u64),
                count(v.holdout.total_actual)
            );
            let _ = writeln!(
                s,
                "  per customer: mean absolute error {:.3}, root mean squared error {:.3}, \
                 correlation {}",
                v.holdout.mae,
                v.holdout.rmse,
                v.holdout.correlation.map_or("n/a".to_string(), |r| format!("{r:.3}"))
            );
        }
        Err(e) => {
            let _ = writeln!(s, "Model check: not available ({e})");
        }
    }
    if let Some(e) = &f.economics {
        let _ = writeln!(s);
        let _ = writeln!(s, "Acquisition economics (margin {})", pct(e.margin));
        line(&mut s, "first purchase, mean", money_f(e.first_purchase));
        line(&mut s, "margin of the first purchase", money_f(e.first_margin));
        line(&mut s, "margin of expected repeat purchases", money_f(e.repeat_margin));
        line(&mut s, "break-even acquisition cost", money_f(e.break_even_cac));
        if let (Some(cac), Some(ratio)) = (e.cac, e.ratio) {
            line(&mut s, "acquisition cost (CAC)", money_f(cac));
            line(&mut s, "CLV : CAC", format!("{ratio:.2}"));
            line(
                &mut s,
                "payback",
                match e.payback_months {
                    Some(1) => "1 month".to_string(),
                    Some(k) => format!("{k} months"),
                    None => "not within the horizon".to_string(),
                },
            );
        }
    }
    programs_text(&mut s, f);
    s
}

/// The points and tiers sections of the text report.
fn programs_text(s: &mut String, f: &Facts) {
    use std::fmt::Write;
    let line = |s: &mut String, k: &str, v: String| {
        let _ = writeln!(s, "  {k:<42}{v:>22}");
    };
    if let Some(p) = &f.points {
        let l = &p.liability;
        let _ = writeln!(s);
        let _ = writeln!(s, "Points liability ({}, {})", p.source, l.face_value.currency());
        line(s, "members who earned points", count(p.members));
        line(s, "points earned", count(p.earned.value()));
        line(s, "points expired", count(p.expired.value()));
        line(s, "points outstanding", count(l.outstanding.value()));
        line(s, "face value", money(l.face_value.amount()));
        line(s, "breakage", format!("{}%", l.breakage.percent().normalize()));
        line(s, "liability", money(l.liability.amount()));
    }
    if let Some(t) = &f.tiers {
        let _ = writeln!(s);
        let _ = writeln!(s, "Tiers ({}, by {})", t.source, t.metric);
        let _ = writeln!(s, "  {:<20}{:>14}{:>10}{:>18}", "tier", "from", "members", "revenue");
        for r in &t.rows {
            let from = r.threshold.map_or(String::new(), |d| d.normalize().to_string());
            let _ = writeln!(
                s,
                "  {:<20}{:>14}{:>10}{:>18}",
                r.name,
                from,
                count(r.members),
                money(r.revenue)
            );
        }
    }
}

fn ranked(s: &mut String, rows: &[facts::Ranked]) {
    use std::fmt::Write;
    let _ = writeln!(
        s,
        "  {:<14}{:<20}{:>6}{:>14}{:>10}{:>10}{:>14}",
        "customer", "segment", "x", "spend", "P(alive)", "E[purch]", "CLV"
    );
    for r in rows {
        let _ = writeln!(
            s,
            "  {:<14}{:<20}{:>6}{:>14}{:>10.3}{:>10.2}{:>14}",
            r.id,
            r.segment,
            r.frequency,
            money(r.spend),
            r.p_alive,
            r.expected,
            money_f(r.clv)
        );
    }
    let _ = writeln!(s);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_money_format() {
        assert_eq!(money(Decimal::new(123456789, 2)), "1,234,567.89");
        assert_eq!(money(Decimal::new(-5, 3)), "-0.01");
        assert_eq!(money(Decimal::ZERO), "0.00");
        assert_eq!(money(Decimal::new(999995, 3)), "1,000.00");
        assert_eq!(money_f(12.345), "12.35");
        assert_eq!(count(1234567u64), "1,234,567");
    }
}
