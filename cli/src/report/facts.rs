//! The numbers of the seller's report, computed once from the log, the library's summary,
//! segments and models; the text and HTML pages only format them.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use loyalty::clv::{self, PurchaseModel};
use rust_decimal::Decimal;

use crate::analysis::{self, Models, PeriodArg};
use crate::commands::to_f64;
use crate::error::Result;
use crate::ids::Id;
use crate::input::Log;
use crate::validation::Validation;

/// Headline numbers.
pub struct Headline {
    /// First and last purchase days.
    pub first: NaiveDate,
    /// Last purchase day (or the observation end).
    pub end: NaiveDate,
    /// Customers.
    pub customers: u64,
    /// Transactions (rows).
    pub orders: u64,
    /// Revenue.
    pub revenue: Decimal,
    /// Customers with a repeat purchase period.
    pub repeaters: u64,
    /// Revenue after each customer's first purchase period.
    pub repeat_revenue: Decimal,
}

/// One first-purchase month.
pub struct Cohort {
    /// The month's first day.
    pub month: NaiveDate,
    /// Customers whose first purchase fell in it.
    pub size: u64,
    /// Share who bought again in any later period.
    pub bought_again: f64,
    /// Share who bought in the k-th month after the first (k = 0 is the first month: 1).
    pub active: Vec<f64>,
}

/// One RFM segment.
pub struct SegmentRow {
    /// Its name.
    pub name: String,
    /// What it means.
    pub meaning: &'static str,
    /// Customers.
    pub customers: u64,
    /// Their total spend.
    pub revenue: Decimal,
}

/// One customer of the top and at-risk lists.
pub struct Ranked {
    /// The id as read.
    pub id: String,
    /// Segment name.
    pub segment: String,
    /// Repeat purchase periods.
    pub frequency: u32,
    /// Total spend so far.
    pub spend: Decimal,
    /// P(alive).
    pub p_alive: f64,
    /// Expected purchases over the horizon.
    pub expected: f64,
    /// Model CLV.
    pub clv: f64,
}

/// The model sections' numbers.
pub struct ModelFacts {
    /// The model's name.
    pub name: &'static str,
    /// Its parameters.
    pub params: Vec<(&'static str, f64)>,
    /// Gamma-Gamma p, q, v.
    pub spend_params: [f64; 3],
    /// P(alive) by frequency (rows) and recency (columns) at `T` = the longest `T`.
    pub p_alive: Vec<Vec<f64>>,
    /// Expected purchases over the next month, same grid.
    pub next_month: Vec<Vec<f64>>,
    /// The grid's recency values (columns), in periods.
    pub recency_grid: Vec<f64>,
    /// The grid's `T`.
    pub grid_t: f64,
    /// CLV histogram: bin upper edges and counts.
    pub clv_bins: Vec<(f64, u64)>,
    /// Sum of CLV.
    pub total_clv: f64,
    /// Expected revenue over the horizon, undiscounted: Σ expected purchases × expected spend.
    pub horizon_revenue: f64,
    /// Customers with P(alive) >= 0.5.
    pub likely_alive: u64,
    /// Top customers by CLV.
    pub top: Vec<Ranked>,
    /// Customers of the "At Risk" and "Cannot Lose Them" segments, by CLV.
    pub at_risk: Vec<Ranked>,
    /// Horizon months.
    pub horizon_months: u32,
    /// Monthly discount rate.
    pub discount: f64,
    /// Repeat value of a newly acquired customer per month of the horizon (discounted,
    /// revenue), from the model's unconditional expectation and the mean spend.
    pub new_customer_monthly: Vec<f64>,
}

/// Acquisition economics.
pub struct Economics {
    /// Gross margin share.
    pub margin: f64,
    /// Mean first purchase (period) amount.
    pub first_purchase: f64,
    /// Margin of the first purchase.
    pub first_margin: f64,
    /// Margin of a new customer's repeat purchases over the horizon (discounted).
    pub repeat_margin: f64,
    /// The break-even acquisition cost: first margin + repeat margin.
    pub break_even_cac: f64,
    /// The CAC given, if any.
    pub cac: Option<f64>,
    /// CLV (margin, first purchase included) : CAC.
    pub ratio: Option<f64>,
    /// Months until the cumulative margin (first purchase's included, in month 1) covers
    /// the CAC; `None` when it does not within the horizon.
    pub payback_months: Option<u32>,
}

/// Everything the report shows.
pub struct Facts {
    /// The input's name.
    pub input: String,
    /// The time unit.
    pub period: PeriodArg,
    /// Headline.
    pub headline: Headline,
    /// Cohorts.
    pub cohorts: Vec<Cohort>,
    /// Segments.
    pub segments: Vec<SegmentRow>,
    /// Models, or why they could not be fitted.
    pub models: std::result::Result<ModelFacts, String>,
    /// The model check, or why it could not be made.
    pub validation: std::result::Result<Validation, String>,
    /// Economics (needs the models).
    pub economics: Option<Economics>,
    /// Points earned and their liability, with `--points-program`.
    pub points: Option<super::programs::PointsFacts>,
    /// Members per tier, with `--tiers`.
    pub tiers: Option<super::programs::Tiers>,
}

/// What each of the eleven segments means.
pub fn meaning(name: &str) -> &'static str {
    match name {
        "Champions" => "bought recently, buy often and spend the most",
        "Loyal" => "buy regularly and spend well; respond to rewards",
        "Potential Loyalist" => "recent customers with more than one purchase: could become loyal",
        "New Customers" => "bought for the first time, very recently",
        "Promising" => "recent shoppers who have not spent much yet",
        "Need Attention" => "above-average recency, frequency and spend, but slipping",
        "About To Sleep" => "below-average recency and frequency: will be lost without a nudge",
        "At Risk" => "spent well and often, but long ago",
        "Cannot Lose Them" => "were among the best customers; have not come back for a long time",
        "Hibernating" => "last bought long ago, rarely and for little",
        "Lost" => "lowest recency, frequency and spend",
        _ => "",
    }
}

fn month_index(d: NaiveDate) -> i64 {
    i64::from(d.year()) * 12 + i64::from(d.month0())
}

fn month_start(i: i64) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(
        i32::try_from(i.div_euclid(12)).ok()?,
        u32::try_from(i.rem_euclid(12)).ok()? + 1,
        1,
    )
}

/// Headline and cohorts from the log up to `end`.
pub fn basics(
    log: &Log,
    end: NaiveDateTime,
    summary: &loyalty::rfm::Summary<Id>,
) -> (Headline, Vec<Cohort>) {
    let rows = summary.rows();
    let mut revenue = Decimal::ZERO;
    let mut orders = 0u64;
    let mut months: Vec<(u64, i64, NaiveDate)> = Vec::new();
    for t in log.transactions.iter().filter(|t| t.at <= end) {
        revenue += t.amount;
        orders += 1;
        months.push((t.customer.0, month_index(t.at.date()), t.at.date()));
    }
    let repeat_revenue: Decimal = rows
        .iter()
        .filter(|r| r.purchase_periods() > 1)
        .map(|r| r.total_spend() - r.first_purchase_amount())
        .sum();
    let headline = Headline {
        first: log.first().map_or(end.date(), |t| t.date()),
        end: end.date(),
        customers: rows.len() as u64,
        orders,
        revenue,
        repeaters: rows.iter().filter(|r| r.frequency() > 0).count() as u64,
        repeat_revenue,
    };
    // Cohorts: distinct (customer, month), and whether a later day followed the first.
    months.sort_unstable();
    let first_m = months.iter().map(|m| m.1).min().unwrap_or(0);
    let last_m = month_index(end.date());
    let span = usize::try_from(last_m - first_m + 1).unwrap_or(1);
    let mut size = vec![0u64; span];
    let mut again = vec![0u64; span];
    let mut active = vec![vec![0u64; span]; span];
    let mut i = 0;
    while i < months.len() {
        let c = months[i].0;
        let mut j = i;
        while j < months.len() && months[j].0 == c {
            j += 1;
        }
        let (m0, d0) = (months[i].1, months[i].2);
        let cohort = (m0 - first_m) as usize;
        size[cohort] += 1;
        if months[i..j].iter().any(|m| m.2 > d0) {
            again[cohort] += 1;
        }
        let mut last_k = None;
        for m in &months[i..j] {
            let k = (m.1 - m0) as usize;
            if last_k != Some(k) && k < span {
                active[cohort][k] += 1;
            }
            last_k = Some(k);
        }
        i = j;
    }
    let cohorts = (0..span)
        .filter(|&c| size[c] > 0)
        .filter_map(|c| {
            let n = size[c] as f64;
            let left = span - c;
            Some(Cohort {
                month: month_start(first_m + c as i64)?,
                size: size[c],
                bought_again: again[c] as f64 / n,
                active: active[c][..left].iter().map(|&a| a as f64 / n).collect(),
            })
        })
        .collect();
    (headline, cohorts)
}

/// Segments with their counts and spend.
pub fn segment_rows(summary: &loyalty::rfm::Summary<Id>) -> Result<(Vec<SegmentRow>, Vec<String>)> {
    let (_, ids, map) = analysis::segments(summary)?;
    let mut rows: Vec<SegmentRow> = map
        .rules()
        .iter()
        .map(|r| SegmentRow {
            name: r.name().to_string(),
            meaning: meaning(r.name()),
            customers: 0,
            revenue: Decimal::ZERO,
        })
        .collect();
    let mut names = Vec::with_capacity(ids.len());
    for (id, r) in ids.iter().zip(summary.rows()) {
        rows[id.index()].customers += 1;
        rows[id.index()].revenue += r.total_spend();
        names.push(map.name(*id).to_string());
    }
    Ok((rows, names))
}

/// Grid rows (frequencies 0..) and columns for the matrices.
const GRID_ROWS: usize = 16;
const GRID_COLS: usize = 12;

/// The model sections from fitted `m`.
pub fn model_facts(
    log: &Log,
    summary: &loyalty::rfm::Summary<Id>,
    names: &[String],
    m: &Models,
    model_name: &'static str,
    period: PeriodArg,
) -> Result<ModelFacts> {
    let rows = summary.rows();
    let max_t = m.customers.iter().map(|c| c.t).fold(0.0, f64::max);
    let max_f = m.customers.iter().map(|c| c.frequency).fold(0.0, f64::max);
    let frows = (max_f as usize + 1).min(GRID_ROWS);
    let recency_grid: Vec<f64> =
        (0..GRID_COLS).map(|j| max_t * j as f64 / (GRID_COLS - 1) as f64).collect();
    let (mut p_alive, mut next_month) = (Vec::new(), Vec::new());
    for f in 0..frows {
        let (mut pa, mut nm) = (Vec::new(), Vec::new());
        for &r in &recency_grid {
            // A customer with no repeat purchase has recency 0 whatever the column.
            let r = if f == 0 { 0.0 } else { r };
            let c = clv::Customer::new(f as f64, r, max_t, period.period())?;
            pa.push(m.model.probability_alive(&c)?);
            nm.push(m.model.conditional_expected_purchases(&c, clv::Span::months(1.0)?)?);
        }
        p_alive.push(pa);
        next_month.push(nm);
    }
    // CLV histogram over 20 bins up to the 99th percentile (the tail in the last bin).
    let mut clvs: Vec<f64> = m.scores.iter().map(|s| s.clv).collect();
    clvs.sort_by(f64::total_cmp);
    let cap = clvs.get(clvs.len().saturating_sub(1) * 99 / 100).copied().unwrap_or(0.0).max(1e-9);
    let bins = 20;
    let mut counts = vec![0u64; bins];
    for &v in &clvs {
        let b = ((v / cap) * bins as f64).floor().clamp(0.0, (bins - 1) as f64) as usize;
        counts[b] += 1;
    }
    let clv_bins =
        counts.iter().enumerate().map(|(i, &n)| (cap * (i + 1) as f64 / bins as f64, n)).collect();
    let ranked = |i: usize| Ranked {
        id: log.ids.text(*rows[i].customer()),
        segment: names[i].clone(),
        frequency: rows[i].frequency(),
        spend: rows[i].total_spend(),
        p_alive: m.scores[i].p_alive,
        expected: m.scores[i].expected_purchases,
        clv: m.scores[i].clv,
    };
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&a, &b| m.scores[b].clv.total_cmp(&m.scores[a].clv).then(a.cmp(&b)));
    let top = order.iter().take(10).map(|&i| ranked(i)).collect();
    let at_risk = order
        .iter()
        .filter(|&&i| names[i] == "At Risk" || names[i] == "Cannot Lose Them")
        .take(10)
        .map(|&i| ranked(i))
        .collect();
    let horizon_months = m.horizon_months;
    let discount = m.discount;
    let mean_spend = m.spend.mean_spend();
    let mut new_customer_monthly = Vec::new();
    let mut prev = 0.0;
    for k in 1..=horizon_months {
        let e = m.model.expected_purchases(clv::Span::months(f64::from(k))?)?;
        new_customer_monthly.push((e - prev) * mean_spend / (1.0 + discount).powi(k as i32));
        prev = e;
    }
    Ok(ModelFacts {
        name: model_name,
        params: crate::commands::params(&m.model),
        spend_params: [m.spend.p(), m.spend.q(), m.spend.v()],
        p_alive,
        next_month,
        recency_grid,
        grid_t: max_t,
        clv_bins,
        total_clv: m.scores.iter().map(|s| s.clv).sum(),
        horizon_revenue: m
            .scores
            .iter()
            .zip(&m.expected_spend)
            .map(|(s, e)| s.expected_purchases * e)
            .sum(),
        likely_alive: m.scores.iter().filter(|s| s.p_alive >= 0.5).count() as u64,
        top,
        at_risk,
        horizon_months,
        discount,
        new_customer_monthly,
    })
}

/// Acquisition economics of a new customer: the first purchase's margin counts in month 1,
/// then the model's expected repeat margin month by month, discounted.
pub fn economics(
    summary: &loyalty::rfm::Summary<Id>,
    mf: &ModelFacts,
    margin: f64,
    cac: Option<f64>,
) -> Economics {
    let rows = summary.rows();
    let first_purchase = rows.iter().map(|r| to_f64(r.first_purchase_amount())).sum::<f64>()
        / rows.len().max(1) as f64;
    let first_margin = margin * first_purchase;
    let repeat_margin: f64 = mf.new_customer_monthly.iter().map(|v| margin * v).sum();
    let break_even_cac = first_margin + repeat_margin;
    let payback_months = cac.and_then(|cac| {
        let mut total = first_margin;
        for (k, v) in mf.new_customer_monthly.iter().enumerate() {
            total += margin * v;
            if total >= cac {
                return Some(k as u32 + 1);
            }
        }
        None
    });
    Economics {
        margin,
        first_purchase,
        first_margin,
        repeat_margin,
        break_even_cac,
        cac,
        ratio: cac.filter(|&c| c > 0.0).map(|c| break_even_cac / c),
        payback_months,
    }
}
