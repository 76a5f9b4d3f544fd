//! The first section: who bought again, and what customers cost and are worth.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use loyalty::economics::{
    cac_by_channel, clv_historic, clv_retention, payback_with_retention, ChannelSpend, ClvToCac,
    DiscountRate, Payback, Retention, VerdictThresholds,
};
use loyalty::{Currency, Money, Rounding, Share};
use rust_decimal::{dec, Decimal};

use super::data::Purchase;

struct Customer {
    first_day: NaiveDate,
    days: u32,
    last_day: NaiveDate,
    revenue: Decimal,
    repeat_revenue: Decimal,
    // Bit h set when the customer bought in half-year h (0 = 1997 H1, 1 = 1997 H2, 2 = 1998 H1).
    halves: u8,
}

fn half_year(d: NaiveDate) -> Option<u8> {
    match (d.year(), d.month()) {
        (1997, 1..=6) => Some(0),
        (1997, _) => Some(1),
        (1998, 1..=6) => Some(2),
        _ => None,
    }
}

fn usd(x: Decimal) -> Money {
    Money::new(x, Currency::USD)
}

fn fmt_money(m: Money) -> String {
    let m = m.round(Rounding::HalfUp);
    let s = m.amount().abs().to_string();
    let (int, frac) = s.split_once('.').unwrap_or((&s, "00"));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if m.is_negative() { "-" } else { "" };
    format!("{sign}${grouped}.{frac:0<2}")
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

pub fn report(path: &str, log: &[Purchase]) -> loyalty::Result<()> {
    // Sort by (customer, date) once; the log is already nearly in that order.
    let mut sorted = log.to_vec();
    sorted.sort_by_key(|p| (p.customer, p.date));

    let mut customers: BTreeMap<u32, Customer> = BTreeMap::new();
    let mut revenue = Decimal::ZERO;
    let mut purchase_days = 0u64;
    let (mut first, mut last) = (sorted[0].date, sorted[0].date);
    for p in &sorted {
        revenue += p.amount;
        first = first.min(p.date);
        last = last.max(p.date);
        let c = customers.entry(p.customer).or_insert(Customer {
            first_day: p.date,
            days: 0,
            last_day: p.date,
            revenue: Decimal::ZERO,
            repeat_revenue: Decimal::ZERO,
            halves: 0,
        });
        if c.days == 0 || p.date != c.last_day {
            c.days += 1;
            purchase_days += 1;
        }
        c.last_day = p.date;
        c.revenue += p.amount;
        if p.date != c.first_day {
            c.repeat_revenue += p.amount;
        }
        if let Some(h) = half_year(p.date) {
            c.halves |= 1 << h;
        }
    }
    let n = customers.len() as u64;
    let repeaters: Vec<&Customer> = customers.values().filter(|c| c.days > 1).collect();
    let repeat_revenue: Decimal = customers.values().map(|c| c.repeat_revenue).sum();
    let repeater_revenue: Decimal = repeaters.iter().map(|c| c.revenue).sum();

    println!("== CDNOW retention report ==");
    println!("log: {path}");
    println!("period: {first} .. {last}");
    println!();
    println!("{:<44}{:>16}", "customers", n);
    println!("{:<44}{:>16}", "orders (log lines)", log.len());
    println!("{:<44}{:>16}", "purchase days (same-day orders merged)", purchase_days);
    println!("{:<44}{:>16}", "revenue", fmt_money(usd(revenue)));
    println!(
        "{:<44}{:>16}",
        "average order value",
        fmt_money(usd(revenue / Decimal::from(log.len() as u64)))
    );
    println!(
        "{:<44}{:>16}",
        "customers who bought again (2+ days)",
        format!("{} ({:.1}%)", repeaters.len(), pct(repeaters.len() as u64, n))
    );
    println!(
        "{:<44}{:>16}",
        "revenue from repeat purchases",
        format!(
            "{} ({:.1}%)",
            fmt_money(usd(repeat_revenue)),
            100.0 * f64::try_from(repeat_revenue / revenue).unwrap_or(0.0)
        )
    );
    println!(
        "{:<44}{:>16}",
        "revenue from customers who bought again",
        format!(
            "{} ({:.1}%)",
            fmt_money(usd(repeater_revenue)),
            100.0 * f64::try_from(repeater_revenue / revenue).unwrap_or(0.0)
        )
    );

    // Half-year retention: of the customers who bought in one half-year, the share who
    // bought again in the next.
    let active = |h: u8| customers.values().filter(|c| c.halves & (1 << h) != 0).count() as u64;
    let kept =
        |h: u8| customers.values().filter(|c| c.halves & (0b11 << h) == 0b11 << h).count() as u64;
    println!();
    println!("half-year retention (bought in one half-year and again in the next)");
    for (h, label) in [(0u8, "1997 H1 -> 1997 H2"), (1, "1997 H2 -> 1998 H1")] {
        println!(
            "  {label:<22}{:>8} of {:>6} = {:>5.1}%",
            kept(h),
            active(h),
            pct(kept(h), active(h))
        );
    }

    // Acquisition economics for a stated example budget.
    let margin = Share::new(dec!(0.30))?;
    let budget = [
        ("search", dec!(260000), 11000u64),
        ("affiliates", dec!(150000), 7500),
        ("display", dec!(190000), 5070),
    ];
    let spend = budget
        .iter()
        .map(|&(ch, cost, k)| ChannelSpend::new(ch, usd(cost), k))
        .collect::<loyalty::Result<Vec<_>>>()?;
    let cac = cac_by_channel(&spend)?;
    println!();
    println!("== Acquisition economics (example budget; margin 30%) ==");
    println!("  {:<12}{:>14}{:>15}{:>12}", "channel", "spend", "new customers", "CAC");
    for ch in cac.channels() {
        println!(
            "  {:<12}{:>14}{:>15}{:>12}",
            ch.spend().channel(),
            fmt_money(ch.spend().cost()),
            ch.spend().new_customers(),
            ch.cac().map_or_else(|| "n/a".to_string(), fmt_money)
        );
    }
    println!(
        "  {:<12}{:>14}{:>15}{:>12}",
        "blended",
        fmt_money(cac.total_cost()),
        cac.new_customers(),
        fmt_money(cac.blended())
    );

    let revenues: Vec<Money> = customers.values().map(|c| usd(c.revenue)).collect();
    let historic = clv_historic(Currency::USD, &revenues, margin)?.checked_div(Decimal::from(n))?;
    // Margin per active customer per half-year, and the later half-year retention rate.
    let h = 1u8;
    let active_revenue: Decimal =
        sorted.iter().filter(|p| half_year(p.date) == Some(2)).map(|p| p.amount).sum();
    let m = margin.of(usd(active_revenue / Decimal::from(active(2).max(1))))?;
    let r = Retention::new(Decimal::from(kept(h)) / Decimal::from(active(h).max(1)))?;
    let d = DiscountRate::new(dec!(0.05))?;
    let forward = clv_retention(m, r, d)?;
    println!();
    println!("  historic CLV per customer (18 months)       {:>12}", fmt_money(historic));
    println!(
        "  retention CLV, half-year periods            {:>12}   (m {} / half-year, r {:.3}, d 5%)",
        fmt_money(forward),
        fmt_money(m),
        r.value()
    );
    let total_clv = historic.checked_add(forward)?;
    let ratio = ClvToCac::new(total_clv, cac.blended())?;
    println!(
        "  CLV (historic + retention) : CAC            {:>12}   -> {:?}",
        format!("{:.2}", ratio.ratio()),
        ratio.verdict(VerdictThresholds::default())
    );
    let payback = payback_with_retention(cac.blended(), m, r, d, 40)?;
    let payback = match payback {
        Payback::InPeriod(k) => format!("{k} half-years of retained margin"),
        Payback::NotWithin(k) => format!("not within {k} half-years of retained margin"),
    };
    println!("  CAC payback for a new customer              {payback}");
    Ok(())
}
