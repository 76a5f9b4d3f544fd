//! The report as one self-contained HTML page: inline CSS and SVG, no script, no external
//! font or image, readable printed. Each chart is followed by the table of the numbers it
//! plots (folded), which also lets tests check the plotted values.

use std::fmt::Write;

use rust_decimal::prelude::ToPrimitive;

use super::charts;
use super::facts::Facts;
use super::{count, money, money_f};
use crate::validation::Validation;

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;\
max-width:980px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}\
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #1f77b4;padding-bottom:.2em;\
margin-top:2em}.sub{color:#666;margin-top:0}.cards{display:flex;flex-wrap:wrap;gap:.8em}\
.card{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;min-width:170px}\
.card b{display:block;font-size:1.35em}.card span{color:#666;font-size:.9em}\
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}th,td{padding:.25em .6em;\
border-bottom:1px solid #eee;text-align:right}th:first-child,td:first-child,td.l{text-align:left}\
figure{margin:1em 0}figcaption{color:#555;font-size:.9em}details{margin:.3em 0 1em}\
summary{cursor:pointer;color:#1f77b4}.note{color:#555;font-size:.92em}\
svg{max-width:100%;height:auto}@media print{details{display:none}h2{page-break-after:avoid}\
figure{page-break-inside:avoid}}";

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A chart with its caption and the table of its numbers.
fn figure(
    out: &mut String,
    id: &str,
    svg: Result<String, String>,
    caption: &str,
    header: &[&str],
    rows: &[Vec<String>],
) {
    let _ = write!(out, "<figure data-chart=\"{id}\">");
    match svg {
        // The SVG's XML declaration is not allowed inside HTML.
        Ok(svg) => out.push_str(
            svg.trim_start_matches(|c| c != '<').split_once("?>").map_or(svg.as_str(), |(_, s)| s),
        ),
        Err(e) => {
            let _ = write!(out, "<p class=\"note\">chart not drawn: {}</p>", esc(&e));
        }
    }
    let _ = write!(out, "<figcaption>{}</figcaption></figure>", esc(caption));
    let _ = write!(
        out,
        "<details><summary>numbers</summary><table class=\"data\" data-chart=\"{id}\"><tr>"
    );
    for h in header {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr>");
    for r in rows {
        out.push_str("<tr>");
        for (i, c) in r.iter().enumerate() {
            let cls = if i == 0 { " class=\"l\"" } else { "" };
            let _ = write!(out, "<td{cls}>{}</td>", esc(c));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table></details>");
}

/// The page.
///
/// # Errors
///
/// None in practice: a chart that cannot be drawn is replaced by a note.
pub fn page(f: &Facts) -> Result<String, String> {
    let mut o = String::new();
    let h = &f.headline;
    let _ = write!(
        o,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>Customer report: {}</title><style>{STYLE}</style></head><body>",
        esc(&f.input)
    );
    let _ = write!(o, "<h1>Customer report</h1><p class=\"sub\">{} &middot; {} to {} &middot; periods of one {}</p>", esc(&f.input), h.first, h.end, f.period.name());

    // Headline.
    let pct = |a: f64| format!("{:.1}%", 100.0 * a);
    let aov = if h.orders == 0 {
        rust_decimal::Decimal::ZERO
    } else {
        h.revenue / rust_decimal::Decimal::from(h.orders)
    };
    let repeat_share = if h.revenue.is_zero() {
        0.0
    } else {
        (h.repeat_revenue / h.revenue).to_f64().unwrap_or(0.0)
    };
    let mut cards = vec![
        ("customers", count(h.customers)),
        ("orders", count(h.orders)),
        ("revenue", money(h.revenue)),
        ("average order value", money(aov)),
        ("bought again", pct(h.repeaters as f64 / h.customers.max(1) as f64)),
        ("revenue from repeat purchases", pct(repeat_share)),
    ];
    if let Ok(m) = &f.models {
        cards.push(("likely still active", count(m.likely_alive)));
        cards.push((
            if m.horizon_months == 12 {
                "expected revenue, next 12 months"
            } else {
                "expected revenue, horizon"
            },
            money_f(m.horizon_revenue),
        ));
    }
    o.push_str("<h2>Headline</h2><div class=\"cards\" id=\"headline\">");
    for (k, v) in &cards {
        let _ = write!(o, "<div class=\"card\"><b>{}</b><span>{}</span></div>", esc(v), esc(k));
    }
    o.push_str("</div>");

    // Cohorts.
    o.push_str("<h2>Who came back</h2><p>Customers grouped by the month of their first purchase; each row shows the share of the group who bought in each later month.</p>");
    let months = f.cohorts.iter().map(|c| c.active.len()).max().unwrap_or(0);
    let values: Vec<Vec<f64>> = f
        .cohorts
        .iter()
        .rev()
        .map(|c| {
            // Month 0 is everyone: leave it out so later months get the colour range.
            let mut v: Vec<f64> = c.active.iter().skip(1).copied().collect();
            v.resize(months.saturating_sub(1), 0.0);
            v
        })
        .collect();
    let labels: Vec<String> =
        f.cohorts.iter().rev().map(|c| c.month.format("%Y-%m").to_string()).collect();
    let pct_label = |v: f64| format!("{:.0}", 100.0 * v);
    let svg = charts::heat(
        &values,
        &|c| (c + 1).to_string(),
        &|r| labels.get(r).cloned().unwrap_or_default(),
        "months after the first purchase",
        "first purchase month",
        (months <= 24).then_some(&pct_label as &dyn Fn(f64) -> String),
    );
    let rows: Vec<Vec<String>> = f
        .cohorts
        .iter()
        .map(|c| {
            let mut r =
                vec![c.month.format("%Y-%m").to_string(), count(c.size), pct(c.bought_again)];
            r.extend(c.active.iter().skip(1).take(12).map(|&a| pct(a)));
            r
        })
        .collect();
    let mut header = vec!["first purchase", "customers", "bought again"];
    let month_names: Vec<String> = (1..=12).map(|k| format!("month {k}")).collect();
    header.extend(month_names.iter().map(String::as_str).take(months.saturating_sub(1)));
    figure(
        &mut o,
        "cohorts",
        svg,
        "Share of each first-purchase month's customers who bought again k months later (%)",
        &header,
        &rows,
    );

    // Segments.
    o.push_str("<h2>RFM segments</h2><p>Each customer gets a score from 1 to 5 for recency, frequency and monetary value: the quintile of this data they fall in. Scores are <b>relative</b>: a 5 means among the best fifth of these customers, not a fixed threshold.</p>");
    let names: Vec<String> = f.segments.iter().map(|s| s.name.clone()).collect();
    let counts: Vec<f64> = f.segments.iter().map(|s| s.customers as f64).collect();
    let svg = charts::bars(&names, &[("customers", &counts)], "customers");
    let total: f64 = counts.iter().sum::<f64>().max(1.0);
    let rows: Vec<Vec<String>> = f
        .segments
        .iter()
        .map(|s| {
            vec![
                s.name.clone(),
                count(s.customers),
                pct(s.customers as f64 / total),
                money(s.revenue),
                s.meaning.to_string(),
            ]
        })
        .collect();
    figure(
        &mut o,
        "segments",
        svg,
        "Customers per segment",
        &["segment", "customers", "share", "revenue", "meaning"],
        &rows,
    );
    o.push_str("<table><tr><th>segment</th><th>what it means</th></tr>");
    for s in &f.segments {
        let _ =
            write!(o, "<tr><td>{}</td><td class=\"l\">{}</td></tr>", esc(&s.name), esc(s.meaning));
    }
    o.push_str("</table>");

    // Model check.
    o.push_str("<h2>Does the model predict well?</h2>");
    match &f.validation {
        Ok(v) => validation(&mut o, v),
        Err(e) => {
            let _ = write!(o, "<p class=\"note\">Not available: {}.</p>", esc(e));
        }
    }

    // Models.
    o.push_str("<h2>Who is still a customer, and what are they worth?</h2>");
    match &f.models {
        Ok(m) => {
            let params: Vec<String> =
                m.params.iter().map(|(k, v)| format!("{k} = {v:.4}")).collect();
            let _ = write!(o, "<p>{} ({}) for purchases and Gamma-Gamma (p = {:.3}, q = {:.3}, v = {:.3}) for spend; value over {} months discounted at {}% a month.</p>", m.name, params.join(", "), m.spend_params[0], m.spend_params[1], m.spend_params[2], m.horizon_months, m.discount * 100.0);
            let unit = f.period.name();
            let caption = format!("Probability a customer is still active, by repeat purchases and recency, for a customer first seen {:.0} {unit}s ago", m.grid_t);
            let x = format!("recency ({unit}s from first to last purchase)");
            matrix(&mut o, "p-alive", &m.p_alive, &m.recency_grid, &x, &caption);
            let x = format!("recency ({unit}s)");
            let caption = "Expected purchases in the next month, same grid";
            matrix(&mut o, "expected-purchases", &m.next_month, &m.recency_grid, &x, caption);
            let labels: Vec<String> = m.clv_bins.iter().map(|(e, _)| format!("≤{e:.0}")).collect();
            let counts: Vec<f64> = m.clv_bins.iter().map(|(_, n)| *n as f64).collect();
            let svg = charts::bars(&labels, &[("customers", &counts)], "customers");
            let rows: Vec<Vec<String>> =
                m.clv_bins.iter().map(|(e, n)| vec![format!("{e:.2}"), count(*n)]).collect();
            figure(
                &mut o,
                "clv",
                svg,
                "Customers by lifetime value (the last bar holds the top 1%)",
                &["CLV up to", "customers"],
                &rows,
            );
            let _ = write!(o, "<div class=\"cards\"><div class=\"card\"><b>{}</b><span>expected revenue over the next {} months</span></div><div class=\"card\"><b>{}</b><span>lifetime value of all customers (discounted)</span></div></div>", money_f(m.horizon_revenue), m.horizon_months, money_f(m.total_clv));
            ranked(&mut o, "Top customers by lifetime value", "top", &m.top);
            if m.at_risk.is_empty() {
                o.push_str("<p class=\"note\">No customer in the At Risk or Cannot Lose Them segments.</p>");
            } else {
                ranked(&mut o, "At-risk customers worth winning back (At Risk, Cannot Lose Them), by lifetime value", "at-risk", &m.at_risk);
            }
        }
        Err(e) => {
            let _ = write!(o, "<p class=\"note\">The models could not be fitted: {}.</p>", esc(e));
        }
    }

    // Economics.
    o.push_str("<h2>What can a new customer cost?</h2>");
    match &f.economics {
        Some(e) => {
            let _ = write!(o, "<p>At a gross margin of {}, a new customer brings the margin of a first purchase ({} on a mean first purchase of {}) in the first month, then the margin of the repeat purchases the model expects ({} over the horizon, discounted). Acquiring a customer for less than their sum, <b>{}</b>, pays.</p>", pct(e.margin), money_f(e.first_margin), money_f(e.first_purchase), money_f(e.repeat_margin), money_f(e.break_even_cac));
            o.push_str("<table id=\"economics\">");
            let mut row = |k: &str, v: String| {
                let _ = write!(o, "<tr><td>{}</td><td>{}</td></tr>", esc(k), esc(&v));
            };
            row("margin of the first purchase", money_f(e.first_margin));
            row("margin of expected repeat purchases", money_f(e.repeat_margin));
            row("break-even acquisition cost", money_f(e.break_even_cac));
            if let (Some(cac), Some(ratio)) = (e.cac, e.ratio) {
                row("acquisition cost (CAC)", money_f(cac));
                row("lifetime margin : CAC", format!("{ratio:.2}"));
                row(
                    "payback (first purchase's margin counted in month 1)",
                    match e.payback_months {
                        Some(1) => "1 month".to_string(),
                        Some(k) => format!("{k} months"),
                        None => "not within the horizon".to_string(),
                    },
                );
            }
            o.push_str("</table>");
            if e.cac.is_none() {
                o.push_str("<p class=\"note\">Give <code>--cac</code> for the ratio and the payback time.</p>");
            }
        }
        None => o.push_str("<p class=\"note\">Needs the models, which could not be fitted.</p>"),
    }
    programs(&mut o, f);
    o.push_str("</body></html>\n");
    Ok(o)
}

/// Points liability and tiers, or what they need.
fn programs(o: &mut String, f: &Facts) {
    o.push_str("<h2>Points and tiers</h2>");
    match &f.points {
        Some(p) => {
            let l = &p.liability;
            let _ = write!(o, "<p>Every purchase earned the points of the program in <code>{}</code>; a purchase log records no redemptions, so every point not expired by {} is outstanding, valued at the program's redemption rate less {}% breakage.</p>", esc(&p.source), f.headline.end, l.breakage.percent().normalize());
            o.push_str("<table id=\"points\">");
            let mut row = |k: &str, v: String| {
                let _ = write!(o, "<tr><td>{}</td><td>{}</td></tr>", esc(k), esc(&v));
            };
            row("members who earned points", count(p.members));
            row("points earned", count(p.earned.value()));
            row("points expired", count(p.expired.value()));
            row("points outstanding", count(l.outstanding.value()));
            row("face value", format!("{} {}", money(l.face_value.amount()), l.face_value.currency()));
            row("liability", format!("{} {}", money(l.liability.amount()), l.liability.currency()));
            if p.without_points > 0 {
                row("purchases that earned no points", count(p.without_points));
            }
            o.push_str("</table>");
        }
        None => o.push_str("<p class=\"note\">Give <code>--points-program FILE</code> (the points program as JSON) for the points every purchase earned and their liability.</p>"),
    }
    match &f.tiers {
        Some(t) => {
            let _ = write!(o, "<p>Members by tier at {} under the tier program in <code>{}</code> (by {}), each customer's purchases replayed from their first.</p>", f.headline.end, esc(&t.source), t.metric);
            let names: Vec<String> = t.rows.iter().map(|r| r.name.clone()).collect();
            let members: Vec<f64> = t.rows.iter().map(|r| r.members as f64).collect();
            let svg = charts::bars(&names, &[("members", &members)], "members");
            let rows: Vec<Vec<String>> = t
                .rows
                .iter()
                .map(|r| {
                    vec![
                        r.name.clone(),
                        r.threshold.map_or(String::new(), |d| d.normalize().to_string()),
                        count(r.members),
                        money(r.revenue),
                    ]
                })
                .collect();
            figure(o, "tiers", svg, "Members per tier", &["tier", "from", "members", "revenue"], &rows);
        }
        None => o.push_str("<p class=\"note\">Give <code>--tiers FILE</code> (the tier program as JSON) for members per tier.</p>"),
    }
}

/// A heat map of `values[repeat purchases][recency column]` with its table.
fn matrix(o: &mut String, id: &str, values: &[Vec<f64>], grid: &[f64], x: &str, caption: &str) {
    let col = |c: usize| grid.get(c).map(|r| format!("{r:.0}")).unwrap_or_default();
    let row = |r: usize| r.to_string();
    let two = |v: f64| format!("{v:.2}");
    let svg = charts::heat(values, &col, &row, x, "repeat purchases", Some(&two));
    let rows: Vec<Vec<String>> = values
        .iter()
        .enumerate()
        .map(|(f, r)| {
            std::iter::once(f.to_string()).chain(r.iter().map(|v| format!("{v:.4}"))).collect()
        })
        .collect();
    let header: Vec<String> = std::iter::once("repeat purchases \\ recency".to_string())
        .chain(grid.iter().map(|r| format!("{r:.1}")))
        .collect();
    let hdr: Vec<&str> = header.iter().map(String::as_str).collect();
    figure(o, id, svg, caption, &hdr, &rows);
}

/// The model check: tracking, holdout and period transactions, from the library's checks.
fn validation(o: &mut String, v: &Validation) {
    let h = &v.holdout;
    let _ = write!(o, "<p>The {} model was fitted on purchases up to {} and compared with what customers did from then to {}: {} repeat purchases expected, {} made (mean absolute error per customer {:.3}).</p>", v.model_name, v.calibration_end, v.observation_end, count(h.total_predicted.round() as u64), count(h.total_actual), h.mae);
    let actual: Vec<f64> = v.tracking.iter().map(|t| t.actual_cumulative as f64).collect();
    let expected: Vec<f64> = v.tracking.iter().map(|t| t.expected_cumulative).collect();
    let mark = v
        .tracking
        .iter()
        .position(|t| t.period_start.date() > v.calibration_end)
        .map(|i| (i, "calibration end"));
    let days: Vec<String> = v.tracking.iter().map(|t| t.period_start.date().to_string()).collect();
    let svg = charts::lines(
        v.tracking.len(),
        &|i| days.get(i).cloned().unwrap_or_default(),
        &[("actual", &actual), ("model", &expected)],
        mark,
        "cumulative repeat purchases",
    );
    let step = (v.tracking.len() / 40).max(1);
    let rows: Vec<Vec<String>> = v
        .tracking
        .iter()
        .enumerate()
        .filter(|(i, _)| i % step == 0 || *i + 1 == v.tracking.len())
        .map(|(i, t)| {
            vec![
                days[i].clone(),
                t.actual_cumulative.to_string(),
                format!("{:.1}", t.expected_cumulative),
            ]
        })
        .collect();
    figure(
        o,
        "tracking",
        svg,
        "Cumulative repeat purchases, actual and expected; the grey line marks the calibration end",
        &["period start", "actual", "model"],
        &rows,
    );
    // lifetimes plots the first seven groups; the table lists them all.
    let groups = &h.by_frequency;
    let shown = &groups[..groups.len().min(HOLDOUT_BARS)];
    let labels: Vec<String> = shown.iter().map(|g| g.calibration_frequency.to_string()).collect();
    let a: Vec<f64> = shown.iter().map(|g| g.actual).collect();
    let p: Vec<f64> = shown.iter().map(|g| g.predicted).collect();
    let svg = charts::bars(&labels, &[("actual", &a), ("model", &p)], "mean holdout purchases");
    let rows: Vec<Vec<String>> = groups
        .iter()
        .map(|g| {
            vec![
                g.calibration_frequency.to_string(),
                count(g.customers),
                format!("{:.3}", g.actual),
                format!("{:.3}", g.predicted),
            ]
        })
        .collect();
    figure(
        o,
        "holdout",
        svg,
        "Mean repeat purchases in the holdout window by repeat purchases in calibration",
        &["calibration repeats", "customers", "actual", "model"],
        &rows,
    );
    let labels: Vec<String> = v
        .period_counts
        .iter()
        .map(|c| format!("{}{}", c.repeat_purchases, if c.or_more { "+" } else { "" }))
        .collect();
    let a: Vec<f64> = v.period_counts.iter().map(|c| c.actual as f64).collect();
    let p: Vec<f64> = v.period_counts.iter().map(|c| c.expected).collect();
    let svg = charts::bars(&labels, &[("actual", &a), ("model", &p)], "customers");
    let rows: Vec<Vec<String>> = v
        .period_counts
        .iter()
        .zip(&labels)
        .map(|(c, l)| vec![l.clone(), count(c.actual), format!("{:.1}", c.expected)])
        .collect();
    figure(
        o,
        "period-transactions",
        svg,
        "Customers by number of repeat purchases in calibration, actual and expected",
        &["repeat purchases", "actual", "model"],
        &rows,
    );
}

/// Holdout groups drawn (calibration repeat purchases 0 to 6), as lifetimes' plot.
const HOLDOUT_BARS: usize = 7;

fn ranked(o: &mut String, title: &str, id: &str, rows: &[super::facts::Ranked]) {
    let _ = write!(o, "<h3>{}</h3><table id=\"{id}\"><tr><th>customer</th><th>segment</th><th>repeat purchases</th><th>spend so far</th><th>P(alive)</th><th>expected purchases</th><th>CLV</th></tr>", esc(title));
    for r in rows {
        let _ = write!(o, "<tr><td>{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{:.3}</td><td>{:.2}</td><td>{}</td></tr>", esc(&r.id), esc(&r.segment), r.frequency, money(r.spend), r.p_alive, r.expected, money_f(r.clv));
    }
    o.push_str("</table>");
}
