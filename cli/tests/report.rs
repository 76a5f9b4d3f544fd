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
    let heights: Vec<f64> = svg(&html, "segments")
        .split("<rect")
        .filter(|r| r.contains("fill=\"#1F77B4\""))
        .map(|r| {
            let h = &r[r.find("height=\"").unwrap() + 8..];
            h[..h.find('"').unwrap()].parse().unwrap()
        })
        .collect();
    assert_eq!(heights.len(), 11);
    let (max_h, max_n) =
        heights
            .iter()
            .zip(&shown)
            .fold((0.0f64, 0u64), |a, (h, (_, n))| if *n > a.1 { (*h, *n) } else { a });
    for (h, (name, n)) in heights.iter().zip(&shown) {
        let want = max_h * *n as f64 / max_n as f64;
        assert!((h - want).abs() <= 1.5, "{name}: height {h}, want {want}");
    }
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
