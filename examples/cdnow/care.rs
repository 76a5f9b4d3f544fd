//! "Today's actions" as of 1998-06-30, the last day of the CDNOW master log.
//!
//! The log has no birthdays, time zones, consent, deliveries or categories, so this section
//! uses only what it can derive: purchase history (each purchase day is an order of one
//! category, `"cd"`), the customer's own purchase interval for replenishment reminders, and
//! win-back for high-spend customers gone quiet. Every customer is treated as consenting to
//! email and living in UTC. Segments come from the RFM section (the 11-segment map); win-back
//! goes to the "At Risk" and "Cannot Lose Them" customers whose historic spend (standing in
//! for CLV) is at least $250.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{NaiveDate, TimeZone, Utc};
use loyalty::care::{
    due, ActionKind, CareConfig, CareInput, Channel, Customer, CustomerId, FestivalCalendar,
    HoldReason, Order, Trigger,
};
use loyalty::{Currency, Money};
use rust_decimal::Decimal;

pub fn report(log: &[super::data::Purchase], segments: &BTreeMap<u32, String>) {
    println!("\n== Today's care actions (as of 1998-06-30) ==");
    println!(
        "assumptions: every customer consents to email and lives in UTC; \
         RFM segments from the table above; historic spend stands in for CLV"
    );
    // One order per customer and purchase day; spend per customer.
    let mut days: BTreeMap<(u32, NaiveDate), ()> = BTreeMap::new();
    let mut spend: BTreeMap<u32, Decimal> = BTreeMap::new();
    for p in log {
        days.insert((p.customer, p.date), ());
        *spend.entry(p.customer).or_default() += p.amount;
    }
    let orders: Vec<Order> = days
        .keys()
        .filter_map(|&(c, date)| {
            Order::new(format!("{c}-{date}"), CustomerId(c.into()), date, None)
                .ok()
                .map(|o| o.category("cd"))
        })
        .collect();
    let mut customers = Vec::with_capacity(spend.len());
    for (&c, &total) in &spend {
        let Ok(cu) = Customer::new(CustomerId(c.into()), "UTC") else { return };
        let cu = cu.consent(Channel::Email).value(Money::new(total, Currency::USD));
        customers.push(match segments.get(&c) {
            Some(s) => cu.segment(s.as_str()),
            None => cu,
        });
    }

    let mut config = CareConfig::default();
    config.replenish.categories.insert("cd".into(), None);
    config.replenish.min_purchases_for_own = 3;
    config.win_back.min_value = Some(Money::new(Decimal::from(250), Currency::USD));
    let Some(now) = Utc.with_ymd_and_hms(1998, 6, 30, 12, 0, 0).single() else { return };
    let calendar = FestivalCalendar::new();
    let input = CareInput {
        customers: &customers,
        orders: &orders,
        contacts: &[],
        promotions: &[],
        calendar: &calendar,
    };
    let start = Instant::now();
    let plan = match due(now, &config, &input) {
        Ok(p) => p,
        Err(e) => {
            println!("care plan failed: {e}");
            return;
        }
    };
    let elapsed = start.elapsed();
    println!(
        "{} customers, {} order days: {} actions, {} held (planned in {:.1} ms)",
        customers.len(),
        orders.len(),
        plan.actions.len(),
        plan.held.len(),
        elapsed.as_secs_f64() * 1e3
    );
    let mut by_reason: BTreeMap<(ActionKind, &str), usize> = BTreeMap::new();
    for a in &plan.actions {
        *by_reason.entry((a.kind, a.reason.as_str())).or_default() += 1;
    }
    for ((kind, reason), n) in &by_reason {
        println!("  {kind:<10} {reason:<24} {n:>6}");
    }
    let capped =
        plan.held.iter().filter(|h| matches!(h.hold, HoldReason::CapReached { .. })).count();
    println!("  held by the cap: {capped}");
    println!("first actions:");
    for a in plan.actions.iter().take(3) {
        println!("  customer {} {} ({}): {}", a.customer, a.kind, a.reason, facts(&a.trigger));
    }
    // The biggest spenders being won back.
    let mut wins: Vec<_> = plan.actions.iter().filter(|a| a.kind == ActionKind::WinBack).collect();
    wins.sort_by(|a, b| {
        value(&b.trigger).cmp(&value(&a.trigger)).then(a.customer.cmp(&b.customer))
    });
    println!("largest win-back cases:");
    for a in wins.iter().take(5) {
        println!("  customer {}: {}", a.customer, facts(&a.trigger));
    }
}

fn value(t: &Trigger) -> Decimal {
    match t {
        Trigger::WinBack { value: Some(v), .. } => v.amount(),
        _ => Decimal::ZERO,
    }
}

fn facts(t: &Trigger) -> String {
    match t {
        Trigger::Replenish {
            last_purchase, interval_days, purchases, days_since_purchase, ..
        } => {
            format!(
                "{purchases} purchase days, own interval {interval_days} days, \
                 last {last_purchase} ({days_since_purchase} days ago)"
            )
        }
        Trigger::WinBack { value, last_order, days_since_last_order, .. } => format!(
            "spent {}, last order {} ({} days ago)",
            value.map_or("?".into(), |v| v.to_string()),
            last_order.map_or("?".into(), |d| d.to_string()),
            days_since_last_order.unwrap_or(0)
        ),
        other => format!("{other:?}"),
    }
}
