//! The seller's report on the bundled CDNOW log: the HTML page is self-contained and its
//! plotted values (the SVG bars and the tables behind each chart) equal the numbers computed
//! here from the log and from `loyalty score`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

fn data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/data")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

/// (stdout, html) of `loyalty report` on the CDNOW CSV.
fn report() -> (String, String) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report");
    std::fs::create_dir_all(&dir).unwrap();
    let html = dir.join("report.html");
    let o = Command::new(env!("CARGO_BIN_EXE_loyalty"))
        .args([
            "report",
            "--quiet",
            "--cac",
            "20",
            &data("cdnow_transactions.csv"),
            "--html",
            html.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (String::from_utf8(o.stdout).unwrap(), std::fs::read_to_string(html).unwrap())
}

/// The rows of the data table of chart `id`, cells as text.
fn table(html: &str, id: &str) -> Vec<Vec<String>> {
    let start = html.find(&format!("<table class=\"data\" data-chart=\"{id}\">")).expect(id);
    let end = start + html[start..].find("</table>").unwrap();
    html[start..end]
        .split("<tr>")
        .skip(2)
        .map(|row| {
            row.split("<td")
                .skip(1)
                .map(|c| {
                    let c = &c[c.find('>').unwrap() + 1..];
                    c[..c.find("</td>").unwrap()].to_string()
                })
                .collect()
        })
        .collect()
}

/// The SVG of chart `id`.
fn svg<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html.find(&format!("<figure data-chart=\"{id}\">")).expect(id);
    let end = start + html[start..].find("</svg>").unwrap();
    &html[start..end]
}

fn number(s: &str) -> f64 {
    s.replace(',', "").trim_end_matches('%').parse().unwrap()
}

/// The log's per-customer purchase days and total revenue in cents.
fn log() -> (BTreeMap<u32, BTreeSet<String>>, i64) {
    let text = std::fs::read_to_string(data("cdnow_transactions.csv")).unwrap();
    let mut days: BTreeMap<u32, BTreeSet<String>> = BTreeMap::new();
    let mut cents = 0i64;
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        days.entry(f[0].parse().unwrap()).or_default().insert(f[1].to_string());
        let (a, b) = f[2].split_once('.').unwrap_or((f[2], "0"));
        cents += a.parse::<i64>().unwrap() * 100 + format!("{b:0<2}").parse::<i64>().unwrap();
    }
    (days, cents)
}

#[test]
fn the_page_is_self_contained() {
    let (_, html) = report();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("<script"));
    // No fetched resource: the only URL is the SVG namespace.
    for attr in ["src=", "href=", "url(", "@import"] {
        assert!(!html.contains(attr), "{attr}");
    }
    assert!(html.matches("<svg").count() >= 8, "{}", html.matches("<svg").count());
    assert!(!html.contains("<?xml"));
}

#[test]
fn headline_matches_the_log() {
    let (text, html) = report();
    let (days, cents) = log();
    let repeaters = days.values().filter(|d| d.len() > 1).count();
    assert_eq!(days.len(), 23570);
    let d = cents / 100;
    let revenue =
        format!("{},{:03},{:03}.{:02}", d / 1_000_000, d / 1000 % 1000, d % 1000, cents % 100);
    assert_eq!(revenue, "2,500,315.63");
    assert!(html.contains(&format!("<b>{revenue}</b><span>revenue</span>")), "{revenue}");
    assert!(html.contains("<b>23,570</b><span>customers</span>"));
    assert!(html.contains("<b>69,659</b><span>orders</span>"));
    let share = format!("{:.1}%", 100.0 * repeaters as f64 / 23570.0);
    assert!(html.contains(&format!("<b>{share}</b><span>bought again</span>")), "{share}");
    // The text report: the same numbers, one money format, no Debug output, no timings.
    assert!(text.contains(&revenue));
    for bad in ["{", "EmptyBin", "->", "Marginal", " s)", "$"] {
        assert!(!text.contains(bad), "{bad} in\n{text}");
    }
}

#[test]
fn segment_bars_and_table_equal_the_scores() {
    let (_, html) = report();
    let o = Command::new(env!("CARGO_BIN_EXE_loyalty"))
        .args(["score", "--quiet", &data("cdnow_transactions.csv")])
        .output()
        .unwrap();
    let out = String::from_utf8(o.stdout).unwrap();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for line in out.lines().skip(1) {
        *counts.entry(line.split(',').nth(8).unwrap().to_string()).or_default() += 1;
    }
    let rows = table(&html, "segments");
    assert_eq!(rows.len(), 11);
    let shown: Vec<(String, u64)> =
        rows.iter().map(|r| (r[0].clone(), number(&r[1]) as u64)).collect();
    for (name, n) in &shown {
        assert_eq!(counts.get(name).copied().unwrap_or(0), *n, "{name}");
    }
    // The bars: one blue rectangle per segment, heights proportional to the counts.
    let values: Vec<f64> = shown.iter().map(|(_, n)| *n as f64).collect();
    proportional(&bar_heights(svg(&html, "segments"), BLUE), &values, "segments");
}

const BLUE: &str = "#1F77B4";
const ORANGE: &str = "#FF7F0E";

/// The heights of the bars of one colour in an SVG chart, left to right.
fn bar_heights(svg: &str, colour: &str) -> Vec<f64> {
    svg.split("<rect")
        .filter(|r| r.contains(&format!("fill=\"{colour}\"")))
        .map(|r| {
            let h = &r[r.find("height=\"").unwrap() + 8..];
            h[..h.find('"').unwrap()].parse().unwrap()
        })
        .collect()
}

/// Bars whose heights are proportional to `values` (to the pixel).
fn proportional(heights: &[f64], values: &[f64], what: &str) {
    assert_eq!(heights.len(), values.len(), "{what}");
    let (max_h, max_v) =
        heights
            .iter()
            .zip(values)
            .fold((0.0f64, 0.0f64), |a, (h, v)| if *v > a.1 { (*h, *v) } else { a });
    for (h, v) in heights.iter().zip(values) {
        let want = max_h * v / max_v;
        assert!((h - want).abs() <= 1.5, "{what}: height {h}, want {want} for {v}");
    }
}

/// Chart `id` draws `actual` in blue and `model` in orange on one scale.
fn paired_bars(html: &str, id: &str, actual: &[f64], model: &[f64]) {
    let chart = svg(html, id);
    // The last rectangle of each colour is its legend's swatch.
    let bars = |colour| {
        let mut h = bar_heights(chart, colour);
        h.pop();
        h
    };
    let heights: Vec<f64> = bars(BLUE).into_iter().chain(bars(ORANGE)).collect();
    let values: Vec<f64> = actual.iter().chain(model).copied().collect();
    proportional(&heights, &values, id);
}

/// `loyalty validate` at the report's default calibration end (two thirds of the way
/// through the CDNOW log's 1997-01-01 to 1998-06-30: 363 days in).
fn validate_json() -> serde_json::Value {
    let o = Command::new(env!("CARGO_BIN_EXE_loyalty"))
        .args(["validate", "--calibration-end", "1997-12-30", &data("cdnow_transactions.csv")])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn validation_tables_and_bars_equal_loyalty_validate() {
    let (text, html) = report();
    let v = validate_json();
    // The text gives the holdout accuracy per customer too.
    let h = &v["holdout"];
    let accuracy = format!(
        "  per customer: mean absolute error {:.3}, root mean squared error {:.3}, correlation {:.3}",
        h["mean_absolute_error"].as_f64().unwrap(),
        h["root_mean_squared_error"].as_f64().unwrap(),
        h["correlation"].as_f64().unwrap()
    );
    assert!(text.lines().any(|l| l == accuracy), "{accuracy}\n{text}");
    assert!(html.contains("fitted on purchases up to 1997-12-30 and compared with what customers did from then to 1998-06-30"));
    let f = |x: &serde_json::Value| x.as_f64().unwrap();
    let thousands = |n: u64| {
        let s = n.to_string();
        let head = s.len() % 3;
        let mut out = s[..head].to_string();
        for (i, c) in s[head..].chars().enumerate() {
            if i % 3 == 0 && !out.is_empty() {
                out.push(',');
            }
            out.push(c);
        }
        out
    };
    let expected = thousands(f(&v["holdout"]["predicted_total"]).round() as u64);
    let made = thousands(v["holdout"]["actual_total"].as_u64().unwrap());
    assert!(
        html.contains(&format!(": {expected} repeat purchases expected, {made} made")),
        "{expected} {made}"
    );
    // Holdout: every group in the table, the first seven drawn.
    let groups = v["holdout"]["by_calibration_frequency"].as_array().unwrap();
    let rows = table(&html, "holdout");
    assert_eq!(rows.len(), groups.len());
    for (r, g) in rows.iter().zip(groups) {
        assert_eq!(r[0], g["frequency_cal"].to_string());
        assert_eq!(number(&r[1]), f(&g["customers"]));
        assert_eq!(r[2], format!("{:.3}", f(&g["actual_mean"])));
        assert_eq!(r[3], format!("{:.3}", f(&g["predicted_mean"])));
    }
    let shown = &groups[..7];
    let actual: Vec<f64> = shown.iter().map(|g| f(&g["actual_mean"])).collect();
    let model: Vec<f64> = shown.iter().map(|g| f(&g["predicted_mean"])).collect();
    paired_bars(&html, "holdout", &actual, &model);
    // Period transactions: 0..5 and 6+.
    let counts = v["period_transactions"].as_array().unwrap();
    let rows = table(&html, "period-transactions");
    let labels: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(labels, ["0", "1", "2", "3", "4", "5", "6+"]);
    for (r, c) in rows.iter().zip(counts) {
        assert_eq!(number(&r[1]), f(&c["actual_customers"]));
        assert_eq!(r[2], format!("{:.1}", f(&c["expected_customers"])));
    }
    let actual: Vec<f64> = counts.iter().map(|c| f(&c["actual_customers"])).collect();
    let model: Vec<f64> = counts.iter().map(|c| f(&c["expected_customers"])).collect();
    paired_bars(&html, "period-transactions", &actual, &model);
    // Tracking: the sampled rows are the library's cumulative series.
    let track = v["tracking"].as_array().unwrap();
    let rows = table(&html, "tracking");
    for r in &rows {
        let t = track.iter().find(|t| t["period_start"] == r[0].as_str()).expect(&r[0]);
        assert_eq!(number(&r[1]), f(&t["actual_cumulative"]));
        assert_eq!(r[2], format!("{:.1}", f(&t["expected_cumulative"])));
    }
    assert_eq!(rows.last().unwrap()[0], track.last().unwrap()["period_start"].as_str().unwrap());
}

/// A log checked by hand against `examples/data/points_program.json` (1 point per dollar,
/// floored; 100 points = $10; expiry 12 months after the earn, at the month end) and
/// `examples/data/tiers_program.json` (lifetime spend: bronze 0, silver 100, gold 500).
const PROGRAM_LOG: &str = "customer_id,date,amount
1,2023-01-10,600.00
1,2024-03-05,100.50
2,2023-02-01,50.00
3,2024-01-15,2500.00
3,2024-02-01,-200.00
4,2024-06-01,0.50
";

#[test]
fn points_liability_and_tiers_of_a_hand_checked_log() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("programs");
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("log.csv");
    std::fs::write(&log, PROGRAM_LOG).unwrap();
    let html = dir.join("report.html");
    let o = Command::new(env!("CARGO_BIN_EXE_loyalty"))
        .args([
            "report",
            "--quiet",
            "--as-of",
            "2024-06-30",
            "--points-program",
            &data("points_program.json"),
            "--breakage",
            "0.2",
            "--tiers",
            &data("tiers_program.json"),
            log.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    let html = std::fs::read_to_string(html).unwrap();
    // Earned: 600 + 100 (100.50 floored) + 50 + 2500; the refund and the 0.50 purchase earn
    // nothing. Expired by 2024-06-30: customer 1's 600 (to 2024-01-31) and customer 2's 50
    // (to 2024-02-29). Outstanding 2,600 points at $0.10 = $260.00, less 20 % breakage.
    let rows = |html: &str| -> Vec<(String, String)> {
        let start = html.find("<table id=\"points\">").unwrap();
        let end = start + html[start..].find("</table>").unwrap();
        html[start..end]
            .split("<tr><td>")
            .skip(1)
            .map(|r| {
                let (k, v) = r.split_once("</td><td>").unwrap();
                (k.to_string(), v[..v.find("</td>").unwrap()].to_string())
            })
            .collect()
    };
    let want = [
        ("members who earned points", "3"),
        ("points earned", "3,250"),
        ("points expired", "650"),
        ("points outstanding", "2,600"),
        ("face value", "260.00 USD"),
        ("liability", "208.00 USD"),
        ("purchases that earned no points", "2"),
    ];
    let got = rows(&html);
    assert_eq!(got.len(), want.len());
    for ((k, v), (wk, wv)) in got.iter().zip(want) {
        assert_eq!((k.as_str(), v.as_str()), (wk, wv));
    }
    for line in ["points outstanding", "liability"] {
        let l = text.lines().find(|l| l.trim_start().starts_with(line)).expect(line);
        assert!(l.ends_with(if line == "liability" { "208.00" } else { "2,600" }), "{l}");
    }
    let breakage = text.lines().find(|l| l.trim_start().starts_with("breakage")).unwrap();
    assert_eq!(breakage.split_whitespace().collect::<Vec<_>>(), ["breakage", "20%"]);
    // Tiers: 700.50 and 2,300.00 (2,500 less the refund) are gold, 50 and 0.50 bronze.
    let tiers = table(&html, "tiers");
    let want = [
        ["bronze", "0", "2", "50.50"],
        ["silver", "100", "0", "0.00"],
        ["gold", "500", "2", "3,000.50"],
    ];
    assert_eq!(tiers, want.map(|r| r.map(String::from).to_vec()).to_vec());
    proportional(&bar_heights(svg(&html, "tiers"), BLUE), &[2.0, 0.0, 2.0], "tiers");
    let fields = |start: &str| -> Vec<String> {
        let l = text.lines().find(|l| l.trim_start().starts_with(start)).expect(start);
        l.split_whitespace().map(String::from).collect()
    };
    assert_eq!(fields("gold"), ["gold", "500", "2", "3,000.50"]);
    assert_eq!(fields("bronze"), ["bronze", "0", "2", "50.50"]);
}

#[test]
fn without_programs_the_section_says_what_it_needs() {
    let (text, html) = report();
    assert!(html.contains("Give <code>--points-program FILE</code>"));
    assert!(html.contains("Give <code>--tiers FILE</code>"));
    assert!(!text.contains("Points liability"));
}

#[test]
fn tracking_ends_at_the_repeat_purchases_of_the_log() {
    let (_, html) = report();
    let (days, _) = log();
    let repeats: usize = days.values().map(|d| d.len() - 1).sum();
    let rows = table(&html, "tracking");
    let last = rows.last().unwrap();
    assert_eq!(last[0], "1998-06-30");
    assert_eq!(number(&last[1]) as usize, repeats);
    // The model's expectation is close to what happened over the whole period (the model
    // was fitted on the first two thirds).
    let expected = number(&last[2]);
    assert!((expected / repeats as f64 - 1.0).abs() < 0.25, "{expected} vs {repeats}");
}

#[test]
fn cohort_sizes_add_up_to_the_customers() {
    let (_, html) = report();
    let (days, _) = log();
    let rows = table(&html, "cohorts");
    // CDNOW's customers all made their first purchase in the first quarter of 1997.
    let months: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(months, ["1997-01", "1997-02", "1997-03"]);
    let total: f64 = rows.iter().map(|r| number(&r[1])).sum();
    assert_eq!(total as usize, days.len());
    let january = days.values().filter(|d| d.iter().next().unwrap().starts_with("1997-01")).count();
    assert_eq!(number(&rows[0][1]) as usize, january);
}

#[test]
fn heat_maps_and_clv_bars_equal_the_library() {
    use loyalty::clv::{BgNbd, Customer, PurchaseModel, Span};
    use loyalty::rfm::Period;
    let (_, html) = report();
    // The report fits as `loyalty fit` does: the same parameters, printed in full there.
    let o = Command::new(env!("CARGO_BIN_EXE_loyalty"))
        .args(["fit", "--quiet", "--model", "bgnbd", &data("cdnow_transactions.csv")])
        .output()
        .unwrap();
    let fit: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let p = |k: &str| fit["params"][k].as_f64().unwrap();
    let bg = BgNbd::new(p("r"), p("alpha"), p("a"), p("b"), Period::DAY).unwrap();
    // Cells: repeat purchases 0..=15 by twelve recencies from 0 to the longest T (545 days,
    // 1997-01-01 to 1998-06-30); no repeat purchase means recency 0.
    let t = 545.0;
    for (id, next_month) in [("p-alive", false), ("expected-purchases", true)] {
        let rows = table(&html, id);
        assert_eq!(rows.len(), 16, "{id}");
        for (f, row) in rows.iter().enumerate() {
            assert_eq!(row[0], f.to_string());
            assert_eq!(row.len(), 13);
            for (j, cell) in row[1..].iter().enumerate() {
                let r = if f == 0 { 0.0 } else { t * j as f64 / 11.0 };
                let c = Customer::new(f as f64, r, t, Period::DAY).unwrap();
                let want = if next_month {
                    bg.conditional_expected_purchases(&c, Span::months(1.0).unwrap()).unwrap()
                } else {
                    bg.probability_alive(&c).unwrap()
                };
                assert_eq!(cell, &format!("{want:.4}"), "{id} f {f} r {r}");
            }
        }
    }
    // CLV bars: the counts of `loyalty score`'s CLV column in the table's bins, and the
    // bars' heights proportional to them.
    let o = Command::new(env!("CARGO_BIN_EXE_loyalty"))
        .args(["score", "--quiet", &data("cdnow_transactions.csv")])
        .output()
        .unwrap();
    let out = String::from_utf8(o.stdout).unwrap();
    let clv: Vec<f64> =
        out.lines().skip(1).map(|l| l.rsplit(',').next().unwrap().parse().unwrap()).collect();
    let rows = table(&html, "clv");
    assert_eq!(rows.len(), 20);
    let counts: Vec<f64> = rows.iter().map(|r| number(&r[1])).collect();
    assert_eq!(counts.iter().sum::<f64>() as usize, clv.len());
    // Every bin but the last holds the CLVs up to its edge above the previous edge.
    let edges: Vec<f64> = rows.iter().map(|r| number(&r[0])).collect();
    for b in 0..19 {
        let lo = if b == 0 { f64::NEG_INFINITY } else { edges[b - 1] };
        let n = clv.iter().filter(|&&v| v > lo + 0.01 && v < edges[b] - 0.01).count() as f64;
        let edge_cases =
            clv.iter().filter(|&&v| (v - lo).abs() <= 0.01 || (v - edges[b]).abs() <= 0.01).count()
                as f64;
        assert!(n <= counts[b] && counts[b] <= n + edge_cases, "bin {b}: {} vs {n}", counts[b]);
    }
    proportional(&bar_heights(svg(&html, "clv"), BLUE), &counts, "clv");
    // Top customers: the ten largest CLVs of `loyalty score`, in order.
    let mut sorted = clv.clone();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let start = html.find("<table id=\"top\">").unwrap();
    let end = start + html[start..].find("</table>").unwrap();
    let shown: Vec<f64> = html[start..end]
        .split("<tr>")
        .skip(2)
        .map(|r| {
            let last = r.rsplit("<td>").next().unwrap();
            number(&last[..last.find("</td>").unwrap()])
        })
        .collect();
    assert_eq!(shown.len(), 10);
    for (s, w) in shown.iter().zip(&sorted) {
        assert!((s - w).abs() <= 0.005 + 1e-9, "{s} vs {w}");
    }
}
